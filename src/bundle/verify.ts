// Re-checks a finished bundle: every file's sha256 and size against manifest.json, every CRC-32
// against the zip directory, nothing missing and nothing extra. Streams each entry (yauzl,
// lazyEntries), so memory stays flat whatever the bundle size.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { UsageError, errorMessage } from '../errors.js';
import { MANIFEST_PATH, MANIFEST_SCHEMA, type ManifestEntry } from './manifest.js';

const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

export interface BundleProblem {
  path: string;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  problems: BundleProblem[];
  manifest: unknown;
  /** files in the zip (manifest.json included) */
  entries: number;
}

export interface InspectedFile {
  path: string;
  size: number;
  compressedSize: number;
  /** 'stored' or 'deflated' */
  method: string;
}

/** The file is not a zip, or a zip without a clk-support manifest. */
export class NotABundleError extends UsageError {
  constructor(file: string, why: string) {
    super(`${file} is not a clk-support bundle: ${why}`, { code: 'NOT_A_BUNDLE', hint: 'pass a .zip written by `clk-support collect`' });
  }
}

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) {
        const code = (err as NodeJS.ErrnoException | null)?.code;
        if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') reject(new UsageError(`cannot open ${path}: ${errorMessage(err)}`, { code: 'NOT_FOUND', hint: 'check the path' }));
        else reject(new NotABundleError(path, errorMessage(err ?? new Error('unreadable zip'))));
      } else resolve(zip);
    });
  });
}

/** Calls onEntry for each entry in order; resolves when the central directory is exhausted. */
async function eachEntry(zip: ZipFile, onEntry: (entry: Entry) => Promise<void>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: Entry) => {
      onEntry(entry).then(
        () => zip.readEntry(),
        (err) => {
          zip.close();
          reject(err);
        },
      );
    });
    zip.once('end', () => resolve());
    zip.once('error', reject);
    zip.readEntry();
  });
}

function openEntry(zip: ZipFile, entry: Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (err, s) => (err || !s ? reject(err ?? new Error('no stream')) : resolve(s))));
}

function isDirectory(entry: Entry): boolean {
  return entry.fileName.endsWith('/');
}

function unsafePath(p: string): boolean {
  return p.startsWith('/') || p.includes('\\') || /^[A-Za-z]:/.test(p) || p.split('/').includes('..');
}

interface Seen {
  size: number;
  sha256: string;
  crcOk: boolean;
}

