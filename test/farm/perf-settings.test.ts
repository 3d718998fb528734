// The farm file's "perf" section through the built CLI: `farm validate` accepts the documented
// example, and refuses unknown threshold ids (with the nearest one), unbounded numbers, patterns that
// are not counter paths or too long, and extra ids that clash or name no family (exit 2, JSON path named).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { copyDemoFarm, REPO, runCli } from '../support/cli.js';

type Farm = Record<string, any>;
let demo: Awaited<ReturnType<typeof copyDemoFarm>>;
let base: Farm;

beforeAll(async () => {
  demo = await copyDemoFarm();
  base = JSON.parse(await readFile(demo.farmFile, 'utf8')) as Farm;
});
afterAll(async () => demo?.cleanup());

let n = 0;
async function validate(perf: unknown) {
  const f = structuredClone(base);
  f.perf = perf;
  const file = join(demo.dir, `farm-perf-${n++}.json`);
  await writeFile(file, JSON.stringify(f));
  return runCli(['--farm', file, 'farm', 'validate']);
}

const extra = (over: Record<string, unknown> = {}) => ({
  id: 'custom.w6-queue',
  counter: '\\W6 Server(*)\\Requests Queued',
  test: 'above',
  limit: 50,
  sustainMs: 300_000,
  severity: 'warning',
  explanation: 'W6 requests waiting',
  ...over,
});

describe('farm file perf section', () => {
  it('accepts the example of docs/perf-findings.md as it is', async () => {
    const doc = await readFile(join(REPO, 'docs', 'perf-findings.md'), 'utf8');
    const block = /```jsonc\n"perf": ([\s\S]*?)\n```/.exec(doc)![1]!;
    const perf = parseJsonc(block);
    expect(perf.thresholds).toHaveLength(4);
    const r = await validate(perf);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.exitCode).toBe(0);
  });

  it('names an unknown threshold id and suggests the nearest (exit 2)', async () => {
    const r = await validate({ thresholds: [{ id: 'cpu.bussy', limit: 70 }] });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('perf.thresholds[0].id: unknown threshold "cpu.bussy" (did you mean "cpu.busy"?)');
  });

  it('suggests nothing for an id far from any', async () => {
    const r = await validate({ thresholds: [{ id: 'network.bandwidth' }] });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/perf\.thresholds\[0\]\.id: unknown threshold "network\.bandwidth"; docs/);
  });

  it('an unknown key in an override is named with the nearest key', async () => {
    const r = await validate({ thresholds: [{ id: 'cpu.busy', limt: 70 }] });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown key "limt" (did you mean "limit"?)');
  });

  const refused: [string, string, unknown][] = [
    ['a limit over 1e15', 'perf.thresholds[0].limit', { thresholds: [{ id: 'cpu.busy', limit: 1e300 }] }],
    ['a limit given as text', 'perf.thresholds[0].limit', { thresholds: [{ id: 'cpu.busy', limit: '80' }] }],
    ['a negative sustainMs', 'perf.thresholds[0].sustainMs', { thresholds: [{ id: 'cpu.busy', sustainMs: -1 }] }],
    ['a sustainMs over 7 days', 'perf.thresholds[0].sustainMs', { thresholds: [{ id: 'cpu.busy', sustainMs: 8 * 86_400_000 }] }],
    ['a fractional sustainMs', 'perf.thresholds[0].sustainMs', { thresholds: [{ id: 'cpu.busy', sustainMs: 1.5 }] }],
    ['an unknown severity', 'perf.thresholds[0].severity', { thresholds: [{ id: 'cpu.busy', severity: 'fatal' }] }],
    ['an extra pattern naming a machine', 'perf.extra[0].counter', { extra: [extra({ counter: '\\\\APP01\\Memory\\Available MBytes' })] }],
    ['an extra pattern that is no counter path', 'perf.extra[0].counter', { extra: [extra({ counter: 'Available MBytes' })] }],
    ['an extra pattern of 513 characters', 'perf.extra[0].counter', { extra: [extra({ counter: `\\${'x'.repeat(500)}\\${'y'.repeat(11)}` })] }],
    ['an extra id clashing with a built-in one', 'perf.extra[0].id', { extra: [extra({ id: 'cpu.busy' })] }],
    ['an extra id of no family', 'perf.extra[0].id', { extra: [extra({ id: 'w6.queue' })] }],
    ['an extra id twice', 'perf.extra[1].id', { extra: [extra(), extra()] }],
    ['an extra test that does not exist', 'perf.extra[0].test', { extra: [extra({ test: 'regex' })] }],
    ['an extra explanation over 300 characters', 'perf.extra[0].explanation', { extra: [extra({ explanation: 'x'.repeat(301) })] }],
    ['201 overrides', 'perf.thresholds', { thresholds: Array.from({ length: 201 }, () => ({ id: 'cpu.busy' })) }],
  ];
  it.each(refused)('refuses %s, naming %s (exit 2)', async (_what, path, perf) => {
    const r = await validate(perf);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${path}:`);
  });
});
