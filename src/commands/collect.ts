import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { examples, type App } from '../app.js';
import { ExitCode, UsageError } from '../errors.js';
import { collect, LOG_COLLECTORS, parseSize, type CollectResult } from '../collect/run.js';
import { COLLECTORS, selectCollectors } from '../collect/collectors.js';
import { describeWindow, parseDuration, type TimeWindow } from '../logs/window.js';
import { addWindowOptions, windowFromFlags, windowJson, windowNotice, zoneFor, type WindowFlags } from './window-options.js';
import { renderTable } from '../ui/table.js';
import { formatBytes, formatDuration, plural } from '../format.js';
import { VERSION } from '../version.js';
import type { ProgressTask } from '../ui/io.js';
import { statusBadge } from '../ui/badge.js';
import type { Io } from '../ui/io.js';

interface CollectFlags extends WindowFlags {
  server?: string[];
  only?: string[];
  skip?: string[];
  list?: boolean;
  dryRun?: boolean;
  out?: string;
  maxFileSize: string;
  maxBundleSize: string;
  anonymize?: boolean;
  incident: boolean;
  minFree: string;
  timeoutPerCollector: string;
  timeoutPerServer: string;
}


const commaList = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function sizeFlag(flag: string, text: string): number {
  const n = parseSize(text);
  if (n === undefined) throw new UsageError(`${flag}: "${text}" is not a size`, { hint: 'use e.g. 50MB, 512KiB, 2GiB or a number of bytes' });
  return n;
}

export function registerCollectCommand(program: Command, app: App): void {
  examples(
    addWindowOptions(
      program
        .command('collect')
        .description('the incident bundle SAP asks for (event logs, perfmon, Tracer logs, config, server facts) from every server, as one redacted zip'),
      { to: 'now', span: 'default: 24h back from --to, forward from --from, or 2h with --around' },
    )
      .option('-s, --server <name...>', 'only these servers')
      .option('--only <ids>', `only these collectors (comma-separated: ${COLLECTORS.map((c) => c.id).join(', ')})`, commaList)
      .option('--skip <ids>', 'leave these collectors out (comma-separated)', commaList)
      .option('--list', 'list the collectors and exit')
      .option('--dry-run', 'list what would be collected and the estimated size; write nothing')
      .option('-o, --out <dir>', 'folder the bundle is written to (default: the current folder)')
      .addOption(new Option('--max-file-size <size>', 'per-file cap (text logs keep their most recent lines)').default('50MB'))
      .addOption(new Option('--max-bundle-size <size>', 'cap on the bytes put into the bundle').default('2GB'))
      .addOption(new Option('--min-free <size>', 'stop before the output volume has less than this free').default('64MiB'))
      .option('--no-incident', 'leave out incident.txt (the prefilled SAP incident form)')
      .option('--anonymize', 'replace host names, IPs and user names in text files by tokens; the private mapping is written beside the bundle')
      .addOption(new Option('--timeout-per-collector <duration>', 'time limit of one collector on one server').default('5m'))
      .addOption(new Option('--timeout-per-server <duration>', 'time limit of all collectors on one server').default('15m'))
      .action(async (opts: CollectFlags, cmd: Command) => {
        const io = app.io(cmd);
        const json = app.globals(cmd).json;
        if (opts.list) {
          if (json) io.json({ schema: 'clk-support/collectors/v1', collectors: COLLECTORS.map((c) => ({ id: c.id, description: c.description })) });
          else io.table(COLLECTORS, [{ header: 'ID', value: (c) => c.id }, { header: 'WHAT IT COLLECTS', value: (c) => c.description, free: true }]);
          return;
        }
        selectCollectors(opts.only, opts.skip); // bad ids fail before any server is contacted
        if (opts.tz !== undefined) zoneFor(opts); // a bad --tz fails before the farm is read
        const maxFileBytes = sizeFlag('--max-file-size', opts.maxFileSize);
        const maxBundleBytes = sizeFlag('--max-bundle-size', opts.maxBundleSize);
        const minFreeBytes = opts.minFree.trim() === '0' ? 0 : sizeFlag('--min-free', opts.minFree);
        const collectorTimeoutMs = parseDuration(opts.timeoutPerCollector, '--timeout-per-collector');
        const serverTimeoutMs = parseDuration(opts.timeoutPerServer, '--timeout-per-server');
        const farm = await app.farm(cmd);
        const window = windowFromFlags(opts, zoneFor(opts, farm));
        const outDir = resolve(app.cwd, opts.out ?? '.');

        io.info(`${opts.dryRun ? 'Planning' : 'Collecting'} from ${farm.farm.name}: ${windowNotice(window)}`);
        const spinner = io.spinner('Probing servers');
        const progress = io.progress();
        const tasks = new Map<string, ProgressTask>();
        let result: CollectResult;
        try {
          result = await collect(farm, {
            window,
            servers: opts.server,
            only: opts.only,
            skip: opts.skip,
            outDir,
            dryRun: opts.dryRun,
            maxFileBytes,
            maxBundleBytes,
            anonymize: opts.anonymize,
            incident: opts.incident,
            minFreeBytes,
            collectorTimeoutMs,
            serverTimeoutMs,
            signal: app.signal,
            toolVersion: VERSION,
            onEvent: (e) => {
              if (e.type === 'probed') {
                spinner.update(`Probing servers: ${e.server} ${e.reachable ? 'reachable' : `unreachable (${e.reason})`}`);
              } else if (e.type === 'server-start') {
                spinner.stop();
                tasks.set(e.server, progress.task(e.server, e.estimatedBytes));
              } else if (e.type === 'bytes') {
                tasks.get(e.server)?.increment(e.bytes);
              } else if (e.type === 'server-done') {
                tasks.get(e.server)?.done(e.status);
              }
            },
          });
        } finally {
          spinner.stop();
          progress.stop();
        }
        if (json) io.json({ ...result, window: windowJson(window) });
        else if (result.dryRun) renderPlan(io, result);
        else renderSummary(io, result);
        if (result.noLogData) warnNoLogData(io, result, window);
        if (result.partial) app.report(ExitCode.partial);
      }),
    [
      'clk-support collect',
      'clk-support collect --around "2026-11-20T09:30Z" --span 2h',
      'clk-support --farm fixtures/demo-farm/clk-farm.json collect --from 2025-06-03T08:00:00Z --to 2025-06-03T12:00:00Z --out /tmp',
      'clk-support collect --from -6h --only tracer,eventlogs --server APP01 SCHED01',
      'clk-support collect --dry-run --json',
      'clk-support collect --anonymize --max-file-size 20MB --max-bundle-size 1GiB',
      'clk-support collect --list',
    ],
  );
}

