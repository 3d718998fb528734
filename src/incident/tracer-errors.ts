// Error lines in Tracer (text) logs: when the problem first appeared, how many error lines fall in
// the incident window, and which users they name. The hot path scans raw Buffers for the error
// tokens with indexOf and decodes only the lines that contain one, so a gigabyte of logs costs about
// one pass of memchr per token, with memory flat at one chunk.
import { TimestampDetector } from '../logs/timestamps.js';
import { UsageError } from '../errors.js';
import { compileLinear, trustedPattern, UnsupportedPatternError, type LinearPattern } from '../pattern.js';
import { BucketCounts, type Bucketing, type PlainBuckets } from './buckets.js';

export const DEFAULT_ERROR_TOKENS: readonly string[] = ['ERROR', 'FATAL', 'Exception'];

/** Each needs a named group `user` (else the first group is taken). Matched case-insensitively. */
export const DEFAULT_USER_PATTERNS: readonly string[] = [
  String.raw`\bUser=(?<user>[^\s,;|"']+)`,
  String.raw`\buser:\s*(?<user>[^\s,;|"']+)`,
  String.raw`\bUserName="(?<user>[^"]+)"`,
  String.raw`\bfor user '(?<user>[^']+)'`,
];

/** Lines that mention licensing decide the component (XX-PART-CLK-LKY) when they dominate. */
export const LICENSE_PATTERN = /licen[cs]/i;

/** LICENSE_PATTERN, with a cheap pre-check: nearly no error line mentions it. */
export function mentionsLicense(line: string): boolean {
  return (line.includes('icen') || line.includes('ICEN')) && LICENSE_PATTERN.test(line);
}

/** User patterns run on RE2 (linear time): a crafted log line cannot stall the scan. The defaults are ours and run natively. */
export function compileUserPatterns(patterns: readonly string[]): LinearPattern[] {
  return patterns.map((p) => {
    if (DEFAULT_USER_PATTERNS.includes(p)) return trustedPattern(p, 'i');
    let re: LinearPattern;
    try {
      re = compileLinear(p, { ignoreCase: true });
    } catch (err) {
      if (!(err instanceof UnsupportedPatternError)) throw err;
      throw new UsageError(`--user-pattern ${err.message}`, { hint: 'patterns run on RE2 (linear time): use groups, classes and repetition, not backreferences or lookarounds' });
    }
    if (!re.groupNames.includes('user') && re.groupCount === 0)
      throw new UsageError(`--user-pattern "${p}" has no group for the user name`, { hint: 'use a named group, e.g. "Operator=(?<user>\\S+)"' });
    return re;
  });
}

/**
 * One key per person: lower case, without the domain, so "CORP\JDoe", "jdoe@corp.example" and
 * "jdoe" count once. Trailing punctuation from the sentence around it is dropped.
 */
export function normaliseUser(raw: string): string {
  let u = raw.trim().replace(/[.,;:)\]}>]+$/, '');
  const slash = u.lastIndexOf('\\');
  if (slash >= 0) u = u.slice(slash + 1);
  const at = u.indexOf('@');
  if (at > 0) u = u.slice(0, at);
  return u.toLowerCase();
}

/** Raw user text -> key: the same few hundred users recur in every error line. */
const userKeys = new Map<string, string>();

export function extractUser(line: string, patterns: readonly LinearPattern[]): string | undefined {
  for (const re of patterns) {
    const m = re.exec(line);
    if (!m) continue;
    const raw = m.groups?.user ?? m[1];
    if (raw) {
      let key = userKeys.get(raw);
      if (key === undefined) {
        key = normaliseUser(raw);
        if (userKeys.size > 100_000) userKeys.clear();
        userKeys.set(raw, key);
      }
      if (key) return key;
    }
  }
  return undefined;
}

export interface ErrorScanOptions {
  errorTokens?: readonly string[];
  userPatterns?: readonly LinearPattern[];
  /** Only lines in [fromMs, toMs] (true UTC, after the clock offset) count. */
  fromMs?: number;
  toMs?: number;
  /** Minutes east of UTC the log's local time is written in (logs.tracerUtcOffset). */
  utcOffsetMinutes?: number;
  /** The server's clock minus true time: subtracted from every timestamp. */
  clockOffsetMs?: number;
  /** d/m/y (true) or m/d/y (false) for slash dates; learnt from the file when absent. */
  dayFirst?: boolean;
  /** Also count error lines (and their users) per time bucket (the incident timeline). */
  bucketing?: Bucketing;
  signal?: AbortSignal;
}

export interface FirstError {
  /** True UTC, ms. */
  ms: number;
  line: string;
}

