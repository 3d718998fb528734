// `clk-support evtx dump|stats`: read Windows .evtx logs with the streaming reader. Damaged files
// are read as far as possible; what was skipped is reported on stderr and the exit code stays 0,
// unless nothing could be read: exit 2 for input that is no .evtx at all, 1 for one damaged beyond reading.
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { examples, type App } from '../app.js';
import { type ClkError, FailedError, UsageError } from '../errors.js';
import type { Io } from '../ui/io.js';
import { renderTable } from '../ui/table.js';
import { describeBound, parseInstant, type Instant, type TimeWindow } from '../logs/window.js';
import { addWindowOptions, windowFromFlags, windowNotice, zoneFor, type WindowFlags } from './window-options.js';
import { evtxStats, levelName, MAX_THREADS, parseLevels, runChunks, type EvtxStats, type EvtxWarning, type RecordFilterSpec } from '../logs/evtx/index.js';

interface DumpOptions extends WindowFlags {
  format: string;
  level?: string;
  id?: string;
  recover?: boolean;
  threads?: string;
}

async function requireFiles(files: string[]): Promise<void> {
  for (const file of files) {
    const s = await stat(file).catch(() => undefined);
    if (!s) throw new UsageError(`${file}: no such file`, { code: 'NOT_FOUND', hint: 'give the path of an .evtx file' });
    if (!s.isFile()) throw new UsageError(`${file}: not a regular file`, { code: 'NOT_FOUND', hint: 'give the path of an .evtx file' });
  }
}

const OPEN_END = 8.64e15; // the largest Date: a bound the user did not give

/** The dump window (undefined: every record). One bound alone leaves the other end open. */
function dumpWindow(opts: DumpOptions, zone: string): TimeWindow | undefined {
  if (!opts.from && !opts.to && !opts.around) {
    if (opts.span) throw new UsageError('--span needs --from, --to or --around', { hint: 'e.g. --from 2026-11-20T09:00Z --span 2h' });
    return undefined;
  }
  if (opts.around || opts.span || (opts.from && opts.to)) return windowFromFlags(opts, zone);
  const from: Instant = opts.from ? parseInstant(opts.from, '--from', { zone }) : { ms: -OPEN_END, sub: 0 };
  const to: Instant = opts.to ? parseInstant(opts.to, '--to', { zone }) : { ms: OPEN_END, sub: 0 };
  const w: TimeWindow = { from: new Date(from.ms), to: new Date(to.ms), fromSub: from.sub, toSub: to.sub };
  const assumed = from.assumedZone ?? to.assumedZone;
  if (assumed) w.assumedZone = assumed;
  return w;
}

function dumpNotice(w: TimeWindow): string {
  if (w.from.getTime() !== -OPEN_END && w.to.getTime() !== OPEN_END) return windowNotice(w);
  const from = w.from.getTime() === -OPEN_END ? 'the first record' : describeBound(w.from, w.fromSub);
  const to = w.to.getTime() === OPEN_END ? 'the last record' : describeBound(w.to, w.toSub);
  return `window ${from} .. ${to} (UTC, both ends inclusive${w.assumedZone ? `; times without a zone were read as ${w.assumedZone}` : ''})`;
}

function parseIds(value: string | undefined): Set<number> | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0 || ids.some((s) => !/^\d+$/.test(s))) throw new UsageError(`--id ${value}: expected event ids like 4624,4625`);
  return new Set(ids.map(Number));
}

/** The record filter of `dump` as data (decoding threads apply it); time windows use System/TimeCreated. */
function filterSpec(opts: DumpOptions, window: TimeWindow | undefined): RecordFilterSpec {
  const spec: RecordFilterSpec = {};
  if (opts.level !== undefined) {
    const parsed = parseLevels(opts.level);
    if (!parsed || parsed.length === 0) {
      throw new UsageError(`--level ${opts.level}: unknown level`, { hint: 'use numbers 0-5 or names: critical, error, warning, information, verbose' });
    }
    spec.levels = parsed;
  }
  const ids = parseIds(opts.id);
  if (ids) spec.ids = [...ids];
  if (window) spec.window = window;
  return spec;
}

function parseThreads(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_THREADS) throw new UsageError(`--threads ${value}: expected a number from 1 to ${MAX_THREADS}`);
  return Number(value);
}