export async function verifyBundle(path: string, opts: { signal?: AbortSignal } = {}): Promise<VerifyResult> {
  const zip = await openZip(path);
  const problems: BundleProblem[] = [];
  const seen = new Map<string, Seen>();
  let manifestText: string | undefined;
  let count = 0;
  await eachEntry(zip, async (entry) => {
    opts.signal?.throwIfAborted();
    if (isDirectory(entry)) return;
    count++;
    const name = entry.fileName;
    if (unsafePath(name)) problems.push({ path: name, problem: 'unsafe path (absolute or with ..)' });
    if (seen.has(name)) problems.push({ path: name, problem: 'appears twice in the zip' });
    if (entry.isEncrypted()) {
      problems.push({ path: name, problem: 'encrypted entry' });
      return;
    }
    const hash = createHash('sha256');
    let crc = 0;
    let size = 0;
    const keep: Buffer[] | undefined = name === MANIFEST_PATH && entry.uncompressedSize <= MAX_MANIFEST_BYTES ? [] : undefined;
    try {
      const stream = await openEntry(zip, entry);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hash.update(chunk);
        crc = crc32(chunk, crc);
        size += chunk.length;
        keep?.push(chunk);
      }
    } catch (err) {
      problems.push({ path: name, problem: `unreadable: ${errorMessage(err)}` });
      seen.set(name, { size, sha256: '', crcOk: false });
      return;
    }
    const crcOk = crc >>> 0 === entry.crc32 >>> 0;
    if (!crcOk) problems.push({ path: name, problem: 'CRC-32 does not match the zip directory (corrupted data)' });
    seen.set(name, { size, sha256: hash.digest('hex'), crcOk });
    if (keep) manifestText = Buffer.concat(keep).toString('utf8');
  });

  if (manifestText === undefined) throw new NotABundleError(path, `no ${MANIFEST_PATH} in the zip`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch (err) {
    problems.push({ path: MANIFEST_PATH, problem: `not valid JSON: ${errorMessage(err)}` });
    return { ok: false, problems, manifest: undefined, entries: count };
  }
  const m = manifest as { schema?: unknown; entries?: unknown };
  if (typeof m !== 'object' || m === null || m.schema !== MANIFEST_SCHEMA) {
    if (typeof m === 'object' && m !== null && typeof m.schema === 'string' && m.schema.startsWith('clk-support/bundle-manifest/'))
      problems.push({ path: MANIFEST_PATH, problem: `manifest schema ${m.schema} is not supported by this version (expects ${MANIFEST_SCHEMA})` });
    else throw new NotABundleError(path, `${MANIFEST_PATH} is not a clk-support manifest (schema ${JSON.stringify(m?.schema)})`);
    return { ok: false, problems, manifest, entries: count };
  }
  if (!Array.isArray(m.entries)) {
    problems.push({ path: MANIFEST_PATH, problem: 'manifest has no entries list' });
    return { ok: false, problems, manifest, entries: count };
  }
  const listed = new Set<string>();
  for (const raw of m.entries as Partial<ManifestEntry>[]) {
    const p = typeof raw?.path === 'string' ? raw.path : undefined;
    if (!p || typeof raw.sha256 !== 'string' || typeof raw.size !== 'number') {
      problems.push({ path: p ?? '?', problem: 'manifest entry lacks path, size or sha256' });
      continue;
    }
    if (listed.has(p)) problems.push({ path: p, problem: 'listed twice in the manifest' });
    listed.add(p);
    const s = seen.get(p);
    if (!s) {
      problems.push({ path: p, problem: 'listed in the manifest but missing from the zip' });
      continue;
    }
    if (!s.sha256) continue; // unreadable, already reported
    if (s.size !== raw.size) problems.push({ path: p, problem: `size ${s.size} does not match the manifest (${raw.size})` });
    if (s.sha256 !== raw.sha256.toLowerCase()) problems.push({ path: p, problem: 'sha256 does not match the manifest' });
  }
  for (const p of seen.keys()) {
    if (p !== MANIFEST_PATH && !listed.has(p)) problems.push({ path: p, problem: 'in the zip but not in the manifest' });
  }
  return { ok: problems.length === 0, problems, manifest, entries: count };
}

/** The manifest and the zip directory, without decompressing anything but the manifest. */
export async function inspectBundle(path: string): Promise<{ manifest: unknown; files: InspectedFile[] }> {
  const zip = await openZip(path);
  const files: InspectedFile[] = [];
  let manifestText: string | undefined;
  await eachEntry(zip, async (entry) => {
    if (isDirectory(entry)) return;
    files.push({
      path: entry.fileName,
      size: entry.uncompressedSize,
      compressedSize: entry.compressedSize,
      method: entry.compressionMethod === 0 ? 'stored' : entry.compressionMethod === 8 ? 'deflated' : `method ${entry.compressionMethod}`,
    });
    if (entry.fileName === MANIFEST_PATH && entry.uncompressedSize <= MAX_MANIFEST_BYTES) {
      const chunks: Buffer[] = [];
      for await (const c of (await openEntry(zip, entry)) as AsyncIterable<Buffer>) chunks.push(c);
      manifestText = Buffer.concat(chunks).toString('utf8');
    }
  });
  if (manifestText === undefined) throw new NotABundleError(path, `no ${MANIFEST_PATH} in the zip`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch (err) {
    throw new NotABundleError(path, `${MANIFEST_PATH} is not valid JSON (${errorMessage(err)})`);
  }
  const schema = (manifest as { schema?: unknown })?.schema;
  if (typeof schema !== 'string' || !schema.startsWith('clk-support/bundle-manifest/'))
    throw new NotABundleError(path, `${MANIFEST_PATH} is not a clk-support manifest`);
  return { manifest, files };
}
