// license apply and rollback never read or write through a symbolic link that leads out of a server's
// root, nor open a FIFO as a license: refused with their own codes, and nothing changes anywhere
// (the share trees and the outside folder compared byte for byte, links included, before and after).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyJson, licenseFarm, type LicenseFarm } from './helpers.js';

/** Every node under dir: type, and the bytes' hash or the link's target. */
async function tree(dir: string): Promise<Record<string, string>> {
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
    const before = { servers: await tree(servers), outside: await tree(outside) };
    const r = args[0] === 'apply' ? await applyJson(f, response) : await f.cli(['--json', 'license', ...args]);
    const json = 'json' in r ? r.json : JSON.parse(r.stdout || '{}');
    expect((json as { error?: { code?: string } }).error?.code, r.stderr).toBe(code);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/hint: /);
    expect({ servers: await tree(servers), outside: await tree(outside) }).toEqual(before);
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
    expect(await tree(outside)).toEqual({ 'License.xml': expect.stringMatching(/^file 600 /) });
    // And rollback through the same in-root link puts the previous license back.
    const back = await f.cli(['--json', 'license', 'rollback', '--yes']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect((await readFile(join(real, 'License.xml'))).equals(await readFile(response))).toBe(false);
  });
});
