// Timestamps in text log lines whose format nobody published (ClickSoftware Tracer, Integration
// Manager, IIS...). Each line is tried against the common layouts at its start; the detector
// remembers which layout and which day/month order a file uses, because 03/06/2025 alone is ambiguous.

export interface DetectorOptions {
  /** Minutes to add to UTC to get the log's local time (e.g. 120 for UTC+2). Ignored when a line carries its own offset. */
  utcOffsetMinutes?: number;
  /** Force day-first (true) or month-first (false) for d/m/y dates; otherwise learnt from the file. */
  dayFirst?: boolean;
  /** Year for layouts without one (syslog). */
  referenceYear?: number;
}

export type TimestampFormat = 'iso' | 'ymd-slash' | 'dmy-dot' | 'dmy-slash' | 'mdy-slash' | 'clf' | 'syslog';

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

// Leading noise a logger may put first: a bracket, a level, a thread id in brackets... kept short.
const LEAD = String.raw`^[\s\[(<"]{0,3}`;
const TIME = String.raw`(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,7}))?`;
const ZONE = String.raw`\s?(Z|[+-]\d{2}:?\d{2})?`;
const ISO = new RegExp(`${LEAD}(\\d{4})-(\\d{2})-(\\d{2})[T ]${TIME}${ZONE}`);
const YMD_SLASH = new RegExp(`${LEAD}(\\d{4})/(\\d{2})/(\\d{2})[ T]${TIME}${ZONE}`);
const DMY_DOT = new RegExp(`${LEAD}(\\d{1,2})\\.(\\d{1,2})\\.(\\d{4})[ T]${TIME}`);
const XY_SLASH = new RegExp(`${LEAD}(\\d{1,2})/(\\d{1,2})/(\\d{4})[ T]${TIME}(?:\\s?([AaPp][Mm]))?`);
const CLF = /^[\s[]{0,2}(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})\s([+-]\d{4})/;
const SYSLOG = /^([A-Z][a-z]{2})\s+(\d{1,2})\s(\d{2}):(\d{2}):(\d{2})/;

export interface DetectedTimestamp {
  /** Milliseconds since the epoch, UTC. */
  ms: number;
  format: TimestampFormat;
}

function fraction(f: string | undefined): number {
  if (!f) return 0;
  return Math.floor(Number(`0.${f}`) * 1000);
}

function zoneMinutes(z: string | undefined): number | undefined {
  if (!z) return undefined;
  if (z === 'Z') return 0;
  const sign = z[0] === '-' ? -1 : 1;
  const digits = z.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}

function valid(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  return y >= 1970 && y < 2200 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60;
}

export class TimestampDetector {
  private dayFirst: boolean | undefined;
  private readonly offset: number;
  private readonly year: number;
  /** The layout of the last line that had one, tried first on the next line. */
  lastFormat: TimestampFormat | undefined;

  constructor(opts: DetectorOptions = {}) {
    this.dayFirst = opts.dayFirst;
    this.offset = opts.utcOffsetMinutes ?? 0;
    this.year = opts.referenceYear ?? new Date().getUTCFullYear();
  }

  private utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, zone?: number): number {
    return Date.UTC(y, mo - 1, d, h, mi, s, ms) - (zone ?? this.offset) * 60_000;
  }

  /** The time a line starts with, or undefined (a continuation line, a stack frame...). */
  detect(line: string): DetectedTimestamp | undefined {
    // Cheap rejection: a timestamp starts within the first few characters with a digit or a month name.
    const head = line.length > 48 ? line.slice(0, 48) : line;
    if (!/^[\s[(<"]{0,3}[0-9A-Z]/.test(head)) return undefined;
    let m: RegExpExecArray | null;
    if ((m = ISO.exec(head))) return this.ymd(m, 'iso');
    if ((m = YMD_SLASH.exec(head))) return this.ymd(m, 'ymd-slash');
    if ((m = DMY_DOT.exec(head))) {
      const [d, mo, y, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
      if (!valid(y, mo, d, h, mi, s)) return undefined;
      return this.hit(this.utc(y, mo, d, h, mi, s, fraction(m[7])), 'dmy-dot');
    }
    if ((m = XY_SLASH.exec(head))) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      const y = Number(m[3]);
      let h = Number(m[4]);
      const mi = Number(m[5]);
      const s = Number(m[6]);
      const ampm = m[8]?.toLowerCase();
      if (ampm === 'pm' && h < 12) h += 12;
      if (ampm === 'am' && h === 12) h = 0;
      // Learn the order from the first unambiguous date of the file, then keep it.
      if (this.dayFirst === undefined) {
        if (a > 12 && b <= 12) this.dayFirst = true;
        else if (b > 12 && a <= 12) this.dayFirst = false;
      }
      const dayFirst = this.dayFirst ?? false; // PDH-CSV, IIS and US-locale .NET logs are month-first
      const [d, mo] = dayFirst ? [a, b] : [b, a];
      if (!valid(y, mo, d, h, mi, s)) return undefined;
      return this.hit(this.utc(y, mo, d, h, mi, s, fraction(m[7])), dayFirst ? 'dmy-slash' : 'mdy-slash');
    }
    if ((m = CLF.exec(head))) {
      const mo = MONTHS[m[2].toLowerCase()];
      if (!mo) return undefined;
      const [d, y, h, mi, s] = [m[1], m[3], m[4], m[5], m[6]].map(Number);
      if (!valid(y, mo, d, h, mi, s)) return undefined;
      return this.hit(this.utc(y, mo, d, h, mi, s, 0, zoneMinutes(m[7])), 'clf');
    }
    if ((m = SYSLOG.exec(head))) {
      const mo = MONTHS[m[1].toLowerCase()];
      if (!mo) return undefined;
      const [d, h, mi, s] = [m[2], m[3], m[4], m[5]].map(Number);
      if (!valid(this.year, mo, d, h, mi, s)) return undefined;
      return this.hit(this.utc(this.year, mo, d, h, mi, s, 0), 'syslog');
    }
    return undefined;
  }

  private ymd(m: RegExpExecArray, format: TimestampFormat): DetectedTimestamp | undefined {
    const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
    if (!valid(y, mo, d, h, mi, s)) return undefined;
    return this.hit(this.utc(y, mo, d, h, mi, s, fraction(m[7]), zoneMinutes(m[8])), format);
  }

  private hit(ms: number, format: TimestampFormat): DetectedTimestamp | undefined {
    if (!Number.isFinite(ms)) return undefined;
    this.lastFormat = format;
    return { ms, format };
  }
}

/** One-off detection with a fresh detector (no learnt day/month order). */
export function detectTimestamp(line: string, opts?: DetectorOptions): DetectedTimestamp | undefined {
  return new TimestampDetector(opts).detect(line);
}

/** "+02:00", "-0530", "Z" or "UTC" as minutes east of UTC. */
export function parseUtcOffset(text: string): number {
  const t = text.trim();
  if (t === 'Z' || /^utc$/i.test(t)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(t);
  if (!m) throw new Error(`not a UTC offset: "${text}" (expected e.g. +02:00, -05:30 or Z)`);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}
