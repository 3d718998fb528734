// Small things the CLI must say truly, through the built CLI: why a version shows "?", one count of a
// bundle's files, no doubled words, singular/plural, a rollback --check that restores nothing, the
// service request's missing fields and dates, and a speed-up that only goes up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, DEMO_FARM, REPO, copyDemoFarm, runCli } from '../support/cli.js';
import { licenseFarm } from '../license/helpers.js';

const SERVICE = ['--farm', DEMO_FARM, 'service', 'request', '--today', '2026-01-05'];
const CONTACT = ['--contact-name', 'A. Admin', '--contact-phone', '+49 30 1234567', '--contact-email', 'admin@contoso.example'];

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'clk-truths-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('farm status', () => {
  it('a version shown as ? carries its reason in the table, without -v', async () => {
    const copy = await copyDemoFarm();
    try {
      await rm(join(copy.dir, 'servers', 'app01', 'c$', 'Program Files', 'ClickSoftware', 'Service Optimization', 'Bin', 'W6Server.exe'));
      const r = await runCli(['--farm', copy.farmFile, 'farm', 'status', '-s', 'APP01']);
      const row = r.stdout.split('\n').find((l) => l.startsWith('APP01'))!;
      expect(row).toMatch(/\s\?\s/);
      expect(row).toMatch(/version \?: \S+/);
      expect(r.stderr).toContain('Probing 1 server of');
    } finally {
      await copy.cleanup();
    }
  });

  it('an unreachable server is said once: no "unreachable: unreachable", no repeated server name', async () => {
    const r = await runCli(['--farm', DEMO_FARM, 'farm', 'status']);
    const all = r.stdout + r.stderr;
    expect(all).toContain('WEB01 unreachable: share root');
    expect(all).not.toMatch(/unreachable[:(\s]+unreachable|WEB01: WEB01|unreachable: WEB01:/);
  });
});

