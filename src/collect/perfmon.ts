// Performance Monitor logs from logs.perfmonDir: .blg carried as is (binary, no public format: only
// Windows' PDH can cut it, so on Windows relog also writes a CSV of the window), PDH-CSV cut to the
// window row by row.
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { readLines } from '../logs/lines.js';
import { cutPdhCsv, NotPdhCsvError, type PdhCutStats } from '../logs/perfmon.js';
import { truncationMarker } from '../logs/tracer.js';
import type { Readable } from 'node:stream';
import { joinServerPath, splitServerPath } from '../farm/paths.js';
import { resolveLocalPath } from '../farm/load.js';
import type { RemoteEntry } from '../farm/transports/transport.js';
import { EntrySourceError } from '../bundle/errors.js';
import { commandLineOf, localOffsetMinutesAt, noOutputReason, relogCsvCommand } from '../logs/windows-commands.js';
import { describeSeen, type TimeWindow } from '../logs/window.js';
import { addServerFile } from './eventlogs.js';
import { addTextLines } from './text.js';
import { collectTextLog, globAll, planTextFile } from './tracer.js';
import { bundlePathFor, emptyOutcome, errorReason, isFatal, recordFileFailure, safeSegment, type CollectContext, type Collector, type CollectorOutcome, type EntrySink, type PlannedFile } from './types.js';

export const BLG_NOTE = 'binary .blg carried as is: not redacted (counter paths name hosts; --anonymize does not rewrite binary logs)';

/**
 * .blg files whose time range may overlap the window. A file's range is unknown without PDH, so:
 * it ends at its mtime (must be after the window starts), and in a numbered series it starts about
 * when the previous file of its folder ended (must be before the window ends).
 */
export function blgOverlaps(files: readonly RemoteEntry[], window: TimeWindow): Map<string, string | undefined> {
  const verdict = new Map<string, string | undefined>();
  const byFolder = new Map<string, RemoteEntry[]>();
  for (const f of files) {
    const folder = f.path.slice(0, Math.max(f.path.lastIndexOf('\\'), f.path.lastIndexOf('/')));
    (byFolder.get(folder) ?? byFolder.set(folder, []).get(folder)!).push(f);
  }
  for (const group of byFolder.values()) {
    group.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    group.forEach((f, i) => {
      if (f.mtime.getTime() < window.from.getTime()) verdict.set(f.path, `last written ${f.mtime.toISOString()}, before the window`);
      else if (i > 0 && group[i - 1].mtime.getTime() > window.to.getTime())
        verdict.set(f.path, `starts after the window (the previous file of the series was written until ${group[i - 1].mtime.toISOString()})`);
      else verdict.set(f.path, undefined);
    });
  }
  return verdict;
}

function patterns(dir: string, platform: 'windows' | 'linux'): { blg: string; csv: string } {
  return { blg: joinServerPath(platform, dir, '**', '*.blg'), csv: joinServerPath(platform, dir, '**', '*.csv') };
}

async function planAll(ctx: CollectContext, signal: AbortSignal, outcome?: CollectorOutcome): Promise<{ blg: PlannedFile[]; csv: PlannedFile[] }> {
  const dir = ctx.server.logs.perfmonDir;
  if (!dir) return { blg: [], csv: [] };
  const pat = patterns(dir, ctx.transport.platform);
  const blgFiles = await globAll(ctx, [pat.blg], signal, outcome);
  const csvFiles = await globAll(ctx, [pat.csv], signal, outcome);
  const verdict = blgOverlaps(blgFiles, ctx.window);
  const blg = blgFiles.map((f): PlannedFile => {
    const bundlePath = bundlePathFor(ctx, 'perfmon', f.path);
    const skip = verdict.get(f.path);
    if (skip) return { sourcePath: f.path, bundlePath, estimatedBytes: 0, skip };
    if (f.size > ctx.maxFileBytes && !ctx.windowsHost)
      return { sourcePath: f.path, bundlePath, estimatedBytes: 0, skip: `${f.size} bytes, more than --max-file-size (${ctx.maxFileBytes}); a .blg cannot be cut off Windows: raise --max-file-size or collect from Windows (relog cuts it)` };
    return { sourcePath: f.path, bundlePath, estimatedBytes: f.size > ctx.maxFileBytes ? 0 : f.size };
  });
  return { blg, csv: csvFiles.map((f) => planTextFile(ctx, 'perfmon', f)) };
}

