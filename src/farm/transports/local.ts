// Files on this machine (local) or under a share root (share): both are plain filesystem calls,
// they differ only in how a server path becomes a path here.
import { constants as fsConstants, realpathSync, statSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join, dirname, basename, isAbsolute, resolve as resolvePath } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { joinServerPath, splitServerPath, PathEscapeError } from '../paths.js';
import { FolderCache, resolveInside, targetParser, type NodeKind, type RootedFs } from './contain.js';
import {
  TransportError,
  existsByStat,
  toTransportError,
  withTimeout,
  type ClockSample,
  type ExecResult,
  type Platform,
  type ReadStreamOptions,
  type RemoteEntry,
  type ResolvedPath,
  type Transport,
  type TransportKind,
  type TransportTimeouts,
} from './transport.js';

const RENAME_RETRIES = 8;

/** Where a server path lies on this machine: the root folder that holds it and the segments below. */
export interface Located {
  /** This machine's folder standing for the server root (share root, drive root, or the confinement folder). */
  rootHost: string;
  /** The root as a server path (C:\, /, or the confinement folder). */
  rootServer: string;
  below: string[];
}

// Opening with O_NONBLOCK: a FIFO swapped in after the check opens without waiting for a writer;
// O_NOFOLLOW: a final component swapped for a link after the check is refused.
const READ_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOFOLLOW ?? 0);

abstract class FileSystemTransport implements Transport {
  abstract readonly kind: TransportKind;
  private readonly realRoots = new Map<string, string[]>();
  private readonly folders = new FolderCache();
  constructor(
    readonly server: string,
    readonly platform: Platform,
    protected readonly timeouts: TransportTimeouts,
  ) {}

  /** Which root a server path is under (throws PathEscapeError / TransportError outside any). */
  protected abstract locate(serverPath: string): Located;

  /** Where a server path is on this machine, for direct reads: only a regular file reached inside its root. */
  hostPathOf(serverPath: string): string | undefined {
    try {
      const { rootHost, below } = this.locate(serverPath);
      const real = realpathSync(below.length ? join(rootHost, ...below) : rootHost);
      const inside = this.rootSegmentsSync(rootHost).some((root) => startsWithSegments(splitHost(real), root));
      return inside && statSync(real).isFile() ? real : undefined;
    } catch {
      return undefined;
    }
  }

  private rootSegmentsSync(rootHost: string): string[][] {
    const own = splitHost(resolvePath(rootHost));
    let real = this.realRoots.get(rootHost);
    if (!real) {
      try {
        real = splitHost(realpathSync(rootHost));
      } catch {
        real = own;
      }
      this.realRoots.set(rootHost, real);
    }
    return [own, real];
  }

  private rooted(rootHost: string): RootedFs {
    const at = (segs: readonly string[]) => (segs.length ? join(rootHost, ...segs) : rootHost);
    return {
      lstat: this.folders.wrap(at, async (segs) => {
        try {
          return kindOf(await lstat(at(segs)));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
          throw err;
        }
      }),
      readlink: (segs) => readlink(at(segs)),
      // Windows reports junction and link targets in the \\?\ long form: the same place.
      parseTarget: targetParser((t) => isAbsolute(t), (t) => splitHost(t.replace(/^\\\\\?\\/, '')), this.rootSegmentsSync(rootHost), process.platform === 'win32'),
    };
  }

  /** A server path resolved inside its root: the real location on this machine and what is there. */
  protected async contained(serverPath: string, followLast = true): Promise<{ host: string; server: string; kind: NodeKind }> {
    const { rootHost, rootServer, below } = this.locate(serverPath);
    const r = await resolveInside(this.rooted(rootHost), below, { followLast });
    return {
      host: r.segments.length ? join(rootHost, ...r.segments) : rootHost,
      server: r.segments.length ? joinServerPath(this.platform, rootServer, ...r.segments) : rootServer,
      kind: r.kind,
    };
  }

