// The built CLI on a private copy of the demo farm, as a user runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyDemoFarm, runCli } from '../support/cli.js';
import { TimestampDetector } from '../../src/logs/timestamps.js';
import { DEMO_WINDOW, findSecrets, openBundle, sha256, type Manifest } from './helpers.js';

let demo: Awaited<ReturnType<typeof copyDemoFarm>>;
let out: string;

beforeAll(async () => {
  demo = await copyDemoFarm();
});
afterAll(async () => {
  await demo?.cleanup();
});

async function freshOut(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'clk-collect-out-'));
}

describe('collect on the demo farm', () => {
  let bundlePath: string;
  let files: Map<string, Buffer>;
  let manifest: Manifest;
  let raw: Buffer;
  let result: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    out = await freshOut();
    result = await runCli(['--farm', demo.farmFile, 'collect', ...DEMO_WINDOW, '--out', out]);
    bundlePath = result.stdout.trim();
    ({ files, manifest, raw } = await openBundle(bundlePath));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('writes one owner-only bundle named <SID>_<date>_<id>.zip and exits 3 because WEB01 is down', async () => {
    expect(result.exitCode, result.stderr).toBe(3);
    expect(bundlePath).toMatch(/[/\\]FSP_\d{8}-\d{6}_[0-9a-f]{8}\.zip$/);
    expect((await stat(bundlePath)).mode & 0o777).toBe(0o600);
    expect(await readdir(out)).toEqual([bundlePath.split('/').pop()]);
    expect(result.stderr).toMatch(/WEB01\s+unreachable/);
    expect(result.stderr).toMatch(/^APP01\s+ok\s+ok \(1\)\s+ok \(2\)\s+ok \(2\)\s+ok \(\d\)\s+ok \(2\)/m);
    expect(result.stderr).toMatch(/partial bundle .*: see collector\.log inside/);
  });

  it('passes unzip -t and 7z t', async () => {
    const unzip = await execa('unzip', ['-t', bundlePath], { reject: false });
    expect(unzip.exitCode, unzip.stdout).toBe(0);
    expect(unzip.stdout).toMatch(/No errors detected/);
    const sevenZip = await execa('7z', ['t', bundlePath], { reject: false });
    expect(sevenZip.exitCode, sevenZip.stdout).toBe(0);
    expect(sevenZip.stdout).toMatch(/Everything is Ok/);
  });

  it('lists every file in the manifest with a sha256 that matches the extracted bytes', () => {
    expect(manifest.schema).toBe('clk-support/bundle-manifest/v1');
    expect(manifest.window).toEqual({ from: '2025-06-03T08:00:00.000Z', to: '2025-06-03T12:00:00.000Z' });
    const inZip = [...files.keys()].filter((p) => p !== 'manifest.json').sort();
    expect(manifest.entries.map((e) => e.path).sort()).toEqual(inZip);
    for (const e of manifest.entries) {
      const data = files.get(e.path)!;
      expect(data.length, e.path).toBe(e.size);
      expect(sha256(data), e.path).toBe(e.sha256);
    }
  });

  it('has event logs, perfmon (.blg and .csv) and Tracer logs from every reachable server', () => {
    for (const server of ['APP01', 'SCHED01', 'INT01']) {
      const mine = manifest.entries.filter((e) => e.server === server);
      const has = (collector: string, re: RegExp) => mine.some((e) => e.collector === collector && re.test(e.path));
      expect(has('eventlogs', /^[A-Z0-9]+\/eventlogs\/Application\.evtx$/), server).toBe(true);
      expect(has('eventlogs', /\/System\.evtx$/), server).toBe(true);
      expect(has('perfmon', /\.blg$/), server).toBe(true);
      expect(has('perfmon', /\.csv$/), server).toBe(true);
      expect(has('tracer', /\/Tracer\/W6Server_20250603\.log$/), server).toBe(true);
      expect(has('config', /W6Server\.config$/), server).toBe(true);
      expect(files.has(`${server}/facts.json`), server).toBe(true);
      // Binary logs are carried byte for byte.
      const evtx = files.get(`${server}/eventlogs/Application.evtx`)!;
      expect(evtx.subarray(0, 8).toString('latin1')).toBe('ElfFile\0');
      expect(mine.find((e) => e.path.endsWith('.evtx'))!.note).toMatch(/not redacted/);
    }
    const facts = JSON.parse(files.get('INT01/facts.json')!.toString('utf8'));
    expect(facts).toMatchObject({ schema: 'clk-support/server-facts/v1', product: { version: '8.1.15.2190', build: '2190' } });
    expect(JSON.stringify(facts)).not.toMatch(/"hash"/);
    expect(JSON.parse(files.get('APP01/facts.json')!.toString('utf8')).product.version).toBe('8.1.15.2207');
  });

  it('records WEB01 as unreachable and the out-of-window Tracer files as skipped, with reasons', () => {
    const log = files.get('collector.log')!.toString('utf8');
    expect(log).toMatch(/^WEB01\tprobe\tfailed\t\d+ms\t0 files\t0 bytes\tunreachable: share root /m);
    expect(log).not.toMatch(/unreachable \(unreachable\)/);
    expect(log).toMatch(/^APP01\ttracer\tok\t.*W6Server_20250602\.log: no line inside the window/m);
    expect(manifest.collectors.find((c) => c.server === 'WEB01')).toMatchObject({ status: 'failed' });
    const skipped = (manifest.files as { server: string; path: string; reason: string; kind: string }[]).filter((f) => f.server === 'APP01' && f.kind === 'skipped');
    expect(skipped.map((f) => f.path)).toContain('C:\\ClickSoftware\\Logs\\Tracer\\Archive\\W6Server_20250520.log');
  });

  it('never lets a planted secret into the bundle, decompressed or raw', () => {
    expect(findSecrets(files, raw)).toEqual([]);
    const config = files.get('APP01/config/C/Program Files/ClickSoftware/Service Optimization/Config/W6Server.config')!.toString('utf8');
    expect(config).toContain('User ID=w6app;Password=[REDACTED]');
    const report = JSON.parse(files.get('redaction-report.json')!.toString('utf8'));
    expect(report.findings.some((f: { file: string; rule: string }) => f.file.endsWith('IntegrationManager.log') && f.rule === 'url-credentials')).toBe(true);
  });

  it('keeps only Tracer lines inside the window, with the whole error burst', () => {
    const text = files.get('APP01/tracer/C/ClickSoftware/Logs/Tracer/W6Server_20250603.log')!.toString('utf8');
    const lines = text.split('\n').filter(Boolean);
    const detector = new TimestampDetector();
    let stamped = 0;
    for (const line of lines) {
      const t = detector.detect(line);
      if (!t) continue;
      stamped++;
      expect(t.ms, line).toBeGreaterThanOrEqual(Date.parse('2025-06-03T08:00:00Z'));
      expect(t.ms, line).toBeLessThanOrEqual(Date.parse('2025-06-03T12:00:00Z'));
    }
    expect(stamped).toBeGreaterThan(100);
    const errors = lines.filter((l) => / ERROR /.test(l));
    expect(errors.length).toBe(78); // every ERROR line of the day is in the 10:12-10:45 burst
    expect(errors.every((l) => /^2025-06-03 10:(1[2-9]|[2-3]\d|4[0-5])/.test(l))).toBe(true);
    const users = new Set(errors.map((l) => /User=CORP\\(\w+)/.exec(l)?.[1]));
    expect(users.size).toBe(7);
    // Day-first dates with a comma before the milliseconds are read as 3 June, not 6 March.
    const im = files.get('APP01/tracer/C/ClickSoftware/Logs/Integration/IntegrationManager.log')!.toString('utf8');
    expect(im.split('\n')[0]).toMatch(/^03\/06\/2025 08:/);
  });

  it('includes incident.txt prefilled from the same window, redacted', () => {
    const text = files.get('incident.txt')!.toString('utf8');
    expect(text).toMatch(/^System ID:\s+FSP/m);
    expect(text).toMatch(/INT01\s+8\.1\.15\.2190 \(build 2190\).*DIFFERS/);
    expect(text).toMatch(/7 distinct user\(s\)/);
    expect(manifest.collectors).toContainEqual(expect.objectContaining({ collector: 'incident', status: 'ok' }));
  });

  it('cuts the perfmon CSV to the window by its time-zone bias', () => {
    const csv = files.get('APP01/perfmon/C/PerfLogs/Admin/ClickSoftware/APP01_ClickSoftware_000001.csv')!.toString('utf8').split('\n').filter(Boolean);
    expect(csv[0]).toMatch(/^"\(PDH-CSV 4\.0\)/);
    for (const row of csv.slice(1)) expect(row).toMatch(/^"06\/03\/2025 (0[89]|1[01]):\d\d:\d\d\.\d{3}"|^"06\/03\/2025 12:00:00\.000"/);
  });
});

describe('collect options', () => {
  it('--dry-run lists the plan and its estimate and writes nothing', async () => {
    const dir = await freshOut();
    try {
      const r = await runCli(['--farm', demo.farmFile, 'collect', ...DEMO_WINDOW, '--dry-run', '--out', join(dir, 'bundles')]);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stdout).toMatch(/^APP01\s+eventlogs\s+C:\\Windows\\System32\\winevt\\Logs\\Application\.evtx\s+1\.1 MiB/m);
      expect(r.stderr).toMatch(/dry run: \d+ files, at most [\d.]+ MiB .* nothing written/);
      expect(await readdir(dir)).toEqual([]);
      const j = await runCli(['--farm', demo.farmFile, '--json', 'collect', ...DEMO_WINDOW, '--dry-run', '--out', dir]);
      const doc = JSON.parse(j.stdout);
      expect(doc).toMatchObject({ schema: 'clk-support/collect-result/v1', dryRun: true });
      expect(doc.plan.length).toBeGreaterThan(20);
      expect(doc.totals.estimatedBytes).toBeGreaterThan(1_000_000);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--only tracer with a small --max-file-size keeps the tail of each file behind a marker', async () => {
    const dir = await freshOut();
    try {
      const r = await runCli(['--farm', demo.farmFile, '--json', 'collect', ...DEMO_WINDOW, '--only', 'tracer', '--max-file-size', '8KiB', '--server', 'APP01', '--out', dir]);
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ schema: 'clk-support/collect-result/v1', partial: false });
      const { files, manifest } = await openBundle(doc.bundle.path);
      expect(new Set(manifest.entries.map((e) => e.collector))).toEqual(new Set(['tracer', 'bundle']));
      const entry = manifest.entries.find((e) => e.path.endsWith('W6Server_20250603.log'))!;
      expect(entry.truncated).toBe(true);
      const text = files.get(entry.path)!.toString('utf8');
      const [first, ...rest] = text.split('\n');
      expect(first).toMatch(/^\[clk-support: truncated, \d+ earlier bytes in the window omitted\]$/);
      expect(Buffer.byteLength(rest.join('\n'))).toBeLessThanOrEqual(8192);
      // The tail: the last in-window line of the source is the last line kept.
      expect(rest.filter(Boolean).at(-1)).toMatch(/^2025-06-03 1[01]:\d\d/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--only perfmon with a small cap: the CSV keeps its header and newest rows, a .blg over the cap is skipped with the reason', async () => {
    const dir = await freshOut();
    try {
      const r = await runCli(['--farm', demo.farmFile, '--json', 'collect', ...DEMO_WINDOW, '--only', 'perfmon', '--max-file-size', '8KiB', '--server', 'APP01', '--out', dir]);
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.files).toContainEqual(expect.objectContaining({ kind: 'skipped', path: expect.stringMatching(/\.blg$/), reason: expect.stringMatching(/more than --max-file-size.*cannot be cut off Windows/) }));
      const { files, manifest } = await openBundle(doc.bundle.path);
      const entry = manifest.entries.find((e) => e.path.endsWith('.csv'))!;
      expect(entry.truncated).toBe(true);
      const lines = files.get(entry.path)!.toString('utf8').split('\n').filter(Boolean);
      expect(lines[0]).toMatch(/^"\(PDH-CSV 4\.0\)/);
      expect(lines[1]).toMatch(/^\[clk-support: truncated, \d+ earlier bytes in the window omitted\]$/);
      expect(lines.at(-1)).toMatch(/^"06\/03\/2025 (11:59:\d\d|12:00:00)\.000"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--anonymize replaces server names in paths and text, and writes the mapping beside the bundle', async () => {
    const dir = await freshOut();
    try {
      const r = await runCli(['--farm', demo.farmFile, '--json', 'collect', ...DEMO_WINDOW, '--anonymize', '--skip', 'eventlogs', '--out', dir]);
      expect(r.exitCode, r.stderr).toBe(3);
      const doc = JSON.parse(r.stdout);
      expect(doc.bundle.mappingPath).toBeTruthy();
      expect((await stat(doc.bundle.mappingPath)).mode & 0o777).toBe(0o600);
      const { files, manifest, raw } = await openBundle(doc.bundle.path);
      expect(findSecrets(files, raw)).toEqual([]);
      expect(files.has('mapping.json') || [...files.keys()].some((k) => /anon-map|mapping/.test(k))).toBe(false);
      for (const [name, data] of files) {
        expect(name).not.toMatch(/APP01|SCHED01|INT01/);
        if (/\.(blg|evtx)$/.test(name)) continue;
        expect(data.toString('utf8'), name).not.toMatch(/\bAPP01\b|\bSCHED01\b|\bINT01\b|CORP\\jdoe/);
      }
      expect(manifest.entries.some((e) => /^host-[0-9a-f]{6,}\/tracer\//.test(e.path))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--list prints the collectors, bad flags are usage errors before any server is contacted', async () => {
    const list = await runCli(['collect', '--list']);
    expect(list.exitCode).toBe(0);
    for (const id of ['eventlogs', 'perfmon', 'tracer', 'config', 'facts']) expect(list.stdout).toMatch(new RegExp(`^${id}\\s`, 'm'));
    const bad = await runCli(['--farm', demo.farmFile, 'collect', '--only', 'tracer,bogus']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--only: unknown collector "bogus"/);
    expect(bad.stderr).not.toMatch(/Probing/);
    const size = await runCli(['--farm', demo.farmFile, 'collect', '--max-file-size', 'lots']);
    expect(size.exitCode).toBe(2);
    expect(size.stderr).toMatch(/--max-file-size: "lots" is not a size/);
    const help = await runCli(['collect', '--help']);
    expect(help.stdout).toMatch(/Examples:/);
  });
});
