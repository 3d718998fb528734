// Reads a zip that came from elsewhere, with every size and count bounded before it is used: the end
// record and its zip64 form, then the central directory streamed record by record (never more than
// the caps), and entry data through an exact byte range checked against its neighbours. Nothing is
// inflated by this module beyond what a caller asks for, and never past the size the directory
// declares. Used by `bundle verify` and `bundle inspect` (src/bundle/verify.ts); yauzl is not used
// here because it stops at the first unsafe name or lying count instead of letting us report it.
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import { SIG_LOCAL, SIG_CENTRAL, SIG_EOCD, SIG_EOCD64, SIG_EOCD64_LOCATOR, MAX32, MAX16 } from './zip-format.js';

const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const READ_CHUNK = 1024 * 1024;

/** A zip whose structure cannot be read or trusted; `code` is documented in docs/bundle.md. */
export class ZipStructureError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ZipStructureError';
  }
}

export interface ZipLimits {
  maxEntries: number;
  maxCentralDirectoryBytes: number;
}

export interface ZipDirectoryEntry {
  index: number;
  /** decoded (see decodeName); `rawName` keeps the bytes */
  name: string;
  rawName: Buffer;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** high byte of "version made by": 3 = unix */
  madeBy: number;
  externalAttributes: number;
}

export interface ZipDirectory {
  file: string;
  fileSize: number;
  entryCount: number;
  centralDirectoryOffset: number;
  centralDirectorySize: number;
  /** bytes before the central directory: where entry data may lie */
  dataEnd: number;
}

/** An open zip: its end record and a bounded, streaming walk of its central directory. */
export class ZipReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly directory: ZipDirectory,
  ) {}

  static async open(file: string, limits: ZipLimits): Promise<ZipReader> {
    // a FIFO or device would block the open or never end: only regular files are read
    if (!(await stat(file)).isFile()) throw new ZipStructureError('NOT_A_ZIP', 'not a regular file (a directory, FIFO, device or socket)');
    const fh = await open(file, 'r');
    try {
      const directory = await readEnd(fh, file, limits);
      return new ZipReader(fh, directory);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }

  /** Every central-directory record in order; throws ZipStructureError when the directory lies. */
  async *entries(): AsyncGenerator<ZipDirectoryEntry> {
    const { centralDirectoryOffset: start, centralDirectorySize: size, entryCount } = this.directory;
    const end = start + size;
    let buf = Buffer.alloc(0);
    let pos = start; // file offset of buf[0]
    let next = start; // next file offset to read
    const need = async (n: number): Promise<boolean> => {
      while (buf.length < n) {
        if (next >= end) return false;
        const len = Math.min(READ_CHUNK, end - next);
        const chunk = Buffer.alloc(len);
        const { bytesRead } = await this.fh.read(chunk, 0, len, next);
        if (bytesRead === 0) return false;
        next += bytesRead;
        buf = buf.length ? Buffer.concat([buf, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      }
      return true;
    };
    for (let index = 0; index < entryCount; index++) {
      if (!(await need(CENTRAL_SIZE)))
        throw new ZipStructureError('ENTRY_COUNT', `the end record counts ${entryCount} entries but the central directory holds only ${index}`);
      if (buf.readUInt32LE(0) !== SIG_CENTRAL)
        throw new ZipStructureError('CENTRAL_DIRECTORY', `central directory record ${index + 1} is damaged (no signature at offset ${pos})`);
      const nameLen = buf.readUInt16LE(28);
      const extraLen = buf.readUInt16LE(30);
      const commentLen = buf.readUInt16LE(32);
      const total = CENTRAL_SIZE + nameLen + extraLen + commentLen;
      if (!(await need(total)))
        throw new ZipStructureError('CENTRAL_DIRECTORY', `central directory record ${index + 1} runs past the end of the directory`);
      const entry = parseCentral(buf, index, nameLen, extraLen);
      buf = buf.subarray(total);
      pos += total;
      yield entry;
    }
    if (pos !== end || buf.length)
      throw new ZipStructureError('ENTRY_COUNT', `the end record counts ${entryCount} entries but the central directory holds more (${end - pos} bytes left over)`);
  }

  /**
   * The data range of an entry, from its local header: throws ZipStructureError when the header is
   * missing, names another file, or the data runs past `limit` (the next entry, or the directory).
   */
  async dataRange(entry: ZipDirectoryEntry, limit: number): Promise<{ start: number; end: number }> {
    const head = Buffer.alloc(LOCAL_SIZE + entry.rawName.length);
    const { bytesRead } = await this.fh.read(head, 0, head.length, entry.localOffset);
    if (bytesRead < head.length || head.readUInt32LE(0) !== SIG_LOCAL)
      throw new ZipStructureError('LOCAL_HEADER', `no local header at offset ${entry.localOffset}`);
    const nameLen = head.readUInt16LE(26);
    const extraLen = head.readUInt16LE(28);
    if (nameLen !== entry.rawName.length || !head.subarray(LOCAL_SIZE).equals(entry.rawName))
      throw new ZipStructureError('LOCAL_HEADER', 'the local header names a different file than the central directory');
    const start = entry.localOffset + LOCAL_SIZE + nameLen + extraLen;
    const end = start + entry.compressedSize;
    if (end > limit) throw new ZipStructureError('OVERLAP', `its data (bytes ${start}..${end}) overlaps the next entry or the central directory (at ${limit})`);
    return { start, end };
  }

  /**
   * The entry's bytes, inflated when deflated, never more than `entry.size` (more is an error with
   * code INFLATED_SIZE, and inflation stops there). Stops at once when `signal` aborts.
   */
  async *data(entry: ZipDirectoryEntry, range: { start: number; end: number }, signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (range.end === range.start) {
      if (entry.size !== 0) throw new Error(`no data for ${entry.size} declared bytes`);
      return;
    }
    const raw = createReadStream(this.directory.file, { start: range.start, end: range.end - 1, highWaterMark: 256 * 1024, signal });
    const stream = entry.method === 8 ? raw.pipe(createInflateRaw({ chunkSize: 64 * 1024 })) : raw;
    if (stream !== raw) raw.on('error', (err) => stream.destroy(err));
    let produced = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        signal?.throwIfAborted();
        produced += chunk.length;
        if (produced > entry.size)
          throw new ZipStructureError('INFLATED_SIZE', `inflates to more than the ${entry.size} bytes the central directory declares`);
        yield chunk;
      }
    } finally {
      raw.destroy();
      if (stream !== raw) stream.destroy();
    }
    signal?.throwIfAborted();
    if (produced !== entry.size) throw new Error(`data ends after ${produced} of ${entry.size} bytes`);
  }
}

