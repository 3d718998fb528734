// incident timeline on the demo farm, run as a user runs it. Every expected value is computed here
// from the fixture files by a separate method: plain line scans of the Tracer logs, evtxexport for
// the event logs, a CSV split of the perfmon logs; the bundle is rewritten with Python's zipfile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFile, cp, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_FARM, DEMO_SERVERS, ROOT as ROOT_DIR, exportEvents, hasTool, runCli, walk } from './helpers.js';
import { skipTransient } from '../support/cli.js';

const FROM = '2025-06-03T08:00:00Z';
const TO = '2025-06-03T12:00:00Z';
const FROM_MS = Date.parse(FROM);
const BUCKETS = 240; // 08:00 .. 12:00, one minute each (12:00:00.000, the inclusive end, in the last)
const SERVERS = ['APP01', 'SCHED01', 'INT01'];
const WINDOW = ['--from', FROM, '--to', TO];

const bucket = (ms: number) => (ms === Date.parse(TO) ? BUCKETS - 1 : Math.floor((ms - FROM_MS) / 60_000));

/** Error lines and their users per minute (a line without a time takes the last one seen). */
function tracerBuckets(serverDir: string): { counts: number[]; users: Set<string>[] } {
  const counts = new Array<number>(BUCKETS).fill(0);
  const users = Array.from({ length: BUCKETS }, () => new Set<string>());
  for (const file of walk(join(serverDir, 'c$/ClickSoftware/Logs'), '.log')) {
    let last: number | undefined;
    for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
      const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)/.exec(line);
      if (m) last = Date.parse(`${m[1]}T${m[2]}Z`);
      if (!/ERROR|FATAL|Exception/.test(line) || last === undefined) continue;
      const i = bucket(last);
      if (i < 0 || i >= BUCKETS) continue;
      counts[i]++;
      const u = /User=(?:[^\\\s]+\\)?([^\s,;|"']+)/i.exec(line);
      if (u) users[i].add(u[1].toLowerCase());
    }
  }
  return { counts, users };
}

/** Error/Critical events per minute, by evtxexport (another reader than ours). */
function eventBuckets(serverDir: string): number[] | undefined {
  const counts = new Array<number>(BUCKETS).fill(0);
  for (const ch of ['Application', 'System']) {
    const events = exportEvents(join(serverDir, `c$/Windows/System32/winevt/Logs/${ch}.evtx`));
    if (!events) return undefined;
    for (const e of events) {
      const i = bucket(e.time);
      if ((e.level === 1 || e.level === 2) && i >= 0 && i < BUCKETS) counts[i]++;
    }
  }
  return counts;
}

/** Perfmon CSV: mean and max per minute of each column, by a plain split (the demo file is UTC, bias 0). */
function perfBuckets(serverDir: string): Map<string, { mean: (number | null)[]; max: (number | null)[] }> {
  const out = new Map<string, { mean: (number | null)[]; max: (number | null)[] }>();
  for (const file of walk(join(serverDir, 'c$/PerfLogs'), '.csv')) {
    const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter(Boolean);
    const head = lines[0].split('","').map((c) => c.replace(/^"|"$/g, ''));
    const sums = head.map(() => new Array<number>(BUCKETS).fill(0));
    const ns = head.map(() => new Array<number>(BUCKETS).fill(0));
    const maxes = head.map(() => new Array<number>(BUCKETS).fill(-Infinity));
    for (const line of lines.slice(1)) {
      const cells = line.split('","').map((c) => c.replace(/^"|"$/g, ''));
      const [mdy, hms] = cells[0].split(' ');
      const [mo, d, y] = mdy.split('/');
      const i = bucket(Date.parse(`${y}-${mo}-${d}T${hms}Z`));
      if (i < 0 || i >= BUCKETS) continue;
      for (let c = 1; c < head.length; c++) {
        if (cells[c].trim() === '') continue;
        const v = Number(cells[c]);
        sums[c][i] += v;
        ns[c][i]++;
        maxes[c][i] = Math.max(maxes[c][i], v);
      }
    }
    for (let c = 1; c < head.length; c++) {
      const name = head[c].replace(/^\\\\[^\\]+/, '');
      out.set(name, { mean: sums[c].map((s, i) => (ns[c][i] ? s / ns[c][i] : null)), max: maxes[c].map((m, i) => (ns[c][i] ? m : null)) });
    }
  }
  return out;
}

