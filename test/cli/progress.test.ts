// Long work shows a byte progress bar on a terminal's stderr (with rate and ETA once a second has
// passed): collect, bundle verify, and evtx dump into a file. On a real pseudo-terminal (util-linux
// `script`), with the results redirected so that only stderr reaches the terminal.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, DEMO_FARM, REPO, runCli } from '../support/cli.js';
import { have, tempDir } from '../bundle/helpers.js';

const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
const CLI = `${q(process.execPath)} ${q(BIN)}`;
const EVTX = join(REPO, 'fixtures', 'evtx', 'NickSmet-System.evtx');

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('clk-progress-')));
afterAll(() => cleanup());

async function inPty(line: string): Promise<string> {
  const r = await promisify(execFile)('script', ['-qec', `stty cols 120 rows 40; ${line}; true`, '/dev/null'], {
    cwd: REPO,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color' },
    maxBuffer: 16 << 20,
  });
  return r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

describe.skipIf(!have('script'))('progress bars on a terminal', () => {
  it('bundle verify: a bar over the bytes hashed, to 100%', async () => {
    const made = await runCli(['--farm', DEMO_FARM, 'collect', '--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z', '--server', 'APP01', '--out', dir]);
    const bundle = made.stdout.trim();
    expect(bundle).toMatch(/\.zip$/);
    const screen = await inPty(`${CLI} bundle verify ${q(bundle)} > ${q(join(dir, 'verify.txt'))}`);
    expect(screen).toMatch(/verify\s+\|.*\| 100% /);
    expect(await readFile(join(dir, 'verify.txt'), 'utf8')).toMatch(/^ok\s/);
  }, 90_000);

  it('evtx dump into a file: a bar over the file, to 100%, and the file holds every record', async () => {
    const out = join(dir, 'dump.jsonl');
    const screen = await inPty(`${CLI} evtx dump ${q(EVTX)} --format jsonl > ${q(out)}`);
    expect(screen).toMatch(/evtx dump\s+\|.*\| 100% /);
    expect((await stat(out)).size).toBeGreaterThan(0);
    const piped = await runCli(['evtx', 'dump', EVTX, '--format', 'jsonl']);
    expect((await readFile(out, 'utf8')).trimEnd()).toBe(piped.stdout.trimEnd());
  }, 90_000);

  it('evtx dump to the terminal itself draws no bar (the records are the output)', async () => {
    const screen = await inPty(`${CLI} evtx dump ${q(EVTX)} --format jsonl --id 6011`);
    expect(screen).toMatch(/"eventId":6011/);
    expect(screen).not.toMatch(/evtx dump\s+\|/);
  }, 90_000);
});