function parseCentral(buf: Buffer, index: number, nameLen: number, extraLen: number): ZipDirectoryEntry {
  const rawName = Buffer.from(buf.subarray(CENTRAL_SIZE, CENTRAL_SIZE + nameLen));
  let compressedSize = buf.readUInt32LE(20);
  let size = buf.readUInt32LE(24);
  let localOffset = buf.readUInt32LE(42);
  const disk = buf.readUInt16LE(34);
  if (size === MAX32 || compressedSize === MAX32 || localOffset === MAX32 || disk === MAX16) {
    // zip64 extended information: only the fields that overflowed, in this order
    const extra = buf.subarray(CENTRAL_SIZE + nameLen, CENTRAL_SIZE + nameLen + extraLen);
    let z: Buffer | undefined;
    for (let i = 0; i + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(i);
      const len = extra.readUInt16LE(i + 2);
      if (i + 4 + len > extra.length) break;
      if (id === 0x0001) z = extra.subarray(i + 4, i + 4 + len);
      i += 4 + len;
    }
    let at = 0;
    const u64 = (): number => {
      if (!z || at + 8 > z.length) throw new ZipStructureError('CENTRAL_DIRECTORY', `central directory record ${index + 1} lacks its zip64 sizes`);
      const v = z.readBigUInt64LE(at);
      at += 8;
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipStructureError('CENTRAL_DIRECTORY', `central directory record ${index + 1} declares an impossible size`);
      return Number(v);
    };
    if (size === MAX32) size = u64();
    if (compressedSize === MAX32) compressedSize = u64();
    if (localOffset === MAX32) localOffset = u64();
  }
  return {
    index,
    name: decodeName(rawName, buf.readUInt16LE(8)),
    rawName,
    flags: buf.readUInt16LE(8),
    method: buf.readUInt16LE(10),
    crc32: buf.readUInt32LE(16),
    compressedSize,
    size,
    localOffset,
    madeBy: buf.readUInt8(5),
    externalAttributes: buf.readUInt32LE(38),
  };
}

