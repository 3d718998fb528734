// service request lead times, and the speed-up / escalation texts, through the built CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_FARM, runCli } from './helpers.js';
import { earliestServiceDate, leadTimeWeeks } from '../../src/incident/service-request.js';
import { suggestPriority } from '../../src/incident/priority.js';
import { hasWorkaround } from '../../src/incident/questions.js';

const TODAY = '2026-01-05';
const CONTACT = ['--contact-name', 'A. Admin', '--contact-phone', '+49 30 1234567', '--contact-email', 'admin@contoso.example'];
const base = (date: string, level: string, extra: string[] = []) => [
  '--farm', DEMO_FARM, '--no-input', 'service', 'request', '--type', 'GoingLive Check', '--date', date, '--go-live', '2026-06-01',
  '--support-level', level, '--today', TODAY, ...CONTACT, ...extra,
];
/** today + n days as YYYY-MM-DD, by calendar arithmetic. */
const plusDays = (n: number) => {
  const d = new Date(`${TODAY}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
};

describe('service request', () => {
  it('knows the lead times', () => {
    expect(leadTimeWeeks('standard', true)).toBe(8);
    expect(leadTimeWeeks('psle', true)).toBe(8);
    expect(leadTimeWeeks('enterprise', true)).toBe(3);
    expect(leadTimeWeeks('enterprise', false)).toBe(5);
    expect(leadTimeWeeks('standard', false)).toBe(8);
    expect(new Date(earliestServiceDate(new Date('2026-01-05T23:59:00Z'), 'enterprise', true)).toISOString().slice(0, 10)).toBe(plusDays(21));
  });

  for (const [level, solman, days] of [['standard', true, 56], ['psle', true, 56], ['enterprise', true, 21], ['enterprise', false, 35]] as const) {
    it(`refuses a date one day inside the ${level}${solman ? '' : ' (no SolMan)'} lead time and accepts the earliest date`, async () => {
      const extra = solman ? [] : ['--no-solman-ready'];
      const tooEarly = await runCli(base(plusDays(days - 1), level, extra));
      expect(tooEarly.code).toBe(2);
      expect(tooEarly.stderr).toContain(`earliest valid date is ${plusDays(days)}`);
      expect(tooEarly.stdout).toBe('');
      const ok = await runCli(['--json', ...base(plusDays(days), level, extra)]);
      expect(ok.code).toBe(0);
      const j = JSON.parse(ok.stdout);
      expect(j).toMatchObject({ schema: 'clk-support/service-request/v1', customerNumber: '1234567', installationNumber: '0020123456', systemId: 'FSP', serviceDate: plusDays(days), earliestDate: plusDays(days), leadTimeWeeks: days / 7 });
    });
  }

  it('prints every field SAP requires, and names a missing one with its flag', async () => {
    const r = await runCli(base(plusDays(60), 'standard'));
    expect(r.code).toBe(0);
    for (const s of ['Customer number:', '1234567', 'Installation number:', '0020123456', 'System ID:', 'FSP', 'Product:', 'Type of service:', 'GoingLive Check', 'Project go-live date:', '2026-06-01', 'Contact person:', 'A. Admin', '+49 30 1234567', 'admin@contoso.example'])
      expect(r.stdout).toContain(s);
    const missing = await runCli(['--farm', DEMO_FARM, '--no-input', 'service', 'request', '--type', 'x', '--date', plusDays(60), '--go-live', '2026-06-01', '--today', TODAY, ...CONTACT]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--support-level');
    const badDate = await runCli(base('2026-02-30', 'standard'));
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toMatch(/--date: "2026-02-30" is not a date/);
  });
});

describe('incident speedup and escalate', () => {
  let tmp: string;
  let impact: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'clk-followup-'));
    impact = join(tmp, 'impact.json');
    await writeFile(impact, JSON.stringify({ systemDown: false, processes: 'dispatching', usersAffected: '40 dispatchers', workaround: 'none', deadlines: 'month end', financialImpact: '50k EUR/day', gettingWorse: true }));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('writes a priority-change speed-up with the business impact', async () => {
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'speedup', '--incident', '123456/2025', '--request', 'priority', '--current-priority', 'medium', '--new-priority', 'high', '--answers', impact]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Speed-up request for SAP incident 123456/2025: change of priority');
    expect(r.stdout).toContain('from Medium to High');
    expect(r.stdout).toContain('Is the production system down? no');
    expect(r.stdout).toContain('50k EUR/day');
    expect(r.stdout).toContain('1234567');
  });

  it('asks for the business impact it lacks, by flag', async () => {
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'speedup', '--incident', '123456/2025', '--request', 'feedback', '--impact-system-down', 'no']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--impact-workaround');
    expect(r.stderr).not.toContain('--impact-system-down ');
  });

  it('refuses to escalate below High and needs a contact', async () => {
    const low = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'escalate', '--incident', '123456/2025', '--current-priority', 'medium', '--answers', impact, '--contact-name', 'A', '--contact-phone', '+1 555 0100']);
    expect(low.code).toBe(2);
    expect(low.stderr).toMatch(/raise it to High first/);
    const noContact = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'escalate', '--incident', '123456/2025', '--current-priority', 'high', '--answers', impact]);
    expect(noContact.code).toBe(2);
    expect(noContact.stderr).toContain('--contact-phone');
    const ok = await runCli(['--farm', DEMO_FARM, '--no-input', '--json', 'incident', 'escalate', '--incident', '123456/2025', '--current-priority', 'high', '--answers', impact, '--contact-name', 'A. Admin', '--contact-phone', '+49 30 1234567', '--availability', '24x7']);
    expect(ok.code).toBe(0);
    const j = JSON.parse(ok.stdout);
    expect(j.schema).toBe('clk-support/incident-followup/v1');
    expect(j.text).toContain('Customer Interaction Center');
    expect(j.impact.length).toBeGreaterThan(5);
  });

  it('rejects a malformed incident number', async () => {
    const r = await runCli(['--farm', DEMO_FARM, '--no-input', 'incident', 'speedup', '--incident', 'abc', '--request', 'feedback', '--answers', impact]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not an SAP incident number/);
  });
});

describe('priority by SAP definitions', () => {
  it('never suggests Very High without confirmation and contact', () => {
    const down = { systemDown: true, workaround: 'none' };
    expect(suggestPriority('production', down, 5).suggested).toBe('high');
    expect(suggestPriority('production', { ...down, confirmVeryHigh: true }, 5).suggested).toBe('high');
    expect(suggestPriority('production', { ...down, confirmVeryHigh: true, contactName: 'a', contactPhone: '1' }, 5).suggested).toBe('very-high');
    expect(suggestPriority('production', { ...down, workaround: 'restart the service', confirmVeryHigh: true, contactName: 'a', contactPhone: '1' }, 5).suggested).toBe('high');
    expect(suggestPriority('production', { systemDown: false, workaround: 'use the web client' }, 5).suggested).toBe('medium');
    expect(suggestPriority('production', { systemDown: false, workaround: 'none', gettingWorse: false }, 0).suggested).toBe('medium');
    expect(suggestPriority('production', { priority: 'very-high' }, 3).suggested).not.toBe('very-high');
    expect(suggestPriority('test', { showstopper: false, workaround: 'yes, manual' }, 0).suggested).toBe('low');
    expect(suggestPriority('test', { showstopper: true, workaround: 'none', goLiveDate: '2026-01-10' }, 0, new Date('2026-01-05T00:00:00Z')).eligibleForVeryHigh).toBe(true);
    expect(hasWorkaround('None.')).toBe(false);
    expect(hasWorkaround('restart nightly')).toBe(true);
  });
});
