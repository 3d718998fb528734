// The incident bundle: one zip streamed to a temp file, every entry hashed on the way in, a manifest
// and a collector log at the end, renamed into place only when complete. The zip itself is written by
// src/bundle/zip.ts (parallel deflate; archiver's single-threaded pipeline was slower than `zip -6`).
//
// CONTRACT NOTES between "bundle" (this file's owner) and "collect" — optional extensions beyond the
// agreed API (all optional, all backwards compatible):
// - BundleEntryMeta.redact: true → the writer runs the entry through a fresh line-aware redactor
//   (src/bundle/redact.ts) and, when BundleOptions.anonymizer is set, through the anonymizer; the
//   counts land in ManifestEntry.redactions. Use it for every text file; never for .evtx/.blg.
// - BundleEntryMeta.signal: aborting it (per-collector / per-server timeout) ends THIS entry where it
//   is: the entry stays in the zip marked truncated with a note, and addStream rejects with
//   EntrySourceError (err.entry is the recorded entry). The bundle stays valid.
// - A source stream that errors mid-way behaves the same (EntrySourceError, entry kept truncated).
// - BundleEntryMeta.expectedSize: when known, a file that would not fit under maxBytes is refused
//   before anything is written (BundleFullError, err.entry undefined). Without it the entry is cut at
//   the cap (truncated, note 'bundle cap reached') and addStream rejects with BundleFullError
//   (err.entry set): stop adding, then finalize.
// - BundleEntryMeta.mtime: the entry's date in the zip (default: now).
// - BundleOptions.anonymizer: used by `redact` entries; finalize() writes its mapping BESIDE the
//   bundle as `<name without .zip>.anon-map.json` (0600) and returns it as mappingPath.
// - BundleOptions.level: deflate level (default 6).
// - DiskSpaceError (free space below minFreeBytes, or ENOSPC) and InterruptedError (signal) are
//   fatal: every later call rejects with the same error; call abort().
// - Extra getters: bytesIn (input bytes, what the cap counts), collectors (the log so far).
// - redact.ts: createRedactor({ anonymizer }) and redactor.chunker() (sync write/end, no stream).
// - addStream/addBuffer calls are serialized internally (the zip is one sequential stream), so
//   collectors may call them concurrently; keep few source streams open at once.
import { createHash, randomBytes } from 'node:crypto';
import { untilAborted } from '../abort.js';
import fs, { constants as fsConstants, createWriteStream } from 'node:fs';
import { promisify } from 'node:util';
import * as fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, extname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { ZipWriter } from './zip.js';
import { FailedError, InterruptedError, errorMessage } from '../errors.js';
import { createRedactor } from './redact.js';
import type { Anonymizer } from './anonymize.js';

const require = createRequire(import.meta.url);
const TOOL_VERSION: string = (require('../../package.json') as { version: string }).version;

export const MANIFEST_SCHEMA = 'clk-support/bundle-manifest/v1';
export const MANIFEST_PATH = 'manifest.json';
export const COLLECTOR_LOG_PATH = 'collector.log';
export const REDACTION_REPORT_PATH = 'redaction-report.json';
const RESERVED = new Set([MANIFEST_PATH, COLLECTOR_LOG_PATH, REDACTION_REPORT_PATH]);

export interface BundleEntryMeta {
  server?: string;
  sourcePath?: string;
  collector: string;
  truncated?: boolean;
  /** already compressed (.zip, .gz, .7z, images...) → stored, not deflated again; detected by extension and magic when absent */
  store?: boolean;
  redactions?: Record<string, number>;
  note?: string;
  /** run the text through the redactor (and the anonymizer when configured) on the way in */
  redact?: boolean;
  /** ends this entry early (timeout): the entry is kept truncated, addStream rejects with EntrySourceError */
  signal?: AbortSignal;
  /** refuse before writing when this would exceed the bundle cap */
  expectedSize?: number;
  mtime?: Date;
}

export interface ManifestEntry extends Omit<BundleEntryMeta, 'redact' | 'signal' | 'expectedSize' | 'mtime'> {
  path: string;
  size: number;
  sha256: string;
}

