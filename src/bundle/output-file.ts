// The bundle file on disk: free-space guard, errors of the output folder in the user's terms, and
// publishing the finished temp file under its final name without replacing anything.
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { FailedError, errorMessage } from '../errors.js';
import { DiskSpaceError } from './errors.js';

export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await fsp.statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined; // statfs not supported on this volume: rely on ENOSPC
  }
}

/** The output folder cannot be used: say so in terms the user can act on. */
export function outputError(dir: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (isNoSpace(err)) return new DiskSpaceError(`no space left on ${dir}`, err);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'EEXIST')
    return new FailedError(`cannot write the bundle in ${dir}: ${errorMessage(err)}`, { code: 'OUTPUT_NOT_WRITABLE', hint: 'choose a folder you can write to (--out DIR)', cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function formatMiB(n: number): string {
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
export async function publishWithoutOverwrite(tempPath: string, dir: string, name: string): Promise<string> {
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

export async function syncDir(dir: string): Promise<void> {
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
