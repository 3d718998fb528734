import { describe, expect, it } from 'vitest';
import { CheckContext } from '../../src/checks/context.js';
import { isFailing, planChecks, runChecks, summarize, validateSelection } from '../../src/checks/runner.js';
import { ALL_CHECKS } from '../../src/checks/catalog.js';
import type { CheckDef, GlobalCheck, ServerCheck } from '../../src/checks/types.js';
import { UsageError } from '../../src/errors.js';
import { loadFarmSchema, parseFarm } from '../../src/farm/load.js';

const options = { outputDir: '/tmp', minFreeBytes: 1, tracerMaxAgeHours: 24, toolVersion: '0.0.0', nodeRange: '>=20' };

await loadFarmSchema();
const farm = parseFarm(
  JSON.stringify({
    formatVersion: 1,
    farm: { name: 'T', customerNumber: '1', installationNumber: '0000000001', systemId: 'TST', environment: 'test' },
    servers: [
      { name: 'B1', role: 'application', transport: { type: 'share', root: '/nonexistent-b1' }, installRoot: 'C:\\x' },
      { name: 'A2', role: 'database', platform: 'linux', transport: { type: 'share', root: '/nonexistent-a2' }, installRoot: '/x' },
    ],
  }),
  '/tmp/clk-farm.json',
);

const g = (id: string, run: GlobalCheck['run'], extra: Partial<GlobalCheck> = {}): GlobalCheck => ({
  scope: 'global', id, group: id.split('.')[0], title: id, severity: 'error', timeoutMs: 2000, hint: `fix ${id}`, run, ...extra,
});
const s = (id: string, run: ServerCheck['run'], extra: Partial<ServerCheck> = {}): ServerCheck => ({
  // These test checks do not look at their (fictitious) servers unless a test says so.
  scope: 'server', id, group: id.split('.')[0], title: id, severity: 'error', timeoutMs: 2000, hint: `fix ${id}`, run, needsServer: false, ...extra,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runner', () => {
  it('reports in definition order, then farm order, whatever order checks finish in', async () => {
    const defs: CheckDef[] = [
      g('a.slow', async () => (await sleep(60), { status: 'pass', message: 'slow' })),
      s('b.each', async (_c, server) => (await sleep(server.name === 'B1' ? 40 : 1), { status: 'pass', message: server.name })),
      g('c.fast', async () => ({ status: 'pass', message: 'fast' })),
    ];
    const ctx = new CheckContext({ farm, options });
    const results = await runChecks(ctx, planChecks(defs, farm.servers), { concurrency: 4 });
    expect(results.map((r) => r.id)).toEqual(['a.slow', 'b.each[B1]', 'b.each[A2]', 'c.fast']);
    expect(results[1]).toMatchObject({ check: 'b.each', server: 'B1', message: 'B1' });
  });

  it('turns a throwing check into an error result, and a slow one into a timeout, without stopping the run', async () => {
    const defs: CheckDef[] = [
      g('x.throws', async () => {
        throw new Error('boom');
      }),
      // Ignores its signal on purpose: the limit must hold anyway.
      g('x.hangs', () => new Promise(() => {}), { timeoutMs: 50 }),
      g('x.ok', async () => ({ status: 'pass', message: 'fine' })),
    ];
    const results = await runChecks(new CheckContext({ farm, options }), planChecks(defs, farm.servers));
    expect(results.map((r) => r.status)).toEqual(['error', 'timeout', 'pass']);
    expect(results[0].message).toContain('boom');
    expect(results[0].hint).toBeTruthy();
    expect(results[0].details[0]).toMatch(/^at /);
    expect(results[1].message).toContain('50 ms');
  });

  it('skips with the reason what does not apply (role, platform, transport, own rule), never fails it', async () => {
    const run: ServerCheck['run'] = async () => ({ status: 'fail', message: 'should not run' });
    const defs: CheckDef[] = [
      s('r.role', run, { appliesTo: { roles: ['database'] } }),
      s('r.platform', run, { appliesTo: { platforms: ['windows'] } }),
      s('r.transport', run, { appliesTo: { transports: ['ssh'] } }),
      g('r.own', run as never, { applies: () => 'nothing to do here' }),
    ];
    const results = await runChecks(new CheckContext({ farm, options }), planChecks(defs, farm.servers));
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    expect(byId['r.role[B1]']).toMatchObject({ status: 'skip', message: expect.stringContaining('B1 is application') });
    expect(byId['r.role[A2]'].status).toBe('fail');
    expect(byId['r.platform[A2]']).toMatchObject({ status: 'skip', message: expect.stringContaining('runs linux') });
    expect(byId['r.platform[B1]'].status).toBe('fail');
    expect(byId['r.transport[B1]']).toMatchObject({ status: 'skip', message: expect.stringContaining('reached by share') });
    expect(byId['r.own']).toMatchObject({ status: 'skip', message: 'nothing to do here', hint: undefined });
  });

  it('a check on a server that cannot be reached could not look: error, failing whatever its severity, named in the summary', async () => {
    const run: ServerCheck['run'] = async () => ({ status: 'pass', message: 'would be green' });
    const { needsServer: _, ...needs } = s('u.soft', run, { severity: 'warning' });
    const defs: CheckDef[] = [needs as ServerCheck];
    const results = await runChecks(new CheckContext({ farm, options }), planChecks(defs, farm.servers));
    expect(results.map((r) => r.status)).toEqual(['error', 'error']);
    expect(results[0]).toMatchObject({ message: expect.stringMatching(/^could not check: B1 is not reachable/), unreachable: ['B1'] });
    for (const r of results) expect(isFailing(r, false)).toBe(true);
    const sum = summarize(results, false, 5);
    expect(sum.failed).toBe(true);
    expect(sum.unreachable).toEqual([{ server: 'B1', results: 1 }, { server: 'A2', results: 1 }]);
  });

  it('reports a failing warning-severity check as a warning', async () => {
    const defs = [g('w.soft', async () => ({ status: 'fail', message: 'meh' }), { severity: 'warning' })];
    const [r] = await runChecks(new CheckContext({ farm, options }), planChecks(defs, farm.servers));
    expect(r.status).toBe('warn');
    expect(isFailing(r, false)).toBe(false);
    expect(isFailing(r, true)).toBe(true);
  });

  it('stops on Ctrl-C instead of reporting results', async () => {
    const ac = new AbortController();
    const defs = [g('i.long', () => new Promise(() => {}), { timeoutMs: 10_000 })];
    const run = runChecks(new CheckContext({ farm, options }), planChecks(defs, farm.servers), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('Interrupted by Ctrl-C')), 20);
    await expect(run).rejects.toThrow('Interrupted');
  });

  it('summarises and decides the exit: failures always, errors of error-severity checks, warnings only with --strict', () => {
    const base = { check: 'x', group: 'x', title: 'x', details: [], durationMs: 1, message: '' };
    const results = [
      { ...base, id: 'p', status: 'pass', severity: 'error' },
      { ...base, id: 'w', status: 'warn', severity: 'warning' },
      { ...base, id: 's', status: 'skip', severity: 'error' },
      { ...base, id: 'e', status: 'error', severity: 'warning' },
    ] as const;
    expect(summarize(results, false, 10)).toMatchObject({ total: 4, pass: 1, warn: 1, skip: 1, error: 1, failed: false });
    expect(summarize(results, true, 10).failed).toBe(true);
    expect(summarize([...results, { ...base, id: 'f', status: 'timeout', severity: 'error' }], false, 10).failed).toBe(true);
  });
});

