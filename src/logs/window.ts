// The incident window: one meaning for every source (event logs by TimeCreated, Tracer lines by
// their own timestamps, perfmon samples by sample time), always in UTC.
import { UsageError } from '../errors.js';

export interface TimeWindow {
  from: Date;
  to: Date;
}

export interface WindowOptions {
  from?: string;
  to?: string;
  around?: string;
  span?: string;
}

const DEFAULT_SPAN_MS = 24 * 3_600_000;

/** "90m", "2h", "1d", "1h30m" as milliseconds. */
export function parseDuration(text: string, flag = '--span'): number {
  const t = text.trim();
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'ms']!;
    matched = re.lastIndex;
  }
  if (matched !== t.length || total <= 0)
    throw new UsageError(`${flag}: "${text}" is not a duration`, { hint: 'use e.g. 30m, 2h, 1d or 1h30m' });
  return total;
}

/**
 * An absolute time: ISO 8601 (an offset-less time is this machine's local time, as the admin typed
 * it), "now", or a time relative to now such as "-2h".
 */
export function parseTime(text: string, flag: string, now: Date = new Date()): Date {
  const t = text.trim();
  if (t === 'now') return new Date(now);
  if (/^-\s*\d/.test(t)) return new Date(now.getTime() - parseDuration(t.slice(1), flag));
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const d = new Date(t.length === 10 ? `${t}T00:00:00` : t);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new UsageError(`${flag}: "${text}" is not a time`, {
    hint: 'use ISO 8601 such as 2026-11-20T09:30:00Z (no offset = local time), "now", or a relative time such as -2h',
  });
}

export function resolveWindow(opts: WindowOptions, now: Date = new Date()): TimeWindow {
  if (opts.around && (opts.from || opts.to))
    throw new UsageError('--around cannot be combined with --from/--to', { hint: 'give either --around <time> [--span 2h] or --from/--to' });
  let from: Date;
  let to: Date;
  if (opts.around) {
    const center = parseTime(opts.around, '--around', now);
    const span = opts.span ? parseDuration(opts.span) : 2 * 3_600_000;
    from = new Date(center.getTime() - span / 2);
    to = new Date(center.getTime() + span / 2);
  } else {
    to = opts.to ? parseTime(opts.to, '--to', now) : now;
    const span = opts.span ? parseDuration(opts.span) : DEFAULT_SPAN_MS;
    from = opts.from ? parseTime(opts.from, '--from', now) : new Date(to.getTime() - span);
  }
  if (from.getTime() >= to.getTime())
    throw new UsageError(`the window is empty: --from ${from.toISOString()} is not before --to ${to.toISOString()}`);
  return { from, to };
}

export function inWindow(w: TimeWindow, ms: number): boolean {
  return ms >= w.from.getTime() && ms <= w.to.getTime();
}

export function describeWindow(w: TimeWindow): string {
  return `${w.from.toISOString()} .. ${w.to.toISOString()}`;
}
