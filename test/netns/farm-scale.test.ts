// Issue 8, scale: a farm of 50 servers (45 served by a real sshd on 45 loopback ports, 5 that accept
// TCP and never speak SSH, as a firewalled or hung host does). `farm status` must take about one
// connect timeout plus the slowest server, not the sum of them, and its memory must not grow with
// the number of servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshdPool, sshdUnavailableReason, type SshdServer } from '../support/sshd.js';
import { farmFile, runCli, sshServerEntry } from './cli.js';

const REACHABLE = 45;
const SILENT = 5;
const CONNECT_TIMEOUT_MS = 5000;
// Reports the process's peak RSS on exit, on stderr (stdout stays the JSON document).
const RSS_HOOK = `data:text/javascript,process.on('exit',()=>process.stderr.write('__MAXRSS_KB__'+process.resourceUsage().maxRSS+'\\n'))`;

let skipReason = sshdUnavailableReason();
let pool: SshdServer[] = [];
if (!skipReason) {
  try {
    pool = await startSshdPool(REACHABLE);
  } catch (err) {
    // Only an unprivileged run may skip; as root (CI) a server that does not start is a failure.
    if (process.getuid?.() === 0) throw err;
    skipReason = (err as Error).message;
  }
}
if (skipReason) console.warn(`50-server farm skipped: ${skipReason}`);
const endpoints = pool.flatMap((s) => s.ports.map((port) => ({ s, port })));

interface ProbeJson {
  name: string;
  reachable: boolean;
  reason?: string;
  durationMs: number;
}

function maxRssKb(stderr: string): number {
  const m = /__MAXRSS_KB__(\d+)/.exec(stderr);
  if (!m) throw new Error(`no RSS report in: ${stderr.slice(-500)}`);
  return Number(m[1]);
}

