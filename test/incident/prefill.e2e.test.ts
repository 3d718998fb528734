// incident prefill on the demo farm, run as a user runs it; every expected value is computed here
// from the fixture files by a separate method (plain line scans, evtxexport, UTF-16 text search).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, rm, utimes, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_FARM, DEMO_SERVERS, exportEvents, expectedTracer, hasTool, peFileVersion, runCli } from './helpers.js';
import { skipTransient } from '../support/cli.js';

const FROM = '2025-06-03T08:00:00Z';
const TO = '2025-06-03T12:00:00Z';
const SERVERS = ['APP01', 'SCHED01', 'INT01'];
const ANSWERS = {
  shortDescription: 'Dispatchers get SQL timeouts in GetObjects',
  steps: 'Open the Gantt and move a task: the request fails after 30 s.',
  systemDown: 'no',
  processes: 'dispatching',
  usersAffected: 'dispatchers cannot plan',
  workaround: 'none',
  deadlines: 'daily plan at 16:00',
  financialImpact: 'about 20k EUR per day',
  gettingWorse: 'yes',
};

let tmp: string;
let answersFile: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clk-incident-e2e-'));
  answersFile = join(tmp, 'answers.json');
  await writeFile(answersFile, JSON.stringify(ANSWERS));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('incident prefill --no-input on the demo farm', () => {
  let json: any;
  let text: string;
  let textRun: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', answersFile]);
    expect(r.stderr).not.toMatch(/unexpected failure/);
    expect(r.code).toBe(3); // WEB01 is down: the facts are partial
    json = JSON.parse(r.stdout);
    textRun = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', answersFile]);
    text = textRun.stdout;
  });

  it('names the farm fields, the component and a versioned schema', () => {
    expect(json.schema).toBe('clk-support/incident-prefill/v1');
    expect(json.farm).toMatchObject({ customerNumber: '1234567', installationNumber: '0020123456', systemId: 'FSP', environment: 'production' });
    expect(json.component.id).toBe('XX-PART-CLK');
    for (const s of ['1234567', '0020123456', 'FSP', 'XX-PART-CLK']) expect(text).toContain(s);
  });

  it('counts affected users per server and farm-wide as the fixture logs say', () => {
    const all = new Set<string>();
    for (const name of SERVERS) {
      const exp = expectedTracer(join(DEMO_SERVERS, name.toLowerCase()), FROM, TO);
      exp.users.forEach((u) => all.add(u));
      const srv = json.servers.find((s: any) => s.name === name);
      expect(srv.tracer.users).toEqual([...exp.users].sort());
      expect(srv.tracer.errorLines).toBe(exp.lines);
    }
    expect(all.size).toBeGreaterThan(0);
    expect(json.affectedUsers.users).toEqual([...all].sort());
    expect(json.affectedUsers.total).toBe(all.size);
    expect(json.affectedUsers.method).toMatch(/ERROR/);
    expect(text).toMatch(new RegExp(`Users affected: ${all.size} distinct`));
  });

  it('finds the first occurrence across servers', () => {
    const firsts = SERVERS.map((n) => ({ n, t: expectedTracer(join(DEMO_SERVERS, n.toLowerCase()), FROM, TO).first })).filter((x) => x.t !== undefined);
    const earliest = firsts.sort((a, b) => a.t! - b.t!)[0];
    const events = exportEvents(join(DEMO_SERVERS, 'app01/c$/Windows/System32/winevt/Logs/System.evtx'));
    const firstEvent = events?.filter((e) => (e.level === 1 || e.level === 2) && e.time >= Date.parse(FROM) && e.time <= Date.parse(TO)).sort((a, b) => a.time - b.time)[0];
    if (firstEvent) expect(firstEvent.time).toBeGreaterThan(earliest.t!); // so the Tracer burst is first
    const srv = json.servers.find((s: any) => s.name === earliest.n);
    expect(json.firstOccurrence.server).toBe(earliest.n);
    expect(Date.parse(json.firstOccurrence.time)).toBe(earliest.t! - srv.clockCorrectionMs);
    expect(text).toContain(`First occurred: ${new Date(earliest.t!).toISOString().slice(0, 19).replace('T', ' ')} UTC on ${earliest.n}`);
  });

  it('gives version and build per server and flags the one that differs', () => {
    const versions = Object.fromEntries(SERVERS.map((n) => [n, peFileVersion(join(DEMO_SERVERS, n.toLowerCase(), 'c$/Program Files/ClickSoftware/Service Optimization/Bin/W6Server.exe'))]));
    const counts = new Map<string, number>();
    for (const v of Object.values(versions)) counts.set(v!, (counts.get(v!) ?? 0) + 1);
    const majority = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
    for (const n of SERVERS) {
      const srv = json.servers.find((s: any) => s.name === n);
      expect(srv.version).toBe(versions[n]);
      expect(srv.build).toBe(versions[n]!.split('.').pop());
      expect(srv.differs).toBe(versions[n] !== majority);
      if (versions[n] !== majority) expect(text).toMatch(new RegExp(`${n}\\s+${versions[n]!.replace(/\./g, '\\.')} .*DIFFERS`));
    }
    expect(json.versions.mismatch).toBe(counts.size > 1);
    const web = json.servers.find((s: any) => s.name === 'WEB01');
    expect(web.reachable).toBe(false);
    expect(text).toMatch(/WEB01\s+not reachable/);
  });

  it.skipIf(!hasTool('evtxexport'))('lists the Windows updates and error events the event logs hold (checked with evtxexport)', () => {
    const dir = join(DEMO_SERVERS, 'app01/c$/Windows/System32/winevt/Logs');
    const sys = exportEvents(join(dir, 'System.evtx'))!;
    const app = exportEvents(join(dir, 'Application.evtx'))!;
    const since = Date.parse(FROM) - 7 * 86_400_000;
    const updates = new Set(
      sys.filter((e) => e.provider === 'Microsoft-Windows-WindowsUpdateClient' && e.eventId === 19 && e.time >= since && e.time <= Date.parse(TO)).map((e) => /updateTitle">([^<]+)</.exec(e.xml)![1]),
    );
    expect(updates.size).toBeGreaterThan(0);
    const listed = new Set(json.changes.events.filter((c: any) => c.server === 'APP01' && c.kind === 'windows-update').map((c: any) => c.what));
    expect(listed).toEqual(updates);
    expect(json.changes.events.some((c: any) => c.kind === 'windows-update' && c.time.startsWith('2025-06-03'))).toBe(true);
    const errors = [...sys, ...app].filter((e) => (e.level === 1 || e.level === 2) && e.time >= Date.parse(FROM) && e.time <= Date.parse(TO));
    expect(json.servers.find((s: any) => s.name === 'APP01').events.errorEvents).toBe(errors.length);
    expect(text).toMatch(/What changed since .*\n(.*\n)*.*Windows Update installed/);
  });

  it('prints the answers, a priority by SAP definitions, and the form sections in order', () => {
    expect(json.missing).toEqual([]);
    expect(json.priority.suggested).toBe('high'); // production, no workaround, users affected
    const order = ['Customer number', 'Component', 'Priority', 'Short description', 'Description', 'Version and build', 'First occurred', 'Users affected', 'What changed', 'Steps to reproduce', 'Business impact', 'Attachments', 'Contact'];
    let at = -1;
    for (const h of order) {
      const i = text.indexOf(h, at + 1);
      expect(i, h).toBeGreaterThan(at);
      at = i;
    }
    expect(text).toContain(ANSWERS.shortDescription);
    expect(text).toContain('Is the production system down? no');
  });
});

