// perf.*: what each server's Performance Monitor CSVs show against the thresholds (docs/perf-findings.md),
// one check per threshold family (perf.cpu, perf.memory, ...). A critical finding fails, a warning one
// warns; no CSV to read is a skip with the reason (a .blg needs relog on Windows), never a pass.
import type { ServerConfig } from '../../farm/schema.js';
import { ClkError } from '../../errors.js';
import { plural } from '../../format.js';
import { describeFinding } from '../../incident/perf-findings.js';
import { scanServerPerf, type ServerPerfScan } from '../../incident/perf-scan.js';
import { effectiveClockOffset } from '../../incident/server-logs.js';
import { describeCondition, describeSustain, effectiveThresholds, PERF_FAMILIES, perfFamily } from '../../incident/perf-thresholds.js';
import type { PerfThreshold } from '../../incident/timeline-model.js';
import { unreachableOutcome, type CheckContext } from '../context.js';
import type { Outcome, ServerCheck } from '../types.js';
import { probeBudgetMs } from './farm.js';

/** Findings listed per result; the rest are counted. */
const MAX_LISTED = 20;
/** Reading a day of samples over a share can take a while: the probe's budget plus ten minutes. */
const perfBudgetMs = (ctx: CheckContext): number => probeBudgetMs(ctx) + 600_000;

const FAMILY_TITLES: Record<string, string> = {
  cpu: 'Processor time not sustained high',
  memory: 'Available and committed memory',
  disk: 'Disk latency, queue and free space',
  paging: 'Paging and page file use',
  process: 'No process handle/thread/memory growth (leak)',
  dotnet: '.NET garbage collection and exceptions',
  aspnet: 'ASP.NET request queues',
  sql: 'SQL Server blocking, lock waits and memory',
  custom: 'Extra thresholds from the farm file (perf.extra)',
};

/** The thresholds in force for this run (the farm file's perf section applied). */
function thresholdsOf(ctx: CheckContext): PerfThreshold[] {
  return effectiveThresholds(ctx.loadedFarm.perf);
}

/** The server's scan, done once for all perf.* checks of the run. */
function serverScan(ctx: CheckContext, server: ServerConfig): Promise<ServerPerfScan | Outcome> {
  return ctx.shared(`perf:${server.name}`, async (): Promise<ServerPerfScan | Outcome> => {
    const { probe, transport } = await ctx.reach(server);
    if (!probe.reachable || !transport) return unreachableOutcome(probe);
    // Sample times corrected by the server's clock offset, as incident prefill does, so a window means the same.
    return scanServerPerf(transport, server, thresholdsOf(ctx), { window: ctx.options.perfWindow, shiftMs: effectiveClockOffset(probe.identity?.clock) });
  });
}