const UTF8 = new TextDecoder('utf-8');
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 when flagged (invalid bytes become U+FFFD); unflagged names are UTF-8 when valid, else Latin-1. */
function decodeName(raw: Buffer, flags: number): string {
  if (flags & 0x0800) return UTF8.decode(raw);
  try {
    return UTF8_STRICT.decode(raw);
  } catch {
    return raw.toString('latin1');
  }
}

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, offset);
  return b.subarray(0, bytesRead);
}

async function readEnd(fh: FileHandle, file: string, limits: ZipLimits): Promise<ZipDirectory> {
  const fileSize = (await fh.stat()).size;
  const head = await readAt(fh, 0, 4);
  const looksLikeZip = head.length === 4 && head.readUInt32LE(0) === SIG_LOCAL;
  const notZip = () =>
    looksLikeZip
      ? new ZipStructureError('ZIP_TRUNCATED', 'starts like a zip but has no end of central directory (truncated or damaged)')
      : new ZipStructureError('NOT_A_ZIP', 'not a zip file (no end of central directory record)');
  if (fileSize < EOCD_SIZE) throw notZip();
  const tailLen = Math.min(fileSize, EOCD_SIZE + MAX16);
  const tailStart = fileSize - tailLen;
  const tail = await readAt(fh, tailStart, tailLen);
  let at = -1;
  // the last end record whose comment runs exactly to the end of the file
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD && i + EOCD_SIZE + tail.readUInt16LE(i + 20) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw notZip();
  const eocdOffset = tailStart + at;
  const e = tail.subarray(at);
  let disk = e.readUInt16LE(4);
  let cdDisk = e.readUInt16LE(6);
  let onDisk: number = e.readUInt16LE(8);
  let entryCount: number = e.readUInt16LE(10);
  let cdSize: number = e.readUInt32LE(12);
  let cdOffset: number = e.readUInt32LE(16);
  let recordsEnd = eocdOffset; // where the central directory must end
  if (entryCount === MAX16 || onDisk === MAX16 || cdSize === MAX32 || cdOffset === MAX32 || disk === MAX16 || cdDisk === MAX16) {
    const loc = eocdOffset >= 20 ? await readAt(fh, eocdOffset - 20, 20) : Buffer.alloc(0);
    if (loc.length === 20 && loc.readUInt32LE(0) === SIG_EOCD64_LOCATOR) {
      const off = loc.readBigUInt64LE(8);
      if (off + 56n > BigInt(eocdOffset - 20)) throw new ZipStructureError('CENTRAL_DIRECTORY', 'the zip64 end record lies outside the file');
      const z = await readAt(fh, Number(off), 56);
      if (z.length < 56 || z.readUInt32LE(0) !== SIG_EOCD64) throw new ZipStructureError('CENTRAL_DIRECTORY', 'the zip64 end record is missing or damaged');
      const big = (o: number): number => {
        const v = z.readBigUInt64LE(o);
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipStructureError('CENTRAL_DIRECTORY', 'the zip64 end record declares an impossible size');
        return Number(v);
      };
      disk = z.readUInt32LE(16);
      cdDisk = z.readUInt32LE(20);
      onDisk = big(24);
      entryCount = big(32);
      cdSize = big(40);
      cdOffset = big(48);
      recordsEnd = Number(off);
    }
  }
  if (disk !== 0 || cdDisk !== 0 || onDisk !== entryCount) throw new ZipStructureError('MULTI_DISK', 'a split (multi-disk) zip, or one whose end record counts disagree');
  if (entryCount > limits.maxEntries) throw new ZipStructureError('TOO_MANY_ENTRIES', `${entryCount} entries, more than the ${limits.maxEntries} verify accepts`);
  if (cdSize > limits.maxCentralDirectoryBytes) throw new ZipStructureError('TOO_MANY_ENTRIES', `a ${cdSize}-byte central directory, more than the ${limits.maxCentralDirectoryBytes} verify accepts`);
  if (cdOffset + cdSize !== recordsEnd)
    throw new ZipStructureError('CENTRAL_DIRECTORY', `the end record places the central directory at ${cdOffset}..${cdOffset + cdSize}, but it ends at ${recordsEnd}`);
  if (entryCount * CENTRAL_SIZE > cdSize)
    throw new ZipStructureError('ENTRY_COUNT', `the end record counts ${entryCount} entries, more than a ${cdSize}-byte central directory can hold`);
  return { file, fileSize, entryCount, centralDirectoryOffset: cdOffset, centralDirectorySize: cdSize, dataEnd: cdOffset };
}
