// Performance findings from perfmon samples, streaming: each threshold is watched on every counter
// column it matches, one row at a time, with a few numbers of state per matched column (never the
// series), so memory stays flat whatever the file's length. docs/perf-findings.md says how spans,
// gaps and growth are decided.
import type { Line } from '../logs/lines.js';
import { readPdhSamples, type PdhCounter, type PdhSample, type PdhSamplesInfo } from '../logs/perfmon.js';
import type { TimeWindow } from '../logs/window.js';
import type { PerfFinding, PerfThreshold } from './timeline-model.js';
import { counterMatches } from './perf-thresholds.js';

/** A gap longer than this many sample intervals breaks every span (the data in between is unknown). */
export const GAP_INTERVALS = 3;
/** Inside a span, samples may miss the condition for up to this share of sustainMs (a dip of noise)... */
export const LEVEL_GRACE = 0.2;
/** ...as long as at least this share of the span's samples meet it, and the span's mean does. */
export const LEVEL_MIN_SHARE = 0.5;
/** Findings kept per analyzer (a hostile file alternating around a limit cannot grow memory). */
export const MAX_FINDINGS = 10_000;
/** Growth is judged on bucket means: this many buckets per sustainMs. */
export const GROWTH_BUCKETS = 6;
/** No single bucket may make more than this share of the rise: a step that stays up is no leak. */
export const GROWTH_MAX_STEP_SHARE = 1 / 3;
/** A rising series may give back at most this share of the rise it has made (bucket means). */
export const GROWTH_GIVE_BACK = 0.25;

export interface PerfAnalyzerStats {
  rows: number;
  /** Rows not after the previous one (time went back or stood still): they break every span. */
  outOfOrder: number;
  /** Gaps longer than GAP_INTERVALS sample intervals: they break every span. */
  gaps: number;
  /** Findings left out over MAX_FINDINGS. */
  droppedFindings: number;
  firstMs?: number;
  lastMs?: number;
  /** The sample interval the gaps are judged by (the smallest seen). */
  intervalMs?: number;
}

interface LevelTrack {
  kind: 'level';
  t: PerfThreshold;
  column: number;
  counter: PdhCounter;
  /** How long samples may miss the condition inside a span (sustainMs x LEVEL_GRACE). */
  graceMs: number;
  startMs?: number;
  /** The last sample that met the condition. */
  lastMs?: number;
  worst?: number;
  /** Samples meeting the condition, and all samples, from the start to lastMs. */
  holds: number;
  total: number;
  /** Samples missing it since lastMs, and their sum. */
  misses: number;
  missSum: number;
  /** Sum of the samples from the start to lastMs (the span's mean must meet the condition too). */
  sum: number;
}

interface GrowthTrack {
  kind: 'growth';
  t: PerfThreshold;
  column: number;
  counter: PdhCounter;
  bucketMs: number;
  /** The bucket being filled. */
  bucket?: { startMs: number; lastMs: number; sum: number; n: number };
  /** The rising run of complete buckets: its first bucket's mean and start, its highest mean, its last sample. */
  run?: { startMs: number; base: number; peak: number; lastMs: number; buckets: number; maxStep: number };
}

type Track = LevelTrack | GrowthTrack;

/**
 * Watches the thresholds over one perfmon file's samples. Rows must come in time order (perfmon
 * writes them so); a row that is not later than the previous one, a null value and a gap longer than
 * GAP_INTERVALS sample intervals end a span rather than being bridged.
 */
export class PerfAnalyzer {
  readonly stats: PerfAnalyzerStats = { rows: 0, outOfOrder: 0, gaps: 0, droppedFindings: 0 };
  private readonly tracks: Track[] = [];
  private readonly findings: PerfFinding[] = [];
  /** Index of the last finding per track (for merging adjacent spans). */
  private readonly lastFinding = new Map<Track, number>();
  private prevMs?: number;
  private finished = false;

  constructor(
    readonly server: string,
    readonly counters: readonly PdhCounter[],
    thresholds: readonly PerfThreshold[],
  ) {
    for (const t of thresholds) {
      counters.forEach((counter, column) => {
        if (!counterMatches(t.counter, counter)) return;
        if (t.test === 'growth') this.tracks.push({ kind: 'growth', t, column, counter, bucketMs: Math.max(1, Math.floor(t.sustainMs / GROWTH_BUCKETS)) });
        else this.tracks.push({ kind: 'level', t, column, counter, graceMs: t.sustainMs * LEVEL_GRACE, holds: 0, total: 0, misses: 0, missSum: 0, sum: 0 });
      });
    }
  }

  /** How many (threshold, counter) pairs are watched: 0 means the file has none of the thresholds' counters. */
  get watched(): number {
    return this.tracks.length;
  }

