// The prefill as text to paste into SAP's "Report an Incident" form (in the form's order), and as
// Markdown for a ticket or a chat. Plain functions of the data: collect writes the same text into
// the bundle as incident.txt.
import type { IncidentPrefill } from './prefill.js';
import { PRIORITY_LABEL } from './priority.js';
import { questionsFor, type IncidentAnswers, type Question } from './questions.js';
import type { ChangeKind } from './events.js';

const CHANGE_LABEL: Record<ChangeKind, string> = {
  'msi-install': 'installed (Windows Installer)',
  'msi-remove': 'removed (Windows Installer)',
  'msi-update': 'updated/reconfigured (Windows Installer)',
  'msi-failed': 'install FAILED (Windows Installer)',
  'windows-update': 'Windows Update installed',
  'windows-update-failed': 'Windows Update FAILED',
  servicing: 'Windows package changed',
  'service-installed': 'service installed',
  restart: 'restart',
  'service-start': 'service started',
  'service-stop': 'service stopped',
};

const MAX_CHANGE_LINES = 25;
const MAX_PERF_LINES = 25;

/** One line per finding (server first), and one line for a server with nothing to show and why. */
export function perfLines(p: IncidentPrefill, counter: (c: string) => string = (c) => c): string[] {
  const lines: string[] = [];
  let findings = 0;
  for (const s of p.perf?.servers ?? []) {
    if (s.findings.length === 0) {
      lines.push(`${s.server}: ${s.note ?? `no threshold crossed (${s.samples} samples in ${s.files} CSV file${s.files === 1 ? '' : 's'})`}`);
      continue;
    }
    for (const f of s.findings) {
      if (++findings > MAX_PERF_LINES) continue;
      lines.push(`${s.server}: ${f.severity} ${f.id}: ${counter(f.counter)} worst ${f.value} (limit ${f.limit}), ${utc(f.from)} .. ${utc(f.to)}`);
    }
  }
  if (findings > MAX_PERF_LINES) lines.push(`... and ${findings - MAX_PERF_LINES} more findings (see --json)`);
  return lines;
}

export function utc(isoTime: string): string {
  return `${isoTime.slice(0, 19).replace('T', ' ')} UTC`;
}

