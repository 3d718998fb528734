// ClickSoftware Tracer (and other text) logs from the configured globs, cut to the window by the
// timestamps inside their lines, tail-capped per file, redacted on the way into the bundle.
import { glob } from '../farm/glob.js';
import { readLines } from '../logs/lines.js';
import { decodeSample, decodeToUtf8, detectBom, type TextEncodingName } from '../logs/encoding.js';
import { parseUtcOffset, TimestampDetector } from '../logs/timestamps.js';
import { cutToWindow, cutToWindowTwoPass, newTracerStats, sniffDayFirst, type TracerStats } from '../logs/tracer.js';
import type { Readable } from 'node:stream';
import { describeSeen, type TimeWindow } from '../logs/window.js';
import type { RemoteEntry } from '../farm/transports/transport.js';
import { addTextLines } from './text.js';
import { bundlePathFor, emptyOutcome, errorReason, recordFileFailure, type CollectContext, type Collector, type CollectorOutcome, type EntrySink, type PlannedFile } from './types.js';

/** Lines this far past the window end stop the read (threads write a little out of order). */
const STOP_AFTER_MS = 15 * 60_000;
const SAMPLE_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 1024 * 1024;

/** Files matched by globs, deduplicated, with folders that could not be listed reported. */
export async function globAll(ctx: CollectContext, patterns: readonly string[], signal: AbortSignal, outcome?: CollectorOutcome): Promise<RemoteEntry[]> {
  const seen = new Map<string, RemoteEntry>();
  for (const pattern of patterns) {
    const files = await glob(ctx.transport, pattern, {
      signal,
      onSkip: (path, reason) => outcome?.failed.push({ path, reason: `folder not listed: ${reason}` }),
      // A link out of the server's root, a FIFO or a device: left out on purpose, never read.
      onIgnored: (path, reason) => outcome?.skipped.push({ path, reason }),
    });
    for (const f of files) if (!seen.has(f.path.toLowerCase())) seen.set(f.path.toLowerCase(), f);
  }
  return [...seen.values()];
}

/** Links out of the root and FIFOs the globs met, as plan rows that say why they are left out. */
export function ignoredInPlan(outcome: CollectorOutcome): PlannedFile[] {
  return outcome.skipped.map((s) => ({ sourcePath: s.path, bundlePath: '-', estimatedBytes: 0, skip: s.reason }));
}

export function planTextFile(ctx: CollectContext, collector: string, f: RemoteEntry): PlannedFile {
  const bundlePath = bundlePathFor(ctx, collector, f.path);
  if (f.mtime.getTime() < ctx.window.from.getTime())
    return { sourcePath: f.path, bundlePath, estimatedBytes: 0, skip: `last written ${f.mtime.toISOString()}, before the window` };
  return { sourcePath: f.path, bundlePath, estimatedBytes: Math.min(f.size, ctx.maxFileBytes) };
}

export function skipReason(stats: TracerStats, window: TimeWindow): string {
  if (stats.timestamped === 0) return `no timestamp recognised in ${stats.linesRead} lines`;
  return `no line inside the window ${window.from.toISOString()} .. ${window.to.toISOString()} (${stats.timestamped} timestamped lines read${describeSeen(stats.oldestSeenMs, stats.newestSeenMs)}${stats.stoppedEarly ? ', then stopped: the file is past the window' : ''})`;
}

/**
 * The head of a text log: its encoding (a UTF-16 BOM) and a timestamp detector for it (the server's
 * Tracer offset, and the day/month order sniffed from its start).
 */
async function sniffTextFile(ctx: CollectContext, path: string, size: number): Promise<{ detector: TimestampDetector; encoding?: TextEncodingName }> {
  const sample = size === 0 ? Buffer.alloc(0) : await ctx.transport.readAt(path, 0, Math.min(size, SAMPLE_BYTES));
  const encoding = detectBom(sample);
  const lines = decodeSample(sample, encoding).split(/\r?\n/).slice(0, 500);
  const detector = new TimestampDetector({
    utcOffsetMinutes: parseUtcOffset(ctx.server.logs.tracerUtcOffset),
    dayFirst: sniffDayFirst(lines),
    referenceYear: ctx.window.to.getUTCFullYear(),
  });
  return { detector, encoding };
}

