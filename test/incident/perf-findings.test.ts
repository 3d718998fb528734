// The perf analyzer on SYNTHETIC PDH-CSV files (written by pdh-synthetic.ts, read back from disk as
// check and prefill read them): every built-in threshold crossed for longer than its sustain time is a
// finding with the crossing's exact span and worst value; just under the limit, or crossing for less
// than the sustain time, is none. Gaps, empty cells, time going back, noise, steps and leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_PERF_THRESHOLDS } from '../../src/incident/perf-thresholds.js';
import { PerfAnalyzer } from '../../src/incident/perf-findings.js';
import { parsePdhCounterPath } from '../../src/logs/perfmon.js';
import type { PerfThreshold } from '../../src/incident/timeline-model.js';
import { analyseFile, concreteCounter, INTERVAL_MS, noise, START, times, writePdhCsv } from './pdh-synthetic.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clk-perf-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

let n = 0;
/** Write one counter's series as a synthetic PDH-CSV and analyse it with the given thresholds. */
async function analyse(counter: string, values: (number | null)[], thresholds: readonly PerfThreshold[], opts: { at?: number[]; biasMinutes?: number } = {}) {
  const file = join(dir, `log-${n++}.csv`);
  await writePdhCsv(file, { machine: 'SRV01', counters: [counter], times: opts.at ?? times(values.length), columns: [values], biasMinutes: opts.biasMinutes });
  return analyseFile(file, thresholds);
}

const MIN = 60_000;
const samples = (ms: number) => Math.round(ms / INTERVAL_MS);
const scaleOf = (t: PerfThreshold) => (t.limit === 0 ? 20 : Math.abs(t.limit));
const iso = (ms: number) => new Date(ms).toISOString();

/** Values well on the safe side, values crossing the limit (never on it), values just on the safe side. */
function levels(t: PerfThreshold, seed: number) {
  const r = noise(seed);
  const s = scaleOf(t);
  const above = t.test === 'above';
  return {
    safe: () => (above ? (t.limit === 0 ? 0 : t.limit * 0.5 + 0.01 * s * r()) : t.limit * 1.5 + 0.01 * s * r()),
    crossing: () => (above ? t.limit + (0.05 + 0.04 * Math.abs(r())) * s : t.limit - (0.05 + 0.04 * Math.abs(r())) * s),
    justUnder: () => (above ? t.limit - 0.02 * s * Math.abs(r()) : t.limit + 0.02 * s * Math.abs(r())),
  };
}

const levelThresholds = BUILTIN_PERF_THRESHOLDS.filter((t) => t.test !== 'growth');
const growthThresholds = BUILTIN_PERF_THRESHOLDS.filter((t) => t.test === 'growth');

describe('every above/below threshold', () => {
  it.each(levelThresholds.map((t) => [t.id, t] as const))('%s: crossed for longer than sustainMs is one finding with the exact span and worst value', async (_id, t) => {
    const lv = levels(t, n + 7);
    const before = samples(20 * MIN);
    const crossingCount = samples(Math.max(t.sustainMs, 5 * MIN) + 3 * MIN);
    const values = [...Array.from({ length: before }, lv.safe), ...Array.from({ length: crossingCount }, lv.crossing), ...Array.from({ length: before }, lv.safe)];
    const counter = concreteCounter(t.counter);
    const a = await analyse(counter, values, [t]);
    const crossing = values.slice(before, before + crossingCount) as number[];
    // The test's own reading of what it wrote: the span is the first to the last crossing sample.
    const worst = t.test === 'above' ? Math.max(...crossing) : Math.min(...crossing);
    expect(a.findings).toHaveLength(1);
    const f = a.findings[0]!;
    expect(f).toMatchObject({ id: t.id, severity: t.severity, server: 'SRV01', counter: `\\\\SRV01${counter}`, limit: t.limit, explanation: t.explanation });
    expect(f.from).toBe(iso(START + before * INTERVAL_MS));
    expect(f.to).toBe(iso(START + (before + crossingCount - 1) * INTERVAL_MS));
    expect(f.value).toBe(worst);
  });

  it.each(levelThresholds.map((t) => [t.id, t] as const))('%s: just under the limit (and on it) for an hour is no finding', async (_id, t) => {
    const lv = levels(t, n + 11);
    const values = Array.from({ length: samples(60 * MIN) }, (_, i) => (i % 7 === 0 ? t.limit : lv.justUnder()));
    const a = await analyse(concreteCounter(t.counter), values, [t]);
    expect(a.watched).toBe(1);
    expect(a.findings).toEqual([]);
  });

  it.each(levelThresholds.filter((t) => t.sustainMs >= 2 * MIN).map((t) => [t.id, t] as const))('%s: a spike a minute shorter than sustainMs is no finding', async (_id, t) => {
    const lv = levels(t, n + 13);
    const before = samples(20 * MIN);
    const spike = samples(t.sustainMs - MIN);
    const values = [...Array.from({ length: before }, lv.safe), ...Array.from({ length: spike }, lv.crossing), ...Array.from({ length: before }, lv.safe)];
    const a = await analyse(concreteCounter(t.counter), values, [t]);
    expect(a.findings).toEqual([]);
  });
});

