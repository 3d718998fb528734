// Issue 8: the farm paths on real hosts. Each host is a network namespace with its own address,
// host name, machine id, OpenSSH server and ClickSoftware tree; the built CLI runs in the root
// namespace and reaches them over ssh. Every scenario asserts what the admin sees: exit code, table,
// files on each host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { createNetnsFarm, netnsUnavailableReason, type NetnsFarm, type NetnsHost } from '../support/netns.js';
import { generateKey } from '../support/sshd.js';
import { REPO, runCli } from './cli.js';
import { copyDemoTree, demoFarm, linuxEntryFromDemo, type DemoServer } from './trees.js';

const skipReason = await netnsUnavailableReason();
if (skipReason) console.warn(`namespace farm suite skipped: ${skipReason}`);

// Generous: a loaded CI machine must not turn a slow handshake into a false "timeout".
const CONNECT_TIMEOUT_MS = 5000;
const HOSTS: { name: string; demo: DemoServer; role?: string }[] = [
  { name: 'APP01', demo: 'app01' },
  { name: 'SCHED01', demo: 'sched01' },
  { name: 'INT01', demo: 'int01' },
  { name: 'DOWN01', demo: 'sched01', role: 'optimization' },
  { name: 'DARK01', demo: 'sched01', role: 'optimization' },
  { name: 'FAKE01', demo: 'app01', role: 'web' },
  { name: 'DISK01', demo: 'sched01', role: 'optimization' },
  { name: 'KILL01', demo: 'app01', role: 'optimization' },
];
const HEALTHY = ['APP01', 'SCHED01', 'INT01'];
const WINDOW = ['--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z'];
const LICENSE_DIR = 'Program Files/ClickSoftware/Service Optimization/License';
const SIGNER = join(REPO, 'test/tools/sign-response.mjs');
const BIG_BLG_MB = 64;

const run = promisify(execFile);

/** Every file below root with its sha256: what "byte for byte" compares (a folder not there holds none). */
async function treeDigest(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  for (const rel of entries.filter((d) => d.isFile())) {
    const full = join(rel.parentPath ?? (rel as unknown as { path: string }).path, rel.name);
    out[full.slice(root.length + 1)] = createHash('sha256').update(await readFile(full)).digest('hex');
  }
  return out;
}

async function zipEntries(zip: string): Promise<string[]> {
  const { stdout } = await run('unzip', ['-Z1', zip], { maxBuffer: 16 << 20 });
  return stdout.split('\n').filter(Boolean);
}

async function zipEntry(zip: string, entry: string): Promise<Buffer> {
  const { stdout } = await run('unzip', ['-p', zip, entry], { encoding: 'buffer', maxBuffer: 256 << 20 });
  return stdout as unknown as Buffer;
}

function rows(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => /^[A-Z0-9]+\s/.test(l) && !l.startsWith('SERVER'))
      .map((l) => [l.split(/\s+/)[0], l]),
  );
}

