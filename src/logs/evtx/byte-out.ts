// The UTF-8 output of one chunk (`evtx dump`), written as bytes: JSON lines put their values here
// straight from the chunk (UTF-16 text transcoded and escaped in one pass, numbers, hex, GUIDs, SIDs
// and times formatted as digits) with no JS string per value; what has no byte writer yet is added
// as a string. The bytes are the same as JSON.stringify's text encoded as UTF-8 (test/evtx's sha256).

/**
 * Node's UTF-8 writer behind buf.write(text, offset, 'utf8'), without the encoding-name dispatch
 * (undocumented, like the slices in values.ts: write() is used should a Node version lack it).
 */
const utf8Write = (Buffer.prototype as unknown as { utf8Write?: (this: Buffer, text: string, offset: number) => number }).utf8Write;

const MAX_UTF8_PER_UNIT = 3; // UTF-8 bytes per UTF-16 code unit, at most
const MAX_JSON_PER_UNIT = 6; // \u001f: JSON-escaped UTF-8 bytes per UTF-16 code unit, at most

const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]; // 0-9a-f
const HEX_UPPER = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 65, 66, 67, 68, 69, 70]; // 0-9A-F
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** 1 for the bytes JSON writes as they are (printable ASCII but " and \\), by byte value. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === QUOTE || c === BACKSLASH ? 0 : 1;

/** JSON.stringify's short escapes of C0 controls (the others are \u00xx). */
const SHORT_ESCAPE: Record<number, number> = { 8: 0x62, 9: 0x74, 10: 0x6e, 12: 0x66, 13: 0x72 };

/**
 * Output bytes of one chunk: records are written as they are rendered into a scratch buffer kept
 * from chunk to chunk, then copied into a buffer of the exact size (handed to the stream, or moved
 * from a decoding thread: its size is all the memory a chunk in flight holds).
 */
export class ByteOut {
  private static scratch: Buffer = Buffer.allocUnsafeSlow(4 * 65536);
  buf: Buffer;
  pos = 0;
  /** Writes into the scratch buffer shared from chunk to chunk (else into its own). */
  private readonly shared: boolean;

  /** With `own`, a writer of its own (grown as needed) instead of the chunk output. */
  constructor(own?: Buffer) {
    this.shared = own === undefined;
    this.buf = own ?? ByteOut.scratch;
  }

  /** Room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.buf.length, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
    if (this.shared) ByteOut.scratch = bigger;
  }

  /** Bytes [start, end) of src as they are. */
  copyFrom(src: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    src.copy(this.buf, this.pos, start, end);
    this.pos += end - start;
  }

  /** Any text, encoded as UTF-8. */
  add(text: string): void {
    this.ensure(MAX_UTF8_PER_UNIT * text.length);
    this.pos += utf8Write ? utf8Write.call(this.buf, text, this.pos) : this.buf.write(text, this.pos, 'utf8');
  }

  /** Text known to be ASCII (constants, digits, names checked by isAscii). */
  ascii(text: string): void {
    const n = text.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = text.charCodeAt(i);
    this.pos = p;
  }

  /** Bytes [start, start + n) of a small array (a loop: set() costs more at these sizes). */
  bytes(src: Uint8Array, start: number, n: number): void {
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < start + n; i++) buf[p++] = src[i];
    this.pos = p;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53 in decimal. */
  uint(v: number): void {
    if (v > Number.MAX_SAFE_INTEGER) {
      this.ascii(String(v));
      return;
    }
    this.ensure(16);
    const buf = this.buf;
    if (v < 10) {
      buf[this.pos++] = 48 + v;
      return;
    }
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (v >= 10) {
      const q = Math.floor(v / 10);
      buf[--p] = 48 + (v - 10 * q);
      v = q;
    }
    buf[--p] = 48 + v;
  }

  /** A number as String(v) writes it (digits when it is a safe integer). */
  num(v: number): void {
    if (!Number.isSafeInteger(v)) this.ascii(String(v));
    else if (v < 0) {
      this.byte(0x2d);
      this.uint(-v);
    } else this.uint(v);
  }

  /** v (an integer below 10^width) with leading zeros to `width` digits. */
  padded(v: number, width: number): void {
    this.ensure(width);
    const buf = this.buf;
    let p = this.pos + width;
    this.pos = p;
    for (let i = 0; i < width; i++) {
      const q = Math.floor(v / 10);
      buf[--p] = 48 + (v - 10 * q);
      v = q;
    }
  }

  /** A u32 as 8 hex digits (lower case). */
  hex8(v: number): void {
    this.ensure(8);
    const buf = this.buf;
    const p = this.pos;
    for (let i = 7; i >= 0; i--) {
      buf[p + i] = HEX[v & 15];
      v >>>= 4;
    }
    this.pos = p + 8;
  }

  /** Bytes [start, end) of src as upper-case hex (Windows' rendering of Binary). */
  hexUpper(src: Buffer, start: number, end: number): void {
    this.ensure(2 * (end - start));
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) {
      const b = src[i];
      buf[p++] = HEX_UPPER[b >> 4];
      buf[p++] = HEX_UPPER[b & 15];
    }
    this.pos = p;
  }

  /** JSON.stringify(s) as UTF-8. */
  jsonString(s: string): void {
    const n = s.length;
    this.ensure(MAX_JSON_PER_UNIT * n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = QUOTE;
    let i = 0;
    // ASCII without escapes (nearly all text): one byte per unit.
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || PLAIN[c] === 0) break;
      buf[p++] = c;
    }
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          p = pair(buf, p, c, d);
          i++;
          continue;
        }
      }
      p = unit(buf, p, c);
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  /**
   * JSON string of UTF-16LE text at src[start, end) (even length), as JSON.stringify(ucs2 text) in
   * UTF-8: decoded, escaped and encoded in one pass, without a JS string.
   */
  jsonUtf16(src: Buffer, start: number, end: number): void {
    this.ensure(MAX_JSON_PER_UNIT * ((end - start) >> 1) + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = QUOTE;
    let i = start;
    for (; i < end; i += 2) {
      const c = src[i];
      if (src[i + 1] !== 0 || PLAIN[c] === 0) break;
      buf[p++] = c;
    }
    for (; i < end; i += 2) {
      const c = src[i] | (src[i + 1] << 8);
      if (c >= 0xd800 && c <= 0xdbff && i + 3 < end) {
        const d = src[i + 2] | (src[i + 3] << 8);
        if (d >= 0xdc00 && d <= 0xdfff) {
          p = pair(buf, p, c, d);
          i += 2;
          continue;
        }
      }
      p = unit(buf, p, c);
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  /** The bytes written, in a buffer of their exact size; the scratch buffer is kept for the next chunk. */
  take(): Uint8Array {
    const out = Buffer.allocUnsafeSlow(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    // A crafted chunk can need a large scratch buffer once: not kept for the rest of the file.
    if (ByteOut.scratch.length > 16 * 65536) ByteOut.scratch = Buffer.allocUnsafeSlow(4 * 65536);
    return out;
  }
}

/** One UTF-16 unit that is not half of a surrogate pair, JSON-escaped, as UTF-8 at p. */
function unit(buf: Buffer, p: number, c: number): number {
  if (c < 0x80) {
    if (c >= 0x20 && c !== QUOTE && c !== BACKSLASH) buf[p++] = c;
    else {
      buf[p++] = BACKSLASH;
      const short = c < 0x20 ? SHORT_ESCAPE[c] : c;
      if (short !== undefined) buf[p++] = short;
      else p = uEscape(buf, p, c);
    }
  } else if (c < 0x800) {
    buf[p++] = 0xc0 | (c >> 6);
    buf[p++] = 0x80 | (c & 63);
  } else if (c >= 0xd800 && c <= 0xdfff) {
    // A lone surrogate: JSON.stringify writes it as \udxxx.
    buf[p++] = BACKSLASH;
    p = uEscape(buf, p, c);
  } else {
    buf[p++] = 0xe0 | (c >> 12);
    buf[p++] = 0x80 | ((c >> 6) & 63);
    buf[p++] = 0x80 | (c & 63);
  }
  return p;
}

/** `uxxxx` (lower-case hex) at p. */
function uEscape(buf: Buffer, p: number, c: number): number {
  buf[p++] = 0x75;
  buf[p++] = HEX[(c >> 12) & 15];
  buf[p++] = HEX[(c >> 8) & 15];
  buf[p++] = HEX[(c >> 4) & 15];
  buf[p++] = HEX[c & 15];
  return p;
}

/** A surrogate pair as 4 UTF-8 bytes at p. */
function pair(buf: Buffer, p: number, hi: number, lo: number): number {
  const cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
  buf[p++] = 0xf0 | (cp >> 18);
  buf[p++] = 0x80 | ((cp >> 12) & 63);
  buf[p++] = 0x80 | ((cp >> 6) & 63);
  buf[p++] = 0x80 | (cp & 63);
  return p;
}
