// Runs the selected checks concurrently (bounded), each under its own time limit, and answers the
// results in a stable order (definition order, then farm order) whatever order they finish in.
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { InterruptedError, UsageError, errorMessage } from '../errors.js';
import type { ServerConfig } from '../farm/schema.js';
import { unreachableOutcome, type CheckContext } from './context.js';
import type { CheckDef, CheckResult, Outcome, Status, Summary } from './types.js';

export interface Selection {
  /** Check ids (`server.clock`), result ids (`server.clock[APP01]`) or groups. */
  only?: readonly string[];
  skip?: readonly string[];
  groups?: readonly string[];
}

/** One thing to run: a global check, or a per-server check for one server. */
export interface PlannedCheck {
  def: CheckDef;
  id: string;
  server?: ServerConfig;
}

export function resultId(def: CheckDef, server?: ServerConfig): string {
  return server ? `${def.id}[${server.name}]` : def.id;
}

/** `perf.*` names every check whose id starts with `perf.` (as a shell user types a family). */
function prefixOf(token: string): string | undefined {
  return token.endsWith('.*') && token.length > 2 ? token.slice(0, -1).toLowerCase() : undefined;
}

function matches(def: CheckDef, id: string, token: string): boolean {
  const t = token.toLowerCase();
  const prefix = prefixOf(t);
  if (prefix) return def.id.toLowerCase().startsWith(prefix);
  return def.id.toLowerCase() === t || def.group.toLowerCase() === t || id.toLowerCase() === t;
}

/** Refuse a selector that names nothing: a typo in a CI gate must not silently check less. */
export function validateSelection(defs: readonly CheckDef[], sel: Selection, serverNames: readonly string[]): void {
  const groups = [...new Set(defs.map((d) => d.group))];
  const known = (token: string): boolean => {
    const t = token.toLowerCase();
    const prefix = prefixOf(t);
    if (prefix) return defs.some((d) => d.id.toLowerCase().startsWith(prefix));
    const m = /^(.+)\[(.+)\]$/.exec(t);
    if (m) {
      const def = defs.find((d) => d.id.toLowerCase() === m[1]);
      return def?.scope === 'server' && (serverNames.length === 0 || serverNames.some((s) => s.toLowerCase() === m[2]));
    }
    return defs.some((d) => d.id.toLowerCase() === t) || groups.some((g) => g.toLowerCase() === t);
  };
  for (const [flag, tokens] of [['--only', sel.only], ['--skip', sel.skip]] as const) {
    const unknown = (tokens ?? []).filter((t) => !known(t));
    if (unknown.length)
      throw new UsageError(`${flag}: unknown check or group ${unknown.map((u) => `"${u}"`).join(', ')}`, {
        code: 'CHECK_UNKNOWN',
        hint: `run "clk-support check --list" for the ids; groups: ${groups.join(', ')}`,
      });
  }
  const badGroups = (sel.groups ?? []).filter((g) => !groups.some((x) => x.toLowerCase() === g.toLowerCase()));
  if (badGroups.length)
    throw new UsageError(`--group: unknown group ${badGroups.map((g) => `"${g}"`).join(', ')}`, {
      code: 'CHECK_UNKNOWN',
      hint: `groups: ${groups.join(', ')}`,
    });
}

/** Expand per-server checks over the servers and apply --only / --skip / --group. */
export function planChecks(defs: readonly CheckDef[], servers: readonly ServerConfig[], sel: Selection = {}): PlannedCheck[] {
  const planned: PlannedCheck[] = [];
  for (const def of defs) {
    if (sel.groups?.length && !sel.groups.some((g) => g.toLowerCase() === def.group.toLowerCase())) continue;
    // With no farm, a per-server check still appears once, to say why it was not run.
    const targets: (ServerConfig | undefined)[] = def.scope === 'server' && servers.length ? [...servers] : [undefined];
    for (const server of targets) {
      const id = resultId(def, server);
      if (sel.only?.length && !sel.only.some((t) => matches(def, id, t))) continue;
      if (sel.skip?.some((t) => matches(def, id, t))) continue;
      planned.push({ def, id, server });
    }
  }
  return planned;
}

