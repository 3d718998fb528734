// Property-based fuzzing on mutated real chunks: whatever the damage, reading never throws, always
// finishes, and every yielded record renders.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evtxStats, readEvtx, renderJsonLine, type EvtxWarning } from '../../src/logs/evtx/index.js';
import { fixture } from './helpers.js';

const FILE_HEADER = 4096;
const CHUNK = 65536;

// A one-chunk Security log, and the header plus first two chunks of a Windows 11 System log.
const small = readFileSync(fixture('omerbenamram-Security_short_selected.evtx'));
const multi = readFileSync(fixture('NickSmet-System.evtx')).subarray(0, FILE_HEADER + 2 * CHUNK);

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'bytes'; at: number; bytes: Uint8Array }
  | { kind: 'truncate'; at: number };

// Offsets are biased towards the structures that drive parsing: file header, chunk header and the
// first records/templates of each chunk.
const offset = (size: number) =>
  fc.oneof(
    fc.integer({ min: 0, max: 127 }),
    fc.integer({ min: FILE_HEADER, max: FILE_HEADER + 511 }),
    fc.integer({ min: FILE_HEADER + 512, max: FILE_HEADER + 8191 }),
    fc.integer({ min: 0, max: size - 1 }),
  );

const mutation = (size: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: offset(size), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({
      kind: fc.constant('u32' as const),
      at: offset(size),
      value: fc.oneof(fc.constantFrom(0, 1, 0xffff, 0xffffffff, 0x2a2a, 24, 28, 512, CHUNK), fc.nat()),
    }),
    fc.record({ kind: fc.constant('bytes' as const), at: offset(size), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: offset(size) }),
  );

function mutate(original: Buffer, mutations: Mutation[]): Buffer {
  let data = Buffer.from(original);
  for (const m of mutations) {
    if (m.at >= data.length) continue;
    if (m.kind === 'flip') data[m.at] ^= 1 << m.bit;
    else if (m.kind === 'u32') {
      if (m.at + 4 <= data.length) data.writeUInt32LE(m.value >>> 0, m.at);
    } else if (m.kind === 'bytes') data.set(m.bytes.subarray(0, data.length - m.at), m.at);
    else data = data.subarray(0, m.at);
  }
  return data;
}

/** Reads everything, touching every lazy part; returns the number of records. */
async function readFully(data: Buffer, pieceSize: number): Promise<number> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += pieceSize) pieces.push(data.subarray(at, at + pieceSize));
  const warnings: EvtxWarning[] = [];
  let n = 0;
  for await (const r of readEvtx(pieces, { onWarning: (w) => warnings.push(w) })) {
    n++;
    r.xml();
    renderJsonLine(r);
    void r.data;
  }
  for (const w of warnings) expect(['header', 'chunk', 'record']).toContain(w.kind);
  return n;
}

describe('fuzz: mutated real chunks', () => {
  for (const [name, original] of [
    ['one-chunk Security log', small],
    ['two-chunk System log', multi],
  ] as const) {
    it(`never throws and always finishes (${name})`, async () => {
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(fc.array(mutation(original.length), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 70000 }), async (mutations, pieceSize) => {
          const n = await readFully(mutate(original, mutations), pieceSize);
          expect(n).toBeGreaterThanOrEqual(0);
        }),
        { numRuns: Number(process.env.EVTX_FUZZ_RUNS ?? 150), interruptAfterTimeLimit: Number(process.env.EVTX_FUZZ_MS ?? 4000) },
      );
      expect(Date.now() - started).toBeLessThan(Number(process.env.EVTX_FUZZ_MS ?? 4000) + 11000);
    });
  }

  it('survives random garbage after a valid file header and evtxStats never rejects', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 3 * CHUNK }), async (garbage) => {
        const data = Buffer.concat([small.subarray(0, FILE_HEADER), garbage]);
        const stats = await evtxStats([data]);
        expect(stats.records).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 60, interruptAfterTimeLimit: 3000 },
    );
  });
});