export interface PlainTally {
  errorLines: number;
  licenseLines: number;
  undated: number;
  bytes: number;
  users: [string, number][];
  first?: FirstError;
  lastMs?: number;
  buckets?: PlainBuckets;
}

/** Totals for one source; merge() adds several files of a server together. */
export class ErrorTally {
  errorLines = 0;
  licenseLines = 0;
  /** Error lines whose time could not be told (no timestamp before them): not counted. */
  undated = 0;
  bytes = 0;
  /** Normalised user -> error lines naming them. */
  readonly users = new Map<string, number>();
  first: FirstError | undefined;
  lastMs: number | undefined;
  /** Error lines and their users per time bucket, when asked for. */
  readonly buckets: BucketCounts | undefined;

  constructor(bucketing?: Bucketing) {
    this.buckets = bucketing ? new BucketCounts(bucketing) : undefined;
  }

  addLine(ms: number, line: string, user: string | undefined): void {
    this.errorLines++;
    this.buckets?.add(ms, user ? [user] : []);
    if (mentionsLicense(line)) this.licenseLines++;
    if (user) this.users.set(user, (this.users.get(user) ?? 0) + 1);
    if (!this.first || ms < this.first.ms) this.first = { ms, line: line.length > 300 ? `${line.slice(0, 297)}...` : line };
    if (this.lastMs === undefined || ms > this.lastMs) this.lastMs = ms;
  }

  /** A structured-clone-friendly copy (for worker threads). */
  toPlain(): PlainTally {
    return { errorLines: this.errorLines, licenseLines: this.licenseLines, undated: this.undated, bytes: this.bytes, users: [...this.users], first: this.first, lastMs: this.lastMs, buckets: this.buckets?.toPlain() };
  }

  static fromPlain(p: PlainTally): ErrorTally {
    const t = new ErrorTally(p.buckets?.bucketing);
    if (p.buckets) t.buckets!.merge(BucketCounts.fromPlain(p.buckets));
    t.errorLines = p.errorLines;
    t.licenseLines = p.licenseLines;
    t.undated = p.undated;
    t.bytes = p.bytes;
    for (const [u, n] of p.users) t.users.set(u, n);
    t.first = p.first;
    t.lastMs = p.lastMs;
    return t;
  }

  merge(o: ErrorTally): void {
    this.errorLines += o.errorLines;
    this.licenseLines += o.licenseLines;
    this.undated += o.undated;
    this.bytes += o.bytes;
    for (const [u, n] of o.users) this.users.set(u, (this.users.get(u) ?? 0) + n);
    if (o.first && (!this.first || o.first.ms < this.first.ms)) this.first = o.first;
    if (o.lastMs !== undefined && (this.lastMs === undefined || o.lastMs > this.lastMs)) this.lastMs = o.lastMs;
    if (o.buckets) this.buckets?.merge(o.buckets);
  }
}

const NL = 10;
const CR = 13;
/** How far back a continuation line (a stack frame naming an Exception) looks for its record's time. */
const LOOKBACK_LINES = 200;

/**
 * Scan one Tracer log stream. A line containing an error token is an error line; a line without a
 * timestamp of its own (a stack frame, a wrapped message) takes the time of the record it belongs to.
 */