/** The error for a file nothing could be read from: not an event log at all (2) or damaged beyond reading (1). */
function unreadable(file: string, records: number | undefined, warnings: EvtxWarning[]): ClkError | undefined {
  const notEvtx = warnings.find((w) => w.notEvtx);
  if (notEvtx) return new UsageError(`${file}: not an .evtx file (${notEvtx.reason.replace(/; not an \.evtx file$/, '')})`, { code: 'NOT_EVTX', hint: 'give a Windows event log file (.evtx)' });
  if (records === 0 && warnings.length > 0) {
    return new FailedError(`${file}: damaged beyond reading: no record could be read (${warnings.length} warning${warnings.length === 1 ? '' : 's'}; first: ${warnings[0].reason})`, { code: 'EVTX_UNREADABLE' });
  }
  return undefined;
}

/** `evtx dump --format xml` is one document, rooted like Windows' own export (Event Viewer, wevtutil /e:Events). */
const XML_PROLOGUE = '<?xml version="1.0" encoding="utf-8"?>\n<Events>\n';
const XML_EPILOGUE = '</Events>\n';

function describeWarning(file: string, w: EvtxWarning): string {
  const where = w.chunk !== undefined ? `offset ${w.offset} (chunk ${w.chunk})` : `offset ${w.offset}`;
  return `${file}: ${where}: ${w.reason}`;
}

/** Writes each chunk's bytes as they come and waits for 'drain', so a slow pipe never buffers a whole log. */
class ChunkWriter {
  constructor(private readonly out: NodeJS.WritableStream) {}

