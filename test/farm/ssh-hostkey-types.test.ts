// A server with several host keys whose known_hosts entry lists only some of them: clk-support asks
// only for the listed key types (as OpenSSH does) and connects; a listed key that differs is still
// refused. A real sshd with ed25519, RSA and ECDSA host keys, driven through the built CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKey, tryStartSshd } from '../support/sshd.js';
import { runCli } from '../support/cli.js';
import { farmFile, sshServerEntry } from '../netns/cli.js';

const run = promisify(execFile);
const { server, skipReason } = await tryStartSshd({ extraHostKeyTypes: ['rsa', 'ecdsa'] });

describe.skipIf(!server)(`known_hosts listing only some host-key types${skipReason ? ` (${skipReason})` : ''}`, () => {
  const s = server!;
  let dir: string;
  const name = () => `[${s.host}]:${s.port}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clk-hostkeys-'));
    await mkdir(join(dir, 'root/opt/clk'), { recursive: true });
    await writeFile(join(dir, 'root/opt/clk/version.txt'), 'Version=8.1.15.2207\n');
  });
  afterAll(async () => {
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function status(knownHostsText: string, label: string) {
    const knownHosts = join(dir, `known_hosts.${label}`);
    await writeFile(knownHosts, knownHostsText);
    const farm = join(dir, `farm.${label}.json`);
    const entry = sshServerEntry({ name: 'LNX1', host: s.host, port: s.port, user: s.user, identityFile: s.identityFile, knownHosts, root: join(dir, 'root') });
    await writeFile(farm, JSON.stringify(farmFile([entry])));
    const r = await runCli(['--farm', farm, '--json', 'farm', 'status']);
    const row = (JSON.parse(r.stdout) as { servers: { reachable: boolean; reason?: string; error?: string }[] }).servers[0];
    return { r, row, knownHosts };
  }

  async function openssh(knownHosts: string) {
    return run('ssh', ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-i', s.identityFile, '-p', String(s.port), `${s.user}@${s.host}`, 'true']).then(
      () => 0,
      (e: { code?: number }) => e.code ?? 1,
    );
  }

  it('only the RSA key listed (the server prefers ed25519): connects, as OpenSSH does', async () => {
    const { r, row, knownHosts } = await status(`${name()} ${s.hostKeys.rsa}\n`, 'rsa');
    expect(row.reachable, `${r.stderr}\n${row.error}`).toBe(true);
    expect(await openssh(knownHosts)).toBe(0);
  });

  it('only the ECDSA key listed, hashed: connects', async () => {
    const knownHosts = join(dir, 'known_hosts.ecdsa-plain');
    await writeFile(knownHosts, `${name()} ${s.hostKeys.ecdsa}\n`);
    await run('ssh-keygen', ['-q', '-H', '-f', knownHosts]);
    const { readFile } = await import('node:fs/promises');
    const hashed = await readFile(knownHosts, 'utf8');
    expect(hashed.startsWith('|1|')).toBe(true);
    const { row, r } = await status(hashed, 'ecdsa');
    expect(row.reachable, `${r.stderr}\n${row.error}`).toBe(true);
  });

  it('an RSA key that is not the server\'s: still refused as a host-key mismatch', async () => {
    const other = join(dir, 'other_rsa');
    const line = await generateKey(other, 'someone-else', 'rsa');
    const { row, knownHosts } = await status(`${name()} ${line.split(/\s+/).slice(0, 2).join(' ')}\n`, 'wrong-rsa');
    expect(row.reachable).toBe(false);
    expect(row.reason).toBe('host-key');
    expect(row.error).toMatch(/does not match known_hosts/);
    expect(await openssh(knownHosts)).not.toBe(0);
  });
});
