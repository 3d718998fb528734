// A server's logs as the incident scans read them, wherever they are: on the server (through its
// transport) or in a bundle collect wrote (read offline, see src/collect/bundle-logs.ts). Both fill
// ServerLogSource, and one scan (scanServerLogs) serves `incident prefill` and `incident timeline`.
// Times from a source are the server's own; the scan subtracts the server's clock offset once.
import type { Farm } from '../farm/load.js';
import type { ServerConfig } from '../farm/schema.js';
import { probeFarm, type ServerProbe } from '../farm/probe.js';
import { readIdentity } from '../farm/identity.js';
import { glob } from '../farm/glob.js';
import { joinServerPath } from '../farm/paths.js';
import { toTransportError, type Transport } from '../farm/transports/transport.js';
import { parseUtcOffset } from '../logs/timestamps.js';
import { errorMessage } from '../errors.js';
import { fileChunks } from './chunks.js';
import type { Bucketing } from './buckets.js';
import { guessDayFirst } from './day-order.js';
import { channelFile, scanServerEvents, type ChannelFile } from './events.js';
import type { ErrorTally } from './tracer-errors.js';
import { scanTracerFiles, type TracerFile } from './tracer-scan.js';

export interface LogFile {
  /** As the server (or the bundle) names it. */
  path: string;
  size: number;
  /** Last written, by the server's clock, when known (a bundle does not keep it). */
  mtimeMs?: number;
  /** Where it is on this machine, when the server is reached as files (for the worker threads). */
  hostPath?: string;
}

/**
 * How the scans say what they met. `unread` marks a log that exists but could not be listed or read
 * (permissions, a broken session): what is built from the rest is then a partial result (exit 3).
 */
export type LogWarn = (message: string, unread?: boolean) => void;

/** A server's logs, by kind, as streams: what the incident scans need and nothing else. */
export interface ServerLogSource {
  readonly server: string;
  /** Minutes east of UTC that Tracer lines without a zone are written in (logs.tracerUtcOffset). */
  readonly tracerUtcOffsetMinutes: number;
  tracerFiles(warn: LogWarn, signal?: AbortSignal): Promise<LogFile[]>;
  /** Event log channels with a file and those without; undefined when the server keeps none (not Windows). */
  eventLogs(signal?: AbortSignal): Promise<{ files: { channel: string; file: LogFile }[]; missing: string[] } | undefined>;
  /** Performance Monitor logs (.csv and .blg). */
  perfmonFiles(warn: LogWarn, signal?: AbortSignal): Promise<LogFile[]>;
  /** ClickSoftware files and configuration with their times; undefined when the source cannot tell (a bundle). */
  clickSoftwareFiles(warn: LogWarn, signal?: AbortSignal): Promise<LogFile[] | undefined>;
  read(f: LogFile, signal?: AbortSignal): AsyncIterable<Buffer>;
  /** The first bytes of a file (for guessing its day/month order). */
  head(f: LogFile, bytes: number): Promise<Buffer>;
}

