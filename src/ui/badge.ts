// Status words coloured by meaning, for tables on a terminal.
import type { Io } from './io.js';
import { sanitize } from './sanitize.js';

const GOOD = new Set(['reachable', 'ok', 'pass', 'covered', 'valid', 'installed', 'match']);
const WARN = new Set(['warn', 'partial', 'skipped', 'skip', 'truncated', 'expiring']);

/** A status word coloured by what it means; the word itself carries the meaning without colour. */
export function statusBadge(io: Io, status: string): string {
  status = sanitize(status); // may come from a bundle's manifest
  if (GOOD.has(status)) return io.c.green(status);
  if (WARN.has(status)) return io.c.yellow(status);
  return io.c.red(status);
}
