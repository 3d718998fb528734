// The built-in performance thresholds, as data, in the spirit of PAL (Performance Analysis of Logs):
// each names a counter (instance wildcards allowed), a test, a limit, how long it must hold and what a
// finding suggests. docs/perf-findings.md lists them (a test keeps the table and this data in step);
// the farm file's "perf" section tunes, disables or adds to them (effectiveThresholds).
import { ConfigError } from '../errors.js';
import { nearestWord } from '../farm/did-you-mean.js';
import { wildcardMatch as matchWildcard } from '../farm/glob.js';
import { parsePdhCounterPath, type PdhCounter } from '../logs/perfmon.js';
import type { PerfThreshold } from './timeline-model.js';

const MIN = 60_000;

/** The built-in thresholds. Ids are stable: the farm file and `check` (perf.<family>) name them. */
export const BUILTIN_PERF_THRESHOLDS: readonly PerfThreshold[] = [
  {
    id: 'cpu.busy',
    counter: '\\Processor(_Total)\\% Processor Time',
    test: 'above',
    limit: 80,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'CPU above 80% for minutes: the server is near saturation; see which process uses it (\\Process(*)\\% Processor Time) and whether load or a loop explains it',
  },
  {
    id: 'cpu.saturated',
    counter: '\\Processor(_Total)\\% Processor Time',
    test: 'above',
    limit: 90,
    sustainMs: 5 * MIN,
    severity: 'critical',
    explanation: 'CPU above 90% for minutes: requests queue and time out; find the busy process and the work it was doing (Tracer at that time), check for runaway threads',
  },
  {
    id: 'memory.available-low',
    counter: '\\Memory\\Available MBytes',
    test: 'below',
    limit: 500,
    sustainMs: 5 * MIN,
    severity: 'critical',
    explanation: 'under 500 MB of RAM free: Windows trims working sets and pages hard; look for a process whose Private Bytes grew (a leak) or add memory',
  },
  {
    id: 'memory.committed-high',
    counter: '\\Memory\\% Committed Bytes In Use',
    test: 'above',
    limit: 90,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'over 90% of the commit limit (RAM + page file) in use: allocations may soon fail (OutOfMemory); find the process holding the memory, check the page file size',
  },
  {
    id: 'disk.read-latency',
    counter: '\\*Disk(*)\\Avg. Disk sec/Read',
    test: 'above',
    limit: 0.025,
    sustainMs: 5 * MIN,
    severity: 'critical',
    explanation: 'disk reads slower than 25 ms on average: the storage is overloaded or failing; check the disk/SAN, antivirus scanning and what reads (database, logs)',
  },
  {
    id: 'disk.write-latency',
    counter: '\\*Disk(*)\\Avg. Disk sec/Write',
    test: 'above',
    limit: 0.025,
    sustainMs: 5 * MIN,
    severity: 'critical',
    explanation: 'disk writes slower than 25 ms on average: the storage is overloaded or its write cache is off; check the disk/SAN and heavy writers (logging, database log)',
  },
  {
    id: 'disk.queue-length',
    counter: '\\*Disk(*)\\Avg. Disk Queue Length',
    test: 'above',
    limit: 10,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'more than 10 I/O requests waiting on the disk: it cannot keep up; read together with the disk latency, check what does the I/O',
  },
  {
    id: 'disk.free-space-low',
    counter: '\\LogicalDisk(*)\\% Free Space',
    test: 'below',
    limit: 10,
    sustainMs: 0,
    severity: 'warning',
    explanation: 'under 10% free on a volume: logs, temp files and the database may soon fail to grow; clean up or extend the volume',
  },
  {
    id: 'disk.free-space-critical',
    counter: '\\LogicalDisk(*)\\% Free Space',
    test: 'below',
    limit: 5,
    sustainMs: 0,
    severity: 'critical',
    explanation: 'under 5% free on a volume: writes (Tracer logs, database, page file) are about to fail; free space now',
  },
  {
    id: 'paging.pages-high',
    counter: '\\Memory\\Pages/sec',
    test: 'above',
    limit: 1000,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'over 1000 pages/s to or from disk: with low Available MBytes this is memory pressure (thrashing); otherwise often memory-mapped file I/O',
  },
  {
    id: 'paging.file-usage',
    counter: '\\Paging File(_Total)\\% Usage',
    test: 'above',
    limit: 70,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'page file over 70% used: more memory is committed than RAM holds; find the process that grew, check the page file size',
  },
  {
    id: 'process.handle-growth',
    counter: '\\Process(*)\\Handle Count',
    test: 'growth',
    limit: 1000,
    sustainMs: 30 * MIN,
    severity: 'warning',
    explanation: 'a process kept opening handles (1000+ more over half an hour, mostly rising): a handle leak; note the process and its version, a restart only hides it',
  },
  {
    id: 'process.thread-growth',
    counter: '\\Process(*)\\Thread Count',
    test: 'growth',
    limit: 100,
    sustainMs: 30 * MIN,
    severity: 'warning',
    explanation: 'a process kept creating threads (100+ more over half an hour, mostly rising): a thread leak or blocked work piling up; take a dump while it grows',
  },
  {
    id: 'process.private-bytes-growth',
    counter: '\\Process(*)\\Private Bytes',
    test: 'growth',
    limit: 500 * 1024 * 1024,
    sustainMs: 30 * MIN,
    severity: 'warning',
    explanation: 'a process grew by 500 MB+ of private memory over half an hour, mostly rising: a memory leak or an unbounded cache; take a memory dump while it grows',
  },
  {
    id: 'dotnet.gc-time',
    counter: '\\.NET CLR Memory(*)\\% Time in GC',
    test: 'above',
    limit: 20,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'a .NET process spent over 20% of its time in garbage collection: memory pressure inside the process (large allocations, a leak); check its Private Bytes',
  },
  {
    id: 'dotnet.exceptions',
    counter: '\\.NET CLR Exceptions(*)\\# of Exceps Thrown / sec',
    test: 'above',
    limit: 100,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'a .NET process threw over 100 exceptions per second: errors handled in a loop cost CPU; the Tracer and Application log at that time say which',
  },
  {
    id: 'aspnet.requests-queued',
    counter: '\\ASP.NET\\Requests Queued',
    test: 'above',
    limit: 10,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'ASP.NET requests waiting for a thread: the web tier is saturated or blocked on a slow backend (database, scheduling service); users see slow pages',
  },
  {
    id: 'aspnet.application-queue',
    counter: '\\ASP.NET Applications(__Total__)\\Requests In Application Queue',
    test: 'above',
    limit: 10,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'requests waiting in the application queue: worker threads are all busy, often waiting on the database or a lock; check SQL blocking at the same time',
  },
  {
    id: 'sql.blocked-processes',
    counter: '\\*:General Statistics\\Processes blocked',
    test: 'above',
    limit: 0,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'SQL Server sessions stayed blocked for minutes: lock contention; find the head blocker (sys.dm_exec_requests, blocked process report)',
  },
  {
    id: 'sql.page-life-expectancy',
    counter: '\\*:Buffer Manager\\Page life expectancy',
    test: 'below',
    limit: 300,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'SQL Server keeps pages in memory under 5 minutes: its buffer pool is too small for the load or a query scans a lot; check max server memory and heavy queries',
  },
  {
    id: 'sql.lock-wait-time',
    counter: '\\*:Locks(_Total)\\Average Wait Time (ms)',
    test: 'above',
    limit: 500,
    sustainMs: 5 * MIN,
    severity: 'warning',
    explanation: 'SQL Server lock requests waited over 500 ms on average: blocking slows every call that touches those rows; find the blocking sessions and long transactions',
  },
];

