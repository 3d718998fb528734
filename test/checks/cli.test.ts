// `clk-support check` as a user and a CI job run it: the built CLI, spawned, on a private copy of
// the demo farm. The JUnit file is validated against test/checks/junit.xsd with xmllint and parsed back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { execa } from 'execa';
import { createServer } from 'node:net';
import { BIN, runCli } from '../support/cli.js';
import { demoCopy, editFarm, type DemoCopy } from './helpers.js';

const XSD = fileURLToPath(new URL('./junit.xsd', import.meta.url));
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;

let demo: DemoCopy;
let out: string;
beforeAll(async () => {
  demo = await demoCopy();
  out = await mkdtemp(join(tmpdir(), 'clk-check-out-'));
});
afterAll(async () => {
  await demo.cleanup();
  await rm(out, { recursive: true, force: true });
});

const check = (...args: string[]) => runCli(['--farm', demo.farmFile, 'check', ...args]);

describe('clk-support check on the demo farm', () => {
  it('gives a mix of pass, warn, fail and skip with hints, and exits 1', async () => {
    const r = await check();
    expect(r.exitCode).toBe(1);
    const rows = r.stdout.split('\n');
    const row = (id: string) => rows.find((l) => l.includes(` ${id} `) || l.endsWith(` ${id}`)) ?? '';
    expect(row('server.reachable[APP01]')).toMatch(/^✓ pass/);
    expect(row('server.reachable[WEB01]')).toMatch(/^✗ fail/);
    expect(row('farm.versions')).toMatch(/^✗ fail .*8\.1\.15\.2190/);
    expect(row('logs.tracer[APP01]')).toMatch(/^! warn .*days old/);
    // Off Windows, a share server's services cannot be asked: could not check, never a quiet skip.
    expect(row('services.running[APP01]')).toMatch(/^☠ error .*could not check: sc\.exe is Windows-only/);
    // WEB01 is down: every check on it could not look.
    expect(row('logs.locations[WEB01]')).toMatch(/^☠ error .*could not check: WEB01 is not reachable/);
    // Hints under "To look at", and the summary line last.
    expect(r.stdout).toContain('To look at');
    expect(r.stdout).toMatch(/fix: bring every server to the same version/);
    expect(rows.filter(Boolean).at(-1)).toMatch(/^✗ \d+ passed, \d+ warnings, \d+ failed, \d+ skipped, \d+ errors in [\d.]+ s; not reachable: WEB01 \(\d+ checks could not look\)$/);
    // Results order is stable: definition order, then farm order.
    const table = rows.slice(0, rows.findIndex((l) => l.startsWith('To look at')));
    const ids = table.map((l) => /^\S+ \w+\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => Boolean(x && x.includes('.')));
    const reach = ids.filter((i) => i.startsWith('server.reachable['));
    expect(reach).toEqual(['server.reachable[APP01]', 'server.reachable[SCHED01]', 'server.reachable[INT01]', 'server.reachable[WEB01]']);
    expect(ids.indexOf('env.node')).toBe(0);
  });

  it('--json has a versioned schema, a summary and every result', async () => {
    const r = await runCli(['--farm', demo.farmFile, '--json', 'check', '--only', 'server,farm']);
    expect(r.exitCode).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.schema).toBe('clk-support/check/v1');
    expect(json.outcome).toBe('fail');
    expect(json.exitCode).toBe(1);
    expect(json.summary).toMatchObject({ total: 10, fail: 2, failed: true });
    expect(json.results.map((x: { id: string }) => x.id)).toEqual([
      'farm.valid',
      'server.reachable[APP01]',
      'server.reachable[SCHED01]',
      'server.reachable[INT01]',
      'server.reachable[WEB01]',
      'server.clock[APP01]',
      'server.clock[SCHED01]',
      'server.clock[INT01]',
      'server.clock[WEB01]',
      'farm.versions',
    ]);
    expect(json.results[4]).toMatchObject({ check: 'server.reachable', server: 'WEB01', group: 'server', severity: 'error', status: 'fail', failing: true, hint: expect.any(String) });
    for (const x of json.results) expect(Object.keys(x).sort()).toEqual(expect.arrayContaining(['check', 'details', 'durationMs', 'group', 'id', 'message', 'severity', 'status', 'title']));
  });

  it('a CI job can gate on the exit code: 0 when only warnings remain, 1 with --strict', async () => {
    const up = ['--server', 'APP01', '--server', 'SCHED01', '--server', 'INT01'];
    const onlyWarn = await check('--only', 'logs.tracer,logs.locations', ...up);
    expect(onlyWarn.exitCode).toBe(0);
    expect(onlyWarn.stdout).toMatch(/✓ 3 passed, 3 warnings, 0 failed, 0 skipped/);
    // With WEB01 (down) among the servers, the same selection cannot be green.
    expect((await check('--only', 'logs.tracer,logs.locations')).exitCode).toBe(1);
    const strict = await check('--only', 'logs.tracer,logs.locations', '--strict', ...up);
    expect(strict.exitCode).toBe(1);
    expect(strict.stdout).toMatch(/\(strict\)$/m);
  });

  it('writes a JUnit file that validates against the JUnit schema and parses back to the same results', async () => {
    const file = join(out, 'reports', 'check.xml');
    const r = await check('--junit', file);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`JUnit report written to ${file}`);
    const xml = await readFile(file, 'utf8');
    if (hasXmllint) {
      const v = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
      expect(v.stderr).toContain('validates');
      expect(v.status).toBe(0);
    } else {
      console.warn('xmllint not installed: JUnit schema validation skipped (apt-get install libxml2-utils)');
    }
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testsuite' || n === 'testcase' }).parse(xml);
    const suites = doc.testsuites.testsuite as { name: string; tests: string; failures: string; skipped: string; testcase: Record<string, unknown>[] }[];
    expect(suites.map((s) => s.name)).toEqual(['env', 'farm', 'server', 'license', 'logs', 'network', 'services', 'perf']);
    const json = JSON.parse((await runCli(['--farm', demo.farmFile, '--json', 'check'])).stdout);
    const cases = suites.flatMap((s) => s.testcase);
    expect(cases.map((c) => c.name)).toEqual([...json.results].sort((a: any, b: any) => suites.findIndex((s) => s.name === a.group) - suites.findIndex((s) => s.name === b.group)).map((x: { id: string }) => x.id));
    expect(Number(doc.testsuites.tests)).toBe(json.summary.total);
    expect(Number(doc.testsuites.failures)).toBe(json.summary.fail);
    expect(Number(doc.testsuites.skipped)).toBe(json.summary.skip);
    const web = cases.find((c) => c.name === 'server.reachable[WEB01]')!;
    expect(web.classname).toBe('clk-support.server');
    expect((web.failure as { type: string; message: string }).type).toBe('error');
    expect((web.failure as { message: string }).message).toContain('share root');
    expect(cases.find((c) => c.name === 'network.endpoints[APP01]')!.skipped).toBeDefined();
    expect((cases.find((c) => c.name === 'logs.locations[WEB01]')!.error as { message: string }).message).toContain('could not check: WEB01 is not reachable');
  });

  it.skipIf(!hasXmllint)('the schema itself rejects a malformed report (the validation can fail)', async () => {
    const bad = join(out, 'bad.xml');
    await writeFile(bad, '<testsuites><testsuite name="x" tests="one"><testcase/></testsuite></testsuites>');
    const v = spawnSync('xmllint', ['--noout', '--schema', XSD, bad], { encoding: 'utf8' });
    expect(v.status).not.toBe(0);
  });

  it('--tap prints a TAP 14 stream whose plan matches its test lines', async () => {
    const r = await check('--tap', '--group', 'logs');
    expect(r.exitCode).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('TAP version 14');
    expect(lines[1]).toBe('1..12');
    const tests = lines.filter((l) => /^(not )?ok \d+ /.test(l));
    expect(tests).toHaveLength(12);
    expect(tests.map((l) => Number(/ok (\d+)/.exec(l)![1]))).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(tests.find((l) => l.includes('logs.locations[WEB01]'))).toMatch(/^not ok \d+ - logs\.locations\[WEB01\] - could not check: WEB01 is not reachable/);
    expect(tests.find((l) => l.includes('logs.eventlog[APP01]'))).toMatch(/^ok \d+ - /);
    const strict = await check('--tap', '--group', 'logs', '--strict');
    expect(strict.exitCode).toBe(1);
    expect(strict.stdout).toMatch(/^not ok \d+ - logs\.tracer\[APP01\]/m);
  });

  it('--list lists every check without touching the farm', async () => {
    const r = await runCli(['--farm', join(out, 'missing.json'), 'check', '--list']);
    expect(r.exitCode).toBe(0);
    for (const id of ['env.node', 'farm.valid', 'server.reachable', 'server.clock', 'farm.versions', 'license.installed', 'license.covered', 'license.expiry', 'logs.locations', 'logs.tracer', 'logs.eventlog', 'env.disk', 'network.endpoints', 'services.running', 'env.admin', 'env.tools'])
      expect(r.stdout).toMatch(new RegExp(`^${id.replace('.', '\\.')} `, 'm'));
    const j = JSON.parse((await runCli(['--json', 'check', '--list'])).stdout);
    expect(j.schema).toBe('clk-support/check-list/v1');
  });
});

