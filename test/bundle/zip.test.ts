// The zip engine on its own: independent readers (unzip, 7z, Python's zipfile, yauzl) must read
// what it writes, including the zip64 cases.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { ZipWriter } from '../../src/bundle/zip.js';
import { have, run, tempDir, zipToolsAccept } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('clk-zip-'));
});
afterEach(async () => {
  await cleanup();
});

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function* chunked(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let p = 0; p < b.length; p += size) yield b.subarray(p, p + size);
}

async function writeZip(file: string, build: (z: ZipWriter) => Promise<void>, opts: ConstructorParameters<typeof ZipWriter>[1] = {}): Promise<void> {
  const out = createWriteStream(file);
  const z = new ZipWriter((b) => new Promise((res, rej) => out.write(b, (e) => (e ? rej(e) : res()))), opts);
  await build(z);
  await z.finish();
  await new Promise<void>((r) => out.end(() => r()));
}

function readAll(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (e: yauzl.Entry) => {
        zip.openReadStream(e, (err2, s) => {
          if (err2 || !s) return reject(err2);
          const parts: Buffer[] = [];
          s.on('data', (c: Buffer) => parts.push(c));
          s.on('end', () => {
            out.set(e.fileName, Buffer.concat(parts));
            zip.readEntry();
          });
          s.on('error', reject);
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

const text = Buffer.from(
  Array.from({ length: 40000 }, (_, i) => `2025-06-03 10:${String(i % 60).padStart(2, '0')}:00.000 [${i % 17}] INFO W6.ServerAPI - request ${i * 7919} completed in ${i % 900} ms\n`).join(''),
);

describe('ZipWriter', () => {
  it('round-trips empty, stored, multi-block deflated and UTF-8 named entries through four readers', async () => {
    const file = join(dir, 'a.zip');
    const rand = randomBytes(300_000);
    await writeZip(
      file,
      async (z) => {
        await z.addEntry({ name: 'empty.txt', store: false, date: new Date() }, one(Buffer.alloc(0)));
        await z.addEntry({ name: 'empty-stored.txt', store: true, date: new Date() }, one(Buffer.alloc(0)));
        await z.addEntry({ name: 'APP01/Tracer/W6Server.log', store: false, date: new Date('2025-06-03T10:12:00Z') }, chunked(text, 7777));
        await z.addEntry({ name: 'APP01/rand.bin', store: true, date: new Date() }, chunked(rand, 65536));
        await z.addEntry({ name: 'Zürich/Überwachung — log.txt', store: false, date: new Date() }, one(Buffer.from('grüße\n')));
      },
      { blockSize: 64 * 1024, parallel: 3 }, // many blocks: exercises dictionaries and sync flushes
    );
    const back = await readAll(file);
    expect(back.get('empty.txt')!.length).toBe(0);
    expect(back.get('APP01/Tracer/W6Server.log')!.equals(text)).toBe(true);
    expect(back.get('APP01/rand.bin')!.equals(rand)).toBe(true);
    expect(back.get('Zürich/Überwachung — log.txt')!.toString()).toBe('grüße\n');
    const tools = await zipToolsAccept(file);
    if (tools.unzip !== undefined) expect(tools.unzip).toContain('No errors detected');
    if (tools.sevenZip !== undefined) expect(tools.sevenZip).toContain('Everything is Ok');
    if (have('python3')) {
      const py = await run('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.testzip()); print(len(z.namelist()))', file]);
      expect(py.stdout.trim()).toBe('None\n5');
    }
  });

  it('parallel blocks compress within 1% of a single deflate pass', async () => {
    const file = join(dir, 'ratio.zip');
    let compressed = 0;
    await writeZip(file, async (z) => {
      compressed = (await z.addEntry({ name: 'x.log', store: false, date: new Date() }, chunked(text, 100_000))).compressedSize;
    }, { blockSize: 256 * 1024 });
    const single = deflateRawSync(text, { level: 6 }).length;
    expect(compressed / single).toBeLessThan(1.01);
  });

  it('more than 65535 entries: zip64 end records that unzip, 7z and yauzl read', async () => {
    const file = join(dir, 'many.zip');
    const n = 70_000;
    const parts: Buffer[] = [];
    const z = new ZipWriter(async (b) => void parts.push(b)); // in memory: the test is about the records
    for (let i = 0; i < n; i++) await z.addEntry({ name: `f/${i}.txt`, store: true, date: new Date(0) }, one(Buffer.from(String(i))));
    await z.finish();
    await writeFile(file, Buffer.concat(parts));
    const count = await new Promise<number>((resolve, reject) =>
      yauzl.open(file, { lazyEntries: false }, (err, zip) => (err || !zip ? reject(err) : resolve(zip.entryCount))),
    );
    expect(count).toBe(n);
    if (have('unzip')) expect((await run('unzip', ['-tq', file], { maxBuffer: 64 << 20 })).stdout).toContain('No errors detected');
    if (have('7z')) expect((await run('7z', ['t', file], { maxBuffer: 64 << 20 })).stdout).toContain('Everything is Ok');
    if (have('unzip')) expect((await run('unzip', ['-p', file, 'f/69999.txt'])).stdout).toBe('69999');
  }, 120_000);

  it.skipIf(!process.env.CLK_SLOW_TESTS)('an entry over 4 GiB: zip64 sizes in the central directory (set CLK_SLOW_TESTS=1)', async () => {
    const file = join(dir, 'big.zip');
    const size = 4 * 1024 ** 3 + 12345;
    const block = Buffer.alloc(4 * 1024 * 1024);
    async function* zeros() {
      let left = size;
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        yield block.subarray(0, n);
      }
    }
    await writeZip(file, async (z) => {
      const r = await z.addEntry({ name: 'zeros.bin', store: false, date: new Date() }, zeros());
      expect(r.size).toBe(size);
      await z.addEntry({ name: 'after.txt', store: false, date: new Date() }, one(Buffer.from('after')));
    }, { level: 1 });
    expect((await stat(file)).size).toBeLessThan(64 * 1024 * 1024);
    const tools = await zipToolsAccept(file);
    if (tools.unzip !== undefined) expect(tools.unzip).toContain('No errors detected');
    if (tools.sevenZip !== undefined) expect(tools.sevenZip).toMatch(/Everything is Ok/);
    const listing = have('unzip') ? (await run('unzip', ['-l', file])).stdout : '';
    if (listing) expect(listing).toContain(String(size));
    void readFile;
  }, 600_000);
});
