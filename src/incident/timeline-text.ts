// The timeline as text: the servers and their clock corrections, one row per bucket (errors and
// users per server, the key counters), then the marks, the first occurrence and the findings.
// A plain function of the (already redacted) data: the same numbers as the JSON.
import { plural } from '../format.js';
import type { Timeline, TimelineSeries } from './timeline-model.js';

/** Counters shown in the table (one column per server each, when present). */
const KEY_COUNTERS: readonly { re: RegExp; label: string }[] = [
  { re: /^\\Processor(?: Information)?\(_Total\)\\% Processor Time$/i, label: 'cpu%' },
  { re: /^\\Memory\\Available MBytes$/i, label: 'memMB' },
];

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) >= 100 ? 0 : 1);
}

function hhmm(isoTime: string): string {
  return `${isoTime.slice(0, 10)} ${isoTime.slice(11, 16)}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd());
}

export function renderTimelineText(t: Timeline): string {
  const out: string[] = [];
  out.push(`Incident timeline: ${t.farm.name} (${t.farm.systemId}, ${t.farm.environment})`);
  out.push(`Window: ${t.window.from} .. ${t.window.to} UTC, ${plural(t.buckets.length, 'bucket')} of ${t.bucketMs / 60_000} min; source: ${t.source.kind} ${t.source.path}`);
  out.push('');
  out.push('Servers:');
  for (const s of t.servers) {
    const clock = s.clockOffsetMs === undefined ? 'clock offset unknown' : `clock offset ${s.clockOffsetMs} ms, corrected by ${s.clockCorrectionMs} ms`;
    out.push(`  ${s.name} (${s.role}): ${s.reachable ? `${s.version ?? 'version unknown'}${s.build ? ` build ${s.build}` : ''}, ${clock}` : `UNREACHABLE${s.reason ? `: ${s.reason}` : ''}`}`);
  }
  out.push(`Users affected: ${t.users.total} distinct (${t.users.perServer.map((p) => `${p.server} ${p.count}`).join(', ') || 'no server read'})`);
  out.push('');

  const find = (server: string, kind: TimelineSeries['kind'], re?: RegExp) => t.series.find((s) => s.server === server && s.kind === kind && (!re || re.test(s.name)));
  const servers = t.servers.filter((s) => t.series.some((x) => x.server === s.name)).map((s) => s.name);
  const cols: { head: string; value: (i: number) => string }[] = [];
  for (const name of servers) {
    const tr = find(name, 'tracer-errors');
    const ev = find(name, 'event-errors');
    const us = find(name, 'users');
    cols.push({ head: `${name} err`, value: (i) => fmt((tr?.values[i] ?? 0) + (ev?.values[i] ?? 0)) });
    cols.push({ head: `${name} users`, value: (i) => fmt(us?.values[i]) });
    for (const k of KEY_COUNTERS) {
      const c = find(name, 'counter', k.re);
      if (c) cols.push({ head: `${name} ${k.label}`, value: (i) => fmt(c.values[i]) });
    }
  }
  if (cols.length) {
    out.push('Per bucket (err = Tracer error lines + Error/Critical events; users = distinct affected users; counters: bucket mean):');
    const rows = [['time (UTC)', ...cols.map((c) => c.head)], ...t.buckets.map((b, i) => [hhmm(b), ...cols.map((c) => c.value(i))])];
    for (const line of table(rows)) out.push(`  ${line}`);
  } else out.push('Per bucket: no server could be read.');
  out.push('');

  const marks = t.marks.filter((m) => m.kind !== 'first-occurrence');
  out.push(marks.length ? `Marks (${marks.length}):` : 'Marks: none in the window.');
  for (const m of marks) out.push(`  ${m.time}  ${m.server}  ${m.kind}  ${m.label}`);
  out.push('');
  out.push(t.firstOccurrence ? `First occurrence: ${t.firstOccurrence.time} on ${t.firstOccurrence.server} (${t.firstOccurrence.source}): ${t.firstOccurrence.detail}` : 'First occurrence: no error in the window.');
  out.push('');
  out.push(t.findings.length ? `Findings (${t.findings.length}):` : 'Findings: none.');
  for (const f of t.findings) out.push(`  ${f.severity.toUpperCase()} ${f.server} ${f.counter} ${f.from} .. ${f.to}: ${f.value} (limit ${f.limit}): ${f.explanation}`);
  if (t.warnings.length) {
    out.push('');
    out.push('Warnings:');
    for (const w of t.warnings) out.push(`  ${w}`);
  }
  return `${out.join('\n')}\n`;
}
