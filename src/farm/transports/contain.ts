// Containment: the one rule every transport applies to every path below a server's root. The path is
// walked component by component with lstat; a symbolic link is followed only when its target stays
// inside the same root, and a path that leads out (through a link or '..') is refused. Reads, writes,
// listings and globs all go through resolveInside, so collect, license and incident share the rule.

/** What sits at a path, without following a final link ('missing': nothing there). */
export type NodeKind = 'file' | 'dir' | 'symlink' | 'other' | 'missing';

/** The filesystem below one root, addressed by segments (the root itself is []). */
export interface RootedFs {
  lstat(segments: readonly string[]): Promise<NodeKind>;
  readlink(segments: readonly string[]): Promise<string>;
  /**
   * A link's target: relative (segments from the link's folder, '..' allowed), absolute inside the
   * root (segments below it), or undefined when it names a place outside the root.
   */
  parseTarget(target: string): { absolute: boolean; segments: string[] } | undefined;
}

/** Linux gives up after 40 links in one lookup; so do we (a loop of links ends here). */
export const MAX_LINK_HOPS = 40;

export interface Resolved {
  /** The real location below the root: no component is a link (at the time of the walk). */
  segments: string[];
  /** What is there; never 'symlink' unless followLast was false and the last component is one. */
  kind: NodeKind;
}

export class OutsideRootError extends Error {
  constructor(
    /** The link (as segments below the root) that leads out, or undefined for a '..' climb. */
    readonly link: readonly string[] | undefined,
  ) {
    super(link ? `symbolic link ${link.join('/') || '.'} leads outside the server's root` : `path climbs above the server's root`);
    this.name = 'OutsideRootError';
  }
}

export class LinkLoopError extends Error {
  constructor(readonly link: readonly string[]) {
    super(`too many levels of symbolic links at ${link.join('/')} (a link loop?)`);
    this.name = 'LinkLoopError';
  }
}

/**
 * Resolve segments below a root the way the operating system would, one component at a time, but
 * refusing any link whose target leaves the root. followLast: false leaves a final link unresolved
 * (remove and rename act on the link itself).
 */
export async function resolveInside(fs: RootedFs, segments: readonly string[], opts: { followLast?: boolean } = {}): Promise<Resolved> {
  const followLast = opts.followLast ?? true;
  const done: string[] = [];
  const todo = [...segments];
  let hops = 0;
  let missing = false;
  let kind: NodeKind = 'dir'; // the root
  while (todo.length > 0) {
    const seg = todo.shift()!;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (done.length === 0) throw new OutsideRootError(undefined);
      done.pop();
      // After a missing component the rest is only a name: '..' is lexical there, as it will be for mkdir.
      if (!missing) kind = 'dir';
      continue;
    }
    const candidate = [...done, seg];
    if (missing) {
      done.push(seg);
      continue;
    }
    const k = await fs.lstat(candidate);
    const last = todo.every((s) => s === '' || s === '.');
    if (k === 'symlink' && (followLast || !last)) {
      if (++hops > MAX_LINK_HOPS) throw new LinkLoopError(candidate);
      const target = fs.parseTarget(await fs.readlink(candidate));
      if (!target) throw new OutsideRootError(candidate);
      if (target.absolute) done.length = 0;
      todo.unshift(...target.segments);
      kind = 'dir';
      continue;
    }
    done.push(seg);
    kind = k;
    if (k === 'missing') missing = true;
  }
  return { segments: done, kind };
}

/**
 * Split a link target into segments, for a root whose own absolute form is rootSegments (and, when
 * the root itself sits behind links, its real form too). An absolute target is inside only when it
 * starts with one of those; a relative one is left to resolveInside, which refuses a climb out.
 */
export function targetParser(
  isAbsolute: (t: string) => boolean,
  split: (t: string) => string[],
  roots: readonly (readonly string[])[],
  caseInsensitive: boolean,
): RootedFs['parseTarget'] {
  const same = caseInsensitive ? (a: string, b: string) => a.toLowerCase() === b.toLowerCase() : (a: string, b: string) => a === b;
  return (target) => {
    if (target.includes('\0')) return undefined;
    const segs = split(target).filter((s) => s !== '' && s !== '.');
    if (!isAbsolute(target)) return { absolute: false, segments: segs };
    for (const root of roots) {
      if (segs.length < root.length) continue;
      if (root.every((r, i) => same(r, segs[i]!))) return { absolute: true, segments: segs.slice(root.length) };
    }
    return undefined;
  };
}

/**
 * Folders seen as real folders (not links) in the last second: a collection asks about the same
 * parents for every file, and each lstat is a round trip over SFTP or a thread-pool job locally.
 * Only plain folders are remembered, never links or files, and only briefly.
 */
export class FolderCache {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly ttlMs = 1000,
    private readonly max = 10_000,
  ) {}

  /** lstat through the cache: a folder seen within ttlMs is not asked again. */
  wrap(key: (segments: readonly string[]) => string, lstat: RootedFs['lstat']): RootedFs['lstat'] {
    return async (segments) => {
      const k = key(segments);
      const until = this.seen.get(k);
      if (until !== undefined && until > Date.now()) return 'dir';
      const kind = await lstat(segments);
      if (kind === 'dir') {
        if (this.seen.size >= this.max) this.seen.clear();
        this.seen.set(k, Date.now() + this.ttlMs);
      } else this.seen.delete(k);
      return kind;
    };
  }
}
