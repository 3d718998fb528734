// Reading finished bundles back (yauzl, decompressed) and running the CLI for collect tests.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import yauzl from 'yauzl';

export const DEMO_WINDOW = ['--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z'];

export const PLANTED_SECRETS = ['Sql-Demo-Pa55w0rd!', 'Integr8-Pa55', 'tok_live_4f9a8b7c6d5e4f3a2b1c', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'Ldap-Bind-S3cret'];

/** Every entry of a zip, decompressed. */
export function readZip(path: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('error', reject);
      zip.on('end', () => resolve(out));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const parts: Buffer[] = [];
          stream.on('data', (d: Buffer) => parts.push(d));
          stream.on('error', reject);
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(parts));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface Manifest {
  schema: string;
  window: { from: string; to: string };
  entries: { path: string; size: number; sha256: string; server?: string; collector: string; truncated?: boolean; note?: string; sourcePath?: string }[];
  collectors: { server?: string; collector: string; status: string; reason?: string; files: number }[];
  [k: string]: unknown;
}

export async function openBundle(path: string): Promise<{ files: Map<string, Buffer>; manifest: Manifest; raw: Buffer }> {
  const files = await readZip(path);
  const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as Manifest;
  return { files, manifest, raw: await readFile(path) };
}

/** Secrets found in the decompressed entries or the raw zip bytes (in UTF-8 and UTF-16LE). */
export function findSecrets(files: Map<string, Buffer>, raw: Buffer): string[] {
  const hits: string[] = [];
  for (const secret of PLANTED_SECRETS) {
    const needles = [Buffer.from(secret, 'utf8'), Buffer.from(secret, 'utf16le')];
    for (const [name, data] of files) if (needles.some((n) => data.includes(n))) hits.push(`${secret} in ${name}`);
    if (needles.some((n) => raw.includes(n))) hits.push(`${secret} in the raw zip`);
  }
  return hits;
}