export interface CollectorLogEntry {
  server?: string;
  collector: string;
  status: 'ok' | 'failed' | 'skipped' | 'timed-out' | 'partial';
  reason?: string;
  durationMs: number;
  files: number;
  bytes: number;
}

export interface BundleOptions {
  outDir: string;
  name: string;
  /** bundle cap in bytes of input */
  maxBytes?: number;
  /** keep at least this free on the output volume (default 64 MiB) */
  minFreeBytes?: number;
  signal?: AbortSignal;
  onBytes?: (server: string | undefined, n: number) => void;
  anonymizer?: Anonymizer;
  /** deflate level 0-9 (default 6) */
  level?: number;
}

export interface BundleFarmInfo {
  name: string;
  systemId?: string;
  environment?: string;
  file?: string;
  [key: string]: unknown;
}

export interface FinalizeInfo {
  farm: BundleFarmInfo;
  window: { from: string; to: string };
  extra?: Record<string, unknown>;
}

export interface FinalizeResult {
  path: string;
  size: number;
  entries: number;
  /** the anonymization mapping written beside the bundle (never inside it) */
  mappingPath?: string;
}

export interface BundleManifest {
  schema: typeof MANIFEST_SCHEMA;
  tool: { name: 'clk-support'; version: string };
  createdAt: string;
  farm: BundleFarmInfo;
  window: { from: string; to: string };
  entries: ManifestEntry[];
  collectors: CollectorLogEntry[];
  redaction: { totals: Record<string, number>; files: number };
  anonymized: boolean;
  [key: string]: unknown;
}

/** The bundle cap is reached. `entry` is the entry that was cut at the cap, if any. */
export class BundleFullError extends FailedError {
  constructor(
    message: string,
    readonly entry?: ManifestEntry,
  ) {
    super(message, { code: 'BUNDLE_FULL', hint: 'narrow the window (--from/--to, --span) or raise the bundle cap' });
  }
}

/** Not enough free space on the output volume. Fatal for the bundle. */
export class DiskSpaceError extends FailedError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'DISK_SPACE', hint: 'free space on the output volume or write the bundle elsewhere (--out DIR)', cause });
  }
}

/** The source of one entry failed or timed out; the entry is kept, truncated, and the bundle is still valid. */
export class EntrySourceError extends FailedError {
  constructor(
    message: string,
    readonly entry: ManifestEntry,
    cause?: unknown,
  ) {
    super(message, { code: 'ENTRY_SOURCE', cause });
  }
}

/** `<SID>_<YYYYMMDD-HHMMSS>_<short id>.zip`, UTC, with anything unsafe in a file name replaced. */
export function bundleName(systemId: string, date: Date, shortId: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'X';
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
  return `${safe(systemId)}_${stamp}_${safe(shortId)}.zip`;
}

/** A random short id for bundle names (6 lowercase hex digits... 8 to be safe from collisions). */
export function shortBundleId(): string {
  return randomBytes(4).toString('hex');
}

const COMPRESSED_EXTENSIONS = new Set([
  '.zip', '.gz', '.tgz', '.bz2', '.xz', '.zst', '.7z', '.rar', '.cab', '.lz4', '.lzma',
  '.png', '.jpg', '.jpeg', '.gif', '.webp', '.mp4', '.mkv', '.mp3',
  '.docx', '.xlsx', '.pptx', '.jar', '.nupkg', '.msi', '.pdf', '.dmp.gz',
]);

/** Already compressed content, by extension or by its first bytes. */
export function isAlreadyCompressed(path: string, head?: Buffer): boolean {
  if (COMPRESSED_EXTENSIONS.has(extname(path).toLowerCase())) return true;
  if (!head || head.length < 4) return false;
  const b = head;
  if (b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5 || b[2] === 7)) return true; // zip family
  if (b[0] === 0x1f && b[1] === 0x8b) return true; // gzip
  if (b[0] === 0x37 && b[1] === 0x7a && b[2] === 0xbc && b[3] === 0xaf) return true; // 7z
  if (b[0] === 0x4d && b[1] === 0x53 && b[2] === 0x43 && b[3] === 0x46) return true; // cab "MSCF"
  if (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58) return true; // xz
  if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return true; // zstd
  if (b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) return true; // bzip2
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return true; // png
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return true; // jpeg
  if (b[0] === 0x52 && b[1] === 0x61 && b[2] === 0x72 && b[3] === 0x21) return true; // rar
  return false;
}