export interface RunOptions {
  concurrency?: number;
  signal?: AbortSignal;
  /** Replaces every check's own time limit. */
  timeoutMs?: number;
  onResult?: (r: CheckResult, done: number, total: number) => void;
}

export async function runChecks(ctx: CheckContext, planned: readonly PlannedCheck[], opts: RunOptions = {}): Promise<CheckResult[]> {
  const limit = pLimit(Math.max(1, opts.concurrency ?? 8));
  let done = 0;
  const results = await Promise.all(
    planned.map((p) =>
      limit(async () => {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new InterruptedError();
        const r = await runOne(ctx, p, opts);
        opts.onResult?.(r, ++done, planned.length);
        return r;
      }),
    ),
  );
  return results;
}

function notApplicable(ctx: CheckContext, p: PlannedCheck): string | undefined {
  const { def, server } = p;
  if (def.scope === 'global') {
    const a = def.applies?.(ctx);
    return a === true || a === undefined ? undefined : a;
  }
  if (!server) return ctx.farm ? 'the farm lists no servers to check' : 'the farm file is not valid (see farm.valid)';
  const to = def.appliesTo;
  if (to?.roles && !to.roles.includes(server.role)) return `applies to ${to.roles.join('/')} servers; ${server.name} is ${server.role}`;
  if (to?.platforms && !to.platforms.includes(server.platform)) return `applies to ${to.platforms.join('/')} servers; ${server.name} runs ${server.platform}`;
  if (to?.transports && !to.transports.includes(server.transport.type))
    return `applies to servers reached by ${to.transports.join('/')}; ${server.name} is reached by ${server.transport.type}`;
  const a = def.applies?.(ctx, server);
  return a === true || a === undefined ? undefined : a;
}

