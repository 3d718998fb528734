// Spawn the built CLI the way a user runs it.
import { execa } from 'execa';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(REPO, 'bin', 'clk-support.js');
export const DEMO_FARM_DIR = join(REPO, 'fixtures', 'demo-farm');
export const DEMO_FARM = join(DEMO_FARM_DIR, 'clk-farm.json');

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await execa(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, NO_COLOR: '1', CI: '1', ...opts.env },
    input: opts.input,
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Other tests probe fixtures/demo-farm directly, and a share clock probe briefly writes a file
 * in a server root: never copy those (one may vanish between listing and copying).
 */
export function skipTransient(src: string): boolean {
  return !/[\\/]\.clk-support-clock-[0-9a-f]+$/.test(src);
}

/** A private copy of the demo farm (with the keys beside it) that a test may change. */
export async function copyDemoFarm(): Promise<{ dir: string; farmFile: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'clk-demo-'));
  await cp(DEMO_FARM_DIR, join(root, 'demo-farm'), { recursive: true, filter: skipTransient });
  await cp(join(REPO, 'fixtures', 'keys'), join(root, 'keys'), { recursive: true }).catch(() => {});
  return {
    dir: join(root, 'demo-farm'),
    farmFile: join(root, 'demo-farm', 'clk-farm.json'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