function closeTo(actual: (number | null)[], expected: (number | null)[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i];
    if (e === null) expect(a).toBeNull();
    else expect(Math.abs(a! - e)).toBeLessThanOrEqual(Math.max(0.001, Math.abs(e) * 0.001));
  });
}

const seriesOf = (t: any, server: string, kind: string, name?: string) => t.series.find((s: any) => s.server === server && s.kind === kind && (name === undefined || s.name === name));

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clk-timeline-e2e-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('incident timeline on the demo farm', () => {
  let json: any;
  let jsonRun: Awaited<ReturnType<typeof runCli>>;
  let textRun: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    jsonRun = await runCli(['--farm', DEMO_FARM, '--json', 'incident', 'timeline', ...WINDOW]);
    expect(jsonRun.stderr).not.toMatch(/unexpected failure/);
    json = JSON.parse(jsonRun.stdout);
    textRun = await runCli(['--farm', DEMO_FARM, 'incident', 'timeline', ...WINDOW, '--format', 'text']);
  }, 60_000);

  it('is one versioned UTC timeline of one-minute buckets', () => {
    expect(json.schema).toBe('clk-support/incident-timeline/v1');
    expect(json.bucketMs).toBe(60_000);
    expect(json.buckets).toHaveLength(BUCKETS);
    expect(json.buckets[0]).toBe('2025-06-03T08:00:00.000Z');
    expect(json.buckets.at(-1)).toBe('2025-06-03T11:59:00.000Z');
    for (const s of json.series) expect(s.values).toHaveLength(BUCKETS);
  });

  it('exits 3 and says so when a server is unreachable (WEB01 is down)', () => {
    expect(jsonRun.code).toBe(3);
    expect(textRun.code).toBe(3);
    expect(jsonRun.stderr).toMatch(/WEB01 unreachable/);
    const web = json.servers.find((s: any) => s.name === 'WEB01');
    expect(web.reachable).toBe(false);
    expect(textRun.stdout).toMatch(/WEB01 \(web\): UNREACHABLE/);
  });

  it('counts Tracer error lines and affected users per minute as the logs say', () => {
    const all = new Set<string>();
    for (const name of SERVERS) {
      const exp = tracerBuckets(join(DEMO_SERVERS, name.toLowerCase()));
      expect(seriesOf(json, name, 'tracer-errors').values).toEqual(exp.counts);
      const events = seriesOf(json, name, 'event-errors').values as number[];
      // Users: the Tracer's (the demo's error events name no user account).
      expect(seriesOf(json, name, 'users').values).toEqual(exp.users.map((u) => u.size));
      const perServer = new Set(exp.users.flatMap((u) => [...u]));
      perServer.forEach((u) => all.add(u));
      expect(json.users.perServer.find((p: any) => p.server === name).count).toBe(perServer.size);
      expect(events).toHaveLength(BUCKETS);
    }
    expect(exp_sum(json, 'tracer-errors')).toBeGreaterThan(0);
    expect(json.users.total).toBe(all.size);
  });

  it.skipIf(!hasTool('evtxexport'))('counts Error/Critical events per minute as evtxexport reads them', () => {
    for (const name of SERVERS) expect(seriesOf(json, name, 'event-errors').values).toEqual(eventBuckets(join(DEMO_SERVERS, name.toLowerCase())));
  });

  it('gives perfmon counters per minute (mean and max) with a category, as the CSV says', () => {
    for (const name of SERVERS) {
      const exp = perfBuckets(join(DEMO_SERVERS, name.toLowerCase()));
      const cpu = seriesOf(json, name, 'counter', '\\Processor(_Total)\\% Processor Time');
      expect(cpu.category).toBe('cpu');
      closeTo(cpu.values, exp.get('\\Processor(_Total)\\% Processor Time')!.mean);
      closeTo(cpu.max, exp.get('\\Processor(_Total)\\% Processor Time')!.max);
      const mem = seriesOf(json, name, 'counter', '\\Memory\\Available MBytes');
      expect(mem.category).toBe('memory');
      closeTo(mem.values, exp.get('\\Memory\\Available MBytes')!.mean);
      expect(seriesOf(json, name, 'counter', '\\Process(W6Server)\\Private Bytes').category).toBe('process');
      // Free space is not one of the counters that matter for the timeline.
      expect(seriesOf(json, name, 'counter', '\\LogicalDisk(C:)\\% Free Space')).toBeUndefined();
    }
  });

  it('marks the first occurrence where incident prefill finds it', async () => {
    const prefill = await runCli(['--farm', DEMO_FARM, '--no-input', '--json', 'incident', 'prefill', ...WINDOW]);
    // Missing answers end the run (exit 2) after the facts are printed.
    const p = JSON.parse(prefill.stdout.slice(0, prefill.stdout.lastIndexOf('\n}') + 2));
    expect(p.firstOccurrence).toBeDefined();
    expect(json.firstOccurrence).toEqual(p.firstOccurrence);
    const mark = json.marks.find((m: any) => m.kind === 'first-occurrence');
    expect(mark).toMatchObject({ time: p.firstOccurrence.time, server: p.firstOccurrence.server });
    // The same counters, the same thresholds: the findings prefill's "What the counters show" lists.
    const key = (f: any) => `${f.server} ${f.id} ${f.from}`;
    const fromPrefill = p.perf.servers.flatMap((s: any) => s.findings).map(key).sort();
    expect(fromPrefill.length).toBeGreaterThan(0);
    expect(json.findings.map(key).sort()).toEqual(fromPrefill);
  });

  it('finds the CPU saturation the perfmon CSVs show (APP01 above 90% from 10:12)', () => {
    // The test's own reading of APP01's CSV: the first sample above 90% in the window.
    const csv = readFileSync(join(ROOT_DIR, 'fixtures/demo-farm/servers/app01/c$/PerfLogs/Admin/ClickSoftware/APP01_ClickSoftware_000001.csv'), 'utf8').split(/\r?\n/).slice(1);
    const firstHigh = csv.map((l) => l.split('","').map((c) => c.replace(/^"|"$/g, ''))).find((c) => Number(c[1]) > 90)!;
    const [mdy, hms] = firstHigh[0]!.split(' ');
    const [mo, d, y] = mdy!.split('/');
    const at = Date.parse(`${y}-${mo}-${d}T${hms}Z`);
    const app = json.findings.filter((f: any) => f.server === 'APP01' && f.id === 'cpu.saturated');
    expect(app).toHaveLength(1);
    expect(Date.parse(app[0].from)).toBe(at);
    expect(app[0].severity).toBe('critical');
    expect(app[0].counter).toBe('\\\\APP01\\Processor(_Total)\\% Processor Time');
  });

  it('marks changes from the event logs (updates installed in the window)', () => {
    const updates = json.marks.filter((m: any) => m.kind === 'update');
    expect(updates.length).toBeGreaterThan(0);
    for (const m of json.marks) expect(Date.parse(m.time)).toBeGreaterThanOrEqual(FROM_MS);
  });

  it('text and JSON show the same numbers', () => {
    const lines = textRun.stdout.split('\n');
    const headAt = lines.findIndex((l) => l.trim().startsWith('time (UTC)'));
    expect(headAt).toBeGreaterThan(0);
    const heads = lines[headAt].trim().split(/\s{2,}/);
    for (let i = 0; i < BUCKETS; i++) {
      const cells = lines[headAt + 1 + i].trim().split(/\s{2,}/);
      expect(cells[0]).toBe(json.buckets[i].slice(0, 16).replace('T', ' '));
      for (const name of SERVERS) {
        const err = seriesOf(json, name, 'tracer-errors').values[i] + seriesOf(json, name, 'event-errors').values[i];
        expect(Number(cells[heads.indexOf(`${name} err`)])).toBe(err);
        expect(Number(cells[heads.indexOf(`${name} users`)])).toBe(seriesOf(json, name, 'users').values[i]);
        const cpu = seriesOf(json, name, 'counter', '\\Processor(_Total)\\% Processor Time').values[i];
        const shown = cells[heads.indexOf(`${name} cpu%`)];
        if (cpu === null) expect(shown).toBe('-');
        else expect(Number(shown)).toBe(Number(cpu.toFixed(1)));
      }
    }
    expect(textRun.stdout).toContain(`First occurrence: ${json.firstOccurrence.time} on ${json.firstOccurrence.server}`);
    expect(textRun.stdout).toContain(`Users affected: ${json.users.total} distinct`);
  });

  it('widens the buckets of a long window to at most 1,440 (a week: 7 minutes), counting the same lines', async () => {
    const from = '2025-05-28T00:00:00Z';
    const to = '2025-06-04T00:00:00Z';
    const t = JSON.parse((await runCli(['--farm', DEMO_FARM, '--json', 'incident', 'timeline', '--from', from, '--to', to, '-s', 'APP01'])).stdout);
    expect(t.bucketMs).toBe(7 * 60_000);
    expect(t.buckets).toHaveLength(1440);
    const values = seriesOf(t, 'APP01', 'tracer-errors').values as number[];
    // The same lines, by the helper's own scan, in 7-minute buckets.
    const exp = new Array<number>(1440).fill(0);
    for (const file of walk(join(DEMO_SERVERS, 'app01/c$/ClickSoftware/Logs'))) {
      let last: number | undefined;
      for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
        const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)/.exec(line);
        if (m) last = Date.parse(`${m[1]}T${m[2]}Z`);
        if (!/ERROR|FATAL|Exception/.test(line) || last === undefined || last < Date.parse(from) || last > Date.parse(to)) continue;
        exp[Math.min(1439, Math.floor((last - Date.parse(from)) / (7 * 60_000)))]++;
      }
    }
    expect(exp.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(values).toEqual(exp);
  });

  it('--format json is the same document as --json, and --html writes a page atomically', async () => {
    const html = join(tmp, 'demo.html');
    const r = await runCli(['--farm', DEMO_FARM, 'incident', 'timeline', ...WINDOW, '--format', 'json', '--html', html]);
    const doc = JSON.parse(r.stdout);
    // The same document, but for when it was made and the clock offsets measured again (a few ms apart).
    const stable = (t: any) => ({ ...t, generatedAt: '', servers: t.servers.map((s: any) => ({ ...s, clockOffsetMs: undefined })) });
    expect(stable(doc)).toEqual(stable(json));
    const page = await readFile(html, 'utf8');
    expect(page).toMatch(/^<!DOCTYPE html>/i);
    expect(page).toContain('Demo farm');
    // An existing page is not replaced without --force.
    const again = await runCli(['--farm', DEMO_FARM, 'incident', 'timeline', ...WINDOW, '--html', html]);
    expect(again.code).toBe(2);
    expect((await readdir(tmp)).filter((n) => n.startsWith('demo.html'))).toEqual(['demo.html']);
  });
});

