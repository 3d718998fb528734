// Cutting a text log (ClickSoftware Tracer, Integration Manager...) to the incident window by the
// timestamps inside its lines. Pure over an async line source so that incident prefill can reuse
// the detection. A line without a timestamp (a stack frame, a wrapped message) belongs to the line
// above it, so a stack trace stays with its error.
import type { Line } from './lines.js';
import type { TimestampDetector, TimestampFormat } from './timestamps.js';
import type { TimeWindow } from './window.js';

export interface WindowLine {
  text: string;
  /** The timestamp the line carries or inherits (ms, UTC). */
  ms: number;
  /** Whether the timestamp is the line's own (false: inherited from a line above). */
  own: boolean;
}

export interface TracerStats {
  linesRead: number;
  bytesRead: number;
  /** Lines that carried a timestamp of their own. */
  timestamped: number;
  formats: Partial<Record<TimestampFormat, number>>;
  linesInWindow: number;
  /** Output bytes (UTF-8 plus a newline each) of the lines in the window, before any cap. */
  bytesInWindow: number;
  /** Output bytes left out by the cap (the oldest lines of the window). */
  bytesOmitted: number;
  firstMs?: number;
  lastMs?: number;
  /** Oldest and newest own timestamps read, inside the window or not (what a file holds, for an empty window). */
  oldestSeenMs?: number;
  newestSeenMs?: number;
  /** Reading stopped early: lines were already past the end of the window. */
  stoppedEarly: boolean;
}

export function newTracerStats(): TracerStats {
  return { linesRead: 0, bytesRead: 0, timestamped: 0, formats: {}, linesInWindow: 0, bytesInWindow: 0, bytesOmitted: 0, stoppedEarly: false };
}

export interface WindowLineOptions {
  window: TimeWindow;
  detector: TimestampDetector;
  stats?: TracerStats;
  /**
   * Stop reading once a line is this far past the end of the window (threads write slightly out of
   * order, so a little slack). Undefined: read to the end.
   */
  stopAfterMs?: number;
}

/** The lines whose own or inherited timestamp is inside the window, in file order. */
export async function* windowLines(lines: AsyncIterable<Line>, opts: WindowLineOptions): AsyncGenerator<WindowLine> {
  const stats = opts.stats ?? newTracerStats();
  const from = opts.window.from.getTime();
  const to = opts.window.to.getTime();
  let current: number | undefined;
  // Fast path: a line that starts with the same date-and-minute text as the last detected one is in
  // that minute; when the whole minute is inside the window the full parse is not needed.
  let minutePrefix = '';
  let minuteFormat: TimestampFormat | undefined;
  for await (const line of lines) {
    stats.linesRead++;
    stats.bytesRead += line.bytes;
    if (minutePrefix && line.text.startsWith(minutePrefix)) {
      stats.timestamped++;
      stats.formats[minuteFormat!] = (stats.formats[minuteFormat!] ?? 0) + 1;
      stats.linesInWindow++;
      stats.bytesInWindow += Buffer.byteLength(line.text) + 1;
      if (current! < stats.firstMs!) stats.firstMs = current;
      if (current! > stats.lastMs!) stats.lastMs = current;
      yield { text: line.text, ms: current!, own: true };
      continue;
    }
    minutePrefix = '';
    const hit = opts.detector.detect(line.text);
    if (hit) {
      current = hit.ms;
      stats.timestamped++;
      if (stats.oldestSeenMs === undefined || hit.ms < stats.oldestSeenMs) stats.oldestSeenMs = hit.ms;
      if (stats.newestSeenMs === undefined || hit.ms > stats.newestSeenMs) stats.newestSeenMs = hit.ms;
      stats.formats[hit.format] = (stats.formats[hit.format] ?? 0) + 1;
      if (opts.stopAfterMs !== undefined && hit.ms > to + opts.stopAfterMs) {
        stats.stoppedEarly = true;
        return;
      }
    }
    if (current === undefined || current < from || current > to) continue;
    if (hit && (hit.format === 'iso' || hit.format === 'ymd-slash')) {
      // "2025-06-03 10:12" / "2025/06/03 10:12": the minute, if all of it is in the window.
      const minuteStart = hit.ms - (hit.ms % 60_000);
      const prefix = /^\d{4}[-/]\d{2}[-/]\d{2}[ T]\d{2}:\d{2}:/.exec(line.text)?.[0];
      if (prefix && minuteStart >= from && minuteStart + 59_999 <= to) {
        // Lines of this minute then carry this line's time (minute precision) instead of their own.
        minutePrefix = prefix;
        minuteFormat = hit.format;
      }
    }
    stats.linesInWindow++;
    stats.bytesInWindow += Buffer.byteLength(line.text) + 1;
    if (stats.firstMs === undefined || current < stats.firstMs) stats.firstMs = current;
    if (stats.lastMs === undefined || current > stats.lastMs) stats.lastMs = current;
    yield { text: line.text, ms: current, own: hit !== undefined };
  }
}

