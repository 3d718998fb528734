// "Administrator rights on every target", proven before anything is written: a probe file created
// and removed in the license folder, and on Windows (local or over ssh) `net session`, which only
// an elevated administrator may run.
import { randomBytes } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import type { Transport } from '../farm/transports/transport.js';
import { joinServerPath, serverDirname } from '../farm/paths.js';
import { errorMessage } from '../errors.js';

export function elevationCheckCommand(platform: 'windows' | 'linux'): { command: string; args: string[] } | undefined {
  // `net session` fails with "Access is denied" (exit 2) unless the process is elevated.
  return platform === 'windows' ? { command: 'net', args: ['session'] } : undefined;
}

export interface AdminCheck {
  ok: boolean;
  problem?: string;
  /** The license folder did not exist and was created for the check. */
  createdDir?: boolean;
}

/**
 * dryRun (`license apply --check`): prove the same without writing anything anywhere: elevation as
 * above, then write access to the license folder, or to the nearest folder above it that exists
 * (where the apply would create it), asked of the filesystem or the server instead of tried.
 */
export async function checkAdminRights(t: Transport, licensePath: string, opts: { dryRun?: boolean } = {}): Promise<AdminCheck> {
  const dir = serverDirname(t.platform, licensePath);
  const elevation = elevationCheckCommand(t.platform);
  if (elevation && t.kind !== 'share') {
    try {
      const r = await t.exec(elevation.command, elevation.args);
      if (r.exitCode !== 0) return { ok: false, problem: `not an elevated administrator (\`net session\` exit ${r.exitCode})` };
    } catch (err) {
      return { ok: false, problem: `cannot check elevation: ${errorMessage(err)}` };
    }
  }
  if (opts.dryRun) return probeWritable(t, dir);
  let createdDir = false;
  try {
    if (!(await t.exists(dir))) {
      await t.mkdirp(dir);
      createdDir = true;
    }
    const probe = joinServerPath(t.platform, dir, `.clk-support-admin-probe-${randomBytes(4).toString('hex')}`);
    await t.writeFileAtomic(probe, 'clk-support administrator check\n');
    await t.remove(probe);
    return { ok: true, createdDir };
  } catch (err) {
    return { ok: false, problem: `cannot write in ${dir}: ${errorMessage(err)}`, createdDir };
  }
}

async function nearestExisting(t: Transport, dir: string): Promise<string> {
  let d = dir;
  for (let i = 0; i < 64 && !(await t.exists(d)); i++) {
    const up = serverDirname(t.platform, d);
    if (up === d) break;
    d = up;
  }
  return d;
}

async function probeWritable(t: Transport, dir: string): Promise<AdminCheck> {
  try {
    const target = await nearestExisting(t, dir);
    const local = t.hostPathOf(target);
    if (local !== undefined) {
      const denied = await access(local, constants.W_OK).then(() => undefined, (err: NodeJS.ErrnoException) => err.code ?? errorMessage(err));
      return denied ? { ok: false, problem: `cannot write in ${target}: ${denied}` } : { ok: true };
    }
    if (t.platform === 'linux') {
      const r = await t.exec('test', ['-w', target]);
      return r.exitCode === 0 ? { ok: true } : { ok: false, problem: `cannot write in ${target} (no write permission)` };
    }
    // Windows over ssh: the elevated `net session` above already proved administrator rights.
    return { ok: true };
  } catch (err) {
    return { ok: false, problem: `cannot check write access to ${dir}: ${errorMessage(err)}` };
  }
}
