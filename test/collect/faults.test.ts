// Faults a real collection meets: unreadable, vanishing and growing files, symlink loops, Ctrl-C,
// a full disk and a server that stops answering mid-transfer. Each runs the built CLI (or the real
// collector code on a real share) on a private copy of the demo farm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { appendFile, chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, REPO, copyDemoFarm, runCli } from '../support/cli.js';
import { DEMO_WINDOW, openBundle, sha256 } from './helpers.js';
import { loadFarm } from '../../src/farm/load.js';
import { createTransport } from '../../src/farm/transports/index.js';
import { collectTextLog } from '../../src/collect/tracer.js';
import { emptyOutcome, type CollectContext } from '../../src/collect/types.js';
import { descendants, tryStartSshd } from '../support/sshd.js';
import { farmFile, sshServerEntry } from '../netns/cli.js';

const isRoot = process.getuid?.() === 0;
const APP01_TRACER = ['servers', 'app01', 'c$', 'ClickSoftware', 'Logs', 'Tracer'];

/** A Tracer log of about `bytes`, every line inside the demo window (10:00-11:59). */
async function writeBigTracer(file: string, bytes: number): Promise<void> {
  const fh = await open(file, 'w');
  try {
    let written = 0;
    let i = 0;
    while (written < bytes) {
      const lines: string[] = [];
      for (let k = 0; k < 2000; k++, i++) {
        const sec = i % 7200;
        const hh = String(10 + Math.floor(sec / 3600)).padStart(2, '0');
        const mm = String(Math.floor((sec % 3600) / 60)).padStart(2, '0');
        const ss = String(sec % 60).padStart(2, '0');
        lines.push(`2025-06-03 ${hh}:${mm}:${ss}.${String(i % 1000).padStart(3, '0')} [12] INFO  W6.Bulk - User=CORP\\bulk Request ${i} processed in ${i % 500} ms with some payload text to make the line longer`);
      }
      const chunk = `${lines.join('\n')}\n`;
      await fh.write(chunk);
      written += Buffer.byteLength(chunk);
    }
  } finally {
    await fh.close();
  }
}

async function unzipOk(path: string): Promise<void> {
  const r = await execa('unzip', ['-t', path], { reject: false });
  expect(r.exitCode, r.stdout).toBe(0);
}

async function verifyShas(path: string): Promise<void> {
  const { files, manifest } = await openBundle(path);
  for (const e of manifest.entries) expect(sha256(files.get(e.path)!), e.path).toBe(e.sha256);
}

let demo: Awaited<ReturnType<typeof copyDemoFarm>>;
beforeAll(async () => {
  demo = await copyDemoFarm();
});
afterAll(async () => {
  await demo?.cleanup();
});

