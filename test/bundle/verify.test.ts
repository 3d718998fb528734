// `bundle verify` / `bundle inspect` on real bundles, through the built CLI as a user runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleWriter } from '../../src/bundle/writer.js';
import { inspectBundle, verifyBundle } from '../../src/bundle/verify.js';
import { runCli } from '../support/cli.js';
import { EVTX_FIXTURES, have, run, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let good: string;
const MARKER = 'UNIQUE-MARKER-0123456789';

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('clk-verify-'));
  const w = await BundleWriter.create({ outDir: dir, name: 'TST_20250603-120000_abcd0001.zip', minFreeBytes: 0 });
  await w.addBuffer('APP01/tracer/W6Server.log', `${'03/06/2025 10:12:33,120 ERROR run failed\n'.repeat(500)}`, { server: 'APP01', collector: 'tracer', sourcePath: 'C:\\ClickSoftware\\Logs\\Tracer\\W6Server_20250603.log' });
  await w.addBuffer('APP01/config/W6Server.config', 'User ID=w6app;Password=Sql-Demo-Pa55w0rd!;\n', { server: 'APP01', collector: 'config', redact: true });
  // stored, so that its bytes can be found and flipped in the zip
  await w.addBuffer('SCHED01/stored.txt', `${MARKER} stored content\n`, { server: 'SCHED01', collector: 'tracer', store: true });
  await w.addBuffer('SCHED01/eventlog/System.evtx', await readFile(join(EVTX_FIXTURES, 'NickSmet-System.evtx')), { server: 'SCHED01', collector: 'eventlog', note: 'binary: not redacted' });
  w.log({ server: 'APP01', collector: 'tracer', status: 'ok', durationMs: 12, files: 1, bytes: 100 });
  w.log({ server: 'WEB01', collector: 'server', status: 'failed', reason: 'unreachable', durationMs: 3, files: 0, bytes: 0 });
  good = (await w.finalize({ farm: { name: 'Test farm', systemId: 'TST' }, window: { from: '2025-06-03T08:00:00.000Z', to: '2025-06-03T12:00:00.000Z' } })).path;
});
afterAll(async () => {
  await cleanup();
});

async function copyOf(name: string): Promise<string> {
  const p = join(dir, name);
  await copyFile(good, p);
  return p;
}

