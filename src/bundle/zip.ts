// A streaming zip writer with parallel deflate, written for the bundle because archiver's pipeline
// deflates one stream on one thread and checksums in JavaScript, which cannot keep up with
// `zip -6` (see docs/bundle.md, "Speed"). Each entry's input is cut into blocks that are deflated
// in parallel on libuv's thread pool and written in order, pigz-style: every block but the last ends
// with a sync flush (a byte-aligned empty stored block) and is primed with the previous block's last
// 32 KiB as dictionary, so the concatenation is one ordinary deflate stream with nearly the ratio of
// a single pass. Memory: at most `parallel` blocks in and out at once.
//
// Layout: local header (zip64 extra, sizes in the data descriptor: nothing is known before the data
// has streamed), data, zip64 data descriptor; central directory with zip64 fields only where a value
// does not fit 32 bits; zip64 end records only when needed. Names are UTF-8 (flag bit 11).
import { constants as zc, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';
import { SIG_LOCAL, SIG_DESCRIPTOR, SIG_CENTRAL, SIG_EOCD, SIG_EOCD64, SIG_EOCD64_LOCATOR, MAX32, MAX16 } from './zip-format.js';

const VERSION_ZIP64 = 45;
const MADE_BY_UNIX = (3 << 8) | VERSION_ZIP64;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
const WINDOW = 32 * 1024;

export type Sink = (chunk: Buffer) => Promise<void>;

export interface ZipWriterOptions {
  /** deflate level 0-9 (default 6) */
  level?: number;
  /** blocks deflated at once (default 4) */
  parallel?: number;
  /** bytes per block (default 1 MiB) */
  blockSize?: number;
}

export interface ZipEntryInput {
  name: string;
  store: boolean;
  date: Date;
  /** unix permission bits (default 0o600) */
  mode?: number;
}

export interface ZipEntryResult {
  size: number;
  compressedSize: number;
  crc32: number;
}

interface CentralRecord {
  name: Buffer;
  method: number;
  time: number;
  date: number;
  unixTime: number;
  crc: number;
  size: number;
  compressedSize: number;
  offset: number;
  mode: number;
}

function deflateBlock(block: Buffer, opts: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => deflateRaw(block, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

/** MS-DOS date and time (local time, 2-second resolution), as zip tools expect. */
function dosDateTime(d: Date): { time: number; date: number } {
  const year = d.getFullYear();
  if (year < 1980) return { time: 0, date: (1 << 5) | 1 };
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** Extended timestamp (0x5455): modification time in UTC seconds. */
function extendedTime(unixTime: number): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt16LE(0x5455, 0);
  b.writeUInt16LE(5, 2);
  b.writeUInt8(1, 4);
  b.writeUInt32LE(unixTime >>> 0, 5);
  return b;
}

export class ZipWriter {
  private offset = 0;
  private readonly records: CentralRecord[] = [];
  private readonly level: number;
  private readonly parallel: number;
  private readonly blockSize: number;
  private finished = false;

  constructor(
    private readonly sink: Sink,
    opts: ZipWriterOptions = {},
  ) {
    this.level = opts.level ?? 6;
    this.parallel = Math.max(1, opts.parallel ?? 4);
    this.blockSize = Math.max(64 * 1024, opts.blockSize ?? 1024 * 1024);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.offset;
  }

  get entryCount(): number {
    return this.records.length;
  }

  private async write(buf: Buffer): Promise<void> {
    if (buf.length === 0) return;
    this.offset += buf.length;
    await this.sink(buf);
  }

  /** Streams one entry. Entries are written one after another: do not call concurrently. */
  async addEntry(input: ZipEntryInput, source: AsyncIterable<Buffer>): Promise<ZipEntryResult> {
    if (this.finished) throw new Error('zip already finished');
    const name = Buffer.from(input.name, 'utf8');
    if (name.length > MAX16) throw new Error(`entry name too long: ${input.name.slice(0, 80)}...`);
    const method = input.store || this.level === 0 ? METHOD_STORED : METHOD_DEFLATED;
    const { time, date } = dosDateTime(input.date);
    const unixTime = Math.floor(input.date.getTime() / 1000);
    const offset = this.offset;

    const zip64Extra = Buffer.alloc(20); // id, length, then both sizes (in the descriptor)
    zip64Extra.writeUInt16LE(0x0001, 0);
    zip64Extra.writeUInt16LE(16, 2);
    const extra = Buffer.concat([zip64Extra, extendedTime(unixTime)]);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(SIG_LOCAL, 0);
    head.writeUInt16LE(VERSION_ZIP64, 4);
    head.writeUInt16LE(FLAG_DESCRIPTOR | FLAG_UTF8, 6);
    head.writeUInt16LE(method, 8);
    head.writeUInt16LE(time, 10);
    head.writeUInt16LE(date, 12);
    head.writeUInt32LE(0, 14); // crc: in the descriptor
    head.writeUInt32LE(MAX32, 18); // sizes: in the zip64 extra / descriptor
    head.writeUInt32LE(MAX32, 22);
    head.writeUInt16LE(name.length, 26);
    head.writeUInt16LE(extra.length, 28);
    await this.write(Buffer.concat([head, name, extra]));

    let crc = 0;
    let size = 0;
    let compressedSize = 0;
    if (method === METHOD_STORED) {
      for await (const chunk of source) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        compressedSize += chunk.length;
        await this.write(chunk);
      }
    } else {
      const inFlight: Promise<Buffer>[] = [];
      let dictionary: Buffer | undefined;
      let held: Buffer | undefined; // a full block waiting to learn whether it is the last
      let parts: Buffer[] = [];
      let partsLen = 0;
      const flushOne = async () => {
        const out = await inFlight.shift()!;
        compressedSize += out.length;
        await this.write(out);
      };
      const submit = async (block: Buffer, last: boolean) => {
        const opts: ZlibOptions = { level: this.level, finishFlush: last ? zc.Z_FINISH : zc.Z_SYNC_FLUSH };
        if (dictionary) opts.dictionary = dictionary;
        const p = deflateBlock(block, opts);
        p.catch(() => {}); // observed when shifted
        inFlight.push(p);
        dictionary = block.length >= WINDOW ? block.subarray(block.length - WINDOW) : Buffer.concat([dictionary ?? Buffer.alloc(0), block]).subarray(-WINDOW);
        while (inFlight.length >= this.parallel) await flushOne();
      };
      try {
        for await (const chunk of source) {
          crc = crc32(chunk, crc);
          size += chunk.length;
          parts.push(chunk);
          partsLen += chunk.length;
          while (partsLen >= this.blockSize) {
            const all = parts.length === 1 ? parts[0] : Buffer.concat(parts, partsLen);
            const block = all.subarray(0, this.blockSize);
            const rest = all.subarray(this.blockSize);
            parts = rest.length ? [rest] : [];
            partsLen = rest.length;
            if (held) await submit(held, false);
            held = block;
          }
        }
        const tail = parts.length === 1 ? parts[0] : Buffer.concat(parts, partsLen);
        if (held && tail.length) {
          await submit(held, false);
          await submit(tail, true);
        } else {
          await submit(held ?? tail, true); // may be empty: a valid empty deflate stream
        }
        while (inFlight.length) await flushOne();
      } finally {
        inFlight.length = 0;
      }
    }

    const descriptor = Buffer.alloc(24);
    descriptor.writeUInt32LE(SIG_DESCRIPTOR, 0);
    descriptor.writeUInt32LE(crc >>> 0, 4);
    descriptor.writeBigUInt64LE(BigInt(compressedSize), 8);
    descriptor.writeBigUInt64LE(BigInt(size), 16);
    await this.write(descriptor);
    this.records.push({ name, method, time, date, unixTime, crc: crc >>> 0, size, compressedSize, offset, mode: input.mode ?? 0o600 });
    return { size, compressedSize, crc32: crc >>> 0 };
  }

  /** Central directory and end records. */
  async finish(): Promise<void> {
    if (this.finished) throw new Error('zip already finished');
    this.finished = true;
    const cdOffset = this.offset;
    for (const r of this.records) {
      const z64: Buffer[] = [];
      const u64 = (v: number) => {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt(v));
        z64.push(b);
      };
      if (r.size >= MAX32) u64(r.size);
      if (r.compressedSize >= MAX32) u64(r.compressedSize);
      if (r.offset >= MAX32) u64(r.offset);
      const extras: Buffer[] = [];
      if (z64.length) {
        const h = Buffer.alloc(4);
        h.writeUInt16LE(0x0001, 0);
        h.writeUInt16LE(z64.length * 8, 2);
        extras.push(h, ...z64);
      }
      extras.push(extendedTime(r.unixTime));
      const extra = Buffer.concat(extras);
      const h = Buffer.alloc(46);
      h.writeUInt32LE(SIG_CENTRAL, 0);
      h.writeUInt16LE(MADE_BY_UNIX, 4);
      h.writeUInt16LE(VERSION_ZIP64, 6);
      h.writeUInt16LE(FLAG_DESCRIPTOR | FLAG_UTF8, 8);
      h.writeUInt16LE(r.method, 10);
      h.writeUInt16LE(r.time, 12);
      h.writeUInt16LE(r.date, 14);
      h.writeUInt32LE(r.crc, 16);
      h.writeUInt32LE(Math.min(r.compressedSize, MAX32), 20);
      h.writeUInt32LE(Math.min(r.size, MAX32), 24);
      h.writeUInt16LE(r.name.length, 28);
      h.writeUInt16LE(extra.length, 30);
      h.writeUInt16LE(0, 32); // comment
      h.writeUInt16LE(0, 34); // disk
      h.writeUInt16LE(0, 36); // internal attributes
      h.writeUInt32LE(((0o100000 | r.mode) << 16) >>> 0, 38); // regular file, unix mode
      h.writeUInt32LE(Math.min(r.offset, MAX32), 42);
      await this.write(Buffer.concat([h, r.name, extra]));
    }
    const cdSize = this.offset - cdOffset;
    const count = this.records.length;
    if (count >= MAX16 || cdOffset >= MAX32 || cdSize >= MAX32) {
      const eocd64Offset = this.offset;
      const e = Buffer.alloc(56);
      e.writeUInt32LE(SIG_EOCD64, 0);
      e.writeBigUInt64LE(44n, 4);
      e.writeUInt16LE(MADE_BY_UNIX, 12);
      e.writeUInt16LE(VERSION_ZIP64, 14);
      e.writeUInt32LE(0, 16);
      e.writeUInt32LE(0, 20);
      e.writeBigUInt64LE(BigInt(count), 24);
      e.writeBigUInt64LE(BigInt(count), 32);
      e.writeBigUInt64LE(BigInt(cdSize), 40);
      e.writeBigUInt64LE(BigInt(cdOffset), 48);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(SIG_EOCD64_LOCATOR, 0);
      loc.writeUInt32LE(0, 4);
      loc.writeBigUInt64LE(BigInt(eocd64Offset), 8);
      loc.writeUInt32LE(1, 16);
      await this.write(Buffer.concat([e, loc]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(SIG_EOCD, 0);
    end.writeUInt16LE(0, 4);
    end.writeUInt16LE(0, 6);
    end.writeUInt16LE(Math.min(count, MAX16), 8);
    end.writeUInt16LE(Math.min(count, MAX16), 10);
    end.writeUInt32LE(Math.min(cdSize, MAX32), 12);
    end.writeUInt32LE(Math.min(cdOffset, MAX32), 16);
    end.writeUInt16LE(0, 20);
    await this.write(end);
  }
}
