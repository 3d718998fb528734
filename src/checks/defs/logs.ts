// Checks of each server's logs: the folders exist and are readable, Tracer is writing, event log
// channels are there to collect.
import { glob } from '../../farm/glob.js';
import { joinServerPath, splitServerPath } from '../../farm/paths.js';
import type { ServerConfig } from '../../farm/schema.js';
import type { RemoteEntry, Transport } from '../../farm/transports/transport.js';
import { parseUtcOffset, TimestampDetector } from '../../logs/timestamps.js';
import { errorMessage } from '../../errors.js';
import { unreachableOutcome, type CheckContext } from '../context.js';
import { evtxFileName, wevtutilGetLogArgs } from '../windows.js';
import type { Outcome, ServerCheck } from '../types.js';
import { probeBudgetMs } from './farm.js';

/** The literal folder a glob starts from (everything before the first wildcard). */
export function globBase(platform: 'windows' | 'linux', pattern: string): string {
  const { drive, segments } = splitServerPath(platform, pattern);
  const sep = platform === 'windows' ? '\\' : '/';
  const literal: string[] = [];
  for (const s of segments) {
    if (/[*?]/.test(s)) break;
    literal.push(s);
  }
  // A pattern without wildcards names a file: its folder is what must exist.
  if (literal.length === segments.length) literal.pop();
  return (drive ? `${drive}:${sep}` : sep) + literal.join(sep);
}

async function reachOrSkip(ctx: CheckContext, server: ServerConfig): Promise<Transport | Outcome> {
  const { probe, transport } = await ctx.reach(server);
  if (!probe.reachable || !transport) return unreachableOutcome(probe);
  return transport;
}

function isOutcome(x: Transport | Outcome): x is Outcome {
  return 'status' in x;
}

export const logLocationsCheck: ServerCheck = {
  scope: 'server',
  id: 'logs.locations',
  group: 'logs',
  title: 'Log folders exist and are readable',
  severity: 'error',
  timeoutMs: probeBudgetMs,
  hint: 'fix the paths under "logs" in the farm file, or give this user read access to those folders',
  applies: (_ctx, server) =>
    (server.logs.eventLogChannels.length > 0 && Boolean(server.logs.eventLogDir)) || Boolean(server.logs.perfmonDir) || server.logs.tracerGlobs.length > 0 ||
    `no log folders configured for ${server.name} (logs.eventLogChannels, logs.perfmonDir, logs.tracerGlobs)`,
  async run(ctx, server): Promise<Outcome> {
    const t = await reachOrSkip(ctx, server);
    if (isOutcome(t)) return t;
    const folders = new Map<string, string>();
    // Only where event logs are configured (a Linux server has none by default).
    if (server.logs.eventLogDir && server.logs.eventLogChannels.length) folders.set(server.logs.eventLogDir, 'event logs (eventLogDir)');
    if (server.logs.perfmonDir) folders.set(server.logs.perfmonDir, 'Performance Monitor (perfmonDir)');
    for (const g of server.logs.tracerGlobs) folders.set(globBase(server.platform, g), `Tracer (${g})`);
    const details: string[] = [];
    let bad = 0;
    for (const [dir, what] of folders) {
      try {
        const entries = await t.list(dir);
        details.push(`ok: ${dir}: ${what}, ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`);
      } catch (err) {
        bad++;
        details.push(`missing or unreadable: ${dir}: ${what}: ${errorMessage(err).replace(`${server.name}: `, '')}`);
      }
    }
    if (bad) return { status: 'fail', message: `${bad} of ${folders.size} log folder${folders.size === 1 ? '' : 's'} missing or unreadable`, details };
    return { status: 'pass', message: `${folders.size} log folder${folders.size === 1 ? '' : 's'} readable`, details };
  },
};

const TAIL_BYTES = 64 * 1024;
/** Files whose tails are read; modification times are unreliable on copied logs, so more than one. */
const TRACER_CANDIDATES = 10;

/** The last timestamp in the tail of a file (the first, possibly partial, line is ignored). */
export async function lastTimestamp(t: Transport, file: RemoteEntry, utcOffsetMinutes = 0): Promise<number | undefined> {
  const start = Math.max(0, file.size - TAIL_BYTES);
  const buf = await t.readAt(file.path, start, Math.min(TAIL_BYTES, file.size));
  const lines = buf.toString('utf8').split(/\r?\n/);
  if (start > 0) lines.shift();
  const detector = new TimestampDetector({ utcOffsetMinutes });
  let last: number | undefined;
  for (const line of lines) {
    const ts = detector.detect(line);
    if (ts) last = ts.ms;
  }
  return last;
}

function formatAge(ms: number): string {
  const h = ms / 3_600_000;
  if (Math.abs(h) < 1) return `${Math.round(ms / 60_000)} min`;
  if (Math.abs(h) < 48) return `${h.toFixed(1)} h`;
  return `${Math.round(h / 24)} days`;
}