describe('selection', () => {
  const names = farm.servers.map((x) => x.name);
  it('selects by id, by id with [SERVER], and by group; --skip removes', () => {
    const ids = (sel: Parameters<typeof planChecks>[2]) => planChecks(ALL_CHECKS, farm.servers, sel).map((p) => p.id);
    expect(ids({ only: ['farm.valid'] })).toEqual(['farm.valid']);
    expect(ids({ only: ['server.reachable[A2]'] })).toEqual(['server.reachable[A2]']);
    expect(ids({ only: ['server'] })).toEqual(['server.reachable[B1]', 'server.reachable[A2]', 'server.clock[B1]', 'server.clock[A2]']);
    expect(ids({ groups: ['server'], skip: ['server.clock', 'server.reachable[B1]'] })).toEqual(['server.reachable[A2]']);
  });

  it('refuses unknown ids, servers and groups with the list to choose from', () => {
    expect(() => validateSelection(ALL_CHECKS, { only: ['server.reachable'] }, names)).not.toThrow();
    expect(() => validateSelection(ALL_CHECKS, { only: ['server.reachabel'] }, names)).toThrow(UsageError);
    expect(() => validateSelection(ALL_CHECKS, { skip: ['server.reachable[NOPE]'] }, names)).toThrow(/unknown check/);
    expect(() => validateSelection(ALL_CHECKS, { groups: ['nope'] }, names)).toThrow(/unknown group/);
    try {
      validateSelection(ALL_CHECKS, { only: ['x'] }, names);
    } catch (err) {
      expect((err as UsageError).hint).toContain('--list');
    }
  });

  it('ids are unique and every check has a title, group, hint and timeout', () => {
    const ids = ALL_CHECKS.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const d of ALL_CHECKS) {
      expect(d.id).toMatch(/^[a-z]+\.[a-z.]+$/);
      expect(d.title && d.group && d.hint).toBeTruthy();
      expect(d.timeoutMs).toBeTruthy();
    }
  });
});