/** The logs of a server reached through its transport, where the farm file says they are. */
export function farmLogSource(t: Transport, server: ServerConfig): ServerLogSource {
  const list = async (patterns: readonly string[], warn: LogWarn, what: string, signal?: AbortSignal, maxResults?: number): Promise<LogFile[]> => {
    const seen = new Set<string>();
    const out: LogFile[] = [];
    for (const pattern of patterns) {
      try {
        for (const e of await glob(t, pattern, { signal, maxResults, onSkip: (p, r) => warn(`${server.name}: skipped ${p} (${r})`) })) {
          if (seen.has(e.path)) continue;
          seen.add(e.path);
          out.push({ path: e.path, size: e.size, mtimeMs: e.mtime.getTime(), hostPath: t.hostPathOf(e.path) });
        }
      } catch (err) {
        if (signal?.aborted) throw err;
        warn(`${server.name}: ${what}${pattern} could not be listed: ${errorMessage(err)}`, true);
      }
    }
    return out;
  };
  return {
    server: server.name,
    tracerUtcOffsetMinutes: parseUtcOffset(server.logs.tracerUtcOffset ?? 'Z'),
    tracerFiles: (warn, signal) => list(server.logs.tracerGlobs, warn, 'Tracer logs ', signal),
    async eventLogs() {
      if (server.platform !== 'windows' || !server.logs.eventLogDir) return undefined;
      const files: { channel: string; file: LogFile }[] = [];
      const missing: string[] = [];
      for (const channel of server.logs.eventLogChannels) {
        const path = channelFile(t, server.logs.eventLogDir, channel);
        if (await t.exists(path)) files.push({ channel, file: { path, size: -1 } });
        else missing.push(channel);
      }
      return { files, missing };
    },
    async perfmonFiles(warn, signal) {
      const dir = server.logs.perfmonDir;
      if (!dir) return [];
      return list([joinServerPath(t.platform, dir, '**', '*.csv'), joinServerPath(t.platform, dir, '**', '*.blg')], warn, 'Performance Monitor logs ', signal);
    },
    clickSoftwareFiles: (warn, signal) => list([joinServerPath(t.platform, server.installRoot, '**', '*'), ...server.configGlobs], warn, '', signal, 50_000),
    read(f, signal) {
      if (f.size >= 0) return fileChunks(t, f.path, f.size, signal);
      return (async function* () {
        const stream = await t.createReadStream(f.path);
        try {
          for await (const chunk of stream) yield chunk as Buffer;
        } finally {
          stream.destroy();
        }
      })();
    },
    head: (f, bytes) => t.readAt(f.path, 0, bytes),
  };
}

export interface ServerScan {
  tally: ErrorTally;
  files: number;
  events?: Awaited<ReturnType<typeof scanServerEvents>>;
  /** ClickSoftware files modified in [changesFromMs, toMs], times corrected. */
  changedFiles: { ms: number; path: string; size: number }[];
}

export interface ServerScanOptions {
  fromMs: number;
  toMs: number;
  changesFromMs: number;
  tokens: readonly string[];
  patternSources: readonly string[];
  /** Count errors and users per time bucket too (the timeline). */
  bucketing?: Bucketing;
  /** Report services starting and stopping as changes (the timeline). */
  serviceStates?: boolean;
  parallel?: boolean;
  signal?: AbortSignal;
  warn: LogWarn;
}

/** Tracer error lines, event log errors and changes, and modified ClickSoftware files of one server. */
export async function scanServerLogs(src: ServerLogSource, clockOffsetMs: number, o: ServerScanOptions): Promise<ServerScan> {
  // Tracer logs: a file last written before the window cannot hold a line inside it.
  const files: TracerFile[] = [];
  for (const f of await src.tracerFiles(o.warn, o.signal)) {
    if (f.mtimeMs !== undefined && f.mtimeMs - clockOffsetMs < o.fromMs) continue;
    let dayFirst: boolean | undefined;
    try {
      dayFirst = guessDayFirst(await src.head(f, 16 * 1024), (f.mtimeMs ?? o.toMs + clockOffsetMs) - clockOffsetMs, src.tracerUtcOffsetMinutes);
    } catch {
      // unreadable: the scan reports it
    }
    files.push({ path: f.path, size: f.size, hostPath: f.hostPath, dayFirst });
  }
  const tally = await scanTracerFiles(
    src.server,
    (f, signal) => src.read(f, signal),
    files,
    { errorTokens: o.tokens, userPatterns: o.patternSources, fromMs: o.fromMs, toMs: o.toMs, utcOffsetMinutes: src.tracerUtcOffsetMinutes, clockOffsetMs, bucketing: o.bucketing },
    { signal: o.signal, warn: o.warn, parallel: o.parallel },
  );
  let events: ServerScan['events'];
  try {
    const logs = await src.eventLogs(o.signal);
    if (logs) {
      const channels: ChannelFile[] = logs.files.map(({ channel, file }) => ({ channel, open: (signal) => src.read(file, signal) }));
      events = await scanServerEvents(src.server, channels, logs.missing, {
        fromMs: o.fromMs,
        toMs: o.toMs,
        changesFromMs: o.changesFromMs,
        clockOffsetMs,
        serviceStates: o.serviceStates,
        bucketing: o.bucketing,
        signal: o.signal,
        onWarning: o.warn,
      });
      if (events.channelsMissing.length) o.warn(`${src.server}: no event log file for ${events.channelsMissing.join(', ')}`);
    }
  } catch (err) {
    if (o.signal?.aborted) throw err;
    o.warn(`${src.server}: event logs could not be read: ${errorMessage(err)}`, true);
  }
  const changedFiles: ServerScan['changedFiles'] = [];
  for (const f of (await src.clickSoftwareFiles(o.warn, o.signal)) ?? []) {
    if (f.mtimeMs === undefined) continue;
    const ms = f.mtimeMs - clockOffsetMs;
    if (ms >= o.changesFromMs && ms <= o.toMs) changedFiles.push({ ms, path: f.path, size: f.size });
  }
  return { tally, files: files.length, events, changedFiles };
}