/** One text log, cut to the window and capped, into the bundle; records a skip or failure otherwise. */
export async function collectTextLog(ctx: CollectContext, sink: EntrySink, signal: AbortSignal, outcome: CollectorOutcome, p: PlannedFile, collector: string): Promise<void> {
  try {
    const st = await ctx.transport.stat(p.sourcePath);
    if (st.size === 0) {
      outcome.skipped.push({ path: p.sourcePath, reason: 'empty file' });
      return;
    }
    const { detector, encoding } = await sniffTextFile(ctx, p.sourcePath, st.size);
    const streams: Readable[] = [];
    // Bounded to the size seen now: a log that grows while read is taken as it was at the start.
    // A UTF-16 log is read as UTF-8 (the one line pipeline) and written back as UTF-16 by the writer.
    const openLines = async () => {
      const s = await ctx.transport.createReadStream(p.sourcePath, { end: st.size - 1 });
      streams.push(s);
      return readLines(encoding ? decodeToUtf8(s, encoding) : s, { maxLineBytes: MAX_LINE_BYTES });
    };
    const stats = newTracerStats();
    const base = { window: ctx.window, detector, stats, stopAfterMs: STOP_AFTER_MS };
    // Over the cap, two passes (count, then skip the oldest) keep memory flat where a ring would hold the cap.
    const lines =
      st.size <= ctx.maxFileBytes
        ? cutToWindow(await openLines(), { ...base, maxBytes: ctx.maxFileBytes, fitsCap: true })
        : cutToWindowTwoPass(openLines, { ...base, maxBytes: ctx.maxFileBytes, makeDetector: () => detector });
    const stream = { destroy: () => streams.forEach((s) => s.destroy()) };
    let entry;
    try {
      entry = await addTextLines(sink, p.bundlePath, lines, () => ({
        server: ctx.folder,
        sourcePath: p.sourcePath,
        collector,
        // In ring mode the whole window has been read before the first line comes out, so this is known.
        truncated: stats.bytesOmitted > 0 || undefined,
        note: stats.bytesOmitted > 0 ? `per-file cap: ${stats.bytesOmitted} earlier bytes of the window omitted (marker on the first line)` : undefined,
        mtime: st.mtime,
        encoding,
        signal,
      }));
    } finally {
      stream.destroy();
    }
    if (!entry) {
      outcome.skipped.push({ path: p.sourcePath, reason: skipReason(stats, ctx.window) });
      return;
    }
    outcome.files++;
    outcome.bytes += entry.size;
    if (stats.bytesOmitted > 0) outcome.notes.push(`${p.sourcePath}: truncated to the last ${ctx.maxFileBytes} bytes of the window`);
  } catch (err) {
    recordFileFailure(err, signal, outcome, p.sourcePath);
  }
}

export const tracerCollector: Collector = {
  id: 'tracer',
  description: 'ClickSoftware Tracer logs (logs.tracerGlobs): lines inside the window by their own timestamps, tail-capped per file, redacted',

  async plan(ctx, signal) {
    const seen = emptyOutcome();
    const files = await globAll(ctx, ctx.server.logs.tracerGlobs, signal, seen);
    return [...files.map((f) => planTextFile(ctx, 'tracer', f)), ...ignoredInPlan(seen)];
  },

  async collect(ctx, sink, signal) {
    const outcome = emptyOutcome();
    if (ctx.server.logs.tracerGlobs.length === 0) {
      outcome.nothing = 'no logs.tracerGlobs configured for this server';
      return outcome;
    }
    const files = await globAll(ctx, ctx.server.logs.tracerGlobs, signal, outcome);
    if (files.length === 0) outcome.nothing = `no file matches ${ctx.server.logs.tracerGlobs.join(', ')}`;
    for (const f of files) {
      signal.throwIfAborted();
      const p = planTextFile(ctx, 'tracer', f);
      if (p.skip) outcome.skipped.push({ path: p.sourcePath, reason: p.skip });
      else await collectTextLog(ctx, sink, signal, outcome, p, 'tracer');
    }
    return outcome;
  },
};
