// Performance Monitor CSV (PDH-CSV, as written by relog/typeperf/logman -f csv): cut to the window
// row by row, streaming. The first header cell carries the time-zone bias (minutes to add to the
// local row times to get UTC); rows start with a local "MM/DD/YYYY HH:MM:SS.mmm" cell.
import type { Line } from './lines.js';
import type { TimeWindow } from './window.js';

export interface PdhHeader {
  /** Minutes to add to a row's local time to get UTC. */
  biasMinutes: number;
  /** The time-zone display name (localized on non-English Windows; informative only). */
  zoneName: string;
  delimiter: ',' | '\t';
}

/** The header of a PDH-CSV/TSV file, or undefined when the first line is not one. */
export function parsePdhHeader(line: string): PdhHeader | undefined {
  const text = line.replace(/^\uFEFF/, '');
  if (!text.startsWith('"(PDH-')) return undefined;
  const close = text.indexOf('"', 1);
  if (close < 0) return undefined;
  const cell = text.slice(1, close);
  // The name may itself hold parentheses and commas: take the bias from the end of the cell.
  const m = /^\(PDH-(?:CSV|TSV) [\d.]+\)\s*\((.*)\)\((-?\d+)\)$/.exec(cell);
  if (!m) return undefined;
  const delimiter = text[close + 1] === '\t' ? '\t' : ',';
  return { zoneName: m[1], biasMinutes: Number(m[2]), delimiter };
}

const ROW_TIME = /^"?(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?"?/;

/** A row's sample time in ms UTC, or undefined for a row that does not start with one. */
export function pdhRowTime(line: string, biasMinutes: number): number | undefined {
  const m = ROW_TIME.exec(line);
  if (!m) return undefined;
  const [mo, d, y, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = m[7] ? Number(m[7].padEnd(3, '0')) : 0;
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) + biasMinutes * 60_000;
}

export interface PdhCutStats {
  header?: PdhHeader;
  rows: number;
  rowsInWindow: number;
  firstMs?: number;
  lastMs?: number;
}

/**
 * The header line and the rows inside the window. Throws NotPdhCsvError when the first line is not a
 * PDH header (the caller then carries the file differently).
 */
export async function* cutPdhCsv(lines: AsyncIterable<Line>, window: TimeWindow, stats: PdhCutStats = { rows: 0, rowsInWindow: 0 }): AsyncGenerator<string> {
  const from = window.from.getTime();
  const to = window.to.getTime();
  let header: PdhHeader | undefined;
  for await (const line of lines) {
    if (!header) {
      header = parsePdhHeader(line.text);
      if (!header) throw new NotPdhCsvError();
      stats.header = header;
      yield line.text.replace(/^\uFEFF/, '');
      continue;
    }
    if (line.text === '') continue;
    stats.rows++;
    const ms = pdhRowTime(line.text, header.biasMinutes);
    if (ms === undefined || ms < from || ms > to) continue;
    stats.rowsInWindow++;
    if (stats.firstMs === undefined) stats.firstMs = ms;
    stats.lastMs = ms;
    yield line.text;
  }
}

export class NotPdhCsvError extends Error {
  constructor() {
    super('not a Performance Monitor CSV (no "(PDH-CSV ...)" header)');
    this.name = 'NotPdhCsvError';
  }
}

/** A counter named by a PDH-CSV header cell: `\\MACHINE\Object(Instance)\Counter`. */
export interface PdhCounter {
  /** As the header names it. */
  path: string;
  /** Without the leading backslashes; '' when the path names no machine. */
  machine: string;
  object: string;
  /** The instance inside the parentheses ("_Total", "w3wp#1", "C:"), when there is one. */
  instance?: string;
  counter: string;
  /** The path without the machine: "\Processor(_Total)\% Processor Time". */
  name: string;
}

