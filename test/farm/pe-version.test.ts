import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PeFormatError, parsePeVersion, readPeVersion, type PeVersionInfo } from '../../src/farm/pe-version.js';
// @ts-ignore -- plain JS fixture generator (tools/ is outside the typed project)
import { buildPe } from '../../tools/make-pe-fixture.mjs';

const FIXTURES = fileURLToPath(new URL('../../fixtures/pe/', import.meta.url));
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

const GENERATED = [
  { file: 'W6Server-8.1.15.2207.exe', version: '8.1.15.2207' },
  { file: 'W6Server-8.1.15.2190.exe', version: '8.1.15.2190' },
];
/** Real PE files with a version resource (see fixtures/pe/SOURCES.txt). */
const REAL_WITH_VERSION = [
  { file: 'distlib-t64.exe', machine: 'x64', version: '1.1.0.14' },
  { file: 'distlib-w32.exe', machine: 'x86', version: '1.1.0.14' },
];

function bufferReader(buf: Buffer) {
  const stats = { calls: 0, bytes: 0, maxRead: 0 };
  const read = async (offset: number, length: number) => {
    stats.calls++;
    stats.bytes += length;
    stats.maxRead = Math.max(stats.maxRead, length);
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      throw new Error(`reader asked for out-of-range bytes ${offset}+${length} of ${buf.length}`);
    }
    return buf.subarray(offset, offset + length);
  };
  return { read, stats };
}

/** Outcome of parsing untrusted bytes: a result or a PeFormatError; anything else fails the test. */
function outcome(buf: Buffer): PeVersionInfo | PeFormatError {
  try {
    return parsePeVersion(buf);
  } catch (e) {
    if (e instanceof PeFormatError) return e;
    throw new Error(`parsePeVersion threw a non-PeFormatError: ${String(e)}`);
  }
}

async function outcomeAsync(buf: Buffer): Promise<PeVersionInfo | PeFormatError> {
  try {
    return await readPeVersion(bufferReader(buf).read, buf.length);
  } catch (e) {
    if (e instanceof PeFormatError) return e;
    throw new Error(`readPeVersion threw a non-PeFormatError: ${String(e)}`);
  }
}

function expectPeError(buf: Buffer, code?: PeFormatError['code']): PeFormatError {
  const r = outcome(buf);
  expect(r).toBeInstanceOf(PeFormatError);
  if (code) expect((r as PeFormatError).code).toBe(code);
  expect((r as PeFormatError).message.length).toBeGreaterThan(10);
  return r as PeFormatError;
}

describe('parsePeVersion on generated ClickSoftware fixtures', () => {
  for (const { file, version } of GENERATED) {
    it(`${file} gives exactly ${version}`, async () => {
      const buf = fixture(file);
      const info = parsePeVersion(buf);
      expect(info).toEqual({
        fileVersion: version,
        productVersion: version,
        fixedFileVersion: version,
        fixedProductVersion: version,
        machine: 'x64',
        strings: {
          CompanyName: 'ClickSoftware Technologies',
          FileDescription: 'ClickSoftware Service Optimization Server',
          FileVersion: version,
          InternalName: 'W6Server',
          OriginalFilename: 'W6Server.exe',
          ProductName: 'ClickSoftware Service Optimization',
          ProductVersion: version,
        },
      });
      expect(await readPeVersion(bufferReader(buf).read, buf.length)).toEqual(info);
    });

    it(`${file} is reproducible from tools/make-pe-fixture.mjs`, () => {
      expect(Buffer.compare(buildPe({ fileVersion: version }), fixture(file))).toBe(0);
    });
  }

  it('distinguishes the two builds', () => {
    const a = parsePeVersion(fixture(GENERATED[0].file));
    const b = parsePeVersion(fixture(GENERATED[1].file));
    expect(a.productVersion).not.toBe(b.productVersion);
  });

  it('reports string and fixed versions separately when they differ', () => {
    const buf: Buffer = buildPe({
      fileVersion: '8.1.15.2207',
      productVersion: '8.1.15.0',
      strings: { ProductVersion: ' 8.1 SP15 ', FileVersion: '8.1.15.2207 (release)' },
    });
    const info = parsePeVersion(buf);
    expect(info.fixedFileVersion).toBe('8.1.15.2207');
    expect(info.fixedProductVersion).toBe('8.1.15.0');
    expect(info.productVersion).toBe('8.1 SP15');
    expect(info.fileVersion).toBe('8.1.15.2207 (release)');
    expect(info.strings.ProductVersion).toBe(' 8.1 SP15 ');
  });
});

