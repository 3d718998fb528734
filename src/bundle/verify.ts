// Re-checks a bundle that may come from anywhere: every file's sha256 and size against manifest.json,
// every CRC-32 against the zip directory, nothing missing and nothing extra. The zip is read by
// src/bundle/zip-read.ts with every count and size bounded before use, the directory is checked
// whole (names, duplicates, overlaps, encryption, links, caps) before a single byte is inflated, and
// anything hostile or unsupported becomes a problem row with a documented code (docs/bundle.md),
// never an exception: memory and time stay bounded whatever the input.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { UsageError, errorMessage } from '../errors.js';
import { MANIFEST_PATH, MANIFEST_SCHEMA, type CollectorLogEntry, type ManifestEntry } from './manifest.js';
import { ZipReader, ZipStructureError, type ZipDirectoryEntry } from './zip-read.js';

/** What verify and inspect accept; beyond any of these the bundle is refused (exit 2). */
export const VERIFY_LIMITS = {
  /** entries in the zip's central directory, and in the manifest */
  maxEntries: 100_000,
  maxCentralDirectoryBytes: 64 * 1024 * 1024,
  /** manifest.json, inflated */
  maxManifestBytes: 16 * 1024 * 1024,
  /** JSON values (objects, arrays, scalars) and nesting in manifest.json */
  maxManifestValues: 1_000_000,
  maxManifestDepth: 64,
  /** one entry, inflated, as the directory declares it */
  maxEntryBytes: 16 * 1024 ** 3,
  /** all entries together, inflated */
  maxTotalBytes: 64 * 1024 ** 3,
  /** inflated:compressed, for entries larger than ratioAboveBytes */
  maxRatio: 200,
  ratioAboveBytes: 32 * 1024 * 1024,
  /** problem rows kept; the rest are counted */
  maxProblems: 1000,
  maxProblemsPerCode: 100,
} as const;

/** Problems that mean "refused: hostile, unsupported or not a bundle" (exit 2); the others are mismatches (exit 1). */
const REFUSED = new Set([
  'NOT_A_ZIP', 'ZIP_TRUNCATED', 'MULTI_DISK', 'CENTRAL_DIRECTORY', 'ENTRY_COUNT', 'TOO_MANY_ENTRIES', 'TOO_LARGE',
  'ENTRY_TOO_LARGE', 'COMPRESSION_RATIO', 'OVERLAP', 'LOCAL_HEADER', 'INFLATED_SIZE', 'ENCRYPTED', 'SYMLINK',
  'SPECIAL_FILE', 'UNSAFE_PATH', 'DUPLICATE', 'UNSUPPORTED_METHOD', 'NO_MANIFEST', 'NOT_A_MANIFEST',
  'MANIFEST_SCHEMA', 'MANIFEST_TOO_LARGE', 'MANIFEST_INVALID',
]);
/** The file is not a zip or not a clk-support bundle at all (rather than a hostile or damaged one). */
export const NOT_A_BUNDLE_CODES: ReadonlySet<string> = new Set(['NOT_A_ZIP', 'ZIP_TRUNCATED', 'NO_MANIFEST', 'NOT_A_MANIFEST']);

export interface BundleProblem {
  /** the entry concerned, or `(zip)` / manifest.json */
  path: string;
  /** documented in docs/bundle.md */
  code: string;
  problem: string;
}

export interface VerifyResult {
  ok: boolean;
  /** a problem refuses the bundle (hostile, unsupported, not a bundle): exit 2 */
  refused: boolean;
  problems: BundleProblem[];
  /** problems beyond VERIFY_LIMITS.maxProblems, counted but not listed */
  problemsOmitted: number;
  manifest: unknown;
  /** files in the zip (manifest.json included) */
  entries: number;
  /** entries listed in the manifest */
  listed?: number;
}

export interface InspectedFile {
  path: string;
  size: number;
  compressedSize: number;
  /** 'stored' or 'deflated' */
  method: string;
}

