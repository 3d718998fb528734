// A bundle written by collect, read offline as the incident scans read a farm: per server its facts
// (facts.json: version, clock offset, Tracer offset, channels) and its logs as streams out of the
// zip. The bundle is verified first (bounded reader, every hash); what the manifest and the facts
// say is checked field by field. Logs in a bundle keep the server's own times (collect copies
// lines and records, it does not rewrite them), so the clock offset of facts.json is applied once,
// by the scan, as on the live farm.
import { ZipReader, type ZipDirectoryEntry } from '../bundle/zip-read.js';
import { NOT_A_BUNDLE_CODES, NotABundleError, VERIFY_LIMITS, verifyBundle } from '../bundle/verify.js';
import { FailedError } from '../errors.js';
import { plural } from '../format.js';
import { parseUtcOffset } from '../logs/timestamps.js';
import { effectiveClockOffset, type LogFile, type ServerLogSource } from '../incident/server-logs.js';
import type { TimelineServerInput } from '../incident/timeline.js';
import type { Timeline } from '../incident/timeline-model.js';

/** facts.json is a few KiB: anything past this is not ours. */
const MAX_FACTS_BYTES = 1024 * 1024;

export interface OpenedBundle {
  farm: Timeline['farm'];
  window?: { from: Date; to: Date };
  servers: TimelineServerInput[];
  /** What the bundle says it holds only in part (logs cut by the per-file cap or a time limit). */
  warnings: string[];
  close(): Promise<void>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

async function readAll(reader: ZipReader, e: ZipDirectoryEntry, max: number, signal?: AbortSignal): Promise<Buffer> {
  if (e.size > max) throw new FailedError(`${e.name} is ${e.size} bytes, more than ${max}: not a clk-support file`);
  const parts: Buffer[] = [];
  for await (const chunk of reader.data(e, await reader.dataRange(e, reader.directory.dataEnd), signal)) parts.push(chunk);
  return Buffer.concat(parts);
}

function parseTime(v: unknown): Date | undefined {
  const s = str(v);
  const d = s ? new Date(s) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}

/** Opens a bundle for the timeline: verified, then its servers as log sources. */
export async function openBundleLogs(path: string, signal?: AbortSignal): Promise<OpenedBundle> {
  const verified = await verifyBundle(path, { signal });
  if (!verified.ok) {
    const notBundle = verified.problems.find((p) => NOT_A_BUNDLE_CODES.has(p.code));
    if (notBundle) throw new NotABundleError(path, notBundle.problem);
    const shown = verified.problems.slice(0, 3).map((p) => `${p.path}: ${p.problem}`).join('; ');
    throw new FailedError(`${path} does not verify (${plural(verified.problems.length + verified.problemsOmitted, 'problem')}: ${shown}): it is not read`, {
      hint: `see clk-support bundle verify ${path}`,
    });
  }
  const manifest = obj(verified.manifest);
  const reader = await ZipReader.open(path, VERIFY_LIMITS);
  try {
    const byName = new Map<string, ZipDirectoryEntry>();
    for await (const e of reader.entries()) if (!e.name.endsWith('/')) byName.set(e.name, e);
    // Which entry belongs to which server and collector: the manifest says (folders may be anonymised).
    const perServer = new Map<string, { collector: string; entry: ZipDirectoryEntry }[]>();
    const warnings: string[] = [];
    for (const raw of arr(manifest.entries)) {
      const m = obj(raw);
      const server = str(m.server);
      const collector = str(m.collector);
      const entry = byName.get(str(m.path) ?? '');
      if (!server || !collector || !entry) continue;
      const note = str(m.note);
      if ((collector === 'tracer' || collector === 'perfmon') && (m.truncated === true || note?.startsWith('per-file cap')))
        warnings.push(`${server}: ${entry.name} holds only part of the window in the bundle (${note ?? 'cut short'}): its counts are lower bounds`);
      (perServer.get(server) ?? perServer.set(server, []).get(server)!).push({ collector, entry });
    }
    const farmDoc = obj(manifest.farm);
    const windowDoc = obj(manifest.window);
    const from = parseTime(windowDoc.from);
    const to = parseTime(windowDoc.to);
    const servers: TimelineServerInput[] = [];
    for (const raw of arr(manifest.servers)) {
      const m = obj(raw);
      const name = str(m.name);
      if (!name) continue;
      const entries = perServer.get(name) ?? [];
      const factsEntry = entries.find((e) => e.collector === 'facts' && /(^|\/)facts\.json$/.test(e.entry.name))?.entry;
      let facts: Record<string, unknown> = {};
      if (factsEntry) {
        try {
          facts = obj(JSON.parse((await readAll(reader, factsEntry, MAX_FACTS_BYTES, signal)).toString('utf8')));
        } catch {
          facts = {};
        }
      }
      const clockDoc = obj(facts.clock);
      const offsetMs = num(clockDoc.offsetMs);
      const rttMs = num(clockDoc.rttMs) ?? 0;
      const reachable = m.reachable === true;
      const serverDoc = obj(facts.server);
      const logsDoc = obj(facts.logs);
      const product = obj(facts.product);
      const input: TimelineServerInput = {
        name,
        role: str(serverDoc.role) ?? 'unknown',
        facts: {
          reachable,
          reason: reachable ? undefined : `${str(m.status) ?? 'unreachable'}: ${str(m.reason) ?? 'not reached when the bundle was collected'}`,
          version: str(product.version) ?? str(m.version),
          build: str(product.build) ?? str(m.build),
          clockOffsetMs: offsetMs === undefined ? undefined : Math.round(offsetMs),
          clockCorrectionMs: effectiveClockOffset(offsetMs === undefined ? undefined : { offsetMs, rttMs }),
          clockError: str(facts.clockError) ?? (reachable && offsetMs === undefined ? (factsEntry ? 'facts.json names no clock offset' : 'no facts.json in the bundle') : undefined),
        },
      };
      if (reachable) input.logs = bundleLogSource(reader, name, entries, { platform: str(serverDoc.platform), tracerUtcOffset: str(logsDoc.tracerUtcOffset), channels: arr(logsDoc.eventLogChannels).filter((c): c is string => typeof c === 'string') });
      servers.push(input);
    }
    return {
      farm: { name: str(farmDoc.name) ?? '(unnamed farm)', systemId: str(farmDoc.systemId) ?? '', environment: str(farmDoc.environment) ?? '' },
      window: from && to ? { from, to } : undefined,
      servers,
      warnings,
      close: () => reader.close(),
    };
  } catch (err) {
    await reader.close();
    throw err;
  }
}

function bundleLogSource(
  reader: ZipReader,
  server: string,
  entries: readonly { collector: string; entry: ZipDirectoryEntry }[],
  facts: { platform?: string; tracerUtcOffset?: string; channels: string[] },
): ServerLogSource {
  const byPath = new Map<string, ZipDirectoryEntry>();
  const files = (collector: string, re: RegExp): LogFile[] =>
    entries
      .filter((e) => e.collector === collector && re.test(e.entry.name))
      .map(({ entry }) => {
        byPath.set(entry.name, entry);
        return { path: entry.name, size: entry.size };
      });
  let utcOffsetMinutes = 0;
  try {
    utcOffsetMinutes = parseUtcOffset(facts.tracerUtcOffset ?? 'Z');
  } catch {
    // a facts.json from elsewhere: UTC, as the farm file's default
  }
  const read = (f: LogFile, signal?: AbortSignal): AsyncIterable<Buffer> => {
    const e = byPath.get(f.path);
    if (!e) throw new Error(`${f.path} is not in the bundle`);
    return (async function* () {
      yield* reader.data(e, await reader.dataRange(e, reader.directory.dataEnd), signal);
    })();
  };
  return {
    server,
    tracerUtcOffsetMinutes: utcOffsetMinutes,
    tracerFiles: async () => files('tracer', /./),
    async eventLogs() {
      if (facts.platform !== undefined && facts.platform !== 'windows') return undefined;
      const found = files('eventlogs', /\.evtx$/i).map((file) => ({ channel: file.path.replace(/^.*\//, '').replace(/\.evtx$/i, '').replace(/%4/g, '/'), file }));
      const missing = facts.channels.filter((c) => !found.some((f) => f.channel.toLowerCase() === c.toLowerCase()));
      return { files: found, missing };
    },
    perfmonFiles: async () => files('perfmon', /\.(csv|tsv|blg)$/i),
    // A bundle keeps the configuration, not when it was modified.
    clickSoftwareFiles: async () => undefined,
    read,
    async head(f, bytes) {
      const parts: Buffer[] = [];
      let n = 0;
      for await (const chunk of read(f)) {
        parts.push(chunk);
        n += chunk.length;
        if (n >= bytes) break;
      }
      return Buffer.concat(parts).subarray(0, bytes);
    },
  };
}
