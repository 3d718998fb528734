// Event logs (Application, System and the configured ClickSoftware channels) as .evtx.
// On Windows they are exported through the event log service with `wevtutil epl` and an XPath
// window (remote servers with /r:), never copied from the locked live file. Elsewhere, and over
// share/ssh from a non-Windows machine, the .evtx files are read with the evtx reader and taken
// whole when any record falls inside the window.
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readEvtx, type EvtxWarning } from '../logs/evtx/index.js';
import { joinServerPath } from '../farm/paths.js';
import { TransportError } from '../farm/transports/transport.js';
import { resolveLocalPath } from '../farm/load.js';
import { commandLineOf, noOutputReason, uncHost, wevtutilExportCommand } from '../logs/windows-commands.js';
import { describeSeen, evtxSubMillisecond, inWindowLazy, type TimeWindow } from '../logs/window.js';
import { EntrySourceError } from '../bundle/errors.js';
import {
  emptyOutcome,
  errorReason,
  safeSegment,
  type CollectContext,
  type Collector,
  type CollectorOutcome,
  type EntrySink,
  type PlannedFile,
  isFatal,
  recordFileFailure,
} from './types.js';

export const EVTX_NOTE = 'binary .evtx carried as is: not redacted (EventData may hold user names and host names; --anonymize does not rewrite binary logs)';

/** Windows names a channel's file after it with '/' written as %4. */
export function channelFileName(channel: string): string {
  return `${channel.replace(/\//g, '%4')}.evtx`;
}

export interface EvtxOverlap {
  /** A record with TimeCreated inside the window was found (reading stopped there). */
  overlaps: boolean;
  /** Records read before deciding. */
  recordsRead: number;
  warnings: EvtxWarning[];
  /** The oldest and newest record times read (all of the file when nothing overlapped). */
  oldestMs?: number;
  newestMs?: number;
}

/** Reads records until one falls inside the window. Damaged chunks give warnings, never an error. */
export async function evtxOverlapsWindow(source: AsyncIterable<Buffer> | string, window: TimeWindow, signal?: AbortSignal): Promise<EvtxOverlap> {
  const warnings: EvtxWarning[] = [];
  let recordsRead = 0;
  let oldestMs: number | undefined;
  let newestMs: number | undefined;
  const it = readEvtx(source, { signal, onWarning: (w) => warnings.push(w) });
  try {
    for await (const r of it) {
      recordsRead++;
      const created = r.system.timeCreated?.getTime();
      const t = created ?? r.writtenTime.getTime();
      if (!Number.isFinite(t)) continue;
      if (inWindowLazy(window, t, () => (created === undefined ? 0 : evtxSubMillisecond(r)))) return { overlaps: true, recordsRead, warnings };
      if (oldestMs === undefined || t < oldestMs) oldestMs = t;
      if (newestMs === undefined || t > newestMs) newestMs = t;
    }
  } finally {
    await it.return?.(undefined);
  }
  return { overlaps: false, recordsRead, warnings, oldestMs, newestMs };
}

function describeWarnings(file: string, warnings: EvtxWarning[]): string | undefined {
  if (warnings.length === 0) return undefined;
  const first = warnings[0];
  return `${file}: ${warnings.length} damaged piece${warnings.length === 1 ? '' : 's'} skipped while reading (first: ${first.kind} at offset ${first.offset}: ${first.reason})`;
}

/** wevtutil can reach this server: this machine is Windows and the server is this machine or a UNC share. */
export function canExportNatively(ctx: Pick<CollectContext, 'windowsHost' | 'transport' | 'server' | 'farm'>): { remote?: string } | undefined {
  if (!ctx.windowsHost) return undefined;
  if (ctx.transport.kind === 'local') return {};
  if (ctx.transport.kind === 'share' && ctx.server.transport.type === 'share') {
    const host = uncHost(resolveLocalPath(ctx.farm, ctx.server.transport.root));
    if (host) return { remote: host };
  }
  return undefined;
}

