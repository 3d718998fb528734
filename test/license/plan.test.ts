// `license apply` shows its plan before asking, as terraform does: per server the license it has,
// the one it will have, what is backed up, and the servers the response does not cover. --check
// prints the same plan, and --json carries it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { licenseFarm, type LicenseFarm } from './helpers.js';

describe('license apply plan', () => {
  let f: LicenseFarm;
  let response: string;

  beforeAll(async () => {
    f = await licenseFarm();
    const req = await f.cli(['--json', 'license', 'request', '--allow-partial', '--out', join(f.root, 'License.request')]);
    response = await f.sign(JSON.parse(req.stdout).file, 'license.response', ['--sequence', '2']);
  });
  afterAll(() => f.cleanup());

  it('--check prints the plan: now, change, after, backup, and who is not covered; nothing changes', async () => {
    const before = await f.snapshot();
    const r = await f.cli(['license', 'apply', response, '--check']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Plan: LIC-FSP-2 #2, valid \S+ \.\. \S+/m);
    for (const s of ['APP01', 'SCHED01', 'INT01']) expect(r.stdout).toMatch(new RegExp(`${s}\\s+LIC-FSP-1 #1\\s+\\d{4}-\\d{2}-\\d{2}\\s+replace\\s+LIC-FSP-2 #2\\s+the current file, beside it, before writing`));
    expect(r.stdout).toContain('Not covered by this response (need a request of their own): WEB01');
    expect(r.stderr).toMatch(/nothing was changed \(--check\)/);
    expect(await f.snapshot()).toEqual(before);
  });

  it('--json carries the plan in the one result document', async () => {
    const r = await f.cli(['--json', 'license', 'apply', response, '--check']);
    const doc = JSON.parse(r.stdout);
    expect(doc.notCovered).toEqual(['WEB01']);
    expect(doc.plan.rows.map((x: { server: string; change: string }) => `${x.server}:${x.change}`)).toEqual(['APP01:replace', 'SCHED01:replace', 'INT01:replace']);
  });

  it('the plan comes before the question, and a real apply then reports the backups', async () => {
    const r = await f.cli(['license', 'apply', response, '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    const planAt = r.stdout.indexOf('Plan: LIC-FSP-2 #2');
    const tableAt = r.stdout.indexOf('BACKUP', planAt + 10);
    expect(planAt).toBeGreaterThanOrEqual(0);
    expect(tableAt).toBeGreaterThan(planAt);
    expect(r.stdout).toMatch(/License\.xml\.bak-/);
  });

  it('rollback --check shows the plan (the one shown before asking): restore from which backup, the current license kept', async () => {
    const r = await f.cli(['license', 'rollback', '--check']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Nothing was changed \(--check\): 3 servers would be rolled back/);
    expect(r.stdout).toMatch(/^Plan: roll back the apply of LIC-FSP-2 \(from this machine's record of it\)/m);
    for (const s of ['APP01', 'SCHED01', 'INT01']) expect(r.stdout).toMatch(new RegExp(`${s}\\s+would-restore\\s+.*License\\.xml\\.bak-\\S+\\s+the current license, beside it, before writing`));
  });
});
