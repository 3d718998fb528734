// "Administrator rights on every target", proven before anything is written: a probe file created
// and removed in the license folder, and on Windows (local or over ssh) `net session`, which only
// an elevated administrator may run.
import { randomBytes } from 'node:crypto';
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

export async function checkAdminRights(t: Transport, licensePath: string): Promise<AdminCheck> {
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