const COLLECTOR_IDS = COLLECTORS.map((c) => c.id);

function renderSummary(io: Io, r: CollectResult): void {
  const rows = r.servers;
  const cell = (server: string, id: string) => {
    const e = r.collectors.find((x) => x.server === server && x.collector === id);
    if (!e) return '';
    return `${statusBadge(io, e.status)}${e.files ? ` (${e.files})` : ''}`;
  };
  const used = COLLECTOR_IDS.filter((id) => r.collectors.some((e) => e.collector === id));
  io.info('');
  io.info(
    renderTable(rows, [
      { header: 'SERVER', value: (s) => s.name },
      { header: 'STATUS', value: (s) => statusBadge(io, s.status) },
      ...used.map((id) => ({ header: id.toUpperCase(), value: (s: (typeof rows)[number]) => cell(s.name, id) })),
      { header: 'SIZE', value: (s) => (s.reachable ? formatBytes(s.bytes) : ''), align: 'right' as const },
      { header: 'TIME', value: (s) => formatDuration(s.durationMs), align: 'right' as const },
    ]),
  );
  io.info('');
  for (const s of rows.filter((x) => !x.reachable)) io.warn(`${s.name} unreachable: ${s.reason}${s.hint ? ` (${s.hint})` : ''}`);
  for (const e of r.collectors.filter((x) => x.collector !== 'probe' && (x.status === 'failed' || x.status === 'timed-out' || x.status === 'partial')))
    io.warn(`${e.server ? `${e.server} ` : ''}${e.collector} ${e.status}: ${e.reason ?? ''}`);
  for (const f of r.files.filter((x) => x.kind === 'skipped')) io.debug(`${f.server} ${f.collector}: skipped ${f.path}: ${f.reason}`);
  const b = r.bundle!;
  const line = `bundle ${b.path}: ${plural(b.entries, 'file')}, ${formatBytes(b.size)} (from ${formatBytes(r.totals.bytes)}) in ${formatDuration(r.totals.durationMs)}`;
  if (r.partial) io.warn(`partial ${line}: see collector.log inside`);
  else io.success(line);
  if (b.mappingPath) io.info(`anonymization mapping (private, do not send): ${b.mappingPath}`);
  for (const w of b.warnings ?? []) io.warn(w);
  io.out(b.path);
}

/** Nothing in the window: say so, what each source holds, and the usual cause (the zone). */
function warnNoLogData(io: Io, r: CollectResult, w: TimeWindow): void {
  io.warn(`no log data in the window ${describeWindow(w)}: no event log record and no Tracer line falls inside it; the bundle holds configuration and server facts only`);
  io.warn(
    w.assumedZone
      ? `was the zone right? times without a zone were read as ${w.assumedZone}: give --tz (e.g. --tz Europe/Berlin) or the farm's settings.timeZone, or write the time with Z or an offset`
      : 'was the window right? compare it with the times each source holds:',
  );
  const rows = r.files.filter((f) => LOG_COLLECTORS.has(f.collector));
  for (const f of rows.slice(0, 20)) io.warn(`  ${f.server} ${f.collector} ${f.path}: ${f.reason}`);
  if (rows.length > 20) io.warn(`  ... ${rows.length - 20} more (--json lists all)`);
  if (rows.length === 0) io.warn('  no event log or Tracer file was found on any server: check logs.eventLogDir and logs.tracerGlobs in the farm file');
}

function renderPlan(io: Io, r: CollectResult): void {
  const plan = r.plan ?? [];
  io.table(plan, [
    { header: 'SERVER', value: (p) => p.server },
    { header: 'COLLECTOR', value: (p) => p.collector },
    { header: 'SOURCE', value: (p) => p.sourcePath, free: true },
    { header: 'UP TO', value: (p) => (p.skip ? '' : formatBytes(p.estimatedBytes)), align: 'right' },
    { header: 'NOTE', value: (p) => (p.skip ? `skip: ${p.skip}` : p.note ?? ''), free: true },
  ]);
  for (const s of r.servers.filter((x) => !x.reachable)) io.warn(`${s.name} unreachable: ${s.reason}`);
  io.info(`dry run: ${r.totals.files} files, at most ${formatBytes(r.totals.estimatedBytes)} before compression (text logs shrink to their lines in the window); nothing written`);
}