/** Where relog can open a server file from this (Windows) machine, if it can. */
function relogInputPath(ctx: CollectContext, serverPath: string): string | undefined {
  if (ctx.transport.kind === 'local') return serverPath;
  if (ctx.server.transport.type === 'share') {
    const { drive, segments } = splitServerPath(ctx.transport.platform, serverPath);
    if (drive && drive !== 'C') return undefined;
    return [resolveLocalPath(ctx.farm, ctx.server.transport.root), ...segments].join('\\');
  }
  return undefined;
}

async function relogWindow(ctx: CollectContext, sink: EntrySink, signal: AbortSignal, outcome: CollectorOutcome, p: PlannedFile): Promise<void> {
  const input = relogInputPath(ctx, p.sourcePath);
  if (!input) return;
  const output = join(ctx.tempDir, `${safeSegment(ctx.server.name)}-${safeSegment(p.sourcePath.split(/[\\/]/).pop() ?? 'perf')}.csv`);
  const cmd = relogCsvCommand({ input, output, window: ctx.window, localOffsetMinutes: localOffsetMinutesAt(ctx.window.from) });
  try {
    const r = await ctx.runLocal(cmd.command, cmd.args, { signal });
    if (r.exitCode !== 0) {
      outcome.failed.push({ path: p.sourcePath, reason: `${commandLineOf(cmd)} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` });
      return;
    }
    const produced = await stat(output).catch(() => undefined);
    if (!produced) {
      outcome.failed.push({ path: p.sourcePath, reason: noOutputReason(cmd, output) });
      return;
    }
    const size = produced.size;
    const entry = await sink.addStream(`${p.bundlePath.replace(/\.blg$/i, '')}.window.csv`, createReadStream(output), {
      server: ctx.folder,
      sourcePath: p.sourcePath,
      collector: 'perfmon',
      note: `converted with relog, cut to the window (${size} bytes)`,
      redact: true,
      signal,
    });
    outcome.files++;
    outcome.bytes += entry.size;
  } catch (err) {
    if (isFatal(err) || (signal.aborted && !(err instanceof EntrySourceError))) throw signal.aborted && !isFatal(err) ? signal.reason : err;
    outcome.failed.push({ path: p.sourcePath, reason: `relog: ${errorReason(err)}` });
  } finally {
    await rm(output, { force: true });
  }
}

/**
 * Header first, then the rows of the window; over the cap, the newest rows behind a marker line.
 * Two passes (count the window's bytes, then skip the oldest rows) keep memory flat.
 */
export async function* cappedPdh(
  open: () => Promise<AsyncGenerator<string>>,
  maxBytes: number | undefined,
  stats: { omitted: number },
): AsyncGenerator<string> {
  let excess = 0;
  if (maxBytes !== undefined) {
    let total = 0;
    let header = -1;
    for await (const row of await open()) {
      const size = Buffer.byteLength(row) + 1;
      if (header < 0) header = size;
      else total += size;
    }
    excess = Math.max(0, total - Math.max(0, maxBytes - Math.max(header, 0)));
  }
  let first = true;
  let skipped = 0;
  let marked = false;
  for await (const row of await open()) {
    if (first) {
      first = false;
      yield row;
      continue;
    }
    if (skipped < excess) {
      skipped += Buffer.byteLength(row) + 1;
      continue;
    }
    if (skipped > 0 && !marked) {
      marked = true;
      stats.omitted = skipped;
      yield truncationMarker(skipped);
    }
    yield row;
  }
  if (skipped > 0 && !marked) {
    stats.omitted = skipped;
    yield truncationMarker(skipped);
  }
}

