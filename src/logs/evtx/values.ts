// Decoding of BinXml substitution values (MS-EVEN6 2.2.12 value types) into JS values and XML text.
// Every reader is bounds-checked against the given end: values come from untrusted sizes.

export enum ValueType {
  Null = 0x00,
  String = 0x01,
  AnsiString = 0x02,
  Int8 = 0x03,
  UInt8 = 0x04,
  Int16 = 0x05,
  UInt16 = 0x06,
  Int32 = 0x07,
  UInt32 = 0x08,
  Int64 = 0x09,
  UInt64 = 0x0a,
  Real32 = 0x0b,
  Real64 = 0x0c,
  Bool = 0x0d,
  Binary = 0x0e,
  Guid = 0x0f,
  SizeT = 0x10,
  FileTime = 0x11,
  SystemTime = 0x12,
  Sid = 0x13,
  HexInt32 = 0x14,
  HexInt64 = 0x15,
  EvtHandle = 0x20,
  BinXml = 0x21,
  EvtXml = 0x23,
  ArrayFlag = 0x80,
}

/** A FILETIME kept at full 100 ns precision; renders like the Windows XML export. */
export class FileTime {
  constructor(readonly ticks: bigint) {}
  toDate(): Date {
    return fileTimeToDate(this.ticks);
  }
  toString(): string {
    return fileTimeToIso(this.ticks);
  }
  toJSON(): string {
    return this.toString();
  }
}

const EPOCH_DIFF_TICKS = 116444736000000000n;

export function fileTimeToDate(ticks: bigint): Date {
  return new Date(Number((ticks - EPOCH_DIFF_TICKS) / 10000n));
}

/** Reads a FILETIME without BigInt on the hot path (a double keeps ms precision for any real date). */
export function readFileTimeDate(buf: Buffer, off: number): Date {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  // ticks / 10000 split as 2^32 = 429496 * 10000 + 7296 so every partial product stays exact
  // (hi * 2^32 + lo itself exceeds 2^53 and would round to the wrong millisecond).
  const ms = hi * 429496 + Math.floor((hi * 7296 + lo) / 10000) - 11644473600000;
  return new Date(ms);
}

let isoSecond = NaN;
let isoPrefix = '';

/**
 * Date.toISOString() is a slow runtime call; consecutive records are usually in the same second, so
 * reuse the "YYYY-MM-DDTHH:MM:SS" prefix and only format the milliseconds.
 */
export function fastIso(d: Date): string {
  const ms = d.getTime();
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSecond) {
    const full = d.toISOString();
    isoSecond = sec;
    isoPrefix = full.slice(0, full.length - 5);
  }
  const frac = ms - sec * 1000;
  return `${isoPrefix}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function fileTimeToIso(ticks: bigint): string {
  const sinceEpoch = ticks - EPOCH_DIFF_TICKS;
  let ms = sinceEpoch / 10000n;
  let frac = sinceEpoch % 10000000n;
  if (frac < 0n) {
    frac += 10000000n;
    ms -= 1n;
  }
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return String(ticks);
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ (or ±YYYYYY for out-of-range years)
  return `${iso.slice(0, iso.length - 5)}.${pad(Number(frac), 7)}Z`;
}

function systemTimeToIso(buf: Buffer, off: number): string {
  const y = buf.readUInt16LE(off);
  const mo = buf.readUInt16LE(off + 2);
  const d = buf.readUInt16LE(off + 6);
  const h = buf.readUInt16LE(off + 8);
  const mi = buf.readUInt16LE(off + 10);
  const s = buf.readUInt16LE(off + 12);
  const ms = buf.readUInt16LE(off + 14);
  return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(ms, 3)}Z`;
}


export function hexUpper(buf: Buffer, start: number, end: number): string {
  // toString('hex') is native and fast; Windows renders Binary in upper case.
  return buf.toString('hex', start, end).toUpperCase();
}

export function guidString(buf: Buffer, off: number): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  const d1 = h(buf.readUInt32LE(off), 8);
  const d2 = h(buf.readUInt16LE(off + 4), 4);
  const d3 = h(buf.readUInt16LE(off + 6), 4);
  const d4 = buf.toString('hex', off + 8, off + 10);
  const d5 = buf.toString('hex', off + 10, off + 16);
  return `{${d1}-${d2}-${d3}-${d4}-${d5}}`.toUpperCase();
}

/** SID: revision, sub-authority count, 48-bit big-endian authority, u32 LE sub-authorities. */
export function sidString(buf: Buffer, off: number, end: number): string {
  if (end - off < 8) return '';
  const rev = buf[off];
  const count = buf[off + 1];
  const authority = buf.readUIntBE(off + 2, 6);
  let s = `S-${rev}-${authority}`;
  for (let i = 0; i < count; i++) {
    const p = off + 8 + 4 * i;
    if (p + 4 > end) break; // incomplete SID (HelloForBusiness sample): keep what is there
    s += `-${buf.readUInt32LE(p)}`;
  }
  return s;
}

/** UTF-16LE text without the trailing NULs writers often include in the value size. */
export function utf16(buf: Buffer, start: number, end: number): string {
  if ((end - start) & 1) end--;
  while (end > start && buf[end - 1] === 0 && buf[end - 2] === 0) end -= 2;
  return end > start ? buf.toString('utf16le', start, end) : '';
}

function ansi(buf: Buffer, start: number, end: number): string {
  while (end > start && buf[end - 1] === 0) end--;
  return buf.toString('latin1', start, end);
}

