// Damage is always reported: files made in the test from real fixtures (a zeroed chunk, a bad chunk
// signature, a damaged template or nested value, truncation) and inputs that are no .evtx at all,
// read through the built CLI as a user runs it, and through evtxStats.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { evtxStats, readEvtx } from '../../src/logs/evtx/index.js';
import { ValueType } from '../../src/logs/evtx/values.js';
import { fixture, repoRoot } from './helpers.js';

const bin = join(repoRoot, 'bin', 'clk-support.js');
const dir = mkdtempSync(join(tmpdir(), 'clk-evtx-damage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = 4096;
const CHUNK = 65536;

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: repoRoot, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, data: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

/** Records per format from the built CLI: JSON lines and <Event> elements of the XML document. */
function dumpCounts(file: string): { jsonl: number; xml: number; xmlStatus: number | null } {
  const j = cli(['evtx', 'dump', file, '--format', 'jsonl']);
  const x = cli(['evtx', 'dump', file, '--format', 'xml']);
  expect(j.status).toBe(0);
  expect(x.status).toBe(0);
  const lint = spawnSync('xmllint', ['--noout', '-'], { input: x.stdout, encoding: 'utf8' });
  return { jsonl: j.stdout.split('\n').filter(Boolean).length, xml: (x.stdout.match(/<Event xmlns=/g) ?? []).length, xmlStatus: lint.status };
}

function statsOf(file: string) {
  const r = cli(['evtx', 'stats', file, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).files[0];
}

/** Records a chunk holds, from its header (first and last record number). */
function chunkRecords(data: Buffer, index: number): number {
  const at = HEADER + index * CHUNK;
  return Number(data.readBigUInt64LE(at + 32) - data.readBigUInt64LE(at + 24)) + 1;
}

const system = readFileSync(fixture('NickSmet-System.evtx')); // 10 chunks in use, 7 preallocated slots

describe('damaged chunks are skipped, reported and counted', () => {
  it('the clean file has no warning and no skipped chunk (preallocated zero slots are no damage)', () => {
    const s = statsOf(fixture('NickSmet-System.evtx'));
    expect(s).toMatchObject({ records: 1247, chunks: 10, skippedChunks: 0, skippedRecords: 0, degradedRecords: 0, warnings: [] });
  });

  it('a zeroed chunk inside the header count', () => {
    const data = Buffer.from(system);
    const lost = chunkRecords(data, 3);
    data.fill(0, HEADER + 3 * CHUNK, HEADER + 4 * CHUNK);
    const file = write('zeroed-chunk.evtx', data);
    const s = statsOf(file);
    expect(s.records).toBe(1247 - lost);
    expect(s.skippedChunks).toBe(1);
    expect(s.chunks).toBe(9);
    const zeroed = s.warnings.filter((w: { reason: string }) => w.reason.startsWith('zeroed chunk'));
    expect(zeroed).toEqual([expect.objectContaining({ kind: 'chunk', chunk: 3, offset: HEADER + 3 * CHUNK })]);
    const text = cli(['evtx', 'stats', file]);
    expect(text.stdout).toContain('(1 damaged chunks skipped)');
    expect(text.stderr).toContain('zeroed chunk');
    const dump = cli(['evtx', 'dump', file, '--format', 'jsonl']);
    expect(dump.stderr).toMatch(/zeroed-chunk\.evtx: offset 200704 \(chunk 3\): zeroed chunk/);
    expect(dumpCounts(file)).toEqual({ jsonl: 1247 - lost, xml: 1247 - lost, xmlStatus: 0 });
  });

  it('a zeroed chunk past a stale header count, followed by a real chunk', () => {
    const data = Buffer.from(system);
    data.writeUInt16LE(2, 42); // the header claims 2 chunks (stale, as in dirty or VSS-copied logs)
    data.writeUInt32LE(crc32(data.subarray(0, 120)), 124);
    const lost = chunkRecords(data, 6);
    data.fill(0, HEADER + 6 * CHUNK, HEADER + 7 * CHUNK);
    const s = statsOf(write('zeroed-past-count.evtx', data));
    expect(s.records).toBe(1247 - lost);
    expect(s.skippedChunks).toBe(1);
    expect(s.warnings.map((w: { reason: string }) => w.reason)).toEqual(['zeroed chunk (all zero bytes) before chunk 7; its records are lost']);
  });

  it('a bad chunk signature', () => {
    const data = Buffer.from(system);
    const lost = chunkRecords(data, 5);
    data.write('NotChnk\0', HEADER + 5 * CHUNK, 'latin1');
    const file = write('bad-signature.evtx', data);
    const s = statsOf(file);
    expect(s.records).toBe(1247 - lost);
    expect(s.skippedChunks).toBe(1);
    expect(s.warnings).toEqual([expect.objectContaining({ kind: 'chunk', chunk: 5, reason: 'bad chunk magic; chunk skipped' })]);
    expect(dumpCounts(file)).toEqual({ jsonl: 1247 - lost, xml: 1247 - lost, xmlStatus: 0 });
  });

  it('a file cut inside a chunk: the complete records are read, the cut is reported', () => {
    const file = write('cut.evtx', system.subarray(0, HEADER + 2 * CHUNK + 30000));
    const s = statsOf(file);
    expect(s.records).toBeGreaterThan(chunkRecords(system, 0) + chunkRecords(system, 1));
    expect(s.records).toBeLessThan(1247);
    expect(s.warnings.some((w: { reason: string }) => w.reason.startsWith('truncated chunk (30000 of 65536 bytes)'))).toBe(true);
    expect(s.warnings.some((w: { reason: string }) => w.reason === 'the header lists 10 chunks, the file ends after 3')).toBe(true);
    const counts = dumpCounts(file);
    expect(counts).toEqual({ jsonl: s.records, xml: s.records, xmlStatus: 0 });
  });
});

/** The first record's first template instance: where its template and values sit in chunk 0. */
async function firstInstance(path: string) {
  for await (const r of readEvtx(path)) {
    const nodes = (r as unknown as { nodes: { k: number; inst: { def: { offset: number }; count: number; type(i: number): number; start(i: number): number } }[] }).nodes;
    return { record: r, inst: nodes[0].inst };
  }
  throw new Error('no record');
}

describe('damaged records are reported one by one and counted', () => {
  it('a damaged nested value: the record is given without it, in JSON and XML alike, and counted', async () => {
    const src = fixture('omerbenamram-Security_short_selected.evtx');
    const { record, inst } = await firstInstance(src);
    let nested = -1;
    for (let i = 0; i < inst.count; i++) if (inst.type(i) === ValueType.BinXml) nested = i;
    expect(nested).toBeGreaterThanOrEqual(0);
    const data = Buffer.from(readFileSync(src));
    data[HEADER + inst.start(nested)] = 0xff; // not a BinXml token
    const file = write('degraded.evtx', data);
    const s = await evtxStats(file);
    expect(s.records).toBe(7);
    expect(s.degradedRecords).toBe(1);
    const degraded = s.warnings.filter((w) => w.record === 'degraded');
    expect(degraded).toHaveLength(1);
    expect(degraded[0].reason).toContain(`record ${record.recordId}: substitution ${nested}: unexpected BinXml token 0xff`);
    expect(statsOf(file)).toMatchObject({ records: 7, degradedRecords: 1, skippedRecords: 0 });
    expect(dumpCounts(file)).toEqual({ jsonl: 7, xml: 7, xmlStatus: 0 });
    const first = JSON.parse(cli(['evtx', 'dump', file, '--format', 'jsonl']).stdout.split('\n')[0]);
    expect(first).toMatchObject({ recordId: 319457771, eventId: 5152, data: {} });
    const dump = cli(['evtx', 'dump', file]);
    expect(dump.stderr).toContain('given without the damaged part');
  });

  it('a damaged template: every record using it is skipped with its own warning and counted', async () => {
    const src = fixture('NickSmet-System.evtx');
    const { inst } = await firstInstance(src);
    const data = Buffer.from(readFileSync(src));
    data.fill(0xff, HEADER + inst.def.offset + 24, HEADER + inst.def.offset + 40); // the definition's BinXml
    const file = write('bad-template.evtx', data);
    const s = await evtxStats(file);
    expect(s.skippedRecords).toBeGreaterThanOrEqual(1);
    expect(s.records).toBeGreaterThan(1000);
    expect(s.records + s.skippedRecords).toBe(1247);
    const skipped = s.warnings.filter((w) => w.record === 'skipped');
    expect(skipped).toHaveLength(s.skippedRecords);
    expect(dumpCounts(file)).toEqual({ jsonl: s.records, xml: s.records, xmlStatus: 0 });
  });
});

describe('input that cannot be read is an error naming the file', () => {
  it('a text file, an empty file and a short non-evtx file: exit 2, not an .evtx file', () => {
    const text = write('notes.evtx', Buffer.from('Event log exported by hand\n'.repeat(400)));
    const empty = write('empty.evtx', Buffer.alloc(0));
    const tiny = write('tiny.evtx', Buffer.from('hello\n'));
    for (const file of [text, empty, tiny]) {
      for (const args of [['evtx', 'dump', file], ['evtx', 'dump', file, '--format', 'jsonl'], ['evtx', 'stats', file]]) {
        const r = cli(args);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain(`error: ${file}: not an .evtx file`);
      }
    }
  });

  it('an .evtx cut inside its header: exit 1, damaged beyond reading', () => {
    const file = write('cut-header.evtx', system.subarray(0, 100));
    const r = cli(['evtx', 'dump', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: ${file}: damaged beyond reading`);
  });

  it('an .evtx whose every chunk is damaged: exit 1; the readable files of a stats run are still printed', () => {
    const data = Buffer.from(system.subarray(0, HEADER + 2 * CHUNK));
    data.write('XXXXXXXX', HEADER, 'latin1');
    data.write('XXXXXXXX', HEADER + CHUNK, 'latin1');
    const file = write('all-bad.evtx', data);
    expect(cli(['evtx', 'dump', file, '--format', 'jsonl']).status).toBe(1);
    const good = join(dir, 'good.evtx');
    copyFileSync(fixture('omerbenamram-new-user-security.evtx'), good);
    const r = cli(['evtx', 'stats', good, file, '--json']);
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.files.map((f: { records: number; skippedChunks: number }) => [f.records, f.skippedChunks])).toEqual([
      [4, 0],
      [0, 2],
    ]);
    expect(r.stderr).toContain(`${file}: damaged beyond reading`);
  });

  it('an empty but valid log (header only) is no error: an empty document', () => {
    const data = Buffer.from(system.subarray(0, HEADER));
    data.writeUInt16LE(0, 42); // no chunk yet
    data.writeUInt32LE(crc32(data.subarray(0, 120)), 124);
    const file = write('header-only.evtx', data);
    const r = cli(['evtx', 'dump', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('<?xml version="1.0" encoding="utf-8"?>\n<Events>\n</Events>\n');
  });
});
