// One apply or rollback at a time: an exclusive lock file in the state folder on this machine
// (created with O_EXCL), plus a marker beside each target license naming its owner, so an apply
// started from another machine sees the farm is busy.
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { ensureStateDir } from './state.js';
import { join } from 'node:path';
import type { Transport } from '../farm/transports/transport.js';
import { joinServerPath, serverBasename, serverDirname } from '../farm/paths.js';
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
  const started = Date.parse(owner.startedAt);
  // An unreadable start time cannot expire on its own: treat it as abandoned.
  return Number.isNaN(started) || now - started > STALE_AFTER_MS;
}

function describe(owner: Partial<LockOwner> | undefined): string {
  if (!owner) return 'an unreadable lock';
  return `${owner.operation ?? 'an operation'} by ${owner.user ?? '?'}@${owner.host ?? '?'} (pid ${owner.pid ?? '?'}) since ${owner.startedAt ?? '?'}`;
}

function lockedError(where: string, lockFile: string, owner: Partial<LockOwner> | undefined): LicenseError {
  const liveHere = owner?.host === hostname() && typeof owner.pid === 'number' && pidAlive(owner.pid) && !isStale(owner);
  return new LicenseError(
    'LICENSE_LOCKED',
    `Another license operation holds the lock ${where}: ${describe(owner)}`,
    liveHere
      ? 'wait for it to finish, then run the command again; a lock whose owner runs on this machine is never broken'
      : `if no apply or rollback is running on ${owner?.host ?? 'the other machine'}, re-run with --break-lock (the lock ${lockFile} is released when its owner ends; a dead or expired owner's lock is cleaned on its own)`,
  );
}

/** Why an existing lock may be taken over: stale (its owner is gone or expired), or broken on request. */
function takeOver(owner: Partial<LockOwner> | undefined, breakLock: boolean): 'stale' | 'broken' | undefined {
  if (isStale(owner)) return 'stale';
  // --break-lock never breaks a lock whose owner is alive on this very machine.
  const liveHere = owner?.host === hostname() && typeof owner.pid === 'number' && pidAlive(owner.pid);
  return breakLock && !liveHere ? 'broken' : undefined;
}

export interface HeldLock {
  owner: LockOwner;
  /** What was cleaned when the lock was taken: a stale or broken lock, temp files of a dead operation. */
  notes: string[];
  release(): Promise<void>;
}

export async function acquireLocalLock(stateDir: string, owner: LockOwner, breakLock: boolean): Promise<HeldLock> {
  await ensureStateDir(stateDir);
  const file = join(stateDir, LOCAL_LOCK);
  const notes: string[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, JSON.stringify(owner), { flag: 'wx' });
      return {
        owner,
        notes,
        release: async () => {
          const current = await readOwner(() => readFile(file));
          if (current?.token === owner.token) await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const current = await readOwner(() => readFile(file));
      const why = attempt === 0 ? takeOver(current, breakLock) : undefined;
      if (why) {
        notes.push(`${why === 'stale' ? 'removed a stale lock' : 'broke the lock (--break-lock)'} on this machine: ${describe(current)}`);
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

/** Temporary files an interrupted write leaves beside a license: `.<name>.<12 hex>.tmp` (transports), admin probes. */
const TEMP_RE = /^\..+\.[0-9a-f]{12}\.tmp$/;
const PROBE_RE = /^\.clk-support-admin-probe-[0-9a-f]{8}$/;
/** A temp file this old belongs to no running operation (none writes for that long). */
export const TEMP_STALE_MS = 10 * 60 * 1000;

/**
 * Remove what a dead apply or rollback left in the license folder: its temporary files (all of them
 * when the lock we took over was stale, else only old ones) and admin probes. Only called with the lock held.
 */
async function removeDeadTemps(t: Transport, licensePath: string, ownerWasDead: boolean): Promise<string[]> {
  const dir = serverDirname(t.platform, licensePath);
  const base = serverBasename(t.platform, licensePath);
  const ours = (name: string) => name.startsWith(`.${base}`) || name.startsWith(`.${SERVER_LOCK}`) || name.startsWith('.clk-support-admin-probe-');
  let entries;
  try {
    entries = await t.list(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const e of entries) {
    if (e.type !== 'file' || !ours(e.name) || !(TEMP_RE.test(e.name) || PROBE_RE.test(e.name))) continue;
    if (!ownerWasDead && Date.now() - e.mtime.getTime() < TEMP_STALE_MS) continue;
    try {
      await t.remove(e.path);
      removed.push(e.name);
    } catch {
      // still reported by the next run
    }
  }
  return removed;
}

/**
 * The marker beside a target license. Transports have no exclusive create, so the marker is written,
 * then read back: a concurrent writer from another machine shows up as a different token.
 */
export async function acquireServerLock(t: Transport, licensePath: string, owner: LockOwner, breakLock: boolean): Promise<HeldLock> {
  const file = serverLockPath(t.platform, licensePath);
  const notes: string[] = [];
  let ownerWasDead = false;
  if (await t.exists(file)) {
    const current = await readOwner(() => t.readFile(file, { maxBytes: 64 * 1024 }));
    if (current?.token !== owner.token) {
      const why = takeOver(current, breakLock);
      if (!why) throw lockedError(`on ${t.server}`, file, current);
      ownerWasDead = why === 'stale';
      notes.push(`${t.server}: ${why === 'stale' ? 'removed a stale lock' : 'broke the lock (--break-lock)'}: ${describe(current)}`);
    }
  }
  await t.writeFileAtomic(file, JSON.stringify(owner));
  const held: HeldLock = {
    owner,
    notes,
    release: async () => {
      const current = await readOwner(() => t.readFile(file, { maxBytes: 64 * 1024 }));
      if (current?.token === owner.token) await t.remove(file);
    },
  };
  let back: Partial<LockOwner> | undefined;
  try {
    back = await readOwner(() => t.readFile(file, { maxBytes: 64 * 1024 }));
  } catch (err) {
    await held.release().catch(() => {});
    throw err;
  }
  if (back?.token !== owner.token) throw lockedError(`on ${t.server}`, file, back);
  try {
    const removed = await removeDeadTemps(t, licensePath, ownerWasDead);
    if (removed.length) notes.push(`${t.server}: removed ${removed.length} temporary file${removed.length === 1 ? '' : 's'} of an interrupted operation (${removed.join(', ')})`);
  } catch (err) {
    await held.release().catch(() => {});
    throw err;
  }
  return held;
}
