// The machine formats of a check run: JSON (versioned), JUnit XML (Jenkins/Ant style, one
// testsuite per group) and TAP 14. Pure functions of the results.
import { XMLBuilder } from 'fast-xml-parser';
import { isFailing } from './runner.js';
import { escapeControl } from '../format.js';
import type { CheckResult, Summary } from './types.js';

export const CHECK_SCHEMA = 'clk-support/check/v1';

export interface RunReport {
  farm?: { name: string; systemId: string; environment: string; file: string };
  farmFile?: string;
  strict: boolean;
  startedAt: Date;
  summary: Summary;
  results: readonly CheckResult[];
  /** Runs made with --retry-timeout (1 without it); the results are the last run's. */
  attempts?: number;
}

export function toJson(r: RunReport) {
  return {
    schema: CHECK_SCHEMA,
    farm: r.farm ?? null,
    farmFile: r.farm?.file ?? r.farmFile ?? null,
    strict: r.strict,
    attempts: r.attempts ?? 1,
    startedAt: r.startedAt.toISOString(),
    outcome: r.summary.failed ? 'fail' : 'pass',
    exitCode: r.summary.failed ? 1 : 0,
    summary: r.summary,
    results: r.results.map((x) => ({ ...x, failing: isFailing(x, r.strict) })),
  };
}

/** "12 passed, 1 warning, 2 failed, 3 skipped in 4.2 s" */
export function summaryLine(s: Summary): string {
  const parts = [`${s.pass} passed`, `${s.warn} warning${s.warn === 1 ? '' : 's'}`, `${s.fail} failed`, `${s.skip} skipped`];
  if (s.error) parts.push(`${s.error} error${s.error === 1 ? '' : 's'}`);
  if (s.timeout) parts.push(`${s.timeout} timed out`);
  const down = (s.unreachable ?? []).map((u) => `${u.server} (${u.results} check${u.results === 1 ? '' : 's'} could not look)`);
  return `${parts.join(', ')} in ${(s.durationMs / 1000).toFixed(1)} s${down.length ? `; not reachable: ${down.join(', ')}` : ''}`;
}

function resultText(x: CheckResult): string {
  const lines = [`${x.status.toUpperCase()}: ${x.message}`, ...x.details.map((d) => `  ${d}`)];
  if (x.hint) lines.push(`hint: ${x.hint}`);
  return lines.join('\n');
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

/** JUnit XML: testsuites > testsuite (one per group, in report order) > testcase (classname group, name id). */
export function toJunit(r: RunReport): string {
  const groups: string[] = [];
  for (const x of r.results) if (!groups.includes(x.group)) groups.push(x.group);
  const count = (xs: readonly CheckResult[]) => ({
    tests: xs.length,
    failures: xs.filter((x) => x.status === 'fail' || (x.status === 'warn' && r.strict)).length,
    errors: xs.filter((x) => x.status === 'error' || x.status === 'timeout').length,
    skipped: xs.filter((x) => x.status === 'skip').length,
    time: secs(xs.reduce((a, x) => a + x.durationMs, 0)),
  });
  // XML 1.0 cannot hold most control characters at all (a hostile counter or file name in a message):
  // they are escaped as the terminal sanitiser does, so the report stays well-formed.
  const attr = (s: string) => escapeControl(s);
  const body = (x: CheckResult) => escapeControl(resultText(x), { keepLines: true });
  const testcase = (x: CheckResult) => {
    const tc: Record<string, unknown> = { '@_name': attr(x.id), '@_classname': `clk-support.${x.group}`, '@_time': secs(x.durationMs) };
    if (x.status === 'fail' || (x.status === 'warn' && r.strict)) tc.failure = { '@_message': attr(x.message), '@_type': x.status === 'warn' ? 'warning' : x.severity, '#text': body(x) };
    else if (x.status === 'error' || x.status === 'timeout') tc.error = { '@_message': attr(x.message), '@_type': x.status, '#text': body(x) };
    else if (x.status === 'skip') tc.skipped = { '@_message': attr(x.message) };
    tc['system-out'] = body(x);
    return tc;
  };
  const timestamp = r.startedAt.toISOString().replace(/\.\d+Z$/, '');
  const doc = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    testsuites: {
      '@_name': `clk-support check${r.farm ? `: ${r.farm.name}` : ''}`,
      ...prefixed(count(r.results)),
      testsuite: groups.map((g, i) => {
        const xs = r.results.filter((x) => x.group === g);
        return {
          '@_name': g,
          '@_id': String(i),
          '@_package': 'clk-support',
          '@_timestamp': timestamp,
          ...prefixed(count(xs)),
          testcase: xs.map(testcase),
        };
      }),
    },
  };
  const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true, processEntities: true });
  return builder.build(doc) as string;
}

function prefixed(o: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`@_${k}`, String(v)]));
}

/** TAP version 14: `ok`/`not ok` per result, `# SKIP` for skips, a YAML block for what failed. */
export function toTap(r: RunReport): string {
  const out = ['TAP version 14', `1..${r.results.length}`];
  r.results.forEach((x, i) => {
    const failing = isFailing(x, r.strict);
    const desc = `${x.id} - ${oneLine(x.message)}`;
    if (x.status === 'skip') out.push(`ok ${i + 1} - ${x.id} # SKIP ${oneLine(x.message)}`);
    else out.push(`${failing ? 'not ok' : 'ok'} ${i + 1} - ${desc}`);
    if (x.status !== 'pass' && x.status !== 'skip') {
      out.push('  ---', `  status: ${x.status}`, `  severity: ${x.severity}`, `  message: ${yamlString(x.message)}`);
      if (x.server) out.push(`  server: ${yamlString(x.server)}`);
      if (x.details.length) out.push('  details:', ...x.details.map((d) => `    - ${yamlString(d)}`));
      if (x.hint) out.push(`  hint: ${yamlString(x.hint)}`);
      out.push('  ...');
    }
  });
  out.push(`# ${summaryLine(r.summary)}`);
  return `${out.join('\n')}\n`;
}

function oneLine(s: string): string {
  // '#' would start a TAP directive in the description; control characters (a hostile counter or
  // file name in a message) are escaped as the terminal sanitiser does, TAP goes to stdout unfiltered.
  return escapeControl(s.replace(/\s+/g, ' ')).replace(/#/g, '\\#').trim();
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}