async function collectCsv(ctx: CollectContext, sink: EntrySink, signal: AbortSignal, outcome: CollectorOutcome, p: PlannedFile): Promise<void> {
  try {
    const st = await ctx.transport.stat(p.sourcePath);
    const streams: Readable[] = [];
    let pdh: PdhCutStats = { rows: 0, rowsInWindow: 0 };
    // Bounded to the size seen now (a growing file is taken as it was); each pass reads it afresh.
    const openRows = async () => {
      const s = await ctx.transport.createReadStream(p.sourcePath, { end: Math.max(0, st.size - 1) });
      streams.push(s);
      pdh = { rows: 0, rowsInWindow: 0 };
      return cutPdhCsv(readLines(s), ctx.window, pdh);
    };
    const stream = { destroy: () => streams.forEach((s) => s.destroy()) };
    const capped = { omitted: 0 };
    const lines = cappedPdh(openRows, st.size > ctx.maxFileBytes ? ctx.maxFileBytes : undefined, capped);
    let entry;
    try {
      // Peek for the header and a first row: a PDH file with no row in the window is skipped.
      const head = await lines.next();
      const second = head.done ? head : await lines.next();
      if (head.done || second.done) {
        outcome.skipped.push({ path: p.sourcePath, reason: `no sample inside the window (${pdh.rows} rows read${describeSeen(pdh.firstMs, pdh.lastMs)})` });
        return;
      }
      async function* all(): AsyncGenerator<string> {
        yield head.value as string;
        yield second.value as string;
        yield* lines;
      }
      entry = await addTextLines(sink, p.bundlePath, all(), () => ({
        server: ctx.folder,
        sourcePath: p.sourcePath,
        collector: 'perfmon',
        truncated: capped.omitted > 0 || undefined,
        note: `PDH-CSV cut to the window (time-zone bias ${pdh.header?.biasMinutes ?? 0} min)${capped.omitted > 0 ? `; per-file cap: ${capped.omitted} earlier bytes omitted (marker row after the header)` : ''}`,
        mtime: st.mtime,
        signal,
      }));
    } finally {
      stream.destroy();
    }
    if (entry) {
      outcome.files++;
      outcome.bytes += entry.size;
    }
  } catch (err) {
    if (err instanceof NotPdhCsvError) {
      // Some other CSV (typeperf with a custom header, an exported report): cut it as a text log.
      await collectTextLog(ctx, sink, signal, outcome, p, 'perfmon');
      return;
    }
    recordFileFailure(err, signal, outcome, p.sourcePath);
  }
}

export const perfmonCollector: Collector = {
  id: 'perfmon',
  description: 'Performance Monitor logs (logs.perfmonDir): .blg overlapping the window as is (plus a relog CSV of the window on Windows), PDH-CSV cut to the window',

  async plan(ctx, signal) {
    const { blg, csv } = await planAll(ctx, signal);
    return [...blg, ...csv];
  },

  async collect(ctx, sink, signal) {
    const outcome = emptyOutcome();
    if (!ctx.server.logs.perfmonDir) {
      outcome.nothing = 'no logs.perfmonDir configured for this server';
      return outcome;
    }
    const { blg, csv } = await planAll(ctx, signal, outcome);
    if (blg.length + csv.length === 0) outcome.nothing = `no .blg or .csv under ${ctx.server.logs.perfmonDir}`;
    for (const p of blg) {
      signal.throwIfAborted();
      if (p.skip) {
        outcome.skipped.push({ path: p.sourcePath, reason: p.skip });
        continue;
      }
      // On Windows a .blg over the cap is not carried (estimate 0), only its relog CSV of the window.
      if (p.estimatedBytes > 0 || !ctx.windowsHost) await addServerFile(ctx, sink, signal, outcome, p, { collector: 'perfmon', note: BLG_NOTE });
      if (ctx.windowsHost) await relogWindow(ctx, sink, signal, outcome, p);
    }
    for (const p of csv) {
      signal.throwIfAborted();
      if (p.skip) outcome.skipped.push({ path: p.sourcePath, reason: p.skip });
      else await collectCsv(ctx, sink, signal, outcome, p);
    }
    return outcome;
  },
};
