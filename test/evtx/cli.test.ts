// `clk-support evtx dump|stats`: in-process through commander, and the built CLI as a child process
// (`npm test` builds first; run `npx tsc -p tsconfig.build.json` before running this file alone).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { App } from '../../src/app.js';
import { exitCodeFor } from '../../src/cli.js';
import { registerEvtxCommands } from '../../src/commands/evtx.js';
import { fixture, repoRoot } from './helpers.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream, text: () => text };
}

/** Runs `clk-support <args>` in-process with only the evtx commands registered. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = capture();
  const err = capture();
  const app = new App({ stdout: out.stream, stderr: err.stream, env: { NO_COLOR: '1' } }, new AbortController().signal);
  const program = new Command('clk-support').option('--json', 'JSON output', false).exitOverride();
  program.configureOutput({ writeOut: (s) => void out.stream.write(s), writeErr: (s) => void err.stream.write(s) });
  registerEvtxCommands(program, app);
  program.commands.forEach((c) => c.commands.forEach((s) => s.exitOverride()));
  let code = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = app.exitCode;
  } catch (e) {
    code = exitCodeFor(e);
  }
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('evtx commands (in-process)', () => {
  it('stats --json reports records, range, levels, providers and warnings; exit 0 despite damage', async () => {
    const r = await run(['--json', 'evtx', 'stats', fixture('omerbenamram-sample_with_a_bad_chunk_magic.evtx'), fixture('omerbenamram-new-user-security.evtx')]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('clk-support/evtx-stats/v1');
    expect(doc.files.map((f: { records: number }) => f.records)).toEqual([270, 4]);
    expect(doc.files[0].skippedChunks).toBe(12); // 2 bad magic + 10 zeroed inside the header's count
    expect(doc.files[0].warnings.length).toBeGreaterThanOrEqual(12);
    expect(Date.parse(doc.files[0].first)).toBeLessThanOrEqual(Date.parse(doc.files[0].last));
  });

  it('stats prints a readable summary and the warnings on stderr', async () => {
    const r = await run(['evtx', 'stats', fixture('omerbenamram-sample_with_a_bad_chunk_magic.evtx')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('records: 270');
    expect(r.stderr).toContain('bad chunk magic');
  });

  it('dump filters by level, event id and TimeCreated window', async () => {
    const file = fixture('NickSmet-System.evtx');
    const all = await run(['evtx', 'dump', file, '--format', 'jsonl']);
    const lines = all.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1247);
    const errors = await run(['evtx', 'dump', file, '--format', 'jsonl', '--level', 'error,critical']);
    const errorLines = errors.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(errorLines.length).toBe(lines.filter((l) => l.level === 1 || l.level === 2).length);
    const id = lines[0].eventId;
    const byId = await run(['evtx', 'dump', file, '--format', 'jsonl', '--id', String(id)]);
    expect(byId.stdout.trim().split('\n').every((l) => JSON.parse(l).eventId === id)).toBe(true);
    const times = lines.map((l) => Date.parse(l.timeCreated)).sort((a, b) => a - b);
    const from = new Date(times[100]).toISOString();
    // Bounds compare at 100 ns: the last 100 ns tick of that millisecond keeps every record in it.
    const to = new Date(times[200]).toISOString().replace('Z', '9999Z');
    const windowed = await run(['evtx', 'dump', file, '--format', 'jsonl', '--from', from, '--to', to]);
    const inWindow = times.filter((t) => t >= times[100] && t <= times[200]).length;
    expect(windowed.stdout.trim().split('\n')).toHaveLength(inWindow);
  });

  it('dump --format xml prints Event elements', async () => {
    const r = await run(['evtx', 'dump', fixture('omerbenamram-Security_short_selected.evtx')]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/<Event xmlns=/g)).toHaveLength(7);
  });

  it('exits 2 for a missing file and for bad flags', async () => {
    expect((await run(['evtx', 'stats', join(repoRoot, 'no-such.evtx')])).code).toBe(2);
    expect((await run(['evtx', 'dump', join(repoRoot, 'no-such.evtx')])).code).toBe(2);
    expect((await run(['evtx', 'dump', fixture('omerbenamram-new-user-security.evtx'), '--level', 'loud'])).code).toBe(2);
    expect((await run(['evtx', 'dump', fixture('omerbenamram-new-user-security.evtx'), '--from', 'yesterday'])).code).toBe(2);
  });
});

// The built CLI: only once src/commands/index.ts registers registerEvtxCommands and dist/ exists.
const bin = join(repoRoot, 'bin', 'clk-support.js');
const built = existsSync(join(repoRoot, 'dist', 'cli.js')) && existsSync(bin);
const help = built ? spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', cwd: repoRoot }).stdout : '';
const registered = /^\s+evtx\b/m.test(help);
const why = !built
  ? 'built CLI missing: run `npx tsc -p tsconfig.build.json` (npm test does) first'
  : 'the built CLI has no `evtx` command: src/commands/index.ts must list registerEvtxCommands';

describe('evtx commands (built CLI)', () => {
  if (!built || !registered) {
    it.skip(why, () => {});
    return;
  }
  it('evtx stats --json on a shipped fixture', () => {
    const r = spawnSync(process.execPath, [bin, 'evtx', 'stats', 'fixtures/evtx/omerbenamram-sample_with_a_bad_chunk_magic.evtx', '--json'], {
      encoding: 'utf8',
      cwd: repoRoot,
    });
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.files[0].records).toBe(270);
    expect(doc.files[0].skippedChunks).toBe(12);
  });

  it('exits 2 on a missing file', () => {
    const r = spawnSync(process.execPath, [bin, 'evtx', 'stats', 'fixtures/evtx/does-not-exist.evtx', '--json'], { encoding: 'utf8', cwd: repoRoot });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('does-not-exist.evtx');
  });
});