describe('collect and verify count the same files', () => {
  it('the number collect reports is the number verify and inspect report', async () => {
    const c = await runCli(['--farm', DEMO_FARM, 'collect', '--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z', '--out', out, '--server', 'APP01']);
    expect(c.exitCode, c.stderr).toBe(0);
    const bundle = c.stdout.trim().split('\n').at(-1)!;
    const collected = Number(/: (\d+) files?, /.exec(c.stderr)![1]);
    const v = await runCli(['bundle', 'verify', bundle]);
    const verified = Number(/: (\d+) files?, every sha256/.exec(v.stdout)![1]);
    const inspected = Number(/^files:\s+(\d+) /m.exec((await runCli(['bundle', 'inspect', bundle])).stdout)![1]);
    const zipped = Number(/(\d+) files?\s*$/.exec(spawnSync('unzip', ['-l', bundle], { encoding: 'utf8' }).stdout.trim())![1]);
    expect(collected).toBe(verified);
    expect(inspected).toBe(verified);
    expect(zipped).toBe(verified);
    const j = JSON.parse((await runCli(['--farm', DEMO_FARM, '--json', 'collect', '--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z', '--out', out, '--server', 'APP01'])).stdout);
    const jv = JSON.parse((await runCli(['--json', 'bundle', 'verify', j.bundle.path])).stdout);
    expect(j.bundle.entries).toBe(jv.entries);
    expect(j.bundle.listed).toBe(jv.listed);
    // No doubled words in what collect says about WEB01 either.
    const all = await runCli(['--farm', DEMO_FARM, 'collect', '--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z', '--out', out]);
    expect(all.stderr).toContain('WEB01 unreachable: share root');
    expect(all.stderr).not.toMatch(/unreachable[:(\s]+unreachable|unreachable: WEB01:/);
  }, 120_000);
});

describe('check plurals', () => {
  it('Running 1 check / 1 server', async () => {
    const r = await runCli(['--farm', DEMO_FARM, 'check', '--only', 'env.node']);
    expect(r.stderr).toMatch(/Running 1 check on /);
    const v = await runCli(['--farm', DEMO_FARM, 'check', '--only', 'farm.valid', '-s', 'APP01']);
    expect(v.stdout).not.toMatch(/\b1 servers\b/);
  });
});

describe('license rollback --check', () => {
  it('says what would be restored and restores nothing', async () => {
    const f = await licenseFarm();
    try {
      const req = await f.request();
      const resp = await f.sign(req, 'license.response');
      const apply = await f.cli(['license', 'apply', resp, '--yes']);
      expect(apply.exitCode, apply.stderr).toBe(0);
      const before = await f.snapshot();
      const r = await f.cli(['license', 'rollback', '--check']);
      expect(r.stdout + r.stderr).not.toMatch(/\brestored\b/);
      expect(r.stdout).toMatch(/^APP01\s+would-restore\s/m);
      expect(r.stderr).toMatch(/Nothing was changed \(--check\): 3 servers would be rolled back/);
      expect(await f.snapshot()).toEqual(before);
      const j = JSON.parse((await f.cli(['--json', 'license', 'rollback', '--check'])).stdout);
      expect(new Set(j.servers.filter((s: { server: string }) => s.server !== 'WEB01').map((s: { action: string }) => s.action))).toEqual(new Set(['would-restore']));
    } finally {
      await f.cleanup();
    }
  }, 120_000);
});

describe('service request', () => {
  it('--no-input lists every missing field at once', async () => {
    const r = await runCli(['--no-input', ...SERVICE, '--type', 'GoingLive Check']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/6 answers are missing in non-interactive mode/);
    for (const flag of ['--support-level', '--date', '--go-live', '--contact-name', '--contact-phone', '--contact-email']) expect(r.stderr).toContain(flag);
    expect(r.stderr).not.toContain('--type ');
    const j = await runCli(['--json', '--no-input', ...SERVICE]);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'MISSING_INPUT', message: expect.stringContaining('7 answers are missing') });
  });

  it('a date in the past is "in the past", not "inside the lead time"', async () => {
    const r = await runCli(['--no-input', ...SERVICE, '--type', 'x', '--date', '2025-12-01', '--go-live', '2026-06-01', '--support-level', 'enterprise', ...CONTACT]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--date 2025-12-01 is in the past (today is 2026-01-05); the earliest valid date is 2026-01-26');
    expect(r.stderr).not.toContain('lead time');
    const inside = await runCli(['--no-input', ...SERVICE, '--type', 'x', '--date', '2026-01-10', '--go-live', '2026-06-01', '--support-level', 'enterprise', ...CONTACT]);
    expect(inside.stderr).toContain('is inside the lead time');
  });

  const haveTmux = spawnSync('tmux', ['-V']).status === 0;
  it.skipIf(!haveTmux)('on a terminal the date is checked before any other question', async () => {
    const socket = `clk-truths-${process.pid}`;
    const tmux = (...a: string[]) => spawnSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' }).stdout;
    try {
      const cmd = `cd ${JSON.stringify(REPO)} && env -u CI NO_COLOR=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${SERVICE.map((x) => JSON.stringify(x)).join(' ')} --support-level standard; echo "EXIT=$?"; sleep 60`;
      tmux('new-session', '-d', '-s', 'svc', '-x', '200', '-y', '50', cmd);
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 200; i++) {
          const s = tmux('capture-pane', '-p', '-J', '-t', 'svc');
          if (re.test(s)) return s;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`timed out waiting for ${re}:\n${tmux('capture-pane', '-p', '-J', '-t', 'svc')}`);
      };
      await waitFor(/Requested service date/);
      tmux('send-keys', '-t', 'svc', '2026-01-20', 'Enter');
      const screen = await waitFor(/EXIT=\d+/);
      expect(screen).toMatch(/EXIT=2/);
      expect(screen).toContain('is inside the lead time');
      expect(screen).not.toMatch(/Type of service|Contact person/);
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
    }
  }, 60_000);
});

describe('incident speedup', () => {
  const speedup = (current: string, next: string) =>
    runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'speedup', '--incident', '123456/2025', '--request', 'priority', '--current-priority', current, '--new-priority', next]);
  it('refuses a "change" to the same or a lower priority, before asking anything', async () => {
    const same = await speedup('high', 'high');
    expect(same.exitCode).toBe(2);
    expect(same.stderr).toContain('--new-priority high is the priority the incident already has');
    expect(same.stderr).not.toContain('missing');
    const lower = await speedup('high', 'medium');
    expect(lower.exitCode).toBe(2);
    expect(lower.stderr).toContain('lower than its current priority (high)');
    expect(lower.stderr).toContain('hint: ask for very-high');
  });
});
