// incident prefill: everything the farm and its logs can tell SAP about an incident, gathered in one
// pass over the servers, plus the answers only a person can give. Never prints or prompts: the
// command (or collect) renders it.
import pLimit from 'p-limit';
import type { Farm } from '../farm/load.js';
import type { Transport } from '../farm/transports/transport.js';
import type { TimeWindow } from '../logs/window.js';
import { compileUserPatterns, DEFAULT_ERROR_TOKENS, DEFAULT_USER_PATTERNS } from './tracer-errors.js';
import type { ChangeEvent, ChangeKind } from './events.js';
import { effectiveClockOffset, farmLogSource, firstErrorOf, probeFacts, reachServers, scanServerLogs, type LogWarn, type ServerProbeFacts, type ServerScan } from './server-logs.js';
import { missingAnswers, questionsFor, type Environment, type IncidentAnswers, type Question } from './questions.js';
import { suggestPriority, type PrioritySuggestion } from './priority.js';
import { plural } from '../format.js';
import { effectiveThresholds } from './perf-thresholds.js';
import { scanServerPerf, type ServerPerfScan } from './perf-scan.js';
import type { PerfFinding } from './timeline-model.js';

export const PREFILL_SCHEMA = 'clk-support/incident-prefill/v1';
export const COMPONENT_TECHNICAL = 'XX-PART-CLK';
export const COMPONENT_LICENSING = 'XX-PART-CLK-LKY';
export const DEFAULT_CHANGE_LOOKBACK_MS = 7 * 86_400_000;

export type Topic = 'auto' | 'technical' | 'license';

export interface PrefillOptions {
  window: TimeWindow;
  /** Server names (all when absent). */
  servers?: readonly string[];
  topic?: Topic;
  answers?: IncidentAnswers;
  /** The bundle from collect, listed as the attachment. */
  bundlePath?: string;
  signal?: AbortSignal;
  /** Already open transports (collect's); their servers are not probed again and are left open. */
  transports?: Map<string, Transport>;
  /** Changes are looked for from here; default 7 days before the window. */
  changesSince?: Date;
  errorTokens?: readonly string[];
  userPatterns?: readonly string[];
  now?: Date;
  /** false: scan Tracer files on this thread only (no worker threads). */
  parallel?: boolean;
  onProgress?: (message: string) => void;
}

/** What the probe says (reachable, version, clock offset and correction), then what the logs say. */
export interface ServerFacts extends Omit<ServerProbeFacts, 'clockError'> {
  name: string;
  role: string;
  /** On a different version/build from most of the farm. */
  differs: boolean;
  tracer: { files: number; bytes: number; errorLines: number; undated: number; users: string[]; licenseLines: number };
  events: { channelsRead: string[]; channelsMissing: string[]; errorEvents: number; users: string[]; licenseEvents: number; topSources: { source: string; count: number }[] };
  firstError?: { time: string; source: 'tracer' | 'eventlog'; detail: string };
}

export interface IncidentPrefill {
  schema: typeof PREFILL_SCHEMA;
  generatedAt: string;
  window: { from: string; to: string };
  component: { id: string; reason: string };
  priority: PrioritySuggestion;
  farm: { name: string; customerNumber: string; installationNumber: string; systemId: string; environment: Environment; product: string; file: string };
  servers: ServerFacts[];
  versions: { mismatch: boolean; byVersion: Record<string, string[]>; majority?: string; differing: string[] };
  firstOccurrence?: { time: string; server: string; source: 'tracer' | 'eventlog'; detail: string };
  affectedUsers: {
    total: number;
    users: string[];
    perServer: { server: string; count: number; tracer: number; eventlog: number }[];
    method: string;
  };
  changes: {
    since: string;
    events: { time: string; server: string; kind: ChangeKind; what: string; source: string }[];
    files: { time: string; server: string; path: string; size: number }[];
  };
  /** What the Performance Monitor CSVs show in the window (docs/perf-findings.md). */
  perf: PrefillPerf;
  attachments: { name: string; path?: string; note: string }[];
  answers: IncidentAnswers;
  /** Required answers still missing (flag names). */
  missing: { id: string; flag: string; prompt: string }[];
  warnings: string[];
  /** Logs of reached servers that could not be listed or read (also in the warnings): the facts are partial (exit 3). */
  unread: string[];
}