function checkBundlePath(p: string): void {
  if (!p || p.startsWith('/') || p.includes('\\') || p.split('/').some((s) => s === '' || s === '.' || s === '..') || /[\x00-\x1f]/.test(p))
    throw new Error(`invalid bundle path ${JSON.stringify(p)}: use forward slashes, relative, no '.' or '..' segments`);
}

async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await fsp.statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined; // statfs not supported on this volume: rely on ENOSPC
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`bundle source yielded ${typeof chunk}, expected bytes`);
}

const FREE_SPACE_CHECK_EVERY = 8 * 1024 * 1024;
const READ_AHEAD_BYTES = 4 * 1024 * 1024;
const DEFAULT_MIN_FREE = 64 * 1024 * 1024;

type State = 'open' | 'finalizing' | 'done' | 'failed' | 'aborted';

export class BundleWriter {
  private state: State = 'open';
  private failure: Error | undefined;
  private readonly zip: ZipWriter;
  private readonly out: fs.WriteStream;
  private sinceSpaceCheck = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly manifestEntries: ManifestEntry[] = [];
  private readonly collectorLog: CollectorLogEntry[] = [];
  private readonly paths = new Set<string>();
  private inputBytes = 0;
  private outputBytes = 0;
  private pendingEntry: { reject: (e: Error) => void } | undefined;
  private readonly onAbortSignal = () => void this.fail(this.abortReason());

  private constructor(
    private readonly opts: BundleOptions,
    readonly tempPath: string,
    private readonly fd: number,
  ) {
    // A raw fd (not a FileHandle, whose close() waits for its streams) so that we can fsync after the stream ends.
    this.out = createWriteStream('', { fd, autoClose: false, highWaterMark: 1024 * 1024 });
    this.out.on('error', (err: Error) => {
      void this.fail(isNoSpace(err) ? new DiskSpaceError(`no space left on ${opts.outDir} while writing the bundle`, err) : err);
    });
    this.zip = new ZipWriter((chunk) => this.sink(chunk), { level: opts.level ?? 6, parallel: Math.min(4, Math.max(2, availableParallelism())) });
    opts.signal?.addEventListener('abort', this.onAbortSignal, { once: true });
  }

