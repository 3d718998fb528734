// check's perf.* group through the built CLI, on a copy of the demo farm whose servers hold SYNTHETIC
// perfmon CSVs (test/incident/pdh-synthetic.ts) made to cross a critical threshold, a warning one, or
// to stay under every limit; a server with only .blg files (the real PAL sample log) is skipped with
// the reason, an unreachable one could not check. Findings reach the table, --json and --junit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { spawnSync } from 'node:child_process';
import { runCli } from '../support/cli.js';
import { demoCopy, editFarm, type DemoCopy } from './helpers.js';
import { INTERVAL_MS, noise, START, times, writePdhCsv } from '../incident/pdh-synthetic.js';

const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
const SAMPLE_BLG = join(import.meta.dirname, '../../../shared/fixtures/perfmon/SampleLog.blg');

let demo: DemoCopy;
let scratch: string;
const perfDir = (server: string) => join(demo.drive(server), 'PerfLogs', 'Admin', 'ClickSoftware');
const CPU = '\\Processor(_Total)\\% Processor Time';
const MEM = '\\Memory\\Available MBytes';
const HANDLES = '\\Process(W6Server)\\Handle Count';
const ROWS = 4 * 240; // 4 hours every 15 s
const r = noise(42);
/** Index of the row at minute m. */
const at = (m: number) => (m * 60_000) / INTERVAL_MS;

/** An ordinary day: CPU 20-30 %, 6 GB free, a flat handle count. */
function calm(): (number | null)[][] {
  return [Array.from({ length: ROWS }, () => 25 + 5 * r()), Array.from({ length: ROWS }, () => 6000 + 100 * r()), Array.from({ length: ROWS }, () => 1500 + 20 * r())];
}