export interface InspectResult {
  refused: boolean;
  problems: BundleProblem[];
  problemsOmitted: number;
  /** the parsed manifest when it could be read safely */
  manifest: unknown;
  /** its well-formed entries by path */
  entries: Map<string, ManifestEntry>;
  collectors: CollectorLogEntry[];
  files: InspectedFile[];
}

/** The file is not a zip, or a zip without a clk-support manifest. */
export class NotABundleError extends UsageError {
  constructor(file: string, why: string) {
    super(`${file} is not a clk-support bundle: ${why}`, { code: 'NOT_A_BUNDLE', hint: 'pass a .zip written by `clk-support collect`' });
  }
}

/** Problem rows, bounded: per code and in all, so that one flood cannot hide another kind. */
class Problems {
  readonly list: BundleProblem[] = [];
  private readonly perCode = new Map<string, number>();
  omitted = 0;
  refused = false;
  add(path: string, code: string, problem: string): void {
    if (REFUSED.has(code)) this.refused = true;
    const n = this.perCode.get(code) ?? 0;
    this.perCode.set(code, n + 1);
    if (this.list.length < VERIFY_LIMITS.maxProblems && n < VERIFY_LIMITS.maxProblemsPerCode) this.list.push({ path, code, problem });
    else this.omitted++;
  }
  get count(): number {
    return this.list.length + this.omitted;
  }
}

const ZIP = '(zip)';

function isDirectory(e: ZipDirectoryEntry): boolean {
  return e.name.endsWith('/');
}