describe('unreadable and vanishing files', () => {
  it('records an unreadable Tracer log as failed, keeps the rest, exits 3', async () => {
    // root reads any file whatever its mode: run the CLI as nobody then (the copy is opened up for it).
    const copy = await copyDemoFarm();
    const out = await mkdtemp(join(tmpdir(), 'clk-collect-eacces-'));
    try {
      const locked = join(copy.dir, ...APP01_TRACER, 'W6Server_20250603.log');
      await chmod(join(copy.dir, '..'), 0o755);
      await execa('chmod', ['-R', 'a+rwX', copy.dir]);
      await chmod(locked, 0o000);
      // A binary file among the configuration files is left out (it cannot be redacted), with the reason.
      await writeFile(join(copy.dir, 'servers', 'app01', 'c$', 'Program Files', 'ClickSoftware', 'Service Optimization', 'Config', 'cache.bin'), Buffer.from([0x4d, 0x5a, 0, 0, 1, 2, 0, 3]), { mode: 0o644 });
      await chmod(out, 0o777);
      const r = await execa(process.execPath, [BIN, '--farm', copy.farmFile, '--json', 'collect', ...DEMO_WINDOW, '--only', 'tracer,config', '--no-incident', '--out', out], {
        cwd: REPO,
        env: { ...process.env, NO_COLOR: '1', CI: '1', HOME: out, TMPDIR: out },
        reject: false,
        ...(isRoot ? { uid: 65534, gid: 65534 } : {}),
      });
      expect(r.exitCode, String(r.stderr)).toBe(3);
      const doc = JSON.parse(String(r.stdout));
      const tracer = doc.collectors.find((c: { server: string; collector: string }) => c.server === 'APP01' && c.collector === 'tracer');
      expect(tracer.status).toBe('partial');
      expect(tracer.reason).toMatch(/W6Server_20250603\.log: .*(permission denied|EACCES)/i);
      expect(doc.files).toContainEqual(expect.objectContaining({ server: 'APP01', kind: 'failed', path: 'C:\\ClickSoftware\\Logs\\Tracer\\W6Server_20250603.log' }));
      expect(doc.files).toContainEqual(expect.objectContaining({ server: 'APP01', collector: 'config', kind: 'skipped', reason: expect.stringMatching(/binary file/) }));
      await unzipOk(doc.bundle.path);
      const { manifest } = await openBundle(doc.bundle.path);
      expect(manifest.entries.some((e) => e.path.endsWith('cache.bin'))).toBe(false);
      expect(manifest.entries.some((e) => e.path === 'APP01/tracer/C/ClickSoftware/Logs/Integration/IntegrationManager.log')).toBe(true);
      expect(manifest.entries.some((e) => e.path.endsWith('APP01/tracer/C/ClickSoftware/Logs/Tracer/W6Server_20250603.log'))).toBe(false);
    } finally {
      await copy.cleanup();
      await rm(out, { recursive: true, force: true });
    }
  });

  it('records a file that vanished between listing and reading as failed (not-found), without throwing', async () => {
    const farm = await loadFarm(demo.farmFile);
    const server = farm.servers.find((s) => s.name === 'APP01')!;
    const transport = createTransport(farm, server);
    await transport.connect();
    const ctx: CollectContext = {
      farm,
      server,
      transport,
      window: { from: new Date('2025-06-03T08:00:00Z'), to: new Date('2025-06-03T12:00:00Z') },
      maxFileBytes: 1 << 20,
      toolVersion: 'test',
      tempDir: tmpdir(),
      windowsHost: false,
      runLocal: async () => ({ exitCode: 1, stdout: '', stderr: 'not on Windows' }),
      folder: 'APP01',
    };
    const added: string[] = [];
    const sink = {
      addStream: async (path: string) => {
        added.push(path);
        throw new Error('must not be reached');
      },
      addBuffer: async () => {
        throw new Error('must not be reached');
      },
    };
    const outcome = emptyOutcome();
    await collectTextLog(ctx, sink as never, new AbortController().signal, outcome, { sourcePath: 'C:\\ClickSoftware\\Logs\\Tracer\\Gone_20250603.log', bundlePath: 'APP01/tracer/x.log', estimatedBytes: 10 }, 'tracer');
    expect(added).toEqual([]);
    expect(outcome.failed).toHaveLength(1);
    expect(outcome.failed[0].reason).toMatch(/no such file|ENOENT/i);
    await transport.close();
  });
});

