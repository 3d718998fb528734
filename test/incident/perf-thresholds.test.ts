// The thresholds as data: the doc's table is the data's, the farm schema knows the same ids, counter
// patterns match as documented (wildcards, aggregates left out of (*)), and the farm file's tuning
// applies (or is refused with the nearest id).
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from '../support/cli.js';
import {
  BUILTIN_PERF_THRESHOLDS,
  BUILTIN_PERF_THRESHOLD_IDS,
  counterMatches,
  effectiveThresholds,
  MAX_COUNTER_PATTERN,
  parseCounterPattern,
  PERF_FAMILIES,
  thresholdTable,
  wildcardMatch,
} from '../../src/incident/perf-thresholds.js';
import { PERF_THRESHOLD_IDS } from '../../src/farm/schema.js';
import { parsePdhCounterPath } from '../../src/logs/perfmon.js';
import { ConfigError } from '../../src/errors.js';

const counter = (path: string) => parsePdhCounterPath(path)!;

describe('the built-in thresholds', () => {
  it('docs/perf-findings.md holds the table generated from the data, unchanged', async () => {
    const doc = await readFile(join(REPO, 'docs', 'perf-findings.md'), 'utf8');
    const m = /<!-- thresholds:begin[^>]*-->\n([\s\S]*?)\n<!-- thresholds:end -->/.exec(doc);
    expect(m, 'the thresholds markers in docs/perf-findings.md').not.toBeNull();
    expect(m![1]).toBe(thresholdTable());
    // Every id appears once in the table.
    for (const id of BUILTIN_PERF_THRESHOLD_IDS) expect(m![1].split(`| \`${id}\` |`)).toHaveLength(2);
  });

  it('the farm schema lists exactly the built-in ids (it may not import them)', () => {
    expect([...PERF_THRESHOLD_IDS]).toEqual([...BUILTIN_PERF_THRESHOLD_IDS]);
  });

  it('cover what the issue asks for, with unique ids, sane limits and one-line explanations', () => {
    expect(new Set(BUILTIN_PERF_THRESHOLD_IDS).size).toBe(BUILTIN_PERF_THRESHOLDS.length);
    const has = (counterText: string, test: string, limit: number, severity?: string) =>
      BUILTIN_PERF_THRESHOLDS.some((t) => t.counter === counterText && t.test === test && t.limit === limit && (!severity || t.severity === severity));
    expect(has('\\Processor(_Total)\\% Processor Time', 'above', 80, 'warning')).toBe(true);
    expect(has('\\Processor(_Total)\\% Processor Time', 'above', 90, 'critical')).toBe(true);
    expect(has('\\Memory\\Available MBytes', 'below', 500, 'critical')).toBe(true);
    expect(has('\\Memory\\% Committed Bytes In Use', 'above', 90)).toBe(true);
    expect(has('\\*Disk(*)\\Avg. Disk sec/Read', 'above', 0.025)).toBe(true);
    expect(has('\\*Disk(*)\\Avg. Disk sec/Write', 'above', 0.025)).toBe(true);
    expect(has('\\Paging File(_Total)\\% Usage', 'above', 70)).toBe(true);
    for (const c of ['Handle Count', 'Thread Count', 'Private Bytes']) expect(BUILTIN_PERF_THRESHOLDS.some((t) => t.counter === `\\Process(*)\\${c}` && t.test === 'growth')).toBe(true);
    for (const t of BUILTIN_PERF_THRESHOLDS) {
      expect(Number.isFinite(t.limit)).toBe(true);
      expect(t.explanation.length).toBeLessThanOrEqual(300);
      expect(t.explanation).not.toMatch(/\n/);
      expect(parseCounterPattern(t.counter), t.counter).toBeDefined();
    }
    expect(PERF_FAMILIES).toEqual(['cpu', 'memory', 'disk', 'paging', 'process', 'dotnet', 'aspnet', 'sql']);
  });
});