  async write(bytes: Uint8Array | string): Promise<void> {
    if (bytes.length === 0 || this.out.write(bytes)) return;
    // A closed pipe never drains: 'close' or 'error' (src/cli.ts then aborts the run) ends the wait too.
    await new Promise<void>((resolve) => {
      const done = () => {
        this.out.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      this.out.once('drain', done).once('close', done).once('error', done);
    });
  }
}

function statsJson(file: string, s: EvtxStats) {
  return {
    file,
    records: s.records,
    first: s.first?.toISOString(),
    last: s.last?.toISOString(),
    byLevel: s.byLevel,
    byProvider: s.byProvider,
    chunks: s.chunks,
    skippedChunks: s.skippedChunks,
    skippedRecords: s.skippedRecords,
    degradedRecords: s.degradedRecords,
    warnings: s.warnings,
  };
}

function printStats(io: Io, file: string, s: EvtxStats): void {
  io.out(`${file}`);
  io.out(`  records: ${s.records} in ${s.chunks} chunks${s.skippedChunks ? ` (${s.skippedChunks} damaged chunks skipped)` : ''}`);
  if (s.skippedRecords || s.degradedRecords) io.out(`  damaged records: ${s.skippedRecords} skipped, ${s.degradedRecords} given without a damaged part`);
  io.out(`  time range (TimeCreated): ${s.first?.toISOString() ?? '-'} .. ${s.last?.toISOString() ?? '-'}`);
  const levels = Object.entries(s.byLevel).sort((a, b) => b[1] - a[1]);
  if (levels.length) io.out(renderTable(levels, [{ header: '  LEVEL', value: ([l]) => `  ${l}` }, { header: 'RECORDS', value: ([, n]) => String(n), align: 'right' }]));
  const providers = Object.entries(s.byProvider).sort((a, b) => b[1] - a[1]);
  const top = providers.slice(0, 15);
  if (top.length) io.out(renderTable(top, [{ header: '  PROVIDER', value: ([p]) => `  ${p || '(none)'}` }, { header: 'RECORDS', value: ([, n]) => String(n), align: 'right' }]));
  if (providers.length > top.length) io.out(`  ... and ${providers.length - top.length} more providers (--json lists all)`);
  io.out(`  warnings: ${s.warnings.length}`);
}

export function registerEvtxCommands(program: Command, app: App): void {
  const evtx = examples(program.command('evtx').description('read Windows event logs (.evtx), also damaged or still-open ones'), ['clk-support evtx stats Application.evtx', 'clk-support evtx dump System.evtx --format jsonl --level error --from 2026-11-20T08:00Z']);

  examples(
    addWindowOptions(evtx.command('dump'), { to: 'the last record', span: 'with --from, --to or --around; default 2h with --around' })
      .description('print the records of an .evtx file (warnings about damaged parts go to stderr)')
      .argument('<file>', '.evtx file')
      .option('--format <format>', 'xml or jsonl (one JSON object per line); --json means jsonl', 'xml')
      .option('--level <levels>', `only these levels, numbers or names (${[1, 2, 3, 4, 5, 0].map(levelName).join(', ')}), comma-separated`)
      .option('--id <ids>', 'only these event ids, comma-separated')
      .option('--recover', 'print only records carved from chunk slack (old records not yet overwritten), marked recovered', false)
      .option('--threads <n>', `decode chunks on n worker threads (1-${MAX_THREADS}; default 1, this thread): faster only with idle cores, same output`)
      .action(async (file: string, opts: DumpOptions, cmd: Command) => {
        const io = app.io(cmd);
        const format = app.globals(cmd).json ? 'jsonl' : opts.format;
        if (format !== 'xml' && format !== 'jsonl') throw new UsageError(`--format ${opts.format}: expected xml or jsonl`);
        // A file needs no farm; the farm's settings.timeZone counts only when --farm names one.
        const farm = opts.tz === undefined && app.globals(cmd).farm ? await app.farm(cmd) : undefined;
        const window = dumpWindow(opts, zoneFor(opts, farm));
        const filter = filterSpec(opts, window);
        const threads = parseThreads(opts.threads);
        if (window) io.info(dumpNotice(window)); // stderr: stdout stays records only (jsonl too)
        await requireFiles([file]);
        const out = new ChunkWriter(io.stdout);
        // Dumped into a file or a pipe, with a person watching stderr: a bar over the file's bytes.
        const progress = io.stdoutIsTty ? undefined : io.progress();
        const task = progress?.task('evtx dump', (await stat(file)).size);
        const CHUNK_BYTES = 64 * 1024;
        const warnings: EvtxWarning[] = [];
        let records = 0;
        let started = false;
        const chunks = runChunks(file, { mode: format, filter, recover: opts.recover }, { signal: app.signal, threads, onChunk: () => task?.increment(CHUNK_BYTES), onWarning: (w) => (warnings.push(w), io.warn(describeWarning(file, w))) });
        try {
          for await (const c of chunks) {
            records += c.records;
            if (!c.bytes || c.bytes.length === 0) continue;
            if (format === 'xml' && !started) await out.write(XML_PROLOGUE);
            started = true;
            await out.write(c.bytes);
          }
          task?.done();
        } finally {
          progress?.stop();
        }
        // --recover reads only slack: no record there is no sign of damage.
        const error = unreadable(file, opts.recover ? undefined : records, warnings);
        if (error) throw error;
        if (format === 'xml') await out.write(started ? XML_EPILOGUE : XML_PROLOGUE + XML_EPILOGUE);
        if (warnings.length) io.info(`${file}: ${warnings.length} warning${warnings.length === 1 ? '' : 's'}; the records that could be read were printed`);
      }),
    [
      'clk-support evtx dump System.evtx --level error,critical',
      'clk-support evtx dump Application.evtx --format jsonl --from 2026-11-20T09:00Z --to 2026-11-20T10:00Z',
      'clk-support evtx dump Security.evtx --id 4624,4625 --format jsonl',
    ],
  );

  examples(
    evtx
      .command('stats')
      .description('records, time range (TimeCreated), counts by level and provider, and what was damaged')
      .argument('<files...>', '.evtx files')
      .option('--threads <n>', `decode chunks on n worker threads (1-${MAX_THREADS}; default 1, this thread): faster only with idle cores, same output`)
      .action(async (files: string[], opts: { threads?: string }, cmd: Command) => {
        const io = app.io(cmd);
        const threads = parseThreads(opts.threads);
        await requireFiles(files);
        const json = app.globals(cmd).json;
        const results: ReturnType<typeof statsJson>[] = [];
        const errors: ClkError[] = [];
        for (const file of files) {
          const s = await evtxStats(file, { signal: app.signal, threads });
          const error = unreadable(file, s.records, s.warnings);
          if (error) errors.push(error);
          if (json) results.push(statsJson(file, s));
          else {
            if (!error) printStats(io, file, s);
            for (const w of s.warnings) io.warn(describeWarning(file, w));
          }
        }
        if (json) io.json({ schema: 'clk-support/evtx-stats/v1', files: results });
        // The other files are printed; the worst unreadable one decides the exit code.
        if (errors.length) throw errors.find((e) => e instanceof UsageError) ?? errors[0];
      }),
    ['clk-support evtx stats System.evtx Application.evtx', 'clk-support evtx stats --json Security.evtx'],
  );
}
