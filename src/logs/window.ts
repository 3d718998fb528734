// The incident window: one meaning for every source (event logs by TimeCreated, Tracer lines by
// their own timestamps, perfmon samples by sample time), always in UTC.
import { UsageError } from '../errors.js';

export interface TimeWindow {
  from: Date;
  to: Date;
  /** 100 ns units past from's millisecond (0-9999), when the bound was given with 7 fraction digits. */
  fromSub?: number;
  /** 100 ns units past to's millisecond (0-9999). */
  toSub?: number;
  /** The zone a bound typed without one was read in (absent: every bound carried its own zone or was relative). */
  assumedZone?: string;
}

export interface WindowOptions {
  from?: string;
  to?: string;
  around?: string;
  span?: string;
  /** Zone for times typed without one: an IANA name, UTC or an offset such as +02:00. Default UTC. */
  zone?: string;
}

/** The rule every command states: a time without a zone is UTC unless --tz or the farm says otherwise. */
export const DEFAULT_ZONE = 'UTC';

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

/** A point in time at 100 ns precision: milliseconds since 1970 plus 0-9999 units of 100 ns. */
export interface Instant {
  ms: number;
  sub: number;
  /** The zone the text was read in, when it carried none of its own. */
  assumedZone?: string;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const OFFSET = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i;
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** Minutes east of UTC of a fixed offset ("+02:00", "-0530", "UTC+2", "Z", "UTC"), or undefined. */
function fixedOffset(zone: string): number | undefined {
  if (/^(?:Z|UTC|GMT|Etc\/UTC)$/i.test(zone)) return 0;
  const m = OFFSET.exec(zone);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  if (Number(m[2]) > 14 || Number(m[3] ?? 0) > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * minutes;
}

/** Checks a zone (IANA name such as Europe/Berlin, UTC, or an offset such as +02:00); returns it canonical. */
export function parseZone(text: string, flag = '--tz'): string {
  const t = text.trim();
  const fixed = fixedOffset(t);
  if (fixed !== undefined) return fixed === 0 && /^(?:Z|UTC|GMT|Etc\/UTC)$/i.test(t) ? 'UTC' : formatOffset(fixed);
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: t }).resolvedOptions().timeZone;
    // ICU may answer a legacy alias (Asia/Kolkata -> Asia/Calcutta): keep the user's name, fixing only its case.
    return resolved.toLowerCase() === t.toLowerCase() ? resolved : t;
  } catch {
    throw new UsageError(`${flag}: "${text}" is not a time zone`, { hint: 'use an IANA name such as Europe/Berlin or America/New_York, UTC, or an offset such as +02:00' });
  }
}

function formatOffset(minutes: number): string {
  const a = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** Minutes east of UTC in `zone` at the instant `ms` (daylight saving included). */
export function zoneOffsetAt(zone: string, ms: number): number {
  const fixed = fixedOffset(zone);
  if (fixed !== undefined) return fixed;
  let f = offsetFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    offsetFormats.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 60_000);
}

/**
 * The UTC instant of a wall-clock time in a zone. A time that occurs twice (clocks go back) is the
 * first occurrence; a time that never occurs (clocks go forward) is read with the offset before the change.
 */
function wallClockToUtc(wall: number, zone: string): number {
  const before = zoneOffsetAt(zone, wall - 86_400_000);
  const after = zoneOffsetAt(zone, wall + 86_400_000);
  const valid = [before, after].map((o) => wall - o * 60_000).filter((t, i) => zoneOffsetAt(zone, t) === [before, after][i]);
  return valid.length ? Math.min(...valid) : wall - before * 60_000;
}

/**
 * The one time parser of every command. Accepts ISO 8601 (date, date and time, up to 7 fraction
 * digits, with Z or an offset), "now", and times relative to now such as "-2h" or "now-90m". A time
 * without a zone is read in opts.zone (default UTC), and the result says so.
 */
export function parseInstant(text: string, flag: string, opts: { now?: Date; zone?: string } = {}): Instant {
  const t = text.trim();
  const now = (opts.now ?? new Date()).getTime();
  if (/^now$/i.test(t)) return { ms: now, sub: 0 };
  const rel = /^(?:now\s*)?-\s*(\d.*)$/i.exec(t);
  if (rel) return { ms: now - parseDuration(rel[1], flag), sub: 0 };
  const m = ISO_TIME.exec(t);
  if (m) {
    const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
    const frac = (m[7] ?? '').padEnd(7, '0').slice(0, 7);
    const wall = Date.UTC(y, mo - 1, d, h, mi, s, Number(frac.slice(0, 3)));
    const check = new Date(Date.UTC(y, mo - 1, d));
    if (check.getUTCFullYear() === y && check.getUTCMonth() === mo - 1 && check.getUTCDate() === d && h <= 23 && mi <= 59 && s <= 59) {
      const sub = Number(frac.slice(3));
      if (m[8]) {
        const off = fixedOffset(m[8].toUpperCase() === 'Z' ? 'Z' : m[8]);
        if (off !== undefined) return { ms: wall - off * 60_000, sub };
      } else {
        const zone = opts.zone ?? DEFAULT_ZONE;
        return { ms: wallClockToUtc(wall, zone), sub, assumedZone: zone };
      }
    }
  }
  throw new UsageError(`${flag}: "${text}" is not a time`, {
    hint: 'use ISO 8601 such as 2026-11-20T09:30:00Z (no zone = UTC, or the zone of --tz), "now", or a relative time such as -2h',
  });
}

