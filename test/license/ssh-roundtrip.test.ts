// The round trip over the SSH transport: a real OpenSSH server on loopback serving two Linux
// "servers" (each its own folder tree), driven through the built CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tryStartSshd } from '../support/sshd.js';
import { REPO, runCli } from '../support/cli.js';
import { farmFile, sshServerEntry } from '../netns/cli.js';
import { SIGNER } from './helpers.js';

const run = promisify(execFile);
const { server, skipReason } = await tryStartSshd();
const NAMES = ['LNXAPP1', 'LNXAPP2'];

describe.skipIf(!server)(`license round trip over SSH${skipReason ? ` (${skipReason})` : ''}`, () => {
  const s = server!;
  let dir: string;
  let farm: string;
  const licensePath = (name: string) => join(dir, name, 'opt/clk/license/License.xml');
  const cli = (args: string[]) => runCli(['--farm', farm, ...args], { cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clk-license-ssh-'));
    const servers = [];
    for (const name of NAMES) {
      const root = join(dir, name);
      await mkdir(join(root, 'opt/clk/license'), { recursive: true });
      await writeFile(join(root, 'opt/clk/version.txt'), 'Product=ClickSoftware\nVersion=8.1.15.2207\n');
      servers.push(
        sshServerEntry({
          name,
          host: s.host,
          port: s.port,
          user: s.user,
          identityFile: s.identityFile,
          knownHosts: s.knownHosts,
          root,
          extra: { license: { path: licensePath(name) } },
        }),
      );
    }
    farm = join(dir, 'clk-farm.json');
    const license = { trustedKeys: [{ id: 'clk-support-test-2026', publicKeyFile: join(REPO, 'fixtures/keys/test-ed25519.pub.pem') }], stateDir: join(dir, 'state') };
    await writeFile(farm, JSON.stringify(farmFile(servers, {}, { license }), null, 2));
  });
  afterAll(async () => {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('request -> sign -> apply -> status -> rollback', async () => {
    const req = await cli(['--json', 'license', 'request', '--out', join(dir, 'License.request')]);
    expect(req.exitCode, req.stderr).toBe(0);
    const out = JSON.parse(req.stdout);
    expect(out).toMatchObject({ written: true, partial: false, covered: NAMES, missing: [] });
    // Over SSH the machine id and host name are read on the server (the root filesystem UUID too, where it has one).
    const xml = await readFile(join(dir, 'License.request'), 'utf8');
    expect(xml).toMatch(/kind="machine-id" hash="[0-9a-f]{32}" source="\/etc\/machine-id"/);
    expect(xml).toMatch(/kind="hostname"/);

    await run(process.execPath, [SIGNER, '--request', join(dir, 'License.request'), '--out', join(dir, 'license.response')]);
    const apply = await cli(['--json', 'license', 'apply', join(dir, 'license.response'), '--yes']);
    expect(apply.exitCode, apply.stderr).toBe(0);
    expect(JSON.parse(apply.stdout).outcome).toBe('applied');
    const bytes = await readFile(join(dir, 'license.response'));
    for (const n of NAMES) expect((await readFile(licensePath(n))).equals(bytes), n).toBe(true);

    const status = await cli(['--json', 'license', 'status']);
    expect(status.exitCode, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout);
    for (const row of report.servers) expect(row).toMatchObject({ reachable: true, installed: true, covered: true, fingerprintMatch: true, signatureValid: true, problems: [] });

    // There was no license before: rollback removes it again.
    const back = await cli(['--json', 'license', 'rollback', '--yes']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout).servers.map((x: { action: string }) => x.action)).toEqual(['removed', 'removed']);
    // What rollback removed is kept beside it, never lost.
    for (const n of NAMES) expect(await readdir(join(dir, n, 'opt/clk/license'))).toEqual([expect.stringMatching(/^License\.xml\.pre-rollback-\d{8}T\d{6}Z-[0-9a-f]{8}$/)]);
  });
});
