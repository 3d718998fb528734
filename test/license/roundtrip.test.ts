// The whole round trip on a private copy of the demo farm, through the built CLI as an admin runs it:
// request -> (SAP: test signer) -> apply -> status -> same apply again -> rollback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COVERED, licenseFarm, type LicenseFarm } from './helpers.js';

describe('license round trip on the demo farm', () => {
  let f: LicenseFarm;
  let before: Record<string, Buffer | undefined>;
  let request: string;
  let response: string;

  beforeAll(async () => {
    f = await licenseFarm();
    before = await f.snapshot();
  });
  afterAll(() => f.cleanup());

  it('shows the older demo license before anything is applied', async () => {
    const r = await f.cli(['--json', 'license', 'status']);
    const report = JSON.parse(r.stdout);
    expect(report.schema).toBe('clk-support/license-status/v1');
    expect(report.current).toMatchObject({ licenseId: 'LIC-FSP-1', sequence: 1, covers: ['APP01', 'SCHED01', 'INT01'] });
    const app = report.servers.find((s: { server: string }) => s.server === 'APP01');
    expect(app).toMatchObject({ reachable: true, installed: true, covered: true, fingerprintMatch: true, signatureValid: true, licenseId: 'LIC-FSP-1' });
    expect(report.warnings.join('\n')).toMatch(/WEB01 is in the farm file but not covered/);
  });

  it('refuses to write a request while an expected server is down, and says how to go on', async () => {
    const r = await f.cli(['license', 'request', '--out', join(f.root, 'refused.request')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/WEB01 unreachable/);
    expect(r.stderr).toMatch(/--allow-partial/);
    await expect(readFile(join(f.root, 'refused.request'))).rejects.toThrow();
    // With --json: one document carrying the refusal and the per-server rows.
    const j = await f.cli(['--json', 'license', 'request', '--out', join(f.root, 'refused.request')]);
    expect(j.exitCode).toBe(1);
    const doc = JSON.parse(j.stdout);
    expect(doc).toMatchObject({ schema: 'clk-support/license-request/v1', ok: false, written: false, error: { code: 'LICENSE_REQUEST_INCOMPLETE', servers: ['WEB01'] } });
    expect(doc.servers).toHaveLength(4);
  });

  it('writes a partial request covering three servers and naming the unreachable one (exit 3)', async () => {
    const r = await f.cli(['--json', 'license', 'request', '--allow-partial', '--out', join(f.root, 'License.request')]);
    expect(r.exitCode, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ schema: 'clk-support/license-request/v1', written: true, partial: true, covered: ['APP01', 'SCHED01', 'INT01'], missing: ['WEB01'] });
    expect(out.unreachable[0]).toMatchObject({ name: 'WEB01', reason: 'unreachable', expected: true });
    request = out.file;
    const xml = await readFile(request, 'utf8');
    expect(xml).toMatch(/<ClkLicenseRequest formatVersion="1" requestId="[0-9a-f-]{36}"/);
    expect(xml).toMatch(/customerNumber="1234567" installationNumber="0020123456" systemId="FSP"/);
    expect((xml.match(/<Server /g) ?? []).length).toBe(3);
    expect(xml).toMatch(/<CurrentLicense licenseId="LIC-FSP-1" sequence="1"/);
    expect(xml).toMatch(/version="8.1.15.2190" build="2190"/);
    // The journal copy is what a response is matched against.
    expect(await readFile(out.journalCopy, 'utf8')).toBe(xml);
    expect(r.stderr).toMatch(/WEB01 is not in this request/);
  });

  it('refuses to overwrite an existing request', async () => {
    const r = await f.cli(['license', 'request', '--allow-partial', '--out', request]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/already exists/);
  });

  it('--check passes every check and changes nothing', async () => {
    response = await f.sign(request, 'license.response', ['--sequence', '2']);
    const r = await f.cli(['--json', 'license', 'apply', response, '--check']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.outcome).toBe('checked');
    expect(out.servers.map((s: { action: string }) => s.action)).toEqual(['would-install', 'would-install', 'would-install']);
    expect(await f.snapshot()).toEqual(before);
  });

  it('needs --yes off a terminal', async () => {
    const r = await f.cli(['license', 'apply', response]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/pass --yes/);
    expect(await f.snapshot()).toEqual(before);
  });

  it('installs on all three covered servers, with a verified backup beside each license', async () => {
    const r = await f.cli(['--json', 'license', 'apply', response, '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ schema: 'clk-support/license-apply/v1', outcome: 'applied', previousSequence: 1 });
    expect(out.license).toMatchObject({ licenseId: 'LIC-FSP-2', sequence: 2, keyId: 'clk-support-test-2026', covers: ['APP01', 'SCHED01', 'INT01'] });
    const responseBytes = await readFile(response);
    for (const s of COVERED) {
      expect((await readFile(f.licenseFile(s))).equals(responseBytes), s).toBe(true);
      const backups = (await readdir(f.licenseDir(s))).filter((n) => n.includes('.bak-'));
      expect(backups).toHaveLength(1);
      expect((await readFile(join(f.licenseDir(s), backups[0]))).equals(before[s]!)).toBe(true);
      // No temp, probe or lock file is left behind.
      expect((await readdir(f.licenseDir(s))).sort()).toEqual(['License.xml', backups[0]].sort());
    }
    const log = (await readFile(join(f.dir, '.clk-support', 'apply.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ outcome: 'applied', licenseId: 'LIC-FSP-2', sequence: 2 });
  });

  it('license status shows the new license on every covered server', async () => {
    const r = await f.cli(['license', 'status']);
    expect(r.exitCode).toBe(3); // WEB01 is down and not covered
    for (const s of COVERED) expect(r.stdout).toMatch(new RegExp(`${s}\\s+reachable\\s+LIC-FSP-2 #2\\s+yes\\s+covered\\s+\\S+ \\(\\d+ d\\)\\s+match\\s+valid`));
    expect(r.stdout).toMatch(/WEB01\s+unreachable/);
    expect(r.stderr).toMatch(/WEB01 is in the farm file but not covered by license LIC-FSP-2/);
  });

  it('the same response again is a no-op success', async () => {
    const snap = await f.snapshot();
    const r = await f.cli(['--json', 'license', 'apply', response, '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).outcome).toBe('already-applied');
    expect(await f.snapshot()).toEqual(snap);
  });

  it('rollback restores the previous license byte for byte', async () => {
    const r = await f.cli(['--json', 'license', 'rollback', '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ schema: 'clk-support/license-rollback/v1', source: 'local-record', licenseId: 'LIC-FSP-2' });
    expect(out.servers.map((s: { action: string }) => s.action)).toEqual(['restored', 'restored', 'restored']);
    expect(await f.snapshot()).toEqual(before);
  });

  it('rollback works from another machine (no local record) from the backups on the servers', async () => {
    // Apply again, then forget this machine's state: only the servers know.
    const applied = await f.cli(['license', 'apply', response, '--yes']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const { rm } = await import('node:fs/promises');
    await rm(join(f.dir, '.clk-support', 'backups.jsonl'));
    const r = await f.cli(['--json', 'license', 'rollback', '--yes']);
    // Without the record it cannot know whether WEB01 (down) was touched: partial, exit 3.
    expect(r.exitCode, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.source).toBe('server-backups');
    expect(out.servers.find((s: { server: string }) => s.server === 'WEB01').action).toBe('skipped-unreachable');
    expect(await f.snapshot()).toEqual(before);
  });
});
