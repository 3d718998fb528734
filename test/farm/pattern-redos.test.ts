// The version pattern of the farm file runs on RE2: a catastrophic-backtracking pattern against a
// crafted VERSION file from the server finishes (and reports "did not match") instead of keeping
// `farm status` busy for minutes; --user-pattern is refused when RE2 cannot run it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyDemoFarm, runCli } from '../support/cli.js';

let demo: Awaited<ReturnType<typeof copyDemoFarm>>;
beforeAll(async () => {
  demo = await copyDemoFarm();
});
afterAll(async () => demo?.cleanup());

describe('user-supplied patterns run in linear time', () => {
  it('(\\d+|\\d+)+ against 50 digits then "!" ends farm status within its timeout', async () => {
    const f = JSON.parse(await readFile(demo.farmFile, 'utf8'));
    f.settings.timeoutMs = 5000;
    f.servers[0].version = { file: 'C:\\VERSION', pattern: '^(?<version>(\\d+|\\d+)+)$' };
    f.servers[1].version = { file: 'C:\\VERSION', pattern: 'Version=(?<version>[\\d.]+)' };
    const file = join(demo.dir, 'redos.json');
    await writeFile(file, JSON.stringify(f));
    await writeFile(join(demo.dir, 'servers', 'app01', 'c$', 'VERSION'), `${'1'.repeat(50)}!\n`);
    await writeFile(join(demo.dir, 'servers', 'sched01', 'c$', 'VERSION'), `Product\nVersion=8.2.1.100\n`);
    // Native backtracking takes longer than the age of the universe here; the test's own timeout is the farm's.
    const r = await runCli(['--farm', file, '--json', 'farm', 'status', '--server', 'APP01', 'SCHED01'], { timeoutMs: 5000 });
    expect(r.exitCode, r.stderr).not.toBe(-1);
    const out = JSON.parse(r.stdout) as { servers: { name: string; reachable: boolean; version?: string; productError?: string; notes?: string[] }[] };
    const app = out.servers.find((s) => s.name === 'APP01')!;
    expect(app.reachable).toBe(true);
    expect(app.version).toBeUndefined();
    expect(JSON.stringify(app)).toContain('pattern did not match');
    expect(out.servers.find((s) => s.name === 'SCHED01')!.version).toBe('8.2.1.100');
  });

  it('--user-pattern with a backreference is a usage error naming RE2', async () => {
    const r = await runCli(['--farm', demo.farmFile, 'incident', 'prefill', '--no-input', '--from', '-2h', '--user-pattern', '(?<user>\\w+)\\1']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('--user-pattern');
    expect(r.stderr).toContain('RE2');
  });
});

describe('configured globs match hostile file names in linear time', () => {
  it('a Tracer glob of many * against a long name from the server does not stall `check`', async () => {
    const f = JSON.parse(await readFile(demo.farmFile, 'utf8'));
    f.servers[0].logs.tracerGlobs = [`C:\\ClickSoftware\\Logs\\${'*a'.repeat(12)}*b`];
    const file = join(demo.dir, 'glob-redos.json');
    await writeFile(file, JSON.stringify(f));
    const { mkdir } = await import('node:fs/promises');
    const logs = join(demo.dir, 'servers', 'app01', 'c$', 'ClickSoftware', 'Logs');
    await mkdir(logs, { recursive: true });
    // A name a backtracking matcher needs about 200^12 steps for.
    await writeFile(join(logs, 'a'.repeat(200)), 'x\n');
    await writeFile(join(logs, `${'a'.repeat(13)}b`), '2026-11-23 06:17:37.123 ERROR x\n');
    const r = await runCli(['--farm', file, '--json', 'check', '--only', 'logs.tracer', '--server', 'APP01'], { timeoutMs: 20_000 });
    expect(r.exitCode, r.stderr).not.toBe(-1);
    expect(r.stdout).toContain('logs.tracer');
    expect(r.stdout).not.toContain('no Tracer log files match');
  });
});