  /** The thresholds that matched at least one counter. */
  matchedThresholds(): string[] {
    return [...new Set(this.tracks.map((t) => t.t.id))];
  }

  add(sample: PdhSample): void {
    if (this.finished) throw new Error('PerfAnalyzer: add() after finish()');
    const ms = sample.ms;
    if (!Number.isFinite(ms)) return;
    this.stats.rows++;
    if (this.prevMs !== undefined) {
      const delta = ms - this.prevMs;
      if (delta <= 0) {
        this.stats.outOfOrder++;
        this.breakAll();
      } else {
        const interval = this.stats.intervalMs;
        if (interval !== undefined && delta > GAP_INTERVALS * interval) {
          this.stats.gaps++;
          this.breakAll();
        }
        this.stats.intervalMs = interval === undefined ? delta : Math.min(interval, delta);
      }
    }
    this.prevMs = ms;
    if (this.stats.firstMs === undefined || ms < this.stats.firstMs) this.stats.firstMs = ms;
    if (this.stats.lastMs === undefined || ms > this.stats.lastMs) this.stats.lastMs = ms;
    for (const track of this.tracks) {
      const v = sample.values[track.column];
      if (v === null || v === undefined || !Number.isFinite(v)) {
        this.breakTrack(track);
        continue;
      }
      if (track.kind === 'level') this.addLevel(track, ms, v);
      else this.addGrowth(track, ms, v);
    }
  }

  /** The findings, ordered by start time then threshold and counter. Ends the analysis. */
  finish(): PerfFinding[] {
    if (!this.finished) {
      this.breakAll();
      this.finished = true;
    }
    return [...this.findings].sort((a, b) => a.from.localeCompare(b.from) || a.id.localeCompare(b.id) || a.counter.localeCompare(b.counter));
  }

  private breakAll(): void {
    for (const track of this.tracks) this.breakTrack(track);
  }

  private breakTrack(track: Track): void {
    if (track.kind === 'level') {
      this.closeLevel(track);
      return;
    }
    this.closeBucket(track);
    this.closeRun(track);
  }

  /**
   * A span starts at a sample meeting the condition and ends at the last one meeting it before the
   * samples miss it for longer than graceMs (or a null, a gap, a step back in time). It is a finding
   * when it lasts sustainMs, its mean meets the condition and at least half its samples do: noise
   * around a busy CPU's 92% does not split the span, a value swinging across the limit is no finding.
   */
  private addLevel(track: LevelTrack, ms: number, v: number): void {
    const { test, limit } = track.t;
    const holds = test === 'above' ? v > limit : v < limit;
    if (!holds) {
      if (track.startMs === undefined) return;
      if (ms - track.lastMs! > track.graceMs) this.closeLevel(track);
      else {
        track.misses++;
        track.missSum += v;
      }
      return;
    }
    if (track.startMs === undefined) {
      track.startMs = ms;
      track.worst = v;
      track.holds = track.total = 1;
      track.sum = v;
    } else {
      track.worst = test === 'above' ? Math.max(track.worst!, v) : Math.min(track.worst!, v);
      track.holds++;
      track.total += track.misses + 1;
      track.sum += track.missSum + v;
    }
    track.misses = 0;
    track.missSum = 0;
    track.lastMs = ms;
  }

  private closeLevel(track: LevelTrack): void {
    if (track.startMs !== undefined && track.lastMs! - track.startMs >= track.t.sustainMs && track.holds >= LEVEL_MIN_SHARE * track.total) {
      const mean = track.sum / track.total;
      if (track.t.test === 'above' ? mean > track.t.limit : mean < track.t.limit) this.emit(track, track.startMs, track.lastMs!, track.worst!);
    }
    track.startMs = track.lastMs = track.worst = undefined;
    track.holds = track.total = track.misses = track.missSum = track.sum = 0;
  }

  private addGrowth(track: GrowthTrack, ms: number, v: number): void {
    if (track.bucket && ms - track.bucket.startMs >= track.bucketMs) this.closeBucket(track);
    if (!track.bucket) track.bucket = { startMs: ms, lastMs: ms, sum: 0, n: 0 };
    track.bucket.sum += v;
    track.bucket.n++;
    track.bucket.lastMs = ms;
  }

