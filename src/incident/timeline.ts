// The farm-wide incident timeline: every server's Tracer errors, Error/Critical events, affected
// users and Performance Monitor counters per time bucket, in UTC after each server's clock offset,
// with changes and the first occurrence as marks. Built from ServerLogSources, so the live farm
// and a bundle read offline give the same data. Streaming: memory is bounded by the buckets and
// the capped counter series, not by the size of the logs.
import pLimit from 'p-limit';
import type { Farm } from '../farm/load.js';
import type { Transport } from '../farm/transports/transport.js';
import { readLines } from '../logs/lines.js';
import { NotPdhCsvError, readPdhSamples, type PdhCounter, type PdhSample, type PdhSamplesInfo } from '../logs/perfmon.js';
import type { TimeWindow } from '../logs/window.js';
import { errorMessage } from '../errors.js';
import { plural } from '../format.js';
import { bucketing, bucketOf, type Bucketing } from './buckets.js';
import type { ChangeKind } from './events.js';
import { compileUserPatterns, DEFAULT_ERROR_TOKENS, DEFAULT_USER_PATTERNS } from './tracer-errors.js';
import { farmLogSource, firstErrorOf, probeFacts, reachServers, scanServerLogs, type LogWarn, type ServerLogSource, type ServerProbeFacts, type ServerScan } from './server-logs.js';
import { PerfAnalyzer } from './perf-findings.js';
import { MAX_SERVER_FINDINGS } from './perf-scan.js';
import { effectiveThresholds } from './perf-thresholds.js';
import { TIMELINE_SCHEMA, type PerfFinding, type PerfThreshold, type Timeline, type TimelineMark, type TimelineMarkKind, type TimelineSeries, type TimelineServer } from './timeline-model.js';

/** Counter series kept per server and in all; the others are named in a warning. */
export const MAX_COUNTER_SERIES_PER_SERVER = 24;
export const MAX_COUNTER_SERIES = 96;
/** Marks kept (changes, service starts/stops, modified files); the others are counted in a warning. */
export const MAX_MARKS = 2000;

type Category = NonNullable<TimelineSeries['category']>;

/**
 * The counters that matter for an incident, in the order they are kept when the cap is reached.
 * Matched on the path without the machine, case-insensitively; the instance is free where `*`.
 */
export const COUNTER_RULES: readonly { re: RegExp; category: Category; unit: string }[] = [
  { re: /^\\Processor(?: Information)?\(_Total\)\\% Processor Time$/i, category: 'cpu', unit: '%' },
  { re: /^\\System\\Processor Queue Length$/i, category: 'cpu', unit: 'count' },
  { re: /^\\Memory\\Available MBytes$/i, category: 'memory', unit: 'MB' },
  { re: /^\\Memory\\Available Bytes$/i, category: 'memory', unit: 'bytes' },
  { re: /^\\Memory\\% Committed Bytes In Use$/i, category: 'memory', unit: '%' },
  { re: /^\\Memory\\Pages\/sec$/i, category: 'paging', unit: '/s' },
  { re: /^\\Memory\\Page Faults\/sec$/i, category: 'paging', unit: '/s' },
  { re: /^\\Paging File\([^)]*\)\\% Usage$/i, category: 'paging', unit: '%' },
  { re: /^\\(?:Logical|Physical)Disk\([^\\]*\)\\(?:Avg\.|Current) Disk Queue Length$/i, category: 'disk', unit: 'count' },
  { re: /^\\(?:Logical|Physical)Disk\([^\\]*\)\\Avg\. Disk sec\/(?:Read|Write|Transfer)$/i, category: 'disk', unit: 's' },
  { re: /^\\ASP\.NET[^\\]*\\Requests (?:Queued|Current|In Application Queue|Rejected)$/i, category: 'aspnet', unit: 'count' },
  { re: /^\\ASP\.NET[^\\]*\\Request (?:Wait|Execution) Time$/i, category: 'aspnet', unit: 'ms' },
  { re: /^\\\.NET CLR Memory\([^\\]*\)\\% Time in GC$/i, category: 'dotnet', unit: '%' },
  { re: /^\\\.NET CLR LocksAndThreads\([^\\]*\)\\Contention Rate \/ sec$/i, category: 'dotnet', unit: '/s' },
  { re: /^\\\.NET CLR Exceptions\([^\\]*\)\\# of Exceps Thrown \/ sec$/i, category: 'dotnet', unit: '/s' },
  { re: /^\\(?:SQLServer|MSSQL\$[^:\\]+):Wait Statistics\([^\\]*\)\\[^\\]+$/i, category: 'sql', unit: 'ms' },
  { re: /^\\(?:SQLServer|MSSQL\$[^:\\]+):General Statistics\\Processes blocked$/i, category: 'sql', unit: 'count' },
  { re: /^\\(?:SQLServer|MSSQL\$[^:\\]+):Locks\(_Total\)\\(?:Lock Waits\/sec|Lock Wait Time \(ms\))$/i, category: 'sql', unit: 'ms' },
  { re: /^\\Process\((?!_Total\)|Idle\))[^\\]*\)\\(?:Private Bytes|Handle Count|Thread Count)$/i, category: 'process', unit: 'count' },
];