  /** Everything the zip writes goes through here: byte count, free-space floor, backpressure, failure. */
  private async sink(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.outputBytes += chunk.length;
    this.sinceSpaceCheck += chunk.length;
    const minFree = this.opts.minFreeBytes ?? DEFAULT_MIN_FREE;
    if (minFree > 0 && this.sinceSpaceCheck >= FREE_SPACE_CHECK_EVERY) {
      this.sinceSpaceCheck = 0;
      const free = await freeBytes(this.opts.outDir);
      if (free !== undefined && free < minFree) {
        const err = new DiskSpaceError(`only ${formatMiB(free)} left on ${this.opts.outDir} (keeping ${formatMiB(minFree)} free): bundle stopped`);
        await this.fail(err);
        throw err;
      }
    }
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.out.off('drain', done);
          this.out.off('close', done);
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
      });
    }
    if (this.failure) throw this.failure;
  }

  /** Opens `<outDir>/.<name>.partial` (0600, never an existing file) after checking free space. */
  static async create(opts: BundleOptions): Promise<BundleWriter> {
    if (opts.signal?.aborted) throw toInterrupted(opts.signal.reason);
    await fsp.mkdir(opts.outDir, { recursive: true }).catch((err: unknown) => {
      throw outputError(opts.outDir, err);
    });
    const minFree = opts.minFreeBytes ?? DEFAULT_MIN_FREE;
    const free = await freeBytes(opts.outDir);
    if (free !== undefined && minFree > 0 && free < minFree)
      throw new DiskSpaceError(`only ${formatMiB(free)} free on ${opts.outDir}; the bundle needs at least ${formatMiB(minFree)} kept free`);
    const tempPath = join(opts.outDir, `.${opts.name}.partial`);
    let fd: number;
    try {
      fd = await promisify(fs.open)(tempPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new FailedError(`${tempPath} exists: another collection is writing this bundle`, { hint: 'wait for it, or remove the stale file if no collection is running' });
      throw outputError(opts.outDir, err);
    }
    await promisify(fs.fchmod)(fd, 0o600); // whatever the umask
    return new BundleWriter(opts, tempPath, fd);
  }

  get bytesWritten(): number {
    return this.outputBytes;
  }

  /** Input bytes accepted so far (what the bundle cap counts). */
  get bytesIn(): number {
    return this.inputBytes;
  }

  get entries(): readonly ManifestEntry[] {
    return this.manifestEntries;
  }

  get collectors(): readonly CollectorLogEntry[] {
    return this.collectorLog;
  }

  addStream(bundlePath: string, source: NodeJS.ReadableStream | AsyncIterable<Buffer | Uint8Array | string>, meta: BundleEntryMeta): Promise<ManifestEntry> {
    return this.serialize(() => this.writeEntry(bundlePath, source as AsyncIterable<unknown>, meta));
  }

  addBuffer(bundlePath: string, data: Buffer | string, meta: BundleEntryMeta): Promise<ManifestEntry> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return this.addStream(bundlePath, single(buf), { ...meta, expectedSize: meta.expectedSize ?? buf.length });
  }

  log(entry: CollectorLogEntry): void {
    this.collectorLog.push({ ...entry });
  }

  async finalize(info: FinalizeInfo): Promise<FinalizeResult> {
    this.assertOpen();
    this.state = 'finalizing';
    await this.chain;
    this.assertUsable();
    const totals: Record<string, number> = {};
    const report: { file: string; server?: string; rule: string; count: number }[] = [];
    for (const e of this.manifestEntries) {
      for (const [rule, count] of Object.entries(e.redactions ?? {})) {
        if (!count) continue;
        totals[rule] = (totals[rule] ?? 0) + count;
        report.push({ file: e.path, server: e.server, rule, count });
      }
    }
    const internal = (path: string, text: string) => this.writeEntry(path, single(Buffer.from(text, 'utf8')), { collector: 'bundle' }, true);
    await internal(REDACTION_REPORT_PATH, `${JSON.stringify({ schema: 'clk-support/redaction-report/v1', note: 'counts per rule and file; values are never recorded', totals, findings: report }, null, 2)}\n`);
    await internal(COLLECTOR_LOG_PATH, renderCollectorLog(this.collectorLog));
    const manifest: BundleManifest = {
      schema: MANIFEST_SCHEMA,
      tool: { name: 'clk-support', version: TOOL_VERSION },
      createdAt: new Date().toISOString(),
      farm: info.farm,
      window: info.window,
      ...(info.extra ?? {}),
      entries: this.manifestEntries.slice(),
      collectors: this.collectorLog.slice(),
      redaction: { totals, files: new Set(report.map((r) => r.file)).size },
      anonymized: Boolean(this.opts.anonymizer),
    };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    this.assertUsable();
    await this.zip.addEntry({ name: MANIFEST_PATH, store: false, date: new Date() }, single(Buffer.from(manifestText, 'utf8')));
    await this.zip.finish();
    await new Promise<void>((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    }).catch((err: unknown) => {
      throw this.failure ?? err; // ENOSPC on the last bytes is a DiskSpaceError like any other
    });
    this.assertUsable();
    await promisify(fs.fsync)(this.fd);
    await this.closeFd();
    const finalPath = await publishWithoutOverwrite(this.tempPath, this.opts.outDir, this.opts.name);
    await fsp.chmod(finalPath, 0o600);
    await syncDir(this.opts.outDir);
    let mappingPath: string | undefined;
    if (this.opts.anonymizer) {
      mappingPath = finalPath.replace(/\.zip$/i, '') + '.anon-map.json';
      const text = `${JSON.stringify({ schema: 'clk-support/anon-map/v1', bundle: basename(finalPath), note: 'PRIVATE: maps anonymized tokens back to real names; do not send', mapping: this.opts.anonymizer.mapping() }, null, 2)}\n`;
      await fsp.writeFile(mappingPath, text, { mode: 0o600, flag: 'w' });
      await fsp.chmod(mappingPath, 0o600);
    }
    this.state = 'done';
    this.opts.signal?.removeEventListener('abort', this.onAbortSignal);
    const st = await fsp.stat(finalPath);
    return { path: finalPath, size: st.size, entries: this.manifestEntries.length, mappingPath };
  }

  /** Stops and deletes the temp file (Ctrl-C, fatal error). Idempotent. */
  async abort(): Promise<void> {
    if (this.state === 'done') return;
    await this.fail(new InterruptedError('bundle aborted'), 'aborted');
  }

  // ---- internals ----

  private serialize<T>(run: () => Promise<T>): Promise<T> {
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  private fdClosed = false;
  private async closeFd(): Promise<void> {
    if (this.fdClosed) return;
    this.fdClosed = true;
    await promisify(fs.close)(this.fd);
  }

  private abortReason(): Error {
    return toInterrupted(this.opts.signal?.reason);
  }

  private assertOpen(): void {
    this.assertUsable();
    if (this.state !== 'open') throw new Error(`bundle is ${this.state}: no more entries`);
  }

  private assertUsable(): void {
    if (this.failure) throw this.failure;
    if (this.state === 'aborted') throw new InterruptedError('bundle aborted');
  }

  /** The bundle cannot complete: stop everything and remove the temp file. */
  private cleanup: Promise<void> | undefined;
  private fail(err: Error, state: State = 'failed'): Promise<void> {
    if (this.state === 'done') return Promise.resolve();
    // Every caller (stream error, signal, abort()) waits for the same cleanup to finish.
    this.cleanup ??= this.cleanUp(err, state);
    return this.cleanup;
  }

  private async cleanUp(err: Error, state: State): Promise<void> {
    this.state = state;
    this.failure ??= err;
    this.opts.signal?.removeEventListener('abort', this.onAbortSignal);
    this.pendingEntry?.reject(err);
    // Let an in-flight write finish before closing the fd, so it can never land in a reused descriptor.
    if (!this.out.closed) {
      const closed = new Promise<void>((resolve) => this.out.once('close', () => resolve()));
      this.out.destroy();
      await closed;
    }
    await this.closeFd().catch(() => {});
    await fsp.rm(this.tempPath, { force: true }).catch(() => {});
  }

  private async writeEntry(bundlePath: string, source: AsyncIterable<unknown>, meta: BundleEntryMeta, internal = false): Promise<ManifestEntry> {
    if (internal) this.assertUsable();
    else this.assertOpen();
    if (this.opts.signal?.aborted) {
      await this.fail(this.abortReason());
      throw this.failure!;
    }
    checkBundlePath(bundlePath);
    if (!internal && RESERVED.has(bundlePath)) throw new Error(`${bundlePath} is reserved for the bundle itself`);
    if (this.paths.has(bundlePath)) throw new Error(`${bundlePath} is already in the bundle`);
    const cap = internal ? Infinity : (this.opts.maxBytes ?? Infinity);
    if (this.inputBytes >= cap) throw new BundleFullError(`bundle cap of ${formatMiB(cap)} reached: ${bundlePath} not added`);
    if (meta.expectedSize !== undefined && this.inputBytes + meta.expectedSize > cap && !meta.redact)
      throw new BundleFullError(`${bundlePath} (${formatMiB(meta.expectedSize)}) does not fit under the bundle cap of ${formatMiB(cap)} (${formatMiB(this.inputBytes)} used)`);
    this.paths.add(bundlePath);

    const { redact, signal: entrySignal, expectedSize: _expected, mtime, ...recorded } = meta;
    const hash = createHash('sha256');
    let size = 0;
    let truncated = Boolean(meta.truncated);
    let capHit = false;
    let sourceError: unknown;
    const notes: string[] = meta.note ? [meta.note] : [];

    // Source errors and per-entry timeouts end the entry cleanly rather than breaking the zip.
    const guarded = guardSource(source, entrySignal, (err) => {
      sourceError = err;
    });
    let redactor: ReturnType<typeof createRedactor> | undefined;
    let staged: AsyncIterable<unknown> = guarded;
    if (redact) {
      redactor = createRedactor({ anonymizer: this.opts.anonymizer });
      staged = redactChunks(guarded, redactor.chunker()); // no stream machinery: it cost latency per chunk
    }
    const it = (staged as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    // Settles as soon as the bundle fails or is aborted, so that a source that never answers
    // (not even its first chunk) cannot hold the caller.
    const failed = new Promise<never>((_, reject) => {
      this.pendingEntry = { reject };
    });
    failed.catch(() => {});
    let first: IteratorResult<unknown>;
    try {
      first = await Promise.race([it.next(), failed]);
    } catch (err) {
      this.pendingEntry = undefined;
      throw err;
    }
    const head = first.done ? undefined : toBuffer(first.value);
    const store = meta.store ?? isAlreadyCompressed(bundlePath, head);
    const server = meta.server;
    const onBytes = this.opts.onBytes;
    const self = this;
    async function* hashed(): AsyncGenerator<Buffer> {
      let next = first;
      while (!next.done) {
        let buf = toBuffer(next.value);
        if (self.inputBytes + buf.length > cap) {
          buf = buf.subarray(0, Math.max(0, cap - self.inputBytes));
          capHit = true;
        }
        if (buf.length) {
          hash.update(buf);
          size += buf.length;
          self.inputBytes += buf.length;
          onBytes?.(server, buf.length);
          yield buf;
        }
        if (capHit) {
          truncated = true;
          void it.return?.(undefined)?.catch?.(() => {});
          (source as { destroy?: () => void }).destroy?.();
          return;
        }
        next = await it.next();
      }
    }

    // The entry ends when its data is written, or at once when the bundle fails (a source may hang).
    const written = this.zip.addEntry({ name: bundlePath, store, date: mtime ?? new Date() }, readAhead(hashed(), READ_AHEAD_BYTES)).catch(async (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      // A broken zip stream cannot take more entries: the bundle fails as a whole.
      await this.fail(this.failure ?? e);
      throw this.failure ?? e;
    });
    written.catch(() => {});
    try {
      await Promise.race([written, failed]);
    } finally {
      this.pendingEntry = undefined;
    }
    this.assertUsable();

    if (sourceError !== undefined) {
      truncated = true;
      notes.push(`source stopped: ${errorMessage(sourceError)}`);
    }
    if (capHit) notes.push('bundle cap reached');
    const redactions = redactor ? nonZero(redactor.counts()) : meta.redactions;
    const entry: ManifestEntry = {
      ...recorded,
      path: bundlePath,
      size,
      sha256: hash.digest('hex'),
      ...(truncated ? { truncated: true } : { truncated: undefined }),
      ...(store ? { store: true } : { store: undefined }),
      ...(redactions && Object.keys(redactions).length ? { redactions } : { redactions: undefined }),
      ...(notes.length ? { note: notes.join('; ') } : { note: undefined }),
    };
    for (const k of Object.keys(entry) as (keyof ManifestEntry)[]) if (entry[k] === undefined) delete entry[k];
    this.manifestEntries.push(entry);
    if (sourceError !== undefined) throw new EntrySourceError(`${bundlePath}: ${errorMessage(sourceError)} (kept ${size} bytes, marked truncated)`, entry, sourceError);
    if (capHit) throw new BundleFullError(`bundle cap of ${formatMiB(cap)} reached while adding ${bundlePath} (cut, marked truncated)`, entry);
    return entry;
  }
}

/** Yields the source's chunks; a source error or the entry signal ends the iteration (reported through onStop). */
async function* guardSource(source: AsyncIterable<unknown>, signal: AbortSignal | undefined, onStop: (err: unknown) => void): AsyncGenerator<Buffer> {
  let it: AsyncIterator<unknown>;
  try {
    it = source[Symbol.asyncIterator]();
  } catch (err) {
    onStop(err);
    return;
  }
  try {
    for (;;) {
      const next = signal ? await untilAborted(it.next(), signal) : await it.next();
      if (next.done) return;
      yield toBuffer(next.value);
    }
  } catch (err) {
    onStop(err);
    // Do not wait for a source that stopped answering; just ask it to close.
    void Promise.resolve(it.return?.(undefined)).catch(() => {});
    const destroy = (source as { destroy?: (e?: Error) => void }).destroy;
    if (typeof destroy === 'function') destroy.call(source);
  }
}

/**
 * Pulls the source up to `limit` bytes ahead of the consumer, so that reading, redaction and
 * hashing (main thread) overlap with deflate (thread pool) instead of waiting for it.
 */
async function* readAhead(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const queue: Buffer[] = [];
  let queued = 0;
  let done = false;
  let stopped = false;
  let error: unknown;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const wake = (which: 'consumer' | 'producer') => {
    const f = which === 'consumer' ? wakeConsumer : wakeProducer;
    if (which === 'consumer') wakeConsumer = undefined;
    else wakeProducer = undefined;
    f?.();
  };
  void (async () => {
    try {
      while (!stopped) {
        if (queued >= limit) {
          await new Promise<void>((r) => (wakeProducer = r));
          continue;
        }
        const next = await it.next();
        if (next.done) break;
        queue.push(next.value);
        queued += next.value.length;
        wake('consumer');
      }
    } catch (err) {
      error = err;
    } finally {
      done = true;
      wake('consumer');
    }
  })();
  try {
    for (;;) {
      if (queue.length) {
        const b = queue.shift()!;
        queued -= b.length;
        wake('producer');
        yield b;
        continue;
      }
      if (done) {
        if (error !== undefined) throw error;
        return;
      }
      await new Promise<void>((r) => (wakeConsumer = r));
    }
  } finally {
    stopped = true;
    wake('producer');
    if (!done) void Promise.resolve(it.return?.(undefined)).catch(() => {});
  }
}

async function* redactChunks(source: AsyncIterable<Buffer>, chunker: ReturnType<ReturnType<typeof createRedactor>['chunker']>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const out = chunker.write(chunk);
    if (out?.length) yield out;
  }
  const last = chunker.end();
  if (last?.length) yield last;
}

