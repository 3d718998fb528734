// Running the built CLI the way a user does, and writing farm files for servers reached over SSH.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/clk-support.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawn `node bin/clk-support.js ...args` without colour, as CI would; never blocks the event loop. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number; nodeArgs?: string[] } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, NO_COLOR: '1', CI: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export interface SshServerSpec {
  name: string;
  role?: string;
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHosts: string;
  /** Absolute folder holding this server's ClickSoftware-like tree. */
  root: string;
  extra?: Record<string, unknown>;
}

/** A linux server entry whose every path lies inside its own tree. */
export function sshServerEntry(s: SshServerSpec): Record<string, unknown> {
  return {
    name: s.name,
    role: s.role ?? 'application',
    platform: 'linux',
    transport: { type: 'ssh', host: s.host, port: s.port, user: s.user, identityFile: s.identityFile, knownHosts: s.knownHosts },
    installRoot: `${s.root}/opt/clk`,
    version: { file: `${s.root}/opt/clk/version.txt`, pattern: 'Version=(?<version>\\d+\\.\\d+\\.\\d+\\.(?<build>\\d+))' },
    ...s.extra,
  };
}

export function farmFile(servers: Record<string, unknown>[], settings: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    formatVersion: 1,
    farm: { name: 'Test farm over SSH', customerNumber: '1234567', installationNumber: '0020123456', systemId: 'FST', environment: 'test' },
    settings: { connectTimeoutMs: 3000, timeoutMs: 15000, concurrency: 8, ...settings },
    ...extra,
    servers,
  };
}
