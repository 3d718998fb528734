// Owner-only access for what clk-support writes that may hold secrets (the bundle, the license state
// folder). POSIX modes do it elsewhere (the callers chmod); on Windows chmod changes nothing but the
// read-only bit, so the ACL is replaced with icacls (command line from icaclsOwnerOnlyCommand).
import { chmod } from 'node:fs/promises';
import { commandLineOf, icaclsOwnerOnlyCommand } from './windows-commands.js';

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
  return `cannot restrict ${path} to its owner: ${commandLineOf(cmd)} exited ${r.exitCode ?? 'without a code'}: ${String(r.stderr || r.stdout).trim().slice(0, 300)}`;
}
