// A small zip builder for tests that need zips no honest tool writes: lying sizes and counts,
// entries sharing one stream, unsafe names, link and encryption flags. Each local entry is written
// as given; the central directory is derived from them and can then be altered record by record.
import { createHash } from 'node:crypto';
import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import { MANIFEST_SCHEMA } from '../../src/bundle/manifest.js';

export interface LocalEntry {
  name: string | Buffer;
  /** what the entry holds (inflated); deflated unless store */
  data?: Buffer | string;
  /** the entry's stream already compressed (with its sizes and crc), e.g. a bomb built in chunks */
  deflated?: { bytes: Buffer; size: number; crc: number };
  store?: boolean;
  flags?: number;
  /** "version made by" host byte: 3 = unix (default), 0 = DOS */
  madeBy?: number;
  /** external attributes (default: unix regular file 0644) */
  externalAttributes?: number;
}

export interface CentralRecord {
  name: Buffer;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
  madeBy: number;
  externalAttributes: number;
}

export interface BuildOptions {
  /** change the central directory before it is written (add, drop, repoint records) */
  central?: (records: CentralRecord[]) => CentralRecord[];
  /** the entry count written in the end record (default: the true count) */
  count?: number;
}

const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

export function buildZip(entries: LocalEntry[], opts: BuildOptions = {}): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const records: CentralRecord[] = [];
  for (const e of entries) {
    const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name, 'utf8');
    let method = 8;
    let body: Buffer;
    let size: number;
    let crc: number;
    if (e.deflated) {
      body = e.deflated.bytes;
      size = e.deflated.size;
      crc = e.deflated.crc;
    } else {
      const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '', 'utf8');
      size = data.length;
      crc = crc32(data);
      if (e.store) {
        method = 0;
        body = data;
      } else body = deflateRawSync(data);
    }
    const flags = (e.flags ?? 0) | 0x0800;
    const head = Buffer.concat([u32(0x04034b50), u16(20), u16(flags), u16(method), u16(0), u16(0x21), u32(crc), u32(body.length), u32(size), u16(name.length), u16(0), name]);
    records.push({ name, flags, method, crc, compressedSize: body.length, size, offset, madeBy: e.madeBy ?? 3, externalAttributes: e.externalAttributes ?? ((0o100644 << 16) >>> 0) });
    parts.push(head, body);
    offset += head.length + body.length;
  }
  const cdOffset = offset;
  const finalRecords = opts.central ? opts.central(records) : records;
  for (const r of finalRecords) {
    const h = Buffer.concat([
      u32(0x02014b50), u16((r.madeBy << 8) | 20), u16(20), u16(r.flags), u16(r.method), u16(0), u16(0x21), u32(r.crc),
      u32(r.compressedSize), u32(r.size), u16(r.name.length), u16(0), u16(0), u16(0), u16(0), u32(r.externalAttributes), u32(r.offset), r.name,
    ]);
    parts.push(h);
    offset += h.length;
  }
  const cdSize = offset - cdOffset;
  const count = opts.count ?? finalRecords.length;
  if (count > 0xffff) {
    // zip64 end record and locator: the only way to count more than 65535 entries
    const u64 = (v: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      return b;
    };
    const at = offset;
    parts.push(Buffer.concat([u32(0x06064b50), u64(44), u16((3 << 8) | 45), u16(45), u32(0), u32(0), u64(count), u64(count), u64(cdSize), u64(cdOffset)]));
    parts.push(Buffer.concat([u32(0x07064b50), u32(0), u64(at), u32(1)]));
  }
  const c16 = Math.min(count, 0xffff);
  parts.push(Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(c16), u16(c16), u32(cdSize), u32(cdOffset), u16(0)]));
  return Buffer.concat(parts);
}

/** `size` bytes of `fill`, deflated chunk by chunk (never all in memory): a zip-bomb stream. */
export async function deflatedRepeat(fill: Buffer, size: number, prefix = Buffer.alloc(0), suffix = Buffer.alloc(0), level = 9): Promise<{ bytes: Buffer; size: number; crc: number }> {
  const d = createDeflateRaw({ level });
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    d.on('end', resolve);
    d.on('error', reject);
  });
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < chunk.length; i += fill.length) fill.copy(chunk, i);
  let crc = crc32(prefix);
  if (prefix.length) d.write(prefix);
  let left = size - prefix.length - suffix.length;
  while (left > 0) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    crc = crc32(piece, crc);
    if (!d.write(piece)) await new Promise((r) => d.once('drain', r));
    left -= piece.length;
  }
  crc = crc32(suffix, crc);
  d.end(suffix);
  await done;
  return { bytes: Buffer.concat(out), size, crc: crc >>> 0 };
}

/** A manifest.json that lists `files` honestly (sha256 and size), plus `extra` top-level fields. */
export function manifestFor(files: { path: string; data: string | Buffer; [k: string]: unknown }[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schema: MANIFEST_SCHEMA,
    tool: { name: 'clk-support', version: '0.1.0' },
    createdAt: '2025-06-03T12:00:00.000Z',
    farm: { name: 'Test farm', systemId: 'TST' },
    window: { from: '2025-06-03T08:00:00.000Z', to: '2025-06-03T12:00:00.000Z' },
    entries: files.map(({ data, ...rest }) => ({ collector: 'tracer', ...rest, size: Buffer.byteLength(data), sha256: createHash('sha256').update(data).digest('hex') })),
    collectors: [],
    redaction: { totals: {}, files: 0 },
    anonymized: false,
    ...extra,
  });
}
