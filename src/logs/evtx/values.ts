// Decoding of BinXml substitution values (MS-EVEN6 2.2.12 value types) into JS values and XML text,
// and the JSON of the common ones written as bytes (writeValueJson).
// Every reader is bounds-checked against the given end: values come from untrusted sizes.

import type { ByteOut } from './byte-out.js';

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

/**
 * Little-endian u32 / u16 at o, for offsets the caller has checked against the chunk's length
 * (Buffer's readers check again, which showed in profiles).
 */
export function u32le(buf: Buffer, o: number): number {
  return (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16)) + buf[o + 3] * 0x1000000;
}

export function u16le(buf: Buffer, o: number): number {
  return buf[o] | (buf[o + 1] << 8);
}

export const LEVEL_NAMES: Record<number, string> = {
  0: 'LogAlways',
  1: 'Critical',
  2: 'Error',
  3: 'Warning',
  4: 'Information',
  5: 'Verbose',
};

/** The name of a System/Level number (Level7 for one without a name). */
export function levelName(level: number): string {
  return LEVEL_NAMES[level] ?? `Level${level}`;
}

/** A FILETIME kept at full 100 ns precision; renders like the Windows XML export. */
export class FileTime {
  constructor(
    readonly hi: number,
    readonly lo: number,
  ) {}

  static fromTicks(ticks: bigint): FileTime {
    return new FileTime(Number(ticks >> 32n), Number(ticks & 0xffffffffn));
  }