export const tracerActiveCheck: ServerCheck = {
  scope: 'server',
  id: 'logs.tracer',
  group: 'logs',
  title: 'Tracer logging active (recent lines)',
  severity: 'warning',
  timeoutMs: probeBudgetMs,
  hint: 'turn Tracer logging on for the ClickSoftware services (Tracer configuration), or fix "logs.tracerGlobs" in the farm file',
  applies: (_ctx, server) => server.logs.tracerGlobs.length > 0 || 'no Tracer logs configured (logs.tracerGlobs)',
  async run(ctx, server, signal): Promise<Outcome> {
    const t = await reachOrSkip(ctx, server);
    if (isOutcome(t)) return t;
    const files: RemoteEntry[] = [];
    for (const g of server.logs.tracerGlobs) files.push(...(await glob(t, g, { signal })));
    if (files.length === 0) return { status: 'fail', message: `no Tracer log files match ${server.logs.tracerGlobs.join(', ')}` };
    const candidates = files.sort((a, b) => b.mtime.getTime() - a.mtime.getTime()).slice(0, TRACER_CANDIDATES);
    const utcOffset = parseUtcOffset(server.logs.tracerUtcOffset);
    let newest: { file: string; ms: number } | undefined;
    const unreadable: string[] = [];
    for (const f of candidates) {
      if (signal.aborted) throw signal.reason;
      const ms = await lastTimestamp(t, f, utcOffset).catch((err: unknown) => {
        unreadable.push(`${f.path}: ${errorMessage(err).replace(`${server.name}: `, '')}`);
        return undefined;
      });
      if (ms !== undefined && (!newest || ms > newest.ms)) newest = { file: f.path, ms };
    }
    // Not one file could be read: that is not "no recent line", it is "could not look".
    if (!newest && unreadable.length === candidates.length)
      return { status: 'error', message: `could not check: none of the ${candidates.length} newest Tracer file${candidates.length === 1 ? '' : 's'} could be read`, details: unreadable, hint: 'give this user read access to the Tracer log files' };
    if (!newest) return { status: 'fail', message: `no timestamped line in the ${candidates.length} newest Tracer file${candidates.length === 1 ? '' : 's'}`, details: unreadable };
    const probe = await ctx.probe(server);
    const age = ctx.serverNow(probe).getTime() - newest.ms;
    const maxH = ctx.options.tracerMaxAgeHours;
    const when = new Date(newest.ms).toISOString();
    const details = [`newest line ${when} in ${newest.file}`, `${files.length} Tracer file${files.length === 1 ? '' : 's'} matched`];
    if (age > maxH * 3_600_000) return { status: 'fail', message: `newest Tracer line is ${formatAge(age)} old (limit ${maxH} h)`, details };
    return { status: 'pass', message: `newest Tracer line ${formatAge(Math.max(0, age))} ago`, details };
  },
};

export const eventLogChannelsCheck: ServerCheck = {
  scope: 'server',
  id: 'logs.eventlog',
  group: 'logs',
  title: 'Event log channels present',
  severity: 'error',
  appliesTo: { platforms: ['windows'] },
  timeoutMs: probeBudgetMs,
  hint: 'check "logs.eventLogChannels" and "logs.eventLogDir" in the farm file (wevtutil el lists the channels on the server)',
  applies: (_ctx, server) => server.logs.eventLogChannels.length > 0 || 'no event log channels configured',
  async run(ctx, server, signal): Promise<Outcome> {
    const t = await reachOrSkip(ctx, server);
    if (isOutcome(t)) return t;
    const details: string[] = [];
    const missing: string[] = [];
    for (const channel of server.logs.eventLogChannels) {
      const file = joinServerPath(server.platform, server.logs.eventLogDir!, evtxFileName(channel));
      try {
        const st = await t.stat(file);
        if (st.type !== 'file') throw new Error('not a file');
        details.push(`ok: ${channel}: ${file} (${st.size} bytes)`);
      } catch (err) {
        // On this Windows machine the event log service itself can say, even when the file is not readable.
        if (server.transport.type === 'local' && ctx.host.platform === 'win32') {
          const r = await ctx.host.run('wevtutil', wevtutilGetLogArgs(channel), { timeoutMs: 15_000, signal }).catch(() => undefined);
          if (r?.exitCode === 0) {
            details.push(`ok: ${channel}: wevtutil gl found the channel (${file} not readable)`);
            continue;
          }
        }
        missing.push(channel);
        details.push(`missing: ${channel}: ${file}: ${errorMessage(err).replace(`${server.name}: `, '')}`);
      }
    }
    if (missing.length) return { status: 'fail', message: `channel${missing.length === 1 ? '' : 's'} not found: ${missing.join(', ')}`, details };
    return { status: 'pass', message: `${server.logs.eventLogChannels.join(', ')} present`, details };
  },
};
