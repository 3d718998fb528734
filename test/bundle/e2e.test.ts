// The whole path as a user runs it: `collect` on the demo farm, then `bundle verify` and
// `bundle inspect` on what it wrote; independent zip tools accept it; no planted secret inside.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEMO_FARM, runCli } from '../support/cli.js';
import { PLANTED_SECRETS, have, tempDir, unzipAll, zipToolsAccept } from './helpers.js';

let out: string;
let cleanup: () => Promise<void>;
let bundle: string;
let collectExit: number;

beforeAll(async () => {
  ({ dir: out, cleanup } = await tempDir('clk-bundle-e2e-'));
  const r = await runCli(['--farm', DEMO_FARM, 'collect', '--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z', '--out', out, '--anonymize'], { timeoutMs: 120_000 });
  collectExit = r.exitCode;
  const zips = (await readdir(out)).filter((f) => f.endsWith('.zip'));
  expect(zips, r.stderr).toHaveLength(1);
  bundle = join(out, zips[0]);
}, 180_000);
afterAll(async () => {
  await cleanup();
});

describe('collect → bundle verify / inspect on the demo farm', () => {
  it('is partial (WEB01 is unreachable) and named <SID>_<stamp>_<id>.zip, owner-only, with the private mapping beside it', async () => {
    expect(collectExit).toBe(3);
    expect(bundle).toMatch(/FSP_\d{8}-\d{6}_[0-9a-f]{8}\.zip$/);
    expect((await stat(bundle)).mode & 0o777).toBe(0o600);
    const names = await readdir(out);
    expect(names.some((n) => n.endsWith('.anon-map.json'))).toBe(true);
    expect(names.some((n) => n.endsWith('.partial'))).toBe(false);
  });

  it('verifies: exit 0', async () => {
    const r = await runCli(['bundle', 'verify', bundle]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/every sha256 and size matches the manifest/);
  });

  it('holds Tracer and perfmon CSV from every reachable server, leaves binary logs out under --anonymize (and says so), and records the unreachable one', async () => {
    const j = JSON.parse((await runCli(['--json', 'bundle', 'inspect', bundle])).stdout);
    // --anonymize: server names are tokens inside; the private mapping beside the bundle says which
    const mapFile = (await readdir(out)).find((n) => n.endsWith('.anon-map.json'))!;
    const hosts: Record<string, string> = JSON.parse(await readFile(join(out, mapFile), 'utf8')).mapping.hosts;
    const token = (name: string) => Object.entries(hosts).find(([k]) => k.toUpperCase() === name)?.[1] ?? name;
    for (const server of ['APP01', 'SCHED01', 'INT01']) {
      const mine = j.files.filter((f: { server?: string }) => f.server === server || f.server === token(server));
      expect(mine.length, `${server} (${token(server)})`).toBeGreaterThan(0);
      // .evtx and .blg cannot be rewritten, so an anonymised bundle leaves them out
      expect(mine.some((f: { path: string }) => /\.(evtx|blg)$/.test(f.path)), `${server} binary logs`).toBe(false);
      expect(j.collectors.some((c: { server?: string; collector: string; reason?: string }) => c.server === token(server) && c.collector === 'anonymize' && /binary log/.test(c.reason ?? '')), `${server} left-out note`).toBe(true);
      expect(mine.some((f: { path: string }) => /\.csv$/.test(f.path)), `${server} perfmon`).toBe(true);
      expect(mine.some((f: { path: string }) => f.path.includes('/tracer/')), `${server} Tracer`).toBe(true);
    }
    expect(j.collectors.some((c: { server?: string; status: string }) => (c.server === 'WEB01' || c.server === token('WEB01')) && c.status !== 'ok')).toBe(true);
    expect(j.anonymized).toBe(true);
  });

  it('opens in unzip -t and 7z t, and no planted secret is anywhere inside', async () => {
    const tools = await zipToolsAccept(bundle);
    if (tools.unzip !== undefined) expect(tools.unzip).toContain('No errors detected');
    if (tools.sevenZip !== undefined) expect(tools.sevenZip).toContain('Everything is Ok');
    if (!have('unzip')) return;
    const all = await unzipAll(bundle);
    for (const s of PLANTED_SECRETS) expect(all.includes(Buffer.from(s)), s).toBe(false);
  });
});