export function counterRule(name: string): { category: Category; unit: string } | undefined {
  const r = COUNTER_RULES.find((x) => x.re.test(name));
  if (!r) return undefined;
  return { category: r.category, unit: /Private Bytes$/i.test(name) ? 'bytes' : r.unit };
}

/** What buildTimeline needs of one server: what its probe (or its facts.json) says, and its logs. */
export interface TimelineServerInput {
  name: string;
  role: string;
  facts: ServerProbeFacts;
  /** Absent when the server could not be reached. */
  logs?: ServerLogSource;
}

export interface TimelineOptions {
  farm: Timeline['farm'];
  source: Timeline['source'];
  window: TimeWindow;
  servers: readonly TimelineServerInput[];
  errorTokens?: readonly string[];
  userPatterns?: readonly string[];
  concurrency?: number;
  parallel?: boolean;
  signal?: AbortSignal;
  now?: Date;
  onProgress?: (message: string) => void;
  /** Said by the source before any log is read (a bundle's cut files), listed first. */
  warnings?: readonly string[];
  /** The performance thresholds (the farm file's, tuned); the built-in ones when absent. */
  thresholds?: readonly PerfThreshold[];
}

export interface TimelineResult {
  timeline: Timeline;
  /** The affected users' names (not in the timeline, which counts them): for --anonymize to replace wherever they appear. */
  users: string[];
  /** Logs of reached servers that could not be listed or read (also in the warnings): a partial timeline. */
  unread: string[];
}

interface CounterAcc {
  server: string;
  name: string;
  category: Category;
  unit: string;
  sum: Float64Array;
  n: Uint32Array;
  max: Float64Array;
}

/** Counter means and maxima per bucket, capped in number of series. */
class CounterBuckets {
  readonly series = new Map<string, CounterAcc>();
  readonly leftOut = new Map<string, Set<string>>();
  private readonly perServer = new Map<string, number>();

  constructor(private readonly b: Bucketing) {}

  /** The accumulator of a counter, or undefined when it is not one that matters or the cap is reached. */
  slot(server: string, c: PdhCounter): CounterAcc | undefined {
    const rule = counterRule(c.name);
    if (!rule) return undefined;
    const key = `${server}\u0000${c.name.toLowerCase()}`;
    const had = this.series.get(key);
    if (had) return had;
    const count = this.perServer.get(server) ?? 0;
    if (count >= MAX_COUNTER_SERIES_PER_SERVER || this.series.size >= MAX_COUNTER_SERIES) {
      const left = this.leftOut.get(server) ?? this.leftOut.set(server, new Set()).get(server)!;
      if (left.size < 1000) left.add(c.name);
      return undefined;
    }
    this.perServer.set(server, count + 1);
    const acc: CounterAcc = { server, name: c.name, ...rule, sum: new Float64Array(this.b.count), n: new Uint32Array(this.b.count), max: new Float64Array(this.b.count).fill(-Infinity) };
    this.series.set(key, acc);
    return acc;
  }

  add(acc: CounterAcc, ms: number, v: number): void {
    const i = bucketOf(this.b, ms);
    if (i < 0) return;
    acc.sum[i] += v;
    acc.n[i]++;
    if (v > acc.max[i]) acc.max[i] = v;
  }
}