export function truncationMarker(omittedBytes: number): string {
  return `[clk-support: truncated, ${omittedBytes} earlier bytes in the window omitted]`;
}

/**
 * The most recent lines whose total (with newlines) fits in maxBytes, counted in bytes rather than
 * lines so that memory is bounded whatever the line lengths.
 */
export class TailRing {
  private items: string[] = [];
  private sizes: number[] = [];
  private head = 0;
  private total = 0;
  omittedBytes = 0;

  constructor(readonly maxBytes: number) {}

  push(text: string): void {
    const size = Buffer.byteLength(text) + 1;
    this.items.push(text);
    this.sizes.push(size);
    this.total += size;
    while (this.total > this.maxBytes && this.head < this.items.length) {
      this.total -= this.sizes[this.head];
      this.omittedBytes += this.sizes[this.head];
      this.items[this.head] = '';
      this.head++;
    }
    // Compact now and then so dropped lines are freed.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  get bytes(): number {
    return this.total;
  }

  *drain(): Generator<string> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i];
    this.items = [];
    this.sizes = [];
    this.head = 0;
    this.total = 0;
  }
}

export interface CutOptions extends WindowLineOptions {
  /** Per-file cap on output bytes; the tail of the window is kept. */
  maxBytes?: number;
  /**
   * The whole source is known to be no larger than maxBytes (its size was checked and the read is
   * bounded to it): lines stream straight through instead of being held for a possible cut.
   */
  fitsCap?: boolean;
}

/**
 * The output lines of a text log cut to the window: straight through when it cannot exceed the cap,
 * otherwise the tail that fits, preceded by a visible truncation marker when anything was left out.
 */
export async function* cutToWindow(lines: AsyncIterable<Line>, opts: CutOptions): AsyncGenerator<string> {
  const stats = opts.stats ?? newTracerStats();
  const inner = windowLines(lines, { ...opts, stats });
  if (opts.maxBytes === undefined || opts.fitsCap) {
    for await (const l of inner) yield l.text;
    return;
  }
  const ring = new TailRing(opts.maxBytes);
  for await (const l of inner) ring.push(l.text);
  stats.bytesOmitted = ring.omittedBytes;
  if (ring.omittedBytes > 0) yield truncationMarker(ring.omittedBytes);
  yield* ring.drain();
}

/**
 * Day/month order of a file's d/m/y dates from a sample of its first lines: an unambiguous date
 * decides (13/06 is day-first); failing that, a comma before the milliseconds (a European locale's
 * decimal separator, "03/06/2025 06:00:00,000") means day-first. Undefined: nothing to go on.
 */
export function sniffDayFirst(sample: readonly string[]): boolean | undefined {
  const re = /^[\s[(<"]{0,3}(\d{1,2})\/(\d{1,2})\/\d{4}[ T]\d{1,2}:\d{2}:\d{2}([.,])?/;
  let comma = 0;
  let dot = 0;
  for (const line of sample) {
    const m = re.exec(line);
    if (!m) continue;
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (a > 12 && b <= 12) return true;
    if (b > 12 && a <= 12) return false;
    if (m[3] === ',') comma++;
    else if (m[3] === '.') dot++;
  }
  if (comma > dot) return true;
  return undefined;
}

/**
 * The same cut as cutToWindow with a cap, in two passes over the source instead of a ring: the
 * first pass only counts the window's bytes, the second skips the oldest ones and streams the rest.
 * Memory stays flat whatever the cap; the source is read twice (both reads bounded to the same size).
 */
export async function* cutToWindowTwoPass(
  open: () => Promise<AsyncIterable<Line>>,
  opts: WindowLineOptions & { maxBytes: number; makeDetector: () => TimestampDetector },
): AsyncGenerator<string> {
  const stats = opts.stats ?? newTracerStats();
  const counting = newTracerStats();
  for await (const _ of windowLines(await open(), { ...opts, detector: opts.makeDetector(), stats: counting })) {
    // counting only
  }
  const excess = Math.max(0, counting.bytesInWindow - opts.maxBytes);
  let skipped = 0;
  let marked = false;
  for await (const l of windowLines(await open(), { ...opts, detector: opts.makeDetector(), stats })) {
    const size = Buffer.byteLength(l.text) + 1;
    if (skipped < excess) {
      skipped += size;
      continue;
    }
    if (!marked && skipped > 0) {
      marked = true;
      stats.bytesOmitted = skipped;
      yield truncationMarker(skipped);
    }
    yield l.text;
  }
  if (!marked && skipped > 0) {
    // Not even the last line fits the cap: say so rather than give an empty file.
    stats.bytesOmitted = skipped;
    yield truncationMarker(skipped);
  }
}