describe('counter patterns', () => {
  it('match object, instance and counter apart, case-insensitive, with * and ?', () => {
    expect(counterMatches('\\Processor(_Total)\\% Processor Time', counter('\\\\APP01\\processor(_total)\\% processor time'))).toBe(true);
    expect(counterMatches('\\*Disk(*)\\Avg. Disk sec/Read', counter('\\\\APP01\\PhysicalDisk(0 C:)\\Avg. Disk sec/Read'))).toBe(true);
    expect(counterMatches('\\*Disk(*)\\Avg. Disk sec/Read', counter('\\\\APP01\\LogicalDisk(D:)\\Avg. Disk sec/Read'))).toBe(true);
    expect(counterMatches('\\*:General Statistics\\Processes blocked', counter('\\\\DB01\\MSSQL$FSP:General Statistics\\Processes blocked'))).toBe(true);
    expect(counterMatches('\\Process(w3wp*)\\Handle Count', counter('\\\\WEB01\\Process(w3wp#2)\\Handle Count'))).toBe(true);
    expect(counterMatches('\\Process(w3wp?2)\\Handle Count', counter('\\\\WEB01\\Process(w3wp#2)\\Handle Count'))).toBe(true);
  });

  it('(*) leaves out _Total, __Total__, _Global_ and Idle; naming them watches them', () => {
    for (const inst of ['_Total', '__Total__', '_Global_', 'Idle']) expect(counterMatches('\\Process(*)\\Handle Count', counter(`\\\\X\\Process(${inst})\\Handle Count`))).toBe(false);
    expect(counterMatches('\\Process(*)\\Handle Count', counter('\\\\X\\Process(W6Server)\\Handle Count'))).toBe(true);
    expect(counterMatches('\\Process(_Total)\\Handle Count', counter('\\\\X\\Process(_Total)\\Handle Count'))).toBe(true);
  });

  it('an instance in the pattern needs one in the counter, and the other way round', () => {
    expect(counterMatches('\\Memory\\Available MBytes', counter('\\\\X\\Memory(0)\\Available MBytes'))).toBe(false);
    expect(counterMatches('\\Process(*)\\Handle Count', counter('\\\\X\\Process\\Handle Count'))).toBe(false);
    expect(counterMatches('\\Memory\\Available MBytes', counter('\\\\X\\Memory\\Available Bytes'))).toBe(false);
  });

  it('are refused when not a counter path or over the bound', () => {
    expect(parseCounterPattern('Memory\\Available MBytes')).toBeUndefined();
    expect(parseCounterPattern('\\\\HOST\\Memory\\Available MBytes')).toBeUndefined();
    expect(parseCounterPattern(`\\${'a'.repeat(MAX_COUNTER_PATTERN)}\\b`)).toBeUndefined();
  });

  it('wildcards match without backtracking blow-up: many stars against a long non-matching name answer (and answer no)', () => {
    const pattern = `${'*a'.repeat(40)}*b`;
    expect(wildcardMatch(pattern, 'a'.repeat(5000))).toBe(false);
    expect(wildcardMatch(pattern, `${'a'.repeat(5000)}b`)).toBe(true);
  });
});

describe('effectiveThresholds (the farm file\'s perf section)', () => {
  it('without settings: the built-in thresholds', () => {
    expect(effectiveThresholds()).toEqual(BUILTIN_PERF_THRESHOLDS);
  });

  it('overrides limit, sustainMs and severity by id; enabled false leaves one out; extra ones follow', () => {
    const extra = { id: 'custom.w6-queue', counter: '\\W6 Server(*)\\Requests Queued', test: 'above' as const, limit: 50, sustainMs: 60_000, severity: 'warning' as const, explanation: 'W6 requests waiting' };
    const t = effectiveThresholds({
      thresholds: [
        { id: 'memory.available-low', limit: 2048 },
        { id: 'cpu.busy', sustainMs: 900_000, severity: 'critical' },
        { id: 'disk.queue-length', enabled: false },
      ],
      extra: [extra],
    });
    expect(t.find((x) => x.id === 'memory.available-low')).toMatchObject({ limit: 2048, sustainMs: 300_000, severity: 'critical' });
    expect(t.find((x) => x.id === 'cpu.busy')).toMatchObject({ limit: 80, sustainMs: 900_000, severity: 'critical' });
    expect(t.some((x) => x.id === 'disk.queue-length')).toBe(false);
    expect(t.at(-1)).toEqual(extra);
    expect(t).toHaveLength(BUILTIN_PERF_THRESHOLDS.length);
    // The built-in data is not changed by an override.
    expect(BUILTIN_PERF_THRESHOLDS.find((x) => x.id === 'memory.available-low')!.limit).toBe(500);
  });

  it('an unknown id is a configuration error naming it, with the nearest id', () => {
    expect(() => effectiveThresholds({ thresholds: [{ id: 'cpu.bussy' }] })).toThrow(ConfigError);
    expect(() => effectiveThresholds({ thresholds: [{ id: 'cpu.bussy' }] })).toThrow('unknown threshold "cpu.bussy" (did you mean "cpu.busy"?)');
  });
});
