// Checks of the farm file and of each server: reachable, clock, and one version across the farm.
import { formatOffset } from '../../format.js';
import { unreachableOutcome, type CheckContext } from '../context.js';
import type { GlobalCheck, Outcome, ServerCheck } from '../types.js';

/** Time for a check that waits on the shared probe: connect plus identity reads, and its own work. */
export function probeBudgetMs(ctx: CheckContext): number {
  const s = ctx.farm?.settings;
  return s ? s.connectTimeoutMs + 2 * s.timeoutMs + 5000 : 30_000;
}

export const farmValidCheck: GlobalCheck = {
  scope: 'global',
  id: 'farm.valid',
  group: 'farm',
  title: 'Farm file present and valid',
  severity: 'error',
  timeoutMs: 10_000,
  hint: 'fix the farm file at the place named (format: docs/farm-file), or pass the right one with --farm',
  async run(ctx) {
    if (!ctx.farm) {
      const [first, ...rest] = (ctx.farmError?.message ?? 'not loaded').split('\n');
      return { status: 'fail', message: first, details: rest.map((l) => l.trim()), hint: ctx.farmError?.hint };
    }
    const f = ctx.farm;
    return { status: 'pass', message: `${f.file}: ${f.farm.name} (${f.farm.systemId}, ${f.farm.environment}), ${f.servers.length} server${f.servers.length === 1 ? '' : 's'}` };
  },
};

export const reachableCheck: ServerCheck = {
  scope: 'server',
  id: 'server.reachable',
  group: 'server',
  title: 'Server reachable, identity and version readable',
  severity: 'error',
  timeoutMs: probeBudgetMs,
  hint: 'check that the server is up and the share / ssh access in the farm file works (clk-support farm status)',
  applies: (_ctx, server) => server.expected || 'listed with "expected": false (not expected online)',
  // This check is the probe: it reports the unreachable server itself.
  needsServer: false,
  async run(ctx, server): Promise<Outcome> {
    const probe = await ctx.probe(server);
    if (!probe.reachable) return { status: 'fail', message: probe.error ?? `not reachable (${probe.reason})`, hint: probe.hint };
    const id = probe.identity;
    const details = [`hostname: ${id?.hostname ?? '?'}`, `os: ${id?.os ?? '?'}`, ...(id?.notes ?? [])];
    if (id?.productError) details.push(`version: ${id.productError}`);
    return { status: 'pass', message: `reachable via ${server.transport.type} in ${probe.durationMs} ms${id?.product ? `, ${id.product.version}` : ''}`, details };
  },
};

/** Judge a clock offset against the farm's limits. */
export function judgeClock(offsetMs: number, warnMs: number, failMs: number): Outcome {
  const abs = Math.abs(offsetMs);
  const what = `clock ${formatOffset(offsetMs)} off this machine`;
  if (abs > failMs) return { status: 'fail', message: `${what} (limit ${failMs} ms)` };
  if (abs > warnMs) return { status: 'warn', message: `${what} (warning above ${warnMs} ms)` };
  return { status: 'pass', message: `${what} (within ${warnMs} ms)` };
}

export const clockCheck: ServerCheck = {
  scope: 'server',
  id: 'server.clock',
  group: 'server',
  title: 'Clock within the farm limits (license checks and log correlation depend on it)',
  severity: 'error',
  timeoutMs: probeBudgetMs,
  hint: 'synchronise the server with the domain time source (w32tm /resync), and this machine too',
  async run(ctx, server): Promise<Outcome> {
    const probe = await ctx.probe(server);
    if (!probe.reachable) return unreachableOutcome(probe);
    const clock = probe.identity?.clock;
    if (!clock) return { status: 'fail', message: `clock not readable: ${probe.identity?.clockError ?? 'unknown reason'}`, hint: 'the clock is read from a file the check writes at the share root (or `date` over ssh): give this user write access there' };
    const s = ctx.loadedFarm.settings;
    const o = judgeClock(clock.offsetMs, s.clockDriftWarnMs, s.clockDriftFailMs);
    return { ...o, details: [`measured by ${clock.method}, round trip ${Math.round(clock.rttMs)} ms`] };
  },
};

export const versionsCheck: GlobalCheck = {
  scope: 'global',
  id: 'farm.versions',
  group: 'farm',
  title: 'One ClickSoftware version and build across the farm',
  severity: 'error',
  timeoutMs: probeBudgetMs,
  hint: 'bring every server to the same version and build (upgrade the odd ones out) before deploying or opening an incident',
  needsFarm: true,
  applies: (ctx) => (ctx.farm ? true : 'the farm file is not valid (see farm.valid)'),
  async run(ctx): Promise<Outcome> {
    const probes = await Promise.all(ctx.servers.map((s) => ctx.probe(s)));
    const versions = new Map<string, string[]>();
    const details: string[] = [];
    const unreadable: string[] = [];
    const unreachable: string[] = [];
    for (const p of probes) {
      if (!p.reachable) {
        // A server not expected online is left out; any other one could be on another build.
        if (p.server.expected) unreachable.push(p.server.name);
        details.push(`${p.server.name}: not checked: not reachable${p.reason && p.reason !== 'unreachable' ? ` (${p.reason})` : ''}${p.server.expected ? '' : ', not expected online'}`);
        continue;
      }
      const v = p.identity?.product;
      if (!v) {
        unreadable.push(p.server.name);
        details.push(`${p.server.name}: version not readable: ${p.identity?.productError ?? 'unknown'}`);
        continue;
      }
      const key = `${v.version} (build ${v.build})`;
      versions.set(key, [...(versions.get(key) ?? []), p.server.name]);
      details.push(`${p.server.name}: ${key}`);
    }
    const list = [...versions.entries()].sort((a, b) => b[1].length - a[1].length);
    if (list.length > 1)
      return { status: 'fail', message: `${list.length} versions across the farm: ${list.map(([v, s]) => `${v} on ${s.join(', ')}`).join('; ')}`, details, unreachable };
    // One version where readable proves nothing about the servers that could not be read.
    const unseen = [...unreachable.map((n) => `${n} (not reachable)`), ...unreadable.map((n) => `${n} (version not readable)`)];
    if (unseen.length)
      return {
        status: 'error',
        message: `could not check: ${list.length ? `${list[0][0]} where readable; ` : ''}no version from ${unseen.join(', ')}`,
        details,
        hint: unreadable.length ? 'add or fix the "version" source of those servers in the farm file' : 'bring the unreachable servers up (see server.reachable) and run the check again',
        unreachable,
      };
    if (list.length === 0) return { status: 'skip', message: 'the farm lists no server expected online', details };
    return { status: 'pass', message: `${list[0][0]} on ${list[0][1].join(', ')}`, details };
  },
};
