// Shared by the bundle tests: temp dirs, the demo farm's planted secrets, zip tools.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_SERVERS_DIR = join(REPO, 'fixtures', 'demo-farm', 'servers');
export const EVTX_FIXTURES = join(REPO, 'fixtures', 'evtx');

export const PLANTED_SECRETS = ['Sql-Demo-Pa55w0rd!', 'Integr8-Pa55', 'tok_live_4f9a8b7c6d5e4f3a2b1c', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'Ldap-Bind-S3cret'];

export const run = promisify(execFile);

export async function tempDir(prefix = 'clk-bundle-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function have(tool: string): boolean {
  return ['/usr/bin', '/bin', '/usr/local/bin'].some((d) => existsSync(join(d, tool)));
}

/** `unzip -t` and `7z t` both accept the file (each only when installed). */
export async function zipToolsAccept(file: string): Promise<{ unzip?: string; sevenZip?: string }> {
  const out: { unzip?: string; sevenZip?: string } = {};
  if (have('unzip')) out.unzip = (await run('unzip', ['-t', file], { maxBuffer: 64 << 20 })).stdout;
  if (have('7z')) out.sevenZip = (await run('7z', ['t', file], { maxBuffer: 64 << 20 })).stdout;
  return out;
}

/** Every file of a zip, decompressed, through `unzip -p` (an independent reader). */
export async function unzipAll(file: string): Promise<Buffer> {
  const r = await run('unzip', ['-p', file], { encoding: 'buffer', maxBuffer: 512 << 20 });
  return r.stdout as unknown as Buffer;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