describe.skipIf(!!skipReason)(`a 50-server farm (${REACHABLE} over ssh, ${SILENT} silent)${skipReason ? ` (${skipReason})` : ''}`, () => {
  let dir: string;
  const silent: net.Server[] = [];
  const held: net.Socket[] = [];
  let farmPath: string;
  let farm10Path: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clk-scale-'));
    const servers: Record<string, unknown>[] = [];
    for (let i = 0; i < REACHABLE; i++) {
      const { s, port } = endpoints[i];
      const reach = { host: s.host, user: s.user, identityFile: s.identityFile, knownHosts: s.knownHosts };
      const name = `SRV${String(i + 1).padStart(2, '0')}`;
      const root = join(dir, name.toLowerCase());
      await mkdir(join(root, 'opt/clk'), { recursive: true });
      await writeFile(join(root, 'opt/clk/version.txt'), `Version=8.1.15.${2200 + (i % 3)}\n`);
      servers.push(sshServerEntry({ ...reach, name, port, root }));
    }
    for (let i = 0; i < SILENT; i++) {
      const srv = net.createServer((c) => held.push(c));
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      silent.push(srv);
      const name = `DARK${i + 1}`;
      const s = pool[0];
      const reach = { host: s.host, user: s.user, identityFile: s.identityFile, knownHosts: s.knownHosts };
      servers.push(sshServerEntry({ ...reach, name, port: (srv.address() as net.AddressInfo).port, root: join(dir, name) }));
    }
    // Interleave the silent ones, so that they do not all start (or end) the run.
    const order = servers.map((_, i) => i).sort((a, b) => (a % 10) - (b % 10) || a - b);
    const mixed = order.map((i) => servers[i]);
    farmPath = join(dir, 'clk-farm-50.json');
    await writeFile(farmPath, JSON.stringify(farmFile(mixed, { connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: 30_000, concurrency: 64 }), null, 2));
    farm10Path = join(dir, 'clk-farm-10.json');
    const ten = [...servers.slice(0, 9), servers[REACHABLE]];
    await writeFile(farm10Path, JSON.stringify(farmFile(ten, { connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: 30_000, concurrency: 64 }), null, 2));
  });

  afterAll(async () => {
    held.forEach((c) => c.destroy());
    silent.forEach((x) => x.close());
    await Promise.all(pool.map((s) => s.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('farm status probes all 50 in parallel: about one connect timeout plus the slowest, not the sum', async () => {
    const started = Date.now();
    const r = await runCli(['--farm', farmPath, 'farm', 'status', '--json']);
    const wallMs = Date.now() - started;
    expect(r.code, r.stderr).toBe(3);
    const probes: ProbeJson[] = JSON.parse(r.stdout).servers;
    expect(probes).toHaveLength(REACHABLE + SILENT);
    const down = probes.filter((p) => !p.reachable);
    expect(down.map((p) => p.name).sort()).toEqual(['DARK1', 'DARK2', 'DARK3', 'DARK4', 'DARK5']);
    expect(new Set(down.map((p) => p.reason))).toEqual(new Set(['timeout']));
    const sum = probes.reduce((a, p) => a + p.durationMs, 0);
    const slowestUp = Math.max(...probes.filter((p) => p.reachable).map((p) => p.durationMs));
    console.log(`farm status, 50 servers: wall ${wallMs} ms; sum of probes ${sum} ms; slowest reachable ${slowestUp} ms; connect timeout ${CONNECT_TIMEOUT_MS} ms`);
    // The sum holds five connect timeouts; a run that waited on them one after another could not
    // finish under it. The allowance above timeout + slowest covers node start-up and the table.
    expect(sum).toBeGreaterThanOrEqual(SILENT * CONNECT_TIMEOUT_MS);
    expect(wallMs).toBeLessThan(CONNECT_TIMEOUT_MS + slowestUp + 5000);
    expect(wallMs).toBeLessThan(sum / 2);
  });

  it('license request covers the 45 that answer, in about one connect timeout plus the slowest', async () => {
    const out = join(dir, 'License.request');
    const started = Date.now();
    const r = await runCli(['--farm', farmPath, 'license', 'request', '--allow-partial', '--out', out], { cwd: dir });
    const wallMs = Date.now() - started;
    expect(r.code, r.stderr).toBe(3);
    const table = r.stdout.split('\n');
    expect(table.filter((l) => /^SRV\d\d\s+application\s+covered\s/.test(l))).toHaveLength(REACHABLE);
    expect(table.filter((l) => /^DARK\d\s+application\s+unreachable\s.*timeout/.test(l))).toHaveLength(SILENT);
    expect(r.stderr).toMatch(new RegExp(`covering ${REACHABLE} servers`));
    const request = await readFile(out, 'utf8');
    for (let i = 1; i <= REACHABLE; i++) expect(request).toContain(`SRV${String(i).padStart(2, '0')}`);
    console.log(`license request, 50 servers: wall ${wallMs} ms`);
    // Sequentially the five silent servers alone would take five connect timeouts.
    expect(wallMs).toBeLessThan(SILENT * CONNECT_TIMEOUT_MS);
  });

  it('keeps memory flat: 50 servers peak at about the RSS of 10', async () => {
    const nodeArgs = ['--import', RSS_HOOK];
    const ten = await runCli(['--farm', farm10Path, 'farm', 'status', '--json'], { nodeArgs });
    const fifty = await runCli(['--farm', farmPath, 'farm', 'status', '--json'], { nodeArgs });
    expect(ten.code).toBe(3);
    expect(fifty.code).toBe(3);
    const [kb10, kb50] = [maxRssKb(ten.stderr), maxRssKb(fifty.stderr)];
    console.log(`peak RSS: 10 servers ${(kb10 / 1024).toFixed(1)} MB, 50 servers ${(kb50 / 1024).toFixed(1)} MB`);
    // Five times the servers may cost their connections' buffers, not five times the memory.
    expect(kb50).toBeLessThan(kb10 * 1.5);
  });
});
