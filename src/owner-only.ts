// Owner-only access for what clk-support writes that may hold secrets (the bundle and its
// anonymization map, the license state folder): mode 0600/0700 on POSIX; on Windows chmod changes
// nothing but the read-only bit, so the ACL is replaced with icacls. Neutral: bundle/ and license/
// both use it. The icacls command line is built by a pure function, tested on any platform.
import { chmod } from 'node:fs/promises';
import { buildCommandLine } from './commandline.js';

/**
 * icacls arguments that leave `path` readable and writable by its owner only: inheritance removed
 * (/inheritance:r) and full control granted to the current user, SYSTEM and Administrators (which
 * own a Windows profile anyway). `user` is DOMAIN\name or name as %USERDOMAIN%\%USERNAME% give it.
 * A folder grant is inherited by what is later created inside it ((OI)(CI)).
 */
export function icaclsOwnerOnlyCommand(path: string, user: string, opts: { folder?: boolean } = {}): { command: string; args: string[] } {
  if (!user.trim() || /[\r\n"]/.test(user)) throw new Error(`icacls: not a user name: ${JSON.stringify(user)}`);
  const perm = opts.folder ? '(OI)(CI)F' : 'F';
  return {
    command: 'icacls',
    args: [path, '/inheritance:r', '/grant:r', `${user}:${perm}`, '/grant:r', `*S-1-5-18:${perm}`, '/grant:r', `*S-1-5-32-544:${perm}`],
  };
}

/** DOMAIN\user of this process on Windows, from the environment Windows sets for every logon. */
export function windowsUser(env: NodeJS.ProcessEnv): string | undefined {
  const user = env.USERNAME?.trim();
  if (!user) return undefined;
  const domain = env.USERDOMAIN?.trim();
  return domain ? `${domain}\\${user}` : user;
}

/**
 * Leave `path` to its owner: mode 0600/0700 on POSIX, an owner-only ACL on Windows. Returns why it
 * could not (the caller reports it as a warning; the file itself is complete and kept).
 */
export async function restrictToOwner(path: string, opts: { folder?: boolean; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform } = {}): Promise<string | undefined> {
  const platform = opts.platform ?? process.platform;
  if (platform !== 'win32') {
    await chmod(path, opts.folder ? 0o700 : 0o600);
    return undefined;
  }
  const user = windowsUser(opts.env ?? process.env);
  if (!user) return `cannot restrict ${path} to its owner: USERNAME is not set`;
  const cmd = icaclsOwnerOnlyCommand(path, user, { folder: opts.folder });
  const { execa } = await import('execa');
  const r = await execa(cmd.command, cmd.args, { reject: false, timeout: 30_000, windowsHide: true });
  if (r.exitCode === 0) return undefined;
  return `cannot restrict ${path} to its owner: ${buildCommandLine('windows', cmd.command, cmd.args)} exited ${r.exitCode ?? 'without a code'}: ${String(r.stderr || r.stdout).trim().slice(0, 300)}`;
}
