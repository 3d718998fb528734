// Small renderers shared by commands.
import type { Io } from './io.js';

export function formatOffset(ms: number): string {
  const sign = ms >= 0 ? '+' : '-';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 120_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
  return `${sign}${(abs / 60_000).toFixed(1)} min`;
}

const GOOD = new Set(['reachable', 'ok', 'pass', 'covered', 'valid', 'installed', 'match']);
const WARN = new Set(['warn', 'partial', 'skipped', 'skip', 'truncated', 'expiring']);

/** A status word coloured by what it means; the word itself carries the meaning without colour. */
export function statusBadge(io: Io, status: string): string {
  if (GOOD.has(status)) return io.c.green(status);
  if (WARN.has(status)) return io.c.yellow(status);
  return io.c.red(status);
}
