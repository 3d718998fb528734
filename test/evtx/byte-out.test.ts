// The byte writer of `evtx dump --format jsonl` (byte-out.ts) against the text path it replaces:
// JSON.stringify for escaping, and renderJsonLine for every record of real files (the corpus too).
import { describe, expect, it } from 'vitest';
import { ByteOut } from '../../src/logs/evtx/byte-out.js';
import { renderJsonLine } from '../../src/logs/evtx/index.js';
import { writeJsonLine } from '../../src/logs/evtx/render.js';
import { corpus, corpusPresent, fixtures, listEvtx, readAll } from './helpers.js';

/** Strings that take every branch: controls, quotes, backslash, 2- and 3-byte UTF-8, pairs, lone halves. */
const HARD = [
  '',
  'plain ASCII text',
  'quote " and backslash \\ and DEL \u007f',
  '\u0000\u0001\u0007\b\t\n\u000b\f\r\u000e\u001f',
  'é ü ß ÿ Ā ߿ ࠀ',
  '日本語 € \u2028 \u2029 \ufffe \uffff',
  'pair 😀 and 𝄞 at the end 😀',
  'lone high \ud800 then text',
  'lone low \udc00 then text',
  'reversed \udc00\ud800',
  'high at the end \udbff',
  'two highs \ud800\ud800\udc00',
];

function utf16le(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

describe('ByteOut', () => {
  it('writes JSON strings as JSON.stringify does, encoded as UTF-8', () => {
    for (const s of HARD) {
      const expected = Buffer.from(JSON.stringify(s), 'utf8');
      const a = new ByteOut();
      a.jsonString(s);
      expect(Buffer.from(a.take())).toEqual(expected);
      // The same text read from UTF-16LE bytes (as in a chunk), at an odd offset in a larger buffer.
      const src = Buffer.concat([Buffer.from([0x41]), utf16le(s), Buffer.from([0x42, 0])]);
      const b = new ByteOut();
      b.jsonUtf16(src, 1, 1 + 2 * s.length);
      expect(Buffer.from(b.take())).toEqual(expected);
    }
  });

  it('writes numbers as String() does', () => {
    const values = [0, -0, 7, 10, 99, 100, 4294967295, 9007199254740991, 9007199254740992, -1, -2147483648, 1.5, NaN, Infinity, 1e21];
    for (const v of values) {
      const w = new ByteOut();
      w.num(v);
      expect(Buffer.from(w.take()).toString('latin1')).toBe(String(v));
    }
    const w = new ByteOut();
    w.padded(42, 7);
    w.hex8(0x1f1fff);
    w.hexUpper(Buffer.from([0, 0xab, 0x7f]), 0, 3);
    expect(Buffer.from(w.take()).toString('latin1')).toBe('0000042001f1fff00AB7F');
  });

  it('grows past its scratch buffer and keeps what was written', () => {
    const w = new ByteOut();
    const long = 'x'.repeat(300_000);
    w.ascii('{');
    w.jsonString(long);
    w.add('}é');
    expect(Buffer.from(w.take()).toString('utf8')).toBe(`{"${long}"}é`);
  });
});

async function sameAsText(files: string[]): Promise<number> {
  let n = 0;
  for (const file of files) {
    // Each record read twice: rendering one can leave its data object cached, which the other path
    // would then use; fresh records make each path take its own way.
    const { records } = await readAll(file);
    const { records: again } = await readAll(file);
    // ...and a third time with System asked first (as a --level filter does): the other head writer.
    const { records: asked } = await readAll(file);
    expect(again.length).toBe(records.length);
    for (const [i, r] of records.entries()) {
      const text = `${renderJsonLine(r)}\n`;
      void asked[i].system;
      for (const rec of [again[i], asked[i]]) {
        const w = new ByteOut();
        writeJsonLine(w, rec);
        const bytes = Buffer.from(w.take());
        if (!bytes.equals(Buffer.from(text, 'utf8'))) expect({ file, line: bytes.toString('utf8') }).toEqual({ file, line: text });
      }
      n++;
    }
  }
  return n;
}

describe('writeJsonLine', () => {
  it('gives the bytes of renderJsonLine for every record of the fixtures', async () => {
    expect(await sameAsText(listEvtx(fixtures))).toBeGreaterThan(1000);
  });

  it.skipIf(!corpusPresent)('gives the bytes of renderJsonLine for every record of the shared corpus', async () => {
    expect(await sameAsText(listEvtx(corpus))).toBeGreaterThan(10000);
  }, 300_000);
});
