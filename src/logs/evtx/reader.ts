// Streaming .evtx reader: a 4 KiB file header then 64 KiB chunks, one chunk in memory at a time.
// Damaged input never throws: every skipped piece is reported through onWarning.

import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { BinXmlError, ChunkContext, parseStream } from './binxml.js';
import { EvtxRecordImpl } from './record.js';
import { readFileTimeDate } from './values.js';

export interface EvtxWarning {
  kind: 'header' | 'chunk' | 'record';
  chunk?: number;
  offset: number;
  reason: string;
}

export interface ReadOptions {
  onWarning?: (w: EvtxWarning) => void;
  signal?: AbortSignal;
  /** Called once per chunk slot (statistics). */
  onChunk?: (index: number, status: ChunkStatus) => void;
}

/** 'empty': an all-zero (preallocated) slot; 'bad': a damaged slot that was skipped. */
export type ChunkStatus = 'ok' | 'empty' | 'bad';

export const FILE_HEADER_SIZE = 4096;
export const CHUNK_SIZE = 65536;
const CHUNK_HEADER_SIZE = 512;
const RECORD_HEADER_SIZE = 24;
const MIN_RECORD_SIZE = 28;

export type EvtxSource = AsyncIterable<Buffer | Uint8Array> | string;

/** A piece of the file: the header or one chunk slot (the last one may be short in a truncated file). */
interface Slot {
  buf: Buffer;
  len: number;
}

const READ_CHUNKS = 16; // chunks per read() call: fewer syscalls and awaits

/**
 * Reads a path with positioned 1 MiB reads into one reused buffer and copies each chunk out into its
 * own 64 KiB buffer: records (and their lazy data/xml) may outlive the loop, and a chunk must not pin
 * the whole read block.
 */
async function* slotsFromPath(path: string): AsyncGenerator<Slot> {
  const fh = await open(path, 'r');
  try {
    const header = Buffer.allocUnsafe(FILE_HEADER_SIZE);
    const { bytesRead } = await fh.read(header, 0, FILE_HEADER_SIZE, 0);
    if (bytesRead === 0) return;
    yield { buf: header, len: bytesRead };
    if (bytesRead < FILE_HEADER_SIZE) return;
    const block = Buffer.allocUnsafe(CHUNK_SIZE * READ_CHUNKS);
    let pos = FILE_HEADER_SIZE;
    for (;;) {
      let len = 0;
      while (len < block.length) {
        const r = await fh.read(block, len, block.length - len, pos + len);
        if (r.bytesRead === 0) break;
        len += r.bytesRead;
      }
      for (let at = 0; at < len; at += CHUNK_SIZE) {
        const n = Math.min(CHUNK_SIZE, len - at);
        const buf = Buffer.allocUnsafe(n);
        block.copy(buf, 0, at, at + n);
        yield { buf, len: n };
      }
      if (len < block.length) return;
      pos += len;
    }
  } finally {
    await fh.close();
  }
}

