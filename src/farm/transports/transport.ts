// One interface for reaching a server's files and commands, whatever carries them.
import type { Readable } from 'node:stream';
import { ClkError, type ErrorDetails } from '../../errors.js';
import { LinkLoopError, OutsideRootError } from './contain.js';

export type TransportKind = 'local' | 'share' | 'ssh';
import type { Platform } from '../../commandline.js';
export type { Platform };

/** Why a server or file could not be reached: each has its own fix. */
export type FailureReason =
  | 'dns'
  | 'refused'
  | 'timeout'
  | 'unreachable'
  | 'auth'
  | 'host-key'
  | 'permission'
  | 'not-found'
  | 'unsupported'
  | 'no-space'
  | 'outside-root'
  | 'not-a-file'
  | 'io';

export const REASON_HINTS: Record<FailureReason, string> = {
  dns: 'the host name does not resolve: check the name in the farm file and DNS',
  refused: 'nothing listens on that port: is the server up and the service (sshd / SMB) running?',
  timeout: 'no answer in time: the server is down, or a firewall drops the packets',
  unreachable: 'the server or its share cannot be reached: check that it is up, the share is available and the network path',
  auth: 'the credentials were refused: check the user, key file or agent',
  'host-key': "the server's host key is not the one in known_hosts: verify it out of band before trusting it",
  permission: 'access denied: run as an administrator of that server (or a user with rights on the share)',
  'not-found': 'no such file or folder: check the path in the farm file',
  unsupported: 'this transport cannot do that: use ssh, or run clk-support on Windows',
  'no-space': 'the disk is full: free space on the target',
  'outside-root': "a symbolic link (or '..') leads outside the server's root: clk-support never reads or writes through it; fix the link on the server if the file is needed",
  'not-a-file': 'not a regular file (a FIFO, device, socket or folder): clk-support never opens one as a log or license',
  io: 'an input/output error: retry, and check the disk or share',
};

export class TransportError extends ClkError {
  constructor(
    readonly server: string,
    readonly reason: FailureReason,
    message: string,
    details: ErrorDetails = {},
  ) {
    super(`${server}: ${message}`, { code: `TRANSPORT_${reason.toUpperCase().replaceAll('-', '_')}`, hint: REASON_HINTS[reason], ...details });
  }
}

export interface RemoteEntry {
  /** The path on the server, in the server's own form (C:\... on Windows). */
  path: string;
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtime: Date;
}

export interface ResolvedPath {
  /** The real server path (no link left in it). */
  path: string;
  type: RemoteEntry['type'] | 'missing';
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ClockSample {
  /** The server's clock at the midpoint of the round trip. */
  serverTime: Date;
  /** serverTime minus this machine's clock, in ms (positive: the server is ahead). */
  offsetMs: number;
  /** The round trip used to read it; the offset is accurate to about half of it. */
  rttMs: number;
  method: string;
}

export interface ReadStreamOptions {
  start?: number;
  /** Inclusive, as in fs.createReadStream. */
  end?: number;
  /** Bytes per chunk: scanners of large logs read faster in large blocks. */
  highWaterMark?: number;
}

export interface Transport {
  readonly server: string;
  readonly kind: TransportKind;
  readonly platform: Platform;
  /** Open the connection (a no-op for files); fails with a classified TransportError. */
  connect(): Promise<void>;
  list(dir: string): Promise<RemoteEntry[]>;
  stat(path: string): Promise<RemoteEntry>;
  exists(path: string): Promise<boolean>;
  /**
   * Where a path really is: every symbolic link resolved, each only when its target stays inside the
   * server's root (otherwise a TransportError 'outside-root'). Every other call applies the same rule.
   */
  resolve(path: string): Promise<ResolvedPath>;
  createReadStream(path: string, opts?: ReadStreamOptions): Promise<Readable>;
  /** Read a whole file, refusing one larger than maxBytes. */
  readFile(path: string, opts?: { maxBytes?: number }): Promise<Buffer>;
  /** Read length bytes at offset (fewer at the end of the file). */
  readAt(path: string, offset: number, length: number): Promise<Buffer>;
  /** Write to a temporary name beside the target, then rename over it. */
  writeFileAtomic(path: string, data: Buffer | string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  mkdirp(path: string): Promise<void>;
  /** Run a program on the server. Arguments are quoted for the server's shell. */
  exec(command: string, args: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  clock(): Promise<ClockSample>;
  /**
   * Where a server path is on this machine, for transports that are plain files here (local,
   * share): lets worker threads read it directly. undefined for remote transports.
   */
  hostPathOf(path: string): string | undefined;
  close(): Promise<void>;
}

export interface TransportTimeouts {
  connectTimeoutMs: number;
  /** Any single remote call. */
  timeoutMs: number;
}

/** exists() in terms of stat(): only "not found" means no; any other failure is reported. */
export async function existsByStat(t: Pick<Transport, 'stat'>, path: string): Promise<boolean> {
  try {
    await t.stat(path);
    return true;
  } catch (err) {
    if (err instanceof TransportError && err.reason === 'not-found') return false;
    throw err;
  }
}

/** Map a Node/ssh2/SFTP error to a reason. */
export function classifyError(err: unknown): FailureReason {
  if (err instanceof TransportError) return err.reason;
  if (err instanceof OutsideRootError) return 'outside-root';
  if (err instanceof LinkLoopError) return 'io';
  const e = err as { code?: string | number; level?: string; message?: string } | undefined;
  const code = e?.code;
  const msg = String(e?.message ?? err ?? '');
  if (e?.level === 'client-authentication' || /authentication methods failed/i.test(msg)) return 'auth';
  if (/host key|hostkey|host verification/i.test(msg)) return 'host-key';
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return 'dns';
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return code === 'ETIMEDOUT' ? 'timeout' : 'io';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return 'unreachable';
    case 'EACCES':
    case 'EPERM':
    case 3: // SFTP permission denied
      return 'permission';
    case 'ENOENT':
    case 'ENOTDIR':
    case 2: // SFTP no such file
      return 'not-found';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no-space';
    default:
      if (/timed out|timeout/i.test(msg)) return 'timeout';
      return 'io';
  }
}

export function toTransportError(server: string, err: unknown, what: string): TransportError {
  if (err instanceof TransportError) return err;
  const reason = classifyError(err);
  const detail = (err as Error)?.message ?? String(err);
  return new TransportError(server, reason, `${what}: ${detail}`, { cause: err });
}

/** Reject after ms; the work itself may go on, but the run never waits on it. */
export async function withTimeout<T>(work: Promise<T>, ms: number, server: string, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransportError(server, 'timeout', `${what}: no answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
