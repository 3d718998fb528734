// Keeping what an incident run produced and answering once: --out, --save-answers, --answers reuse
// by speedup and escalate, and long answers in $EDITOR or line by line on a real terminal (tmux).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, DEMO_FARM, REPO, runCli } from '../support/cli.js';

const WINDOW = ['--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z', '--server', 'APP01'];
const EXAMPLE = join(REPO, 'docs', 'answers.example.json');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clk-save-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('--out and --save-answers', () => {
  it('prefill writes its text to --out (nothing on stdout) and saves the answers; speedup and escalate reuse them', async () => {
    const out = join(dir, 'incident.txt');
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', ...WINDOW, '--answers', EXAMPLE, '--out', out, '--save-answers'], { cwd: dir });
    expect(r.stderr).toContain(`wrote ${out}`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    const text = await readFile(out, 'utf8');
    expect(text).toMatch(/Short description:\s+Gantt requests time out for dispatchers/);
    expect(text).toContain('XX-PART-CLK');
    const saved = JSON.parse(await readFile(`${out}.answers.json`, 'utf8'));
    expect(saved).toEqual(JSON.parse(await readFile(EXAMPLE, 'utf8')));

    const speed = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'speedup', '--incident', '123456/2025', '--request', 'priority', '--current-priority', 'medium', '--new-priority', 'high', '--answers', `${out}.answers.json`, '--out', join(dir, 'speedup.txt')], { cwd: dir });
    expect(speed.stderr).not.toMatch(/^error/m);
    expect(speed.exitCode).toBe(0);
    expect(await readFile(join(dir, 'speedup.txt'), 'utf8')).toContain('About 20,000 EUR per day in missed appointments');

    const esc = await runCli(['--farm', DEMO_FARM, '--no-input', '--json', 'incident', 'escalate', '--incident', '123456/2025', '--current-priority', 'high', '--answers', `${out}.answers.json`, '--out', join(dir, 'escalate.json')], { cwd: dir });
    expect(esc.exitCode).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'escalate.json'), 'utf8')).text).toContain('A. Admin');
  });

  it('never overwrites an existing --out without --force, and keeps the old one as .bak with it', async () => {
    const out = join(dir, 'keep.txt');
    await writeFile(out, 'mine\n');
    const args = ['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', ...WINDOW, '--answers', EXAMPLE, '--out', out];
    const r = await runCli(args, { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('already exists');
    expect(await readFile(out, 'utf8')).toBe('mine\n');
    const forced = await runCli([...args, '--force'], { cwd: dir });
    expect(forced.exitCode).toBe(0);
    expect(await readFile(`${out}.bak`, 'utf8')).toBe('mine\n');
    expect(await readFile(out, 'utf8')).toContain('XX-PART-CLK');
  });

  it('a failed run writes no --out file', async () => {
    const out = join(dir, 'none.txt');
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', ...WINDOW, '--out', out], { cwd: dir });
    expect(r.exitCode).toBe(2); // answers missing
    expect(existsSync(out)).toBe(false);
  });

  it('service request --out', async () => {
    const out = join(dir, 'service.txt');
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', 'service', 'request', '--type', 'GoingLive Check', '--date', '2026-03-02', '--go-live', '2026-04-01', '--support-level', 'enterprise', '--contact-name', 'A. Admin', '--contact-phone', '+49 30 1', '--contact-email', 'a@contoso.example', '--today', '2026-01-05', '--out', out], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(await readFile(out, 'utf8')).toContain('GoingLive Check');
  });
});

const haveTmux = spawnSync('tmux', ['-V']).status === 0;
describe.skipIf(!haveTmux)('long answers on a terminal', () => {
  const socket = `clk-long-${process.pid}`;
  const tmux = (...a: string[]) => {
    const r = spawnSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const screen = (s: string) => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', s);
  const waitFor = async (s: string, re: RegExp) => {
    const until = Date.now() + 40_000;
    while (Date.now() < until) {
      const text = screen(s);
      if (re.test(text)) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${re}:\n${screen(s)}`);
  };
  afterAll(() => void spawnSync('tmux', ['-L', socket, 'kill-server']));

  // Every answer but the steps comes from the example file minus its steps.
  async function answersWithoutSteps(): Promise<string> {
    const a = JSON.parse(await readFile(EXAMPLE, 'utf8'));
    delete a.steps;
    const file = join(dir, 'no-steps.json');
    await writeFile(file, JSON.stringify(a));
    return file;
  }

  it('the steps open $EDITOR when it is set', async () => {
    const editor = join(dir, 'fake-editor.sh');
    await writeFile(editor, '#!/bin/sh\nprintf "Open the Gantt\\nMove task 42 to J. Smith\\n" > "$1"\n');
    await chmod(editor, 0o755);
    const answers = await answersWithoutSteps();
    const cmd = `cd ${JSON.stringify(dir)} && env -u CI -u VISUAL NO_COLOR=1 EDITOR=${JSON.stringify(editor)} ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} --farm ${JSON.stringify(DEMO_FARM)} incident prefill ${WINDOW.join(' ')} --answers ${answers} --out long.txt; echo "EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'ed', '-x', '200', '-y', '50', cmd);
    const s = await waitFor('ed', /EXIT=\d+/);
    expect(s).toMatch(/EXIT=0/);
    expect(await readFile(join(dir, 'long.txt'), 'utf8')).toMatch(/Open the Gantt\s+Move task 42 to J\. Smith/);
  }, 60_000);

  it('without an editor the steps are typed line by line, an empty line ending them', async () => {
    const answers = await answersWithoutSteps();
    const cmd = `cd ${JSON.stringify(dir)} && env -u CI -u VISUAL -u EDITOR NO_COLOR=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} --farm ${JSON.stringify(DEMO_FARM)} incident prefill ${WINDOW.join(' ')} --answers ${answers} --out typed.txt; echo "EXIT=$?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'ml', '-x', '200', '-y', '50', cmd);
    await waitFor('ml', /an empty line ends/);
    await waitFor('ml', /1>/);
    tmux('send-keys', '-t', 'ml', 'Open the Gantt', 'Enter');
    await waitFor('ml', /2>/);
    tmux('send-keys', '-t', 'ml', 'Move task 42', 'Enter');
    await waitFor('ml', /3>/);
    tmux('send-keys', '-t', 'ml', 'Enter');
    const s = await waitFor('ml', /EXIT=\d+/);
    expect(s).toMatch(/EXIT=0/);
    expect(await readFile(join(dir, 'typed.txt'), 'utf8')).toMatch(/Open the Gantt\s+Move task 42/);
  }, 60_000);
});
