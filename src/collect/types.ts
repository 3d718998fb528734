// What a collector is and what it gets: one source of incident data (event logs, perfmon, Tracer,
// config, facts) planned and collected per server into the bundle.
import { BundleFullError, DiskSpaceError, EntrySourceError } from '../bundle/errors.js';
import type { BundleWriter } from '../bundle/writer.js';
import { InterruptedError } from '../errors.js';
import { untilAborted } from '../abort.js';
import type { Farm } from '../farm/load.js';
import type { ServerConfig } from '../farm/schema.js';
import type { ServerIdentity } from '../farm/identity.js';
import { TransportError, type Transport } from '../farm/transports/transport.js';
import { splitServerPath } from '../farm/paths.js';
import type { TimeWindow } from '../logs/window.js';

export const COLLECTOR_IDS = ['eventlogs', 'perfmon', 'tracer', 'config', 'facts'] as const;
export type CollectorId = (typeof COLLECTOR_IDS)[number];

/** Runs a Windows program on this machine (execa in production; tests never reach it off Windows). */
export type LocalRunner = (command: string, args: readonly string[], opts: { signal: AbortSignal; timeoutMs?: number }) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

export interface CollectContext {
  farm: Farm;
  server: ServerConfig;
  transport: Transport;
  window: TimeWindow;
  /** Per-file cap on bytes taken from one source file (text: the tail is kept). */
  maxFileBytes: number;
  /** What the probe learnt about the server (facts use it). */
  identity?: ServerIdentity;
  toolVersion: string;
  /** A private folder on this machine for exports (wevtutil, relog); removed by the caller. */
  tempDir: string;
  /** True where wevtutil and relog can run (this machine is Windows). */
  windowsHost: boolean;
  runLocal: LocalRunner;
  /** Server name as written in bundle paths (anonymized with --anonymize). */
  folder: string;
}

/** One file a collector would take. */
export interface PlannedFile {
  /** The path on the server (or a description for generated files). */
  sourcePath: string;
  bundlePath: string;
  /** Upper estimate of the bytes it adds (the source size, capped). */
  estimatedBytes: number;
  /** Why it would be left out (outside the window, too large...); undefined: it is taken. */
  skip?: string;
  note?: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface CollectorOutcome {
  files: number;
  bytes: number;
  /** Files left out on purpose (outside the window, binary config...) */
  skipped: SkippedFile[];
  /** Files that should have been taken and could not be (permission, vanished, read error). */
  failed: SkippedFile[];
  /** Non-fatal remarks (corrupt evtx chunks, truncations). */
  notes: string[];
  /** Nothing to collect here at all (no folder configured, no file matches). */
  nothing?: string;
}

export function emptyOutcome(): CollectorOutcome {
  return { files: 0, bytes: 0, skipped: [], failed: [], notes: [] };
}

export type EntrySink = Pick<BundleWriter, 'addStream' | 'addBuffer'>;

export interface Collector {
  id: CollectorId;
  description: string;
  plan(ctx: CollectContext, signal: AbortSignal): Promise<PlannedFile[]>;
  collect(ctx: CollectContext, sink: EntrySink, signal: AbortSignal): Promise<CollectorOutcome>;
}

const UNSAFE = /[<>:"|?*]/g;
// Control characters (a newline, ESC, C1) become %XX: distinct names stay distinct in the bundle.
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** A zip path segment that unpacks anywhere (Windows forbids <>:"|?* and control characters). */
export function safeSegment(s: string): string {
  const t = s
    .replace(CONTROL, (c) => `%${c.codePointAt(0)!.toString(16).toUpperCase().padStart(2, '0')}`)
    .replace(UNSAFE, '_')
    .replace(/[. ]+$/, '_');
  return t === '' || t === '.' || t === '..' ? '_' : t;
}

/** `<SERVER>/<collector>/<drive>/<path>`: the server path kept recognisable inside the bundle. */
export function bundlePathFor(ctx: Pick<CollectContext, 'folder' | 'transport'>, collector: string, serverPath: string): string {
  const { drive, segments } = splitServerPath(ctx.transport.platform, serverPath);
  const parts = [ctx.folder, collector, ...(drive ? [drive] : []), ...segments].map(safeSegment);
  return parts.join('/');
}

export function serverFileName(ctx: Pick<CollectContext, 'transport'>, serverPath: string): string {
  const { segments } = splitServerPath(ctx.transport.platform, serverPath);
  return safeSegment(segments.at(-1) ?? 'file');
}

/** Errors that end the whole collection (the bundle is full, the disk is, or the run was stopped). */
export function isFatal(err: unknown): boolean {
  return err instanceof BundleFullError || err instanceof DiskSpaceError || err instanceof InterruptedError;
}

/**
 * What one file's failure means: fatal errors and aborts go up; anything else is recorded against
 * the file (with what was kept of it, when the source stopped mid-way) and the collector goes on.
 */
export function recordFileFailure(err: unknown, signal: AbortSignal, outcome: CollectorOutcome, sourcePath: string): void {
  if (err instanceof EntrySourceError) {
    outcome.files++;
    outcome.bytes += err.entry.size;
    outcome.failed.push({ path: sourcePath, reason: `stopped after ${err.entry.size} bytes: ${errorReason(err.cause ?? err)}` });
    if (signal.aborted) throw signal.reason;
    return;
  }
  if (isFatal(err) || signal.aborted) throw signal.aborted && !isFatal(err) ? signal.reason : err;
  // Containment refusals are a decision, not a failure: a link out of the root, a FIFO or a device.
  if (err instanceof TransportError && (err.reason === 'outside-root' || err.reason === 'not-a-file')) {
    outcome.skipped.push({ path: sourcePath, reason: `${err.reason}: ${errorReason(err)}` });
    return;
  }
  outcome.failed.push({ path: sourcePath, reason: errorReason(err) });
}

export function errorReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > 300 ? `${msg.slice(0, 297)}...` : msg;
}

/**
 * The source's chunks until the signal aborts, then an error (the writer keeps what it got and
 * marks the entry truncated).
 */
export async function* abortable<T>(source: AsyncIterable<T> | Iterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = Symbol.asyncIterator in source ? (source as AsyncIterable<T>)[Symbol.asyncIterator]() : toAsync(source as Iterable<T>);
  let finished = false;
  try {
    for (;;) {
      const next = await untilAborted(it.next(), signal);
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // A source that stopped answering is not awaited: asked to close, and destroyed if it is a stream.
    if (!finished) void Promise.resolve(it.return?.(undefined)).catch(() => {});
    (source as { destroy?: () => void }).destroy?.();
  }
}

async function* toAsyncGen<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

function toAsync<T>(items: Iterable<T>): AsyncIterator<T> {
  return toAsyncGen(items)[Symbol.asyncIterator]();
}