describe('files that change under the collector', () => {
  it('takes a log that grows while read as it was when reading began; the bundle verifies', async () => {
    const copy = await copyDemoFarm();
    const out = await mkdtemp(join(tmpdir(), 'clk-collect-grow-'));
    try {
      const file = join(copy.dir, ...APP01_TRACER, 'W6Server_growing.log');
      await writeBigTracer(file, 24 * 1024 * 1024);
      const child = execa(process.execPath, [BIN, '--farm', copy.farmFile, '--json', 'collect', ...DEMO_WINDOW, '--only', 'tracer', '--server', 'APP01', '--max-file-size', '200MB', '--no-incident', '--out', out], {
        cwd: REPO,
        env: { ...process.env, NO_COLOR: '1', CI: '1' },
        reject: false,
      });
      let appended = 0;
      const line = '2025-06-03 11:30:00.000 [99] INFO  W6.Late - appended while the collector reads\n';
      const grower = (async () => {
        while (child.exitCode === null && appended < 20_000) {
          await appendFile(file, line.repeat(50));
          appended += 50;
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      const r = await child;
      await grower;
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const doc = JSON.parse(String(r.stdout));
      await unzipOk(doc.bundle.path);
      await verifyShas(doc.bundle.path);
      const { files } = await openBundle(doc.bundle.path);
      const text = files.get('APP01/tracer/C/ClickSoftware/Logs/Tracer/W6Server_growing.log')!.toString('utf8');
      expect(text.length).toBeGreaterThan(20 * 1024 * 1024);
      // Whole lines only: the cut at the size seen at the start never splits a line in the middle of a timestamp.
      expect(text.endsWith('\n')).toBe(true);
    } finally {
      await copy.cleanup();
      await rm(out, { recursive: true, force: true });
    }
  });

  it('walks a Tracer glob with symlink loops without hanging, following no link', async () => {
    const copy = await copyDemoFarm();
    const out = await mkdtemp(join(tmpdir(), 'clk-collect-loop-'));
    try {
      const tracerDir = join(copy.dir, ...APP01_TRACER);
      await symlink('..', join(tracerDir, 'up'));
      await symlink('.', join(tracerDir, 'self'));
      await symlink('loop-b.log', join(tracerDir, 'loop-a.log'));
      await symlink('loop-a.log', join(tracerDir, 'loop-b.log'));
      const r = await runCli(['--farm', copy.farmFile, '--json', 'collect', ...DEMO_WINDOW, '--only', 'tracer', '--server', 'APP01', '--no-incident', '--out', out]);
      expect(r.exitCode, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.collectors).toEqual([expect.objectContaining({ server: 'APP01', collector: 'tracer', status: 'ok', files: 2 })]);
      const { manifest } = await openBundle(doc.bundle.path);
      expect(manifest.entries.some((e) => /\/(up|self|loop-[ab]\.log)(\/|$)/.test(e.path))).toBe(false);
    } finally {
      await copy.cleanup();
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('Ctrl-C', () => {
  it('exits 130 leaving neither a final-named bundle nor any temp file', async () => {
    const copy = await copyDemoFarm();
    const out = await mkdtemp(join(tmpdir(), 'clk-collect-int-'));
    const privateTmp = await mkdtemp(join(tmpdir(), 'clk-collect-inttmp-'));
    try {
      await writeBigTracer(join(copy.dir, ...APP01_TRACER, 'W6Server_big.log'), 160 * 1024 * 1024);
      const child = execa(process.execPath, [BIN, '--farm', copy.farmFile, 'collect', ...DEMO_WINDOW, '--max-file-size', '1GB', '--out', out], {
        cwd: REPO,
        env: { ...process.env, NO_COLOR: '1', CI: '1', TMPDIR: privateTmp },
        reject: false,
      });
      // Interrupt once the bundle is being written.
      let sawPartial = false;
      for (let i = 0; i < 400 && child.exitCode === null; i++) {
        const names = await readdir(out);
        if (names.some((n) => n.endsWith('.partial'))) {
          sawPartial = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(sawPartial).toBe(true);
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode, String(r.stderr)).toBe(130);
      expect(String(r.stderr)).toMatch(/Interrupted/);
      expect(await readdir(out)).toEqual([]);
      expect(await readdir(privateTmp)).toEqual([]);
    } finally {
      await copy.cleanup();
      await rm(out, { recursive: true, force: true });
      await rm(privateTmp, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!isRoot)('a full disk (tmpfs)', () => {
  let mnt: string | undefined;
  let skip: string | undefined;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clk-collect-full-'));
    const r = await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { reject: false });
    if (r.exitCode === 0) mnt = dir;
    else {
      skip = `cannot mount a tmpfs here: ${r.stderr}`;
      await rm(dir, { recursive: true, force: true });
    }
  });
  afterAll(async () => {
    if (mnt) {
      await execa('umount', [mnt], { reject: false });
      await rm(mnt, { recursive: true, force: true });
    }
  });

  it('refuses to start below --min-free, and stops cleanly on ENOSPC mid-write', async (t) => {
    if (!mnt) return t.skip(skip);
    const before = await runCli(['--farm', demo.farmFile, 'collect', ...DEMO_WINDOW, '--out', mnt]);
    expect(before.exitCode).toBe(1);
    expect(before.stderr).toMatch(/free on .*the bundle needs at least 64\.0 MiB kept free/);
    expect(before.stderr).toMatch(/hint: free space on the output volume or write the bundle elsewhere/);
    expect(await readdir(mnt)).toEqual([]);

    const during = await runCli(['--farm', demo.farmFile, 'collect', ...DEMO_WINDOW, '--min-free', '0', '--out', mnt]);
    expect(during.exitCode, during.stderr).toBe(1);
    expect(during.stderr).toMatch(/no space left/i);
    expect(await readdir(mnt)).toEqual([]);
  });
});

const ssh = await tryStartSshd();

describe.skipIf(!ssh.server)(`a server that stops answering mid-transfer${ssh.skipReason ? ` (${ssh.skipReason})` : ''}`, () => {
  afterAll(async () => {
    await ssh.server?.stop();
  });

  it('times the collector out, records it, and still finishes a valid bundle (exit 3)', async () => {
    const srv = ssh.server!;
    const dir = await mkdtemp(join(tmpdir(), 'clk-collect-ssh-'));
    try {
      const tree = join(dir, 'lnx01');
      await mkdir(join(tree, 'opt/clk'), { recursive: true });
      await mkdir(join(tree, 'logs'), { recursive: true });
      await writeFile(join(tree, 'opt/clk/version.txt'), 'Version=8.1.15.2207\n');
      await writeFile(join(tree, 'logs', 'a-small.log'), '2025-06-03 10:15:00.000 [1] ERROR W6.Server - before the stop\n');
      await writeBigTracer(join(tree, 'logs', 'b-big.log'), 48 * 1024 * 1024);
      const spec = { host: srv.host, user: srv.user, identityFile: srv.identityFile, knownHosts: srv.knownHosts };
      const farm = farmFile([sshServerEntry({ ...spec, name: 'LNX01', port: srv.port, root: tree, extra: { logs: { tracerGlobs: [`${tree}/logs/*.log`], eventLogChannels: [] } } })]);
      const farmPath = join(dir, 'clk-farm.json');
      await writeFile(farmPath, JSON.stringify(farm, null, 2));
      const out = join(dir, 'out');
      await mkdir(out);
      const child = execa(process.execPath, [BIN, '--farm', farmPath, '--json', 'collect', ...DEMO_WINDOW, '--only', 'tracer', '--max-file-size', '1GB', '--timeout-per-collector', '4s', '--no-incident', '--out', out], {
        cwd: REPO,
        env: { ...process.env, NO_COLOR: '1', CI: '1' },
        reject: false,
      });
      for (let i = 0; i < 400 && child.exitCode === null; i++) {
        if ((await readdir(out)).some((n) => n.endsWith('.partial'))) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // The server freezes: sshd and its session processes stop, the TCP connection stays open and silent.
      const pids = [srv.pid, ...descendants(srv.pid)];
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      let r;
      try {
        r = await child;
      } finally {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            /* gone */
          }
        }
      }
      expect(r.exitCode, String(r.stderr)).toBe(3);
      const doc = JSON.parse(String(r.stdout));
      const tracer = doc.collectors.find((c: { collector: string }) => c.collector === 'tracer');
      expect(tracer.status, JSON.stringify(doc.collectors)).toBe('timed-out');
      expect(tracer.reason).toMatch(/collector time limit \(4000 ms\)/);
      await unzipOk(doc.bundle.path);
      await verifyShas(doc.bundle.path);
      const { files } = await openBundle(doc.bundle.path);
      expect(files.get('collector.log')!.toString('utf8')).toMatch(/^LNX01\ttracer\t(timed-out|partial)\t/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