beforeAll(async () => {
  demo = await demoCopy();
  scratch = await mkdtemp(join(tmpdir(), 'clk-perf-check-'));
  for (const s of ['APP01', 'SCHED01', 'INT01']) await rm(perfDir(s), { recursive: true, force: true });
  const machine = (m: string) => ({ machine: m, counters: [CPU, MEM, HANDLES], times: times(ROWS) });

  // APP01: CPU 95-99 % from minute 60 to minute 80 (critical), memory fine.
  const app = calm();
  for (let i = at(60); i <= at(80); i++) app[0]![i] = 97 + 2 * r();
  await writePdhCsv(join(perfDir('APP01'), 'APP01_000001.csv'), { ...machine('APP01'), columns: app });

  // SCHED01: everything under the limits, CPU up to 89.9 % for an hour (just under cpu.saturated) and a
  // 3-minute burst at 99 % (shorter than sustainMs); available memory down to 520 MB (just over 500).
  const sched = calm();
  for (let i = at(30); i < at(90); i++) sched[0]![i] = 79 + 0.9 * Math.abs(r());
  for (let i = at(100); i < at(103); i++) sched[0]![i] = 99;
  for (let i = at(120); i < at(180); i++) sched[1]![i] = 520 + 10 * Math.abs(r());
  await writePdhCsv(join(perfDir('SCHED01'), 'SCHED01_000001.csv'), { ...machine('SCHED01'), columns: sched });

  // INT01: only binary logs (the real PAL sample when ../shared is there), and a CSV that is not perfmon's.
  await mkdir(perfDir('INT01'), { recursive: true });
  if (existsSync(SAMPLE_BLG)) await copyFile(SAMPLE_BLG, join(perfDir('INT01'), 'SampleLog.blg'));
  else await writeFile(join(perfDir('INT01'), 'INT01_000001.blg'), Buffer.from('PLAceholder binary log'));
  await writeFile(join(perfDir('INT01'), 'report.csv'), 'Name,Value\r\nCPU,20\r\n');
});
afterAll(async () => {
  await demo?.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const check = (...args: string[]) => runCli(['--farm', demo.farmFile, 'check', ...args]);

describe("check --only 'perf.*'", () => {
  it('fails (exit 1) on a critical finding, naming server, counter, span and value', async () => {
    const res = await check('--only', 'perf.*', '-s', 'APP01');
    expect(res.exitCode).toBe(1);
    const line = res.stdout.split('\n').find((l) => l.includes('perf.cpu[APP01]'))!;
    expect(line).toMatch(/✗ fail/);
    expect(line).toContain('\\\\APP01\\Processor(_Total)\\% Processor Time');
    // The test's own reading of what it wrote: 97-99 % from minute 60 to minute 80.
    expect(line).toContain('2025-06-03 09:00 .. 2025-06-03 09:20 UTC');
    expect(res.stdout).toMatch(/critical: \\\\APP01\\Processor\(_Total\)\\% Processor Time > 90 \(highest 9\d\.\d+\), 2025-06-03 09:00:00 \.\. 2025-06-03 09:20:00 UTC \[cpu\.saturated\]/);
    expect(res.stdout).toMatch(/✓ pass\s+perf\.memory\[APP01\]/);
    expect(res.stdout).toMatch(/- skip\s+perf\.sql\[APP01\]\s+none of the sql counters is in the perfmon CSV/);
  });

  it('passes (exit 0) when every value stays under its limit or crosses for less than sustainMs', async () => {
    const res = await check('--only', 'perf.*', '-s', 'SCHED01');
    expect(res.stdout).not.toMatch(/✗ fail|! warn/);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/✓ pass\s+perf\.cpu\[SCHED01\]\s+no finding in 960 samples \(cpu\.busy, cpu\.saturated\)/);
    expect(res.stdout).toMatch(/✓ pass\s+perf\.memory\[SCHED01\]/);
    expect(res.stdout).toMatch(/✓ pass\s+perf\.process\[SCHED01\]/);
  });

  it('skips every perf check with the reason when the server has only .blg (and a CSV that is not perfmon\'s)', async () => {
    const res = await check('--only', 'perf.*', '-s', 'INT01', '--json');
    expect(res.exitCode).toBe(0);
    const json = JSON.parse(res.stdout);
    const perf = json.results.filter((x: any) => x.group === 'perf' && x.check !== 'perf.custom');
    expect(perf).toHaveLength(8);
    for (const x of perf) {
      expect(x.status).toBe('skip');
      expect(x.message).toMatch(/^no Performance Monitor CSV under C:\\PerfLogs\\Admin\\ClickSoftware \(1 \.csv file without a PDH-CSV header\)$/);
      expect(x.details.join('\n')).toContain('1 .blg file (binary; relog -f csv on Windows makes a CSV of it)');
    }
  });

  it('skips with "only binary .blg" when there is no CSV at all', async () => {
    await rm(join(perfDir('INT01'), 'report.csv'));
    try {
      const res = await check('--only', 'perf.cpu', '-s', 'INT01');
      expect(res.exitCode).toBe(0);
      expect(res.stdout).toMatch(/- skip\s+perf\.cpu\[INT01\]\s+only binary \.blg under C:\\PerfLogs\\Admin\\ClickSoftware \(1 file\): convert with relog -f csv on Windows to analyse/);
    } finally {
      await writeFile(join(perfDir('INT01'), 'report.csv'), 'Name,Value\r\nCPU,20\r\n');
    }
  });

  it('an unreachable server could not check: the run fails (exit 1)', async () => {
    const res = await check('--only', 'perf.cpu', '-s', 'WEB01');
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toMatch(/☠ error\s+perf\.cpu\[WEB01\]\s+could not check: WEB01 is not reachable/);
  });

  it('--json and --junit carry the finding', async () => {
    const res = await check('--only', 'perf.cpu', '-s', 'APP01', '--json');
    const x = JSON.parse(res.stdout).results.find((y: any) => y.id === 'perf.cpu[APP01]');
    expect(x.status).toBe('fail');
    expect(x.details.join('\n')).toContain('[cpu.saturated]');
    expect(x.hint).toContain('CPU above 90%');
    const file = join(scratch, 'perf.xml');
    const j = await check('--only', 'perf.cpu', '-s', 'APP01', '--junit', file);
    expect(j.exitCode).toBe(1);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testsuite' || n === 'testcase' }).parse(await readFile(file, 'utf8'));
    const tc = doc.testsuites.testsuite[0].testcase.find((c: any) => c.name === 'perf.cpu[APP01]');
    expect(JSON.stringify(tc.failure)).toContain('Processor(_Total)');
    expect(JSON.stringify(tc.failure)).toContain('2025-06-03 09:00:00');
  });
});

describe('a window (--from/--to, --around/--span)', () => {
  it('analyses only the samples inside it: the 09:00-09:20 crossing is outside 10:00-12:00 and inside --around 09:10', async () => {
    const outside = await check('--only', 'perf.cpu', '-s', 'APP01', '--from', '2025-06-03T10:00Z', '--to', '2025-06-03T12:00Z');
    expect(outside.stdout).toMatch(/✓ pass\s+perf\.cpu\[APP01\]\s+no finding in 480 samples/);
    expect(outside.exitCode).toBe(0);
    const inside = await check('--only', 'perf.cpu', '-s', 'APP01', '--around', '2025-06-03T09:10Z', '--span', '1h', '--json');
    expect(inside.exitCode).toBe(1);
    const x = JSON.parse(inside.stdout).results[0];
    expect(x.status).toBe('fail');
    expect(x.details.at(-1)).toBe("window: 2025-06-03T08:40:00.000Z .. 2025-06-03T09:40:00.000Z (after the server's clock correction)");
  });

  it('a window that cannot be read is a usage error (exit 2)', async () => {
    const r = await check('--only', 'perf.cpu', '--from', 'yesterday-ish');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--from');
  });
});

describe('perf checks follow the farm file', () => {
  it('a warning-only finding warns (exit 0), and fails with --strict', async () => {
    // APP01's critical CPU limit raised above 100: only cpu.busy (warning) remains.
    await editFarm(demo.farmFile, (f) => (f.perf = { thresholds: [{ id: 'cpu.saturated', limit: 100 }] }));
    try {
      const res = await check('--only', 'perf.cpu', '-s', 'APP01');
      expect(res.stdout).toMatch(/! warn\s+perf\.cpu\[APP01\]\s+1 warning: .*2025-06-03 09:00 \.\. 2025-06-03 09:20 UTC/);
      expect(res.exitCode).toBe(0);
      expect((await check('--only', 'perf.cpu', '-s', 'APP01', '--strict')).exitCode).toBe(1);
    } finally {
      await editFarm(demo.farmFile, (f) => delete f.perf);
    }
  });

  it('a disabled family is skipped; an extra custom threshold is checked as perf.custom', async () => {
    await editFarm(demo.farmFile, (f) => {
      f.perf = {
        thresholds: [{ id: 'cpu.busy', enabled: false }, { id: 'cpu.saturated', enabled: false }],
        extra: [{ id: 'custom.handles-high', counter: '\\Process(*)\\Handle Count', test: 'above', limit: 1400, sustainMs: 600000, severity: 'critical', explanation: 'W6Server holds too many handles' }],
      };
    });
    try {
      const res = await check('--only', 'perf.cpu,perf.custom', '-s', 'SCHED01');
      expect(res.stdout).toMatch(/- skip\s+perf\.cpu\[SCHED01\]\s+every cpu\.\* threshold is disabled in the farm file/);
      expect(res.stdout).toMatch(/✗ fail\s+perf\.custom\[SCHED01\]\s+1 critical finding: \\\\SCHED01\\Process\(W6Server\)\\Handle Count at 15\d\d(\.\d+)?, 2025-06-03 08:00 \.\. 2025-06-03 11:59 UTC/);
      expect(res.exitCode).toBe(1);
    } finally {
      await editFarm(demo.farmFile, (f) => delete f.perf);
    }
  });

  it('an unknown threshold id in the farm file fails farm.valid with the nearest id, and perf.* could not check (exit 1)', async () => {
    await editFarm(demo.farmFile, (f) => (f.perf = { thresholds: [{ id: 'cpu.saturatd' }] }));
    try {
      const res = await check('--only', 'farm.valid,perf.*');
      expect(res.stdout).toMatch(/☠ error\s+perf\.cpu\s+could not check: the farm file is not valid/);
      expect(res.exitCode).toBe(1);
      expect(res.stdout + res.stderr).toContain('did you mean "cpu.saturated"?');
    } finally {
      await editFarm(demo.farmFile, (f) => delete f.perf);
    }
  });

  it('check judges the last 24 h of each file: a crossing two days before the file ends is not reported', async () => {
    const dir = perfDir('APP01');
    const n = 3 * 24 * 60; // 3 days every minute
    const cpu = Array.from({ length: n }, (_, i) => (i >= 60 && i < 90 ? 97 : 20));
    await rm(join(dir, 'APP01_000001.csv'));
    await writePdhCsv(join(dir, 'APP01_long.csv'), { machine: 'APP01', counters: [CPU], times: times(n, START, 60_000), columns: [cpu] });
    try {
      const res = await check('--only', 'perf.cpu', '-s', 'APP01');
      expect(res.stdout).toMatch(/✓ pass\s+perf\.cpu\[APP01\]\s+no finding in 4320 samples/);
      expect(res.exitCode).toBe(0);
    } finally {
      await rm(join(dir, 'APP01_long.csv'));
    }
  });
});

describe('hostile perfmon files', () => {
  it('a counter name with terminal escapes reaches the output escaped, never raw', async () => {
    const dir = perfDir('SCHED01');
    const file = join(dir, 'hostile.csv');
    const counter = '\\PhysicalDisk(0 C:\u001b]0;pwned\u0007\u001b[2J)\\Avg. Disk sec/Read';
    await writePdhCsv(file, { machine: 'SCHED01', counters: [counter], times: times(120), columns: [Array(120).fill(0.08)] });
    try {
      for (const args of [[], ['--json'], ['--tap']]) {
        const res = await check('--only', 'perf.disk', '-s', 'SCHED01', ...args);
        expect(res.exitCode).toBe(1);
        expect(res.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
        expect(res.stdout).toContain('Avg. Disk sec/Read');
      }
      // JUnit too: XML 1.0 cannot hold those characters, the report must stay well-formed.
      const xml = join(scratch, 'hostile.xml');
      expect((await check('--only', 'perf.disk', '-s', 'SCHED01', '--junit', xml)).exitCode).toBe(1);
      const text = await readFile(xml, 'utf8');
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      expect(text).toContain('pwned');
      if (hasXmllint) expect(spawnSync('xmllint', ['--noout', '--schema', join(import.meta.dirname, 'junit.xsd'), xml], { encoding: 'utf8' }).status).toBe(0);
    } finally {
      await rm(file);
    }
  });
});
