// Io.fit: long table text is cut only for a terminal, so piped output and logs keep it whole.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Io } from '../../src/ui/io.js';

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