async function runOne(ctx: CheckContext, p: PlannedCheck, opts: RunOptions): Promise<CheckResult> {
  const { def, server } = p;
  const base = { id: p.id, check: def.id, server: server?.name, group: def.group, title: def.title, severity: def.severity };
  const started = Date.now();
  const finish = (status: Status, message: string, details: string[] = [], hint?: string, unreachable?: string[]): CheckResult => ({
    ...base,
    status,
    message,
    details,
    hint: status === 'pass' || status === 'skip' ? undefined : hint ?? def.hint,
    ...(unreachable?.length ? { unreachable } : {}),
    durationMs: Date.now() - started,
  });

  let reason: string | undefined;
  try {
    reason = notApplicable(ctx, p);
  } catch (err) {
    return finish('error', `could not decide whether the check applies: ${errorMessage(err)}`);
  }
  // Without a valid farm file a check of the farm could not look: that must not read as "does not apply".
  if (!ctx.farm && (def.scope === 'server' || def.needsFarm))
    return finish('error', `could not check: the farm file is not valid: see farm.valid`, [ctx.farmError?.message.split('\n')[0] ?? 'not loaded'], ctx.farmError?.hint);
  if (reason !== undefined) return finish('skip', reason);

  const timeoutMs = opts.timeoutMs ?? (typeof def.timeoutMs === 'function' ? def.timeoutMs(ctx) : def.timeoutMs);
  const timeout = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
  let timer: NodeJS.Timeout | undefined;
  // The race makes the limit hold even for a check that ignores its signal.
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      timeout.abort(new Error(`timed out after ${timeoutMs} ms`));
      resolve('timeout');
    }, timeoutMs);
  });
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<'interrupted'>((resolve) => {
    onAbort = () => resolve('interrupted');
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const work = (async (): Promise<Outcome> => {
      if (def.scope === 'global') return def.run(ctx, signal);
      // A check that could not look at its server must never read as green, whatever else is selected.
      if (def.needsServer !== false) {
        const probe = await ctx.probe(server!);
        if (!probe.reachable) return unreachableOutcome(probe);
      }
      return def.run(ctx, server!, signal);
    })();
    const outcome = await Promise.race([work, expired, interrupted]);
    if (outcome === 'interrupted') throw opts.signal?.reason ?? new InterruptedError();
    if (outcome === 'timeout') return finish('timeout', `no answer within ${timeoutMs} ms`, [], `${def.hint}; raise the limit with --timeout if the server is merely slow`);
    let status: Status = outcome.status;
    // A warning-severity check never blocks: its failure is reported as a warning.
    if (status === 'fail' && def.severity === 'warning') status = 'warn';
    return finish(status, outcome.message, outcome.details ?? [], outcome.hint, outcome.unreachable);
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new InterruptedError();
    if (timeout.signal.aborted) return finish('timeout', `no answer within ${timeoutMs} ms`);
    // The top frames go with the result, so that a CI log is enough to report it.
    const frames = err instanceof Error && err.stack ? err.stack.split('\n').slice(1, 6).map((l) => l.trim()) : [];
    return finish('error', `the check itself failed: ${errorMessage(err)}`, frames, 'this is a bug in clk-support or an unexpected environment: report it with this output');
  } finally {
    clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Whether one result makes the run fail. */
export function isFailing(r: CheckResult, strict: boolean): boolean {
  if (r.status === 'fail') return true;
  // Not looked at because a server is down: never green, whatever the check's severity.
  if (r.unreachable?.length && r.status !== 'pass' && r.status !== 'skip') return true;
  if (r.status === 'error' || r.status === 'timeout') return strict || r.severity === 'error';
  if (r.status === 'warn') return strict;
  return false;
}

export function summarize(results: readonly CheckResult[], strict: boolean, durationMs: number): Summary {
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  return {
    total: results.length,
    pass: count('pass'),
    warn: count('warn'),
    fail: count('fail'),
    skip: count('skip'),
    error: count('error'),
    timeout: count('timeout'),
    unreachable: unreachableCounts(results),
    durationMs,
    failed: results.some((r) => isFailing(r, strict)),
  };
}

function unreachableCounts(results: readonly CheckResult[]): Summary['unreachable'] {
  const counts = new Map<string, number>();
  for (const r of results) if (r.status !== 'pass' && r.status !== 'skip') for (const s of r.unreachable ?? []) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([server, n]) => ({ server, results: n }));
}

export interface RetryOptions {
  /** Keep re-running the failing run until it passes or this much time has gone (goss --retry-timeout). */
  retryTimeoutMs?: number;
  /** Pause between attempts. */
  sleepMs: number;
  strict: boolean;
  onRetry?: (info: { attempt: number; failing: string[]; waitMs: number }) => void;
}

export interface RetriedRun {
  results: CheckResult[];
  attempts: number;
}

/**
 * Run the plan; with a retry timeout, run it again (with a fresh context: new probes, new
 * connections) while it fails, for pipelines that wait for a farm to come up after a deployment.
 */
export async function runWithRetry(makeContext: () => CheckContext, planned: readonly PlannedCheck[], run: RunOptions, retry: RetryOptions): Promise<RetriedRun> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const ctx = makeContext();
    let results: CheckResult[];
    try {
      results = await runChecks(ctx, planned, run);
    } finally {
      await ctx.close({ abandon: run.signal?.aborted });
    }
    const failing = results.filter((r) => isFailing(r, retry.strict)).map((r) => r.id);
    const left = (retry.retryTimeoutMs ?? 0) - (Date.now() - started);
    if (failing.length === 0 || left < retry.sleepMs) return { results, attempts: attempt };
    retry.onRetry?.({ attempt, failing, waitMs: retry.sleepMs });
    await sleep(retry.sleepMs, undefined, { signal: run.signal }).catch(() => {
      throw run.signal?.reason ?? new InterruptedError();
    });
  }
}
