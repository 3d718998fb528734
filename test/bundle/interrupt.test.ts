// Ctrl-C as a user sends it: the built CLI is spawned, SIGINT arrives once it is working, and it
// must stop promptly with exit 130 and leave nothing behind (`bundle verify` on a 1 GB entry,
// `collect` on a farm with a 300 MB Tracer log and a 300 MB perfmon file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, DEMO_FARM_DIR, REPO } from '../support/cli.js';
import { createServer, type Socket } from 'node:net';
import { generateKey, SSH_KEYGEN } from '../support/sshd.js';
import { have, tempDir } from './helpers.js';
import { buildZip, deflatedRepeat } from './zip-builder.js';

let dir: string;
let cleanup: () => Promise<void>;
const measured: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('clk-interrupt-'));
});
afterAll(async () => {
  await cleanup();
  console.log(`Ctrl-C, time from SIGINT to exit:\n${measured.join('\n')}`);
});

/** Starts the CLI, sends SIGINT `afterMs` after `ready` shows on stderr; exit code and stop time. */
function interrupt(args: string[], ready: RegExp, afterMs: number): Promise<{ exitCode: number | null; stopSeconds: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sentAt = 0;
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (!sentAt && ready.test(stderr)) {
        sentAt = -1;
        setTimeout(() => {
          sentAt = Date.now();
          child.kill('SIGINT');
        }, afterMs);
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ exitCode: code, stopSeconds: sentAt > 0 ? (Date.now() - sentAt) / 1000 : Number.NaN, stderr });
    });
  });
}

describe('Ctrl-C stops promptly with exit 130', { timeout: 300_000 }, () => {
  it.skipIf(!have('ssh-keygen') && !SSH_KEYGEN)('collect while it waits for an SSH server that accepts and never answers', async () => {
    // a TCP port that accepts and stays silent: the probe would wait for its connect time limit
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const key = join(dir, 'id_ed25519');
      await generateKey(key, 'interrupt-test');
      await writeFile(join(dir, 'known_hosts'), '');
      const farm = join(dir, 'silent-farm.json');
      await writeFile(farm, JSON.stringify({
        formatVersion: 1,
        farm: { name: 'Silent farm', systemId: 'SIL', environment: 'test', customerNumber: '1234567', installationNumber: '0020123456' },
        settings: { connectTimeoutMs: 20_000, timeoutMs: 30_000 },
        servers: [{ name: 'SILENT01', role: 'application', platform: 'linux', installRoot: '/opt/clk', transport: { type: 'ssh', host: '127.0.0.1', port, user: 'nobody', identityFile: key, knownHosts: join(dir, 'known_hosts') } }],
      }));
      const out = join(dir, 'out-silent');
      await mkdir(out);
      const r = await interrupt(['--farm', farm, 'collect', '--around', '2025-06-03T10:00Z', '--span', '1h', '--out', out], /Probing servers/, 700);
      measured.push(`  collect, SIGINT while an SSH server stays silent (connect limit 20 s): exit ${r.exitCode}, stopped ${r.stopSeconds.toFixed(2)} s after SIGINT`);
      expect(r.exitCode, r.stderr).toBe(130);
      expect(r.stopSeconds, 'a generous bound; the measured figure is in the log').toBeLessThan(5);
      expect(await readdir(out)).toEqual([]);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('bundle verify while it reads a 1 GB entry', async () => {
    // a 30 KiB random block repeated: about 80:1, under the ratio cap, so verify really inflates it
    const big = await deflatedRepeat(randomBytes(30 * 1024), 1024 ** 3, undefined, undefined, 1);
    const manifest = JSON.stringify({ schema: 'clk-support/bundle-manifest/v1', entries: [{ path: 'APP01/big.bin', size: big.size, sha256: '0'.repeat(64), collector: 'test' }] });
    const file = join(dir, 'big.zip');
    await writeFile(file, buildZip([{ name: 'manifest.json', data: manifest }, { name: 'APP01/big.bin', deflated: big }]));
    for (const json of [false, true]) {
      const r = await interrupt([...(json ? ['--json'] : []), 'bundle', 'verify', file], /Verifying/, 700);
      measured.push(`  bundle verify${json ? ' --json' : ''} (1 GB entry): exit ${r.exitCode}, stopped ${r.stopSeconds.toFixed(2)} s after SIGINT`);
      expect(r.exitCode, r.stderr).toBe(130);
      expect(r.stderr).toMatch(/Interrupted/);
      expect(r.stopSeconds, 'a generous bound; the measured figure is in the log').toBeLessThan(5);
    }
  });

  it('collect while it reads a 300 MB Tracer log and a 300 MB perfmon file', async () => {
    const farmRoot = join(dir, 'farm');
    await mkdir(farmRoot);
    await cp(DEMO_FARM_DIR, join(farmRoot, 'demo-farm'), { recursive: true, filter: (s) => !/[\\/]\.clk-support-clock-[0-9a-f]+$/.test(s) });
    await cp(join(REPO, 'fixtures', 'keys'), join(farmRoot, 'keys'), { recursive: true });
    const servers = join(farmRoot, 'demo-farm', 'servers');
    const log = join(servers, 'app01', 'c$', 'ClickSoftware', 'Logs', 'Tracer', 'W6Server_20250603.log');
    const day = await readFile(log);
    for (let n = 0; n < 300 * 1024 * 1024; n += day.length) await appendFile(log, day);
    const blg = join(servers, 'sched01', 'c$', 'PerfLogs', 'Admin', 'ClickSoftware', 'SCHED01_ClickSoftware_000001.blg');
    await writeFile(blg, Buffer.alloc(0));
    for (let i = 0; i < 30; i++) await appendFile(blg, randomBytes(10 * 1024 * 1024));
    const out = join(dir, 'out');
    await mkdir(out);
    const farm = join(farmRoot, 'demo-farm', 'clk-farm.json');
    for (const afterMs of [300, 1500, 3000]) {
      const r = await interrupt(['--farm', farm, 'collect', '--around', '2025-06-03T10:00Z', '--span', '4h', '--max-file-size', '1GB', '--out', out], /Probing servers/, afterMs);
      measured.push(`  collect, SIGINT ${afterMs} ms after probing started: exit ${r.exitCode}, stopped ${r.stopSeconds.toFixed(2)} s after SIGINT`);
      expect(r.exitCode, r.stderr).toBe(130);
      expect(r.stopSeconds, 'a generous bound; the measured figure is in the log').toBeLessThan(5);
      expect(await readdir(out), 'no bundle and no temp file left').toEqual([]);
    }
  });
});
