// Runs a chunk job (chunk-work.ts) over every chunk of an .evtx file, in file order. Chunks are
// self-contained, so they can be decoded on worker threads (opt-in, see ChunkRunOptions.threads)
// while this thread reads the file, keeps the file-level rules (FileSequence) and hands the results
// on in order. A bounded number of chunks is in flight, so memory stays flat whatever the size.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { processChunk, type ChunkJob, type ChunkOutcome } from './chunk-work.js';
import { FileSequence, slotsOf, type ChunkStatus, type EvtxSource, type EvtxWarning, type Slot } from './reader.js';

export interface ChunkRunOptions {
  onWarning?: (w: EvtxWarning) => void;
  onChunk?: (index: number, status: ChunkStatus) => void;
  signal?: AbortSignal;
  /**
   * Decoding threads (default 1: this thread decodes). More pay off only with idle cores: handing
   * chunks and results across threads costs about a quarter more CPU in all (measured on 2 cores).
   * Streams are always decoded on this thread, and so is everything where no worker file exists
   * (running from sources, the single executable).
   */
  threads?: number;
}

export const MAX_THREADS = 8;
/** Chunks in flight per thread: enough to keep it busy while results wait to be written. */
const IN_FLIGHT_PER_THREAD = 4;
/** Young generation of a decoding thread, in MB: its garbage is short-lived, and the process stays small. */
const YOUNG_MB = 8;

/** Messages between this thread and a decoding thread. */
export interface ToWorker {
  id: number;
  buf: Uint8Array;
  len: number;
  index: number;
  fileOffset: number;
}
export type FromWorker = { id: number; outcome: ChunkOutcome } | { id: number; error: string };

const WORKER_URL = new URL('./evtx-worker.js', import.meta.url);

/** How many decoding threads a run over `source` uses (1: none started). */
export function threadsFor(source: EvtxSource, threads: number | undefined): number {
  if (typeof source !== 'string' || threads === undefined) return 1;
  return Math.max(1, Math.min(MAX_THREADS, Math.floor(threads)));
}

function workerAvailable(): boolean {
  try {
    return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
  } catch {
    return false;
  }
}

/** A decoding thread: chunks in, outcomes out, answered by id. */
class DecodeThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (o: ChunkOutcome) => void; reject: (e: Error) => void }>();
  private failure?: Error;

  constructor(job: ChunkJob) {
    this.worker = new Worker(WORKER_URL, { workerData: job, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
    this.worker.on('message', (m: FromWorker) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if ('error' in m) w.reject(new Error(`evtx decoding thread: ${m.error}`));
      else w.resolve(m.outcome);
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`evtx decoding thread ended (exit ${code})`)));
  }

  get busy(): number {
    return this.waiting.size;
  }

  decode(id: number, slot: Slot, index: number, fileOffset: number): Promise<ChunkOutcome> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // The slot's bytes move to the thread; a buffer that shares its memory is copied first.
      // (never a pooled small buffer, whose memory other buffers use).
      let buf = slot.buf;
      if (buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.length) {
        buf = Buffer.allocUnsafeSlow(slot.len);
        slot.buf.copy(buf, 0, 0, slot.len);
      }
      const msg: ToWorker = { id, buf, len: slot.len, index, fileOffset };
      this.worker.postMessage(msg, [buf.buffer as ArrayBuffer]);
    });
  }

  async stop(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/**
 * The outcome of `job` for every chunk of `source`, in file order. The chunks' own warnings and the
 * file-level ones go to opts.onWarning in file order, as readEvtx gives them; I/O errors and aborts
 * reject.
 */
export async function* runChunks(source: EvtxSource, job: ChunkJob, opts: ChunkRunOptions = {}): AsyncGenerator<ChunkOutcome> {
  const warn = (w: EvtxWarning) => opts.onWarning?.(w);
  const seq = new FileSequence(warn, opts.onChunk);
  const threads = threadsFor(source, opts.threads);
  const pool = threads > 1 && workerAvailable() ? Array.from({ length: threads }, () => new DecodeThread(job)) : [];
  const pending: { outcome: Promise<ChunkOutcome>; len: number; done: boolean }[] = [];
  const settle = (o: ChunkOutcome, len: number): ChunkOutcome => {
    for (const w of o.warnings) warn(w);
    seq.chunkDone(o.status, len);
    return o;
  };
  // Views into the read blocks, not copies: a chunk is done with (or copied to a thread) before its block is read into again.
  const slots = slotsOf(source, false);
  let id = 0;
  try {
    for await (const slot of slots) {
      opts.signal?.throwIfAborted();
      const step = seq.next(slot);
      if (step === 'stop') return;
      if (step === 'header') continue;
      if (pool.length === 0) {
        yield settle(processChunk(job, slot, step.index, step.fileOffset), slot.len);
        continue;
      }
      const thread = pool.reduce((a, b) => (b.busy < a.busy ? b : a));
      const entry = { outcome: thread.decode(id++, slot, step.index, step.fileOffset), len: slot.len, done: false };
      // Awaited in order below (no unhandled rejection meanwhile); results already in are passed on
      // at once, and reading waits only when the limit of chunks in flight is reached.
      entry.outcome.then(() => (entry.done = true), () => (entry.done = true));
      pending.push(entry);
      while (pending.length >= pool.length * IN_FLIGHT_PER_THREAD || pending[0]?.done) {
        const p = pending.shift()!;
        yield settle(await p.outcome, p.len);
        opts.signal?.throwIfAborted();
      }
    }
    while (pending.length > 0) {
      const p = pending.shift()!;
      yield settle(await p.outcome, p.len);
      opts.signal?.throwIfAborted();
    }
    seq.end();
  } finally {
    await slots.return(undefined);
    await Promise.all(pool.map((t) => t.stop()));
  }
}