/** A counter path's parts, or undefined for a cell that is not one. Instances may hold parentheses and slashes. */
export function parsePdhCounterPath(path: string): PdhCounter | undefined {
  let rest = path;
  let machine = '';
  if (rest.startsWith('\\\\')) {
    const slash = rest.indexOf('\\', 2);
    if (slash < 0) return undefined;
    machine = rest.slice(2, slash);
    rest = rest.slice(slash);
  }
  if (!rest.startsWith('\\')) return undefined;
  const lastSlash = rest.lastIndexOf('\\');
  if (lastSlash <= 0) return undefined;
  const counter = rest.slice(lastSlash + 1);
  const objectPart = rest.slice(1, lastSlash);
  if (!counter || !objectPart) return undefined;
  const open = objectPart.indexOf('(');
  let object = objectPart;
  let instance: string | undefined;
  if (open > 0 && objectPart.endsWith(')')) {
    object = objectPart.slice(0, open);
    instance = objectPart.slice(open + 1, -1);
  }
  return { path, machine, object, instance, counter, name: rest };
}

/**
 * One PDH-CSV row split into its cells. Cells are double-quoted (a doubled quote inside one is a
 * quote), but a hand-edited or typeperf file may leave a cell bare.
 */
export function splitPdhRow(line: string, delimiter: ',' | '\t'): string[] {
  const cells: string[] = [];
  let i = 0;
  const n = line.length;
  while (i <= n) {
    if (line[i] === '"') {
      let cell = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) {
          cell += line.slice(j);
          j = n;
          break;
        }
        cell += line.slice(j, q);
        if (line[q + 1] === '"') {
          cell += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      cells.push(cell);
      const d = line.indexOf(delimiter, j);
      if (d < 0) break;
      i = d + 1;
    } else {
      const d = line.indexOf(delimiter, i);
      if (d < 0) {
        cells.push(line.slice(i));
        break;
      }
      cells.push(line.slice(i, d));
      i = d + 1;
    }
  }
  return cells;
}

/** A sample value: a number, or null for a missing one (" " for the first rate sample, "" when not collected). */
export function pdhValue(cell: string | undefined): number | null {
  if (cell === undefined) return null;
  const text = cell.trim();
  if (text === '') return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

export interface PdhSample {
  /** Sample time, ms UTC. */
  ms: number;
  /** One per counter (PdhSamplesInfo.counters), null where the row has none. */
  values: (number | null)[];
}

export interface PdhSamplesInfo {
  header?: PdhHeader;
  /** The counters read, in column order, at most maxCounters. */
  counters: PdhCounter[];
  /** Header cells that were not counter paths, or beyond maxCounters. */
  skippedCounters: number;
  rows: number;
  /** Rows without a readable time (skipped). */
  badRows: number;
  /** True when the header line was longer than the line limit and counters were lost. */
  headerCut: boolean;
}

export const MAX_PDH_COUNTERS = 10_000;

/**
 * The samples of a PDH-CSV file, row by row (memory: one row), optionally only those inside a
 * window. Throws NotPdhCsvError when the first line is not a PDH header.
 */
export async function* readPdhSamples(
  lines: AsyncIterable<Line>,
  opts: { window?: TimeWindow; maxCounters?: number } = {},
  info: PdhSamplesInfo = { counters: [], skippedCounters: 0, rows: 0, badRows: 0, headerCut: false },
): AsyncGenerator<PdhSample> {
  const max = opts.maxCounters ?? MAX_PDH_COUNTERS;
  const from = opts.window?.from.getTime() ?? -Infinity;
  const to = opts.window?.to.getTime() ?? Infinity;
  let header: PdhHeader | undefined;
  // Column index of each kept counter.
  const columns: number[] = [];
  for await (const line of lines) {
    if (!header) {
      header = parsePdhHeader(line.text);
      if (!header) throw new NotPdhCsvError();
      info.header = header;
      info.headerCut = line.cut;
      const cells = splitPdhRow(line.text.replace(/^\uFEFF/, ''), header.delimiter);
      for (let c = 1; c < cells.length; c++) {
        const counter = info.counters.length < max ? parsePdhCounterPath(cells[c]) : undefined;
        if (!counter) {
          info.skippedCounters++;
          continue;
        }
        info.counters.push(counter);
        columns.push(c);
      }
      continue;
    }
    if (line.text === '') continue;
    info.rows++;
    const ms = pdhRowTime(line.text, header.biasMinutes);
    if (ms === undefined) {
      info.badRows++;
      continue;
    }
    if (ms < from || ms > to) continue;
    const cells = splitPdhRow(line.text, header.delimiter);
    const values = new Array<number | null>(columns.length);
    for (let k = 0; k < columns.length; k++) values[k] = pdhValue(cells[columns[k]]);
    yield { ms, values };
  }
}
