// The CLI's conventions as a script sees them, through the built CLI: under --json every error is a
// JSON document on stdout (usage errors from commander, config errors, command errors), and help is
// on stdout with exit 0 when asked for, on stderr with exit 2 when a command is missing.
import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_FARM, copyDemoFarm, runCli } from '../support/cli.js';

function errorDoc(stdout: string) {
  const doc = JSON.parse(stdout);
  expect(doc.schema).toBe('clk-support/error/v1');
  expect(Object.keys(doc.error).sort()).toEqual(expect.arrayContaining(['code', 'exitCode', 'message']));
  return doc.error as { code: string; message: string; hint?: string; exitCode: number };
}

describe('--json errors are JSON on stdout', () => {
  it('usage errors from the parser: unknown option, missing argument, unknown command, bad option value', async () => {
    const cases: [string[], string, RegExp][] = [
      [['--json', 'farm', 'status', '--bogus'], 'UNKNOWN_OPTION', /unknown option '--bogus'/],
      [['--json', 'license', 'apply'], 'MISSING_ARGUMENT', /missing required argument 'file'/],
      [['--json', 'frobnicate'], 'UNKNOWN_COMMAND', /unknown command 'frobnicate'/],
      [['--json', 'check', '--concurrency'], 'OPTION_MISSING_ARGUMENT', /--concurrency/],
      [['--json', 'farm'], 'MISSING_COMMAND', /subcommand is required/],
      [['--json'], 'MISSING_COMMAND', /no command given|subcommand/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runCli(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      const e = errorDoc(r.stdout);
      expect(e, args.join(' ')).toMatchObject({ code, exitCode: 2, message: expect.stringMatching(message), hint: expect.any(String) });
      // People still read the prose on stderr.
      expect(r.stderr.length).toBeGreaterThan(0);
    }
  });

  it('a command usage error, a config error and a missing farm file carry the code and hint', async () => {
    const usage = await runCli(['--farm', DEMO_FARM, '--json', 'check', '--only', 'server.reachabel']);
    expect(usage.exitCode).toBe(2);
    expect(errorDoc(usage.stdout)).toMatchObject({ code: 'CHECK_UNKNOWN', message: expect.stringContaining('server.reachabel'), hint: expect.stringContaining('--list') });

    const dir = await mkdtemp(join(tmpdir(), 'clk-json-err-'));
    try {
      const bad = join(dir, 'clk-farm.json');
      await writeFile(bad, '{ "formatVersion": 1, "farm": {}, "servers": [] }');
      const config = await runCli(['--farm', bad, '--json', 'farm', 'status']);
      expect(config.exitCode).toBe(2);
      expect(errorDoc(config.stdout)).toMatchObject({ code: 'FARM_INVALID', message: expect.stringContaining('Invalid farm file'), hint: expect.stringContaining('Farm file') });
      const empty = join(dir, 'empty');
      await mkdir(empty);
      const none = await runCli(['--json', 'farm', 'status'], { cwd: empty });
      expect(none.exitCode).toBe(2);
      expect(errorDoc(none.stdout).code).toMatch(/^FARM_/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a command failure uses the same document (license apply of a missing file)', async () => {
    // A private copy: apply logs every attempt beside the farm file.
    const copy = await copyDemoFarm();
    try {
      const r = await runCli(['--farm', copy.farmFile, '--json', 'license', 'apply', join(copy.dir, 'no-such.response')]);
      expect(r.exitCode).toBe(1);
      expect(errorDoc(r.stdout)).toMatchObject({ code: 'LICENSE_FILE_UNREADABLE', exitCode: 1, hint: expect.any(String) });
    } finally {
      await copy.cleanup();
    }
  });

  it('the option may come anywhere before --, and without --json errors stay prose on stderr only', async () => {
    const late = await runCli(['farm', 'status', '--bogus', '--json']);
    expect(errorDoc(late.stdout).code).toBe('UNKNOWN_OPTION');
    const prose = await runCli(['farm', 'status', '--bogus']);
    expect(prose.stdout).toBe('');
    expect(prose.stderr).toContain("error: unknown option '--bogus'");
  });
});

describe('help convention: asked for -> stdout, exit 0; missing command -> stderr, exit 2', () => {
  it('--help, help X and help X Y print on stdout and exit 0', async () => {
    for (const args of [['--help'], ['help'], ['farm', '--help'], ['help', 'farm']]) {
      const r = await runCli(args);
      expect(r.exitCode, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^Usage: clk-support/);
      expect(r.stderr).toBe('');
    }
  });

  it('help farm status shows the subcommand, not the group', async () => {
    const r = await runCli(['help', 'farm', 'status']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^Usage: clk-support farm status \[options\]/);
    const flag = await runCli(['farm', 'status', '--help']);
    expect(r.stdout).toBe(flag.stdout);
    const global = await runCli(['--farm', DEMO_FARM, 'help', 'license', 'rollback']);
    expect(global.stdout).toMatch(/^Usage: clk-support license rollback/);
  });

  it('a bare command and a bare group print the usage on stderr and exit 2', async () => {
    for (const args of [[], ['farm'], ['license'], ['bundle']]) {
      const r = await runCli(args);
      expect(r.exitCode, args.join(' ') || '(none)').toBe(2);
      expect(r.stdout, args.join(' ') || '(none)').toBe('');
      expect(r.stderr).toMatch(/^Usage: clk-support/);
    }
  });
});
