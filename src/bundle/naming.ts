// Names: the bundle's file name, and the rule every entry path inside it must follow.
import { randomBytes } from 'node:crypto';

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

export function checkBundlePath(p: string): void {
  if (!p || p.startsWith('/') || p.includes('\\') || p.split('/').some((s) => s === '' || s === '.' || s === '..') || /[\x00-\x1f]/.test(p))
    throw new Error(`invalid bundle path ${JSON.stringify(p)}: use forward slashes, relative, no '.' or '..' segments`);
}
