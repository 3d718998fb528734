// One apply or rollback at a time: an exclusive lock file in the state folder on this machine
// (created with O_EXCL), plus a marker beside each target license naming its owner, so an apply
// started from another machine sees the farm is busy.
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { ensureStateDir } from './state.js';
import { join } from 'node:path';
import type { Transport } from '../farm/transports/transport.js';
import { joinServerPath, serverDirname } from '../farm/paths.js';
import { LicenseError } from './errors.js';

export const LOCAL_LOCK = 'license.lock';
export const SERVER_LOCK = '.clk-support-license.lock';
/** A lock older than this whose owner cannot be checked is considered abandoned. */
export const STALE_AFTER_MS = 60 * 60 * 1000;

export interface LockOwner {
  token: string;
  pid: number;
  host: string;
  user: string;
  operation: string;
  startedAt: string;
}

export function newOwner(operation: string): LockOwner {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): the pid and host still identify the owner
  }
  return { token: randomUUID(), pid: process.pid, host: hostname(), user, operation, startedAt: new Date().toISOString() };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stale: the owner ran on this host and is gone, or the lock is older than an apply can take. */
export function isStale(owner: Partial<LockOwner> | undefined, now = Date.now()): boolean {
  if (!owner || typeof owner.startedAt !== 'string') return true;
  if (owner.host === hostname() && typeof owner.pid === 'number' && !pidAlive(owner.pid)) return true;
  return now - Date.parse(owner.startedAt) > STALE_AFTER_MS;
}

function describe(owner: Partial<LockOwner> | undefined): string {
  if (!owner) return 'an unreadable lock';
  return `${owner.operation ?? 'an operation'} by ${owner.user ?? '?'}@${owner.host ?? '?'} (pid ${owner.pid ?? '?'}) since ${owner.startedAt ?? '?'}`;
}

function lockedError(where: string, lockFile: string, owner: Partial<LockOwner> | undefined): LicenseError {
  const stale = isStale(owner);
  return new LicenseError(
    'LICENSE_LOCKED',
    `Another license operation holds the lock ${where}: ${describe(owner)}`,
    stale
      ? `the owner is no longer running (stale lock ${lockFile}): if no apply or rollback is running anywhere, re-run with --break-lock`
      : 'wait for it to finish, then run the command again; never remove a live lock',
  );
}

export interface HeldLock {
  owner: LockOwner;
  release(): Promise<void>;
}

export async function acquireLocalLock(stateDir: string, owner: LockOwner, breakStale: boolean): Promise<HeldLock> {
  await ensureStateDir(stateDir);
  const file = join(stateDir, LOCAL_LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, JSON.stringify(owner), { flag: 'wx' });
      return {
        owner,
        release: async () => {
          const current = await readOwner(() => readFile(file));
          if (current?.token === owner.token) await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const current = await readOwner(() => readFile(file));
      if (attempt === 0 && breakStale && isStale(current)) {
        await rm(file, { force: true });
        continue;
      }
      throw lockedError(`on this machine`, file, current);
    }
  }
  throw lockedError('on this machine', file, undefined);
}

async function readOwner(read: () => Promise<Buffer>): Promise<Partial<LockOwner> | undefined> {
  try {
    return JSON.parse((await read()).toString('utf8')) as Partial<LockOwner>;
  } catch {
    return undefined;
  }
}

export function serverLockPath(platform: Transport['platform'], licensePath: string): string {
  return joinServerPath(platform, serverDirname(platform, licensePath), SERVER_LOCK);
}

/**
 * The marker beside a target license. Transports have no exclusive create, so the marker is written,
 * then read back: a concurrent writer from another machine shows up as a different token.
 */
export async function acquireServerLock(t: Transport, licensePath: string, owner: LockOwner, breakStale: boolean): Promise<HeldLock> {
  const file = serverLockPath(t.platform, licensePath);
  if (await t.exists(file)) {
    const current = await readOwner(() => t.readFile(file, { maxBytes: 64 * 1024 }));
    if (current?.token !== owner.token) {
      if (!(breakStale && isStale(current))) throw lockedError(`on ${t.server}`, file, current);
    }
  }
  await t.writeFileAtomic(file, JSON.stringify(owner));
  const back = await readOwner(() => t.readFile(file, { maxBytes: 64 * 1024 }));
  if (back?.token !== owner.token) throw lockedError(`on ${t.server}`, file, back);
  return {
    owner,
    release: async () => {
      const current = await readOwner(() => t.readFile(file, { maxBytes: 64 * 1024 }));
      if (current?.token === owner.token) await t.remove(file);
    },
  };
}