export async function scanTracerErrors(source: AsyncIterable<Buffer | Uint8Array | string>, opts: ErrorScanOptions = {}, tally = new ErrorTally(opts.bucketing)): Promise<ErrorTally> {
  const tokens = (opts.errorTokens ?? DEFAULT_ERROR_TOKENS).filter((t) => t.length > 0).map((t) => Buffer.from(t, 'utf8'));
  const userPatterns = opts.userPatterns ?? compileUserPatterns(DEFAULT_USER_PATTERNS);
  const fromMs = opts.fromMs ?? -Infinity;
  const toMs = opts.toMs ?? Infinity;
  const clock = opts.clockOffsetMs ?? 0;
  const detector = new TimestampDetector({ utcOffsetMinutes: opts.utcOffsetMinutes ?? 0, dayFirst: opts.dayFirst });
  /** Time of the last record header seen before the current region (for continuation lines). */
  let carriedMs: number | undefined;
  let carry: Buffer | undefined;

  const offsetMs = (opts.utcOffsetMinutes ?? 0) * 60_000;
  const lineTime = (region: Buffer, lineStart: number, text: string): number | undefined => {
    const fast = fastLocalIso(region, lineStart);
    if (fast !== undefined) return fast - offsetMs;
    const own = detector.detect(text);
    if (own) return own.ms;
    // A continuation: walk back to the record header.
    let end = lineStart - 1;
    for (let i = 0; i < LOOKBACK_LINES && end > 0; i++) {
      const start = region.lastIndexOf(NL, end - 1) + 1;
      const hit = detector.detect(region.toString('utf8', start, Math.min(end, start + 64)));
      if (hit) return hit.ms;
      end = start - 1;
    }
    return end <= 0 ? carriedMs : undefined;
  };

  const processLine = (region: Buffer, lineStart: number, lineEnd: number): void => {
    const end = lineEnd > lineStart && region[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    const text = region.toString('utf8', lineStart, end);
    const stamped = lineTime(region, lineStart, text);
    if (stamped === undefined) {
      tally.undated++;
      return;
    }
    const ms = stamped - clock;
    if (ms < fromMs || ms > toMs) return;
    tally.addLine(ms, text, extractUser(text, userPatterns));
  };

  /** Scan complete lines region[0..length). */
  const scanRegion = (region: Buffer): void => {
    const next = tokens.map((t) => region.indexOf(t));
    for (;;) {
      let p = -1;
      for (const n of next) if (n !== -1 && (p === -1 || n < p)) p = n;
      if (p === -1) break;
      const lineStart = region.lastIndexOf(NL, p) + 1;
      let lineEnd = region.indexOf(NL, p);
      if (lineEnd === -1) lineEnd = region.length;
      processLine(region, lineStart, lineEnd);
      for (let i = 0; i < tokens.length; i++) if (next[i] !== -1 && next[i] < lineEnd) next[i] = region.indexOf(tokens[i], lineEnd);
    }
    // Remember the last record header of this region for continuation lines at the top of the next.
    let end = region.length - 1;
    for (let i = 0; i < LOOKBACK_LINES && end > 0; i++) {
      const start = region.lastIndexOf(NL, end - 1) + 1;
      const hit = detector.detect(region.toString('utf8', start, Math.min(end, start + 64)));
      if (hit) {
        carriedMs = hit.ms;
        break;
      }
      end = start - 1;
    }
  };

  for await (const raw of source) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    tally.bytes += chunk.length;
    const lastNl = chunk.lastIndexOf(NL);
    if (lastNl === -1) {
      carry = carry ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
      if (carry.length > 8 * 1024 * 1024) carry = carry.subarray(carry.length - 1024 * 1024); // a line this long is not a log line
      continue;
    }
    if (carry) {
      // The line split across chunks: join just that line and scan it alone.
      const firstNl = chunk.indexOf(NL);
      scanRegion(Buffer.concat([carry, chunk.subarray(0, firstNl + 1)]));
      if (lastNl > firstNl) scanRegion(chunk.subarray(firstNl + 1, lastNl + 1));
    } else {
      scanRegion(chunk.subarray(0, lastNl + 1));
    }
    carry = lastNl + 1 < chunk.length ? Buffer.from(chunk.subarray(lastNl + 1)) : undefined;
  }
  if (carry) scanRegion(carry);
  return tally;
}

const D0 = 48;
const isDigit = (b: number) => b >= D0 && b <= D0 + 9;
const num = (b: Buffer, i: number, n: number): number => {
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 10 + (b[i + k] - D0);
  return v;
};

/**
 * The Tracer's own layout, "YYYY-MM-DD HH:MM:SS[.,]fff" with no zone, parsed straight from the bytes
 * (the general detector's regular expressions cost more than the rest of a line's handling). Local
 * time as UTC ms; undefined for anything else, which the detector then handles.
 */
export function fastLocalIso(b: Buffer, i: number): number | undefined {
  if (i + 19 > b.length) return undefined;
  if (b[i + 4] !== 45 || b[i + 7] !== 45 || (b[i + 10] !== 32 && b[i + 10] !== 84) || b[i + 13] !== 58 || b[i + 16] !== 58) return undefined;
  for (const k of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]) if (!isDigit(b[i + k])) return undefined;
  let ms = 0;
  let j = i + 19;
  if (j < b.length && (b[j] === 46 || b[j] === 44)) {
    let digits = 0;
    j++;
    while (j < b.length && isDigit(b[j])) {
      if (digits < 3) ms = ms * 10 + (b[j] - D0);
      digits++;
      j++;
    }
    if (digits === 0) return undefined;
    for (let d = digits; d < 3; d++) ms *= 10;
  }
  // A zone after the time (Z, +02:00) is the detector's business.
  if (j < b.length && (b[j] === 90 || b[j] === 43 || b[j] === 45 || (b[j] === 32 && (b[j + 1] === 43 || b[j + 1] === 45) && isDigit(b[j + 2] ?? 0)))) return undefined;
  const y = num(b, i, 4);
  const mo = num(b, i + 5, 2);
  const d = num(b, i + 8, 2);
  const h = num(b, i + 11, 2);
  const mi = num(b, i + 14, 2);
  const s = num(b, i + 17, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}
