// Plain text tables for people. Width is measured without ANSI colour codes. Every cell goes through
// the sanitiser: only the ui layer's own colour survives, any other control or escape is shown escaped.
import { stripVTControlCharacters } from 'node:util';
import { sanitizeStyled } from './sanitize.js';

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  align?: 'left' | 'right';
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => sanitizeStyled(c.value(r) ?? '')));
  // a loop, not Math.max(...cells): a spread of many rows overflows the stack
  const widths = columns.map((c, i) => cells.reduce((w, row) => Math.max(w, visibleLength(row[i])), visibleLength(c.header)));
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
