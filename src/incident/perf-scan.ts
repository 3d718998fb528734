// A server's perfmon CSV files (logs.perfmonDir, as collect finds them) read over its transport and
// analysed against the thresholds, streaming, for `check` (perf.*) and `incident prefill`.
// .blg files are only counted: their binary format has no public spec and no reader off Windows.
import { glob } from '../farm/glob.js';
import { joinServerPath } from '../farm/paths.js';
import type { ServerConfig } from '../farm/schema.js';
import { TransportError, type RemoteEntry, type Transport } from '../farm/transports/transport.js';
import { readLines } from '../logs/lines.js';
import { NotPdhCsvError } from '../logs/perfmon.js';
import type { TimeWindow } from '../logs/window.js';
import { errorMessage } from '../errors.js';
import { analysePerfFile } from './perf-findings.js';
import type { PerfFinding, PerfThreshold } from './timeline-model.js';

/** CSV files read per server (the newest first); more are listed as left out. */
export const MAX_PERF_FILES = 50;
/** Findings kept per server over all its files (each file keeps at most MAX_FINDINGS already). */
export const MAX_SERVER_FINDINGS = 10_000;
/** Without a window, findings reaching into the last day of each file's data are kept. */
export const DEFAULT_LOOKBACK_MS = 24 * 3_600_000;

export interface PerfFileResult {
  path: string;
  /** Samples read (inside the window, when one applies). */
  rows: number;
  firstMs?: number;
  lastMs?: number;
  /** (threshold, counter) pairs watched in this file. */
  watched: number;
  findings: PerfFinding[];
  /** Why the file gave nothing (not a PDH-CSV, unreadable). */
  problem?: string;
  /** True when the file could not be read at all (permission, I/O): the check could not look. */
  unreadable?: boolean;
}

export interface ServerPerfScan {
  server: string;
  /** The perfmonDir, when configured. */
  dir?: string;
  /** Why nothing was analysed, when nothing was ('no logs.perfmonDir', 'only .blg', ...). */
  none?: string;
  /** The folder could not be listed (permission, I/O): could not look. */
  dirError?: string;
  /** The folder itself could not be listed (not only some entries skipped): what was found is partial. */
  dirUnread?: boolean;
  files: PerfFileResult[];
  /** .blg files seen (carried by collect, not analysed). */
  blg: string[];
  /** CSV files not read over MAX_PERF_FILES. */
  leftOut: number;
  /** Threshold ids that matched a counter of some analysed file. */
  matched: string[];
  findings: PerfFinding[];
  /** Findings left out over MAX_SERVER_FINDINGS (and over each file's own bound). */
  droppedFindings: number;
}

export interface PerfScanOptions {
  /** Analyse only samples inside this window (times after the clock correction); default: the last DEFAULT_LOOKBACK_MS of each file's data. */
  window?: TimeWindow;
  /** Subtracted from every sample time (the server's clock correction). */
  shiftMs?: number;
  signal?: AbortSignal;
}

/**
 * Analyse a server's perfmon CSVs. Never throws for a file or folder it cannot read (that is said in
 * the result); throws only when aborted.
 */
