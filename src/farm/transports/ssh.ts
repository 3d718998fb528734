// A server reached over SSH: SFTP for files, exec channels for commands. The host key must be in
// known_hosts; an unknown or changed key is refused, never trusted on first use.
import { readFile as readLocalFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { Client as SshClient, SFTPWrapper, ConnectConfig, Stats as SftpStats } from 'ssh2';
import { buildCommandLine } from '../../commandline.js';
import { joinServerPath, splitServerPath, toSftpPath, serverDirname, serverBasename, PathEscapeError } from '../paths.js';
import { hostKeyAlgorithmsFor, parseKnownHosts, verifyHostKey, type HostKeyVerdict } from './known-hosts.js';
import { FolderCache, resolveInside, targetParser, type NodeKind, type RootedFs } from './contain.js';
import { confinedLocation } from './local.js';
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
  type TransportTimeouts,
} from './transport.js';

export interface SshOptions {
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  agent?: boolean;
  knownHosts?: string;
  /** A folder every path must stay in (default: the whole filesystem). */
  root?: string;
}

const MAX_EXEC_OUTPUT = 16 * 1024 * 1024;

export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  private client: SshClient | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly folders = new FolderCache();

  constructor(
    readonly server: string,
    readonly platform: Platform,
    private readonly opts: SshOptions,
    private readonly timeouts: TransportTimeouts,
  ) {}

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError(this.server, 'io', 'connection already closed'));
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<void> {
    const knownHostsFile = this.opts.knownHosts ?? join(homedir(), '.ssh', 'known_hosts');
    let knownHostsText: string;
    try {
      knownHostsText = await readLocalFile(knownHostsFile, 'utf8');
    } catch (err) {
      throw new TransportError(this.server, 'host-key', `cannot read known_hosts ${knownHostsFile}: ${(err as Error).message}`, {
        hint: `add the server's key with: ssh-keyscan -p ${this.opts.port} ${this.opts.host} >> ${knownHostsFile} (after checking it)`,
      });
    }
    const entries = parseKnownHosts(knownHostsText);
    const config: ConnectConfig = {
      host: this.opts.host,
      port: this.opts.port,
      username: this.opts.user,
      readyTimeout: this.timeouts.connectTimeoutMs,
      // A server that stops answering mid-transfer is dropped after about 3 missed keepalives.
      keepaliveInterval: 5000,
      keepaliveCountMax: 3,
    };
    if (this.opts.identityFile) {
      try {
        config.privateKey = await readLocalFile(this.opts.identityFile);
      } catch (err) {
        throw new TransportError(this.server, 'auth', `cannot read identity file ${this.opts.identityFile}: ${(err as Error).message}`);
      }
    }
    if (!this.opts.identityFile || this.opts.agent) {
      if (!process.env.SSH_AUTH_SOCK && !this.opts.identityFile)
        throw new TransportError(this.server, 'auth', 'no identityFile in the farm file and no SSH agent (SSH_AUTH_SOCK is not set)');
      if (process.env.SSH_AUTH_SOCK) config.agent = process.env.SSH_AUTH_SOCK;
    }

    // Ask only for the host-key types known_hosts has for this host (as OpenSSH does).
    const hostKeyAlgorithms = hostKeyAlgorithmsFor(entries, this.opts.host, this.opts.port);
    if (hostKeyAlgorithms) config.algorithms = { serverHostKey: hostKeyAlgorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };

    let verdict: HostKeyVerdict = 'unknown';
    config.hostVerifier = (key: Buffer) => {
      verdict = verifyHostKey(entries, this.opts.host, this.opts.port, key);
      return verdict === 'trusted';
    };

    // ssh2 is large: loaded when a server is reached over SSH, not when the CLI starts.
    const { Client } = (await import('ssh2')).default;
    const client = new Client();
    this.client = client;
    const ready = new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (err: Error & { level?: string }) => {
        if (err.level === 'client-timeout') reject(new TransportError(this.server, 'timeout', `no SSH handshake within ${this.timeouts.connectTimeoutMs} ms`));
        else if (verdict !== 'trusted' && /host|verif/i.test(err.message))
          reject(
            new TransportError(
              this.server,
              'host-key',
              verdict === 'mismatch'
                ? `host key of ${this.opts.host}:${this.opts.port} does not match known_hosts (possible man-in-the-middle)`
                : verdict === 'revoked'
                  ? `host key of ${this.opts.host}:${this.opts.port} is revoked in known_hosts`
                  : `host ${this.opts.host}:${this.opts.port} is not in ${knownHostsFile}`,
            ),
          );
        else reject(toTransportError(this.server, err, `ssh ${this.opts.user}@${this.opts.host}:${this.opts.port}`));
      });
    });
    // After the handshake, errors surface through the calls that were in flight.
    client.on('error', () => {});
    client.connect(config);
    try {
      await withTimeout(ready, this.timeouts.connectTimeoutMs + 1000, this.server, `connect to ${this.opts.host}:${this.opts.port}`);
    } catch (err) {
      client.destroy();
      this.connecting = undefined;
      throw err;
    }
    client.on('close', () => {
      this.sftpSession = undefined;
      this.connecting = undefined;
    });
  }

  private async sftp(): Promise<SFTPWrapper> {
    await this.connect();
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.client!.sftp((err, s) => (err ? reject(toTransportError(this.server, err, 'open SFTP')) : resolve(s)));
    });
    return this.sftpSession;
  }

  private remotePath(p: string): string {
    try {
      // Validates first: a path that climbs out of its root is refused on every transport.
      splitServerPath(this.platform, p);
    } catch (err) {
      if (err instanceof PathEscapeError) throw new TransportError(this.server, 'permission', err.message);
      throw err;
    }
    return toSftpPath(this.platform, p);
  }

  private call<T>(what: string, p: string, work: (sftp: SFTPWrapper, remote: string) => Promise<T>): Promise<T> {
    return withTimeout(
      (async () => {
        const remote = this.remotePath(p);
        const sftp = await this.sftp();
        try {
          return await work(sftp, remote);
        } catch (err) {
          throw toTransportError(this.server, err, `${what} ${p}`);
        }
      })(),
      this.timeouts.timeoutMs,
      this.server,
      `${what} ${p}`,
    );
  }

  /** The filesystem below one root, through SFTP lstat and readlink (never a following stat). */
  private rooted(sftp: SFTPWrapper, rootServer: string): RootedFs {
    const at = (segs: readonly string[]) => this.remotePath(segs.length ? joinServerPath(this.platform, rootServer, ...segs) : rootServer);
    const win = this.platform === 'windows';
    // Windows OpenSSH writes targets as /C:/dir; both it and C:\dir name the same place.
    const split = (t: string) => t.replace(/^[\\/](?=[A-Za-z]:)/, '').split(win ? /[\\/]+/ : /\/+/);
    const isAbs = (t: string) => (win ? /^([\\/]|[A-Za-z]:)/.test(t) : t.startsWith('/'));
    return {
      lstat: this.folders.wrap(at, (segs) =>
        new Promise<NodeKind>((resolve, reject) =>
          sftp.lstat(at(segs), (err, st) => {
            if (err) return (err as { code?: number }).code === 2 ? resolve('missing') : reject(err);
            resolve(kindOfSftp(st));
          }),
        ),
      ),
      readlink: (segs) => new Promise<string>((resolve, reject) => sftp.readlink(at(segs), (err, target) => (err ? reject(err) : resolve(target)))),
      parseTarget: targetParser(isAbs, split, [split(rootServer).filter((x) => x !== '')], win),
    };
  }

  /** A server path resolved inside its root: the real path, its SFTP form and what is there. */
  private async contained(sftp: SFTPWrapper, p: string, followLast = true): Promise<{ server: string; remote: string; kind: NodeKind }> {
    const { rootServer, below } = confinedLocation(this.server, this.platform, p, this.opts.root);
    const r = await resolveInside(this.rooted(sftp, rootServer), below, { followLast });
    const server = r.segments.length ? joinServerPath(this.platform, rootServer, ...r.segments) : rootServer;
    return { server, remote: this.remotePath(server), kind: r.kind };
  }

  /**
   * A regular file inside the root, opened for reading. Checked before the open: sftp-server serves
   * one request at a time, and a FIFO opened for reading would stall the whole session.
   */
  private async openFile(sftp: SFTPWrapper, p: string): Promise<{ handle: Buffer; size: number; remote: string }> {
    const r = await this.contained(sftp, p);
    if (r.kind === 'missing') throw Object.assign(new Error(`no such file: ${p}`), { code: 2 });
    if (r.kind !== 'file') throw new TransportError(this.server, 'not-a-file', `${p} is not a regular file (${r.kind})`);
    const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(r.remote, 'r', (err, h) => (err ? reject(err) : resolve(h))));
    try {
      const st = await new Promise<SftpStats>((resolve, reject) => sftp.fstat(handle, (err, s) => (err ? reject(err) : resolve(s))));
      if (!st.isFile()) throw new TransportError(this.server, 'not-a-file', `${p} is not a regular file`);
      return { handle, size: Number(st.size), remote: r.remote };
    } catch (err) {
      await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
      throw err;
    }
  }

  resolve(p: string): Promise<ResolvedPath> {
    return this.call('resolve', p, async (sftp) => {
      const r = await this.contained(sftp, p);
      return { path: r.server, type: r.kind === 'symlink' ? 'other' : r.kind };
    });
  }

  list(dir: string): Promise<RemoteEntry[]> {
    return this.call('list', dir, async (sftp) => {
      const { remote } = await this.contained(sftp, dir);
      return new Promise((resolve, reject) => {
        sftp.readdir(remote, (err, list) => {
          if (err) return reject(err);
          resolve(
            list
              .filter((f) => f.filename !== '.' && f.filename !== '..')
              .map((f) => toEntry(joinServerPath(this.platform, dir, f.filename), f.filename, f.attrs as SftpStats)),
          );
        });
      });
    });
  }

  stat(p: string): Promise<RemoteEntry> {
    return this.call('stat', p, async (sftp) => {
      const { remote } = await this.contained(sftp, p);
      return new Promise((resolve, reject) => {
        sftp.lstat(remote, (err, st) => (err ? reject(err) : resolve(toEntry(p, serverBasename(this.platform, p), st))));
      });
    });
  }

  exists(p: string): Promise<boolean> {
    return existsByStat(this, p);
  }

  createReadStream(p: string, opts: ReadStreamOptions = {}): Promise<Readable> {
    return this.call('open', p, async (sftp) => {
      // Open first, so that a missing file is an error here rather than a stream error later.
      const { handle, remote } = await this.openFile(sftp, p);
      const stream = sftp.createReadStream(remote, { handle, start: opts.start, end: opts.end, highWaterMark: opts.highWaterMark, autoClose: true } as never);
      const out = new PassThrough({ highWaterMark: 256 * 1024 });
      stream.on('error', (err: Error) => out.destroy(toTransportError(this.server, err, `read ${p}`)));
      // A dropped connection ends the SFTP stream without an error: make it one.
      const onClose = () => {
        if (!out.writableEnded) out.destroy(new TransportError(this.server, 'io', `connection closed while reading ${p}`));
      };
      this.client?.once('close', onClose);
      out.on('close', () => {
        this.client?.off('close', onClose);
        // A consumer that stops early (abort, size cap) must not leave the remote handle open.
        if (!stream.destroyed) stream.destroy();
      });
      // The caller may not be reading yet (a bundle writer queues its entries) when the server goes
      // away: without a listener that error would crash the process. It stays on the stream
      // (readable.errored) and reaches the caller when it reads.
      out.on('error', () => {});
      stream.pipe(out);
      return out;
    });
  }

  readFile(p: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
    return this.call('read', p, async (sftp) => {
      const { handle, size } = await this.openFile(sftp, p);
      try {
        if (opts.maxBytes !== undefined && size > opts.maxBytes)
          throw new TransportError(this.server, 'io', `${p} is ${size} bytes, more than the ${opts.maxBytes} allowed`);
        return await readHandle(sftp, handle, 0, size);
      } finally {
        await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
      }
    });
  }

  readAt(p: string, offset: number, length: number): Promise<Buffer> {
    return this.call('read', p, async (sftp) => {
      const { handle } = await this.openFile(sftp, p);
      try {
        return await readHandle(sftp, handle, offset, length);
      } finally {
        await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
      }
    });
  }

  writeFileAtomic(p: string, data: Buffer | string): Promise<void> {
    return this.call('write', p, async (sftp) => {
      // The real location, inside the root: a link to outside is refused, never written through.
      const r = await this.contained(sftp, p);
      if (r.kind !== 'file' && r.kind !== 'missing') throw new TransportError(this.server, 'not-a-file', `${p} is not a regular file (${r.kind})`);
      const remote = r.remote;
      const dir = serverDirname(this.platform, r.server);
      const tmpServerPath = joinServerPath(this.platform, dir, `.${serverBasename(this.platform, r.server)}.${randomBytes(6).toString('hex')}.tmp`);
      const tmp = this.remotePath(tmpServerPath);
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      // A replaced file keeps its mode (a license the product reads as another user stays readable).
      const mode = await new Promise<number>((resolve) => sftp.lstat(remote, (err, st) => resolve(err ? 0o644 : st.mode & 0o7777)));
      try {
        try {
          await new Promise<void>((resolve, reject) => sftp.writeFile(tmp, bytes, { mode }, (err) => (err ? reject(err) : resolve())));
        } catch (err) {
          throw (await this.diskFull(sftp, this.remotePath(dir), bytes.length, p)) ?? err;
        }
        await this.renameOver(sftp, tmp, remote);
      } catch (err) {
        // A write that failed half way (a full disk) must not leave its temporary file behind.
        await new Promise<void>((resolve) => sftp.unlink(tmp, () => resolve()));
        throw err;
      }
    });
  }

  /**
   * SFTP v3 reports a full disk as a bare "Failure"; OpenSSH's statvfs extension tells whether that
   * was the cause, so the admin hears "disk full" rather than a generic I/O error.
   */
  private async diskFull(sftp: SFTPWrapper, remoteDir: string, needed: number, p: string): Promise<TransportError | undefined> {
    const statvfs = (sftp as unknown as { ext_openssh_statvfs?: SFTPWrapper['ext_openssh_statvfs'] }).ext_openssh_statvfs;
    if (!statvfs) return undefined;
    try {
      const info = await new Promise<{ f_frsize: number; f_bavail: number }>((resolve, reject) => {
        try {
          statvfs.call(sftp, remoteDir, (err: Error | undefined, fs: { f_frsize: number; f_bavail: number }) => (err ? reject(err) : resolve(fs)));
        } catch (e) {
          reject(e);
        }
      });
      const free = Number(info.f_frsize) * Number(info.f_bavail);
      // A file takes whole blocks: less than its size rounded up to one more block does not fit.
      if (free < needed + Number(info.f_frsize))
        return new TransportError(this.server, 'no-space', `write ${p}: no space left on the disk (${free} bytes free, ${needed} needed)`);
    } catch {
      // no statvfs: keep the original error
    }
    return undefined;
  }

  /** SFTPv3 rename refuses an existing target; OpenSSH's posix-rename extension replaces it atomically. */
  private renameOver(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ext = (sftp as unknown as { ext_openssh_rename?: SFTPWrapper['ext_openssh_rename'] }).ext_openssh_rename;
      try {
        ext!.call(sftp, from, to, (err?: Error | null) => (err ? reject(err) : resolve()));
      } catch {
        // Server without the extension (e.g. some Windows builds): not atomic, so only when the target is gone.
        sftp.rename(from, to, (err) => (err ? reject(err) : resolve()));
      }
    });
  }

  rename(from: string, to: string): Promise<void> {
    // Both ends as names: rename moves or replaces a link itself, never what it points to.
    return this.call('rename', from, async (sftp) =>
      this.renameOver(sftp, (await this.contained(sftp, from, false)).remote, (await this.contained(sftp, to, false)).remote),
    );
  }

  remove(p: string): Promise<void> {
    return this.call('remove', p, async (sftp) => {
      const { remote } = await this.contained(sftp, p, false);
      await new Promise<void>((resolve, reject) =>
        sftp.unlink(remote, (err) => (err && (err as { code?: number }).code !== 2 ? reject(err) : resolve())),
      );
    });
  }

  mkdirp(p: string): Promise<void> {
    return this.call('mkdir', p, async (sftp) => {
      const { drive, segments } = splitServerPath(this.platform, (await this.contained(sftp, p)).server);
      let current = drive ? `${drive}:` : '';
      for (const seg of segments) {
        current = this.platform === 'windows' ? `${current}\\${seg}` : `${current}/${seg}`;
        const remote = this.remotePath(current);
        const exists = await new Promise<boolean>((resolve) => sftp.stat(remote, (err) => resolve(!err)));
        if (!exists) await new Promise<void>((resolve, reject) => sftp.mkdir(remote, (err) => (err ? reject(err) : resolve())));
      }
    });
  }

  exec(command: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const line = buildCommandLine(this.platform, command, args);
    const timeoutMs = opts.timeoutMs ?? this.timeouts.timeoutMs;
    return withTimeout(
      (async () => {
        await this.connect();
        return new Promise<ExecResult>((resolve, reject) => {
          this.client!.exec(line, (err, channel) => {
            if (err) return reject(toTransportError(this.server, err, `run ${command}`));
            const out: Buffer[] = [];
            const errOut: Buffer[] = [];
            let size = 0;
            const collect = (into: Buffer[]) => (d: Buffer) => {
              size += d.length;
              if (size > MAX_EXEC_OUTPUT) {
                channel.close();
                reject(new TransportError(this.server, 'io', `${command}: output larger than ${MAX_EXEC_OUTPUT} bytes`));
                return;
              }
              into.push(d);
            };
            channel.on('data', collect(out));
            channel.stderr.on('data', collect(errOut));
            channel.on('close', (code: number | null) =>
              resolve({ exitCode: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') }),
            );
          });
        });
      })(),
      timeoutMs,
      this.server,
      `run ${command}`,
    );
  }

  async clock(): Promise<ClockSample> {
    const t0 = Date.now();
    const r =
      this.platform === 'windows'
        ? await this.exec('powershell', ['-NoProfile', '-NonInteractive', '-Command', '[DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()'])
        : await this.exec('date', ['-u', '+%s.%N']);
    const t1 = Date.now();
    const text = r.stdout.trim();
    let ms: number;
    if (this.platform === 'windows') ms = Number(text);
    else {
      // Busybox date has no %N and prints it literally: seconds are still good.
      const m = /^(\d+)(?:\.(\d+))?/.exec(text);
      ms = m ? Number(m[1]) * 1000 + (m[2] && /^\d+$/.test(m[2]) ? Number(`0.${m[2]}`) * 1000 : 0) : NaN;
    }
    if (r.exitCode !== 0 || !Number.isFinite(ms))
      throw new TransportError(this.server, 'io', `cannot read the server clock (exit ${r.exitCode}: ${r.stderr.trim() || text})`);
    const mid = (t0 + t1) / 2;
    return { serverTime: new Date(ms), offsetMs: ms - mid, rttMs: t1 - t0, method: 'ssh exec' };
  }

  hostPathOf(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // destroy(), not end(): after end() ssh2 no longer destroys the socket, so a connection still
    // in its handshake, or to a server that stopped answering, would stay half-open.
    this.client?.destroy();
  }
}

function kindOfSftp(st: SftpStats): NodeKind {
  return st.isSymbolicLink?.() ? 'symlink' : st.isDirectory?.() ? 'dir' : st.isFile?.() ? 'file' : 'other';
}

/** length bytes at offset through an open handle (fewer at the end of the file). */
async function readHandle(sftp: SFTPWrapper, handle: Buffer, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  try {
    while (got < length) {
      const n = await new Promise<number>((resolve, reject) =>
        sftp.read(handle, buf, got, length - got, offset + got, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))),
      );
      if (n === 0) break;
      got += n;
    }
  } catch (err) {
    // SFTP reports reading past the end as an EOF status.
    if ((err as { code?: number }).code !== 1) throw err;
  }
  return buf.subarray(0, got);
}

function toEntry(path: string, name: string, st: SftpStats): RemoteEntry {
  const type = st.isSymbolicLink?.() ? 'symlink' : st.isDirectory?.() ? 'dir' : st.isFile?.() ? 'file' : 'other';
  return { path, name, type, size: Number(st.size), mtime: new Date(Number(st.mtime) * 1000) };
}