describe('incident prefill: answers, errors and the temp farm', () => {
  it('names every missing answer flag with --no-input and still prints what it found', async () => {
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO, '--server', 'APP01', '--steps', 'x']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('XX-PART-CLK');
    for (const flag of ['--short-description', '--impact-system-down', '--impact-workaround', '--impact-worse']) expect(r.stderr).toContain(flag);
    expect(r.stderr).not.toMatch(/^\s+--steps /m);
  });

  it('renders Markdown, and counts with the error tokens and user patterns given', async () => {
    const md = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO, '--server', 'APP01', 'INT01', '--answers', answersFile, '--format', 'markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# SAP incident: Dispatchers get SQL timeouts/m);
    expect(md.stdout).toMatch(/\| INT01 \| integration \| 8\.1\.15\.2190 \| 2190 \| \*\*differs\*\*/);
    const custom = JSON.parse((await runCli(['--farm', DEMO_FARM, '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--server', 'APP01', '--answers', answersFile,
      '--error-token', 'FATAL', '--user-pattern', 'Operator=(?<user>\\S+)'])).stdout);
    expect(custom.servers[0].tracer.errorLines).toBe(0);
    expect(custom.affectedUsers.method).toContain('"FATAL"');
    const badPattern = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', answersFile, '--user-pattern', 'User=\\S+']);
    expect(badPattern.code).toBe(2);
    expect(badPattern.stderr).toMatch(/no group for the user name/);
  });

  it('rejects a bad answers file clearly', async () => {
    const bad = join(tmp, 'bad.json');
    await writeFile(bad, JSON.stringify({ systemDown: 'maybe', colour: 'red' }));
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown key colour/);
    expect(r.stderr).toMatch(/systemDown: must be yes or no/);
  });

  it('suggests Very High only with explicit confirmation and a contact', async () => {
    const down = { ...ANSWERS, systemDown: 'yes' };
    const f = join(tmp, 'down.json');
    await writeFile(f, JSON.stringify(down));
    const base = ['--farm', DEMO_FARM, '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--server', 'APP01', '--answers', f];
    const unconfirmed = JSON.parse((await runCli(base)).stdout);
    expect(unconfirmed.priority.suggested).toBe('high');
    expect(unconfirmed.priority.eligibleForVeryHigh).toBe(true);
    const confirmed = JSON.parse((await runCli([...base, '--confirm-very-high', '--contact-name', 'A. Admin', '--contact-phone', '+49 30 1234567'])).stdout);
    expect(confirmed.priority.suggested).toBe('very-high');
  });

  it('takes the licensing component when license errors dominate, and finds modified ClickSoftware files', async () => {
    const farmDir = join(tmp, 'farm');
    await cp(join(DEMO_FARM, '..'), farmDir, { recursive: true, filter: skipTransient });
    const app = join(farmDir, 'servers/app01/c$');
    const log = join(app, 'ClickSoftware/Logs/Tracer/W6Server_20250603.log');
    let lic = '';
    for (let i = 0; i < 500; i++) lic += `2025-06-03 11:${String(i % 60).padStart(2, '0')}:00.000 [9] ERROR W6.License - User=CORP\\lic${i % 3} License check failed: no valid license for module Schedule\n`;
    await appendFile(log, lic);
    const config = join(app, 'Program Files/ClickSoftware/Service Optimization/Config/W6Server.config');
    const changed = new Date('2025-06-03T09:30:00Z');
    await utimes(config, changed, changed);
    const r = await runCli(['--farm', join(farmDir, 'clk-farm.json'), '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--server', 'APP01', '--answers', answersFile]);
    const j = JSON.parse(r.stdout);
    expect(j.component.id).toBe('XX-PART-CLK-LKY');
    expect(j.affectedUsers.users).toEqual(expect.arrayContaining(['lic0', 'lic1', 'lic2']));
    expect(j.changes.files.map((f: any) => f.path)).toContain('C:\\Program Files\\ClickSoftware\\Service Optimization\\Config\\W6Server.config');
    // A d/m/y log of the first days of June on INT01, dated by its modification time.
    const im = join(farmDir, 'servers/int01/c$/ClickSoftware/Logs/Integration/IntegrationManager.log');
    await appendFile(im, "03/06/2025 10:20:00,000 ERROR IntegrationManager: import failed for user 'dmy1'\n03/06/2025 10:21:00,000 ERROR IntegrationManager: import failed for user 'dmy2'\n");
    const written = new Date('2025-06-03T10:21:01Z');
    await utimes(im, written, written);
    const int = JSON.parse((await runCli(['--farm', join(farmDir, 'clk-farm.json'), '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--server', 'INT01', '--answers', answersFile])).stdout);
    expect(int.servers[0].tracer.users).toEqual(['dmy1', 'dmy2']);
    const forced = JSON.parse((await runCli(['--farm', join(farmDir, 'clk-farm.json'), '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--server', 'APP01', '--answers', answersFile, '--topic', 'technical'])).stdout);
    expect(forced.component.id).toBe('XX-PART-CLK');
  });
});
