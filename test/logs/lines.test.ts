import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readLines } from '../../src/logs/lines.js';

async function collect(chunks: Buffer[], max?: number) {
  const out = [];
  for await (const l of readLines((async function* () { yield* chunks; })(), { maxLineBytes: max })) out.push(l);
  return out;
}

describe('readLines', () => {
  it('splits LF and CRLF, keeps byte counts, handles a last line without newline', async () => {
    const lines = await collect([Buffer.from('a\r\nbb\n'), Buffer.from('c')]);
    expect(lines.map((l) => l.text)).toEqual(['a', 'bb', 'c']);
    expect(lines.map((l) => l.bytes)).toEqual([3, 3, 1]);
  });

  it('cuts over-long lines but counts all their bytes', async () => {
    const lines = await collect([Buffer.from('x'.repeat(10)), Buffer.from('y'.repeat(10) + '\nz\n')], 4);
    expect(lines[0]).toEqual({ text: 'xxxx', bytes: 21, cut: true });
    expect(lines[1]).toEqual({ text: 'z', bytes: 2, cut: false });
  });

  it('gives the same lines whatever the chunking (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', '\n', '\r\n', 'é'), { maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }), async (parts, cuts) => {
        const whole = Buffer.from(parts.join(''));
        const chunks: Buffer[] = [];
        let pos = 0;
        for (let i = 0; pos < whole.length; i++) {
          const n = cuts[i % cuts.length];
          chunks.push(whole.subarray(pos, pos + n));
          pos += n;
        }
        const got = await collect(chunks);
        const expected = whole.toString('utf8').split('\n');
        if (expected[expected.length - 1] === '') expected.pop();
        expect(got.map((l) => l.text)).toEqual(expected.map((l) => l.replace(/\r$/, '')));
        expect(got.reduce((a, l) => a + l.bytes, 0)).toBe(whole.length);
      }),
      { numRuns: 200 },
    );
  });
});