function exp_sum(t: any, kind: string): number {
  return t.series.filter((s: any) => s.kind === kind).reduce((n: number, s: any) => n + s.values.reduce((a: number, b: number) => a + b, 0), 0);
}

describe('incident timeline --bundle', () => {
  let bundle: string;
  let live: any;

  beforeAll(async () => {
    const out = join(tmp, 'bundles');
    const c = await runCli(['--farm', DEMO_FARM, '--no-input', 'collect', ...WINDOW, '--out', out]);
    expect(c.code).toBe(3);
    bundle = join(out, (await readdir(out)).find((n) => n.endsWith('.zip'))!);
    live = JSON.parse((await runCli(['--farm', DEMO_FARM, '--json', 'incident', 'timeline', ...WINDOW])).stdout);
  }, 120_000);

  it('collect puts timeline.json and timeline.html into the bundle, listed, and bundle verify passes', async () => {
    const v = await runCli(['--json', 'bundle', 'verify', bundle]);
    expect(v.code).toBe(0);
    const listing = spawnSync('unzip', ['-Z1', bundle], { encoding: 'utf8' }).stdout.split('\n');
    expect(listing).toContain('timeline.json');
    expect(listing).toContain('timeline.html');
    const manifest = JSON.parse(spawnSync('unzip', ['-p', bundle, 'manifest.json'], { encoding: 'utf8' }).stdout);
    expect(manifest.entries.map((e: any) => e.path)).toEqual(expect.arrayContaining(['timeline.json', 'timeline.html']));
    const inBundle = JSON.parse(spawnSync('unzip', ['-p', bundle, 'timeline.json'], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout);
    expect(inBundle.schema).toBe('clk-support/incident-timeline/v1');
    expect(inBundle.series).toEqual(live.series);
  });

  it('reads the bundle offline (no farm file) into the same series as the live farm', async () => {
    const r = await runCli(['--json', 'incident', 'timeline', '--bundle', bundle], { cwd: tmp });
    expect(r.code).toBe(3); // WEB01 was unreachable when the bundle was collected
    const t = JSON.parse(r.stdout);
    expect(t.source.kind).toBe('bundle');
    expect(t.window).toEqual(live.window); // the bundle's window by default
    expect(t.series).toEqual(live.series);
    expect(t.firstOccurrence).toEqual(live.firstOccurrence);
    expect(t.users).toEqual(live.users);
    expect(t.marks.map((m: any) => [m.time, m.server, m.kind])).toEqual(live.marks.map((m: any) => [m.time, m.server, m.kind]));
  });

  it('applies a server clock offset from facts.json once: its series move, the offset is shown', async () => {
    // A bundle where APP01's clock was measured 2 minutes fast and SCHED01's 300 ms off (noise: not corrected).
    const skewed = join(tmp, 'skewed.zip');
    const py = `
import hashlib, json, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
zin = zipfile.ZipFile(src)
files = {n: zin.read(n) for n in zin.namelist()}
def skew(name, ms):
    f = json.loads(files[name]); f['clock']['offsetMs'] = ms; f['clock']['rttMs'] = 2
    files[name] = json.dumps(f).encode()
skew('APP01/facts.json', 120000)
skew('SCHED01/facts.json', 300)
m = json.loads(files['manifest.json'])
for e in m['entries']:
    if e['path'] in files:
        e['size'] = len(files[e['path']]); e['sha256'] = hashlib.sha256(files[e['path']]).hexdigest()
files['manifest.json'] = json.dumps(m).encode()
with zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as z:
    for n, b in files.items(): z.writestr(n, b)
`;
    const p = spawnSync('python3', ['-c', py, bundle, skewed], { encoding: 'utf8' });
    expect(p.stderr).toBe('');
    expect((await runCli(['bundle', 'verify', skewed])).code).toBe(0);
    const r = await runCli(['--json', 'incident', 'timeline', '--bundle', skewed]);
    const t = JSON.parse(r.stdout);
    const app = t.servers.find((s: any) => s.name === 'APP01');
    expect(app).toMatchObject({ clockOffsetMs: 120000, clockCorrectionMs: 120000 });
    expect(t.servers.find((s: any) => s.name === 'SCHED01')).toMatchObject({ clockOffsetMs: 300, clockCorrectionMs: 0 });
    // APP01's logs were written 2 minutes fast: in true time every bucket is 2 earlier.
    for (const kind of ['tracer-errors', 'users']) {
      const shifted = seriesOf(t, 'APP01', kind).values;
      const orig = seriesOf(live, 'APP01', kind).values;
      expect(shifted.slice(0, BUCKETS - 2)).toEqual(orig.slice(2));
      expect(seriesOf(t, 'SCHED01', kind).values).toEqual(seriesOf(live, 'SCHED01', kind).values);
    }
    const cpu = '\\Processor(_Total)\\% Processor Time';
    expect(seriesOf(t, 'APP01', 'counter', cpu).values.slice(0, BUCKETS - 2)).toEqual(seriesOf(live, 'APP01', 'counter', cpu).values.slice(2));
    const text = await runCli(['incident', 'timeline', '--bundle', skewed]);
    expect(text.stdout).toMatch(/APP01 \(application\): .*clock offset 120000 ms, corrected by 120000 ms/);
  });

  it('collect --anonymize anonymises the timeline files too, and the anonymised bundle reads offline', async () => {
    const out = join(tmp, 'anon-bundles');
    await runCli(['--farm', DEMO_FARM, '--no-input', 'collect', ...WINDOW, '--out', out, '--anonymize']);
    const zip = join(out, (await readdir(out)).find((n) => n.endsWith('.zip'))!);
    for (const f of ['timeline.json', 'timeline.html']) {
      const text = spawnSync('unzip', ['-p', zip, f], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
      expect(text.length).toBeGreaterThan(1000);
      for (const name of [...SERVERS, 'WEB01', 'jdoe']) expect(text.toLowerCase(), `${f}: ${name}`).not.toContain(name.toLowerCase());
    }
    const t = JSON.parse((await runCli(['--json', 'incident', 'timeline', '--bundle', zip])).stdout);
    expect(t.users).toMatchObject({ total: live.users.total });
    // The .evtx were left out (--anonymize cannot rewrite them): no event series claims zero errors.
    expect(t.series.filter((s: any) => s.kind === 'event-errors')).toEqual([]);
    expect(t.series.filter((s: any) => s.kind === 'tracer-errors').map((s: any) => s.values)).toEqual(SERVERS.map((n) => seriesOf(live, n, 'tracer-errors').values));
  });

  it('says which logs the bundle holds only in part (the per-file cap)', async () => {
    const out = join(tmp, 'capped-bundles');
    await runCli(['--farm', DEMO_FARM, '--no-input', 'collect', ...WINDOW, '--out', out, '--max-file-size', '20KB', '--only', 'facts,tracer']);
    const zip = join(out, (await readdir(out)).find((n) => n.endsWith('.zip'))!);
    const t = JSON.parse((await runCli(['--json', 'incident', 'timeline', '--bundle', zip])).stdout);
    expect(t.warnings.join('\n')).toMatch(/APP01: APP01\/tracer\/C\/ClickSoftware\/Logs\/Tracer\/W6Server_20250603\.log holds only part of the window in the bundle \(per-file cap/);
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    expect(sum(seriesOf(t, 'APP01', 'tracer-errors').values)).toBeLessThan(sum(seriesOf(live, 'APP01', 'tracer-errors').values));
  });

  it('refuses a bundle that does not verify, and a file that is not a bundle', async () => {
    const broken = join(tmp, 'broken.zip');
    const py = `
import sys, zipfile
zin = zipfile.ZipFile(sys.argv[1])
with zipfile.ZipFile(sys.argv[2], 'w') as z:
    for n in zin.namelist():
        b = zin.read(n)
        z.writestr(n, b.replace(b'ERROR', b'error') if n.endswith('.log') else b)
`;
    spawnSync('python3', ['-c', py, bundle, broken]);
    const r = await runCli(['--json', 'incident', 'timeline', '--bundle', broken]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.message).toMatch(/does not verify/);
    const notZip = join(tmp, 'not.zip');
    await appendFile(notZip, 'hello');
    const n = await runCli(['--json', 'incident', 'timeline', '--bundle', notZip]);
    expect(n.code).toBe(2);
    expect(JSON.parse(n.stdout).error.message).toMatch(/not a clk-support bundle/);
  });
});

describe('incident timeline: hostile lines and --anonymize', () => {
  let farmFile: string;
  const HOSTILE = '2025-06-03 08:00:30.000 [1] ERROR W6.ServerAPI - User=CORP\\mallory password=Hunter2Secret! <script>alert(1)</script> \u001b[31mred\u001b[0m https://evil.example/x';

  beforeAll(async () => {
    const root = join(tmp, 'hostile');
    await cp(join(DEMO_SERVERS, '..'), root, { recursive: true, filter: skipTransient });
    await cp(join(DEMO_SERVERS, '../../keys'), join(tmp, 'keys'), { recursive: true }).catch(() => {});
    farmFile = join(root, 'clk-farm.json');
    await appendFile(join(root, 'servers/app01/c$/ClickSoftware/Logs/Tracer/W6Server_20250603.log'), `${HOSTILE}\n`);
  });

  it('redacts the secret, keeps control characters off the terminal and escapes the page', async () => {
    const html = join(tmp, 'hostile.html');
    const j = await runCli(['--farm', farmFile, '--json', 'incident', 'timeline', ...WINDOW, '--html', html]);
    const t = JSON.parse(j.stdout);
    expect(t.firstOccurrence.time).toBe('2025-06-03T08:00:30.000Z');
    expect(t.firstOccurrence.server).toBe('APP01');
    expect(j.stdout).not.toContain('Hunter2Secret');
    expect(t.firstOccurrence.detail).toContain('mallory');
    const text = await runCli(['--farm', farmFile, 'incident', 'timeline', ...WINDOW]);
    expect(text.stdout).not.toContain('Hunter2Secret');
    expect(text.stdout).not.toContain('\u001b');
    const page = await readFile(html, 'utf8');
    expect(page).not.toContain('Hunter2Secret');
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain('&lt;script&gt;');
  });

  it('--anonymize replaces server and user names everywhere and writes the private mapping', async () => {
    const map = join(tmp, 'timeline.anon-map.json');
    const html = join(tmp, 'anon.html');
    const r = await runCli(['--farm', farmFile, '--json', 'incident', 'timeline', ...WINDOW, '--anonymize', '--anon-map', map, '--html', html]);
    expect(r.code).toBe(3);
    const page = await readFile(html, 'utf8');
    for (const out of [r.stdout, page]) {
      for (const name of [...SERVERS, 'WEB01', 'mallory', 'jdoe']) expect(out.toLowerCase()).not.toContain(name.toLowerCase());
    }
    const t = JSON.parse(r.stdout);
    expect(t.users.total).toBeGreaterThan(0);
    const mapping = JSON.parse(await readFile(map, 'utf8'));
    expect(mapping.schema).toBe('clk-support/anon-map/v1');
    expect(JSON.stringify(mapping.mapping)).toContain('APP01');
    expect((await stat(map)).mode & 0o777).toBe(0o600);
  });
});

describe('incident timeline: marks and perfmon edge cases on a changed copy of the demo farm', () => {
  const corpus = join(ROOT_DIR, '..', 'shared', 'fixtures', 'evtx');
  const system = join(corpus, 'williballenthin+python-evtx/tests/data/system.evtx');
  let root: string;
  let farmFile: string;

  beforeAll(async () => {
    root = join(tmp, 'edges');
    await cp(join(DEMO_SERVERS, '..'), root, { recursive: true, filter: skipTransient });
    farmFile = join(root, 'clk-farm.json');
  });

  it.skipIf(!existsSync(system) || !hasTool('evtxexport'))('marks service starts and stops (7036) as evtxexport reads them, in every language (binary state)', async () => {
    await cp(system, join(root, 'servers/app01/c$/Windows/System32/winevt/Logs/System.evtx'));
    const from = '2012-03-15T00:00:00Z';
    const to = '2012-03-16T00:00:00Z';
    const r = await runCli(['--farm', farmFile, '--json', 'incident', 'timeline', '--from', from, '--to', to, '-s', 'APP01']);
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t.bucketMs).toBe(60_000);
    expect(t.buckets).toHaveLength(1440);
    const exported = exportEvents(system)!.filter((e) => e.provider === 'Service Control Manager' && e.eventId === 7036 && e.time >= Date.parse(from) && e.time <= Date.parse(to));
    const state = (e: { xml: string }) => /<Data Name="param2">([^<]*)</.exec(e.xml)?.[1];
    const starts = exported.filter((e) => state(e) === 'running');
    const stops = exported.filter((e) => state(e) === 'stopped');
    expect(starts.length + stops.length).toBeGreaterThan(100);
    expect(t.marks.filter((m: any) => m.kind === 'service-start')).toHaveLength(starts.length);
    expect(t.marks.filter((m: any) => m.kind === 'service-stop')).toHaveLength(stops.length);
    expect(t.marks.find((m: any) => m.kind === 'service-stop').label).toMatch(/ stopped$/);
  });

  it('marks a ClickSoftware file modified in the window', async () => {
    const config = join(root, 'servers/sched01/c$/Program Files/ClickSoftware/Service Optimization/Config/W6Server.config');
    const when = new Date('2025-06-03T09:15:00Z');
    await utimes(config, when, when);
    const t = JSON.parse((await runCli(['--farm', farmFile, '--json', 'incident', 'timeline', ...WINDOW, '-s', 'SCHED01'])).stdout);
    const m = t.marks.find((x: any) => x.kind === 'file-modified');
    expect(m).toMatchObject({ server: 'SCHED01', time: '2025-06-03T09:15:00.000Z' });
    expect(m.label).toMatch(/W6Server\.config$/);
  });

  it('says that .blg-only perfmon logs need relog, and caps the counter series with a warning', async () => {
    await rm(join(root, 'servers/int01/c$/PerfLogs/Admin/ClickSoftware/INT01_ClickSoftware_000001.csv'));
    // APP01: 30 process instances with a handle count each, past the cap of 24 series per server.
    const head = ['"(PDH-CSV 4.0) (Coordinated Universal Time)(0)"', ...Array.from({ length: 30 }, (_, i) => `"\\\\APP01\\Process(w3wp#${i})\\Handle Count"`)];
    const rows = Array.from({ length: 10 }, (_, r) => [`"06/03/2025 09:0${r}:00.000"`, ...Array.from({ length: 30 }, (_, i) => `"${1000 + i + r}"`)].join(','));
    await writeFile(join(root, 'servers/app01/c$/PerfLogs/Admin/ClickSoftware/APP01_handles.csv'), `${head.join(',')}\r\n${rows.join('\r\n')}\r\n`);
    const r = await runCli(['--farm', farmFile, '--json', 'incident', 'timeline', ...WINDOW, '-s', 'APP01', 'INT01']);
    const t = JSON.parse(r.stdout);
    expect(t.warnings.join('\n')).toMatch(/INT01: Performance Monitor logs are \.blg only \(1 file\).*relog/);
    expect(t.series.filter((s: any) => s.server === 'INT01' && s.kind === 'counter')).toEqual([]);
    const app = t.series.filter((s: any) => s.server === 'APP01' && s.kind === 'counter');
    expect(app).toHaveLength(24);
    expect(t.warnings.join('\n')).toMatch(/APP01: \d+ counters left out \(at most 24 counter series per server/);
    const h0 = app.find((s: any) => s.name === '\\Process(w3wp#0)\\Handle Count');
    expect(h0.category).toBe('process');
    expect(h0.values[bucket(Date.parse('2025-06-03T09:03:00Z'))]).toBe(1003);
  });
});
