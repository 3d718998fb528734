// Text entries: lines produced lazily (cut to the window, capped) go into the bundle through the
// writer's redactor (and anonymizer), in batches so that a multi-GB log never sits in memory.
import type { BundleEntryMeta, ManifestEntry } from '../bundle/manifest.js';
import type { EntrySink } from './types.js';

const BATCH_BYTES = 64 * 1024;

/**
 * Adds the lines as one redacted entry, or returns undefined without touching the bundle when the
 * source yields no line at all (a file with nothing in the window is skipped, not added empty).
 */
export async function addTextLines(
  sink: EntrySink,
  bundlePath: string,
  lines: AsyncGenerator<string>,
  meta: (firstLineSeen: true) => BundleEntryMeta,
): Promise<ManifestEntry | undefined> {
  const first = await lines.next();
  if (first.done) return undefined;
  async function* batches(): AsyncGenerator<Buffer> {
    let parts: string[] = [`${first.value as string}\n`];
    let size = parts[0].length;
    try {
      for await (const line of lines) {
        parts.push(`${line}\n`);
        size += line.length + 1;
        if (size >= BATCH_BYTES) {
          yield Buffer.from(parts.join(''), 'utf8');
          parts = [];
          size = 0;
        }
      }
      if (parts.length) yield Buffer.from(parts.join(''), 'utf8');
    } finally {
      await lines.return(undefined);
    }
  }
  return sink.addStream(bundlePath, batches(), { ...meta(true), redact: true });
}