describe('parsePeVersion on real PE files', () => {
  for (const { file, machine, version } of REAL_WITH_VERSION) {
    it(`${file}: ${machine}, version ${version}`, async () => {
      const buf = fixture(file);
      const info = parsePeVersion(buf);
      expect(info.machine).toBe(machine);
      expect(info.fixedFileVersion).toBe(version);
      expect(info.fixedProductVersion).toBe(version);
      expect(info.fileVersion).toBe(version);
      expect(info.productVersion).toBe(version);
      expect(info.strings.ProductName).toBe('Simple Launcher');
      expect(info.strings.OriginalFilename).toBe(file.replace('distlib-', ''));
      expect(await readPeVersion(bufferReader(buf).read, buf.length)).toEqual(info);
    });
  }

  it('works through a real file handle', async () => {
    const path = join(FIXTURES, 'distlib-t64.exe');
    const fh = await open(path, 'r');
    try {
      const read = async (offset: number, length: number) => {
        const b = Buffer.alloc(length);
        const { bytesRead } = await fh.read(b, 0, length, offset);
        return b.subarray(0, bytesRead);
      };
      const info = await readPeVersion(read, statSync(path).size);
      expect(info.productVersion).toBe('1.1.0.14');
    } finally {
      await fh.close();
    }
  });

  it('a real PE without a resource section (setuptools cli-64.exe) gives no-resources', () => {
    expectPeError(fixture('setuptools-cli-64.exe'), 'no-resources');
  });
});

// ---------------------------------------------------------------------------
// Independent check against 7-Zip's PE reader, which extracts .rsrc/**/version.txt

const has7z = spawnSync('7z', ['i'], { stdio: 'ignore' }).status === 0;

interface SevenZipVersion {
  fileVersion: string;
  productVersion: string;
  strings: Record<string, string>;
  cpu?: string;
}

