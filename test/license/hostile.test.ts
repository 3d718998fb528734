// Hostile and unlucky cases of issue 13, through the built CLI: envelopes with unsigned extras,
// a FIFO as the response, --check writing nothing, a climbing license path, rollback over a newer
// license (crashed apply, apply from another state folder), stale locks and temp files, Ctrl-C.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import { join, relative } from 'node:path';
import { BIN } from '../support/cli.js';
import { COVERED, applyJson, licenseFarm, type LicenseFarm } from './helpers.js';

/** Every file under dir with its size and mtime: "nothing was written anywhere". */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = await stat(p);
      out.push(`${relative(dir, p)} ${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

async function rollbackJson(f: LicenseFarm, extra: string[] = [], farmFile = f.farmFile) {
  const { runCli } = await import('../support/cli.js');
  const r = await runCli(['--farm', farmFile, '--json', 'license', 'rollback', '--yes', ...extra], { cwd: f.root });
  const json = JSON.parse(r.stdout || '{}') as Record<string, any>;
  return { exitCode: r.exitCode, code: json.error?.code as string | undefined, json, stderr: r.stderr };
}

describe('license: hostile responses and unlucky administrators', () => {
  let f: LicenseFarm;
  let request: string;
  let seq2: string;
  let before: Record<string, Buffer | undefined>;

  beforeAll(async () => {
    f = await licenseFarm();
    before = await f.snapshot();
    request = await f.request();
    seq2 = await f.sign(request, 'seq2.response', ['--sequence', '2']);
  });
  afterAll(() => f.cleanup());

  async function unchanged() {
    expect(await f.snapshot()).toEqual(before);
    for (const s of COVERED) expect((await readdir(f.licenseDir(s))).sort(), s).toEqual(['License.xml']);
  }

  describe('the envelope is canonical: anything outside the signed payload is refused', () => {
    const variants: [string, (t: string) => string][] = [
      ['an extra element', (t) => t.replace('</ClkLicenseResponse>', '  <Note>install me</Note>\n</ClkLicenseResponse>')],
      ['a comment', (t) => t.replace('<Payload', '<!-- hello --><Payload')],
      ['a processing instruction', (t) => t.replace('<Payload', '<?evil run="1"?><Payload')],
      ['a processing instruction after the root', (t) => `${t}<?evil?>\n`],
      ['text after the root', (t) => `${t}trailing text\n`],
      ['text inside the root', (t) => t.replace('<Payload', 'hello <Payload')],
      ['an extra attribute', (t) => t.replace('<Signature ', '<Signature note="x" ')],
      ['a namespace declaration', (t) => t.replace('<ClkLicenseResponse ', '<ClkLicenseResponse xmlns:x="urn:x" ')],
      ['a second Signature', (t) => t.replace(/(<Signature[^]*<\/Signature>)/, '$1$1')],
      ['a character reference in the key id', (t) => t.replace('keyId="c', 'keyId="&#99;')],
      ['a CDATA section in the payload', (t) => t.replace('<Payload encoding="base64">', '<Payload encoding="base64"><![CDATA[]]>')],
    ];
    it.each(variants)('%s: LICENSE_ENVELOPE_NOT_CANONICAL, nothing written', async (_what, change) => {
      const file = join(f.root, `env-${_what.replace(/\W+/g, '-')}.response`);
      const text = await readFile(seq2, 'utf8');
      const changed = change(text);
      expect(changed).not.toBe(text);
      await writeFile(file, changed);
      const r = await applyJson(f, file);
      expect(r.code, r.stderr).toBe('LICENSE_ENVELOPE_NOT_CANONICAL');
      expect(r.exitCode).toBe(1);
      await unchanged();
    });
  });

  it('a FIFO as the response file is refused at once (LICENSE_NOT_A_FILE), so is a folder', async () => {
    const fifo = join(f.root, 'fifo.response');
    execFileSync('mkfifo', [fifo]);
    const r = await applyJson(f, fifo);
    expect(r.code, r.stderr).toBe('LICENSE_NOT_A_FILE');
    expect(r.stderr).toMatch(/a pipe \(FIFO\), not a regular file/);
    const d = await applyJson(f, f.root);
    expect(d.code, d.stderr).toBe('LICENSE_NOT_A_FILE');
    await unchanged();
  });

  it('--check writes nothing anywhere: no License folder created, no probe, no clock file, no log', async () => {
    const app01 = f.licenseDir('APP01');
    const saved = join(f.root, 'app01-license');
    await cp(app01, saved, { recursive: true });
    await rm(app01, { recursive: true });
    try {
      const farmBefore = await tree(f.dir);
      const r = await f.cli(['--json', 'license', 'apply', seq2, '--check']);
      expect(r.exitCode, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.outcome).toBe('checked');
      expect(out.servers.find((s: { server: string }) => s.server === 'APP01')).toMatchObject({ admin: true, action: 'would-install' });
      expect(await tree(f.dir)).toEqual(farmBefore);
    } finally {
      await cp(saved, app01, { recursive: true });
    }
    await unchanged();
  });

  it('a license.path that climbs (C:\\..\\..\\..\\outside) is a configuration error (exit 2), and farm validate says so', async () => {
    const farm = JSON.parse(await readFile(f.farmFile, 'utf8'));
    farm.servers[0].license.path = 'C:\\..\\..\\..\\outside';
    const bad = join(f.dir, 'climbing.json');
    await writeFile(bad, JSON.stringify(farm));
    const { runCli } = await import('../support/cli.js');
    const apply = await runCli(['--farm', bad, 'license', 'apply', seq2, '--yes'], { cwd: f.root });
    expect(apply.exitCode, apply.stderr).toBe(2);
    expect(apply.stderr).toMatch(/servers\[0\]\.license\.path: must not contain a "\.\." segment/);
    expect(apply.stderr).not.toMatch(/administrator/);
    const validate = await runCli(['--farm', bad, 'farm', 'validate']);
    expect(validate.exitCode).toBe(2);
    await unchanged();
  });

  describe('rollback never replaces a newer license', () => {
    let seq3: string;
    let seq2Bytes: Buffer;

    beforeAll(async () => {
      const ok = await applyJson(f, seq2);
      expect(ok.exitCode, ok.stderr).toBe(0);
      seq2Bytes = await readFile(seq2);
      seq3 = await f.sign(request, 'seq3.response', ['--sequence', '3']);
    });

    it('after an apply killed after its first server: rollback refuses (LICENSE_ROLLBACK_CURRENT_CHANGED), cleans the dead lock, leaves the newer license', async () => {
      const seq3Bytes = await readFile(seq3);
      let crashed = false;
      let attempts = 0;
      for (; attempts < 40 && !crashed; attempts++) {
        const child = spawn(process.execPath, [BIN, '--farm', f.farmFile, 'license', 'apply', seq3, '--yes'], { cwd: f.root, env: { ...process.env, NO_COLOR: '1', CI: '1' }, stdio: 'ignore' });
        // Kill it the moment the first server's license is renamed into place.
        const watcher = watch(f.licenseDir('APP01'), (_event, name) => {
          if (name === 'License.xml') child.kill('SIGKILL');
        });
        await new Promise((r) => child.on('exit', r));
        watcher.close();
        const now = await f.snapshot();
        const installed = COVERED.filter((s) => now[s]!.equals(seq3Bytes));
        if (installed.length === 1 && installed[0] === 'APP01') crashed = true;
        else
          // Too early or too late: put seq2 back (as the last apply left it) and try again.
          for (const s of COVERED) {
            await writeFile(f.licenseFile(s), seq2Bytes);
            for (const n of await readdir(f.licenseDir(s))) if (n !== 'License.xml' && !/\.bak-/.test(n)) await rm(join(f.licenseDir(s), n));
            for (const n of await readdir(f.licenseDir(s))) if (/\.bak-/.test(n) && !(await readFile(join(f.licenseDir(s), n))).equals(before[s]!)) await rm(join(f.licenseDir(s), n));
          }
      }
      expect(crashed, 'the apply was killed between its first and second server').toBe(true);
      console.log(`crash reproduced after ${attempts} attempt(s)`);
      // The dead apply left its locks behind.
      await expect(readFile(join(f.dir, '.clk-support', 'license.lock'))).resolves.toBeTruthy();
      expect(await readdir(f.licenseDir('APP01'))).toContain('.clk-support-license.lock');

      const r = await rollbackJson(f);
      expect(r.code, r.stderr).toBe('LICENSE_ROLLBACK_CURRENT_CHANGED');
      expect(r.exitCode).toBe(1);
      expect(r.json.error.servers).toEqual(['APP01']);
      expect(r.stderr).toMatch(/removed a stale lock/);
      const now = await f.snapshot();
      expect(now.APP01!.equals(seq3Bytes), 'the newer license stays').toBe(true);
      expect(now.SCHED01!.equals(seq2Bytes)).toBe(true);
      // The stale markers and the dead apply's temp files are gone, and rollback left none of its own.
      await expect(readFile(join(f.dir, '.clk-support', 'license.lock'))).rejects.toThrow();
      for (const s of COVERED) expect((await readdir(f.licenseDir(s))).filter((n) => n.includes('.lock') || n.endsWith('.tmp')), s).toEqual([]);

      // Completing the apply puts the farm back in step.
      const again = await applyJson(f, seq3);
      expect(again.exitCode, again.stderr).toBe(0);
    });

    it('after an apply from another state folder (another machine): refused unless --force, which backs up what it replaces', async () => {
      // "Another machine": the same farm with its own state folder that holds the request.
      const other = JSON.parse(await readFile(f.farmFile, 'utf8'));
      other.license.stateDir = 'other-machine-state';
      const otherFarm = join(f.dir, 'other-machine.json');
      await writeFile(otherFarm, JSON.stringify(other));
      await mkdir(join(f.dir, 'other-machine-state'), { recursive: true });
      await cp(join(f.dir, '.clk-support', 'requests'), join(f.dir, 'other-machine-state', 'requests'), { recursive: true });
      const seq4 = await f.sign(request, 'seq4.response', ['--sequence', '4']);
      const { runCli } = await import('../support/cli.js');
      const there = await runCli(['--farm', otherFarm, 'license', 'apply', seq4, '--yes'], { cwd: f.root });
      expect(there.exitCode, there.stderr).toBe(0);
      const seq4Bytes = await readFile(seq4);

      const r = await rollbackJson(f);
      expect(r.code, r.stderr).toBe('LICENSE_ROLLBACK_CURRENT_CHANGED');
      expect(r.exitCode).toBe(1);
      expect(r.json.error.servers.length).toBeGreaterThan(0);
      for (const s of COVERED) expect((await readFile(f.licenseFile(s))).equals(seq4Bytes), s).toBe(true);

      const check = await rollbackJson(f, ['--check']);
      expect(check.code, 'the check says the same').toBe('LICENSE_ROLLBACK_CURRENT_CHANGED');

      const forced = await rollbackJson(f, ['--force']);
      expect(forced.exitCode, forced.stderr).toBe(0);
      for (const s of r.json.error.servers as string[]) {
        const row = forced.json.servers.find((x: { server: string }) => x.server === s);
        expect(row.action).toBe('restored');
        expect(row.replacedBackupPath).toMatch(/License\.xml\.pre-rollback-\d{8}T\d{6}Z-[0-9a-f]{8}$/);
        const name = row.replacedBackupPath.split('\\').pop();
        expect((await readFile(join(f.licenseDir(s), name))).equals(seq4Bytes), `${s}: what rollback replaced is kept`).toBe(true);
        const restored = await readFile(f.licenseFile(s));
        expect(restored.equals(seq4Bytes)).toBe(false);
        expect(restored.equals(await readFile(join(f.licenseDir(s), row.backupPath.split('\\').pop()))), `${s}: restored from its backup`).toBe(true);
      }
    });
  });

  describe('locks', () => {
    it('--break-lock takes over markers only on the servers it touches and leaves none of its own', async () => {
      const foreign = (op: string) => JSON.stringify({ token: 'x', pid: 4242, host: 'ADMIN-PC-9', user: 'ops', operation: op, startedAt: new Date().toISOString() });
      await writeFile(join(f.licenseDir('APP01'), '.clk-support-license.lock'), foreign('license apply A'));
      await writeFile(join(f.licenseDir('SCHED01'), '.clk-support-license.lock'), foreign('license apply S'));
      const seq5 = await f.sign(request, 'seq5.response', ['--sequence', '5']);
      const r = await applyJson(f, seq5, ['--server', 'APP01', '--break-lock', '--allow-partial']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.json.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/APP01: broke the lock/)]));
      expect(await readdir(f.licenseDir('APP01'))).not.toContain('.clk-support-license.lock');
      expect(JSON.parse(await readFile(join(f.licenseDir('SCHED01'), '.clk-support-license.lock'), 'utf8')).operation).toBe('license apply S');
      await rm(join(f.licenseDir('SCHED01'), '.clk-support-license.lock'));
    });

    it('an expired lock from another machine and a dead apply\'s temp files are cleaned by the next apply', async () => {
      const old = new Date(Date.now() - 2 * 3600_000).toISOString();
      await writeFile(join(f.licenseDir('INT01'), '.clk-support-license.lock'), JSON.stringify({ token: 'y', pid: 1, host: 'ADMIN-PC-3', user: 'ops', operation: 'license apply old', startedAt: old }));
      await writeFile(join(f.licenseDir('INT01'), '.License.xml.0123456789ab.tmp'), 'half a license');
      await writeFile(join(f.licenseDir('INT01'), '.clk-support-admin-probe-0badf00d'), 'probe');
      const seq6 = await f.sign(request, 'seq6.response', ['--sequence', '6']);
      const r = await applyJson(f, seq6);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.json.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/INT01: removed a stale lock: license apply old by ops@ADMIN-PC-3/), expect.stringMatching(/INT01: removed 2 temporary files/)]));
      for (const s of COVERED) expect((await readdir(f.licenseDir(s))).filter((n) => n.startsWith('.')), s).toEqual([]);
    });
  });

  it('Ctrl-C during apply stops it (exit 130) with every server as it was and no marker left', async () => {
    const snap = await f.snapshot();
    const seq7 = await f.sign(request, 'seq7.response', ['--sequence', '7']);
    const child = spawn(process.execPath, [BIN, '--farm', f.farmFile, 'license', 'apply', seq7, '--yes'], { cwd: f.root, env: { ...process.env, NO_COLOR: '1', CI: '1' } });
    let err = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      // The install pass has begun: interrupt it, once.
      if (!sent && err.includes('- Installing')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, err).toBe(130);
    expect(await f.snapshot()).toEqual(snap);
    for (const s of COVERED) expect((await readdir(f.licenseDir(s))).filter((n) => n.startsWith('.')), s).toEqual([]);
    await expect(readFile(join(f.dir, '.clk-support', 'license.lock'))).rejects.toThrow();
  });
});