export interface PrefillPerfServer {
  server: string;
  /** CSV files analysed, and their samples inside the window. */
  files: number;
  samples: number;
  /** .blg files seen, not analysed (binary; relog converts them on Windows). */
  blg: number;
  findings: PerfFinding[];
  /** Why there is nothing to show, said plainly ("no perfmon CSV in the window", "not reachable", ...). */
  note?: string;
}

export interface PrefillPerf {
  servers: PrefillPerfServer[];
}

/** A server's perf scan as the prefill shows it. */
function prefillPerfServer(name: string, scan: ServerPerfScan | undefined, reachable: boolean): PrefillPerfServer {
  if (!reachable) return { server: name, files: 0, samples: 0, blg: 0, findings: [], note: 'not reachable: its counters were not read' };
  if (!scan) return { server: name, files: 0, samples: 0, blg: 0, findings: [], note: 'perfmon logs not read' };
  const analysed = scan.files.filter((f) => !f.problem);
  const samples = analysed.reduce((n, f) => n + f.rows, 0);
  const out: PrefillPerfServer = { server: name, files: analysed.length, samples, blg: scan.blg.length, findings: scan.findings };
  if (scan.dirError && analysed.length === 0) out.note = `perfmon logs could not be read: ${scan.dirError}`;
  else if (scan.none) out.note = `no perfmon CSV in the window (${scan.none})`;
  else if (analysed.length === 0) out.note = `no perfmon CSV in the window (${plural(scan.files.length, 'CSV file')} could not be read)`;
  else if (samples === 0) out.note = `no perfmon CSV in the window (${plural(analysed.length, 'CSV file')} read, no sample inside it)`;
  return out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The version most servers run (on a tie, the newest: the older ones are the odd ones out); the others "differ". */
export function majorityVersion(byVersion: Record<string, string[]>): string | undefined {
  return Object.entries(byVersion).sort((a, b) => b[1].length - a[1].length || b[0].localeCompare(a[0], 'en', { numeric: true }))[0]?.[0];
}

export async function prefillIncident(farm: Farm, opts: PrefillOptions): Promise<IncidentPrefill> {
  const warnings: string[] = [];
  const unread: string[] = [];
  const warn: LogWarn = (m, isUnread) => {
    warnings.push(m);
    if (isUnread) unread.push(m);
  };
  const now = opts.now ?? new Date();
  const fromMs = opts.window.from.getTime();
  const toMs = opts.window.to.getTime();
  const changesFromMs = opts.changesSince?.getTime() ?? fromMs - DEFAULT_CHANGE_LOOKBACK_MS;
  const tokens = opts.errorTokens?.length ? opts.errorTokens : DEFAULT_ERROR_TOKENS;
  const patternSources = opts.userPatterns?.length ? opts.userPatterns : DEFAULT_USER_PATTERNS;
  compileUserPatterns(patternSources); // bad patterns fail here, before any server is read
  const thresholds = effectiveThresholds(farm.perf);
  const names = opts.servers?.length ? new Set(opts.servers.map((s) => s.toLowerCase())) : undefined;
  const servers = farm.servers.filter((s) => !names || names.has(s.name.toLowerCase()));

  // Reach the servers (or take collect's open transports), reading versions and clock offsets.
  opts.onProgress?.(`probing ${plural(servers.filter((s) => !opts.transports?.has(s.name)).length, 'server')}`);
  const reached = await reachServers(farm, servers, opts.transports, opts.signal);
  const { probes, transports } = reached;

  const scans = new Map<string, ServerScan>();
  const perfScans = new Map<string, ServerPerfScan>();
  try {
    const limit = pLimit(farm.settings.concurrency);
    await Promise.all(
      servers.map((s) =>
        limit(async () => {
          const t = transports.get(s.name);
          const p = probes.get(s.name);
          if (!t || !p?.reachable) return;
          opts.onProgress?.(`reading logs of ${s.name}`);
          const offset = effectiveClockOffset(p.identity?.clock);
          if (p.identity?.clockError) warn(`${s.name}: clock offset unknown (${p.identity.clockError}); its times are taken as they are`);
          scans.set(s.name, await scanServerLogs(farmLogSource(t, s), offset, { fromMs, toMs, changesFromMs, tokens, patternSources, parallel: opts.parallel, signal: opts.signal, warn }));
          // Performance Monitor CSVs: the findings inside the window, after the clock correction.
          const perf = await scanServerPerf(t, s, thresholds, { window: opts.window, shiftMs: offset, signal: opts.signal });
          if (perf.dirError) warn(`${s.name}: perfmon logs: ${perf.dirError}`, perf.dirUnread);
          for (const f of perf.files) if (f.unreadable) warn(`${s.name}: ${f.path}: ${f.problem}`, true);
          perfScans.set(s.name, perf);
        }),
      ),
    );
  } finally {
    // Only what we opened is ours to close.
    await reached.close();
  }

  // Versions.
  const byVersion: Record<string, string[]> = {};
  for (const s of servers) {
    const v = probes.get(s.name)?.identity?.product?.version;
    if (v) (byVersion[v] ??= []).push(s.name);
  }
  const majority = majorityVersion(byVersion);
  const mismatch = Object.keys(byVersion).length > 1;
  const differing = mismatch ? Object.entries(byVersion).filter(([v]) => v !== majority).flatMap(([, n]) => n) : [];

  // Per-server facts.
  const allUsers = new Set<string>();
  let firstOccurrence: IncidentPrefill['firstOccurrence'];
  let errorLines = 0;
  let licenseHits = 0;
  let errorEvents = 0;
  const facts: ServerFacts[] = servers.map((s) => {
    const scan = scans.get(s.name);
    const { clockError: _unused, ...pf } = probeFacts(probes.get(s.name));
    const tracerUsers = scan ? [...scan.tally.users.keys()].sort() : [];
    const ev = scan?.events;
    const eventUsers = ev ? [...ev.errors.users.keys()].sort() : [];
    for (const u of tracerUsers) allUsers.add(u);
    for (const u of eventUsers) allUsers.add(u);
    errorLines += scan?.tally.errorLines ?? 0;
    errorEvents += ev?.errors.errorEvents ?? 0;
    licenseHits += (scan?.tally.licenseLines ?? 0) + (ev?.errors.licenseEvents ?? 0);
    const first = firstErrorOf(scan);
    const firstError: ServerFacts['firstError'] = first && { time: iso(first.ms), source: first.source, detail: first.detail };
    if (firstError && (!firstOccurrence || firstError.time < firstOccurrence.time)) firstOccurrence = { ...firstError, server: s.name };
    return {
      name: s.name,
      role: s.role,
      ...pf,
      differs: differing.includes(s.name),
      tracer: {
        files: scan?.files ?? 0,
        bytes: scan?.tally.bytes ?? 0,
        errorLines: scan?.tally.errorLines ?? 0,
        undated: scan?.tally.undated ?? 0,
        users: tracerUsers,
        licenseLines: scan?.tally.licenseLines ?? 0,
      },
      events: {
        channelsRead: ev?.channelsRead ?? [],
        channelsMissing: ev?.channelsMissing ?? [],
        errorEvents: ev?.errors.errorEvents ?? 0,
        users: eventUsers,
        licenseEvents: ev?.errors.licenseEvents ?? 0,
        topSources: ev ? [...ev.errors.sources.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([source, count]) => ({ source, count })) : [],
      },
      firstError,
    };
  });
  for (const f of facts) if (!f.reachable) warn(`${f.name} unreachable${f.reason && f.reason !== 'unreachable' ? ` (${f.reason})` : ''}: its logs are not counted`);

  // Component: licensing when asked, or when license errors are most of what the logs show.
  const topic = opts.topic ?? 'auto';
  const totalErrors = errorLines + errorEvents;
  let component: IncidentPrefill['component'];
  if (topic === 'license') component = { id: COMPONENT_LICENSING, reason: 'licensing topic chosen (--topic license)' };
  else if (topic === 'technical') component = { id: COMPONENT_TECHNICAL, reason: 'technical topic chosen (--topic technical)' };
  else if (totalErrors > 0 && licenseHits * 2 > totalErrors)
    component = { id: COMPONENT_LICENSING, reason: `${licenseHits} of ${plural(totalErrors, 'error')} in the window ${licenseHits === 1 ? 'mentions' : 'mention'} licensing` };
  else component = { id: COMPONENT_TECHNICAL, reason: totalErrors ? `${licenseHits} of ${plural(totalErrors, 'error')} in the window ${licenseHits === 1 ? 'mentions' : 'mention'} licensing (not most)` : 'no errors in the window; technical by default' };

  // Changes.
  const changeEvents: IncidentPrefill['changes']['events'] = [];
  const changedFiles: IncidentPrefill['changes']['files'] = [];
  for (const s of servers) {
    const scan = scans.get(s.name);
    if (!scan) continue;
    // The same update is logged at each retry: keep its first sighting per server.
    const dedup = new Map<string, ChangeEvent>();
    for (const c of scan.events?.changes ?? []) {
      const key = `${c.kind}|${c.what}`;
      const prev = dedup.get(key);
      if (!prev || c.ms < prev.ms) dedup.set(key, c);
    }
    for (const c of dedup.values()) changeEvents.push({ time: iso(c.ms), server: s.name, kind: c.kind, what: c.what, source: `${c.channel}: ${c.provider} ${c.eventId}` });
    for (const f of scan.changedFiles) changedFiles.push({ time: iso(f.ms), server: s.name, path: f.path, size: f.size });
  }
  changeEvents.sort((a, b) => a.time.localeCompare(b.time) || a.server.localeCompare(b.server));
  changedFiles.sort((a, b) => a.time.localeCompare(b.time));

  const env = farm.farm.environment;
  const answers = opts.answers ?? {};
  const users = [...allUsers].sort();
  const priority = suggestPriority(env, answers, users.length, now);
  const missing = missingAnswers(answers, env).map((q: Question) => ({ id: q.id, flag: q.flag, prompt: q.prompt }));
  if ((priority.suggested === 'high' || priority.suggested === 'very-high') && missing.some((m) => questionsFor(env).some((q) => q.id === m.id && q.id !== 'shortDescription' && q.id !== 'steps')))
    warn('SAP requires a business impact for High and Very High incidents: answer the impact questions');

  const attachments: IncidentPrefill['attachments'] = [];
  if (opts.bundlePath) attachments.push({ name: opts.bundlePath.split(/[\\/]/).pop() ?? opts.bundlePath, path: opts.bundlePath, note: 'diagnostic bundle from clk-support collect (event logs .evtx, Tracer logs, Performance Monitor logs, redacted configuration)' });
  else attachments.push({ name: '(none yet)', note: 'run: clk-support collect --from ... --to ... and attach the bundle (SAP asks for Event Viewer .evtx, Tracer and Performance Monitor logs)' });
  attachments.push({ name: 'screenshots', note: 'add screenshots of the error as the user sees it' });

  return {
    schema: PREFILL_SCHEMA,
    generatedAt: now.toISOString(),
    window: { from: opts.window.from.toISOString(), to: opts.window.to.toISOString() },
    component,
    priority,
    farm: { ...farm.farm, file: farm.file },
    servers: facts,
    versions: { mismatch, byVersion, majority, differing },
    firstOccurrence,
    affectedUsers: {
      total: users.length,
      users,
      perServer: facts.map((f) => ({ server: f.name, count: new Set([...f.tracer.users, ...f.events.users]).size, tracer: f.tracer.users.length, eventlog: f.events.users.length })),
      method:
        `distinct user names (case-insensitive, domain dropped) in Tracer lines containing ${tokens.map((t) => `"${t}"`).join(', ')} ` +
        `and matching ${patternSources.length} user pattern(s), plus user accounts (S-1-5-21 SIDs, user-name fields) of Error/Critical events, ` +
        `inside ${iso(fromMs)} .. ${iso(toMs)} after each server's clock offset; ${errorLines} error line(s), ${errorEvents} error event(s)`,
    },
    changes: { since: iso(changesFromMs), events: changeEvents, files: changedFiles },
    perf: { servers: facts.map((f) => prefillPerfServer(f.name, perfScans.get(f.name), f.reachable)) },
    attachments,
    answers,
    missing,
    warnings,
    unread,
  };
}
export { renderIncidentText, renderIncidentMarkdown } from './render.js';

/** Recompute what depends on the answers (after prompting or merging more answers). */
export function withAnswers(p: IncidentPrefill, answers: IncidentAnswers, now = new Date()): IncidentPrefill {
  const env = p.farm.environment;
  return {
    ...p,
    answers,
    priority: suggestPriority(env, answers, p.affectedUsers.total, now),
    missing: missingAnswers(answers, env).map((q) => ({ id: q.id, flag: q.flag, prompt: q.prompt })),
  };
}
