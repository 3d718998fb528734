// Colour and width are decided per stream, on a real pseudo-terminal (util-linux `script`): stdout
// gets colour only when it is a terminal itself, NO_COLOR / FORCE_COLOR / CI / TERM=dumb / --no-color
// are honoured, and tables fit the terminal's columns while piped output keeps the full text.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, DEMO_FARM, REPO } from '../support/cli.js';
import { have, tempDir } from '../bundle/helpers.js';

const SGR = /\x1b\[[0-9;]*m/; // a colour code (cursor moves of a spinner are not colour)
const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
const CLI = `${q(process.execPath)} ${q(BIN)} --farm ${q(DEMO_FARM)}`;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('clk-tty-')));
afterAll(() => cleanup());

/** Runs a shell line inside a pseudo-terminal; returns what the terminal showed. */
async function inPty(line: string, env: Record<string, string> = {}): Promise<string> {
  // A pty has no size until told; the command's own exit status is not the point here.
  const r = await promisify(execFile)('script', ['-qec', `stty cols 100 rows 40; ${line}; true`, '/dev/null'], {
    cwd: REPO,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color', ...env },
    maxBuffer: 16 << 20,
  });
  return r.stdout;
}

describe.skipIf(!have('script'))('colour per stream on a terminal', () => {
  it('stdout on a terminal is coloured (the baseline the other cases turn off)', async () => {
    expect(await inPty(`${CLI} check`)).toMatch(SGR);
  }, 60_000);

  it('check > file on a terminal: the file has no ANSI codes, stderr (the terminal) still may', async () => {
    const file = join(dir, 'c.txt');
    await inPty(`${CLI} check > ${q(file)}`);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('server.reachable');
    expect(text).not.toMatch(/\x1b/);
  }, 60_000);

  for (const [name, env, flag] of [
    ['CI=true', { CI: 'true' }, ''],
    ['TERM=dumb', { TERM: 'dumb' }, ''],
    ['NO_COLOR=1', { NO_COLOR: '1' }, ''],
    ['--no-color', {}, '--no-color'],
  ] as const) {
    it(`${name} on a terminal: no colour on either stream`, async () => {
      const shown = await inPty(`${CLI} ${flag} check`, env);
      expect(shown).toContain('server.reachable');
      expect(shown).not.toMatch(SGR);
    }, 60_000);
  }

  it('FORCE_COLOR=1 colours piped output; FORCE_COLOR=0 turns a terminal off; NO_COLOR beats FORCE_COLOR', async () => {
    const file = join(dir, 'forced.txt');
    await inPty(`${CLI} check | cat > ${q(file)}`, { FORCE_COLOR: '1' });
    expect(await readFile(file, 'utf8')).toMatch(SGR);
    expect(await inPty(`${CLI} check`, { FORCE_COLOR: '0' })).not.toMatch(SGR);
    await inPty(`${CLI} check | cat > ${q(file)}`, { FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(await readFile(file, 'utf8')).not.toMatch(/\x1b/);
  }, 60_000);
});

describe.skipIf(!have('script'))('tables fit the terminal width', () => {
  const width = (line: string) => line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '').length;

  it('check on a 60-column terminal: every table line fits, cut text ends in ...; piped keeps it whole', async () => {
    const shown = await inPty(`stty cols 60; ${CLI} check 2>/dev/null`);
    const lines = shown.split('\n');
    const start = lines.findIndex((l) => l.includes('STATUS') && l.includes('CHECK'));
    const end = lines.findIndex((l, i) => i > start && width(l) === 0);
    const table = lines.slice(start, end);
    expect(table.length).toBeGreaterThan(5);
    for (const l of table) expect(width(l), l).toBeLessThanOrEqual(60);
    expect(table.some((l) => l.replace(/\r/g, '').endsWith('...'))).toBe(true);
    const file = join(dir, 'wide.txt');
    await inPty(`stty cols 60; ${CLI} check > ${q(file)} 2>/dev/null`);
    expect((await readFile(file, 'utf8')).split('\n').some((l) => l.length > 60 && l.includes('server.reachable'))).toBe(true);
  }, 60_000);

  it('farm status on a 90-column terminal keeps SERVER and STATUS whole and cuts the reason; piped keeps it whole', async () => {
    const rowsOf = (text: string) => text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => /^(APP01|SCHED01|WEB01)\b/.test(l.replace(/\x1b\[[0-9;]*m/g, '')));
    const rows = rowsOf(await inPty(`stty cols 90; ${CLI} farm status 2>/dev/null`));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const l of rows) expect(width(l), l).toBeLessThanOrEqual(90);
    expect(rows.find((l) => l.startsWith('WEB01'))).toMatch(/unreachable.*\.\.\.$/);
    const file = join(dir, 'status.txt');
    await inPty(`stty cols 90; ${CLI} farm status > ${q(file)} 2>/dev/null`);
    expect(rowsOf(await readFile(file, 'utf8')).some((l) => l.length > 90)).toBe(true);
  }, 60_000);
});
