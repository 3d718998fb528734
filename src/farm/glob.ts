// Globs over a transport (Tracer logs, config files). Walks only the folders a pattern can reach,
// never follows symbolic links (a link loop cannot trap the walk), and bounds depth and count.
import { splitServerPath } from './paths.js';
import { TransportError, type RemoteEntry, type Transport } from './transports/transport.js';

export interface GlobOptions {
  maxDepth?: number;
  maxResults?: number;
  signal?: AbortSignal;
  /** Called for folders that could not be listed (permission, vanished). */
  onSkip?: (path: string, reason: string) => void;
}

/**
 * Whether a name matches one glob segment (* and ?, never a separator). A two-pointer wildcard
 * match, at most O(name x segment): a configured glob against a hostile server's file names can never
 * backtrack the way a regular expression of several * can (*a*a*a*a*b against "aaaa...").
 */
export function segmentMatcher(seg: string, caseInsensitive: boolean): { test(name: string): boolean } {
  const p = caseInsensitive ? seg.toLowerCase() : seg;
  return {
    test(name: string): boolean {
      if (/[/\\]/.test(name)) return false;
      const s = caseInsensitive ? name.toLowerCase() : name;
      let pi = 0;
      let si = 0;
      let star = -1;
      let mark = 0;
      while (si < s.length) {
        if (pi < p.length && p[pi] === '*') {
          star = pi++;
          mark = si;
        } else if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
          pi++;
          si++;
        } else if (star !== -1) {
          pi = star + 1;
          si = ++mark;
        } else return false;
      }
      while (pi < p.length && p[pi] === '*') pi++;
      return pi === p.length;
    },
  };
}

function hasMagic(seg: string): boolean {
  return /[*?]/.test(seg);
}

export async function glob(t: Transport, pattern: string, opts: GlobOptions = {}): Promise<RemoteEntry[]> {
  const maxDepth = opts.maxDepth ?? 32;
  const maxResults = opts.maxResults ?? 100_000;
  const ci = t.platform === 'windows';
  const { drive, segments } = splitServerPath(t.platform, pattern);
  const sep = t.platform === 'windows' ? '\\' : '/';
  const rootPrefix = drive ? `${drive}:${sep}` : sep;

  // The literal part before the first wildcard is where the walk starts.
  let i = 0;
  while (i < segments.length && !hasMagic(segments[i]) && segments[i] !== '**') i++;
  const base = rootPrefix + segments.slice(0, i).join(sep);
  const rest = segments.slice(i);
  const results: RemoteEntry[] = [];

  if (rest.length === 0) {
    try {
      const st = await t.stat(base);
      if (st.type === 'file') results.push(st);
    } catch (err) {
      if (!(err instanceof TransportError && err.reason === 'not-found')) throw err;
    }
    return results;
  }

  const seen = new Set<string>();
  const walk = async (dir: string, parts: string[], depth: number): Promise<void> => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    if (depth > maxDepth || results.length >= maxResults || parts.length === 0) return;
    let entries: RemoteEntry[];
    try {
      entries = await t.list(dir);
    } catch (err) {
      if (err instanceof TransportError && (err.reason === 'not-found' || err.reason === 'permission')) {
        if (err.reason === 'permission' || depth > 0) opts.onSkip?.(dir, err.reason);
        return;
      }
      throw err;
    }
    const [head, ...tail] = parts;
    if (head === '**') {
      // ** matches zero folders (try the rest here) or more (descend keeping **).
      await walk(dir, tail, depth);
      for (const e of entries) if (e.type === 'dir') await walk(e.path, parts, depth + 1);
      return;
    }
    const re = segmentMatcher(head, ci);
    for (const e of entries) {
      if (!re.test(e.name)) continue;
      if (tail.length === 0) {
        if (e.type === 'file' && !seen.has(e.path)) {
          seen.add(e.path);
          results.push(e);
          if (results.length >= maxResults) return;
        }
      } else if (e.type === 'dir') {
        await walk(e.path, tail, depth + 1);
      }
    }
  };
  await walk(base, rest, 0);
  return results.sort((a, b) => a.path.localeCompare(b.path));
}