function familyCheck(family: string): ServerCheck {
  const inFamily = (t: PerfThreshold) => perfFamily(t.id) === family;
  return {
    scope: 'server',
    id: `perf.${family}`,
    group: 'perf',
    title: FAMILY_TITLES[family] ?? `Performance thresholds: ${family}`,
    severity: 'error',
    timeoutMs: perfBudgetMs,
    hint: 'read the finding\'s explanation; the thresholds are tuned under "perf" in the farm file (docs/perf-findings.md)',
    applies: (ctx, server) => {
      if (!server.logs.perfmonDir) return `no logs.perfmonDir configured for ${server.name}`;
      if (family === 'custom' && !ctx.farm?.perf.extra.some((t) => perfFamily(t.id) === 'custom')) return 'no custom.* thresholds under perf.extra in the farm file';
      return true;
    },
    async run(ctx, server): Promise<Outcome> {
      let thresholds: PerfThreshold[];
      try {
        thresholds = thresholdsOf(ctx).filter(inFamily);
      } catch (err) {
        if (err instanceof ClkError) return { status: 'fail', message: `thresholds not usable: ${err.message}`, hint: err.hint };
        throw err;
      }
      if (thresholds.length === 0) return { status: 'skip', message: `every ${family}.* threshold is disabled in the farm file (perf.thresholds)` };
      const scan = await serverScan(ctx, server);
      if ('status' in scan) return scan;
      const analysed = scan.files.filter((f) => !f.problem);
      const fileLines = scan.files.map((f) => (f.problem ? `not analysed: ${f.path}: ${f.problem}` : `read: ${f.path}: ${plural(f.rows, 'sample')}${f.firstMs !== undefined ? ` ${new Date(f.firstMs).toISOString()} .. ${new Date(f.lastMs!).toISOString()}` : ''}`));
      if (scan.blg.length) fileLines.push(`not analysed: ${plural(scan.blg.length, '.blg file')} (binary; relog -f csv on Windows makes a CSV of it)`);
      if (scan.droppedFindings) fileLines.push(`left out: ${plural(scan.droppedFindings, 'further finding')} (over the bound of findings kept per file and per server)`);
      if (scan.leftOut) fileLines.push(`left out: ${plural(scan.leftOut, 'older CSV file')} (only the newest are read)`);
      if (analysed.length === 0) {
        if (scan.dirError)
          return { status: 'error', message: `could not check: ${scan.dirError}`, details: fileLines, hint: `give this user read access to ${scan.dir}` };
        if (scan.none) return { status: 'skip', message: scan.none, details: fileLines };
        return { status: 'error', message: `could not check: none of the ${plural(scan.files.length, 'perfmon CSV file')} could be read`, details: fileLines, hint: `give this user read access to ${scan.dir}` };
      }
      const ids = new Set(thresholds.map((t) => t.id));
      const watched = thresholds.filter((t) => scan.matched.includes(t.id));
      const rules = thresholds.map((t) => `${t.id}: ${t.counter} ${describeCondition(t)}${t.test === 'growth' ? ' over' : ' for'} ${describeSustain(t.sustainMs)} (${t.severity})`);
      if (watched.length === 0)
        return { status: 'skip', message: `none of the ${family} counters is in the perfmon CSV`, details: [...rules.map((r) => `looked for ${r}`), ...fileLines] };
      const findings = scan.findings.filter((f) => ids.has(f.id));
      const byId = new Map(thresholds.map((t) => [t.id, t]));
      const critical = findings.filter((f) => f.severity === 'critical');
      const listed = [...critical, ...findings.filter((f) => f.severity !== 'critical')];
      const details = listed.slice(0, MAX_LISTED).flatMap((f) => [`${describeFinding(f, byId.get(f.id))}`, `  ${f.explanation}`]);
      if (listed.length > MAX_LISTED) details.push(`... and ${listed.length - MAX_LISTED} more (clk-support incident timeline --json lists them all)`);
      details.push(...fileLines, windowNote(ctx));
      if (critical.length) {
        const first = critical[0]!;
        return { status: 'fail', message: `${plural(critical.length, 'critical finding')}${findings.length > critical.length ? ` (and ${plural(findings.length - critical.length, 'warning')})` : ''}: ${summary(first)}`, details, hint: first.explanation };
      }
      if (findings.length) return { status: 'warn', message: `${plural(findings.length, 'warning')}: ${summary(findings[0]!)}`, details, hint: findings[0]!.explanation };
      return {
        status: 'pass',
        message: `no finding in ${plural(analysed.reduce((n, f) => n + f.rows, 0), 'sample')} (${watched.map((t) => t.id).join(', ')})`,
        details: [...rules.map((r) => `watched ${r}`), ...fileLines, windowNote(ctx)],
      };
    },
  };
}

function windowNote(ctx: CheckContext): string {
  const w = ctx.options.perfWindow;
  return w ? `window: ${w.from.toISOString()} .. ${w.to.toISOString()} (after the server's clock correction)` : "window: findings reaching into the last 24 h of each file's samples (--from/--to choose one)";
}

function summary(f: { counter: string; value: number; from: string; to: string }): string {
  return `${f.counter} at ${f.value}, ${f.from.slice(0, 16).replace('T', ' ')} .. ${f.to.slice(0, 16).replace('T', ' ')} UTC`;
}

/** One check per threshold family, in the order of docs/perf-findings.md, then the farm file's custom.* ones. */
export const perfChecks: readonly ServerCheck[] = [...PERF_FAMILIES, 'custom'].map(familyCheck);