/** Ids of the built-in thresholds (the farm file's perf.thresholds may name only these). */
export const BUILTIN_PERF_THRESHOLD_IDS: readonly string[] = BUILTIN_PERF_THRESHOLDS.map((t) => t.id);

/** A threshold's family: the part of its id before the first dot ("cpu" for "cpu.busy"); `check` has one perf.<family> per family. */
export function perfFamily(id: string): string {
  const dot = id.indexOf('.');
  return dot > 0 ? id.slice(0, dot) : id;
}

/** The families of the built-in thresholds, in table order; an extra threshold of another family is checked as "other". */
export const PERF_FAMILIES: readonly string[] = [...new Set(BUILTIN_PERF_THRESHOLDS.map((t) => perfFamily(t.id)))];

/**
 * Instances that add up the others. A per-instance wildcard (`(*)`) leaves them out: a leak or a
 * busy disk is per process/disk, and `_Total` would report the same thing twice. Name them in the
 * pattern to watch them.
 */
const AGGREGATE_INSTANCES = new Set(['_total', '__total__', '_global_', 'idle']);

/** Longest counter pattern accepted (the farm file's extra thresholds are bounded by this). */
export const MAX_COUNTER_PATTERN = 512;

/** Whether `text` matches a wildcard `pattern` (`*` any run, `?` one character), case-insensitive, in linear steps (never a backtracking regex). */
export function wildcardMatch(pattern: string, text: string): boolean {
  return matchWildcard(pattern.toLowerCase(), text.toLowerCase());
}

