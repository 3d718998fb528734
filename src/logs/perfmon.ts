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
