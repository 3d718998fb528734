// Lines out of a byte stream, holding no more than one line plus one chunk in memory.

export interface LineOptions {
  /** A longer line is cut at this many bytes (the rest of it is skipped), so a file with no newlines cannot exhaust memory. */
  maxLineBytes?: number;
}

export interface Line {
  /** Decoded as UTF-8, without the line ending. */
  text: string;
  /** Bytes of the line in the file, including its line ending. */
  bytes: number;
  /** True when the line was longer than maxLineBytes and was cut. */
  cut: boolean;
}

function toBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

export async function* readLines(source: AsyncIterable<Buffer | Uint8Array | string>, opts: LineOptions = {}): AsyncGenerator<Line> {
  const max = opts.maxLineBytes ?? 1024 * 1024;
  let kept: Buffer[] = []; // the start of the current line, at most `max` bytes
  let keptLen = 0;
  let totalLen = 0; // all bytes of the current line seen so far, kept or not

  const finish = (endingLen: number): Line => {
    const buf = kept.length === 1 ? kept[0] : Buffer.concat(kept, keptLen);
    const end = buf.length > 0 && buf[buf.length - 1] === 13 ? buf.length - 1 : buf.length; // CRLF
    const line = { text: buf.toString('utf8', 0, end), bytes: totalLen + endingLen, cut: totalLen > keptLen };
    kept = [];
    keptLen = 0;
    totalLen = 0;
    return line;
  };

  for await (const chunk of source) {
    const buf = toBuffer(chunk);
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      const end = nl === -1 ? buf.length : nl;
      const room = max - keptLen;
      if (room > 0) {
        const take = Math.min(room, end - start);
        kept.push(buf.subarray(start, start + take));
        keptLen += take;
      }
      totalLen += end - start;
      if (nl === -1) break;
      yield finish(1);
      start = nl + 1;
    }
    // What stays kept may point into this chunk: copy it so the chunk can be freed.
    if (kept.length) kept = [Buffer.concat(kept, keptLen)];
  }
  if (totalLen > 0) yield finish(0);
}