describe('--retry-timeout (waiting for a farm to come up)', () => {
  it('runs again while a check fails and succeeds once the problem is fixed', async () => {
    const copy = await demoCopy();
    const evtx = join(copy.drive('INT01'), 'Windows/System32/winevt/Logs/System.evtx');
    const kept = `${evtx}.kept`;
    try {
      await rename(evtx, kept);
      const child = execa(process.execPath, [BIN, '--farm', copy.farmFile, '--json', 'check', '--only', 'logs.eventlog[INT01]', '--retry-timeout', '60s', '--sleep', '300ms'], {
        reject: false,
        env: { ...process.env, NO_COLOR: '1', CI: '1' },
      });
      let stderr = '';
      let fixed = false;
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        // The "service" comes back after the first failing attempt.
        if (!fixed && stderr.includes('attempt 1: 1 failing (logs.eventlog[INT01])')) {
          fixed = true;
          void rename(kept, evtx);
        }
      });
      const r = await child;
      expect(r.exitCode).toBe(0);
      const json = JSON.parse(String(r.stdout));
      expect(json.attempts).toBeGreaterThanOrEqual(2);
      expect(json.results[0]).toMatchObject({ id: 'logs.eventlog[INT01]', status: 'pass' });
    } finally {
      await copy.cleanup();
    }
  });

  it('gives up when the time is up and reports the last attempt (exit 1)', async () => {
    const r = await runCli(['--farm', demo.farmFile, '--json', 'check', '--only', 'server.reachable[WEB01]', '--retry-timeout', '4s', '--sleep', '200ms']);
    expect(r.exitCode).toBe(1);
    const json = JSON.parse(r.stdout);
    expect(json.attempts).toBeGreaterThanOrEqual(2);
    expect(json.results[0].status).toBe('fail');
    expect(r.stderr).toMatch(/attempt 1: 1 failing \(server\.reachable\[WEB01\]\); retrying in 200 ms/);
  });

  it('refuses a duration it cannot read (exit 2)', async () => {
    const r = await check('--retry-timeout', 'soon');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--retry-timeout: "soon" is not a duration');
  });
});

