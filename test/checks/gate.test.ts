// `check` as a CI gate that never lies, through the built CLI: a check that could not look is never
// green (unreachable servers, tool output that cannot be read), a JUnit file that cannot be written is
// a usage error found before the run, and the README's Linux/ssh example farm passes its own checks
// against a real sshd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseJsonc } from 'jsonc-parser';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../support/cli.js';
import { freePort, generateKey, sshdUnavailableReason, startSshd } from '../support/sshd.js';
import { demoCopy, editFarm, standIn, type DemoCopy } from './helpers.js';

let demo: DemoCopy;
let scratch: string;
beforeAll(async () => {
  demo = await demoCopy();
  scratch = await mkdtemp(join(tmpdir(), 'clk-gate-'));
});
afterAll(async () => {
  await demo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const check = (...args: string[]) => runCli(['--farm', demo.farmFile, 'check', ...args]);

describe('an unreachable server never gives a green run', () => {
  it('check --only services.running,license.installed -s WEB01 with WEB01 down exits 1, and the summary says why', async () => {
    const r = await check('--only', 'services.running,license.installed', '-s', 'WEB01');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^☠ error\s+license\.installed\[WEB01\]\s+could not check: WEB01 is not reachable$/m);
    // Not asked with sc (the share is down): the reason is the server, not sc.exe.
    expect(r.stdout).toMatch(/^☠ error\s+services\.running\[WEB01\]\s+could not check: WEB01 is not reachable$/m);
    expect(r.stdout).toMatch(/^✗ 0 passed, 0 warnings, 0 failed, 0 skipped, 2 errors in [\d.]+ s; not reachable: WEB01 \(2 checks could not look\)$/m);
    expect(r.stderr).toContain('Running 2 checks on');
  });

  it('even a warning-severity check (logs.tracer) fails the run when its server is down; --json says which servers', async () => {
    const r = await runCli(['--farm', demo.farmFile, '--json', 'check', '--only', 'logs.tracer', '-s', 'WEB01']);
    expect(r.exitCode).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.outcome).toBe('fail');
    expect(json.summary.unreachable).toEqual([{ server: 'WEB01', results: 1 }]);
    expect(json.results[0]).toMatchObject({ id: 'logs.tracer[WEB01]', status: 'error', failing: true, unreachable: ['WEB01'] });
    const one = await check('--only', 'logs.tracer', '-s', 'WEB01');
    expect(one.stderr).toContain('Running 1 check on');
  });

  it('a server listed as not expected online is skipped, not failed', async () => {
    const copy = await demoCopy();
    try {
      await editFarm(copy.farmFile, (raw) => (raw.servers[3].expected = false));
      const r = await runCli(['--farm', copy.farmFile, '--json', 'check', '--only', 'license.installed,logs.locations', '-s', 'WEB01']);
      expect(r.exitCode).toBe(0);
      expect(JSON.parse(r.stdout).results.map((x: { status: string }) => x.status)).toEqual(['skip', 'skip']);
    } finally {
      await copy.cleanup();
    }
  });

  it('checks of the farm without a valid farm file could not check (exit 1), they are not skipped', async () => {
    const broken = join(scratch, 'broken.json');
    await writeFile(broken, '{ "formatVersion": 1 }');
    const r = await runCli(['--farm', broken, '--json', 'check', '--only', 'services.running,farm.versions']);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout).results.map((x: { status: string }) => x.status)).toEqual(['error', 'error']);
  });
});

