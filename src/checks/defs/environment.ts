// Checks of this machine: Node, the Windows tools, administrator rights, free disk for a bundle.
import { access, constants, statfs } from 'node:fs/promises';
import { dirname, join, win32, posix } from 'node:path';
import { formatBytes } from '../../format.js';
import type { CheckContext, Host } from '../context.js';
import { netSessionArgs } from '../windows.js';
import type { GlobalCheck, Outcome } from '../types.js';

/** Whether a version satisfies a `>=x.y.z` range (alternatives with `||`); undefined if the range is not understood. */
export function satisfiesMinimum(version: string, range: string): boolean | undefined {
  const v = parseVersion(version);
  if (!v) return undefined;
  let understood = false;
  for (const alt of range.split('||').map((s) => s.trim())) {
    const m = /^>=\s*v?(\d+(?:\.\d+){0,2})$/.exec(alt);
    if (!m) continue;
    understood = true;
    if (compareVersions(v, parseVersion(m[1])!) >= 0) return true;
  }
  return understood ? false : undefined;
}

function parseVersion(s: string): number[] | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(s.trim());
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export const nodeVersionCheck: GlobalCheck = {
  scope: 'global',
  id: 'env.node',
  group: 'env',
  title: 'Node.js version supported by clk-support',
  severity: 'error',
  timeoutMs: 5000,
  hint: 'install a supported Node.js LTS (https://nodejs.org) and run clk-support with it',
  async run(ctx) {
    const { nodeVersion } = ctx.host;
    const { nodeRange, toolVersion } = ctx.options;
    const ok = satisfiesMinimum(nodeVersion, nodeRange);
    const what = `Node ${nodeVersion}, clk-support ${toolVersion}`;
    if (ok === undefined) return { status: 'error', message: `could not check: ${what}: cannot compare with the required range "${nodeRange}"` };
    if (!ok) return { status: 'fail', message: `${what}: Node ${nodeRange} is required`, hint: `install Node ${nodeRange} (an LTS release) and run clk-support with it` };
    return { status: 'pass', message: `${what} (needs ${nodeRange})` };
  },
};

/** The Windows programs clk-support runs when it runs on Windows. */
export const WINDOWS_TOOLS = ['wevtutil', 'relog', 'logman', 'sc', 'reg', 'net', 'whoami'] as const;

/** Find a program on PATH the way the host's shell would (PATHEXT on Windows). */
export async function findOnPath(name: string, host: Pick<Host, 'platform' | 'env'>): Promise<string | undefined> {
  const windows = host.platform === 'win32';
  const pathVar = host.env.PATH ?? host.env.Path ?? '';
  const dirs = pathVar.split(windows ? ';' : ':').filter(Boolean);
  const exts = windows ? (host.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean) : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      // The host may be simulated: join with this machine's rules, since the folders are this machine's.
      const candidate = join(dir, name + ext.toLowerCase());
      const alt = join(dir, name + ext);
      for (const c of new Set([candidate, alt])) {
        try {
          await access(c, windows ? constants.F_OK : constants.X_OK);
          return c;
        } catch {
          // next
        }
      }
    }
  }
  return undefined;
}

export const toolsCheck: GlobalCheck = {
  scope: 'global',
  id: 'env.tools',
  group: 'env',
  title: 'Windows tools clk-support runs are on PATH',
  severity: 'warning',
  timeoutMs: 10_000,
  hint: `these tools ship with Windows in C:\\Windows\\System32: make sure that folder is on PATH`,
  applies: (ctx) =>
    ctx.host.platform === 'win32' ||
    `the Windows tools (${WINDOWS_TOOLS.join(', ')}) are used only when clk-support runs on Windows; elsewhere logs are read natively`,
  async run(ctx) {
    const found = await Promise.all(WINDOWS_TOOLS.map(async (t) => [t, await findOnPath(t, ctx.host)] as const));
    const missing = found.filter(([, p]) => !p).map(([t]) => t);
    const details = found.map(([t, p]) => `${t}: ${p ?? 'not found'}`);
    if (missing.length) return { status: 'fail', message: `not on PATH: ${missing.join(', ')}`, details };
    return { status: 'pass', message: `${WINDOWS_TOOLS.join(', ')} found`, details };
  },
};

