// Files on this machine (local) or under a share root (share): both are plain filesystem calls,
// they differ only in how a server path becomes a path here.
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, dirname, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { joinServerPath, splitServerPath, PathEscapeError } from '../paths.js';
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
  type Transport,
  type TransportKind,
  type TransportTimeouts,
} from './transport.js';

const RENAME_RETRIES = 8;

abstract class FileSystemTransport implements Transport {
  abstract readonly kind: TransportKind;
  constructor(
    readonly server: string,
    readonly platform: Platform,
    protected readonly timeouts: TransportTimeouts,
  ) {}

  /** Where a server path is on this machine. */
  protected abstract hostPath(serverPath: string): string;

  hostPathOf(serverPath: string): string | undefined {
    try {
      return this.hostPath(serverPath);
    } catch {
      return undefined;
    }
  }

  protected guard<T>(what: string, p: string, work: () => Promise<T>): Promise<T> {
    try {
      this.hostPath(p); // validates the path before any I/O
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
    const root = this.hostPath(this.platform === 'windows' ? 'C:\\' : '/');
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

  list(dir: string): Promise<RemoteEntry[]> {
    return this.guard('list', dir, async () => {
      const local = this.hostPath(dir);
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
      const st = await stat(this.hostPath(p));
      return entry(p, basenameOf(p), st);
    });
  }

  exists(p: string): Promise<boolean> {
    return existsByStat(this, p);
  }

  createReadStream(p: string, opts: ReadStreamOptions = {}): Promise<Readable> {
    return this.guard('open', p, async () => {
      const local = this.hostPath(p);
      // Open first so a missing or unreadable file fails here, not as a stream error later.
      const fh = await open(local, 'r');
      return fh.createReadStream({ start: opts.start, end: opts.end, highWaterMark: opts.highWaterMark, autoClose: true });
    });
  }

  readFile(p: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
    return this.guard('read', p, async () => {
      const local = this.hostPath(p);
      if (opts.maxBytes !== undefined) {
        const st = await stat(local);
        if (st.size > opts.maxBytes)
          throw new TransportError(this.server, 'io', `${p} is ${st.size} bytes, more than the ${opts.maxBytes} allowed`);
      }
      return readFile(local);
    });
  }

  readAt(p: string, offset: number, length: number): Promise<Buffer> {
    return this.guard('read', p, async () => {
      const fh = await open(this.hostPath(p), 'r');
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
      const local = this.hostPath(p);
      const tmp = join(dirname(local), `.${basename(local)}.${randomBytes(6).toString('hex')}.tmp`);
      // A replaced file keeps its mode (a license the product reads as another user stays readable).
      const mode = await stat(local).then((st) => st.mode & 0o7777, () => 0o644);
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
    return this.guard('rename', from, () => renameWithRetry(this.hostPath(from), this.hostPath(to)));
  }

  remove(p: string): Promise<void> {
    return this.guard('remove', p, () => rm(this.hostPath(p), { force: true }));
  }

  mkdirp(p: string): Promise<void> {
    return this.guard('mkdir', p, async () => {
      await mkdir(this.hostPath(p), { recursive: true });
    });
  }

  abstract exec(command: string, args: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  abstract clock(): Promise<ClockSample>;

  async close(): Promise<void> {}
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
  constructor(server: string, timeouts: TransportTimeouts) {
    super(server, process.platform === 'win32' ? 'windows' : 'linux', timeouts);
  }
  protected hostPath(p: string): string {
    return p;
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

  protected hostPath(p: string): string {
    const { drive, segments } = splitServerPath(this.platform, p);
    let root = this.roots.root;
    if (drive && drive !== 'C') {
      const other = Object.entries(this.roots.drives ?? {}).find(([d]) => d.toUpperCase() === drive)?.[1];
      if (!other) throw new TransportError(this.server, 'not-found', `drive ${drive}: has no share configured (transport.drives)`);
      root = other;
    }
    return segments.length ? join(root, ...segments) : root;
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
        const temp = this.hostPath(this.platform === 'windows' ? 'C:\\Windows\\Temp' : '/tmp');
        const dir = await stat(temp).then((st) => (st.isDirectory() ? temp : this.roots.root), () => this.roots.root);
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

