// Text files that are not UTF-8: UTF-16 (LE or BE) announced by a byte order mark, as Windows tools
// and some Tracer configurations write them. Readers decode them to UTF-8 so the one line pipeline
// (timestamps, window, redaction) serves every file; writers encode the result back, BOM first, so
// the file in the bundle keeps the encoding it had on the server. Streams only: memory stays flat.

export type TextEncodingName = 'utf-16le' | 'utf-16be';

/** The encoding a byte order mark announces, or undefined (UTF-8, with or without its BOM). */
export function detectBom(head: Uint8Array): TextEncodingName | undefined {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** The bytes of a UTF-16 source as UTF-8 (the BOM dropped; a lone surrogate becomes U+FFFD). */
export async function* decodeToUtf8(source: AsyncIterable<Buffer | Uint8Array>, encoding: TextEncodingName): AsyncGenerator<Buffer> {
  const decoder = new TextDecoder(encoding);
  for await (const chunk of source) {
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield Buffer.from(text, 'utf8');
  }
  const last = decoder.decode();
  if (last) yield Buffer.from(last, 'utf8');
}

/** A whole sample (the head of a file) as text, whatever its encoding. */
export function decodeSample(head: Buffer, encoding: TextEncodingName | undefined): string {
  if (!encoding) return head.toString('utf8');
  return new TextDecoder(encoding).decode(head.subarray(0, head.length - (head.length % 2)));
}

function encodeText(text: string, encoding: TextEncodingName): Buffer {
  const le = Buffer.from(text, 'utf16le');
  return encoding === 'utf-16le' ? le : le.swap16();
}

/** UTF-8 bytes re-encoded as UTF-16 in the given byte order, preceded by its BOM. */
export async function* encodeFromUtf8(source: AsyncIterable<Buffer | Uint8Array>, encoding: TextEncodingName): AsyncGenerator<Buffer> {
  yield encoding === 'utf-16le' ? Buffer.from([0xff, 0xfe]) : Buffer.from([0xfe, 0xff]);
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of source) {
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield encodeText(text, encoding);
  }
  const last = decoder.decode();
  if (last) yield encodeText(last, encoding);
}