function sevenZipVersion(path: string): SevenZipVersion {
  const dir = mkdtempSync(join(tmpdir(), 'pe-7z-'));
  try {
    execFileSync('7z', ['x', '-y', `-o${dir}`, path], { stdio: 'ignore' });
    const found = (readdirSync(dir, { recursive: true }) as string[]).find((p) => /(^|[\\/])version\.txt$/.test(p));
    if (!found) throw new Error(`7z extracted no version.txt from ${path}`);
    let text = readFileSync(join(dir, found)).toString('utf16le');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const num = (name: string) => {
      const m = new RegExp(`^${name}\\s+(\\d+),(\\d+),(\\d+),(\\d+)`, 'm').exec(text);
      if (!m) throw new Error(`no ${name} in 7z version.txt`);
      return m.slice(1).join('.');
    };
    const strings: Record<string, string> = {};
    for (const m of text.matchAll(/^\s*VALUE\s+"([^"]+)",\s*"((?:[^"\\]|\\.)*)"\s*$/gm)) strings[m[1]] = m[2];
    const listing = execFileSync('7z', ['l', path], { encoding: 'utf8' });
    const cpu = /^CPU = (\S+)/m.exec(listing)?.[1];
    return { fileVersion: num('FILEVERSION'), productVersion: num('PRODUCTVERSION'), strings, cpu };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('agreement with 7-Zip', () => {
  const files = [...GENERATED.map((g) => g.file), ...REAL_WITH_VERSION.map((r) => r.file)];
  for (const file of files) {
    const title = has7z
      ? `${file}: same versions and strings as 7z`
      : `${file}: same versions and strings as 7z -- SKIPPED: 7z (p7zip-full) is not on PATH`;
    it.skipIf(!has7z)(title, () => {
      const ours = parsePeVersion(fixture(file));
      const theirs = sevenZipVersion(join(FIXTURES, file));
      expect(ours.fixedFileVersion).toBe(theirs.fileVersion);
      expect(ours.fixedProductVersion).toBe(theirs.productVersion);
      expect(ours.strings).toEqual(theirs.strings);
      if (theirs.cpu) expect(ours.machine).toBe(theirs.cpu);
    });
  }

  it.skipIf(!has7z)('7z also sees no version resource in no-version.exe', () => {
    const listing = execFileSync('7z', ['l', join(FIXTURES, 'no-version.exe')], { encoding: 'utf8' });
    expect(listing).toContain('.rsrc');
    expect(listing).not.toContain('version.txt');
  });
});

// ---------------------------------------------------------------------------
// Errors

describe('PeFormatError with a precise reason', () => {
  const good = () => Buffer.from(fixture(GENERATED[0].file));

  it('no version resource', () => {
    const e = expectPeError(fixture('no-version.exe'), 'no-version');
    expect(e.message).toMatch(/no version resource/);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('PeFormatError');
  });

  it('not a PE file', () => {
    expectPeError(Buffer.alloc(0), 'not-pe');
    expectPeError(Buffer.from('#!/bin/sh\necho this is not a PE file, just a shell script\n'.repeat(4)), 'not-pe');
    expectPeError(readFileSync(fileURLToPath(import.meta.url)), 'not-pe');
    // A PK zip local header
    expectPeError(Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(200)]), 'not-pe');
    // MZ with e_lfanew pointing at something that is not "PE\0\0" (an MS-DOS program)
    const dosOnly = good();
    dosOnly.write('NE', 0x40, 'latin1');
    expect(expectPeError(dosOnly, 'not-pe').message).toMatch(/PE\\0\\0/);
  });

  it('truncated file', () => {
    const buf = good();
    expectPeError(buf.subarray(0, 0x100), 'truncated'); // section table cut
    expectPeError(buf.subarray(0, 0x400 + 0x40), 'truncated'); // resource tree cut
    expectPeError(buf.subarray(0, 0x400 + 0x100), 'truncated'); // version data cut
    const t64 = fixture('distlib-t64.exe');
    expectPeError(t64.subarray(0, t64.length >> 1), 'truncated');
    // Every prefix that ends before the version data is complete is an error, never a crash.
    const dataEnd = 0x400 + 0x58 + parsedLength(buf);
    for (let n = 0; n < dataEnd; n++) expect(outcome(buf.subarray(0, n))).toBeInstanceOf(PeFormatError);
  });

  it('truncated read from the random-access reader', async () => {
    const buf = good();
    const short = async (offset: number, length: number) => buf.subarray(offset, offset + Math.min(length, 8));
    await expect(readPeVersion(short, buf.length)).rejects.toMatchObject({ name: 'PeFormatError', code: 'truncated' });
  });

  it('reader I/O errors propagate unchanged', async () => {
    const boom = new Error('EIO');
    await expect(readPeVersion(async () => Promise.reject(boom), 4096)).rejects.toBe(boom);
  });

  it('damaged headers', () => {
    let b = good();
    b.writeUInt32LE(0x7fffffff, 0x3c); // e_lfanew far past EOF
    expectPeError(b, 'truncated');
    b = good();
    b.writeUInt16LE(0x1234, 0x40 + 24); // optional header magic
    expectPeError(b, 'malformed');
    b = good();
    b.writeUInt32LE(0, 0x40 + 24 + 108); // NumberOfRvaAndSizes = 0
    expectPeError(b, 'no-resources');
    b = good();
    b.writeUInt16LE(0xffff, 0x40 + 6); // 65535 sections
    expectPeError(b, 'malformed');
    b = good();
    b.writeUInt32LE(0x9000, 0x40 + 24 + 112 + 16); // resource RVA outside every section
    expectPeError(b, 'malformed');
  });

  it('damaged resource tree and version block', () => {
    let b = good();
    b.writeUInt32LE(0xfeef04be, 0x400 + 0x58 + 40); // VS_FIXEDFILEINFO signature
    expect(expectPeError(b, 'malformed').message).toMatch(/0xfeef04bd/);
    b = good();
    b.write('X', 0x400 + 0x58 + 6, 'utf16le'); // "VS_VERSION_INFO" key
    expectPeError(b, 'malformed');
    b = good();
    b.writeUInt16LE(0, 0x400 + 0x58); // wLength 0
    expectPeError(b, 'malformed');
    b = good();
    b.writeUInt32LE(0x80000000, 0x400 + 0x18 + 20); // name level points back to the root: a cycle
    expect(outcome(b)).toBeInstanceOf(PeFormatError);
    b = good();
    b.writeUInt32LE(0x7ffffff0, 0x400 + 20); // type entry points far outside .rsrc
    expectPeError(b);
  });
});

function parsedLength(buf: Buffer): number {
  // VS_VERSIONINFO wLength at the version data (rsrc at 0x400, data at +0x58 in generated fixtures)
  return buf.readUInt16LE(0x400 + 0x58);
}

// ---------------------------------------------------------------------------
// Fuzzing: any byte damage gives a result or a PeFormatError, quickly.

describe('fuzzed input never hangs or throws anything but PeFormatError', () => {
  const bases = [
    { name: 'generated', buf: fixture(GENERATED[0].file), headerEnd: 0x200 },
    { name: 'distlib-w32', buf: fixture('distlib-w32.exe'), headerEnd: 0x400 },
  ];
  for (const { name, buf, headerEnd } of bases) {
    it(`byte flips in ${name} headers and resources`, async () => {
      // Raw data of the .rsrc section, from the file's own section table.
      const rsrcHeader = buf.indexOf('.rsrc\0', 0, 'latin1');
      expect(rsrcHeader).toBeGreaterThan(0);
      const rsrcStart = buf.readUInt32LE(rsrcHeader + 20);
      const regions: Array<[number, number]> = [
        [0, headerEnd],
        [rsrcStart, Math.min(buf.length, rsrcStart + 0x400)],
      ];
      const flip = fc.record({
        region: fc.integer({ min: 0, max: regions.length - 1 }),
        edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      });
      await fc.assert(
        fc.asyncProperty(flip, async ({ region, edits }) => {
          const [lo, hi] = regions[region];
          const b = Buffer.from(buf);
          for (const [pos, val] of edits) b[lo + (pos % (hi - lo))] = val;
          const started = Date.now();
          const sync = outcome(b);
          const async_ = await outcomeAsync(b);
          expect(Date.now() - started).toBeLessThan(1000);
          // Both entry points agree.
          if (sync instanceof PeFormatError) {
            expect(async_).toBeInstanceOf(PeFormatError);
            expect((async_ as PeFormatError).code).toBe(sync.code);
          } else {
            expect(async_).toEqual(sync);
          }
        }),
        { numRuns: 400, seed: 20260523 },
      );
    });
  }

  it('random bytes behind an MZ header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1024 }), fc.nat({ max: 1100 }), (bytes, lfanew) => {
        const b = Buffer.alloc(Math.max(64, bytes.length));
        b.set(bytes);
        b.write('MZ', 0, 'latin1');
        b.writeUInt32LE(lfanew, 0x3c);
        if (lfanew + 4 <= b.length) b.write('PE\0\0', lfanew, 'latin1');
        expect(outcome(b)).toBeInstanceOf(PeFormatError);
      }),
      { numRuns: 500, seed: 42 },
    );
  });
});