const cpu = BUILTIN_PERF_THRESHOLDS.find((t) => t.id === 'cpu.saturated')!;
const CPU = '\\Processor(_Total)\\% Processor Time';

describe('spans: noise, gaps, empty cells, time going back', () => {
  it('a busy period with a few samples dipping under the limit is one finding, not several', async () => {
    const r = noise(3);
    // 92-98 % for 10 minutes, with single and double dips to 85 %.
    const values = [...Array(40).fill(20), ...Array.from({ length: 40 }, (_, i) => (i % 9 === 4 || i % 13 === 6 || i % 13 === 7 ? 85 : 95 + 3 * r())), ...Array(40).fill(20)];
    const a = await analyse(CPU, values, [cpu]);
    expect(a.findings).toHaveLength(1);
    expect(a.findings[0]!.from).toBe(iso(START + 40 * INTERVAL_MS));
  });

  it('a value swinging across the limit sample by sample, its mean under the limit, is no finding', async () => {
    const values = Array.from({ length: 120 }, (_, i) => (i % 2 ? 94 : 85));
    expect((await analyse(CPU, values, [cpu])).findings).toEqual([]);
  });

  it('a gap longer than 3 sample intervals breaks the span: two 4-minute halves are no finding', async () => {
    const at = [...times(16), ...times(16, START + 16 * INTERVAL_MS + 2 * MIN)];
    const a = await analyse(CPU, Array(32).fill(97), [cpu], { at });
    expect(a.stats.gaps).toBe(1);
    expect(a.findings).toEqual([]);
  });

  it('the same gap between two halves each longer than sustainMs gives two findings', async () => {
    const at = [...times(30), ...times(30, START + 30 * INTERVAL_MS + 10 * MIN)];
    const a = await analyse(CPU, Array(60).fill(97), [cpu], { at });
    expect(a.findings.map((f) => [f.from, f.to])).toEqual([
      [iso(START), iso(START + 29 * INTERVAL_MS)],
      [iso(START + 30 * INTERVAL_MS + 10 * MIN), iso(START + 59 * INTERVAL_MS + 10 * MIN)],
    ]);
  });

  it('an empty cell breaks the span: 4 minutes, empty, 4 minutes is no finding', async () => {
    const values = [...Array(16).fill(97), null, ...Array(16).fill(97)];
    expect((await analyse(CPU, values, [cpu])).findings).toEqual([]);
  });

  it('two findings either side of one empty cell touch, and are merged into one', async () => {
    const values = [...Array(30).fill(97), null, ...Array(30).fill(99)];
    const a = await analyse(CPU, values, [cpu]);
    expect(a.findings).toHaveLength(1);
    expect(a.findings[0]).toMatchObject({ from: iso(START), to: iso(START + 60 * INTERVAL_MS), value: 99 });
  });

  it('a row whose time goes back breaks the span and is counted', async () => {
    const at = [...times(16), START + 5 * INTERVAL_MS, ...times(16, START + 20 * INTERVAL_MS)];
    const a = await analyse(CPU, Array(33).fill(97), [cpu], { at });
    expect(a.stats.outOfOrder).toBe(1);
    expect(a.findings).toEqual([]);
  });

  it('times are UTC after the header\'s bias: (-120) local 12:00 is 10:00Z', async () => {
    const a = await analyse(CPU, Array(40).fill(97), [cpu], { biasMinutes: -120, at: times(40, Date.UTC(2025, 5, 3, 10)) });
    expect(a.findings[0]!.from).toBe('2025-06-03T10:00:00.000Z');
  });

  it('a threshold whose counter is absent watches nothing', async () => {
    const a = await analyse('\\Memory\\Available MBytes', Array(40).fill(5000), [cpu]);
    expect(a.watched).toBe(0);
    expect(a.findings).toEqual([]);
  });
});

