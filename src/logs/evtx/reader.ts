// Streaming .evtx reader: a 4 KiB file header then 64 KiB chunks, one chunk in memory at a time.
// Damaged input never throws: every skipped piece is reported through onWarning.

import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { type Node, ChunkContext, NodeKind, parseStream } from './binxml.js';
import { EvtxRecordImpl } from './record.js';
import { ValueType, readFileTimeMs, u32le } from './values.js';

export interface EvtxWarning {
  kind: 'header' | 'chunk' | 'record';
  chunk?: number;
  offset: number;
  reason: string;
  /** The input is not an .evtx file at all (empty, text, another format): nothing can be read. */
  notEvtx?: true;
  /** For 'record': the record was left out ('skipped') or is given without a damaged part ('degraded'). */
  record?: 'skipped' | 'degraded';
}

export interface ReadOptions {
  onWarning?: (w: EvtxWarning) => void;
  signal?: AbortSignal;
  /** Called once per chunk slot (statistics). */
  onChunk?: (index: number, status: ChunkStatus) => void;
  /**
   * Yield only records carved from chunk slack (past the last record the chunk header lists), each
   * with recovered = true; the normal records are then not yielded. Off by default.
   */
  recover?: boolean;
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
export interface Slot {
  buf: Buffer;
  len: number;
}

const READ_CHUNKS = 16; // chunks per read() call: fewer syscalls and awaits

/**
 * Reads a path with positioned 1 MiB reads and copies each chunk out into its own 64 KiB buffer:
 * records (and their lazy data/xml) may outlive the loop, and a chunk must not pin a whole block.
 * copy = false yields views into the block instead, for a consumer done with each chunk (or
 * having copied it) before asking for the next.
 * The next block is read while the current one is parsed (two block buffers take turns), so the
 * parser does not sit idle waiting for the thread pool.
 */
async function* slotsFromPath(path: string, copy = true): AsyncGenerator<Slot> {
  const fh = await open(path, 'r');
  const blockSize = CHUNK_SIZE * READ_CHUNKS;
  const blocks = [Buffer.allocUnsafe(blockSize), Buffer.allocUnsafe(blockSize)];
  const readBlock = async (block: Buffer, pos: number): Promise<number> => {
    let len = 0;
    while (len < block.length) {
      const r = await fh.read(block, len, block.length - len, pos + len);
      if (r.bytesRead === 0) break;
      len += r.bytesRead;
    }
    return len;
  };
  let pending: Promise<number> | undefined;
  try {
    const header = Buffer.allocUnsafe(FILE_HEADER_SIZE);
    const { bytesRead } = await fh.read(header, 0, FILE_HEADER_SIZE, 0);
    if (bytesRead === 0) return;
    yield { buf: header, len: bytesRead };
    if (bytesRead < FILE_HEADER_SIZE) return;
    let pos = FILE_HEADER_SIZE;
    let turn = 0;
    pending = readBlock(blocks[turn], pos);
    for (;;) {
      const block = blocks[turn];
      const len = await pending;
      pending = undefined;
      pos += len;
      turn ^= 1;
      if (len === blockSize) pending = readBlock(blocks[turn], pos);
      for (let at = 0; at < len; at += CHUNK_SIZE) {
        const n = Math.min(CHUNK_SIZE, len - at);
        if (!copy) {
          yield { buf: block.subarray(at, at + n), len: n };
          continue;
        }
        const buf = Buffer.allocUnsafe(n);
        block.copy(buf, 0, at, at + n);
        yield { buf, len: n };
      }
      if (!pending) return;
    }
  } finally {
    // A consumer that stops early can leave a read in flight: let it land before closing.
    await pending?.catch(() => undefined);
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

const FILE_MAGIC = 'ElfFile\0';
const CHUNK_MAGIC = 'ElfChnk\0';
const FLAG_NO_CRC = 0x4;

/**
 * Validates magic and CRC of the file header. Its chunk count is used only to tell a zeroed chunk
 * (damage: inside the count) from a preallocated empty slot; it is not trusted to end the reading.
 */
function checkFileHeader(h: Slot, warn: (w: EvtxWarning) => void): 'ok' | 'bad' | 'cut' | 'not-evtx' {
  const magic = h.buf.toString('latin1', 0, Math.min(8, h.len));
  if (h.len < 128 || magic !== FILE_MAGIC) {
    // A file that does not even start like one (text, another format) is not an event log; a cut
    // ElfFile header is a damaged one.
    const cutEvtx = magic === FILE_MAGIC.slice(0, magic.length) && magic.length > 0;
    if (h.len >= 128) {
      warn({ kind: 'header', offset: 0, reason: 'bad file magic (not ElfFile); trying the chunks' });
      return 'bad';
    }
    if (cutEvtx) {
      warn({ kind: 'header', offset: 0, reason: `file shorter than the 128-byte header (${h.len} bytes)` });
      return 'cut';
    }
    warn({ kind: 'header', offset: 0, reason: `file of ${h.len} bytes that does not start with ElfFile; not an .evtx file`, notEvtx: true });
    return 'not-evtx';
  }
  const flags = h.buf.readUInt32LE(120);
  if (!(flags & FLAG_NO_CRC)) {
    const stored = h.buf.readUInt32LE(124);
    const actual = crc32(h.buf.subarray(0, 120));
    if (stored !== actual) warn({ kind: 'header', offset: 124, reason: `file header CRC mismatch (stored ${hex(stored)}, computed ${hex(actual)})` });
  }
  return 'ok';
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** A u64 as a number when exact (every real record id), else as a bigint; no BigInt per record. */
function readU64(buf: Buffer, off: number): number | bigint {
  const hi = u32le(buf, off + 4);
  return hi < 0x200000 ? hi * 4294967296 + u32le(buf, off) : buf.readBigUInt64LE(off);
}

const ZEROS = Buffer.alloc(CHUNK_SIZE);

function allZero(buf: Buffer, start: number, end: number): boolean {
  return buf.subarray(start, end).equals(ZEROS.subarray(0, end - start)); // native compare
}

/** Bytes [0,120) ++ [128,512) of the chunk header. */
function chunkHeaderCrc(buf: Buffer): number {
  return crc32(buf.subarray(128, CHUNK_HEADER_SIZE), crc32(buf.subarray(0, 120)));
}

/** Parses one chunk slot and yields its records; problems go to `warn`. */
export function* readChunk(slot: Slot, index: number, fileOffset: number, warn: (w: EvtxWarning) => void, recover = false): Generator<EvtxRecordImpl, ChunkStatus> {
  const { buf, len } = slot;
  if (len < CHUNK_HEADER_SIZE) {
    if (allZero(buf, 0, len)) return 'empty';
    warn({ kind: 'chunk', chunk: index, offset: fileOffset, reason: `truncated chunk (${len} bytes)` });
    return 'bad';
  }
  if (buf.toString('latin1', 0, 8) !== CHUNK_MAGIC) {
    // Preallocated slots are zero throughout; a zeroed header over leftover data is damage too.
    if (allZero(buf, 0, len)) return 'empty';
    warn({ kind: 'chunk', chunk: index, offset: fileOffset, reason: 'bad chunk magic; chunk skipped' });
    return 'bad';
  }
  if (len < CHUNK_SIZE) warn({ kind: 'chunk', chunk: index, offset: fileOffset, reason: `truncated chunk (${len} of ${CHUNK_SIZE} bytes); reading the records present` });
  const firstRecordId = readU64(buf, 24);
  const lastRecordId = readU64(buf, 32);
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
    const magic = u32le(buf, off);
    if (magic === 0) break;
    const at = fileOffset + off;
    if (magic !== 0x00002a2a) {
      warn({ kind: 'record', chunk: index, offset: at, reason: 'bad record magic; rest of chunk skipped' });
      break;
    }
    const size = u32le(buf, off + 4);
    if (size < MIN_RECORD_SIZE || off + size > len) {
      warn({ kind: 'record', chunk: index, offset: at, reason: `bad record size ${size}; rest of chunk skipped` });
      break;
    }
    const recordId = readU64(buf, off + 8);
    // A torn write leaves the trailing size copy wrong. Records whose copy is merely zeroed still parse
    // (the Rust crate keeps them); one that also carries an id outside the chunk's range is stale slack.
    if (u32le(buf, off + size - 4) !== size && (recordId < firstRecordId || recordId > lastRecordId)) {
      warn({ kind: 'record', chunk: index, offset: at, reason: `record ${recordId}: size copy mismatch and id outside chunk range; skipped`, record: 'skipped' });
      off += size;
      continue;
    }
    const written = readFileTimeMs(buf, off + 16);
    let rec: EvtxRecordImpl | undefined;
    try {
      const nodes = parseStream(ctx, off + RECORD_HEADER_SIZE, off + size - 4, 0);
      const damage = nestedDamage(nodes, { n: 4096 });
      rec = new EvtxRecordImpl(recordId, written, ctx, nodes);
      if (damage !== undefined) {
        warn({ kind: 'record', chunk: index, offset: at, reason: `record ${rec.recordId}: ${damage}; given without the damaged part`, record: 'degraded' });
      }
    } catch (e) {
      // Malformed BinXml (BinXmlError), reads past a buffer (RangeError) or anything else a crafted
      // record provokes: the record is skipped and reported, the walk goes on.
      const message = e instanceof Error ? e.message : String(e);
      warn({ kind: 'record', chunk: index, offset: at, reason: `record ${recordId}: ${message}; skipped`, record: 'skipped' });
    }
    if (rec && !recover) yield rec;
    off += size;
    if (recordId === lastRecordId) break;
  }
  if (recover) yield* carveSlack(ctx, off);
  return 'ok';
}

/**
 * Records left in a chunk's slack (after its last listed record): older records a rewrite did not
 * overwrite. Only complete, well-formed ones are kept: record magic, a size that fits, the trailing
 * size copy equal to it, BinXml that parses and renders an <Event>. Slack is not damage: what does not
 * parse is passed over.
 */
function* carveSlack(ctx: ChunkContext, from: number): Generator<EvtxRecordImpl> {
  const buf = ctx.buf;
  const len = ctx.len;
  let off = (from + 7) & ~7; // records start on 8-byte boundaries
  while (off + MIN_RECORD_SIZE <= len) {
    if (buf.readUInt32LE(off) !== 0x00002a2a) {
      off += 8;
      continue;
    }
    const size = buf.readUInt32LE(off + 4);
    if (size < MIN_RECORD_SIZE || off + size > len || buf.readUInt32LE(off + size - 4) !== size) {
      off += 8;
      continue;
    }
    let rec: EvtxRecordImpl | undefined;
    const id = readU64(buf, off + 8);
    try {
      const nodes = parseStream(ctx, off + RECORD_HEADER_SIZE, off + size - 4, 0);
      if (nestedDamage(nodes, { n: 4096 }) === undefined) {
        rec = new EvtxRecordImpl(id, readFileTimeMs(buf, off + 16), ctx, nodes);
        rec.recovered = true;
        // Well-formed means it renders as an event: a fragment that resolves to nothing is not one.
        if (!rec.xml().startsWith('<Event')) rec = undefined;
      }
    } catch {
      // not a record any more (partly overwritten): keep scanning
    }
    if (rec) {
      yield rec;
      off += size;
    } else off += 8;
  }
}

/**
 * The file-level rules around the chunks, applied in file order: the file header, a damaged header
 * followed by no chunk (not an event log), zeroed slots (damage inside the header's chunk count or
 * before a later chunk; preallocated space at the end), and a header that lists more chunks than
 * the file holds. Shared by the record reader and the chunk-parallel dump (parallel.ts).
 */
export class FileSequence {
  /** Chunk slots handed out by next() (-1 until the file header was seen) and where the next one starts. */
  private taken = -1;
  private takenOffset = 0;
  /** Chunk slots whose parsing is done (chunkDone), in order. */
  private done = 0;
  private doneOffset = FILE_HEADER_SIZE;
  private headerBad = false;
  private headerCut = false;
  private headerChunks = 0;
  // All-zero slots past the header's count: preallocated space at the end of a log, or zeroed
  // chunks when a real chunk follows them. Decided when the next non-empty slot (or EOF) comes.
  private readonly zeroSlots: number[] = [];

  constructor(
    private readonly warn: (w: EvtxWarning) => void,
    private readonly onChunk?: (index: number, status: ChunkStatus) => void,
  ) {}

  /**
   * Takes the next slot of the file: 'header' for the file header, the index and file offset of a
   * chunk slot to parse (report its status with chunkDone, in this order; chunks may be parsed
   * ahead of it), 'stop' when this is not an event log.
   */
  next(slot: Slot): 'header' | 'stop' | { index: number; fileOffset: number } {
    if (this.taken === -1) {
      const header = checkFileHeader(slot, this.warn);
      if (header === 'not-evtx') return 'stop';
      this.headerBad = header !== 'ok';
      this.headerCut = header === 'cut';
      if (!this.headerBad) this.headerChunks = slot.buf.readUInt16LE(42);
      this.taken = 0;
      this.takenOffset = FILE_HEADER_SIZE;
      if (!this.headerBad && slot.len < FILE_HEADER_SIZE) this.warn({ kind: 'header', offset: 0, reason: 'file ends inside the 4096-byte header' });
      return 'header';
    }
    // A damaged file header is survivable when chunks follow (each carries its own magic); when
    // the first slot is no chunk either, this is not an event log: stop instead of warning per slot.
    if (this.headerBad && this.taken === 0 && slot.buf.toString('latin1', 0, 8) !== CHUNK_MAGIC) {
      this.warn({ kind: 'chunk', chunk: 0, offset: this.takenOffset, reason: 'no chunk after a bad file header; not an .evtx file', notEvtx: true });
      return 'stop';
    }
    const at = { index: this.taken, fileOffset: this.takenOffset };
    this.taken++;
    this.takenOffset += slot.len;
    return at;
  }

  /** The chunk slot taken last by next() was parsed with this status (its own warnings given first). */
  chunkDone(status: ChunkStatus, slotLen: number): void {
    const index = this.done;
    if (status === 'empty' && index < this.headerChunks) {
      // The header counts this chunk as written: zero bytes here mean its records were wiped.
      this.warn({ kind: 'chunk', chunk: index, offset: this.doneOffset, reason: `zeroed chunk (all zero bytes) inside the header's ${this.headerChunks} chunks; its records are lost` });
      status = 'bad';
    }
    if (status === 'empty') this.zeroSlots.push(index);
    else {
      this.settleZeroSlots(true, index);
      this.onChunk?.(index, status);
    }
    this.done++;
    this.doneOffset += slotLen;
  }

  /** The file ended (not called after 'stop'). */
  end(): void {
    const index = this.taken;
    if (index === -1) this.warn({ kind: 'header', offset: 0, reason: 'empty file (0 bytes); not an .evtx file', notEvtx: true });
    else if (index === 0 && this.headerBad && !this.headerCut) this.warn({ kind: 'chunk', chunk: 0, offset: FILE_HEADER_SIZE, reason: 'no chunk after a bad file header; not an .evtx file', notEvtx: true });
    else if (index < this.headerChunks) this.warn({ kind: 'header', offset: 42, reason: `the header lists ${this.headerChunks} chunks, the file ends after ${index}` });
    this.settleZeroSlots(false, index);
  }

  private settleZeroSlots(damaged: boolean, before: number): void {
    for (const z of this.zeroSlots) {
      if (damaged) this.warn({ kind: 'chunk', chunk: z, offset: FILE_HEADER_SIZE + z * CHUNK_SIZE, reason: `zeroed chunk (all zero bytes) before chunk ${before}; its records are lost` });
      this.onChunk?.(z, damaged ? 'bad' : 'empty');
    }
    this.zeroSlots.length = 0;
  }
}

/** The header and chunk slots of a path (positioned block reads) or of a byte stream. */
export function slotsOf(source: EvtxSource, copy = true): AsyncGenerator<Slot> {
  return typeof source === 'string' ? slotsFromPath(source, copy) : slotsFromStream(source);
}

/** All records of a file or stream, in physical chunk order. */
export async function* readEvtxRecords(source: EvtxSource, opts: ReadOptions = {}): AsyncGenerator<EvtxRecordImpl> {
  const warn = (w: EvtxWarning) => opts.onWarning?.(w);
  const slots = slotsOf(source);
  const seq = new FileSequence(warn, opts.onChunk);
  try {
    for await (const slot of slots) {
      opts.signal?.throwIfAborted();
      const step = seq.next(slot);
      if (step === 'stop') return;
      if (step === 'header') continue;
      // Read every slot to EOF: header chunk counts are often stale (dirty or VSS-copied logs).
      const it = readChunk(slot, step.index, step.fileOffset, warn, opts.recover);
      let r = it.next();
      while (!r.done) {
        yield r.value;
        opts.signal?.throwIfAborted();
        r = it.next();
      }
      seq.chunkDone(r.value, slot.len);
    }
    seq.end();
  } finally {
    await slots.return(undefined);
  }
}

/**
 * Parses every nested BinXml value of a record's template instances now, so damage inside them is
 * found (and reported) when the record is read, whatever is rendered later. A damaged value is
 * left out of data and XML; the first reason is returned.
 */
function nestedDamage(nodes: Node[], budget: { n: number }): string | undefined {
  let first: string | undefined;
  for (const n of nodes) {
    if (--budget.n < 0) return first;
    if (n.k === NodeKind.Element) {
      const inner = nestedDamage(n.children, budget);
      first ??= inner;
    } else if (n.k === NodeKind.Instance) {
      const inst = n.inst;
      for (let i = 0; i < inst.count; i++) {
        if (inst.type(i) !== ValueType.BinXml) continue;
        let inner: string | undefined;
        try {
          inner = nestedDamage(inst.nestedNodes(i), budget);
        } catch (e) {
          inst.markDamaged(i);
          inner = `substitution ${i}: ${e instanceof Error ? e.message : String(e)}`;
        }
        first ??= inner;
      }
    }
  }
  return first;
}
