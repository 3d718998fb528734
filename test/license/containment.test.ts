// license apply and rollback never read or write through a symbolic link that leads out of a server's
// root, nor open a FIFO as a license: refused with their own codes, and nothing changes anywhere
// (the share trees and the outside folder compared byte for byte, links included, before and after).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../support/cli.js';
import { tryStartSshd } from '../support/sshd.js';
import { applyJson, licenseFarm, SIGNER, type LicenseFarm } from './helpers.js';

/** Every node under dir: type, and the bytes' hash or the link's target. */
async function tree_(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      // The share clock probe writes and removes a file at a server root: not the license's doing.
      if (name.startsWith('.clk-support-clock-')) continue;
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(p);
      if (st.isSymbolicLink()) out[r] = `link ${await readlink(p)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${(st.mode & 0o7777).toString(8)}`;
        await walk(p, r);
      } else if (st.isFile()) out[r] = `file ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(await readFile(p)).digest('hex')}`;
      else out[r] = 'other';
    }
  };
  await walk(dir, '');
  return out;
}

describe('license apply and rollback stay inside each server root', () => {
  let f: LicenseFarm;
  let response: string;
  let outside: string;
  let servers: string;
  const app = () => f.licenseDir('APP01');

  beforeAll(async () => {
    f = await licenseFarm();
    const request = await f.request();
    response = await f.sign(request, 'good.response', ['--sequence', '2']);
    outside = join(f.root, 'outside');
    servers = join(f.dir, 'servers');
    await mkdir(outside, { recursive: true });
    // Stands for a file of the collecting machine that must never be read, backed up or replaced.
    await writeFile(join(outside, 'License.xml'), 'OUTSIDE-LICENSE-BYTES\n', { mode: 0o600 });
  }, 120_000);
  afterAll(() => f.cleanup());

  async function refusedEverywhereUnchanged(args: string[], code: string): Promise<void> {
    const before = { servers: await tree_(servers), outside: await tree_(outside) };
    const r = args[0] === 'apply' ? await applyJson(f, response) : await f.cli(['--json', 'license', ...args]);
    const json = 'json' in r ? r.json : JSON.parse(r.stdout || '{}');
    expect((json as { error?: { code?: string } }).error?.code, r.stderr).toBe(code);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/hint: /);
    expect({ servers: await tree_(servers), outside: await tree_(outside) }).toEqual(before);
  }

  it('a License.xml that is a link to a file outside the share: LICENSE_OUTSIDE_ROOT, nothing written (apply and rollback)', async () => {
    const lic = f.licenseFile('APP01');
    await rename(lic, `${lic}.real`);
    await symlink(join(outside, 'License.xml'), lic);
    try {
      await refusedEverywhereUnchanged(['apply'], 'LICENSE_OUTSIDE_ROOT');
      await refusedEverywhereUnchanged(['rollback', '--yes'], 'LICENSE_OUTSIDE_ROOT');
    } finally {
      await rm(lic);
      await rename(`${lic}.real`, lic);
    }
  });

  it('a License folder that is a link to a folder outside the share: LICENSE_OUTSIDE_ROOT, nothing written (apply and rollback)', async () => {
    await rename(app(), `${app()}.real`);
    await symlink(outside, app());
    try {
      await refusedEverywhereUnchanged(['apply'], 'LICENSE_OUTSIDE_ROOT');
      await refusedEverywhereUnchanged(['rollback', '--yes'], 'LICENSE_OUTSIDE_ROOT');
    } finally {
      await rm(app());
      await rename(`${app()}.real`, app());
    }
  });

  it('a License folder whose parent climbs out through a relative link: LICENSE_OUTSIDE_ROOT', async () => {
    const so = join(app(), '..');
    await rename(app(), `${app()}.real`);
    // …\Service Optimization\License -> ../../../../../../../outside (relative, climbing out of c$)
    await symlink('../../../../../../../outside', app());
    try {
      expect((await lstat(join(so, 'License', 'License.xml'))).isFile()).toBe(true);
      await refusedEverywhereUnchanged(['apply'], 'LICENSE_OUTSIDE_ROOT');
    } finally {
      await rm(app());
      await rename(`${app()}.real`, app());
    }
  });

  it('a FIFO named License.xml: LICENSE_NOT_A_FILE, without blocking', async () => {
    const lic = f.licenseFile('APP01');
    await rename(lic, `${lic}.real`);
    execFileSync('mkfifo', [lic]);
    try {
      await refusedEverywhereUnchanged(['apply'], 'LICENSE_NOT_A_FILE');
      await refusedEverywhereUnchanged(['rollback', '--yes'], 'LICENSE_NOT_A_FILE');
    } finally {
      await rm(lic);
      await rename(`${lic}.real`, lic);
    }
  }, 60_000);

  it('a License folder that is a link inside the share root is followed: installed in the real folder, the link kept', async () => {
    const real = join(servers, 'app01', 'c$', 'LicenseStore');
    await rename(app(), real);
    await symlink(real, app());
    const r = await applyJson(f, response);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await lstat(app())).isSymbolicLink()).toBe(true);
    expect((await readFile(join(real, 'License.xml'))).equals(await readFile(response))).toBe(true);
    expect((await readdir(real)).some((n) => n.startsWith('License.xml.bak-'))).toBe(true);
    expect(await tree_(outside)).toEqual({ 'License.xml': expect.stringMatching(/^file 600 /) });
    // And rollback through the same in-root link puts the previous license back.
    const back = await f.cli(['--json', 'license', 'rollback', '--yes']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect((await readFile(join(real, 'License.xml'))).equals(await readFile(response))).toBe(false);
  });
});