  /** A complete bucket's mean extends the rising run, or ends it (and starts the next one from it). */
  private closeBucket(track: GrowthTrack): void {
    const b = track.bucket;
    track.bucket = undefined;
    if (!b || b.n === 0) return;
    const mean = b.sum / b.n;
    const run = track.run;
    if (run) {
      const rise = run.peak - run.base;
      // Mostly increasing: a bucket may dip, but never give back more than a share of the rise made, nor fall under the start.
      if (mean >= run.base && mean >= run.peak - GROWTH_GIVE_BACK * rise) {
        if (mean > run.peak) {
          run.maxStep = Math.max(run.maxStep, mean - run.peak);
          run.peak = mean;
        }
        run.lastMs = b.lastMs;
        run.buckets++;
        return;
      }
      this.closeRun(track);
    }
    track.run = { startMs: b.startMs, base: mean, peak: mean, lastMs: b.lastMs, buckets: 1, maxStep: 0 };
  }

  private closeRun(track: GrowthTrack): void {
    const run = track.run;
    track.run = undefined;
    if (!run || run.buckets < 2) return;
    const rise = run.peak - run.base;
    if (rise >= track.t.limit && run.lastMs - run.startMs >= track.t.sustainMs && run.maxStep <= GROWTH_MAX_STEP_SHARE * rise) this.emit(track, run.startMs, run.lastMs, rise);
  }

  private emit(track: Track, fromMs: number, toMs: number, value: number): void {
    const t = track.t;
    // A span that starts within a gap allowance of the previous one on the same counter continues it
    // (an empty cell between two busy periods). Rises are never merged: what ends one is a drop (a restart).
    const prevIndex = track.kind === 'level' ? this.lastFinding.get(track) : undefined;
    const allowance = GAP_INTERVALS * (this.stats.intervalMs ?? 0);
    if (prevIndex !== undefined) {
      const prev = this.findings[prevIndex]!;
      if (fromMs - Date.parse(prev.to) <= allowance && fromMs >= Date.parse(prev.from)) {
        prev.to = new Date(Math.max(toMs, Date.parse(prev.to))).toISOString();
        prev.value = t.test === 'below' ? Math.min(prev.value, value) : Math.max(prev.value, value);
        return;
      }
    }
    if (this.findings.length >= MAX_FINDINGS) {
      this.stats.droppedFindings++;
      return;
    }
    this.lastFinding.set(track, this.findings.length);
    this.findings.push({
      id: t.id,
      severity: t.severity,
      server: this.server,
      counter: track.counter.path,
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      value,
      limit: t.limit,
      explanation: t.explanation,
    });
  }
}

export interface PerfFileAnalysis {
  findings: PerfFinding[];
  info: PdhSamplesInfo;
  stats: PerfAnalyzerStats;
  /** (threshold, counter) pairs watched; 0: none of the thresholds' counters is in the file. */
  watched: number;
  /** Threshold ids that matched a counter of the file. */
  matched: string[];
}

/**
 * One PDH-CSV file analysed (streaming). `shiftMs` is subtracted from every sample time first (a
 * server's clock correction); the window applies to the corrected times. Throws NotPdhCsvError when
 * the file is not a PDH-CSV.
 */
export async function analysePerfFile(
  lines: AsyncIterable<Line>,
  server: string,
  thresholds: readonly PerfThreshold[],
  window?: TimeWindow,
  opts: { shiftMs?: number; signal?: AbortSignal } = {},
): Promise<PerfFileAnalysis> {
  const info: PdhSamplesInfo = { counters: [], skippedCounters: 0, rows: 0, badRows: 0, headerCut: false };
  const shift = opts.shiftMs ?? 0;
  const readWindow = window && shift ? { from: new Date(window.from.getTime() + shift), to: new Date(window.to.getTime() + shift) } : window;
  let analyzer: PerfAnalyzer | undefined;
  for await (const sample of readPdhSamples(lines, { window: readWindow }, info)) {
    opts.signal?.throwIfAborted();
    analyzer ??= new PerfAnalyzer(server, info.counters, thresholds);
    analyzer.add(shift ? { ms: sample.ms - shift, values: sample.values } : sample);
  }
  analyzer ??= new PerfAnalyzer(server, info.counters, thresholds);
  return { findings: analyzer.finish(), info, stats: analyzer.stats, watched: analyzer.watched, matched: analyzer.matchedThresholds() };
}

/** A finding in one line: "APP01 \\APP01\Processor(_Total)\% Processor Time > 90 from .. to .. (worst 97.2): why". */
export function describeFinding(f: PerfFinding, t?: Pick<PerfThreshold, 'test'>): string {
  const cond = t?.test === 'growth' ? `rose by ${f.value} (limit ${f.limit})` : t?.test === 'below' ? `< ${f.limit} (lowest ${f.value})` : t?.test === 'above' ? `> ${f.limit} (highest ${f.value})` : `${f.value} (limit ${f.limit})`;
  return `${f.severity}: ${f.counter} ${cond}, ${f.from.slice(0, 19).replace('T', ' ')} .. ${f.to.slice(0, 19).replace('T', ' ')} UTC [${f.id}]`;
}
