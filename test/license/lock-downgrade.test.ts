// One apply at a time (a held lock, a stale one, two applies racing) and sequence rules (downgrade).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COVERED, applyJson, licenseFarm, type LicenseFarm } from './helpers.js';

describe('locks and sequence numbers', () => {
  let f: LicenseFarm;
  let before: Record<string, Buffer | undefined>;
  let request: string;
  let seq2: string;
  let seq3: string;
  let lockFile: string;

  beforeAll(async () => {
    f = await licenseFarm();
    before = await f.snapshot();
    request = await f.request();
    seq2 = await f.sign(request, 'seq2.response', ['--sequence', '2']);
    seq3 = await f.sign(request, 'seq3.response', ['--sequence', '3']);
    lockFile = join(f.dir, '.clk-support', 'license.lock');
  });
  afterAll(() => f.cleanup());

  it('a lock held by a running apply: LICENSE_LOCKED, wait for it', async () => {
    await mkdir(join(f.dir, '.clk-support'), { recursive: true });
    // This test process is alive: the lock is live.
    await writeFile(lockFile, JSON.stringify({ token: 't', pid: process.pid, host: hostname(), user: 'admin', operation: 'license apply LIC-X', startedAt: new Date().toISOString() }), { flag: 'wx' });
    const r = await applyJson(f, seq2);
    expect(r.code, r.stderr).toBe('LICENSE_LOCKED');
    expect(r.stderr).toMatch(/license apply LIC-X by admin@/);
    expect(r.stderr).toMatch(/wait for it to finish/);
    const broken = await applyJson(f, seq2, ['--break-lock']);
    expect(broken.code, 'a live lock is never broken').toBe('LICENSE_LOCKED');
    expect(await f.snapshot()).toEqual(before);
  });

  it('a stale lock (its process is gone): reported and cleaned by the next apply', async () => {
    await writeFile(lockFile, JSON.stringify({ token: 't', pid: 2 ** 22 + 12345, host: hostname(), user: 'admin', operation: 'license apply LIC-X', startedAt: new Date().toISOString() }));
    const ok = await applyJson(f, seq2);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.json.outcome).toBe('applied');
    expect(ok.json.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/removed a stale lock on this machine: license apply LIC-X by admin@/)]));
    await expect(readFile(lockFile)).rejects.toThrow();
  });

  it('a lock beside a server license, left by an apply from another machine: LICENSE_LOCKED', async () => {
    const serverLock = join(f.licenseDir('INT01'), '.clk-support-license.lock');
    await writeFile(serverLock, JSON.stringify({ token: 'x', pid: 4242, host: 'ADMIN-PC-7', user: 'ops', operation: 'license apply LIC-Y', startedAt: new Date().toISOString() }));
    const snap = await f.snapshot();
    const r = await applyJson(f, seq3);
    expect(r.code, r.stderr).toBe('LICENSE_LOCKED');
    expect(r.stderr).toMatch(/on INT01: license apply LIC-Y by ops@ADMIN-PC-7/);
    expect(await f.snapshot()).toEqual(snap);
    // --break-lock takes it over (its owner cannot be checked from here), and leaves no marker behind.
    const broken = await applyJson(f, seq3, ['--break-lock']);
    expect(broken.exitCode, broken.stderr).toBe(0);
    expect(broken.json.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/INT01: broke the lock \(--break-lock\): license apply LIC-Y by ops@ADMIN-PC-7/)]));
    for (const s of COVERED) expect((await readdir(f.licenseDir(s))).filter((n) => n.includes('.lock'))).toEqual([]);
  });

  it('an older response: LICENSE_DOWNGRADE unless --allow-downgrade', async () => {
    const three = await applyJson(f, seq3);
    expect(three.exitCode, three.stderr).toBe(0);
    const snap = await f.snapshot();
    const r = await applyJson(f, seq2);
    expect(r.code, r.stderr).toBe('LICENSE_DOWNGRADE');
    expect(r.stderr).toMatch(/sequence 2, older than the sequence 3 installed on APP01, SCHED01, INT01/);
    expect(await f.snapshot()).toEqual(snap);
    const allowed = await applyJson(f, seq2, ['--allow-downgrade']);
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    expect(allowed.json.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/downgrade allowed by --allow-downgrade: sequence 3 -> 2/)]));
  });

  it('two applies at once: one installs, the other is refused as locked or finds nothing to do', async () => {
    const fresh = await f.sign(request, 'seq4.response', ['--sequence', '4']);
    const backups = async () => (await Promise.all(COVERED.map(async (s) => (await readdir(f.licenseDir(s))).filter((n) => n.includes('.bak-')).length))).reduce((x, y) => x + y, 0);
    const backupsBefore = await backups();
    const [a, b] = await Promise.all([applyJson(f, fresh), applyJson(f, fresh)]);
    const outcomes = [a, b].map((r) => r.code ?? r.json.outcome);
    // Exactly one installs; the other waits for nothing: it is refused or finds the work done.
    expect(outcomes.filter((o) => o === 'applied'), `${a.stderr}\n${b.stderr}`).toHaveLength(1);
    expect(['LICENSE_LOCKED', 'already-applied']).toContain(outcomes.find((o) => o !== 'applied'));
    // One backup per server: the loser never backed up the winner's file.
    expect(await backups()).toBe(backupsBefore + COVERED.length);
    const bytes = await readFile(fresh);
    for (const s of COVERED) {
      expect((await readFile(f.licenseFile(s))).equals(bytes), s).toBe(true);
      expect((await readdir(f.licenseDir(s))).filter((n) => n.endsWith('.lock') || n.endsWith('.tmp'))).toEqual([]);
    }
  });

  it('--allow-partial installs on the reachable covered servers; status then flags the one left behind', async () => {
    const seq5 = await f.sign(request, 'seq5.response', ['--sequence', '5']);
    const int01 = join(f.dir, 'servers', 'int01');
    const { rename } = await import('node:fs/promises');
    const intBefore = await readFile(f.licenseFile('INT01'));
    await rename(int01, `${int01}.away`);
    let r;
    try {
      r = await applyJson(f, seq5, ['--allow-partial']);
    } finally {
      await rename(`${int01}.away`, int01);
    }
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.json.outcome).toBe('partial');
    const bytes = await readFile(seq5);
    expect((await readFile(f.licenseFile('APP01'))).equals(bytes)).toBe(true);
    expect((await readFile(f.licenseFile('SCHED01'))).equals(bytes)).toBe(true);
    expect((await readFile(f.licenseFile('INT01'))).equals(intBefore)).toBe(true);
    const status = await f.cli(['--json', 'license', 'status']);
    expect(status.exitCode).toBe(1);
    const int = JSON.parse(status.stdout).servers.find((x: { server: string }) => x.server === 'INT01');
    expect(int.problems.join('\n')).toMatch(/carries an older license .* than the farm's current one \(LIC-FSP-5, sequence 5\)/);
    // Applying the same response again completes the farm.
    const again = await applyJson(f, seq5);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((again.json.servers as { server: string; action: string }[]).map((x) => x.action)).toEqual(['unchanged', 'unchanged', 'installed']);
  });
});