describe('--junit FILE that cannot be written', () => {
  it('is a usage error (exit 2) naming the file, found before any check runs', async () => {
    const blocker = join(scratch, 'a-file');
    await writeFile(blocker, 'x');
    const target = join(blocker, 'reports', 'check.xml');
    const r = await check('--junit', target);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: --junit: cannot write the JUnit report to ${target}: a part of the path is a file, not a folder`);
    expect(r.stderr).toContain('hint: ');
    expect(r.stderr).not.toContain('Running');
  });

  it('a folder given as the file is exit 2 too, and the folder is left as it was', async () => {
    const dir = join(scratch, 'reports-dir');
    await mkdir(dir);
    const r = await check('--only', 'env.node', '--junit', dir);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`cannot write the JUnit report to ${dir}: that path is a folder (EISDIR)`);
  });

  it('a folder that does not exist yet is created (exit 0)', async () => {
    const file = join(scratch, 'new', 'deeper', 'check.xml');
    const r = await check('--only', 'env.node', '--junit', file);
    expect(r.exitCode).toBe(0);
    expect(await readFile(file, 'utf8')).toContain('<testsuites');
  });
});

const sshdReason = sshdUnavailableReason();

describe.skipIf(Boolean(sshdReason))(`services.running over a real sshd: what sc prints decides${sshdReason ? ` (${sshdReason})` : ''}`, () => {
  it('empty output, access denied, RPC 1722 and unknown text are "could not check" with the raw reason; STOPPED is "not running"', async () => {
    const key = join(scratch, 'id_sc');
    const pub = await generateKey(key, 'clk-gate-sc');
    // Stands in for sc.exe on a Windows server: each service name gets one of the answers sc gives.
    const sc = join(scratch, 'server-sc');
    await standIn(scratch, 'server-sc', `set -- $SSH_ORIGINAL_COMMAND
[ "$1" = sc ] && [ "$2" = query ] || exit 127
case "$3" in
  W6Server) printf 'SERVICE_NAME: W6Server\\r\\n        STATE              : 4  RUNNING \\r\\n' ;;
  W6Stopped) printf 'SERVICE_NAME: W6Stopped\\r\\n        STATE              : 1  STOPPED \\r\\n' ;;
  W6Empty) exit 0 ;;
  W6Denied) printf '[SC] OpenService FAILED 5:\\r\\n\\r\\nAccess is denied.\\r\\n\\r\\n'; exit 5 ;;
  W6Rpc) printf '[SC] OpenSCManager FAILED 1722:\\r\\n\\r\\nThe RPC server is unavailable.\\r\\n\\r\\n'; exit 1722 ;;
  *) printf 'Zugriff verweigert\\r\\n'; exit 1 ;;