/** Why a name may not be written to disk as it is, or undefined when it is a plain relative path. */
export function unsafeName(e: { name: string; rawName?: Buffer }): string | undefined {
  const n = e.name;
  if (!n) return 'empty name';
  if (e.rawName?.includes(0) || n.includes('\u0000')) return 'NUL byte in the name';
  if (/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/.test(n)) return 'control or bidi characters in the name';
  if (n.includes('\ufffd')) return 'the name is not valid UTF-8';
  if (n.startsWith('/')) return 'absolute path';
  if (n.includes('\\')) return 'backslash in the name (a Windows separator: may climb with ..\\ or be absolute)';
  if (/^[A-Za-z]:/.test(n)) return 'drive letter (absolute on Windows)';
  const segments = (n.endsWith('/') ? n.slice(0, -1) : n).split('/');
  if (segments.includes('..')) return 'climbs out with ..';
  if (segments.some((s) => s === '' || s === '.')) return 'empty or "." path segment';
  return undefined;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;
const FILE_ATTRIBUTE_REPARSE_POINT = 0x400;

interface Checked {
  entry: ZipDirectoryEntry;
  /** refused on its own: its data is never read */
  refused: boolean;
  /** where its data must end: the next entry's local header, or the central directory */
  limit: number;
}

interface Scan {
  reader: ZipReader;
  files: Checked[];
  /** the zip's structure is not trustworthy: nothing is inflated */
  structural: boolean;
}

function describeOpenError(path: string, err: unknown): never {
  throw new UsageError(`cannot open ${path}: ${errorMessage(err)}`, { code: 'NOT_FOUND', hint: 'check the path' });
}

/**
 * Opens the zip and checks its whole central directory: each entry's name, type, encryption, method
 * and sizes, duplicates, overlapping data, and the totals. Nothing is inflated here.
 */
async function scan(path: string, problems: Problems, signal?: AbortSignal): Promise<Scan | undefined> {
  let reader: ZipReader;
  try {
    reader = await ZipReader.open(path, VERIFY_LIMITS);
  } catch (err) {
    if (err instanceof ZipStructureError) {
      problems.add(ZIP, err.code, err.message);
      return undefined;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR') describeOpenError(path, err);
    throw err;
  }
  const files: Checked[] = [];
  const names = new Set<string>();
  let structural = false;
  let total = 0;
  let unrefused = 0; // inflated and zipped bytes of the entries not refused on their own
  let zipped = 0;
  try {
    for await (const e of reader.entries()) {
      if (e.index % 1024 === 0) signal?.throwIfAborted();
      const c: Checked = { entry: e, refused: false, limit: reader.directory.dataEnd };
      files.push(c);
      const refuse = (code: string, why: string) => {
        c.refused = true;
        problems.add(e.name, code, why);
      };
      const unsafe = unsafeName(e);
      if (unsafe) refuse('UNSAFE_PATH', `unsafe path: ${unsafe}`);
      if (names.has(e.name)) refuse('DUPLICATE', 'appears twice in the zip');
      names.add(e.name);
      if (e.flags & 0x0001 || e.flags & 0x0040 || e.method === 99) refuse('ENCRYPTED', 'encrypted entry (not supported)');
      const type = (e.externalAttributes >>> 16) & S_IFMT;
      if (e.madeBy === MADE_BY_UNIX && type === S_IFLNK) refuse('SYMLINK', 'symbolic link entry (a bundle holds regular files only)');
      else if (e.madeBy === MADE_BY_UNIX && type !== 0 && type !== S_IFREG && type !== S_IFDIR) refuse('SPECIAL_FILE', `special file entry (mode ${type.toString(8)})`);
      else if (e.externalAttributes & FILE_ATTRIBUTE_REPARSE_POINT) refuse('SYMLINK', 'reparse point (link) entry');
      if (isDirectory(e)) continue;
      if (e.method !== 0 && e.method !== 8 && e.method !== 99) refuse('UNSUPPORTED_METHOD', `compression method ${e.method} is not supported (stored or deflated only)`);
      if (e.method === 0 && e.compressedSize !== e.size) refuse('CENTRAL_DIRECTORY', `stored entry with different sizes (${e.compressedSize} zipped, ${e.size} declared)`);
      if (e.size > VERIFY_LIMITS.maxEntryBytes) refuse('ENTRY_TOO_LARGE', `declares ${e.size} bytes, more than the ${VERIFY_LIMITS.maxEntryBytes} verify accepts per file`);
      else if (e.size > VERIFY_LIMITS.ratioAboveBytes && e.size > e.compressedSize * VERIFY_LIMITS.maxRatio)
        refuse('COMPRESSION_RATIO', `inflates ${e.compressedSize} bytes to ${e.size} (more than ${VERIFY_LIMITS.maxRatio}:1): a zip bomb?`);
      if (e.name === MANIFEST_PATH && e.size > VERIFY_LIMITS.maxManifestBytes)
        refuse('MANIFEST_TOO_LARGE', `declares ${e.size} bytes, more than the ${VERIFY_LIMITS.maxManifestBytes} verify accepts`);
      total += e.size;
      if (!c.refused) {
        unrefused += e.size;
        zipped += e.compressedSize;
      }
    }
  } catch (err) {
    if (!(err instanceof ZipStructureError)) {
      await reader.close();
      throw err;
    }
    problems.add(ZIP, err.code, err.message);
    structural = true;
  }
  if (total > VERIFY_LIMITS.maxTotalBytes) {
    problems.add(ZIP, 'TOO_LARGE', `the entries declare ${total} bytes in all, more than the ${VERIFY_LIMITS.maxTotalBytes} verify accepts`);
    structural = true;
  } else if (unrefused > VERIFY_LIMITS.ratioAboveBytes && unrefused > zipped * VERIFY_LIMITS.maxRatio) {
    // many entries each under the per-entry threshold can still add up to a bomb
    problems.add(ZIP, 'COMPRESSION_RATIO', `the entries inflate ${zipped} bytes to ${unrefused} in all (more than ${VERIFY_LIMITS.maxRatio}:1): a zip bomb?`);
    structural = true;
  }
  // Overlaps: every entry's local header and data must end before the next one starts. The name
  // length from the directory is a lower bound of the header; dataRange checks the exact one.
  const byOffset = [...files].sort((a, b) => a.entry.localOffset - b.entry.localOffset);
  let overlaps = 0;
  for (let i = 0; i < byOffset.length; i++) {
    const cur = byOffset[i].entry;
    const limit = i + 1 < byOffset.length ? byOffset[i + 1].entry.localOffset : reader.directory.dataEnd;
    byOffset[i].limit = limit;
    const end = cur.localOffset + 30 + cur.rawName.length + cur.compressedSize;
    if (end > limit) {
      overlaps++;
      const next = byOffset[i + 1]?.entry;
      problems.add(cur.name, 'OVERLAP', next ? `its data overlaps the entry ${next.name === cur.name ? 'of the same name' : JSON.stringify(next.name)} (entries sharing or crossing data)` : 'its data runs into the central directory');
    }
  }
  if (overlaps) structural = true;
  return { reader, files, structural };
}

/** The whole entry, bounded by its declared size (checked against the caps before), CRC-checked. */
async function readSmallEntry(reader: ZipReader, c: Checked, signal?: AbortSignal): Promise<Buffer> {
  const range = await reader.dataRange(c.entry, c.limit);
  const chunks: Buffer[] = [];
  let crc = 0;
  for await (const chunk of reader.data(c.entry, range, signal)) {
    crc = crc32(chunk, crc);
    chunks.push(chunk);
  }
  if (crc >>> 0 !== c.entry.crc32 >>> 0) throw new Error('CRC-32 does not match the zip directory (corrupted data)');
  return Buffer.concat(chunks);
}

/** Counts JSON values and nesting without building anything, so that parsing stays bounded. */
function jsonShapeProblem(text: string): { code: string; why: string } | undefined {
  let values = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      values++;
      if (++depth > VERIFY_LIMITS.maxManifestDepth) return { code: 'MANIFEST_INVALID', why: `nested deeper than ${VERIFY_LIMITS.maxManifestDepth} levels` };
    } else if (ch === 0x7d || ch === 0x5d) depth--;
    else if (ch === 0x2c && ++values > VERIFY_LIMITS.maxManifestValues) return { code: 'MANIFEST_TOO_LARGE', why: `more than ${VERIFY_LIMITS.maxManifestValues} values` };
  }
  return undefined;
}