/** The folders on this machine that clk-support writes to with elevated rights (local servers' license folders). */
export function foldersNeedingRights(ctx: CheckContext): string[] {
  const farm = ctx.farm;
  if (!farm) return [];
  const api = ctx.host.platform === 'win32' ? win32 : posix;
  return ctx.servers
    .filter((s) => s.transport.type === 'local' && s.license)
    .map((s) => api.dirname(s.license!.path));
}

export const adminCheck: GlobalCheck = {
  scope: 'global',
  id: 'env.admin',
  group: 'env',
  title: 'Administrator rights for the servers reached on this machine',
  severity: 'error',
  timeoutMs: 15_000,
  hint: 'run clk-support from an elevated prompt ("Run as administrator"), or as root / with sudo',
  needsFarm: true,
  applies: (ctx) => {
    if (!ctx.farm) return 'the farm file is not valid (see farm.valid)';
    return ctx.servers.some((s) => s.transport.type === 'local') ||
      'no server is reached through the local transport: rights on remote servers are checked by server.reachable';
  },
  async run(ctx, signal): Promise<Outcome> {
    const local = ctx.servers.filter((s) => s.transport.type === 'local').map((s) => s.name);
    const why = `${local.join(', ')} ${local.length === 1 ? 'is' : 'are'} this machine: reading its event logs and installing licenses need administrator rights`;
    if (ctx.host.platform === 'win32') return judgeElevation(ctx, why, signal);
    if (ctx.host.uid === 0) return { status: 'pass', message: 'running as root', details: [why] };
    const folders = foldersNeedingRights(ctx);
    if (folders.length === 0)
      return { status: 'fail', message: `running as uid ${ctx.host.uid ?? '?'}, not root`, details: [why], hint: 'run with sudo (or as root)' };
    const denied: string[] = [];
    for (const f of folders) {
      try {
        await access(f, constants.W_OK);
      } catch (err) {
        denied.push(`${f}: ${(err as NodeJS.ErrnoException).code ?? 'not writable'}`);
      }
    }
    if (denied.length)
      return { status: 'fail', message: `running as uid ${ctx.host.uid ?? '?'} and cannot write to the license folder${denied.length > 1 ? 's' : ''}`, details: denied, hint: 'run with sudo (or as root), or give this user write access to the license folder' };
    return { status: 'pass', message: `not root, but the license folder${folders.length > 1 ? 's are' : ' is'} writable`, details: folders };
  },
};

const NOT_ELEVATED_HINT = 'start the prompt with "Run as administrator" and run clk-support again';

/**
 * `net session` lists sessions only for an administrator; but its exit code alone is not proof (some
 * implementations exit 0 after printing their usage), so its output is judged too. When that output is
 * not a recognisable answer, the integrity level in `whoami /groups` decides: its SIDs are not translated.
 */
async function judgeElevation(ctx: CheckContext, why: string, signal: AbortSignal): Promise<Outcome> {
  const r = await ctx.host.run('net', netSessionArgs(), { timeoutMs: 10_000, signal });
  const net = classifyNetSession(r.exitCode, `${r.stdout}\n${r.stderr}`);
  if (net.verdict === 'elevated') return { status: 'pass', message: `this process is elevated (${net.reason})`, details: [why] };
  if (net.verdict === 'denied') return { status: 'fail', message: `this process is not elevated (${net.reason})`, details: [why], hint: NOT_ELEVATED_HINT };
  const w = await ctx.host.run('whoami', ['/groups'], { timeoutMs: 10_000, signal }).catch((err: unknown) => ({ exitCode: -1, stdout: '', stderr: String((err as Error)?.message ?? err) }));
  const level = integrityLevel(w.stdout);
  const details = [why, `net session: ${net.reason}`, `whoami /groups: ${level ?? (w.exitCode === 0 ? 'no integrity level in its output' : `failed (exit ${w.exitCode}) ${quote(w.stderr || w.stdout)}`)}`];
  if (level === 'high' || level === 'system') return { status: 'pass', message: `this process is elevated (${level} integrity level; net session was inconclusive)`, details };
  if (level) return { status: 'fail', message: `this process is not elevated (${level} integrity level)`, details, hint: NOT_ELEVATED_HINT };
  return { status: 'error', message: `could not check: ${net.reason}, and whoami /groups gave no integrity level`, details, hint: 'run "net session" and "whoami /groups" in this prompt to see why they do not answer' };
}