describe('growth (leaks)', () => {
  it.each(growthThresholds.map((t) => [t.id, t] as const))('%s: a steady noisy rise of twice the limit over twice sustainMs is a finding', async (_id, t) => {
    const r = noise(21);
    const flat = samples(20 * MIN);
    const ramp = samples(2 * t.sustainMs);
    const base = t.limit * 2;
    const values = [
      ...Array.from({ length: flat }, () => base + 0.02 * t.limit * r()),
      ...Array.from({ length: ramp }, (_, i) => base + (2 * t.limit * i) / (ramp - 1) + 0.05 * t.limit * r()),
    ];
    const a = await analyse(concreteCounter(t.counter), values, [t]);
    expect(a.findings).toHaveLength(1);
    const f = a.findings[0]!;
    expect(f.id).toBe(t.id);
    expect(f.value).toBeGreaterThanOrEqual(t.limit);
    expect(f.value).toBeLessThanOrEqual(2.2 * t.limit);
    // The rise starts in the flat part's last bucket at the earliest and ends at the last sample.
    expect(Date.parse(f.from)).toBeGreaterThanOrEqual(START + flat * INTERVAL_MS - t.sustainMs / 6 - INTERVAL_MS);
    expect(f.to).toBe(iso(START + (flat + ramp - 1) * INTERVAL_MS));
  });

  it.each(growthThresholds.map((t) => [t.id, t] as const))('%s: a step that jumps by three times the limit and stays is not a leak', async (_id, t) => {
    const r = noise(5);
    const flat = samples(t.sustainMs * 2);
    const values = [...Array.from({ length: flat }, () => t.limit + 0.02 * t.limit * r()), ...Array.from({ length: flat }, () => 4 * t.limit + 0.02 * t.limit * r())];
    expect((await analyse(concreteCounter(t.counter), values, [t])).findings).toEqual([]);
  });

  it.each(growthThresholds.map((t) => [t.id, t] as const))('%s: a rise of 80%% of the limit is no finding', async (_id, t) => {
    const ramp = samples(2 * t.sustainMs);
    const values = Array.from({ length: ramp }, (_, i) => t.limit + (0.8 * t.limit * i) / (ramp - 1));
    expect((await analyse(concreteCounter(t.counter), values, [t])).findings).toEqual([]);
  });

  it('a leak, a restart, a leak again: two findings', async () => {
    const t = growthThresholds.find((x) => x.id === 'process.handle-growth')!;
    const ramp = samples(2 * t.sustainMs);
    const leak = Array.from({ length: ramp }, (_, i) => 800 + (3000 * i) / ramp);
    const a = await analyse('\\Process(W6Server)\\Handle Count', [...leak, ...leak], [t]);
    expect(a.findings).toHaveLength(2);
    expect(a.findings[1]!.from).toBe(iso(START + ramp * INTERVAL_MS));
  });
});

describe('the analyzer as a streaming API', () => {
  const counters = [CPU, '\\Process(_Total)\\Handle Count', '\\Process(Idle)\\Handle Count', '\\Process(w3wp#1)\\Handle Count'].map((c) => parsePdhCounterPath(`\\\\SRV01${c}`)!);

  it('watches per-process wildcards on real processes only, not _Total or Idle', () => {
    const a = new PerfAnalyzer('SRV01', counters, BUILTIN_PERF_THRESHOLDS);
    expect(a.matchedThresholds().sort()).toEqual(['cpu.busy', 'cpu.saturated', 'process.handle-growth']);
    // cpu.busy + cpu.saturated on one column, handle growth on w3wp#1 only.
    expect(a.watched).toBe(3);
  });

  it('rows added one by one give the same findings as the file; finish() ends it', () => {
    const a = new PerfAnalyzer('SRV01', counters, [cpu]);
    for (let i = 0; i < 40; i++) a.add({ ms: START + i * INTERVAL_MS, values: [97, 1, 1, 1] });
    const findings = a.finish();
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ from: iso(START), to: iso(START + 39 * INTERVAL_MS), value: 97, counter: '\\\\SRV01\\Processor(_Total)\\% Processor Time' });
    expect(() => a.add({ ms: START + 41 * INTERVAL_MS, values: [1, 1, 1, 1] })).toThrow(/after finish/);
  });

  it('a hostile row (NaN time, missing cells, Infinity) is skipped or breaks the span, never a crash', () => {
    const a = new PerfAnalyzer('SRV01', counters, BUILTIN_PERF_THRESHOLDS);
    a.add({ ms: Number.NaN, values: [1] });
    a.add({ ms: START, values: [] });
    a.add({ ms: START + INTERVAL_MS, values: [Number.POSITIVE_INFINITY, null, null, null] });
    expect(a.finish()).toEqual([]);
  });
});
