// A private demo farm with the older demo license installed, the CLI and the test signer.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { copyDemoFarm, REPO, runCli, type RunResult } from '../support/cli.js';

const run = promisify(execFile);
export const SIGNER = join(REPO, 'test', 'tools', 'sign-response.mjs');
export const COVERED = ['APP01', 'SCHED01', 'INT01'] as const;
export const SERVER_DIRS: Record<string, string> = { APP01: 'app01', SCHED01: 'sched01', INT01: 'int01', WEB01: 'web01' };
export const LICENSE_REL = ['c$', 'Program Files', 'ClickSoftware', 'Service Optimization', 'License'];

export interface LicenseFarm {
  dir: string;
  farmFile: string;
  root: string;
  cli(args: string[], opts?: { env?: Record<string, string> }): Promise<RunResult>;
  licenseDir(server: string): string;
  licenseFile(server: string): string;
  /** The license bytes of every covered server (undefined when none). */
  snapshot(): Promise<Record<string, Buffer | undefined>>;
  /** Make a request (--allow-partial: WEB01 is down) and return its path. */
  request(name?: string): Promise<string>;
  sign(requestFile: string, out: string, args?: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

export async function licenseFarm(opts: { demoLicense?: boolean } = {}): Promise<LicenseFarm> {
  const copy = await copyDemoFarm();
  const root = join(copy.dir, '..');
  if (opts.demoLicense !== false) await run(process.execPath, [join(REPO, 'tools', 'make-demo-license.mjs'), '--farm-dir', copy.dir]);
  const licenseDir = (s: string) => join(copy.dir, 'servers', SERVER_DIRS[s], ...LICENSE_REL);
  const f: LicenseFarm = {
    dir: copy.dir,
    farmFile: copy.farmFile,
    root,
    cli: (args, o = {}) => runCli(['--farm', copy.farmFile, ...args], { cwd: root, env: o.env }),
    licenseDir,
    licenseFile: (s) => join(licenseDir(s), 'License.xml'),
    async snapshot() {
      const out: Record<string, Buffer | undefined> = {};
      for (const s of COVERED) out[s] = await readFile(f.licenseFile(s)).catch(() => undefined);
      return out;
    },
    async request(name = 'License.request') {
      const r = await f.cli(['license', 'request', '--allow-partial', '--out', join(root, name)]);
      expect(r.exitCode, r.stderr).toBe(3);
      return join(root, name);
    },
    async sign(requestFile, out, args = []) {
      const target = join(root, out);
      await run(process.execPath, [SIGNER, '--request', requestFile, '--out', target, ...args]);
      return target;
    },
    cleanup: copy.cleanup,
  };
  return f;
}

/** Run `license apply --json` and return the exit code and the error code it printed. */
export async function applyJson(f: LicenseFarm, file: string, extra: string[] = []): Promise<{ exitCode: number; code?: string; json: Record<string, unknown>; stderr: string }> {
  const r = await f.cli(['--json', 'license', 'apply', file, '--yes', ...extra]);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // no JSON: the assertion on code shows stderr
  }
  const err = json.error as { code?: string } | undefined;
  return { exitCode: r.exitCode, code: err?.code, json, stderr: r.stderr };
}