type NetSessionVerdict = { verdict: 'elevated' | 'denied' | 'unknown'; reason: string };

/** Judge what `net session` printed, not just how it exited. */
export function classifyNetSession(exitCode: number, output: string): NetSessionVerdict {
  const text = output.replace(/\r/g, '');
  const raw = quote(text);
  // "System error 5 has occurred. Access is denied." (the number is the same in every language).
  if (/\b(system error|error)\s+5\b/i.test(text) || /access is denied/i.test(text)) return { verdict: 'denied', reason: `net session was refused: ${raw}` };
  // Usage text instead of an answer: it names the command's own syntax.
  if (/NET SESSION\s*\[|\/DELETE|\/LIST|syntax of this command/i.test(text)) return { verdict: 'unknown', reason: `net session printed its usage instead of an answer (exit ${exitCode}): ${raw}` };
  if (exitCode !== 0) return { verdict: 'denied', reason: `net session failed with exit code ${exitCode}: ${raw}` };
  if (text.trim() === '') return { verdict: 'unknown', reason: 'net session exited 0 but printed nothing' };
  // The answers of an elevated process: an empty list, or the session table.
  if (/there are no entries in the list|the command completed successfully|^\s*Computer\s+User name\s/im.test(text)) return { verdict: 'elevated', reason: 'net session listed the sessions' };
  return { verdict: 'unknown', reason: `net session exited 0 with output not recognised: ${raw}` };
}

/** The mandatory integrity level `whoami /groups` reports (S-1-16-*), or undefined. */
export function integrityLevel(output: string): 'low' | 'medium' | 'high' | 'system' | undefined {
  if (/S-1-16-16384\b/.test(output)) return 'system';
  if (/S-1-16-12288\b/.test(output)) return 'high';
  if (/S-1-16-8448\b|S-1-16-8192\b/.test(output)) return 'medium';
  if (/S-1-16-4096\b|S-1-16-0\b/.test(output)) return 'low';
  return undefined;
}

function quote(text: string): string {
  const one = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (!one) return '(no output)';
  return `"${one.length > 160 ? `${one.slice(0, 157)}...` : one}"`;
}

/** The nearest existing folder at or above p (the output folder may not exist yet). */
async function existingAncestor(p: string): Promise<string> {
  let cur = p;
  for (;;) {
    try {
      await access(cur);
      return cur;
    } catch {
      const up = dirname(cur);
      if (up === cur) return cur;
      cur = up;
    }
  }
}

export const diskCheck: GlobalCheck = {
  scope: 'global',
  id: 'env.disk',
  group: 'env',
  title: 'Free disk space for a diagnostic bundle',
  severity: 'error',
  timeoutMs: 10_000,
  hint: 'free space there, or write bundles elsewhere (--output-dir), or lower the need with --min-free',
  async run(ctx) {
    const at = await existingAncestor(ctx.options.outputDir);
    const st = await statfs(at);
    const free = Number(st.bavail) * Number(st.bsize);
    const need = ctx.options.minFreeBytes;
    const message = `${formatBytes(free)} free at ${at} (needs ${formatBytes(need)})`;
    return { status: free >= need ? 'pass' : 'fail', message };
  },
};
