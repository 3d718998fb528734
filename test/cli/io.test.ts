// Io.fit: long table text is cut only for a terminal, so piped output and logs keep it whole.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Io, colorFor } from '../../src/ui/io.js';
import { renderTable } from '../../src/ui/table.js';

function ioWith(isTTY: boolean): Io {
  const stdout = Object.assign(new PassThrough(), { isTTY });
  return new Io({ stdout, stderr: new PassThrough(), env: {} });
}

describe('Io.fit', () => {
  const long = `share root ${'/deep'.repeat(30)}/c$ does not exist`;

  it('cuts text longer than the width on a terminal, ending in ...', () => {
    const cut = ioWith(true).fit(long, 80);
    expect(cut).toHaveLength(80);
    expect(cut).toBe(`${long.slice(0, 77)}...`);
  });

  it('keeps text whole when stdout is not a terminal', () => {
    expect(ioWith(false).fit(long, 80)).toBe(long);
  });

  it('leaves text that fits alone', () => {
    expect(ioWith(true).fit('refused', 80)).toBe('refused');
  });
});

describe('colour per stream', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it('follows the TTY, then NO_COLOR, FORCE_COLOR, TERM=dumb, CI and --no-color', () => {
    expect(colorFor(tty, {})).toBe(true);
    expect(colorFor(pipe, {})).toBe(false);
    expect(colorFor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorFor(tty, { NO_COLOR: '' })).toBe(true);
    expect(colorFor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorFor(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(colorFor(pipe, { FORCE_COLOR: '1', NO_COLOR: 'x' })).toBe(false);
    expect(colorFor(tty, { TERM: 'dumb' })).toBe(false);
    expect(colorFor(tty, { CI: 'true' })).toBe(false);
    expect(colorFor(tty, { CI: 'true', FORCE_COLOR: '2' })).toBe(true);
    expect(colorFor(tty, {}, false)).toBe(false);
  });
  it('strips colour from a stream that must not have it, keeps it on the other', () => {
    const out = Object.assign(new PassThrough(), { isTTY: false });
    const err = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
    const io = new Io({ stdout: out, stderr: err, env: {} });
    io.out(io.c.red('result'));
    io.warn(io.c.red('message'));
    expect(String(out.read())).toBe('result\n');
    expect(String(err.read())).toMatch(/\x1b\[31m/);
  });
});

describe('renderTable width', () => {
  const rows = [{ name: 'APP01', n: '12', why: 'share root /very/long/path/that/goes/on/and/on does not exist' }];
  const cols = [
    { header: 'NAME', value: (r: (typeof rows)[0]) => r.name },
    { header: 'N', value: (r: (typeof rows)[0]) => r.n, align: 'right' as const },
    { header: 'WHY', value: (r: (typeof rows)[0]) => r.why, free: true },
  ];
  it('cuts the free-text column to fit, keeps the others whole', () => {
    const text = renderTable(rows, cols, { width: 40 });
    for (const l of text.split('\n')) expect(l.length).toBeLessThanOrEqual(40);
    expect(text).toContain('APP01  12  share root');
    expect(text).toMatch(/\.\.\.$/);
  });
  it('keeps everything without a width', () => {
    expect(renderTable(rows, cols)).toContain(rows[0].why);
  });
});
