import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_FARM, runCli } from '../support/cli.js';

describe('the built CLI', () => {
  it('prints help with examples and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage: clk-support');
    expect(r.stdout).toContain('Examples:');
  });

  it('shows examples in every subcommand help', async () => {
    const r = await runCli(['farm', 'status', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Examples:\n\s+\$ clk-support farm status/);
  });

  it('prints the version', async () => {
    const r = await runCli(['--version']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exits 2 on an unknown option, with the usage hint on stderr', async () => {
    const r = await runCli(['farm', 'status', '--no-such-flag']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
    expect(r.stdout).toBe('');
  });

  it('exits 2 on an unknown command and with no arguments', async () => {
    expect((await runCli(['frobnicate'])).exitCode).toBe(2);
    expect((await runCli([])).exitCode).toBe(2);
  });

  it('exits 2 with a hint when there is no farm file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clk-nofarm-'));
    try {
      const r = await runCli(['farm', 'status'], { cwd: dir });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('No farm file: clk-farm.json is not in');
      expect(r.stderr).toContain('hint: create one with `clk-support farm init`, pass --farm <file or name>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the file, the field and what was expected for a bad farm file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clk-badfarm-'));
    try {
      const file = join(dir, 'clk-farm.json');
      await writeFile(
        file,
        JSON.stringify({
          formatVersion: 1,
          farm: { name: 'x', customerNumber: '12', installationNumber: '123', systemId: 'FSP', environment: 'prod' },
          servers: [{ name: 'A', role: 'application', transport: { type: 'ftp' }, installRoot: 'C:\\x', colour: 'red' }],
        }),
      );
      const r = await runCli(['farm', 'validate'], { cwd: dir });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`${file}: farm.installationNumber: must be the 10-digit SAP installation number`);
      expect(r.stderr).toContain(`${file}: farm.environment: expected one of "production", "test", got "prod"`);
      expect(r.stderr).toContain(`${file}: servers[0]: unknown key "colour"`);
      expect(r.stderr).toContain(`${file}: servers[0].transport.type: "type" must be one of "local", "share", "ssh"`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives the line and column of a JSON syntax error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clk-badjson-'));
    try {
      await writeFile(join(dir, 'clk-farm.json'), '{\n  "formatVersion": 1,\n  "farm": {,\n}');
      const r = await runCli(['farm', 'validate'], { cwd: dir });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/clk-farm\.json:3:\d+: not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('farm status on the demo farm: three reachable, WEB01 unreachable, exit 3 (partial)', async () => {
    const r = await runCli(['--farm', DEMO_FARM, 'farm', 'status']);
    expect(r.exitCode).toBe(3);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^SERVER\s+ROLE\s+VIA\s+STATUS\s+VERSION\s+BUILD\s+CLOCK/);
    const row = (name: string) => rows.find((l) => l.startsWith(`${name} `)) ?? '';
    expect(row('APP01')).toMatch(/application\s+share\s+reachable\s+8\.1\.15\.2207\s+2207/);
    expect(row('SCHED01')).toMatch(/scheduling\s+share\s+reachable\s+8\.1\.15\.2207\s+2207/);
    expect(row('INT01')).toMatch(/integration\s+share\s+reachable\s+8\.1\.15\.2190\s+2190/);
    // "unreachable" is said once: the status column says it, the reason column says why.
    expect(row('WEB01')).toMatch(/web\s+share\s+unreachable\s+share root .* does not exist/);
    expect(row('APP01')).toContain('Windows Server 2019 (10.0.17763.5576)');
    expect(r.stderr).toContain('warning: versions differ across the farm: 8.1.15.2207 on APP01, SCHED01; 8.1.15.2190 on INT01');
    expect(r.stderr).toMatch(/warning: WEB01 unreachable: share root \S+web01\/c\$ does not exist/);
    // Off a TTY and under NO_COLOR there is no colour and no spinner animation.
    expect(r.stdout + r.stderr).not.toMatch(/\u001b\[/);
  });

  it('farm status --json is machine-readable and stable', async () => {
    const r = await runCli(['--farm', DEMO_FARM, '--json', 'farm', 'status']);
    expect(r.exitCode).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('clk-support/farm-status/v1');
    expect(doc.servers.map((s: { name: string }) => s.name)).toEqual(['APP01', 'SCHED01', 'INT01', 'WEB01']);
    const app = doc.servers[0];
    expect(app.reachable).toBe(true);
    expect(app.fingerprint.map((c: { kind: string }) => c.kind)).toEqual(['machine-id', 'hostname']);
    expect(app.fingerprint[0].hash).toMatch(/^[0-9a-f]{32}$/);
    // The raw machine GUID never leaves: only its hash.
    expect(r.stdout).not.toContain('3f2c1e6a-8d4b-4c1e-9a7f-2b6d5e4c3a10');
    expect(doc.findings.versionMismatch).toBe(true);
    expect(doc.findings.unreachable).toEqual(['WEB01']);
    expect(doc.servers[3]).toMatchObject({ name: 'WEB01', reachable: false, reason: 'unreachable' });
  });

  it('farm status --server limits the probe', async () => {
    const r = await runCli(['--farm', DEMO_FARM, '--json', 'farm', 'status', '--server', 'app01']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).servers.map((s: { name: string }) => s.name)).toEqual(['APP01']);
    const bad = await runCli(['--farm', DEMO_FARM, 'farm', 'status', '--server', 'NOPE']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('No server "NOPE"');
    expect(bad.stderr).toContain('servers in this farm: APP01, SCHED01, INT01, WEB01');
  });
});