/** A server's first error in the window: its earliest Tracer error line or Error/Critical event. */
export function firstErrorOf(scan: ServerScan | undefined): { ms: number; source: 'tracer' | 'eventlog'; detail: string } | undefined {
  const tf = scan?.tally.first;
  const ef = scan?.events?.errors.first;
  if (tf && (!ef || tf.ms <= ef.ms)) return { ms: tf.ms, source: 'tracer', detail: tf.line };
  if (ef) return { ms: ef.ms, source: 'eventlog', detail: `${ef.channel}: ${ef.provider} event ${ef.eventId}` };
  return undefined;
}

/**
 * The offset to correct a server's times by: none when it is within what the measurement can tell
 * (half its round trip) or under half a second, where correcting would only add noise to log times.
 */
export function effectiveClockOffset(clock: { offsetMs: number; rttMs: number } | undefined): number {
  if (!clock) return 0;
  const abs = Math.abs(clock.offsetMs);
  return abs <= Math.max(clock.rttMs / 2, 500) ? 0 : Math.round(clock.offsetMs);
}

/** What a probe says about a server, as the incident documents show it. */
export interface ServerProbeFacts {
  reachable: boolean;
  reason?: string;
  version?: string;
  build?: string;
  versionError?: string;
  os?: string;
  clockOffsetMs?: number;
  clockCorrectionMs: number;
  clockError?: string;
}

export function probeFacts(p: ServerProbe | undefined): ServerProbeFacts {
  const id = p?.identity;
  return {
    reachable: Boolean(p?.reachable),
    reason: p?.reachable ? undefined : `${p?.reason ?? 'unknown'}: ${p?.error ?? 'not reached'}`,
    version: id?.product?.version,
    build: id?.product?.build,
    versionError: id?.productError,
    os: id?.os,
    clockOffsetMs: id?.clock ? Math.round(id.clock.offsetMs) : undefined,
    clockCorrectionMs: effectiveClockOffset(id?.clock),
    clockError: id?.clockError,
  };
}

export interface ReachedServers {
  probes: Map<string, ServerProbe>;
  /** Open transports of the reachable servers (given ones included). */
  transports: Map<string, Transport>;
  /** Closes what was opened here (never the given transports). */
  close(): Promise<void>;
}

/** Reach the servers (or take already open transports, e.g. collect's), reading versions and clock offsets. */
export async function reachServers(farm: Farm, servers: readonly ServerConfig[], given: Map<string, Transport> = new Map(), signal?: AbortSignal): Promise<ReachedServers> {
  const toProbe = servers.filter((s) => !given.has(s.name));
  const probed = toProbe.length ? await probeFarm(farm, toProbe, { keepOpen: true, signal }) : { probes: [], transports: new Map<string, Transport>() };
  const probes = new Map<string, ServerProbe>(probed.probes.map((p) => [p.server.name, p]));
  for (const s of servers) {
    const t = given.get(s.name);
    if (!t) continue;
    try {
      probes.set(s.name, { server: s, reachable: true, identity: await readIdentity(t, s), durationMs: 0 });
    } catch (err) {
      const e = toTransportError(s.name, err, 'identity');
      probes.set(s.name, { server: s, reachable: false, reason: e.reason, error: e.message, durationMs: 0 });
    }
  }
  return {
    probes,
    transports: new Map<string, Transport>([...probed.transports, ...given]),
    close: async () => {
      await Promise.all([...probed.transports.values()].map((t) => t.close().catch(() => {})));
    },
  };
}
