import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { examples, type App } from '../app.js';
import { ClkError, ExitCode, UsageError, errorMessage } from '../errors.js';
import type { Farm } from '../farm/load.js';
import { selectServers } from '../farm/load.js';
import { ALL_CHECKS } from '../checks/catalog.js';
import { CheckContext } from '../checks/context.js';
import { planChecks, runWithRetry, summarize, validateSelection } from '../checks/runner.js';
import { summaryLine, toJson, toJunit, toTap, type RunReport } from '../checks/output.js';
import type { CheckDef, CheckResult, Status } from '../checks/types.js';
import { renderTable } from '../ui/table.js';
import type { Io } from '../ui/io.js';
import { formatBytes, formatDuration } from '../format.js';
import { NODE_RANGE, VERSION } from '../version.js';
import { addWindowOptions, windowFromFlags, zoneFor, type WindowFlags } from './window-options.js';


interface CheckOpts extends WindowFlags {
  only?: string[];
  skip?: string[];
  group?: string[];
  list?: boolean;
  strict?: boolean;
  junit?: string;
  tap?: boolean;
  server?: string[];
  concurrency?: number;
  timeout?: number;
  minFree: number;
  outputDir?: string;
  tracerMaxAge: number;
  retryTimeout?: number;
  sleep: number;
}

const DEFAULT_MIN_FREE = 2 * 1024 ** 3;

/** "2GiB", "500MB", "1.5G", "1048576" → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`--min-free: "${text}" is not a size`, { hint: 'use e.g. 2GiB, 500MB or a number of bytes' });
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const base = m[3] && !/i/i.test(m[3]) ? 1000 : 1024;
  return Math.round(Number(m[1]) * base ** power);
}

/** "500ms", "10s", "5m", "1h"; a bare number is seconds. */
export function parseDuration(flag: string) {
  return (text: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/i.exec(text);
    if (!m) throw new UsageError(`${flag}: "${text}" is not a duration`, { hint: 'use e.g. 500ms, 30s, 5m or 1h' });
    const unit = (m[2] ?? 's').toLowerCase();
    const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000;
    return Math.round(Number(m[1]) * factor);
  };
}

function positiveNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: "${v}" must be a positive number`);
    return n;
  };
}

/** Accept both `--only a b` and `--only a,b`. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function registerCheckCommand(program: Command, app: App): void {
  examples(
    addWindowOptions(
      program
        .command('check')
        .description('prerequisite checks for people and CI: this machine, the farm file, every server, logs, license, endpoints, services, performance (perf.*)'),
      { to: 'now; without any window flag, perf.* judges the last 24 h of each perfmon file', span: 'window of the perf.* checks only' },
    )
      .option('--only <id|group>', 'run only these checks (ids, ids with [SERVER], groups, or a prefix such as perf.*; repeat or comma-separate)', collect)
      .option('--skip <id|group>', 'leave these checks out (same forms as --only)', collect)
      .option('--group <name>', 'run only the checks of these groups', collect)
      .option('--list', 'list the checks and exit', false)
      .option('--strict', 'warnings (and errors of warning-severity checks) fail the run', false)
      .option('--junit <file>', 'also write the results as JUnit XML to this file ("-" for stdout)')
      .option('--tap', 'print the results as TAP 14 instead of the table', false)
      .option('-s, --server <name...>', 'only these servers')
      .option('--concurrency <n>', 'checks run at once (default: the farm\'s settings.concurrency)', positiveNumber('--concurrency'))
      .option('--timeout <ms>', 'time limit of every check, replacing each check\'s own', positiveNumber('--timeout'))
      .addOption(new Option('--min-free <size>', 'free disk a bundle needs in the output folder (e.g. 500MB, 5GiB)').argParser(parseSize).default(DEFAULT_MIN_FREE, '2GiB'))
      .option('--output-dir <dir>', 'where bundles will be written (free disk is measured there; default: current folder)')
      .option('--tracer-max-age <hours>', 'Tracer logging counts as active when its newest line is at most this old', positiveNumber('--tracer-max-age'), 24)
      .option('--retry-timeout <duration>', 'while checks fail, run them again until they pass or this time is up (e.g. 5m), for pipelines right after a deployment', parseDuration('--retry-timeout'))
      .addOption(new Option('--sleep <duration>', 'pause between attempts with --retry-timeout').argParser(parseDuration('--sleep')).default(10_000, '10s'))
      .action(async (opts: CheckOpts, cmd: Command) => {
        const io = app.io(cmd);
        const json = app.globals(cmd).json;
        const toStdout = [json && '--json', opts.tap && '--tap', opts.junit === '-' && '--junit -'].filter(Boolean);
        if (toStdout.length > 1) throw new UsageError(`${toStdout.join(' and ')} both write to stdout: choose one`);

        if (opts.list) {
          listChecks(io, json, ALL_CHECKS);
          return;
        }

        let farm: Farm | undefined;
        let farmError: { message: string; hint?: string } | undefined;
        try {
          farm = await app.farm(cmd);
        } catch (err) {
          // A broken or missing farm file is itself a check result (farm.valid), not the end of the run.
          if (!(err instanceof ClkError)) throw err;
          farmError = { message: err.message, hint: err.hint };
        }
        // The perf.* checks' window; without one they judge the last 24 h of each perfmon file's own samples.
        const perfWindow = opts.from || opts.to || opts.around || opts.span ? windowFromFlags(opts, zoneFor(opts, farm)) : undefined;
        const servers = farm ? selectServers(farm, opts.server) : [];
        const selection = { only: opts.only, skip: opts.skip, groups: opts.group };
        validateSelection(ALL_CHECKS, selection, farm?.servers.map((s) => s.name) ?? []);
        const planned = planChecks(ALL_CHECKS, servers, selection);
        if (planned.length === 0) throw new UsageError('the selection leaves no check to run', { hint: 'loosen --only / --skip / --group' });
        // A report that cannot be written is found out before the run, not after it.
        const junitFile = opts.junit && opts.junit !== '-' ? resolve(app.cwd, opts.junit) : undefined;
        if (junitFile) await writeJunit(junitFile, '');

        const makeContext = () =>
          new CheckContext({
            farm,
            farmError,
            farmFile: app.globals(cmd).farm,
            servers,
            options: {
              outputDir: resolve(app.cwd, opts.outputDir ?? '.'),
              minFreeBytes: opts.minFree,
              tracerMaxAgeHours: opts.tracerMaxAge,
              perfWindow,
              toolVersion: VERSION,
              nodeRange: NODE_RANGE,
            },
          });
        const startedAt = new Date();
        const spinner = io.spinner(`Running ${planned.length} check${planned.length === 1 ? '' : 's'}${farm ? ` on ${farm.farm.name}` : ''}`);
        let results: CheckResult[];
        let attempts: number;
        try {
          ({ results, attempts } = await runWithRetry(
            makeContext,
            planned,
            {
              concurrency: opts.concurrency ?? farm?.settings.concurrency ?? 8,
              timeoutMs: opts.timeout,
              signal: app.signal,
              onResult: (_r, done, total) => spinner.update(`Running checks (${done}/${total})`),
            },
            {
              retryTimeoutMs: opts.retryTimeout,
              sleepMs: opts.sleep,
              strict: Boolean(opts.strict),
              onRetry: ({ attempt, failing, waitMs }) =>
                io.info(`attempt ${attempt}: ${failing.length} failing (${failing.slice(0, 5).join(', ')}${failing.length > 5 ? ', ...' : ''}); retrying in ${formatDuration(waitMs)}`),
            },
          ));
        } finally {
          spinner.stop();
        }
        if (attempts > 1) io.info(`${attempts} attempts`);
        const summary = summarize(results, Boolean(opts.strict), Date.now() - startedAt.getTime());
        const report: RunReport = {
          farm: farm && { name: farm.farm.name, systemId: farm.farm.systemId, environment: farm.farm.environment, file: farm.file },
          farmFile: app.globals(cmd).farm,
          strict: Boolean(opts.strict),
          startedAt,
          summary,
          results,
          attempts,
        };

        if (json) io.json(toJson(report));
        else if (opts.tap) io.stdout.write(toTap(report));
        else if (opts.junit === '-') io.stdout.write(toJunit(report));
        else renderHuman(io, report);

        if (junitFile) {
          await writeJunit(junitFile, toJunit(report));
          io.info(`JUnit report written to ${junitFile}`);
        }
        if (summary.failed) app.report(ExitCode.failed);
      }),
    [
      'clk-support --farm fixtures/demo-farm/clk-farm.json check',
      'clk-support check --junit reports/check.xml        # CI: exit 1 when a check failed',
      'clk-support check --strict --tap                   # warnings fail too; TAP on stdout',
      'clk-support check --only server.reachable,farm.versions',
      'clk-support check --group logs --server APP01 --json',
      'clk-support check --skip services --min-free 5GiB --output-dir D:\\bundles',
      'clk-support check --retry-timeout 5m --sleep 15s    # after a deployment: wait for the farm to come up',
      "clk-support check --only 'perf.*' --from -6h          # performance findings of the last 6 hours",
      'clk-support check --list',
    ],
  );
}

/** Write the JUnit file whole (temp name, then rename); a path that cannot take it is a usage error (exit 2). */
async function writeJunit(file: string, xml: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    const st = await stat(file).catch(() => undefined);
    if (st?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    await writeFile(tmp, xml);
    if (xml === '') await unlink(tmp); // the probe before the run: can a file be made there?
    else await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new UsageError(`--junit: cannot write the JUnit report to ${file}: ${fileErrorText(err)}`, {
      code: 'JUNIT_NOT_WRITABLE',
      hint: 'give --junit a file path in a folder you can write to (its missing folders are created), or "-" for stdout',
    });
  }
}

function fileErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const text: Record<string, string> = {
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'a part of the path is a file, not a folder',
    EISDIR: 'that path is a folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    ENAMETOOLONG: 'the name is too long',
  };
  return code && text[code] ? `${text[code]} (${code})` : errorMessage(err);
}

const SYMBOL: Record<Status, string> = { pass: '✓', warn: '!', fail: '✗', skip: '-', error: '☠', timeout: '⏱' };

function badge(io: Io, s: Status): string {
  const text = `${SYMBOL[s]} ${s}`;
  if (s === 'pass') return io.c.green(text);
  if (s === 'warn') return io.c.yellow(text);
  if (s === 'skip') return io.c.dim(text);
  return io.c.red(text);
}

function renderHuman(io: Io, r: RunReport): void {
  io.table(r.results, [
    { header: 'STATUS', value: (x) => badge(io, x.status) },
    { header: 'CHECK', value: (x) => x.id },
    { header: 'RESULT', value: (x) => x.message.split('\n')[0], free: true },
  ]);
  const problems = r.results.filter((x) => x.status !== 'pass' && x.status !== 'skip');
  if (problems.length) {
    io.out('');
    io.out(io.c.bold(`To look at (${problems.length}):`));
    for (const x of problems) {
      io.out(`${badge(io, x.status)} ${x.id}: ${x.title}`);
      io.out(`    ${x.message}`);
      for (const d of x.details.slice(0, 12)) io.out(io.c.dim(`      ${d}`));
      if (x.details.length > 12) io.out(io.c.dim(`      ... ${x.details.length - 12} more (--json shows all)`));
      if (x.hint) io.out(`    ${io.c.cyan('fix:')} ${x.hint}`);
    }
  }
  if (io.verbose)
    for (const x of r.results.filter((y) => y.status === 'pass' && y.details.length)) io.debug(`${x.id}:\n${x.details.map((d) => `  ${d}`).join('\n')}`);
  io.out('');
  const line = summaryLine(r.summary);
  io.out(r.summary.failed ? io.c.red(`✗ ${line}${r.strict ? ' (strict)' : ''}`) : io.c.green(`✓ ${line}${r.strict ? ' (strict)' : ''}`));
}

function appliesText(d: CheckDef): string {
  if (d.scope === 'global') return 'this run';
  const parts: string[] = ['each server'];
  if (d.appliesTo?.roles) parts.push(`roles ${d.appliesTo.roles.join('/')}`);
  if (d.appliesTo?.platforms) parts.push(d.appliesTo.platforms.join('/'));
  if (d.appliesTo?.transports) parts.push(`via ${d.appliesTo.transports.join('/')}`);
  return parts.join(', ');
}

function listChecks(io: Io, json: boolean, defs: readonly CheckDef[]): void {
  if (json) {
    io.json({
      schema: 'clk-support/check-list/v1',
      checks: defs.map((d) => ({
        id: d.id,
        group: d.group,
        title: d.title,
        severity: d.severity,
        scope: d.scope,
        appliesTo: d.scope === 'server' ? d.appliesTo ?? {} : undefined,
        timeoutMs: typeof d.timeoutMs === 'number' ? d.timeoutMs : 'from farm settings',
        hint: d.hint,
      })),
    });
    return;
  }
  io.table(defs, [
    { header: 'ID', value: (d) => d.id },
    { header: 'GROUP', value: (d) => d.group },
    { header: 'SEVERITY', value: (d) => d.severity },
    { header: 'RUNS FOR', value: appliesText },
    { header: 'TIMEOUT', value: (d) => (typeof d.timeoutMs === 'number' ? `${d.timeoutMs / 1000} s` : 'farm'), align: 'right' },
    { header: 'TITLE', value: (d) => d.title, free: true },
  ]);
  io.info(`\n${defs.length} checks. Select with --only/--skip (ids, ids with [SERVER], or groups) or --group. Default --min-free ${formatBytes(DEFAULT_MIN_FREE)}.`);
}