describe('bundle verify', () => {
  it('accepts an intact bundle: exit 0, one line on stdout', async () => {
    const r = await runCli(['bundle', 'verify', good]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^ok {2}.*: 7 files, every sha256 and size matches the manifest$/);
  });

  it('--json gives a versioned result', async () => {
    const r = await runCli(['--json', 'bundle', 'verify', good]);
    expect(r.exitCode).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ schema: 'clk-support/bundle-verify/v1', ok: true, entries: 7, listed: 6, problems: [] });
  });

  it('finds flipped bytes inside a file: exit 1, the file named, sha256 and CRC both flagged', async () => {
    const p = await copyOf('flipped.zip');
    const buf = await readFile(p);
    const at = buf.indexOf(MARKER);
    expect(at).toBeGreaterThan(0);
    buf[at] = buf[at] ^ 0x20;
    await writeFile(p, buf);
    const r = await runCli(['bundle', 'verify', p]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('failed');
    expect(r.stdout).toMatch(/SCHED01\/stored\.txt\s+sha256 does not match the manifest/);
    expect(r.stdout).toMatch(/SCHED01\/stored\.txt\s+CRC-32 does not match/);
    const j = JSON.parse((await runCli(['--json', 'bundle', 'verify', p])).stdout);
    expect(j.ok).toBe(false);
    expect(j.problems.every((x: { path: string }) => x.path === 'SCHED01/stored.txt')).toBe(true);
  });

  it.skipIf(!have('zip') || !have('unzip'))('finds a manifest that does not match, a file added and a file removed', async () => {
    const work = join(dir, 'repack');
    await mkdir(work);
    await run('unzip', ['-q', good, '-d', work]);
    const manifest = JSON.parse(await readFile(join(work, 'manifest.json'), 'utf8'));
    manifest.entries.find((e: { path: string }) => e.path === 'APP01/tracer/W6Server.log').sha256 = '0'.repeat(64);
    await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest));
    await writeFile(join(work, 'extra.txt'), 'slipped in');
    await run('rm', [join(work, 'collector.log')]);
    const p = join(dir, 'repacked.zip');
    await run('zip', ['-q', '-r', p, '.'], { cwd: work });
    const r = await runCli(['--json', 'bundle', 'verify', p]);
    expect(r.exitCode).toBe(1);
    const problems = JSON.parse(r.stdout).problems as { path: string; problem: string }[];
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'APP01/tracer/W6Server.log', code: 'SHA256_MISMATCH', problem: 'sha256 does not match the manifest' },
        { path: 'collector.log', code: 'MISSING', problem: 'listed in the manifest but missing from the zip' },
        { path: 'extra.txt', code: 'UNLISTED', problem: 'in the zip but not in the manifest' },
      ]),
    );
  });

  it('exit 2 for a file that is not a bundle (not a zip; a zip without manifest; missing file)', async () => {
    const notZip = join(dir, 'notes.txt');
    await writeFile(notZip, 'hello');
    let r = await runCli(['bundle', 'verify', notZip]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is not a clk-support bundle/);
    if (have('zip')) {
      const plain = join(dir, 'plain.zip');
      await run('zip', ['-q', '-j', plain, notZip]);
      r = await runCli(['bundle', 'verify', plain]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/no manifest\.json/);
      const inspected = await inspectBundle(plain);
      expect(inspected.refused).toBe(true);
      expect(inspected.problems).toEqual([{ path: 'manifest.json', code: 'NO_MANIFEST', problem: 'no manifest.json in the zip' }]);
    }
    r = await runCli(['bundle', 'verify', join(dir, 'nope.zip')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/cannot open/);
  });

  it('a truncated bundle is not a bundle: refused with ZIP_TRUNCATED', async () => {
    const p = join(dir, 'truncated.zip');
    const buf = await readFile(good);
    await writeFile(p, buf.subarray(0, Math.floor(buf.length / 2)));
    const v = await verifyBundle(p);
    expect(v).toMatchObject({ ok: false, refused: true });
    expect(v.problems.map((x) => x.code)).toEqual(['ZIP_TRUNCATED']);
  });
});

describe('bundle inspect', () => {
  it('lists farm, window, files with their source and the collector statuses', async () => {
    const r = await runCli(['bundle', 'inspect', good]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('farm:     Test farm (TST)');
    expect(r.stdout).toContain('window:   2025-06-03T08:00:00.000Z .. 2025-06-03T12:00:00.000Z');
    expect(r.stdout).toMatch(/redacted: connection-string 1/);
    expect(r.stdout).toMatch(/SCHED01\/eventlog\/System\.evtx\s+\d+\s+\d+\s+SCHED01\s+eventlog\s+binary: not redacted/);
    expect(r.stdout).toMatch(/WEB01\s+server\s+failed\s+0\s+0\s+3 ms\s+unreachable/);
  });

  it('--json lists every file with size, compressed size, method and manifest data', async () => {
    const r = await runCli(['--json', 'bundle', 'inspect', good]);
    expect(r.exitCode).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.schema).toBe('clk-support/bundle-inspect/v1');
    expect(j.files).toHaveLength(7);
    const stored = j.files.find((f: { path: string }) => f.path === 'SCHED01/stored.txt');
    expect(stored).toMatchObject({ method: 'stored', server: 'SCHED01', collector: 'tracer' });
    const log = j.files.find((f: { path: string }) => f.path === 'APP01/tracer/W6Server.log');
    expect(log.method).toBe('deflated');
    expect(log.compressedSize).toBeLessThan(log.size);
    expect(log.sourcePath).toBe('C:\\ClickSoftware\\Logs\\Tracer\\W6Server_20250603.log');
  });

  it('--help shows examples', async () => {
    const r = await runCli(['bundle', 'verify', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Examples:');
  });
});
