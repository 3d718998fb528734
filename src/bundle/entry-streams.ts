// The stages an entry's bytes go through before the zip: guarded against a failing or stalled
// source, read ahead so reading overlaps deflate, and redacted line by line.
import { untilAborted } from '../abort.js';
import type { createRedactor } from './redact.js';

export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`bundle source yielded ${typeof chunk}, expected bytes`);
}

/** Yields the source's chunks; a source error or the entry signal ends the iteration (reported through onStop). */
export async function* guardSource(source: AsyncIterable<unknown>, signal: AbortSignal | undefined, onStop: (err: unknown) => void): AsyncGenerator<Buffer> {
  let it: AsyncIterator<unknown>;
  try {
    it = source[Symbol.asyncIterator]();
  } catch (err) {
    onStop(err);
    return;
  }
  try {
    for (;;) {
      const next = signal ? await untilAborted(it.next(), signal) : await it.next();
      if (next.done) return;
      yield toBuffer(next.value);
    }
  } catch (err) {
    onStop(err);
    // Do not wait for a source that stopped answering; just ask it to close.
    void Promise.resolve(it.return?.(undefined)).catch(() => {});
    const destroy = (source as { destroy?: (e?: Error) => void }).destroy;
    if (typeof destroy === 'function') destroy.call(source);
  }
}

/**
 * Pulls the source up to `limit` bytes ahead of the consumer, so that reading, redaction and
 * hashing (main thread) overlap with deflate (thread pool) instead of waiting for it.
 */
export async function* readAhead(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const queue: Buffer[] = [];
  let queued = 0;
  let done = false;
  let stopped = false;
  let error: unknown;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const wake = (which: 'consumer' | 'producer') => {
    const f = which === 'consumer' ? wakeConsumer : wakeProducer;
    if (which === 'consumer') wakeConsumer = undefined;
    else wakeProducer = undefined;
    f?.();
  };
  void (async () => {
    try {
      while (!stopped) {
        if (queued >= limit) {
          await new Promise<void>((r) => (wakeProducer = r));
          continue;
        }
        const next = await it.next();
        if (next.done) break;
        queue.push(next.value);
        queued += next.value.length;
        wake('consumer');
      }
    } catch (err) {
      error = err;
    } finally {
      done = true;
      wake('consumer');
    }
  })();
  try {
    for (;;) {
      if (queue.length) {
        const b = queue.shift()!;
        queued -= b.length;
        wake('producer');
        yield b;
        continue;
      }
      if (done) {
        if (error !== undefined) throw error;
        return;
      }
      await new Promise<void>((r) => (wakeConsumer = r));
    }
  } finally {
    stopped = true;
    wake('producer');
    if (!done) void Promise.resolve(it.return?.(undefined)).catch(() => {});
  }
}

export async function* redactChunks(source: AsyncIterable<Buffer>, chunker: ReturnType<ReturnType<typeof createRedactor>['chunker']>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const out = chunker.write(chunk);
    if (out?.length) yield out;
  }
  const last = chunker.end();
  if (last?.length) yield last;
}

export async function* single(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}
