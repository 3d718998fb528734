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
import { createHash } from 'node:crypto';
import fs, { constants as fsConstants, createWriteStream } from 'node:fs';
import { promisify } from 'node:util';
import * as fsp from 'node:fs/promises';
import { basename, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { ZipWriter } from './zip.js';
import { FailedError, InterruptedError, errorMessage } from '../errors.js';
import { createRedactor } from './redact.js';
import { encodeFromUtf8 } from '../logs/encoding.js';
import type { Anonymizer } from './anonymize.js';
import { COLLECTOR_LOG_PATH, MANIFEST_PATH, MANIFEST_SCHEMA, REDACTION_REPORT_PATH, RESERVED_PATHS, TOOL_VERSION, renderCollectorLog, type BundleEntryMeta, type BundleManifest, type CollectorLogEntry, type FinalizeInfo, type FinalizeResult, type ManifestEntry } from './manifest.js';
import { BundleFullError, DiskSpaceError, EntrySourceError } from './errors.js';
import { checkBundlePath } from './naming.js';
import { isAlreadyCompressed } from './compressed.js';
import { formatMiB, freeBytes, isNoSpace, outputError, publishWithoutOverwrite, syncDir } from './output-file.js';
import { guardSource, readAhead, redactChunks, single, toBuffer } from './entry-streams.js';
import { restrictToOwner } from '../owner-only.js';
import { writeAnonMap } from './outgoing.js';

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
  /** applied to every redacted line after the rules (the collecting machine's paths → relative or <local>) */
  scrub?: ((s: string) => string) & { pattern?: RegExp };
  /** applied to what the writer itself says about an entry (notes: error messages may name local paths) */
  filterText?: (s: string) => string;
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
    const accessWarning = await restrictToOwner(finalPath); // 0600, or an owner-only ACL on Windows
    await syncDir(this.opts.outDir);
    const warnings = accessWarning ? [accessWarning] : [];
    let mappingPath: string | undefined;
    if (this.opts.anonymizer) {
      mappingPath = finalPath.replace(/\.zip$/i, '') + '.anon-map.json';
      const mappingWarning = await writeAnonMap(mappingPath, this.opts.anonymizer, { bundle: basename(finalPath) });
      if (mappingWarning) warnings.push(mappingWarning);
    }
    this.state = 'done';
    this.opts.signal?.removeEventListener('abort', this.onAbortSignal);
    const st = await fsp.stat(finalPath);
    return { path: finalPath, size: st.size, entries: this.manifestEntries.length, mappingPath, warnings };
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
    if (!internal && RESERVED_PATHS.has(bundlePath)) throw new Error(`${bundlePath} is reserved for the bundle itself`);
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
      redactor = createRedactor({ anonymizer: this.opts.anonymizer, scrub: this.opts.scrub });
      staged = redactChunks(guarded, redactor.chunker()); // no stream machinery: it cost latency per chunk
    }
    // Redacted as UTF-8, stored in the encoding the file had on the server.
    if (meta.encoding) staged = encodeFromUtf8(staged as AsyncIterable<Buffer>, meta.encoding);
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
      ...(notes.length ? { note: this.opts.filterText ? this.opts.filterText(notes.join('; ')) : notes.join('; ') } : { note: undefined }),
    };
    for (const k of Object.keys(entry) as (keyof ManifestEntry)[]) if (entry[k] === undefined) delete entry[k];
    this.manifestEntries.push(entry);
    if (sourceError !== undefined) throw new EntrySourceError(`${bundlePath}: ${errorMessage(sourceError)} (kept ${size} bytes, marked truncated)`, entry, sourceError);
    if (capHit) throw new BundleFullError(`bundle cap of ${formatMiB(cap)} reached while adding ${bundlePath} (cut, marked truncated)`, entry);
    return entry;
  }
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

function toInterrupted(reason: unknown): Error {
  if (reason instanceof InterruptedError) return reason;
  return new InterruptedError(reason instanceof Error ? reason.message : 'Interrupted');
}