/** parseInstant as a Date (millisecond precision). */
export function parseTime(text: string, flag: string, now: Date = new Date(), zone?: string): Date {
  return new Date(parseInstant(text, flag, { now, zone }).ms);
}

export function resolveWindow(opts: WindowOptions, now: Date = new Date()): TimeWindow {
  if (opts.around && (opts.from || opts.to))
    throw new UsageError('--around cannot be combined with --from/--to', { hint: 'give either --around <time> [--span 2h] or --from/--to' });
  const zone = opts.zone ?? DEFAULT_ZONE;
  const read = (text: string, flag: string) => parseInstant(text, flag, { now, zone });
  let from: Instant;
  let to: Instant;
  if (opts.around) {
    const center = read(opts.around, '--around');
    const span = opts.span ? parseDuration(opts.span) : 2 * 3_600_000;
    from = { ...center, ms: center.ms - span / 2 };
    to = { ...center, ms: center.ms + span / 2 };
  } else if (opts.from && !opts.to && opts.span) {
    // --from with --span: the window runs forward from --from.
    from = read(opts.from, '--from');
    to = { ...from, ms: from.ms + parseDuration(opts.span) };
  } else {
    to = opts.to ? read(opts.to, '--to') : { ms: now.getTime(), sub: 0 };
    const span = opts.span ? parseDuration(opts.span) : DEFAULT_SPAN_MS;
    from = opts.from ? read(opts.from, '--from') : { ...to, ms: to.ms - span };
  }
  const w = windowOf(from, to);
  // Both ends are inclusive, so --from equal to --to is one instant (an .evtx record's exact time).
  if (compareInstant(from, to) > 0)
    throw new UsageError(`the window is empty: --from ${describeBound(w.from, w.fromSub)} is after --to ${describeBound(w.to, w.toSub)}`);
  return w;
}

function windowOf(from: Instant, to: Instant): TimeWindow {
  const w: TimeWindow = { from: new Date(from.ms), to: new Date(to.ms) };
  if (from.sub) w.fromSub = from.sub;
  if (to.sub) w.toSub = to.sub;
  const assumed = from.assumedZone ?? to.assumedZone;
  if (assumed) w.assumedZone = assumed;
  return w;
}

function compareInstant(a: Instant, b: Instant): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.sub - b.sub;
}

/**
 * Whether a time at 100 ns precision (ms plus 0-9999 units of 100 ns, as a FILETIME gives) is inside
 * the window. Both bounds are inclusive: --to 09:30:00.615Z keeps .6150000 and drops .6152344.
 */
export function inWindowPrecise(w: TimeWindow, ms: number, sub: number): boolean {
  const from = w.from.getTime();
  const to = w.to.getTime();
  if (ms < from || (ms === from && sub < (w.fromSub ?? 0))) return false;
  if (ms > to || (ms === to && sub > (w.toSub ?? 0))) return false;
  return true;
}

/** 0-9999: the 100 ns units past the millisecond in an ISO time with up to 7 fraction digits. */
export function subMillisecond(iso: string): number {
  const m = /\.\d{3}(\d{1,4})/.exec(iso);
  return m ? Number(m[1].padEnd(4, '0')) : 0;
}

/** A millisecond time inside the window (bounds inclusive; a bound's sub-millisecond part counts). */
export function inWindow(w: TimeWindow, ms: number): boolean {
  return inWindowPrecise(w, ms, 0);
}

/**
 * The same test for a time whose 100 ns part is costly to get (an .evtx record renders it): asked
 * for only when the millisecond equals a bound's, the one case where it decides.
 */
export function inWindowLazy(w: TimeWindow, ms: number, sub: () => number): boolean {
  if (ms === w.from.getTime() || ms === w.to.getTime()) return inWindowPrecise(w, ms, sub());
  return ms > w.from.getTime() && ms < w.to.getTime();
}

/** The 100 ns part of an .evtx record's TimeCreated, from its XML (SystemTime has 7 fraction digits). */
export function evtxSubMillisecond(record: { xml(): string }): number {
  const m = /<TimeCreated SystemTime="([^"]+)"/.exec(record.xml());
  return m ? subMillisecond(m[1]) : 0;
}

/** " (times seen: oldest .. newest)" for a source with no data in the window: shows how far off the window is. */
export function describeSeen(oldestMs: number | undefined, newestMs: number | undefined): string {
  if (oldestMs === undefined || newestMs === undefined || !Number.isFinite(oldestMs) || !Number.isFinite(newestMs)) return '';
  return `; times seen ${new Date(oldestMs).toISOString()} .. ${new Date(newestMs).toISOString()}`;
}

/** A bound as ISO 8601 UTC, with 7 fraction digits when it has sub-millisecond precision. */
export function describeBound(d: Date, sub?: number): string {
  const iso = d.toISOString();
  return sub ? `${iso.slice(0, -1)}${String(sub).padStart(4, '0')}Z` : iso;
}

export function describeWindow(w: TimeWindow): string {
  return `${describeBound(w.from, w.fromSub)} .. ${describeBound(w.to, w.toSub)}`;
}

/** What a command prints about its window: the UTC bounds, and the zone a zone-less time was read in. */
export function windowNotice(w: TimeWindow): string {
  const zone = w.assumedZone ? `; times without a zone were read as ${w.assumedZone}${w.assumedZone === DEFAULT_ZONE ? ' (use --tz to choose)' : ''}` : '';
  return `window ${describeWindow(w)} (UTC, both ends inclusive${zone})`;
}