// ---------------------------------------------------------------------------
// Random access: only a small part of a big file is read.

describe('readPeVersion reads only headers and the resource tree', () => {
  it('a 100 MiB image: reads a few KiB', async () => {
    const big: Buffer = buildPe({ fileVersion: '8.1.15.2207', textSize: 100 * 1024 * 1024 });
    expect(big.length).toBeGreaterThan(100 * 1024 * 1024);
    const { read, stats } = bufferReader(big);
    const info = await readPeVersion(read, big.length);
    expect(info.productVersion).toBe('8.1.15.2207');
    expect(info.strings.ProductName).toBe('ClickSoftware Service Optimization');
    expect(stats.bytes).toBeLessThan(4096);
    expect(stats.calls).toBeLessThan(16);
    expect(parsePeVersion(big)).toEqual(info);
  });

  it('real file: reads under 10% of it', async () => {
    const buf = fixture('distlib-t64.exe');
    const { read, stats } = bufferReader(buf);
    await readPeVersion(read, buf.length);
    expect(stats.bytes).toBeLessThan(buf.length / 10);
  });

  it('a lying file size is reported as truncated, not read past', async () => {
    const buf = fixture(GENERATED[0].file);
    const { read } = bufferReader(buf);
    await expect(readPeVersion(read, 0x300)).rejects.toMatchObject({ code: 'truncated' });
  });
});