describe('usage and farm errors', () => {
  it('an unknown --only id is a usage error (exit 2) naming it', async () => {
    const r = await check('--only', 'server.reachabel');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown check or group "server.reachabel"');
    expect(r.stderr).toContain('--list');
  });

  it('bad flags are usage errors', async () => {
    expect((await check('--bogus')).exitCode).toBe(2);
    expect((await check('--min-free', 'lots')).exitCode).toBe(2);
    expect((await runCli(['--farm', demo.farmFile, '--json', 'check', '--tap'])).exitCode).toBe(2);
  });

  it('a broken farm file still gives a report: farm.valid fails (exit 1), the machine checks still run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clk-broken-'));
    try {
      const broken = join(dir, 'clk-farm.json');
      await writeFile(broken, '{ "formatVersion": 1, "farm": { "name": "x" }, "servers": [] ');
      const r = await runCli(['--farm', broken, '--json', 'check']);
      expect(r.exitCode).toBe(1);
      const json = JSON.parse(r.stdout);
      const valid = json.results.find((x: { id: string }) => x.id === 'farm.valid');
      expect(valid).toMatchObject({ status: 'fail', message: expect.stringContaining('not valid JSON') });
      expect(json.results.find((x: { id: string }) => x.id === 'env.node').status).toBe('pass');
      expect(json.results.find((x: { id: string }) => x.id === 'server.reachable')).toMatchObject({ status: 'error', message: expect.stringContaining('farm.valid') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a missing farm file fails farm.valid with the hint (exit 1)', async () => {
    const r = await runCli(['check', '--only', 'farm.valid'], { cwd: out });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('No farm file: clk-farm.json is not in');
    expect(r.stdout).toContain('fix: create one with `clk-support farm init`, pass --farm <file or name>');
  });

  it.skipIf(spawnSync('ssh-keygen', ['-?']).error !== undefined)('Ctrl-C stops the run with exit 130 and prints no results', async () => {
    // A TCP server that accepts and then says nothing: an ssh probe to it hangs until its connect timeout.
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), 'clk-sigint-'));
    try {
      const farmFile = join(dir, 'clk-farm.json');
      await writeFile(join(dir, 'known_hosts'), '');
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_test')]);
      await writeFile(farmFile, JSON.stringify({
        formatVersion: 1,
        farm: { name: 'Hang', customerNumber: '1', installationNumber: '0000000001', systemId: 'TST', environment: 'test' },
        settings: { connectTimeoutMs: 120_000, timeoutMs: 120_000 },
        servers: [{ name: 'MUTE', role: 'application', platform: 'linux', transport: { type: 'ssh', host: '127.0.0.1', port, user: 'x', knownHosts: 'known_hosts', identityFile: 'id_test' }, installRoot: '/opt/clk' }],
      }));
      const child = execa(process.execPath, [BIN, '--farm', farmFile, 'check', '--only', 'server.reachable'], { reject: false, env: { ...process.env, NO_COLOR: '1', CI: '1' } });
      let stderr = '';
      await new Promise<void>((resolve) => {
        child.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('Running') && sockets.length > 0) resolve();
          // SshTransport.close() leaves a socket that is still in its handshake open (reported to the
          // lead): the server side hangs up once the CLI has reported the interruption.
          if (stderr.includes('Interrupted')) sockets.forEach((s) => s.destroy());
        });
        silent.on('connection', () => stderr.includes('Running') && resolve());
      });
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(String(r.stdout)).toBe('');
      expect(stderr).toContain('Interrupted');
    } finally {
      silent.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a farm that is valid but a check that names an unknown server stays exit 2', async () => {
    await editFarm(demo.farmFile, () => {});
    const r = await check('--server', 'NOPE');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('No server "NOPE"');
  });
});