esac`);
    const sshd = await startSshd({ extraAuthorizedKeys: [`command="${sc}" ${pub}`] });
    const downPort = await freePort();
    try {
      const transport = { type: 'ssh', host: sshd.host, port: sshd.port, user: sshd.user, identityFile: key, knownHosts: sshd.knownHosts };
      const server = (name: string, services: string[], t: Record<string, unknown> = transport) => ({ name, role: 'application', platform: 'windows', transport: t, installRoot: 'C:\\CLK', services });
      await editFarm(demo.farmFile, (raw) => {
        raw.settings = { connectTimeoutMs: 3000, timeoutMs: 15000 };
        raw.servers = [
          server('OK', ['W6Server']),
          server('EMPTY', ['W6Server', 'W6Empty']),
          server('DENIED', ['W6Denied']),
          server('RPC', ['W6Rpc']),
          server('ODD', ['W6Odd']),
          server('STOPPED', ['W6Stopped', 'W6Rpc']),
          server('DOWN', ['W6Server'], { ...transport, port: downPort }),
        ];
      });
      const r = await runCli(['--farm', demo.farmFile, '--json', 'check', '--only', 'services.running']);
      expect(r.exitCode, r.stderr).toBe(1);
      const byServer = Object.fromEntries(JSON.parse(r.stdout).results.map((x: { server: string }) => [x.server, x]));
      expect(byServer.OK).toMatchObject({ status: 'pass' });
      expect(byServer.EMPTY).toMatchObject({ status: 'error', failing: true, message: 'could not check: W6Empty: sc printed nothing' });
      expect(byServer.EMPTY.details).toEqual(['ok: W6Server: RUNNING', 'could not check: W6Empty: sc printed nothing']);
      expect(byServer.DENIED).toMatchObject({ status: 'error', message: expect.stringMatching(/^could not check: W6Denied: access is denied .*\(sc error 5\), exit code 5$/) });
      expect(byServer.RPC).toMatchObject({ status: 'error', message: expect.stringMatching(/^could not check: W6Rpc: the RPC server is unavailable .*\(sc error 1722\)/) });
      expect(byServer.ODD).toMatchObject({ status: 'error', message: 'could not check: W6Odd: sc answered: Zugriff verweigert, exit code 1' });
      // A stopped service is a real answer: fail, and the one that could not be asked is named too.
      expect(byServer.STOPPED).toMatchObject({ status: 'fail', message: 'not running: W6Stopped; could not check: W6Rpc' });
      expect(byServer.DOWN).toMatchObject({ status: 'error', message: expect.stringMatching(/^could not check: DOWN is not reachable/), unreachable: ['DOWN'] });
      for (const x of Object.values(byServer) as { message: string }[]) expect(x.message).not.toMatch(/^not running: W6(Empty|Denied|Rpc|Odd)/);
    } finally {
      await sshd.stop();
    }
  });
});

describe.skipIf(Boolean(sshdReason))(`the README's Linux/ssh example farm passes its own checks against a real sshd${sshdReason ? ` (${sshdReason})` : ''}`, () => {
  it('no Windows defaults on platform linux: check exits 0 with nothing failed', async () => {
    // The full example exactly as the README prints it (JSONC, read as the CLI reads it); only where the server is changes.
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const block = /A full example[\s\S]*?```jsonc\n([\s\S]*?)\n```/.exec(readme)![1];
    const example = parseJsonc(block, [], { allowTrailingComma: true });
    const linux = example.servers.find((s: { platform?: string }) => s.platform === 'linux');
    expect(linux, 'the README example lists a linux server').toBeDefined();
    expect(linux.transport.type).toBe('ssh');
    const sshd = await startSshd();
    const root = join(scratch, 'linux-root');
    try {
      // The server's files live under a private root here, at the README's own paths.
      const rebase = (p: string) => join(root, p);
      await mkdir(rebase(linux.installRoot), { recursive: true });
      await mkdir(join(rebase(linux.version.file), '..'), { recursive: true });
      await writeFile(rebase(linux.version.file), 'Version=8.1.15.2207 Build=2207\n');
      linux.installRoot = rebase(linux.installRoot);
      linux.version.file = rebase(linux.version.file);
      linux.transport = { ...linux.transport, host: sshd.host, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHosts: sshd.knownHosts };
      const farm = { ...example, license: { ...example.license, trustedKeys: [] }, servers: [linux] };
      const farmFile = join(scratch, 'linux-farm.json');
      await writeFile(farmFile, JSON.stringify(farm, null, 2));
      const r = await runCli(['--farm', farmFile, '--json', 'check', '--min-free', '1MB']);
      const json = JSON.parse(r.stdout);
      const bad = json.results.filter((x: { status: string }) => !['pass', 'skip'].includes(x.status));
      expect(bad, JSON.stringify(bad, null, 2)).toEqual([]);
      expect(r.exitCode).toBe(0);
      const byId = Object.fromEntries(json.results.map((x: { id: string }) => [x.id, x]));
      expect(byId['server.reachable[SCHED01]'].status).toBe('pass');
      expect(byId['farm.versions']).toMatchObject({ status: 'pass', message: '8.1.15.2207 (build 2207) on SCHED01' });
      expect(byId['logs.eventlog[SCHED01]'].status).toBe('skip');
      // Nothing Windows is looked for on Linux.
      expect(JSON.stringify(json.results)).not.toContain('winevt');
      const listed = await runCli(['--farm', farmFile, '--json', 'farm', 'validate']);
      expect(listed.stdout).not.toContain('winevt');
    } finally {
      await sshd.stop();
    }
  });
});