function answerText(q: Question, a: IncidentAnswers): string {
  const v = a[q.id];
  if (v === undefined) return '(not answered)';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

/** Changes grouped across servers: the same update on three servers is one line. */
export function groupedChanges(p: IncidentPrefill): { time: string; servers: string[]; label: string }[] {
  const groups = new Map<string, { time: string; servers: string[]; label: string }>();
  for (const c of p.changes.events) {
    const key = `${c.kind}|${c.what}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { time: c.time, servers: [c.server], label: `${CHANGE_LABEL[c.kind]}: ${c.what}` });
    else {
      if (c.time < g.time) g.time = c.time;
      if (!g.servers.includes(c.server)) g.servers.push(c.server);
    }
  }
  for (const f of p.changes.files) groups.set(`file|${f.server}|${f.path}`, { time: f.time, servers: [f.server], label: `file modified: ${f.path}` });
  return [...groups.values()].sort((a, b) => a.time.localeCompare(b.time));
}

function versionLines(p: IncidentPrefill): string[] {
  const width = Math.max(...p.servers.map((s) => s.name.length));
  return p.servers.map((s) => {
    const name = s.name.padEnd(width);
    if (!s.reachable) return `  ${name}  not reachable (${s.reason})`;
    if (!s.version) return `  ${name}  version unknown (${s.versionError ?? 'no version source'})`;
    const flag = s.differs ? `  <-- DIFFERS from ${p.versions.majority} on the other servers` : '';
    return `  ${name}  ${s.version} (build ${s.build})${s.os ? `, ${s.os}` : ''}${flag}`;
  });
}

function usersLine(p: IncidentPrefill): string {
  const per = p.affectedUsers.perServer.filter((s) => p.servers.find((x) => x.name === s.server)?.reachable).map((s) => `${s.server} ${s.count}`);
  return `${p.affectedUsers.total} distinct user(s) seen in errors${per.length ? ` (${per.join(', ')})` : ''}`;
}

export function renderIncidentText(p: IncidentPrefill): string {
  const a = p.answers;
  const out: string[] = [];
  const field = (label: string, value: string) => out.push(`${`${label}:`.padEnd(22)}${value}`);
  const heading = (title: string) => out.push('', title, '-'.repeat(title.length));
  out.push(`SAP incident for ${p.farm.product}`, `(prefilled by clk-support on ${utc(p.generatedAt)}; window ${utc(p.window.from)} .. ${utc(p.window.to)})`, '');
  field('Customer number', p.farm.customerNumber);
  field('Installation number', p.farm.installationNumber);
  field('System ID', `${p.farm.systemId} (${p.farm.environment === 'production' ? 'production system' : 'test system'})`);
  field('Product', p.farm.product);
  field('Component', `${p.component.id}   (${p.component.reason})`);
  field('Priority', `${PRIORITY_LABEL[p.priority.suggested]}   (${p.priority.reasons.join('; ') || 'SAP default'})`);
  field('Short description', a.shortDescription ?? '(not answered)');

  heading('Description');
  out.push('Version and build per server:', ...versionLines(p));
  if (p.versions.mismatch) out.push(`  Servers on different builds: ${Object.entries(p.versions.byVersion).map(([v, s]) => `${v} on ${s.join(', ')}`).join('; ')}`);
  out.push('');
  if (p.firstOccurrence) {
    const f = p.firstOccurrence;
    out.push(`First occurred: ${utc(f.time)} on ${f.server} (${f.source === 'tracer' ? 'Tracer log' : 'event log'}: ${f.detail})`);
  } else out.push('First occurred: no error found in the window');
  out.push(`Users affected: ${usersLine(p)}`);
  if (p.affectedUsers.users.length) out.push(`  ${p.affectedUsers.users.join(', ')}`);
  if (a.usersAffected) out.push(`  As reported: ${a.usersAffected}`);
  out.push(`  How counted: ${p.affectedUsers.method}`);
  out.push('');
  const changes = groupedChanges(p);
  out.push(`What changed since ${utc(p.changes.since)}:`);
  if (changes.length === 0) out.push('  nothing found in the System/Application logs or ClickSoftware files');
  for (const c of changes.slice(0, MAX_CHANGE_LINES)) out.push(`  ${utc(c.time)}  ${c.servers.join(', ')}: ${c.label}`);
  if (changes.length > MAX_CHANGE_LINES) out.push(`  ... and ${changes.length - MAX_CHANGE_LINES} more (see --json)`);
  out.push('', 'What the counters show (Performance Monitor CSV, thresholds in docs/perf-findings.md):');
  for (const l of perfLines(p)) out.push(`  ${l}`);
  out.push('', 'Steps to reproduce:', `  ${(a.steps ?? '(not answered)').replace(/\n/g, '\n  ')}`);

  heading('Business impact');
  for (const q of questionsFor(p.farm.environment).filter((x) => !['shortDescription', 'steps', 'contactName', 'contactPhone', 'contactEmail'].includes(x.id)))
    out.push(`${q.prompt.replace(/ \(.*\)$/, '')} ${answerText(q, a)}`);

  heading('Attachments');
  for (const at of p.attachments) out.push(`  ${at.name}${at.path && at.path !== at.name ? ` (${at.path})` : ''}: ${at.note}`);

  heading('Contact');
  out.push(`  ${[a.contactName, a.contactPhone, a.contactEmail].filter(Boolean).join(', ') || '(not given)'}`);
  if (p.priority.veryHighNeeds.length) out.push('', `Very High would need: ${p.priority.veryHighNeeds.join('; ')}`);
  if (p.missing.length) out.push('', `Still to answer: ${p.missing.map((m) => m.flag).join(', ')}`);
  return `${out.join('\n')}\n`;
}

export function renderIncidentMarkdown(p: IncidentPrefill): string {
  const a = p.answers;
  const out: string[] = [];
  out.push(`# SAP incident: ${a.shortDescription ?? '(short description not answered)'}`, '');
  out.push('| Field | Value |', '|---|---|');
  const row = (k: string, v: string) => out.push(`| ${k} | ${v.replace(/\|/g, '\\|')} |`);
  row('Customer number', p.farm.customerNumber);
  row('Installation number', p.farm.installationNumber);
  row('System ID', `${p.farm.systemId} (${p.farm.environment})`);
  row('Product', p.farm.product);
  row('Component', `\`${p.component.id}\` (${p.component.reason})`);
  row('Priority', `**${PRIORITY_LABEL[p.priority.suggested]}** (${p.priority.reasons.join('; ') || 'SAP default'})`);
  row('Window', `${utc(p.window.from)} .. ${utc(p.window.to)}`);
  out.push('', '## Version and build', '', '| Server | Role | Version | Build | Note |', '|---|---|---|---|---|');
  for (const s of p.servers)
    out.push(`| ${s.name} | ${s.role} | ${s.version ?? ''} | ${s.build ?? ''} | ${!s.reachable ? `not reachable (${s.reason?.split(':')[0]})` : s.differs ? `**differs** from ${p.versions.majority}` : ''} |`);
  out.push('', '## Description', '');
  out.push(p.firstOccurrence ? `- **First occurred:** ${utc(p.firstOccurrence.time)} on ${p.firstOccurrence.server} (${p.firstOccurrence.source}): \`${p.firstOccurrence.detail}\`` : '- **First occurred:** no error found in the window');
  out.push(`- **Users affected:** ${usersLine(p)}${p.affectedUsers.users.length ? `: ${p.affectedUsers.users.join(', ')}` : ''}`);
  if (a.usersAffected) out.push(`  - as reported: ${a.usersAffected}`);
  out.push(`  - how counted: ${p.affectedUsers.method}`);
  out.push(`- **What changed** since ${utc(p.changes.since)}:`);
  const changes = groupedChanges(p);
  if (!changes.length) out.push('  - nothing found');
  for (const c of changes.slice(0, MAX_CHANGE_LINES)) out.push(`  - ${utc(c.time)} ${c.servers.join(', ')}: ${c.label}`);
  if (changes.length > MAX_CHANGE_LINES) out.push(`  - ... and ${changes.length - MAX_CHANGE_LINES} more`);
  out.push('- **What the counters show** (Performance Monitor CSV):');
  for (const l of perfLines(p, (c) => `\`${c.replace(/`/g, "'")}\``)) out.push(`  - ${l}`);
  out.push('', '### Steps to reproduce', '', a.steps ?? '_not answered_');
  out.push('', '## Business impact', '');
  for (const q of questionsFor(p.farm.environment).filter((x) => !['shortDescription', 'steps', 'contactName', 'contactPhone', 'contactEmail'].includes(x.id)))
    out.push(`- **${q.prompt}** ${answerText(q, a)}`);
  out.push('', '## Attachments', '');
  for (const at of p.attachments) out.push(`- ${at.name}: ${at.note}`);
  out.push('', '## Contact', '', [a.contactName, a.contactPhone, a.contactEmail].filter(Boolean).join(', ') || '_not given_');
  if (p.missing.length) out.push('', `> Still to answer: ${p.missing.map((m) => `\`${m.flag}\``).join(', ')}`);
  return `${out.join('\n')}\n`;
}