const round = (v: number) => (Math.abs(v) >= 100 ? Math.round(v * 10) / 10 : Math.round(v * 1000) / 1000);

const MARK_KIND: Record<ChangeKind, TimelineMarkKind> = {
  'msi-install': 'install',
  'msi-update': 'update',
  'windows-update': 'update',
  servicing: 'update',
  'msi-remove': 'remove',
  'msi-failed': 'failed-install',
  'windows-update-failed': 'failed-install',
  'service-installed': 'service-installed',
  restart: 'restart',
  'service-start': 'service-start',
  'service-stop': 'service-stop',
};

export async function buildTimeline(o: TimelineOptions): Promise<TimelineResult> {
  const warnings: string[] = [...(o.warnings ?? [])];
  // Logs that exist but could not be listed or read: the timeline is then partial (exit 3).
  const unread: string[] = [];
  const warn: LogWarn = (m, isUnread) => {
    warnings.push(m);
    if (isUnread) unread.push(m);
  };
  const fromMs = o.window.from.getTime();
  const toMs = o.window.to.getTime();
  const b = bucketing(fromMs, toMs);
  const tokens = o.errorTokens?.length ? o.errorTokens : DEFAULT_ERROR_TOKENS;
  const patternSources = o.userPatterns?.length ? o.userPatterns : DEFAULT_USER_PATTERNS;
  compileUserPatterns(patternSources); // bad patterns fail here, before any log is read
  const counters = new CounterBuckets(b);
  const scans = new Map<string, ServerScan>();
  const thresholds = o.thresholds ?? effectiveThresholds();
  const findings = new Map<string, PerfFinding[]>();
  let findingsLeft = 0;

  /**
   * Every perfmon sample of a server passes here, once, with its time already corrected: the
   * counter buckets and the performance findings (docs/perf-findings.md).
   */
  const onPerfSamples = async (server: string, fileCounters: readonly PdhCounter[], samples: AsyncIterable<PdhSample>): Promise<void> => {
    const slots = fileCounters.map((c) => counters.slot(server, c));
    const analyzer = new PerfAnalyzer(server, fileCounters, thresholds);
    try {
      for await (const s of samples) {
        analyzer.add(s);
        for (let k = 0; k < slots.length; k++) {
          const v = s.values[k];
          if (slots[k] && v !== null) counters.add(slots[k]!, s.ms, v);
        }
      }
    } finally {
      // What was read before a damaged end still counts.
      const kept = findings.get(server) ?? [];
      for (const f of analyzer.finish()) {
        if (kept.length < MAX_SERVER_FINDINGS) kept.push(f);
        else findingsLeft++;
      }
      findings.set(server, kept);
    }
  };

  const readPerfmon = async (x: TimelineServerInput, logs: ServerLogSource): Promise<void> => {
    const correction = x.facts.clockCorrectionMs;
    const files = await logs.perfmonFiles(warn, o.signal);
    const csv = files.filter((f) => /\.(csv|tsv)$/i.test(f.path));
    const blg = files.filter((f) => /\.blg$/i.test(f.path));
    if (blg.length && !csv.length)
      warn(`${x.name}: Performance Monitor logs are .blg only (${plural(blg.length, 'file')}), which this reader cannot read: relog on Windows converts them (relog FILE.blg -f csv -o FILE.csv), and collect on Windows does it`);
    // The samples' times are the server's: the window is shifted into its clock, and every time back.
    const window = { from: new Date(fromMs + correction), to: new Date(toMs + correction) };
    for (const f of csv) {
      const info: PdhSamplesInfo = { counters: [], skippedCounters: 0, rows: 0, badRows: 0, headerCut: false };
      const samples = readPdhSamples(readLines(logs.read(f, o.signal)), { window }, info);
      // The header is read with the first sample: start the iteration before handing over the counters.
      const first = await samples.next().catch((err: unknown) => {
        if (err instanceof NotPdhCsvError) warn(`${x.name}: ${f.path}: ${err.message}`);
        else if (o.signal?.aborted) throw err;
        else warn(`${x.name}: ${f.path} could not be read: ${errorMessage(err)}`, true);
        return undefined;
      });
      if (!first || first.done) continue;
      const corrected = async function* (): AsyncGenerator<PdhSample> {
        yield { ms: first.value.ms - correction, values: first.value.values };
        for await (const s of samples) yield { ms: s.ms - correction, values: s.values };
      };
      try {
        await onPerfSamples(x.name, info.counters, corrected());
      } catch (err) {
        if (o.signal?.aborted) throw err;
        warn(`${x.name}: ${f.path} could not be read to the end: ${errorMessage(err)}`, true);
      }
      if (info.badRows) warn(`${x.name}: ${f.path}: ${plural(info.badRows, 'row')} without a readable time skipped`);
      if (info.headerCut) warn(`${x.name}: ${f.path}: the header line is too long; counters past the cut are not read`);
    }
  };

  const limit = pLimit(o.concurrency ?? 4);
  await Promise.all(
    o.servers.map((x) =>
      limit(async () => {
        if (!x.logs) return;
        o.onProgress?.(`reading logs of ${x.name}`);
        if (x.facts.clockError) warn(`${x.name}: clock offset unknown (${x.facts.clockError}); its times are taken as they are`);
        scans.set(
          x.name,
          await scanServerLogs(x.logs, x.facts.clockCorrectionMs, {
            fromMs,
            toMs,
            changesFromMs: fromMs,
            tokens,
            patternSources,
            bucketing: b,
            serviceStates: true,
            parallel: o.parallel,
            signal: o.signal,
            warn,
          }),
        );
        await readPerfmon(x, x.logs);
      }),
    ),
  );

  const series: TimelineSeries[] = [];
  const marks: TimelineMark[] = [];
  const allUsers = new Set<string>();
  const perServerUsers: Timeline['users']['perServer'] = [];
  let firstOccurrence: Timeline['firstOccurrence'];
  let marksLeft = 0;
  const mark = (m: TimelineMark) => (marks.length < MAX_MARKS ? marks.push(m) : marksLeft++);
  const iso = (ms: number) => new Date(ms).toISOString();

  for (const x of o.servers) {
    const scan = scans.get(x.name);
    if (!scan) continue;
    const tracer = scan.tally.buckets!;
    // No event-errors series where no channel could be read (a Linux server, an anonymised bundle without .evtx).
    const events = scan.events?.channelsRead.length ? scan.events.errors.buckets : undefined;
    series.push({ server: x.name, kind: 'tracer-errors', name: 'Tracer error lines', unit: 'count', values: [...tracer.counts] });
    if (events) series.push({ server: x.name, kind: 'event-errors', name: 'Error/Critical events', unit: 'count', values: [...events.counts] });
    // Distinct users per bucket: the Tracer's and the event logs' together, one person once.
    const users = tracer.counts.map((_, i) => new Set([...(tracer.users.get(i) ?? []), ...(events?.users.get(i) ?? [])]).size);
    series.push({ server: x.name, kind: 'users', name: 'Affected users', unit: 'users', values: users });
    if (tracer.usersCapped || events?.usersCapped) warn(`${x.name}: more than 10,000 users in one bucket; the users series is a lower bound there`);
    const serverUsers = new Set([...scan.tally.users.keys(), ...(scan.events?.errors.users.keys() ?? [])]);
    serverUsers.forEach((u) => allUsers.add(u));
    perServerUsers.push({ server: x.name, count: serverUsers.size });

    const first = firstErrorOf(scan);
    if (first && (!firstOccurrence || first.ms < Date.parse(firstOccurrence.time))) firstOccurrence = { time: iso(first.ms), server: x.name, source: first.source, detail: first.detail };
    for (const c of scan.events?.changes ?? []) if (c.ms >= fromMs && c.ms <= toMs) mark({ time: iso(c.ms), server: x.name, kind: MARK_KIND[c.kind], label: c.what });
    for (const f of scan.changedFiles) if (f.ms >= fromMs) mark({ time: iso(f.ms), server: x.name, kind: 'file-modified', label: f.path });
  }
  // In the order of the servers, whichever was read first.
  const order = new Map(o.servers.map((x, i) => [x.name, i]));
  for (const acc of [...counters.series.values()].sort((a, b2) => order.get(a.server)! - order.get(b2.server)!)) {
    series.push({
      server: acc.server,
      kind: 'counter',
      name: acc.name,
      category: acc.category,
      unit: acc.unit,
      values: [...acc.sum].map((s, i) => (acc.n[i] ? round(s / acc.n[i]) : null)),
      max: [...acc.max].map((m, i) => (acc.n[i] ? round(m) : null)),
    });
  }
  for (const [server, names] of counters.leftOut)
    warn(`${server}: ${plural(names.size, 'counter')} left out (at most ${MAX_COUNTER_SERIES_PER_SERVER} counter series per server, ${MAX_COUNTER_SERIES} in all): ${[...names].slice(0, 5).join(', ')}${names.size > 5 ? ', ...' : ''}`);
  if (marksLeft) warn(`${plural(marksLeft, 'change')} past the first ${MAX_MARKS} not marked`);
  if (findingsLeft) warn(`${plural(findingsLeft, 'performance finding')} past the first ${MAX_SERVER_FINDINGS} of a server not listed`);
  if (firstOccurrence) marks.push({ time: firstOccurrence.time, server: firstOccurrence.server, kind: 'first-occurrence', label: `first error (${firstOccurrence.source})` });
  marks.sort((a, b2) => a.time.localeCompare(b2.time) || a.server.localeCompare(b2.server));

  const servers: TimelineServer[] = o.servers.map((x) => ({
    name: x.name,
    role: x.role,
    reachable: x.facts.reachable,
    reason: x.facts.reason,
    version: x.facts.version,
    build: x.facts.build,
    clockOffsetMs: x.facts.clockOffsetMs,
    clockCorrectionMs: x.facts.clockCorrectionMs,
  }));
  for (const s of servers) if (!s.reachable) warn(`${s.name} unreachable${s.reason ? ` (${s.reason})` : ''}: its logs are not in the timeline`);

  return {
    timeline: {
      schema: TIMELINE_SCHEMA,
      generatedAt: (o.now ?? new Date()).toISOString(),
      farm: o.farm,
      source: o.source,
      window: { from: iso(fromMs), to: iso(toMs) },
      bucketMs: b.bucketMs,
      buckets: Array.from({ length: b.count }, (_, i) => iso(fromMs + i * b.bucketMs)),
      servers,
      firstOccurrence,
      series,
      marks,
      users: { total: allUsers.size, perServer: perServerUsers },
      findings: o.servers.flatMap((x) => findings.get(x.name) ?? []).sort((a, b) => a.from.localeCompare(b.from) || a.server.localeCompare(b.server)),
      warnings,
    },
    users: [...allUsers].sort(),
    unread,
  };
}

