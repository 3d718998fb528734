// Time buckets of the incident timeline: one minute, widened for long windows so that a window is
// never cut into more than MAX_BUCKETS (a week at 1,440 buckets is 7-minute buckets). Counts and
// distinct users per bucket, as plain data that crosses to worker threads and merges.

export const MAX_BUCKETS = 1440;
export const MIN_BUCKET_MS = 60_000;
/** Distinct users remembered per bucket; beyond it the bucket's count is a lower bound (said in `usersCapped`). */
export const MAX_USERS_PER_BUCKET = 10_000;

export interface Bucketing {
  fromMs: number;
  /** The window's end, inclusive: a time exactly there counts in the last bucket. */
  toMs: number;
  bucketMs: number;
  count: number;
}

/**
 * Whole minutes wide, at most MAX_BUCKETS over [fromMs, toMs]: 08:00-12:00 is 240 one-minute
 * buckets (12:00:00.000 itself, the inclusive end, counts in the last), 24 h is 1,440, a week 1,440
 * of 7 minutes.
 */
export function bucketing(fromMs: number, toMs: number): Bucketing {
  const span = Math.max(1, toMs - fromMs);
  const minutes = Math.max(1, Math.ceil(span / MIN_BUCKET_MS / MAX_BUCKETS));
  const bucketMs = minutes * MIN_BUCKET_MS;
  return { fromMs, toMs, bucketMs, count: Math.max(1, Math.ceil(span / bucketMs)) };
}

/** The bucket a time falls in, or -1 outside the window. */
export function bucketOf(b: Bucketing, ms: number): number {
  if (ms < b.fromMs || ms > b.toMs) return -1;
  return Math.min(b.count - 1, Math.floor((ms - b.fromMs) / b.bucketMs));
}

export interface PlainBuckets {
  bucketing: Bucketing;
  counts: number[];
  users: [number, string[]][];
  usersCapped: boolean;
}

/** Counts per bucket and the distinct users of each. */
export class BucketCounts {
  readonly counts: number[];
  /** bucket -> users seen in it (only buckets with a user). */
  readonly users = new Map<number, Set<string>>();
  usersCapped = false;

  constructor(readonly bucketing: Bucketing) {
    this.counts = new Array<number>(bucketing.count).fill(0);
  }

  add(ms: number, users: Iterable<string> = []): void {
    const i = bucketOf(this.bucketing, ms);
    if (i < 0) return;
    this.counts[i]++;
    this.addUsers(i, users);
  }

  private addUsers(i: number, users: Iterable<string>): void {
    for (const u of users) {
      let set = this.users.get(i);
      if (!set) this.users.set(i, (set = new Set()));
      if (set.size >= MAX_USERS_PER_BUCKET && !set.has(u)) {
        this.usersCapped = true;
        continue;
      }
      set.add(u);
    }
  }

  merge(o: BucketCounts): void {
    for (let i = 0; i < this.counts.length && i < o.counts.length; i++) this.counts[i] += o.counts[i];
    for (const [i, set] of o.users) this.addUsers(i, set);
    this.usersCapped ||= o.usersCapped;
  }

  toPlain(): PlainBuckets {
    return { bucketing: this.bucketing, counts: this.counts, users: [...this.users].map(([i, s]) => [i, [...s]]), usersCapped: this.usersCapped };
  }

  static fromPlain(p: PlainBuckets): BucketCounts {
    const b = new BucketCounts(p.bucketing);
    p.counts.forEach((n, i) => (b.counts[i] = n));
    for (const [i, users] of p.users) b.addUsers(i, users);
    b.usersCapped = p.usersCapped;
    return b;
  }
}
