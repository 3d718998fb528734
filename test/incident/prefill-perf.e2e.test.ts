// incident prefill's "What the counters show" on the demo farm, through the built CLI, against the
// test's own reading of each server's perfmon CSV (a plain split of the quoted cells, not the
// project's reader): the busy CPU from 10:12 on APP01 is found with its span and worst value.
import { describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_FARM, DEMO_SERVERS, runCli } from './helpers.js';

const FROM = '2025-06-03T08:00:00Z';
const TO = '2025-06-03T12:00:00Z';

interface Row {
  ms: number;
  cpu: number | null;
  mem: number | null;
}

/** The demo CSVs are UTC (bias 0): "MM/DD/YYYY HH:MM:SS.mmm". */
function readDemoCsv(server: string): Row[] {
  const file = join(DEMO_SERVERS, server.toLowerCase(), 'c$', 'PerfLogs', 'Admin', 'ClickSoftware', `${server}_ClickSoftware_000001.csv`);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter(Boolean);
  expect(lines[0]).toContain('(Coordinated Universal Time)(0)');
  const header = lines[0]!.split('","');
  const cpuCol = header.findIndex((h) => h.endsWith('\\Processor(_Total)\\% Processor Time'));
  const memCol = header.findIndex((h) => h.endsWith('\\Memory\\Available MBytes'));
  return lines.slice(1).map((l) => {
    const cells = l.replace(/^"|"$/g, '').split('","');
    const [date, time] = cells[0]!.split(' ');
    const [mo, d, y] = date!.split('/');
    const num = (c: string | undefined) => (c === undefined || c.trim() === '' ? null : Number(c));
    return { ms: Date.parse(`${y}-${mo}-${d}T${time}Z`), cpu: num(cells[cpuCol]), mem: num(cells[memCol]) };
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('incident prefill: what the counters show (demo farm)', async () => {
  const r = await runCli(['--farm', DEMO_FARM, '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO]);
  const json = JSON.parse(r.stdout);
  const text = (await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO])).stdout;

  it('APP01: the sustained CPU block from 10:12 is a cpu.busy finding with the exact span and worst value', () => {
    const rows = readDemoCsv('APP01').filter((x) => x.ms >= Date.parse(FROM) && x.ms <= Date.parse(TO));
    // The longest run of consecutive samples above 80 %.
    let best: Row[] = [];
    let run: Row[] = [];
    for (const x of rows) {
      if (x.cpu !== null && x.cpu > 80) run.push(x);
      else run = [];
      if (run.length > best.length) best = [...run];
    }
    expect(best.length * 15_000).toBeGreaterThanOrEqual(5 * 60_000);
    expect(iso(best[0]!.ms)).toBe('2025-06-03T10:12:00.000Z');
    const app = json.perf.servers.find((s: any) => s.server === 'APP01');
    expect(app.files).toBe(1);
    expect(app.samples).toBe(rows.length);
    expect(app.blg).toBe(1);
    const busy = app.findings.filter((f: any) => f.id === 'cpu.busy');
    expect(busy).toHaveLength(1);
    expect(busy[0]).toMatchObject({
      severity: 'warning',
      server: 'APP01',
      counter: '\\\\APP01\\Processor(_Total)\\% Processor Time',
      from: iso(best[0]!.ms),
      to: iso(best.at(-1)!.ms),
      value: Math.max(...best.map((x) => x.cpu!)),
      limit: 80,
    });
  });

  it('APP01: cpu.saturated (critical) covers a span whose mean is over 90 %, most samples over 90 %, for 5 minutes or more', () => {
    const rows = readDemoCsv('APP01');
    const app = json.perf.servers.find((s: any) => s.server === 'APP01');
    const sat = app.findings.filter((f: any) => f.id === 'cpu.saturated');
    expect(sat).toHaveLength(1);
    const f = sat[0];
    expect(f.severity).toBe('critical');
    const span = rows.filter((x) => x.ms >= Date.parse(f.from) && x.ms <= Date.parse(f.to)).map((x) => x.cpu!);
    expect(Date.parse(f.to) - Date.parse(f.from)).toBeGreaterThanOrEqual(5 * 60_000);
    expect(span.reduce((a, b) => a + b, 0) / span.length).toBeGreaterThan(90);
    expect(span.filter((v) => v > 90).length / span.length).toBeGreaterThanOrEqual(0.5);
    expect(span[0]).toBeGreaterThan(90);
    expect(span.at(-1)).toBeGreaterThan(90);
    expect(f.value).toBe(Math.max(...span));
    expect(f.from >= '2025-06-03T10:12:00.000Z' && f.to <= '2025-06-03T10:45:00.000Z').toBe(true);
  });

  it('APP01: nothing else (available memory stays over 500 MB, as the CSV says)', () => {
    const rows = readDemoCsv('APP01').filter((x) => x.ms >= Date.parse(FROM) && x.ms <= Date.parse(TO));
    expect(Math.min(...rows.map((x) => x.mem!))).toBeGreaterThan(500);
    const app = json.perf.servers.find((s: any) => s.server === 'APP01');
    expect(new Set(app.findings.map((f: any) => f.id))).toEqual(new Set(['cpu.busy', 'cpu.saturated']));
  });

  it('the text form has the section, one line per finding, and says why a server has none', () => {
    const section = text.slice(text.indexOf('What the counters show'), text.indexOf('Steps to reproduce:'));
    const count = json.perf.servers.reduce((n: number, s: any) => n + s.findings.length, 0);
    const lines = section.split('\n').filter((l) => l.startsWith('  '));
    expect(lines.filter((l) => / (warning|critical) [a-z.-]+: /.test(l))).toHaveLength(count);
    expect(section).toContain('  APP01: critical cpu.saturated: \\\\APP01\\Processor(_Total)\\% Processor Time worst');
    expect(section).toContain('  APP01: warning cpu.busy: \\\\APP01\\Processor(_Total)\\% Processor Time worst');
    expect(section).toContain('2025-06-03 10:12:00 UTC .. 2025-06-03 10:44:45 UTC');
    expect(section).toContain('  WEB01: not reachable: its counters were not read');
  });

  it('a window without samples says "no perfmon CSV in the window" plainly (text, markdown, JSON)', async () => {
    const args = ['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', '--from', '2025-06-04T08:00:00Z', '--to', '2025-06-04T09:00:00Z'];
    const j = JSON.parse((await runCli([...args.slice(0, 3), '--json', ...args.slice(3)])).stdout);
    expect(j.perf.servers.find((s: any) => s.server === 'APP01')).toMatchObject({ findings: [], samples: 0, note: expect.stringMatching(/^no perfmon CSV in the window/) });
    const t = (await runCli(args)).stdout;
    expect(t).toMatch(/^ {2}APP01: no perfmon CSV in the window \(1 CSV file read, no sample inside it\)$/m);
    const md = (await runCli([...args, '--format', 'markdown'])).stdout;
    expect(md).toContain('- **What the counters show** (Performance Monitor CSV):');
    expect(md).toMatch(/^ {2}- APP01: no perfmon CSV in the window/m);
  });

  it('goes through the same anonymisation as the rest: --anonymize leaves no server name in the section', async () => {
    const map = join(process.env.TMPDIR ?? '/tmp', `clk-perf-anon-${process.pid}.json`);
    const out = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO, '--anonymize', '--anon-map', map]);
    rmSync(map, { force: true });
    const section = out.stdout.slice(out.stdout.indexOf('What the counters show'), out.stdout.indexOf('Steps to reproduce:'));
    expect(section).toMatch(/critical cpu\.saturated/);
    for (const name of ['APP01', 'SCHED01', 'INT01']) expect(section).not.toContain(name);
  });
});