export interface FarmTimelineOptions {
  window: TimeWindow;
  /** Server names (all when absent). */
  servers?: readonly string[];
  /** Already open transports (collect's); left open. */
  transports?: Map<string, Transport>;
  errorTokens?: readonly string[];
  userPatterns?: readonly string[];
  parallel?: boolean;
  signal?: AbortSignal;
  now?: Date;
  onProgress?: (message: string) => void;
}

/** The timeline of the live farm: its servers reached (or collect's transports), their logs read where they are. */
export async function farmTimeline(farm: Farm, o: FarmTimelineOptions): Promise<TimelineResult> {
  const names = o.servers?.length ? new Set(o.servers.map((s) => s.toLowerCase())) : undefined;
  const servers = farm.servers.filter((s) => !names || names.has(s.name.toLowerCase()));
  o.onProgress?.(`probing ${plural(servers.filter((s) => !o.transports?.has(s.name)).length, 'server')}`);
  const reached = await reachServers(farm, servers, o.transports, o.signal);
  try {
    return await buildTimeline({
      farm: { name: farm.farm.name, systemId: farm.farm.systemId, environment: farm.farm.environment },
      source: { kind: 'farm', path: farm.file },
      window: o.window,
      servers: servers.map((s) => {
        const p = reached.probes.get(s.name);
        const t = reached.transports.get(s.name);
        return { name: s.name, role: s.role, facts: probeFacts(p), logs: t && p?.reachable ? farmLogSource(t, s) : undefined };
      }),
      errorTokens: o.errorTokens,
      userPatterns: o.userPatterns,
      thresholds: effectiveThresholds(farm.perf),
      concurrency: farm.settings.concurrency,
      parallel: o.parallel,
      signal: o.signal,
      now: o.now,
      onProgress: o.onProgress,
    });
  } finally {
    await reached.close();
  }
}
