// Globs over a transport (Tracer logs, config files). Walks only the folders a pattern can reach and
// bounds depth and count. A symbolic link is followed only when the transport resolves it inside the
// server's root (otherwise it is reported with reason 'outside-root'); a folder reached twice (a link
// loop, or a link to a folder walked already) is walked once.
import { splitServerPath } from './paths.js';
import { TransportError, type RemoteEntry, type Transport } from './transports/transport.js';

export interface GlobOptions {
  maxDepth?: number;
  maxResults?: number;
  signal?: AbortSignal;
  /** Called for folders that could not be listed (permission, vanished). */
  onSkip?: (path: string, reason: string) => void;
  /**
   * Called for matches left out on purpose: a link leading outside the server's root
   * ('outside-root: ...'), or something that is not a regular file ('not-a-file: ...').
   */
  onIgnored?: (path: string, reason: string) => void;
}

/** Reasons a glob leaves a path out on purpose rather than failing. */
function ignoredReason(err: unknown): string | undefined {
  if (err instanceof TransportError && (err.reason === 'outside-root' || err.reason === 'not-a-file')) return `${err.reason}: ${err.message}`;
  return undefined;
}

/**
 * Whether a name matches one glob segment (* and ?, never a separator). A two-pointer wildcard
 * match, at most O(name x segment): a configured glob against a hostile server's file names can never
 * backtrack the way a regular expression of several * can (*a*a*a*a*b against "aaaa...").
 */
export function segmentMatcher(seg: string, caseInsensitive: boolean): { test(name: string): boolean } {
  const p = caseInsensitive ? seg.toLowerCase() : seg;
  return { test: (name: string) => !/[/\\]/.test(name) && wildcardMatch(p, caseInsensitive ? name.toLowerCase() : name) };
}

/**
 * Whether `text` matches a wildcard `pattern` (`*` any run of characters, `?` one), exactly as
 * given (lower-case both for a case-insensitive match). A two-pointer match, at most
 * O(text x pattern): never the backtracking of a regular expression.
 */
export function wildcardMatch(p: string, s: string): boolean {
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
      else if (st.type === 'other') opts.onIgnored?.(base, `not-a-file: ${base} is not a regular file`);
    } catch (err) {
      const why = ignoredReason(err);
      if (why) opts.onIgnored?.(base, why);
      else if (!(err instanceof TransportError && err.reason === 'not-found')) throw err;
    }
    return results;
  }

  const seen = new Set<string>();
  // Real folders walked, per remaining pattern: a link loop or two links to one folder end here.
  const walked = new Set<string>();
  const realKey = async (dir: string, parts: string[]): Promise<string | undefined> => {
    const real = await t.resolve(dir);
    const key = `${ci ? real.path.toLowerCase() : real.path}\0${parts.join('/')}`;
    if (walked.has(key)) return undefined;
    walked.add(key);
    return key;
  };
  /** A link as what it leads to (inside the root), or undefined when left out (reported once). */
  const links = new Map<string, Promise<RemoteEntry | undefined>>();
  const follow = (e: RemoteEntry): Promise<RemoteEntry | undefined> => {
    if (e.type !== 'symlink') return Promise.resolve(e);
    let known = links.get(e.path);
    if (!known) {
      known = t.stat(e.path).catch((err: unknown) => {
        const why = ignoredReason(err);
        if (why) opts.onIgnored?.(e.path, why);
        else if (!(err instanceof TransportError && (err.reason === 'not-found' || err.reason === 'io'))) throw err;
        // a dangling link, or a loop of links: nothing to take
        return undefined;
      });
      links.set(e.path, known);
    }
    return known;
  };
  const walk = async (dir: string, parts: string[], depth: number): Promise<void> => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    if (depth > maxDepth || results.length >= maxResults || parts.length === 0) return;
    let entries: RemoteEntry[];
    try {
      if (!(await realKey(dir, parts))) return;
      entries = await t.list(dir);
    } catch (err) {
      const why = ignoredReason(err);
      if (why) {
        opts.onIgnored?.(dir, why);
        return;
      }
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
      for (const raw of entries) {
        if (raw.type !== 'dir' && raw.type !== 'symlink') continue;
        const e = await follow(raw);
        if (e?.type === 'dir') await walk(raw.path, parts, depth + 1);
      }
      return;
    }
    const re = segmentMatcher(head, ci);
    for (const raw of entries) {
      if (!re.test(raw.name)) continue;
      const e = await follow(raw);
      if (!e) continue;
      if (tail.length === 0) {
        if (e.type === 'file' && !seen.has(e.path)) {
          seen.add(e.path);
          results.push(e);
          if (results.length >= maxResults) return;
        } else if (e.type === 'other') {
          opts.onIgnored?.(e.path, `not-a-file: ${e.path} is not a regular file (a FIFO, device or socket)`);
        }
      } else if (e.type === 'dir') {
        await walk(e.path, tail, depth + 1);
      }
    }
  };
  await walk(base, rest, 0);
  return results.sort((a, b) => a.path.localeCompare(b.path));
}
