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
  for await (const line of lines) {
    stats.linesRead++;
    stats.bytesRead += line.bytes;
    const hit = opts.detector.detect(line.text);
    if (hit) {
      current = hit.ms;
      stats.timestamped++;
      stats.formats[hit.format] = (stats.formats[hit.format] ?? 0) + 1;
      if (opts.stopAfterMs !== undefined && hit.ms > to + opts.stopAfterMs) {
        stats.stoppedEarly = true;
        return;
      }
    }
    if (current === undefined || current < from || current > to) continue;
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