  get ticks(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  toDate(): Date {
    return new Date(fileTimeMs(this.hi, this.lo));
  }

  toString(): string {
    return fileTimeIso(this.hi, this.lo);
  }

  toJSON(): string {
    return this.toString();
  }
}

const EPOCH_MS = 11644473600000; // 1601-01-01 to 1970-01-01

/**
 * Milliseconds since 1970 of a FILETIME given as two u32 halves, without BigInt: ticks / 10000 is
 * split as 2^32 = 429496 * 10000 + 7296 so every partial product stays exact (hi * 2^32 + lo itself
 * exceeds 2^53 and would round to the wrong millisecond).
 */
function fileTimeMs(hi: number, lo: number): number {
  return hi * 429496 + Math.floor((hi * 7296 + lo) / 10000) - EPOCH_MS;
}

/** Milliseconds since 1970 of the FILETIME at off. */
export function readFileTimeMs(buf: Buffer, off: number): number {
  return fileTimeMs(u32le(buf, off + 4), u32le(buf, off));
}

export function readFileTimeDate(buf: Buffer, off: number): Date {
  return new Date(readFileTimeMs(buf, off));
}

/** ISO-8601 with 7 fraction digits, as Windows renders SystemTime: 2025-06-08T07:15:09.2216228Z. */
export function fileTimeIso(hi: number, lo: number): string {
  const rest = hi * 7296 + lo;
  const ms = hi * 429496 + Math.floor(rest / 10000) - EPOCH_MS;
  const sec = Math.floor(ms / 1000);
  const prefix = isoSecondPrefix(sec);
  if (prefix === undefined) return String((BigInt(hi) << 32n) | BigInt(lo));
  const frac = (ms - sec * 1000) * 10000 + (rest % 10000);
  return `${prefix}.${String(frac).padStart(7, '0')}Z`;
}

export function fileTimeToIso(ticks: bigint): string {
  return FileTime.fromTicks(ticks).toString();
}

// Direct-mapped by second: a record's creation and write times are often seconds apart, so a
// single "last second" entry would be overwritten back and forth.
const ISO_SLOTS = 64;
const isoSeconds = new Float64Array(ISO_SLOTS).fill(NaN);
const isoTexts: string[] = new Array<string>(ISO_SLOTS).fill('');
let isoMinute = NaN;
let isoMinutePrefix = '';
/** The same texts as bytes (ASCII, at most ISO_BYTES each), for the JSON byte writer. */
const ISO_BYTES = 32;
const isoSlab = new Uint8Array(ISO_SLOTS * ISO_BYTES);

/** Writes the "YYYY-MM-DDTHH:MM:SS" of a second (as isoSecondPrefix); false when it has none. */
function writeIsoSecond(w: ByteOut, sec: number): boolean {
  const slot = sec & (ISO_SLOTS - 1);
  if (isoSeconds[slot] !== sec && isoSecondPrefix(sec) === undefined) return false;
  const text = isoTexts[slot];
  if (text.length > ISO_BYTES) w.ascii(text);
  else w.bytes(isoSlab, slot * ISO_BYTES, text.length);
  return true;
}

/**
 * "YYYY-MM-DDTHH:MM:SS" of a second since 1970. Date.toISOString() is a slow runtime call and
 * neighbouring records are usually within the same few seconds or minute, so those are reused.
 */
function isoSecondPrefix(sec: number): string | undefined {
  const slot = sec & (ISO_SLOTS - 1);
  if (isoSeconds[slot] === sec) return isoTexts[slot];
  const minute = Math.floor(sec / 60);
  if (minute !== isoMinute) {
    const d = new Date(minute * 60000);
    if (Number.isNaN(d.getTime())) return undefined;
    const full = d.toISOString(); // ...THH:MM:00.000Z (years beyond 9999 get a longer prefix)
    isoMinute = minute;
    isoMinutePrefix = full.slice(0, full.length - 7);
  }
  const s = sec - minute * 60;
  const text = `${isoMinutePrefix}${s < 10 ? '0' : ''}${s}`;
  isoSeconds[slot] = sec;
  isoTexts[slot] = text;
  if (text.length <= ISO_BYTES) for (let i = 0; i < text.length; i++) isoSlab[slot * ISO_BYTES + i] = text.charCodeAt(i);
  return text;
}

/** Date.toISOString() with the per-minute prefix cache. */
export function fastIso(d: Date): string {
  return fastIsoMs(d.getTime());
}

/** fileTimeIso(hi, lo) written as bytes. */
export function writeFileTimeIso(w: ByteOut, hi: number, lo: number): void {
  const rest = hi * 7296 + lo;
  const ms = hi * 429496 + Math.floor(rest / 10000) - EPOCH_MS;
  const sec = Math.floor(ms / 1000);
  if (!writeIsoSecond(w, sec)) {
    w.ascii(String((BigInt(hi) << 32n) | BigInt(lo)));
    return;
  }
  w.byte(0x2e);
  w.padded((ms - sec * 1000) * 10000 + (rest % 10000), 7);
  w.byte(0x5a);
}

/** fastIsoMs(ms) written as bytes. */
export function writeIsoMs(w: ByteOut, ms: number): void {
  const sec = Math.floor(ms / 1000);
  if (!writeIsoSecond(w, sec)) w.ascii('undefined'); // as `${undefined}` in fastIsoMs
  w.byte(0x2e);
  w.padded(ms - sec * 1000, 3);
  w.byte(0x5a);
}

/** fastIso of milliseconds since 1970 (finite, within Date's range). */
export function fastIsoMs(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const frac = ms - sec * 1000;
  return `${isoSecondPrefix(sec)}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

/**
 * Node's per-encoding Buffer methods. toString(encoding, a, b) dispatches on the encoding name on
 * every call, which showed up in profiles; these are what it ends up calling. They are not part of
 * the documented API, so fall back to toString() should a Node version lack them.
 */
interface FastSlices {
  ucs2Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

const fastSlices = typeof (Buffer.prototype as unknown as Partial<FastSlices>).ucs2Slice === 'function';

export function ucs2(buf: Buffer, start: number, end: number): string {
  return fastSlices ? (buf as unknown as FastSlices).ucs2Slice(start, end) : buf.toString('utf16le', start, end);
}

function latin1(buf: Buffer, start: number, end: number): string {
  return fastSlices ? (buf as unknown as FastSlices).latin1Slice(start, end) : buf.toString('latin1', start, end);
}

function hexLower(buf: Buffer, start: number, end: number): string {
  return fastSlices ? (buf as unknown as FastSlices).hexSlice(start, end) : buf.toString('hex', start, end);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
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
  // Native hex encoding; Windows renders Binary in upper case.
  return hexLower(buf, start, end).toUpperCase();
}

// GUIDs repeat a lot (provider, activity and logon GUIDs); formatting one costs more than comparing
// its four words with the last GUID seen in the same slot of a small direct-mapped cache.
const GUID_SLOTS = 256;
const guidWords = new Float64Array(GUID_SLOTS * 4).fill(-1);
const guidText: string[] = new Array<string>(GUID_SLOTS).fill('');
const guidSlab = new Uint8Array(GUID_SLOTS * 38); // the same texts as bytes ({8-4-4-4-12}: 38)

/** guidString(buf, off) written as bytes. */
export function writeGuid(w: ByteOut, buf: Buffer, off: number): void {
  const a = u32le(buf, off);
  const b = u32le(buf, off + 4);
  const c = u32le(buf, off + 8);
  const d = u32le(buf, off + 12);
  const slot = (a ^ b ^ c ^ d ^ (a >>> 16)) & (GUID_SLOTS - 1);
  const at = slot * 4;
  if (!(guidWords[at] === a && guidWords[at + 1] === b && guidWords[at + 2] === c && guidWords[at + 3] === d)) guidString(buf, off);
  w.bytes(guidSlab, slot * 38, 38);
}

export function guidString(buf: Buffer, off: number): string {
  const a = buf.readUInt32LE(off);
  const b = buf.readUInt32LE(off + 4);
  const c = buf.readUInt32LE(off + 8);
  const d = buf.readUInt32LE(off + 12);
  const slot = (a ^ b ^ c ^ d ^ (a >>> 16)) & (GUID_SLOTS - 1);
  const w = slot * 4;
  if (guidWords[w] === a && guidWords[w + 1] === b && guidWords[w + 2] === c && guidWords[w + 3] === d) return guidText[slot];
  const h = hexLower(buf, off, off + 16);
  // Data1 (u32), Data2 and Data3 (u16) are little-endian; the last 8 bytes are as stored.
  const le = (from: number, to: number) => {
    let r = '';
    for (let i = to - 2; i >= from; i -= 2) r += h.slice(i, i + 2);
    return r;
  };
  const g = `{${le(0, 8)}-${le(8, 12)}-${le(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}}`.toUpperCase();
  guidWords[w] = a;
  guidWords[w + 1] = b;
  guidWords[w + 2] = c;
  guidWords[w + 3] = d;
  guidText[slot] = g;
  for (let i = 0; i < 38; i++) guidSlab[slot * 38 + i] = g.charCodeAt(i);
  return g;
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

/** sidString written as bytes. */
export function writeSid(w: ByteOut, buf: Buffer, off: number, end: number): void {
  if (end - off < 8) return;
  w.ascii('S-');
  w.uint(buf[off]);
  w.byte(0x2d);
  w.uint(buf.readUIntBE(off + 2, 6));
  const count = buf[off + 1];
  for (let i = 0; i < count; i++) {
    const p = off + 8 + 4 * i;
    if (p + 4 > end) break;
    w.byte(0x2d);
    w.uint(buf.readUInt32LE(p));
  }
}

/** UTF-16LE text without the trailing NULs writers often include in the value size. */
export function utf16(buf: Buffer, start: number, end: number): string {
  if ((end - start) & 1) end--;
  while (end > start && buf[end - 1] === 0 && buf[end - 2] === 0) end -= 2;
  return end > start ? ucs2(buf, start, end) : '';
}

// Short texts that repeat from record to record (provider names): comparing the bytes with the
// last text decoded in the same slot costs less than decoding, and the Map lookups of `evtx stats`
// then hash a string they have seen before.
const TEXT_SLOTS = 32;
const MAX_CACHED_BYTES = 128;
const textBytes: Uint8Array[] = Array.from({ length: TEXT_SLOTS }, () => new Uint8Array(0));
const textStrings: string[] = new Array<string>(TEXT_SLOTS).fill('');

/** utf16(buf, start, end), the same string object as last time when the bytes are. */
export function utf16Cached(buf: Buffer, start: number, end: number): string {
  if ((end - start) & 1) end--;
  while (end > start && buf[end - 1] === 0 && buf[end - 2] === 0) end -= 2;
  const n = end - start;
  if (n === 0) return '';
  if (n > MAX_CACHED_BYTES) return ucs2(buf, start, end);
  const slot = (n ^ buf[start] ^ (buf[end - 2] << 2) ^ (buf[start + (n >> 1)] << 4)) & (TEXT_SLOTS - 1);
  const cached = textBytes[slot];
  if (cached.length === n) {
    let i = 0;
    while (i < n && cached[i] === buf[start + i]) i++;
    if (i === n) return textStrings[slot];
  }
  const text = ucs2(buf, start, end);
  textBytes[slot] = Uint8Array.prototype.slice.call(buf, start, end);
  textStrings[slot] = text;
  return text;
}

function ansi(buf: Buffer, start: number, end: number): string {
  while (end > start && buf[end - 1] === 0) end--;
  return latin1(buf, start, end);
}

// Keywords and logon ids repeat from record to record; formatting costs more than a compare.
const HEX64_SLOTS = 256;
const hex64Hi = new Float64Array(HEX64_SLOTS).fill(-1);
const hex64Lo = new Float64Array(HEX64_SLOTS);
const hex64Text: string[] = new Array<string>(HEX64_SLOTS).fill('');

/** HexInt64 as Windows and evtxexport render it: 0x and 16 lower-case digits (0x0000000000000000). */
function hex64(buf: Buffer, off: number): string {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  const slot = (lo ^ hi ^ (hi >>> 24)) & (HEX64_SLOTS - 1);
  if (hex64Hi[slot] === hi && hex64Lo[slot] === lo) return hex64Text[slot];
  const text = `0x${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;
  hex64Hi[slot] = hi;
  hex64Lo[slot] = lo;
  hex64Text[slot] = text;
  return text;
}

/** HexInt32 as Windows and evtxexport render it: 0x and 8 lower-case digits (0x001f1fff). */
function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

/** size_t (a pointer-sized value): 0x without padding, as before (Windows shows pointers unpadded). */
function sizeT64(buf: Buffer, off: number): string {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  return hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
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

/** The shortest decimal that reads back as the same float32 (0.1f prints as 0.1, not 0.100000001...). */
function shortestFloat32(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(v.toPrecision(digits));
    if (Math.fround(candidate) === v) return candidate;
  }
  return v;
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
      return size >= 4 ? shortestFloat32(buf.readFloatLE(start)) : undefined;
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
      // Pointer-sized; 0x without padding (evtxexport prints it in decimal).
      if (size === 4) return `0x${buf.readUInt32LE(start).toString(16)}`;
      return size >= 8 ? sizeT64(buf, start) : undefined;
    case ValueType.FileTime:
      return size >= 8 ? new FileTime(buf.readUInt32LE(start + 4), buf.readUInt32LE(start)) : undefined;
    case ValueType.SystemTime:
      return size >= 16 ? systemTimeToIso(buf, start) : undefined;
    case ValueType.Sid:
      return sidString(buf, start, end);
    case ValueType.HexInt32:
      return size >= 4 ? hex32(buf.readUInt32LE(start)) : undefined;
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

/**
 * The JSON of decodeScalar's value of `type` at [start, end) as the data object holds it (strings
 * escaped, FILETIMEs as ISO text, 64-bit integers beyond 2^53 as strings), written as bytes: the
 * UTF-8 of jsonValue(v), or of `"v"` for the other text types. false (nothing written) for the
 * types left to the string path, and for bytes too short for their type.
 */
export function writeValueJson(w: ByteOut, buf: Buffer, type: number, start: number, end: number): boolean {
  const size = end - start;
  switch (type) {
    case ValueType.String: {
      if (size & 1) end--;
      while (end > start && buf[end - 1] === 0 && buf[end - 2] === 0) end -= 2;
      w.jsonUtf16(buf, start, end);
      return true;
    }
    case ValueType.UInt8:
      if (size < 1) return false;
      w.uint(buf[start]);
      return true;
    case ValueType.UInt16:
      if (size < 2) return false;
      w.uint(u16le(buf, start));
      return true;
    case ValueType.UInt32:
      if (size < 4) return false;
      w.uint(u32le(buf, start));
      return true;
    case ValueType.Int32:
      if (size < 4) return false;
      w.num(buf.readInt32LE(start));
      return true;
    case ValueType.UInt64: {
      if (size < 8) return false;
      const hi = u32le(buf, start + 4);
      if (hi >= 0x200000) return false; // beyond 2^53: a quoted string, left to the string path
      w.uint(hi * 4294967296 + u32le(buf, start));
      return true;
    }
    case ValueType.HexInt64:
      if (size < 8) return false;
      w.ascii('"0x');
      w.hex8(u32le(buf, start + 4));
      w.hex8(u32le(buf, start));
      w.byte(0x22);
      return true;
    case ValueType.HexInt32:
      if (size < 4) return false;
      w.ascii('"0x');
      w.hex8(u32le(buf, start));
      w.byte(0x22);
      return true;
    case ValueType.FileTime:
      if (size < 8) return false;
      w.byte(0x22);
      writeFileTimeIso(w, u32le(buf, start + 4), u32le(buf, start));
      w.byte(0x22);
      return true;
    case ValueType.Guid:
      if (size < 16) return false;
      w.byte(0x22);
      writeGuid(w, buf, start);
      w.byte(0x22);
      return true;
    case ValueType.Sid:
      w.byte(0x22);
      writeSid(w, buf, start, end);
      w.byte(0x22);
      return true;
    case ValueType.Binary:
      w.byte(0x22);
      w.hexUpper(buf, start, end);
      w.byte(0x22);
      return true;
    case ValueType.Bool:
      if (size < 1) return false;
      w.ascii((size >= 4 ? u32le(buf, start) !== 0 : buf[start] !== 0) ? 'true' : 'false');
      return true;
    default:
      return false;
  }
}

/** Text of a scalar as it appears in rendered XML. */
export function scalarText(v: Scalar | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : floatText(v);
  return v.toString();
}