const sshd = await tryStartSshd();

describe.skipIf(!sshd.server)(`license apply and rollback over ssh confined to a folder${sshd.skipReason ? ` (${sshd.skipReason})` : ''}`, () => {
  let dir: string;
  let farm: string;
  let tree: string;
  let outside: string;
  const cli = (args: string[]) => runCli(['--farm', farm, ...args], { cwd: dir });

  beforeAll(async () => {
    const s = sshd.server!;
    dir = await mkdtemp(join(tmpdir(), 'clk-license-contain-ssh-'));
    tree = join(dir, 'LNXAPP1');
    outside = join(dir, 'outside');
    await mkdir(join(tree, 'opt/clk/license'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'License.xml'), 'OUTSIDE-LICENSE-BYTES\n');
    await writeFile(join(tree, 'opt/clk/version.txt'), 'Product=ClickSoftware\nVersion=8.1.15.2207\n');
    const server = {
      name: 'LNXAPP1',
      role: 'application',
      platform: 'linux',
      transport: { type: 'ssh', host: s.host, port: s.port, user: s.user, identityFile: s.identityFile, knownHosts: s.knownHosts, root: tree },
      installRoot: `${tree}/opt/clk`,
      license: { path: `${tree}/opt/clk/license/License.xml` },
    };
    farm = join(dir, 'clk-farm.json');
    await writeFile(
      farm,
      JSON.stringify({
        formatVersion: 1,
        farm: { name: 'Containment over SSH', customerNumber: '1234567', installationNumber: '0020123456', systemId: 'FST', environment: 'test' },
        settings: { connectTimeoutMs: 3000, timeoutMs: 15000 },
        license: { trustedKeys: [{ id: 'clk-support-test-2026', publicKeyFile: join(REPO, 'fixtures/keys/test-ed25519.pub.pem') }], stateDir: join(dir, 'state') },
        servers: [server],
      }),
    );
    const req = await cli(['license', 'request', '--out', join(dir, 'License.request')]);
    expect(req.exitCode, req.stderr).toBe(0);
    execFileSync(process.execPath, [SIGNER, '--request', join(dir, 'License.request'), '--out', join(dir, 'license.response')]);
  }, 60_000);
  afterAll(async () => {
    await sshd.server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function refused(args: string[], code: string): Promise<void> {
    const before = { tree: await tree_(tree), outside: await tree_(outside) };
    const r = await cli(['--json', 'license', ...args]);
    expect(JSON.parse(r.stdout || '{}').error?.code, r.stderr).toBe(code);
    expect(r.exitCode).toBe(1);
    expect({ tree: await tree_(tree), outside: await tree_(outside) }).toEqual(before);
  }

  it('a License folder linked out of the root (SFTP lstat): LICENSE_OUTSIDE_ROOT for apply and rollback, nothing written', async () => {
    const lic = join(tree, 'opt/clk/license');
    await rm(lic, { recursive: true });
    await symlink(outside, lic);
    try {
      await refused(['apply', join(dir, 'license.response'), '--yes'], 'LICENSE_OUTSIDE_ROOT');
      await refused(['rollback', '--yes'], 'LICENSE_OUTSIDE_ROOT');
    } finally {
      await rm(lic);
      await mkdir(lic);
    }
  });

  it('a License.xml linked out of the root: LICENSE_OUTSIDE_ROOT, nothing written', async () => {
    const lic = join(tree, 'opt/clk/license/License.xml');
    await symlink('../../../../outside/License.xml', lic);
    try {
      await refused(['apply', join(dir, 'license.response'), '--yes'], 'LICENSE_OUTSIDE_ROOT');
    } finally {
      await rm(lic);
    }
  });

  it('with nothing in the way it installs, inside the root', async () => {
    const r = await cli(['--json', 'license', 'apply', join(dir, 'license.response'), '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readFile(join(tree, 'opt/clk/license/License.xml'))).equals(await readFile(join(dir, 'license.response')))).toBe(true);
  });
});