function hex64(buf: Buffer, off: number): string {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  if (hi === 0) return `0x${lo.toString(16)}`;
  return `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

function int64(buf: Buffer, off: number, signed: boolean): number | bigint {
  const v = signed ? buf.readBigInt64LE(off) : buf.readBigUInt64LE(off);
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

export function floatText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'INF' : '-INF';
  return String(v);
}

/** Fixed item sizes used to split array values (0x80|t); 0 means variable or unsupported. */
export function fixedSize(type: number, valueSize: number): number {
  switch (type) {
    case ValueType.Int8:
    case ValueType.UInt8:
      return 1;
    case ValueType.Int16:
    case ValueType.UInt16:
      return 2;
    case ValueType.Int32:
    case ValueType.UInt32:
    case ValueType.Real32:
    case ValueType.Bool:
    case ValueType.HexInt32:
      return 4;
    case ValueType.Int64:
    case ValueType.UInt64:
    case ValueType.Real64:
    case ValueType.FileTime:
    case ValueType.HexInt64:
      return 8;
    case ValueType.Guid:
    case ValueType.SystemTime:
      return 16;
    case ValueType.SizeT:
      return valueSize === 4 ? 4 : 8;
    default:
      return 0;
  }
}

/** A decoded scalar: what `data` holds. Strings stay strings, 64-bit ints beyond 2^53 become bigint. */
export type Scalar = string | number | bigint | boolean | FileTime | null;

/**
 * Decodes one scalar of `type` from [start, end). Returns undefined when the bytes are too short
 * for the type, so the caller can render an empty value instead of throwing.
 */
export function decodeScalar(buf: Buffer, type: number, start: number, end: number): Scalar | undefined {
  const size = end - start;
  switch (type) {
    case ValueType.Null:
      return null;
    case ValueType.String:
      return utf16(buf, start, end);
    case ValueType.AnsiString:
      return ansi(buf, start, end);
    case ValueType.Int8:
      return size >= 1 ? buf.readInt8(start) : undefined;
    case ValueType.UInt8:
      return size >= 1 ? buf[start] : undefined;
    case ValueType.Int16:
      return size >= 2 ? buf.readInt16LE(start) : undefined;
    case ValueType.UInt16:
      return size >= 2 ? buf.readUInt16LE(start) : undefined;
    case ValueType.Int32:
      return size >= 4 ? buf.readInt32LE(start) : undefined;
    case ValueType.UInt32:
      return size >= 4 ? buf.readUInt32LE(start) : undefined;
    case ValueType.Int64:
      return size >= 8 ? int64(buf, start, true) : undefined;
    case ValueType.UInt64:
      return size >= 8 ? int64(buf, start, false) : undefined;
    case ValueType.Real32:
      return size >= 4 ? buf.readFloatLE(start) : undefined;
    case ValueType.Real64:
      return size >= 8 ? buf.readDoubleLE(start) : undefined;
    case ValueType.Bool:
      // Values other than 0/1 occur in real files: any non-zero is true.
      return size >= 4 ? buf.readUInt32LE(start) !== 0 : size >= 1 ? buf[start] !== 0 : undefined;
    case ValueType.Binary:
      return hexUpper(buf, start, end);
    case ValueType.Guid:
      return size >= 16 ? guidString(buf, start) : undefined;
    case ValueType.SizeT:
      // Pointer-sized; rendered like the HexInt types (Windows style, no padding).
      if (size === 4) return `0x${buf.readUInt32LE(start).toString(16)}`;
      return size >= 8 ? hex64(buf, start) : undefined;
    case ValueType.FileTime:
      return size >= 8 ? new FileTime(buf.readBigUInt64LE(start)) : undefined;
    case ValueType.SystemTime:
      return size >= 16 ? systemTimeToIso(buf, start) : undefined;
    case ValueType.Sid:
      return sidString(buf, start, end);
    case ValueType.HexInt32:
      return size >= 4 ? `0x${buf.readUInt32LE(start).toString(16)}` : undefined;
    case ValueType.HexInt64:
      return size >= 8 ? hex64(buf, start) : undefined;
    default:
      // EvtHandle / EvtXml / unknown: keep the bytes visible rather than dropping them.
      return hexUpper(buf, start, end);
  }
}

/** Splits an array value (type 0x80|t) into its items. */
export function decodeArray(buf: Buffer, type: number, start: number, end: number): Scalar[] {
  const base = type & 0x7f;
  const out: Scalar[] = [];
  if (base === ValueType.String) {
    // NUL-separated UTF-16 strings; a trailing NUL terminates the last one.
    let s = start;
    for (let p = start; p + 1 < end; p += 2) {
      if (buf[p] === 0 && buf[p + 1] === 0) {
        out.push(p > s ? buf.toString('utf16le', s, p) : '');
        s = p + 2;
      }
    }
    if (s + 1 < end) out.push(buf.toString('utf16le', s, end - ((end - s) & 1)));
    return out;
  }
  if (base === ValueType.AnsiString) {
    let s = start;
    for (let p = start; p < end; p++) {
      if (buf[p] === 0) {
        out.push(buf.toString('latin1', s, p));
        s = p + 1;
      }
    }
    if (s < end) out.push(buf.toString('latin1', s, end));
    return out;
  }
  if (base === ValueType.Sid) {
    let p = start;
    while (p + 8 <= end) {
      const len = 8 + 4 * buf[p + 1];
      out.push(sidString(buf, p, Math.min(end, p + len)));
      p += len;
    }
    return out;
  }
  const item = fixedSize(base, 8);
  if (item === 0) return [hexUpper(buf, start, end)];
  for (let p = start; p + item <= end; p += item) {
    const v = decodeScalar(buf, base, p, p + item);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Text of a scalar as it appears in rendered XML. */
export function scalarText(v: Scalar | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : floatText(v);
  return v.toString();
}