interface ParsedManifest {
  manifest: unknown;
  entries: Map<string, ManifestEntry>;
  listed: number;
  /** every path listed, duplicates included, for verify's comparison */
  listedPaths: string[];
  collectors: CollectorLogEntry[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** manifest.json text → a checked manifest; every fault is a problem row, never an exception. */
function parseManifest(bytes: Buffer, problems: Problems): ParsedManifest | undefined {
  const text = bytes.toString('utf8');
  const shape = jsonShapeProblem(text);
  if (shape) {
    problems.add(MANIFEST_PATH, shape.code, `manifest ${shape.why}`);
    return undefined;
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    problems.add(MANIFEST_PATH, 'MANIFEST_INVALID', `not valid JSON: ${errorMessage(err)}`);
    return undefined;
  }
  const schema = isObject(m) ? m.schema : undefined;
  if (!isObject(m) || typeof schema !== 'string' || !schema.startsWith('clk-support/bundle-manifest/')) {
    problems.add(MANIFEST_PATH, 'NOT_A_MANIFEST', `${MANIFEST_PATH} is not a clk-support manifest (${isObject(m) ? `schema ${JSON.stringify(typeof schema === 'string' ? schema.slice(0, 80) : schema ?? null)}` : 'not a JSON object'})`);
    return undefined;
  }
  if (schema !== MANIFEST_SCHEMA) {
    problems.add(MANIFEST_PATH, 'MANIFEST_SCHEMA', `manifest schema ${schema.slice(0, 80)} is not supported by this version (expects ${MANIFEST_SCHEMA})`);
    return undefined;
  }
  if (!Array.isArray(m.entries)) {
    problems.add(MANIFEST_PATH, 'MANIFEST_INVALID', 'manifest has no entries list');
    return undefined;
  }
  if (m.entries.length > VERIFY_LIMITS.maxEntries) {
    problems.add(MANIFEST_PATH, 'MANIFEST_TOO_LARGE', `manifest lists ${m.entries.length} entries, more than the ${VERIFY_LIMITS.maxEntries} verify accepts`);
    return undefined;
  }
  const entries = new Map<string, ManifestEntry>();
  const listedPaths: string[] = [];
  m.entries.forEach((raw: unknown, i: number) => {
    const path = isObject(raw) ? str(raw.path) : undefined;
    const size = isObject(raw) ? num(raw.size) : undefined;
    const sha = isObject(raw) ? str(raw.sha256) : undefined;
    if (!isObject(raw) || !path || size === undefined || !Number.isSafeInteger(size) || size < 0 || !sha || !/^[0-9a-fA-F]{64}$/.test(sha)) {
      problems.add(path ?? `${MANIFEST_PATH} entries[${i}]`, 'MANIFEST_INVALID', 'manifest entry lacks a path, size or sha256 (or is not an object)');
      return;
    }
    const unsafe = unsafeName({ name: path });
    if (unsafe) {
      problems.add(path, 'UNSAFE_PATH', `the manifest lists an unsafe path: ${unsafe}`);
      return;
    }
    const redactions: Record<string, number> = {};
    if (isObject(raw.redactions)) for (const [k, v] of Object.entries(raw.redactions)) if (num(v) !== undefined) redactions[k] = v as number;
    listedPaths.push(path);
    if (!entries.has(path))
      entries.set(path, {
        path,
        size,
        sha256: sha.toLowerCase(),
        server: str(raw.server),
        collector: str(raw.collector) ?? '',
        sourcePath: str(raw.sourcePath),
        truncated: raw.truncated === true ? true : undefined,
        note: str(raw.note),
        redactions: Object.keys(redactions).length ? redactions : undefined,
      });
  });
  const collectors: CollectorLogEntry[] = [];
  if (Array.isArray(m.collectors)) {
    for (const c of m.collectors) {
      if (!isObject(c)) continue;
      collectors.push({
        server: str(c.server),
        collector: str(c.collector) ?? '?',
        status: (str(c.status) ?? '?') as CollectorLogEntry['status'],
        reason: str(c.reason),
        durationMs: num(c.durationMs) ?? 0,
        files: num(c.files) ?? 0,
        bytes: num(c.bytes) ?? 0,
      });
    }
  }
  return { manifest: m, entries, listed: m.entries.length, listedPaths, collectors };
}

function manifestEntry(s: Scan, problems: Problems): Checked | undefined {
  const c = s.files.find((f) => f.entry.name === MANIFEST_PATH && !isDirectory(f.entry));
  if (!c) {
    problems.add(MANIFEST_PATH, 'NO_MANIFEST', `no ${MANIFEST_PATH} in the zip`);
    return undefined;
  }
  return c.refused ? undefined : c; // a refused manifest (too large, encrypted, a link...) is already reported
}

function structureProblem(err: unknown, name: string, problems: Problems): boolean {
  if (err instanceof ZipStructureError) {
    problems.add(name, err.code, err.message);
    return true;
  }
  return false;
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (err as Error)?.name === 'AbortError';
}

export interface VerifyOptions {
  signal?: AbortSignal;
  /** The bytes that will be hashed (the declared sizes of the entries read), once the directory is checked. */
  onStart?: (totalBytes: number) => void;
  /** Bytes hashed so far, as they are read (for a progress bar with rate and ETA). */
  onBytes?: (n: number) => void;
}

export async function verifyBundle(path: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const { signal } = opts;
  const problems = new Problems();
  const s = await scan(path, problems, signal);
  const files = s?.files.filter((f) => !isDirectory(f.entry)) ?? [];
  const done = (manifest?: ParsedManifest): VerifyResult => ({
    ok: problems.count === 0,
    refused: problems.refused,
    problems: problems.list,
    problemsOmitted: problems.omitted,
    manifest: manifest?.manifest,
    entries: files.length,
    listed: manifest?.listed,
  });
  if (!s) return done();
  try {
    if (s.structural) return done();
    const mc = manifestEntry(s, problems);
    const seen = new Map<string, { size: number; sha256: string }>();
    let manifestBytes: Buffer | undefined;
    opts.onStart?.(files.reduce((sum, c) => sum + (c.refused ? 0 : c.entry.size), 0));
    for (const c of files) {
      signal?.throwIfAborted();
      if (c.refused) continue;
      const e = c.entry;
      const hash = createHash('sha256');
      let crc = 0;
      let size = 0;
      const keep: Buffer[] | undefined = c === mc ? [] : undefined;
      try {
        const range = await s.reader.dataRange(e, c.limit);
        for await (const chunk of s.reader.data(e, range, signal)) {
          hash.update(chunk);
          crc = crc32(chunk, crc);
          size += chunk.length;
          opts.onBytes?.(chunk.length);
          keep?.push(chunk);
        }
      } catch (err) {
        if (isAbort(err, signal)) throw signal?.reason ?? err;
        if (!structureProblem(err, e.name, problems)) problems.add(e.name, 'UNREADABLE', `unreadable: ${errorMessage(err)}`);
        continue;
      }
      if (crc >>> 0 !== e.crc32 >>> 0) problems.add(e.name, 'CRC_MISMATCH', 'CRC-32 does not match the zip directory (corrupted data)');
      else if (keep) manifestBytes = Buffer.concat(keep);
      seen.set(e.name, { size, sha256: hash.digest('hex') });
    }
    if (!manifestBytes) return done();
    const manifest = parseManifest(manifestBytes, problems);
    if (!manifest) return done();
    const inZip = new Set(files.map((f) => f.entry.name));
    const listed = new Set<string>();
    for (const p of manifest.listedPaths) {
      if (listed.has(p)) {
        problems.add(p, 'LISTED_TWICE', 'listed twice in the manifest');
        continue;
      }
      listed.add(p);
      const want = manifest.entries.get(p)!;
      const got = seen.get(p);
      if (!got) {
        if (!inZip.has(p)) problems.add(p, 'MISSING', 'listed in the manifest but missing from the zip');
        continue; // refused or unreadable: already reported
      }
      if (got.size !== want.size) problems.add(p, 'SIZE_MISMATCH', `size ${got.size} does not match the manifest (${want.size})`);
      if (got.sha256 !== want.sha256) problems.add(p, 'SHA256_MISMATCH', 'sha256 does not match the manifest');
    }
    for (const c of files) {
      const p = c.entry.name;
      if (p !== MANIFEST_PATH && !listed.has(p) && !c.refused) problems.add(p, 'UNLISTED', 'in the zip but not in the manifest');
    }
    return done(manifest);
  } finally {
    await s.reader.close();
  }
}

/** The manifest and the zip directory, without decompressing anything but the manifest. */
export async function inspectBundle(path: string, opts: { signal?: AbortSignal } = {}): Promise<InspectResult> {
  const { signal } = opts;
  const problems = new Problems();
  const s = await scan(path, problems, signal);
  const result = (manifest?: ParsedManifest): InspectResult => ({
    refused: problems.refused,
    problems: problems.list,
    problemsOmitted: problems.omitted,
    manifest: manifest?.manifest,
    entries: manifest?.entries ?? new Map(),
    collectors: manifest?.collectors ?? [],
    files: (s?.files ?? [])
      .filter((f) => !isDirectory(f.entry))
      .map(({ entry: e }) => ({
        path: e.name,
        size: e.size,
        compressedSize: e.compressedSize,
        method: e.method === 0 ? 'stored' : e.method === 8 ? 'deflated' : `method ${e.method}`,
      })),
  });
  if (!s) return result();
  try {
    if (s.structural) return result();
    const mc = manifestEntry(s, problems);
    if (!mc) return result();
    let bytes: Buffer;
    try {
      bytes = await readSmallEntry(s.reader, mc, signal);
    } catch (err) {
      if (isAbort(err, signal)) throw signal?.reason ?? err;
      if (!structureProblem(err, MANIFEST_PATH, problems)) problems.add(MANIFEST_PATH, 'MANIFEST_INVALID', `unreadable: ${errorMessage(err)}`);
      return result();
    }
    return result(parseManifest(bytes, problems));
  } finally {
    await s.reader.close();
  }
}