export async function scanServerPerf(t: Transport, server: ServerConfig, thresholds: readonly PerfThreshold[], opts: PerfScanOptions = {}): Promise<ServerPerfScan> {
  const dir = server.logs.perfmonDir;
  const scan: ServerPerfScan = { server: server.name, dir, files: [], blg: [], leftOut: 0, matched: [], findings: [], droppedFindings: 0 };
  if (!dir) {
    scan.none = 'no logs.perfmonDir configured';
    return scan;
  }
  try {
    const st = await t.stat(dir);
    if (st.type !== 'dir') {
      scan.none = `${dir} is not a folder`;
      return scan;
    }
  } catch (err) {
    if (err instanceof TransportError && err.reason === 'not-found') {
      scan.none = `${dir} does not exist`;
      return scan;
    }
    if (opts.signal?.aborted) throw err;
    scan.dirError = `${dir}: ${errorMessage(err)}`;
    scan.dirUnread = true;
    return scan;
  }
  const skipped: string[] = [];
  const list = async (ext: string): Promise<RemoteEntry[]> =>
    glob(t, joinServerPath(t.platform, dir, '**', `*.${ext}`), { signal: opts.signal, onSkip: (p, r) => skipped.push(`${p} (${r})`) });
  let csv: RemoteEntry[];
  try {
    scan.blg = (await list('blg')).map((e) => e.path);
    csv = await list('csv');
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    scan.dirError = `${dir}: ${errorMessage(err)}`;
    scan.dirUnread = true;
    return scan;
  }
  if (skipped.length) scan.dirError = `folders not listed: ${skipped.slice(0, 5).join(', ')}`;
  csv.sort((a, b) => b.mtime.getTime() - a.mtime.getTime());
  scan.leftOut = Math.max(0, csv.length - MAX_PERF_FILES);
  const matched = new Set<string>();
  for (const f of csv.slice(0, MAX_PERF_FILES)) {
    opts.signal?.throwIfAborted();
    const result = await analyseFile(t, f, server.name, thresholds, opts);
    const room = MAX_SERVER_FINDINGS - scan.files.reduce((n, x) => n + x.findings.length, 0);
    if (result.file.findings.length > room) {
      scan.droppedFindings += result.file.findings.length - room;
      result.file.findings = result.file.findings.slice(0, Math.max(0, room));
    }
    scan.droppedFindings += result.dropped;
    scan.files.push(result.file);
    for (const id of result.matched) matched.add(id);
  }
  scan.matched = [...matched];
  scan.findings = scan.files.flatMap((f) => f.findings).sort((a, b) => a.from.localeCompare(b.from) || a.id.localeCompare(b.id));
  const analysed = scan.files.filter((f) => !f.problem);
  if (analysed.length === 0 && !scan.dirError) {
    if (csv.length === 0 && scan.blg.length === 0) scan.none = `no perfmon log (.csv or .blg) under ${dir}`;
    else if (csv.length === 0)
      scan.none = `only binary .blg under ${dir} (${scan.blg.length} file${scan.blg.length === 1 ? '' : 's'}): convert with relog -f csv on Windows to analyse`;
    else if (scan.files.every((f) => !f.unreadable)) scan.none = `no Performance Monitor CSV under ${dir} (${csv.length} .csv file${csv.length === 1 ? '' : 's'} without a PDH-CSV header)`;
  }
  return scan;
}

async function analyseFile(
  t: Transport,
  f: RemoteEntry,
  server: string,
  thresholds: readonly PerfThreshold[],
  opts: PerfScanOptions,
): Promise<{ file: PerfFileResult; matched: string[]; dropped: number }> {
  const file: PerfFileResult = { path: f.path, rows: 0, watched: 0, findings: [] };
  let stream: Awaited<ReturnType<Transport['createReadStream']>> | undefined;
  try {
    // Bounded to the size seen now: a file still being written is taken as it was.
    stream = await t.createReadStream(f.path, { end: Math.max(0, f.size - 1) });
    const a = await analysePerfFile(readLines(stream), server, thresholds, opts.window, { shiftMs: opts.shiftMs, signal: opts.signal });
    file.rows = a.stats.rows;
    file.firstMs = a.stats.firstMs;
    file.lastMs = a.stats.lastMs;
    file.watched = a.watched;
    const since = opts.window || a.stats.lastMs === undefined ? -Infinity : a.stats.lastMs - DEFAULT_LOOKBACK_MS;
    file.findings = a.findings.filter((x) => Date.parse(x.to) >= since);
    if (f.size === 0) file.problem = 'empty file';
    return { file, matched: a.matched, dropped: a.stats.droppedFindings };
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    if (err instanceof NotPdhCsvError) file.problem = 'not a Performance Monitor CSV (no "(PDH-CSV ...)" header)';
    else {
      file.problem = `unreadable: ${errorMessage(err)}`;
      file.unreadable = true;
    }
    return { file, matched: [], dropped: 0 };
  } finally {
    stream?.destroy();
  }
}
