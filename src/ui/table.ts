// Plain text tables for people. Width is measured without ANSI colour codes. Every cell goes through
// the sanitiser: only the ui layer's own colour survives, any other control or escape is shown escaped.
import { stripVTControlCharacters } from 'node:util';
import { sanitizeStyled } from './sanitize.js';

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  align?: 'left' | 'right';
  /** Free text (reasons, notes, paths) that may be cut to fit a terminal; names and numbers are not. */
  free?: boolean;
}

export interface TableOptions {
  /** Terminal columns: the widest free-text column is cut (with "...") until the table fits. */
  width?: number;
}

const SEP = 2;
const MIN_FREE = 12;

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], opts: TableOptions = {}): string {
  let cells = rows.map((r) => columns.map((c) => sanitizeStyled(c.value(r) ?? '')));
  // a loop, not Math.max(...cells): a spread of many rows overflows the stack
  const widths = columns.map((c, i) => cells.reduce((w, row) => Math.max(w, visibleLength(row[i])), visibleLength(c.header)));
  if (opts.width) cells = fitWidths(cells, columns, widths, opts.width);
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i].align === 'right' ? padStart(v, widths[i]) : padEnd(v, widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w)))];
  for (const row of cells) out.push(line(row));
  return out.join('\n');
}

function visibleLength(s: string): number {
  return stripVTControlCharacters(s).length;
}
function padEnd(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - visibleLength(s)));
}
function padStart(s: string, w: number): string {
  return ' '.repeat(Math.max(0, w - visibleLength(s))) + s;
}

/**
 * Shrinks the widest cuttable column until the table fits `width` (or nothing can shrink further).
 * Cuttable: the columns marked free, or every left-aligned column when none is marked.
 */
function fitWidths<T>(cells: string[][], columns: readonly Column<T>[], widths: number[], width: number): string[][] {
  const marked = columns.some((c) => c.free);
  const cuttable = columns.map((c) => (marked ? Boolean(c.free) : c.align !== 'right'));
  const total = () => widths.reduce((a, b) => a + b, 0) + SEP * (widths.length - 1);
  const limit = widths.map((w) => w);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      const floor = Math.max(MIN_FREE, visibleLength(columns[i].header));
      if (cuttable[i] && widths[i] > floor && (widest < 0 || widths[i] > widths[widest])) widest = i;
    }
    if (widest < 0) break;
    const floor = Math.max(MIN_FREE, visibleLength(columns[widest].header));
    const next = widths.reduce((m, w, i) => (i !== widest && cuttable[i] && w < widths[widest] ? Math.max(m, w) : m), 0);
    widths[widest] = Math.max(floor, widths[widest] - (total() - width), next);
    limit[widest] = widths[widest];
  }
  return cells.map((row) => row.map((v, i) => (visibleLength(v) > limit[i] ? cut(v, limit[i]) : v)));
}

/** Text cut to `max` visible characters ending in "..." (colour codes are dropped from a cut cell). */
function cut(s: string, max: number): string {
  const plain = stripVTControlCharacters(s);
  return plain.length > max ? `${plain.slice(0, Math.max(0, max - 3))}...` : plain;
}