/** Re-chunks an arbitrary byte stream (e.g. an SFTP read stream) into header + 64 KiB slots. */
async function* slotsFromStream(source: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Slot> {
  let size = FILE_HEADER_SIZE;
  let cur = Buffer.allocUnsafe(size);
  let len = 0;
  for await (const piece of source) {
    let data = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (data.length > 0) {
      const n = Math.min(size - len, data.length);
      data.copy(cur, len, 0, n);
      len += n;
      data = data.subarray(n);
      if (len === size) {
        yield { buf: cur, len };
        size = CHUNK_SIZE;
        cur = Buffer.allocUnsafe(size);
        len = 0;
      }
    }
  }
  if (len > 0) yield { buf: cur, len };
}

export interface FileHeaderInfo {
  firstChunk: number;
  lastChunk: number;
  chunkCount: number;
  flags: number;
  minorVersion: number;
  majorVersion: number;
}

const FILE_MAGIC = 'ElfFile\0';
const CHUNK_MAGIC = 'ElfChnk\0';
const FLAG_NO_CRC = 0x4;

function checkFileHeader(h: Slot, warn: (w: EvtxWarning) => void): FileHeaderInfo | null {
  if (h.len < 128 || h.buf.toString('latin1', 0, 8) !== FILE_MAGIC) {
    warn({ kind: 'header', offset: 0, reason: h.len < 128 ? 'file shorter than the 128-byte header' : 'bad file magic (not ElfFile)' });
    return null;
  }
  const info: FileHeaderInfo = {
    firstChunk: Number(h.buf.readBigUInt64LE(8)),
    lastChunk: Number(h.buf.readBigUInt64LE(16)),
    minorVersion: h.buf.readUInt16LE(36),
    majorVersion: h.buf.readUInt16LE(38),
    chunkCount: h.buf.readUInt16LE(42),
    flags: h.buf.readUInt32LE(120),
  };
  if (!(info.flags & FLAG_NO_CRC)) {
    const stored = h.buf.readUInt32LE(124);
    const actual = crc32(h.buf.subarray(0, 120));
    if (stored !== actual) warn({ kind: 'header', offset: 124, reason: `file header CRC mismatch (stored ${hex(stored)}, computed ${hex(actual)})` });
  }
  return info;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function allZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Bytes [0,120) ++ [128,512) of the chunk header. */
function chunkHeaderCrc(buf: Buffer): number {
  return crc32(buf.subarray(128, CHUNK_HEADER_SIZE), crc32(buf.subarray(0, 120)));
}

/** Parses one chunk slot and yields its records; problems go to `warn`. */
export function* readChunk(slot: Slot, index: number, fileOffset: number, warn: (w: EvtxWarning) => void): Generator<EvtxRecordImpl, ChunkStatus> {
  const { buf, len } = slot;
  if (len < CHUNK_HEADER_SIZE) {
    if (allZero(buf, 0, len)) return 'empty';
    warn({ kind: 'chunk', chunk: index, offset: fileOffset, reason: `truncated chunk (${len} bytes)` });
    return 'bad';
  }
  if (buf.toString('latin1', 0, 8) !== CHUNK_MAGIC) {
    // Preallocated (all-zero) slots are normal; anything else is damage.
    if (allZero(buf, 0, CHUNK_HEADER_SIZE)) return 'empty';
    warn({ kind: 'chunk', chunk: index, offset: fileOffset, reason: 'bad chunk magic; chunk skipped' });
    return 'bad';
  }
  if (len < CHUNK_SIZE) warn({ kind: 'chunk', chunk: index, offset: fileOffset, reason: `truncated chunk (${len} of ${CHUNK_SIZE} bytes); reading the records present` });
  const firstRecordId = buf.readBigUInt64LE(24);
  const lastRecordId = buf.readBigUInt64LE(32);
  const freeSpace = buf.readUInt32LE(48);
  const flags = buf.readUInt32LE(120);
  if (!(flags & FLAG_NO_CRC)) {
    const stored = buf.readUInt32LE(124);
    const actual = chunkHeaderCrc(buf);
    if (stored !== actual) warn({ kind: 'chunk', chunk: index, offset: fileOffset + 124, reason: `chunk header CRC mismatch (stored ${hex(stored)}, computed ${hex(actual)})` });
    if (freeSpace >= CHUNK_HEADER_SIZE && freeSpace <= len) {
      const dataStored = buf.readUInt32LE(52);
      const dataActual = crc32(buf.subarray(CHUNK_HEADER_SIZE, freeSpace));
      if (dataStored !== dataActual) warn({ kind: 'chunk', chunk: index, offset: fileOffset + 52, reason: `chunk data CRC mismatch (stored ${hex(dataStored)}, computed ${hex(dataActual)}); records still read` });
    }
  }
  // free_space_offset may point past the real data (zero magic then ends the walk) or be garbage.
  const end = freeSpace >= CHUNK_HEADER_SIZE && freeSpace <= len ? freeSpace : len;
  const ctx = new ChunkContext(buf, len);
  let off = CHUNK_HEADER_SIZE;
  while (off + RECORD_HEADER_SIZE <= end) {
    const magic = buf.readUInt32LE(off);
    if (magic === 0) break;
    const at = fileOffset + off;
    if (magic !== 0x00002a2a) {
      warn({ kind: 'record', chunk: index, offset: at, reason: 'bad record magic; rest of chunk skipped' });
      break;
    }
    const size = buf.readUInt32LE(off + 4);
    if (size < MIN_RECORD_SIZE || off + size > len) {
      warn({ kind: 'record', chunk: index, offset: at, reason: `bad record size ${size}; rest of chunk skipped` });
      break;
    }
    const idBig = buf.readBigUInt64LE(off + 8);
    const recordId = idBig <= 9007199254740991n ? Number(idBig) : idBig;
    // A torn write leaves the trailing size copy wrong. Records whose copy is merely zeroed still parse
    // (the Rust crate keeps them); one that also carries an id outside the chunk's range is stale slack.
    if (buf.readUInt32LE(off + size - 4) !== size && (idBig < firstRecordId || idBig > lastRecordId)) {
      warn({ kind: 'record', chunk: index, offset: at, reason: `record ${recordId}: size copy mismatch and id outside chunk range; skipped` });
      off += size;
      continue;
    }
    const written = readFileTimeDate(buf, off + 16);
    let rec: EvtxRecordImpl | undefined;
    try {
      const nodes = parseStream(ctx, off + RECORD_HEADER_SIZE, off + size - 4, 0);
      rec = new EvtxRecordImpl(recordId, written, ctx, nodes);
    } catch (e) {
      if (!(e instanceof BinXmlError) && !(e instanceof RangeError)) throw e;
      if (process.env.EVTX_DEBUG) console.error(e);
      warn({ kind: 'record', chunk: index, offset: at, reason: `record ${recordId}: ${e.message}` });
    }
    if (rec) yield rec;
    off += size;
    if (idBig === lastRecordId) break;
  }
  return 'ok';
}

/** All records of a file or stream, in physical chunk order. */
export async function* readEvtxRecords(source: EvtxSource, opts: ReadOptions = {}): AsyncGenerator<EvtxRecordImpl> {
  const warn = (w: EvtxWarning) => opts.onWarning?.(w);
  const slots = typeof source === 'string' ? slotsFromPath(source) : slotsFromStream(source);
  let index = -1;
  let fileOffset = 0;
  try {
    for await (const slot of slots) {
      opts.signal?.throwIfAborted();
      if (index === -1) {
        const header = checkFileHeader(slot, warn);
        if (!header) return;
        index = 0;
        fileOffset = FILE_HEADER_SIZE;
        if (slot.len < FILE_HEADER_SIZE) warn({ kind: 'header', offset: 0, reason: 'file ends inside the 4096-byte header' });
        continue;
      }
      // Read every slot to EOF: header chunk counts are often stale (dirty or VSS-copied logs).
      const it = readChunk(slot, index, fileOffset, warn);
      let r = it.next();
      while (!r.done) {
        yield r.value;
        opts.signal?.throwIfAborted();
        r = it.next();
      }
      opts.onChunk?.(index, r.value);
      index++;
      fileOffset += slot.len;
    }
  } finally {
    await slots.return(undefined);
  }
}
