import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { CHECK_SCHEMA, summaryLine, toJson, toJunit, toTap, type RunReport } from '../../src/checks/output.js';
import { summarize } from '../../src/checks/runner.js';
import type { CheckResult, Status } from '../../src/checks/types.js';

const XSD = fileURLToPath(new URL('./junit.xsd', import.meta.url));
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;

function result(id: string, status: Status, extra: Partial<CheckResult> = {}): CheckResult {
  return { id, check: id.replace(/\[.*$/, ''), group: id.split('.')[0], title: `title of ${id}`, severity: 'error', status, message: `${status} message`, details: [], durationMs: 12, ...extra };
}

// Every status, and text that XML, TAP and YAML must each escape.
const results: CheckResult[] = [
  result('env.node', 'pass'),
  result('farm.valid', 'fail', { message: 'bad <farm> & "quotes" # not a directive', details: ['line 1', 'C:\\path\\x'], hint: 'fix it & retry' }),
  result('server.reachable[APP01]', 'warn', { severity: 'warning', server: 'APP01', message: 'slow\nsecond line' }),
  result('server.reachable[WEB01]', 'skip', { server: 'WEB01', message: 'not reachable # see above' }),
  result('logs.tracer[APP01]', 'error', { server: 'APP01', message: 'the check itself failed: ]]> boom', hint: 'report it' }),
  result('network.endpoints[APP01]', 'timeout', { server: 'APP01', message: 'no answer within 50 ms' }),
];
const report = (strict: boolean): RunReport => ({ strict, startedAt: new Date('2026-11-23T06:00:00.123Z'), summary: summarize(results, strict, 1234), results });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clk-out-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('JUnit', () => {
  it.each([false, true])('validates against the schema and maps every status (strict=%s)', async (strict) => {
    const xml = toJunit(report(strict));
    const file = join(dir, `r-${strict}.xml`);
    await writeFile(file, xml);
    if (hasXmllint) {
      const v = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
      expect(v.stderr).toContain('validates');
    }
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testsuite' || n === 'testcase' }).parse(xml);
    const cases = Object.fromEntries((doc.testsuites.testsuite as { testcase: { name: string }[] }[]).flatMap((s) => s.testcase).map((c) => [c.name, c as any]));
    expect(cases['farm.valid'].failure.message).toBe('bad <farm> & "quotes" # not a directive');
    expect(cases['farm.valid'].failure['#text']).toContain('hint: fix it & retry');
    expect(cases['server.reachable[WEB01]'].skipped.message).toBe('not reachable # see above');
    expect(cases['logs.tracer[APP01]'].error.type).toBe('error');
    expect(cases['network.endpoints[APP01]'].error.type).toBe('timeout');
    // A warning is a pass with its text in system-out, or a failure of type warning with --strict.
    expect(cases['server.reachable[APP01]'].failure?.type).toBe(strict ? 'warning' : undefined);
    expect(doc.testsuites.failures).toBe(strict ? '2' : '1');
    expect(doc.testsuites.errors).toBe('2');
    expect(doc.testsuites.skipped).toBe('1');
    expect(doc.testsuites.tests).toBe('6');
  });
});

describe('TAP', () => {
  it('plans, numbers, skips and explains failures in YAML', () => {
    const tap = toTap(report(false));
    const lines = tap.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['TAP version 14', '1..6']);
    expect(lines).toContain('ok 1 - env.node - pass message');
    expect(lines).toContain('not ok 2 - farm.valid - bad <farm> & "quotes" \\# not a directive');
    expect(lines).toContain('ok 3 - server.reachable[APP01] - slow second line');
    expect(lines).toContain('ok 4 - server.reachable[WEB01] # SKIP not reachable \\# see above');
    expect(lines).toContain('not ok 5 - logs.tracer[APP01] - the check itself failed: ]]> boom');
    expect(lines).toContain('not ok 6 - network.endpoints[APP01] - no answer within 50 ms');
    expect(lines).toContain('  hint: "fix it & retry"');
    expect(lines).toContain('    - "C:\\\\path\\\\x"');
    expect(lines.at(-1)).toBe('# 1 passed, 1 warning, 1 failed, 1 skipped, 1 error, 1 timed out in 1.2 s');
    expect(toTap(report(true))).toContain('not ok 3 - server.reachable[APP01]');
  });
});

describe('JSON', () => {
  it('is versioned and says the outcome', () => {
    const j = toJson(report(false));
    expect(j.schema).toBe(CHECK_SCHEMA);
    expect(j).toMatchObject({ outcome: 'fail', exitCode: 1, farm: null, startedAt: '2026-11-23T06:00:00.123Z' });
    expect(j.results.map((r) => r.failing)).toEqual([false, true, false, false, true, true]);
    expect(summaryLine(j.summary)).toBe('1 passed, 1 warning, 1 failed, 1 skipped, 1 error, 1 timed out in 1.2 s');
  });
});