  /** A regular file inside the root, opened for reading without following a link or waiting on a FIFO. */
  private async openFile(p: string): Promise<FileHandle> {
    const r = await this.contained(p);
    if (r.kind === 'missing') throw Object.assign(new Error(`no such file: ${p}`), { code: 'ENOENT' });
    if (r.kind !== 'file') throw new TransportError(this.server, 'not-a-file', `${p} is not a regular file (${r.kind})`);
    const fh = await open(r.host, READ_FLAGS);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new TransportError(this.server, 'not-a-file', `${p} is not a regular file`);
      return fh;
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  protected guard<T>(what: string, p: string, work: () => Promise<T>): Promise<T> {
    try {
      this.locate(p); // validates the path before any I/O
    } catch (err) {
      if (err instanceof PathEscapeError) return Promise.reject(new TransportError(this.server, 'permission', err.message));
      return Promise.reject(err);
    }
    return withTimeout(
      work().catch((err) => {
        throw toTransportError(this.server, err, `${what} ${p}`);
      }),
      this.timeouts.timeoutMs,
      this.server,
      `${what} ${p}`,
    );
  }

  async connect(): Promise<void> {
    // A share that is down fails here, not in the middle of a collection.
    const root = this.connectRoot();
    await withTimeout(
      stat(root).then(
        () => undefined,
        (err) => {
          // A missing share root means the server (or its share) is not there, not a missing file.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT')
            throw new TransportError(this.server, 'unreachable', `share root ${root} does not exist (server offline or share not mounted)`);
          throw toTransportError(this.server, err, `cannot reach ${root}`);
        },
      ),
      this.timeouts.connectTimeoutMs,
      this.server,
      `connect to ${root}`,
    );
  }

  /** The folder whose presence says the server (or its share) is there. */
  protected connectRoot(): string {
    return this.locate(this.platform === 'windows' ? 'C:\\' : '/').rootHost;
  }

  resolve(p: string): Promise<ResolvedPath> {
    return this.guard('resolve', p, async () => {
      const r = await this.contained(p);
      return { path: r.server, type: r.kind === 'symlink' ? 'other' : r.kind };
    });
  }

  list(dir: string): Promise<RemoteEntry[]> {
    return this.guard('list', dir, async () => {
      const local = (await this.contained(dir)).host;
      const names = await readdir(local);
      const out: RemoteEntry[] = [];
      for (const name of names) {
        try {
          const st = await lstat(join(local, name));
          out.push(entry(joinServerPath(this.platform, dir, name), name, st));
        } catch {
          // Vanished between readdir and lstat: a log rotated away. Not an error for a listing.
        }
      }
      return out;
    });
  }

  stat(p: string): Promise<RemoteEntry> {
    return this.guard('stat', p, async () => {
      const st = await lstat((await this.contained(p)).host);
      return entry(p, basenameOf(p), st);
    });
  }

  exists(p: string): Promise<boolean> {
    return existsByStat(this, p);
  }

  createReadStream(p: string, opts: ReadStreamOptions = {}): Promise<Readable> {
    return this.guard('open', p, async () => {
      // Open first so a missing or unreadable file fails here, not as a stream error later.
      const fh = await this.openFile(p);
      return fh.createReadStream({ start: opts.start, end: opts.end, highWaterMark: opts.highWaterMark, autoClose: true });
    });
  }

  readFile(p: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
    return this.guard('read', p, async () => {
      const fh = await this.openFile(p);
      try {
        if (opts.maxBytes !== undefined) {
          const st = await fh.stat();
          if (st.size > opts.maxBytes)
            throw new TransportError(this.server, 'io', `${p} is ${st.size} bytes, more than the ${opts.maxBytes} allowed`);
        }
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    });
  }

  readAt(p: string, offset: number, length: number): Promise<Buffer> {
    return this.guard('read', p, async () => {
      const fh = await this.openFile(p);
      try {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    });
  }

  writeFileAtomic(p: string, data: Buffer | string): Promise<void> {
    return this.guard('write', p, async () => {
      // The real location, inside the root: a link to outside is refused, never written through.
      const r = await this.contained(p);
      if (r.kind !== 'file' && r.kind !== 'missing') throw new TransportError(this.server, 'not-a-file', `${p} is not a regular file (${r.kind})`);
      const local = r.host;
      const tmp = join(dirname(local), `.${basename(local)}.${randomBytes(6).toString('hex')}.tmp`);
      // A replaced file keeps its mode (a license the product reads as another user stays readable).
      const mode = r.kind === 'file' ? await lstat(local).then((st) => st.mode & 0o7777, () => 0o644) : 0o644;
      // 'wx' (O_EXCL) never opens through a link planted at the temporary name.
      const fh = await open(tmp, 'wx', mode);
      try {
        await fh.writeFile(data);
        await fh.chmod(mode); // open() applied the umask
        await fh.sync();
      } catch (err) {
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
        throw err;
      }
      await fh.close();
      try {
        await renameWithRetry(tmp, local);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    });
  }

  rename(from: string, to: string): Promise<void> {
    // Both ends as names: rename moves or replaces a link itself, never what it points to.
    return this.guard('rename', from, async () => renameWithRetry((await this.contained(from, false)).host, (await this.contained(to, false)).host));
  }

  remove(p: string): Promise<void> {
    return this.guard('remove', p, async () => rm((await this.contained(p, false)).host, { force: true }));
  }

  mkdirp(p: string): Promise<void> {
    return this.guard('mkdir', p, async () => {
      await mkdir((await this.contained(p)).host, { recursive: true });
    });
  }

  abstract exec(command: string, args: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  abstract clock(): Promise<ClockSample>;

  async close(): Promise<void> {}
}

function kindOf(st: import('node:fs').Stats): NodeKind {
  return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

function splitHost(p: string): string[] {
  return p.split(process.platform === 'win32' ? /[\\/]+/ : /\/+/).filter((s) => s !== '' && s !== '.');
}

function startsWithSegments(p: readonly string[], root: readonly string[]): boolean {
  const ci = process.platform === 'win32';
  return p.length >= root.length && root.every((r, i) => (ci ? r.toLowerCase() === p[i]!.toLowerCase() : r === p[i]));
}

/** Windows returns EPERM/EBUSY while an antivirus or indexer holds the target open: retry briefly. */
export async function renameWithRetry(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'EPERM' || code === 'EBUSY' || code === 'EACCES') && attempt < RENAME_RETRIES && process.platform === 'win32') {
        await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
        continue;
      }
      throw err;
    }
  }
}

function basenameOf(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

function entry(path: string, name: string, st: import('node:fs').Stats): RemoteEntry {
  return {
    path,
    name,
    type: st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other',
    size: st.size,
    mtime: st.mtime,
  };
}

/** This machine. Server paths are this machine's paths. */
export class LocalTransport extends FileSystemTransport {
  readonly kind = 'local' as const;
  constructor(
    server: string,
    timeouts: TransportTimeouts,
    /** A folder every path must stay in (default: the whole filesystem). */
    private readonly confine?: string,
  ) {
    super(server, process.platform === 'win32' ? 'windows' : 'linux', timeouts);
  }
  protected locate(p: string): Located {
    return confinedLocation(this.server, this.platform, p, this.confine);
  }
  protected override connectRoot(): string {
    return this.confine ?? super.connectRoot();
  }
  async exec(command: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const { execa } = await import('execa'); // loaded when a program is run, not at start-up
    try {
      const r = await execa(command, [...args], { reject: false, timeout: opts.timeoutMs ?? this.timeouts.timeoutMs, stripFinalNewline: false });
      if (r.timedOut) throw new TransportError(this.server, 'timeout', `${command}: did not finish in time`);
      if (r.failed && r.exitCode === undefined) throw toTransportError(this.server, r.cause ?? r, `run ${command}`);
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    } catch (err) {
      throw toTransportError(this.server, err, `run ${command}`);
    }
  }
  async clock(): Promise<ClockSample> {
    return { serverTime: new Date(), offsetMs: 0, rttMs: 0, method: 'local clock' };
  }
}

/**
 * A filesystem root that stands for the server's drive C: (a UNC admin share such as \\APP01\c$ on
 * Windows, or a mounted path). Other drives map through `drives`.
 */
export class ShareTransport extends FileSystemTransport {
  readonly kind = 'share' as const;
  constructor(
    server: string,
    platform: Platform,
    private readonly roots: { root: string; drives?: Record<string, string> },
    timeouts: TransportTimeouts,
  ) {
    super(server, platform, timeouts);
  }

  protected locate(p: string): Located {
    const { drive, segments } = splitServerPath(this.platform, p);
    let root = this.roots.root;
    if (drive && drive !== 'C') {
      const other = Object.entries(this.roots.drives ?? {}).find(([d]) => d.toUpperCase() === drive)?.[1];
      if (!other) throw new TransportError(this.server, 'not-found', `drive ${drive}: has no share configured (transport.drives)`);
      root = other;
    }
    const rootServer = this.platform === 'windows' ? `${drive || 'C'}:\\` : '/';
    return { rootHost: root, rootServer, below: segments };
  }

  async exec(command: string): Promise<ExecResult> {
    throw new TransportError(this.server, 'unsupported', `cannot run ${command} through a file share`);
  }

  /** A file server stamps a new file with its own clock: write one, read its mtime. */
  async clock(): Promise<ClockSample> {
    const probeName = `.clk-support-clock-${randomBytes(4).toString('hex')}`;
    return withTimeout(
      (async () => {
        // The server's temp folder if the share shows it, not the root of its system drive.
        // Resolved inside the share: a temp folder that is a link to elsewhere is not written into.
        const temp = await this.contained(this.platform === 'windows' ? 'C:\\Windows\\Temp' : '/tmp').catch(() => undefined);
        const dir = temp?.kind === 'dir' ? temp.host : this.roots.root;
        const local = join(dir, probeName);
        const t0 = Date.now();
        await writeFile(local, '', { flag: 'wx' });
        try {
          // Some servers keep the creation time of a reused name: set nothing, just read.
          const st = await stat(local);
          const t1 = Date.now();
          const mid = (t0 + t1) / 2;
          return { serverTime: st.mtime, offsetMs: st.mtime.getTime() - mid, rttMs: t1 - t0, method: 'share file timestamp' };
        } finally {
          await rm(local, { force: true });
        }
      })().catch((err) => {
        throw toTransportError(this.server, err, 'read the server clock');
      }),
      this.timeouts.timeoutMs,
      this.server,
      'read the server clock',
    );
  }
}


/**
 * A path on a server reached as itself (local, ssh): its root is the drive (or /), or the folder the
 * farm file confines the server to; a path outside that folder is refused.
 */
export function confinedLocation(server: string, platform: Platform, p: string, confine?: string): Located {
  const { drive, segments } = splitServerPath(platform, p);
  const sep = platform === 'windows' ? '\\' : '/';
  if (!confine) {
    const rootServer = platform === 'windows' ? `${drive || 'C'}:${sep}` : '/';
    return { rootHost: platform === 'windows' && !drive ? sep : rootServer, rootServer, below: segments };
  }
  const c = splitServerPath(platform, confine);
  const ci = platform === 'windows';
  const same = (a: string, b: string) => (ci ? a.toLowerCase() === b.toLowerCase() : a === b);
  if (c.drive !== drive && !(ci && (c.drive || 'C') === (drive || 'C')))
    throw new TransportError(server, 'outside-root', `${p} is outside ${confine}, the folder this server is confined to`);
  if (segments.length < c.segments.length || !c.segments.every((s, i) => same(s, segments[i]!)))
    throw new TransportError(server, 'outside-root', `${p} is outside ${confine}, the folder this server is confined to`);
  const rootServer = joinServerPath(platform, c.drive ? `${c.drive}:${sep}` : sep, ...c.segments);
  return { rootHost: rootServer, rootServer, below: segments.slice(c.segments.length) };
}
