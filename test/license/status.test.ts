// licenseStatus (also used by `check`): what it says about a good, an altered, an expired and a
// moved license, read from a private copy of the demo farm through the core API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { loadFarm, type Farm } from '../../src/farm/load.js';
import { licenseStatus } from '../../src/license/status.js';
import { licenseFarm, type LicenseFarm } from './helpers.js';

describe('licenseStatus', () => {
  let f: LicenseFarm;
  let farm: Farm;
  beforeAll(async () => {
    f = await licenseFarm();
    farm = await loadFarm(f.farmFile);
  });
  afterAll(() => f.cleanup());

  it('reports the demo license on every covered server and WEB01 as uncovered', async () => {
    const r = await licenseStatus(farm, { now: new Date('2026-11-23T00:00:00Z') });
    expect(r.current).toEqual({ licenseId: 'LIC-FSP-1', sequence: 1, notAfter: '2027-06-30T23:59:59Z', covers: ['APP01', 'SCHED01', 'INT01'] });
    expect(r.servers.map((s) => [s.server, s.reachable, s.installed, s.covered, s.fingerprintMatch, s.signatureValid, s.daysLeft])).toEqual([
      ['APP01', true, true, true, true, true, 219],
      ['SCHED01', true, true, true, true, true, 219],
      ['INT01', true, true, true, true, true, 219],
      ['WEB01', false, false, false, undefined, undefined, 219],
    ]);
    expect(r.servers[0].problems).toEqual([]);
    expect(r.warnings).toEqual([expect.stringMatching(/^WEB01 is in the farm file but not covered by license LIC-FSP-1/)]);
  });

  it('warns when the license ends within licenseExpiryWarnDays, and says when it has expired', async () => {
    const soon = await licenseStatus(farm, { now: new Date('2027-06-10T00:00:00Z'), servers: farm.servers.slice(0, 1) });
    expect(soon.servers[0].problems).toEqual([expect.stringMatching(/LIC-FSP-1 expires in 20 days/)]);
    const late = await licenseStatus(farm, { now: new Date('2027-07-02T00:00:00Z'), servers: farm.servers.slice(0, 1) });
    expect(late.servers[0].problems).toEqual([expect.stringMatching(/LIC-FSP-1 expired on 2027-06-30/)]);
  });

  it('an installed license altered after signing: signatureValid false, and the farm license still judged', async () => {
    const file = f.licenseFile('SCHED01');
    const original = await readFile(file);
    const text = original.toString('utf8');
    const i = text.indexOf('<Payload encoding="base64">') + 120;
    await writeFile(file, text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1));
    try {
      const r = await licenseStatus(farm, { now: new Date('2026-11-23T00:00:00Z') });
      const sched = r.servers.find((s) => s.server === 'SCHED01')!;
      expect(sched.signatureValid).toBe(false);
      expect(sched.problems.join('\n')).toMatch(/does not verify with key "clk-support-test-2026" \(altered after signing\?\)/);
    } finally {
      await writeFile(file, original);
    }
  });

  it('a server with no license, and one whose machine changed', async () => {
    const file = f.licenseFile('INT01');
    const original = await readFile(file);
    await rm(file);
    try {
      const r = await licenseStatus(farm, { now: new Date('2026-11-23T00:00:00Z') });
      const int = r.servers.find((s) => s.server === 'INT01')!;
      expect(int).toMatchObject({ installed: false, covered: true, licenseId: 'LIC-FSP-1' });
      expect(int.problems).toContain('no license installed');
    } finally {
      await writeFile(file, original);
    }
    // APP01's name on SCHED01's machine (a replaced server): the host name matches, the machine id does not.
    const moved: Farm = { ...farm, servers: farm.servers.map((s) => (s.name === 'APP01' ? { ...s, transport: farm.servers[1].transport } : s)) };
    const r = await licenseStatus(moved, { now: new Date('2026-11-23T00:00:00Z'), servers: moved.servers.slice(0, 1) });
    expect(r.servers[0].fingerprintMatch).toBe(false);
    expect(r.servers[0].problems.join('\n')).toMatch(/fingerprint does not match the license: 1 of 2 required components match; differ: machine-id/);
  });
});