/** Whether an error must stop the whole collector (and maybe the bundle), not just this file. */
export const eventLogsCollector: Collector = {
  id: 'eventlogs',
  description: 'Event Viewer logs (.evtx): Application, System and the configured channels, cut to the window on Windows (wevtutil epl), whole files overlapping the window elsewhere',

  async plan(ctx, signal) {
    const native = canExportNatively(ctx);
    const out: PlannedFile[] = [];
    for (const channel of ctx.server.logs.eventLogChannels) {
      signal.throwIfAborted();
      const path = joinServerPath(ctx.transport.platform, ctx.server.logs.eventLogDir!, channelFileName(channel));
      const bundlePath = `${ctx.folder}/eventlogs/${safeSegment(channelFileName(channel))}`;
      if (native) {
        const cmd = wevtutilExportCommand({ channel, outFile: join(ctx.tempDir, 'x.evtx'), window: ctx.window, remote: native.remote });
        let estimate = 0;
        try {
          estimate = (await ctx.transport.stat(path)).size;
        } catch {
          // the export decides; the live file may sit elsewhere
        }
        out.push({ sourcePath: channel, bundlePath, estimatedBytes: estimate, note: commandLineOf(cmd) });
        continue;
      }
      try {
        const st = await ctx.transport.stat(path);
        if (st.size > ctx.maxFileBytes) {
          out.push({ sourcePath: path, bundlePath, estimatedBytes: 0, skip: `${st.size} bytes, more than --max-file-size (${ctx.maxFileBytes}); a binary log cannot be cut off Windows: raise --max-file-size or collect from Windows (wevtutil cuts it to the window)` });
          continue;
        }
        const stream = await ctx.transport.createReadStream(path, { end: Math.max(0, st.size - 1) });
        const overlap = await evtxOverlapsWindow(stream as AsyncIterable<Buffer>, ctx.window, signal).finally(() => stream.destroy());
        const warn = describeWarnings(path, overlap.warnings);
        if (!overlap.overlaps)
          out.push({ sourcePath: path, bundlePath, estimatedBytes: 0, skip: `no record in the window (${overlap.recordsRead} records read${describeSeen(overlap.oldestMs, overlap.newestMs)})`, note: warn });
        else out.push({ sourcePath: path, bundlePath, estimatedBytes: st.size, note: warn });
      } catch (err) {
        if (err instanceof TransportError && err.reason === 'not-found') {
          out.push({ sourcePath: path, bundlePath, estimatedBytes: 0, skip: `channel ${channel}: no file ${path}` });
          continue;
        }
        if (isFatal(err) || signal.aborted) throw err;
        out.push({ sourcePath: path, bundlePath, estimatedBytes: 0, skip: `unreadable: ${errorReason(err)}`, note: 'failed' });
      }
    }
    return out;
  },

  async collect(ctx, sink, signal) {
    const outcome = emptyOutcome();
    const native = canExportNatively(ctx);
    if (native) return exportNatively(ctx, sink, signal, native.remote, outcome);
    const planned = await this.plan(ctx, signal);
    for (const p of planned) {
      if (p.note && p.note !== 'failed') outcome.notes.push(p.note);
      if (p.skip) {
        (p.note === 'failed' ? outcome.failed : outcome.skipped).push({ path: p.sourcePath, reason: p.skip });
        continue;
      }
      await addServerFile(ctx, sink, signal, outcome, p, { collector: 'eventlogs', note: `${EVTX_NOTE}; copied from the live file (a dirty copy is possible; export on Windows for a consistent one)`, store: false });
    }
    return outcome;
  },
};

/** Streams one server file into the bundle, recording the outcome; only fatal errors escape. */
export async function addServerFile(
  ctx: CollectContext,
  sink: EntrySink,
  signal: AbortSignal,
  outcome: CollectorOutcome,
  p: PlannedFile,
  meta: { collector: string; note?: string; store?: boolean },
): Promise<void> {
  try {
    const st = await ctx.transport.stat(p.sourcePath);
    // Bounded to the size seen now: a file that grows while read is taken as it was (consistent).
    const stream = st.size === 0 ? [] : await ctx.transport.createReadStream(p.sourcePath, { end: st.size - 1 });
    const entry = await sink.addStream(p.bundlePath, stream as AsyncIterable<Buffer>, {
      server: ctx.folder,
      sourcePath: p.sourcePath,
      collector: meta.collector,
      note: meta.note,
      store: meta.store,
      expectedSize: st.size,
      mtime: st.mtime,
      signal,
    });
    outcome.files++;
    outcome.bytes += entry.size;
    if (entry.size < st.size) outcome.failed.push({ path: p.sourcePath, reason: `file shrank while read (${entry.size} of ${st.size} bytes)` });
  } catch (err) {
    recordFileFailure(err, signal, outcome, p.sourcePath);
  }
}

async function exportNatively(ctx: CollectContext, sink: EntrySink, signal: AbortSignal, remote: string | undefined, outcome: CollectorOutcome): Promise<CollectorOutcome> {
  for (const channel of ctx.server.logs.eventLogChannels) {
    signal.throwIfAborted();
    const outFile = join(ctx.tempDir, `${safeSegment(ctx.server.name)}-${safeSegment(channelFileName(channel))}`);
    const cmd = wevtutilExportCommand({ channel, outFile, window: ctx.window, remote });
    try {
      const r = await ctx.runLocal(cmd.command, cmd.args, { signal });
      if (r.exitCode !== 0) {
        outcome.failed.push({ path: channel, reason: `${commandLineOf(cmd)} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` });
        continue;
      }
      if (!(await stat(outFile).catch(() => undefined))) {
        outcome.failed.push({ path: channel, reason: noOutputReason(cmd, outFile) });
        continue;
      }
      const overlap = await evtxOverlapsWindow(outFile, ctx.window, signal);
      if (!overlap.overlaps) {
        outcome.skipped.push({ path: channel, reason: 'no record in the window' });
        continue;
      }
      const size = (await stat(outFile)).size;
      const entry = await sink.addStream(`${ctx.folder}/eventlogs/${safeSegment(channelFileName(channel))}`, createReadStream(outFile), {
        server: ctx.folder,
        sourcePath: channel,
        collector: 'eventlogs',
        note: `${EVTX_NOTE}; exported with wevtutil epl, cut to the window`,
        expectedSize: size,
        signal,
      });
      outcome.files++;
      outcome.bytes += entry.size;
    } catch (err) {
      if (err instanceof EntrySourceError) {
        outcome.failed.push({ path: channel, reason: errorReason(err) });
        continue;
      }
      if (isFatal(err) || signal.aborted) throw signal.aborted && !isFatal(err) ? signal.reason : err;
      outcome.failed.push({ path: channel, reason: errorReason(err) });
    } finally {
      await rm(outFile, { force: true });
    }
  }
  return outcome;
}