interface PatternParts {
  object: string;
  instance?: string;
  counter: string;
}

/** A counter pattern's object, instance and counter (as a counter path is split), or undefined when it is not one. */
export function parseCounterPattern(pattern: string): PatternParts | undefined {
  // A pattern names no machine: the thresholds apply to every server's counters.
  if (pattern.length > MAX_COUNTER_PATTERN || pattern.startsWith('\\\\')) return undefined;
  const c = parsePdhCounterPath(pattern);
  return c && { object: c.object, instance: c.instance, counter: c.counter };
}

/**
 * Whether a log's counter is one a threshold pattern names. Object, instance and counter are matched
 * apart, each with wildcards; a pattern without an instance names only counters without one, and the
 * instance wildcard `*` alone leaves out the aggregate instances (_Total, __Total__, _Global_, Idle).
 */
export function counterMatches(pattern: string, counter: Pick<PdhCounter, 'object' | 'instance' | 'counter'>): boolean {
  const p = parseCounterPattern(pattern);
  if (!p) return false;
  if (!wildcardMatch(p.object, counter.object) || !wildcardMatch(p.counter, counter.counter)) return false;
  if (p.instance === undefined) return counter.instance === undefined;
  if (counter.instance === undefined) return false;
  if (p.instance === '*' && AGGREGATE_INSTANCES.has(counter.instance.toLowerCase())) return false;
  return wildcardMatch(p.instance, counter.instance);
}

/** The farm file's tuning of one built-in threshold. */
export interface PerfThresholdOverride {
  id: string;
  limit?: number;
  sustainMs?: number;
  severity?: 'warning' | 'critical';
  /** false: the threshold is not applied. */
  enabled?: boolean;
}

/** The farm file's "perf" section. */
export interface PerfSettings {
  thresholds?: readonly PerfThresholdOverride[];
  /** Further thresholds, in full. */
  extra?: readonly PerfThreshold[];
}

/**
 * The thresholds in force: the built-in ones with the farm file's overrides applied (disabled ones
 * left out), then its extra ones. The farm schema has validated the section already; an unknown id
 * here (a caller passing its own settings) is still a clear error.
 */
export function effectiveThresholds(settings?: PerfSettings): PerfThreshold[] {
  const overrides = new Map<string, PerfThresholdOverride>();
  for (const o of settings?.thresholds ?? []) {
    if (!BUILTIN_PERF_THRESHOLD_IDS.includes(o.id)) {
      const near = nearestWord(o.id, BUILTIN_PERF_THRESHOLD_IDS, 3);
      throw new ConfigError(`perf.thresholds: unknown threshold "${o.id}"${near ? ` (did you mean "${near}"?)` : ''}`, {
        code: 'FARM_INVALID',
        hint: 'docs/perf-findings.md lists the built-in threshold ids',
      });
    }
    overrides.set(o.id, { ...overrides.get(o.id), ...o });
  }
  const out: PerfThreshold[] = [];
  for (const t of BUILTIN_PERF_THRESHOLDS) {
    const o = overrides.get(t.id);
    if (o?.enabled === false) continue;
    out.push({ ...t, limit: o?.limit ?? t.limit, sustainMs: o?.sustainMs ?? t.sustainMs, severity: o?.severity ?? t.severity });
  }
  for (const t of settings?.extra ?? []) out.push({ ...t });
  return out;
}

/** What a threshold's condition reads as, for the docs and messages: "> 90", "< 500", "rise >= 1000". */
export function describeCondition(t: Pick<PerfThreshold, 'test' | 'limit'>): string {
  if (t.test === 'above') return `> ${t.limit}`;
  if (t.test === 'below') return `< ${t.limit}`;
  return `rise >= ${t.limit}`;
}

/** A duration as the docs say it: "5 min", "30 s", "any sample". */
export function describeSustain(ms: number): string {
  if (ms === 0) return 'any sample';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % MIN === 0) return `${ms / MIN} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** The Markdown table of docs/perf-findings.md (a test keeps the doc equal to this). */
export function thresholdTable(thresholds: readonly PerfThreshold[] = BUILTIN_PERF_THRESHOLDS): string {
  const cell = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\*/g, '\\*').replace(/_/g, '\\_');
  const rows = thresholds.map((t) => `| \`${t.id}\` | \`${t.counter.replace(/`/g, "'")}\` | ${cell(describeCondition(t))} | ${describeSustain(t.sustainMs)} | ${t.severity} | ${cell(t.explanation)} |`);
  return ['| id | counter | condition | sustain | severity | why, and what to check |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