describe.skipIf(!!skipReason)('namespace farm: real hosts over ssh', () => {
  let net: NetnsFarm;
  let farmDir: string;
  const entries: Record<string, Record<string, unknown>> = {};

  /** Write a farm file listing these servers; returns its path. */
  async function writeFarm(file: string, names: string[], settings: Record<string, unknown> = {}): Promise<string> {
    const { farm } = await demoFarm();
    const doc = {
      ...farm,
      farm: { ...(farm.farm as object), name: 'Namespace farm' },
      settings: {
        ...(farm.settings as object),
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        timeoutMs: 20_000,
        concurrency: 8,
        // Without /etc/machine-id on this machine the hosts have no machine id to match: the host
        // name is then the one component a license is bound to.
        fingerprintMinMatches: net.hosts[0].machineId ? 2 : 1,
        ...settings,
      },
      license: { trustedKeys: [{ id: 'clk-support-test-2026', publicKeyFile: join(REPO, 'fixtures/keys/test-ed25519.pub.pem') }], stateDir: '.clk-support' },
      servers: names.map((n) => entries[n]),
    };
    const path = join(farmDir, file);
    await writeFile(path, JSON.stringify(doc, null, 2));
    return path;
  }

  beforeAll(async () => {
    net = await createNetnsFarm(HOSTS.map((h) => h.name));
    farmDir = join(net.base, 'admin');
    await mkdir(farmDir, { recursive: true });
    // FAKE01 is listed in known_hosts with a key it does not have: an impostor at that address.
    const impostor = await generateKey(join(farmDir, 'impostor_key'), 'impostor');
    const fake = net.host('FAKE01');
    await writeFile(
      net.knownHosts,
      net.hosts.map((h) => (h === fake ? `${h.address} ${impostor.split(' ').slice(0, 2).join(' ')}` : net.knownHostsLine(h))).join('\n') + '\n',
    );
    for (const h of HOSTS) {
      const host = net.host(h.name);
      await copyDemoTree(h.demo, host.root);
      // The scenarios start from a farm without a license, whatever the demo trees carry.
      await rm(join(host.root, LICENSE_DIR), { recursive: true, force: true });
      entries[h.name] = await linuxEntryFromDemo(h.demo, h.name, host.root, { host: host.address, user: 'root', identityFile: net.identityFile, knownHosts: net.knownHosts }, h.role);
    }
    // DISK01: its license folder is a 3-page tmpfs: room for the license, a lock and a backup, not
    // for one more file (the new license written beside the old one).
    const disk = net.host('DISK01');
    await disk.mountTinyDisk(join(disk.root, LICENSE_DIR), 3 * 4096);
    // KILL01: a large Performance Monitor log, so a collect is still reading it when the host dies.
    const kill = net.host('KILL01');
    const capture = join(kill.root, 'PerfLogs/Admin/ClickSoftware/Capture');
    await mkdir(capture, { recursive: true });
    await run('sh', ['-c', `head -c ${BIG_BLG_MB}M /dev/urandom > '${join(capture, 'KILL01_Capture_000001.blg')}'`]);
    await net.host('DOWN01').stopSshd();
    await net.host('DARK01').blackhole();
  }, 120_000);

  afterAll(async () => {
    await net?.teardown();
  });

  describe('farm status', () => {
    it('shows every host: versions and builds of the reachable, and why each other one is not', async () => {
      const farmPath = await writeFarm('status.json', [...HEALTHY, 'DOWN01', 'DARK01', 'FAKE01']);
      const r = await runCli(['--farm', farmPath, 'farm', 'status']);
      expect(r.code, r.stderr).toBe(3);
      const t = rows(r.stdout);
      expect(Object.keys(t).sort()).toEqual(['APP01', 'DARK01', 'DOWN01', 'FAKE01', 'INT01', 'SCHED01']);
      expect(t.APP01).toMatch(/^APP01\s+application\s+ssh\s+reachable\s+8\.1\.15\.2207\s+2207\s/);
      expect(t.SCHED01).toMatch(/^SCHED01\s+scheduling\s+ssh\s+reachable\s+8\.1\.15\.2207\s+2207\s/);
      expect(t.INT01).toMatch(/^INT01\s+integration\s+ssh\s+reachable\s+8\.1\.15\.2190\s+2190\s/);
      expect(t.DOWN01).toMatch(/^DOWN01\s+optimization\s+ssh\s+unreachable\s+refused: /);
      expect(t.DARK01).toMatch(/^DARK01\s+optimization\s+ssh\s+unreachable\s+timeout: /);
      expect(t.FAKE01).toMatch(/^FAKE01\s+web\s+ssh\s+unreachable\s+host-key: .*does not match known_hosts/);
      expect(r.stderr).toMatch(/versions differ across the farm: 8\.1\.15\.2207 on APP01, SCHED01; 8\.1\.15\.2190 on INT01/);
      expect(r.stderr).toMatch(/DARK01 unreachable: timeout: no SSH handshake within 5000 ms; no answer in time/);
      expect(r.stderr).toMatch(/FAKE01 unreachable: host-key: .*verify it out of band/);
    });

    it('reports each host as itself (its own host name and machine id) in --json', async () => {
      const farmPath = await writeFarm('status-json.json', ['APP01', 'SCHED01', 'INT01']);
      const r = await runCli(['--farm', farmPath, 'farm', 'status', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.schema).toBe('clk-support/farm-status/v1');
      for (const s of doc.servers as { name: string; hostname: string; fingerprint: { kind: string; hash: string }[]; clockOffsetMs: number }[]) {
        const host: NetnsHost = net.host(s.name);
        expect(s.hostname).toBe(host.hostname);
        if (host.machineId) {
          const want = createHash('sha256').update(`clk-support:machine-id:${host.machineId}`).digest('hex').slice(0, 32);
          expect(s.fingerprint.find((c) => c.kind === 'machine-id')?.hash).toBe(want);
        }
        expect(Math.abs(s.clockOffsetMs)).toBeLessThan(2000);
      }
      // Three machines, three fingerprints.
      expect(new Set(doc.servers.map((s: { fingerprint: unknown }) => JSON.stringify(s.fingerprint))).size).toBe(3);
    });

    it('waits for the blackholed host about one connect timeout, in parallel with the others', async () => {
      const farmPath = await writeFarm('status-dark.json', ['APP01', 'DARK01', 'SCHED01']);
      const r = await runCli(['--farm', farmPath, 'farm', 'status', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      const dark = JSON.parse(r.stdout).servers.find((s: { name: string }) => s.name === 'DARK01');
      expect(dark).toMatchObject({ reachable: false, reason: 'timeout' });
      // The timeout is the farm's connect timeout, not the kernel's minutes-long SYN retry.
      expect(dark.durationMs).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 100);
      expect(dark.durationMs).toBeLessThan(CONNECT_TIMEOUT_MS + 5000);
    });

    it('fails with exit 1 when no host answers', async () => {
      const farmPath = await writeFarm('status-none.json', ['DOWN01', 'FAKE01']);
      const r = await runCli(['--farm', farmPath, 'farm', 'status']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(rows(r.stdout).DOWN01).toMatch(/unreachable\s+refused/);
    });
  });

  describe('check', () => {
    it('runs the prerequisite checks on every host: a down host, mixed builds and no license fail the run', async () => {
      const farmPath = await writeFarm('check.json', [...HEALTHY, 'DOWN01']);
      const junit = join(farmDir, 'check.xml');
      const r = await runCli(['--farm', farmPath, 'check', '--junit', junit]);
      expect(r.code, r.stderr).toBe(1);
      const line = (id: string) => r.stdout.split('\n').find((l) => l.includes(` ${id} `) || l.endsWith(` ${id}`)) ?? '';
      for (const n of HEALTHY) {
        expect(line(`server.reachable[${n}]`)).toMatch(/^✓ pass\s+server\.reachable\[\w+\]\s+reachable via ssh in \d+ ms, 8\.1\.15\.\d+/);
        expect(line(`server.clock[${n}]`)).toMatch(/^✓ pass/);
        expect(line(`logs.locations[${n}]`)).toMatch(/^✓ pass .*3 log folders readable/);
        expect(line(`license.installed[${n}]`)).toMatch(/^✗ fail .*no license installed at /);
      }
      expect(line('server.reachable[DOWN01]')).toMatch(/^✗ fail .*ECONNREFUSED/);
      expect(line('farm.versions')).toMatch(/^✗ fail .*8\.1\.15\.2207 \(build 2207\) on APP01, SCHED01; 8\.1\.15\.2190 \(build 2190\) on INT01/);
      const xml = await readFile(junit, 'utf8');
      expect(xml).toMatch(/<testsuites?[\s>]/);
      expect(xml).toContain('server.reachable[DOWN01]');
    });
  });

  describe('collect', () => {
    it('collects one valid bundle from every host, with their files byte for byte, and changes nothing on them', async () => {
      const farmPath = await writeFarm('collect.json', HEALTHY);
      const before = await Promise.all(HEALTHY.map((n) => treeDigest(net.host(n).root)));
      const r = await runCli(['--farm', farmPath, 'collect', ...WINDOW, '--out', join(farmDir, 'bundles')]);
      expect(r.code, r.stderr).toBe(0);
      const t = rows(r.stderr);
      for (const n of HEALTHY) expect(t[n]).toMatch(new RegExp(`^${n}\\s+ok\\s+ok \\(1\\)\\s+ok \\(2\\)\\s+ok \\(2\\)\\s+ok \\(2\\)\\s+ok \\(2\\)`));
      const zip = r.stdout.trim();
      expect(zip).toMatch(/\.zip$/);
      const verify = await runCli(['bundle', 'verify', zip]);
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/^ok /);
      const entries = await zipEntries(zip);
      for (const n of HEALTHY) {
        // Binary logs are carried as they are on the host.
        const host = net.host(n);
        const evtx = join(host.root, 'Windows/System32/winevt/Logs/Application.evtx');
        expect((await zipEntry(zip, `${n}/eventlogs/Application.evtx`)).equals(await readFile(evtx))).toBe(true);
        const blg = entries.find((e) => e.startsWith(`${n}/perfmon/`) && e.endsWith('.blg'))!;
        expect(blg).toBeTruthy();
        expect((await zipEntry(zip, blg)).equals(await readFile(join(host.root, 'PerfLogs/Admin/ClickSoftware', blg.split('/').pop()!)))).toBe(true);
        expect(entries.some((e) => e.startsWith(`${n}/tracer/`) && e.endsWith('W6Server_20250603.log'))).toBe(true);
      }
      // Collecting reads; it never writes on a server.
      expect(await Promise.all(HEALTHY.map((n) => treeDigest(net.host(n).root)))).toEqual(before);
    });

    it('records a host killed in the middle as partial, and the bundle is still valid', async () => {
      const farmPath = await writeFarm('collect-kill.json', [...HEALTHY, 'KILL01']);
      const kill = net.host('KILL01');
      const big = join(kill.root, 'PerfLogs/Admin/ClickSoftware/Capture/KILL01_Capture_000001.blg');
      const running = runCli(['--farm', farmPath, 'collect', ...WINDOW, '--out', join(farmDir, 'bundles-kill'), '--max-file-size', '1GB']);
      try {
        // The moment KILL01's SFTP server opens the big log, the host dies (every process in it).
        await kill.waitForOpenFile(big, 60_000);
        await kill.killAll();
      } finally {
        const r = await running;
        await kill.startSshd();
        expect(r.code, r.stderr).toBe(3);
        const t = rows(r.stderr);
        for (const n of HEALTHY) expect(t[n]).toMatch(new RegExp(`^${n}\\s+ok\\s`));
        expect(t.KILL01).toMatch(/^KILL01\s+partial\s/);
        expect(r.stderr).toMatch(/KILL01 perfmon (partial|failed): .*KILL01_Capture_000001\.blg: stopped after \d+ bytes: KILL01: connection closed while reading/);
        expect(r.stderr).toMatch(/warning: partial bundle .*\.zip/);
        const zip = r.stdout.trim();
        const verify = await runCli(['bundle', 'verify', zip]);
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);
        const log = (await zipEntry(zip, 'collector.log')).toString('utf8');
        expect(log).toMatch(/KILL01/);
        const entries = await zipEntries(zip);
        for (const n of HEALTHY) expect(entries).toContain(`${n}/eventlogs/Application.evtx`);
      }
    }, 120_000);
  });

  describe('license', () => {
    const LICENSED = [...HEALTHY, 'DISK01'];
    const licenseDir = (n: string) => join(net.host(n).root, LICENSE_DIR);
    const licenseDirs = () => Promise.all(LICENSED.map((n) => treeDigest(licenseDir(n))));

    it('refuses to write a request while an expected host is unreachable or has a wrong host key', async () => {
      const farmPath = await writeFarm('license-bad.json', [...HEALTHY, 'FAKE01', 'DOWN01']);
      const out = join(farmDir, 'refused.request');
      const r = await runCli(['--farm', farmPath, 'license', 'request', '--out', out], { cwd: farmDir });
      expect(r.code).toBe(1);
      const t = rows(r.stdout);
      expect(t.FAKE01).toMatch(/^FAKE01\s+web\s+unreachable\s+host-key$/);
      expect(t.DOWN01).toMatch(/^DOWN01\s+optimization\s+unreachable\s+refused$/);
      expect(r.stderr).toMatch(/Not written: expected servers FAKE01, DOWN01 unreachable/);
      await expect(readFile(out)).rejects.toThrow(/ENOENT/);
      const partial = await runCli(['--farm', farmPath, 'license', 'request', '--allow-partial', '--out', out], { cwd: farmDir });
      expect(partial.code, partial.stderr).toBe(3);
      expect(await readFile(out, 'utf8')).toMatch(/APP01[\s\S]*SCHED01[\s\S]*INT01/);
    });

    it('requests for every host, installs the signed response on each (byte for byte) and reports it', async () => {
      const farmPath = await writeFarm('license.json', LICENSED);
      const req = join(farmDir, 'License.request');
      const r = await runCli(['--farm', farmPath, 'license', 'request', '--out', req], { cwd: farmDir });
      expect(r.code, r.stderr).toBe(0);
      for (const n of LICENSED) expect(rows(r.stdout)[n]).toMatch(new RegExp(`^${n}\\s+\\w+\\s+covered\\s+[0-9a-f]{12} \\(\\d\\)\\s+8\\.1\\.15\\.\\d+\\s+none`));
      expect(r.stderr).toMatch(/covering 4 servers/);
      const resp = join(farmDir, 'license.response');
      await run(process.execPath, [SIGNER, '--request', req, '--out', resp]);

      const check = await runCli(['--farm', farmPath, 'license', 'apply', resp, '--check'], { cwd: farmDir });
      expect(check.code, check.stderr).toBe(0);
      for (const n of LICENSED) expect(rows(check.stdout)[n]).toMatch(/reachable\s+match\s+yes\s+none\s+would-install/);
      expect(await licenseDirs()).toEqual(LICENSED.map(() => ({})));

      const a = await runCli(['--farm', farmPath, '--yes', 'license', 'apply', resp], { cwd: farmDir });
      expect(a.code, a.stderr).toBe(0);
      for (const n of LICENSED) expect(rows(a.stdout)[n]).toMatch(/reachable\s+match\s+yes\s+none\s+installed/);
      expect(a.stderr).toMatch(/Installed license LIC-FSP-2 \(sequence 2.*on APP01, SCHED01, INT01, DISK01/);
      const response = await readFile(resp);
      for (const n of LICENSED) {
        expect((await readFile(join(licenseDir(n), 'License.xml'))).equals(response), `${n} License.xml`).toBe(true);
        // Nothing else is left in the license folder: no lock, no temporary file.
        expect(Object.keys(await treeDigest(licenseDir(n)))).toEqual(['License.xml']);
      }

      const st = await runCli(['--farm', farmPath, 'license', 'status'], { cwd: farmDir });
      expect(st.code, st.stderr).toBe(0);
      for (const n of LICENSED) expect(rows(st.stdout)[n]).toMatch(/reachable\s+LIC-FSP-2 #2\s+yes\s+covered\s+\d{4}-\d\d-\d\d \(\d+ d\)\s+match\s+valid/);
    });

    it('puts every host back when a disk fills up during apply, and applies once there is room', async () => {
      const farmPath = await writeFarm('license.json', LICENSED);
      const req = join(farmDir, 'License-3.request');
      expect((await runCli(['--farm', farmPath, 'license', 'request', '--out', req], { cwd: farmDir })).code).toBe(0);
      const resp = join(farmDir, 'license-3.response');
      await run(process.execPath, [SIGNER, '--request', req, '--out', resp, '--sequence', '3']);
      const before = await licenseDirs();

      const a = await runCli(['--farm', farmPath, '--yes', 'license', 'apply', resp], { cwd: farmDir });
      expect(a.code).toBe(1);
      expect(a.stderr).toMatch(/Installing license LIC-FSP-3 failed on DISK01: .*no space left on the disk .*Every server was put back as it was/);
      // APP01, SCHED01 and INT01 had the new license before DISK01 failed: all are as before, byte
      // for byte, with no backup, lock or temporary file left behind.
      expect(await licenseDirs()).toEqual(before);

      await net.host('DISK01').resizeTinyDisk(licenseDir('DISK01'), 64 * 1024);
      const again = await runCli(['--farm', farmPath, '--yes', 'license', 'apply', resp], { cwd: farmDir });
      expect(again.code, again.stderr).toBe(0);
      const response = await readFile(resp);
      for (const n of LICENSED) {
        expect((await readFile(join(licenseDir(n), 'License.xml'))).equals(response), `${n} License.xml`).toBe(true);
        // The previous license is kept beside the new one.
        expect(Object.keys(await treeDigest(licenseDir(n))).some((f) => f.startsWith('License.xml.bak-'))).toBe(true);
      }
      const st = await runCli(['--farm', farmPath, 'license', 'status'], { cwd: farmDir });
      expect(st.code, st.stderr).toBe(0);
      for (const n of LICENSED) expect(rows(st.stdout)[n]).toMatch(/LIC-FSP-3 #3\s+yes\s+covered/);
    });

    it('check then finds the license installed and genuine on every host', async () => {
      const farmPath = await writeFarm('check-licensed.json', LICENSED);
      const r = await runCli(['--farm', farmPath, 'check', '--group', 'license']);
      for (const n of LICENSED) expect(r.stdout).toMatch(new RegExp(`✓ pass\\s+license\\.installed\\[${n}\\]`));
      expect(r.code, r.stdout).toBe(0);
    });
  });

  describe('incident prefill', () => {
    it('reads every host: users affected per host, first error, builds that differ, the host that is down', async () => {
      const farmPath = await writeFarm('incident.json', [...HEALTHY, 'DOWN01']);
      const answers = join(farmDir, 'answers.json');
      await writeFile(
        answers,
        JSON.stringify({
          shortDescription: 'Dispatch board errors for several users',
          steps: 'open the dispatch board',
          systemDown: false,
          processes: 'dispatch',
          usersAffected: 'about 7',
          workaround: 'none',
          deadlines: 'none',
          financialImpact: 'none',
          gettingWorse: false,
          goLiveDate: '2026-12-01',
          showstopper: false,
          contactName: 'Farm Admin',
          contactPhone: '+1 555 0100',
          contactEmail: 'admin@example.com',
        }),
      );
      const args = ['--farm', farmPath, '--no-input', 'incident', 'prefill', '--around', '2025-06-03T10:30Z', '--span', '4h', '--answers', answers];
      const r = await runCli(['--json', ...args]);
      expect(r.code, r.stderr).toBe(3);
      const doc = JSON.parse(r.stdout);
      expect(doc.schema).toBe('clk-support/incident-prefill/v1');
      const byName = Object.fromEntries(doc.servers.map((s: { name: string }) => [s.name, s]));
      expect(byName.APP01.tracer.users).toHaveLength(7);
      expect(byName.SCHED01.tracer.users).toHaveLength(4);
      expect(byName.INT01.tracer.users).toHaveLength(0);
      expect(byName.INT01).toMatchObject({ reachable: true, version: '8.1.15.2190', differs: true });
      expect(byName.DOWN01.reachable).toBe(false);
      expect(byName.SCHED01.firstError.time).toBe('2025-06-03T10:12:58.020Z');

      const text = await runCli(args);
      expect(text.code, text.stderr).toBe(3);
      expect(text.stdout).toMatch(/Users affected: 7 distinct user\(s\) seen in errors \(APP01 7, SCHED01 4, INT01 0\)/);
      expect(text.stdout).toMatch(/First occurred: 2025-06-03 10:12:58 UTC on SCHED01/);
      expect(text.stdout).toMatch(/INT01\s+8\.1\.15\.2190 \(build 2190\).*DIFFERS/);
      expect(text.stdout + text.stderr).toMatch(/DOWN01/);
    });
  });
});