async function* single(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

/** The output folder cannot be used: say so in terms the user can act on. */
function outputError(dir: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (isNoSpace(err)) return new DiskSpaceError(`no space left on ${dir}`, err);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EEXIST')
    return new FailedError(`cannot write the bundle in ${dir}: ${errorMessage(err)}`, { code: 'OUTPUT_NOT_WRITABLE', hint: 'choose a folder you can write to (--out DIR)', cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

function toInterrupted(reason: unknown): Error {
  if (reason instanceof InterruptedError) return reason;
  return new InterruptedError(reason instanceof Error ? reason.message : 'Interrupted');
}

function formatMiB(n: number): string {
  if (!Number.isFinite(n)) return 'unlimited';
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Publish the finished temp file under its final name without ever replacing an existing file:
 * fs.link fails atomically with EEXIST, then the temp name is unlinked. Volumes without hard links
 * (FAT, some SMB shares) fall back to "check then rename", which has a tiny race we accept there.
 * An existing name gets a numeric suffix (-2, -3, ...).
 */
async function publishWithoutOverwrite(tempPath: string, dir: string, name: string): Promise<string> {
  const base = name.replace(/\.zip$/i, '');
  for (let i = 1; i <= 100; i++) {
    const candidate = join(dir, i === 1 ? name : `${base}-${i}.zip`);
    try {
      await fsp.link(tempPath, candidate);
      await fsp.unlink(tempPath);
      return candidate;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV') throw err;
      try {
        await fsp.access(candidate);
        continue; // exists
      } catch {
        await fsp.rename(tempPath, candidate);
        return candidate;
      }
    }
  }
  throw new FailedError(`could not find a free name for ${name} in ${dir}`);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    /* not supported (Windows): the file itself is synced */
  }
}

/** collector.log: one line per collector run, aligned, human-readable. */
export function renderCollectorLog(entries: readonly CollectorLogEntry[]): string {
  const lines = ['# clk-support collector log: server, collector, status, duration, files, bytes, reason'];
  for (const e of entries) {
    lines.push(
      [e.server ?? '-', e.collector, e.status, `${e.durationMs}ms`, `${e.files} files`, `${e.bytes} bytes`, e.reason ?? '']
        .join('\t')
        .trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}
