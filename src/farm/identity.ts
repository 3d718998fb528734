// Who a server is: host name, a stable machine fingerprint, product version and build, OS, clock.
import { createHash } from 'node:crypto';
import { hostname as localHostname, release, type as osType } from 'node:os';
import { readPeVersion } from './pe-version.js';
import { TransportError, type ClockSample, type Transport } from './transports/transport.js';
import type { ServerConfig } from './schema.js';
import { errorMessage } from '../errors.js';
import { compileLinear } from '../pattern.js';

/** Hashed so that a license request or bundle never carries the raw machine GUID. */
export function hashComponent(kind: string, value: string): string {
  return createHash('sha256').update(`clk-support:${kind}:${value.trim().toLowerCase()}`).digest('hex').slice(0, 32);
}

export interface FingerprintComponent {
  kind: 'machine-id' | 'hostname' | 'os-install';
  /** sha256 of the value, truncated to 128 bits. */
  hash: string;
  /** Where the value came from, for the admin reading a request. */
  source: string;
}

export interface ProductVersion {
  /** Full version, e.g. 8.1.15.2207. */
  version: string;
  /** The build number (the last component of the version unless the pattern names one). */
  build: string;
  source: string;
}

export interface ServerIdentity {
  hostname: string;
  fingerprint: FingerprintComponent[];
  os: string;
  product?: ProductVersion;
  /** Why the product version could not be read. */
  productError?: string;
  clock?: ClockSample;
  clockError?: string;
  /** Components that could not be read, and why. */
  notes: string[];
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/**
 * Windows keeps MachineGuid in the registry; over a file share the same GUID is readable as the
 * suffix of the RSA machine key container names (<hash>_<MachineGuid>), which needs no remote registry.
 */
export async function readMachineId(t: Transport): Promise<{ value: string; source: string } | undefined> {
  if (t.platform === 'windows') {
    if (t.kind === 'share') {
      const guid = await readRemoteMachineGuid(t.server).catch(() => undefined);
      if (guid) return { value: guid, source: 'remote registry MachineGuid' };
    } else {
      try {
        const r = await t.exec('reg', ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid']);
        const m = GUID.exec(r.stdout);
        if (r.exitCode === 0 && m) return { value: m[0], source: 'registry MachineGuid' };
      } catch {
        // fall through to the file-based source
      }
    }
    try {
      const entries = await t.list('C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys');
      const counts = new Map<string, number>();
      for (const e of entries) {
        const m = /_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(e.name);
        if (m) counts.set(m[1].toLowerCase(), (counts.get(m[1].toLowerCase()) ?? 0) + 1);
      }
      const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
      if (best) return { value: best[0], source: 'MachineGuid from RSA MachineKeys' };
    } catch {
      // not readable: reported by the caller as a missing component
    }
    return undefined;
  }
  for (const p of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const text = (await t.readFile(p, { maxBytes: 4096 })).toString('utf8').trim();
      if (/^[0-9a-f]{32}$/i.test(text)) return { value: text, source: p };
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export async function readHostname(t: Transport): Promise<string> {
  if (t.kind === 'local') return localHostname();
  if (t.kind === 'ssh') {
    const r = await t.exec('hostname', []);
    const name = r.stdout.trim();
    if (r.exitCode === 0 && name) return name;
  }
  // A share is reached by the server's own name.
  return t.server;
}

async function readOsInstallId(t: Transport): Promise<{ value: string; source: string } | undefined> {
  if (t.kind === 'share') return undefined;
  try {
    if (t.platform === 'windows') {
      const r = await t.exec('reg', ['query', 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', '/v', 'InstallDate']);
      const m = /InstallDate\s+REG_DWORD\s+(0x[0-9a-f]+)/i.exec(r.stdout);
      if (m) return { value: m[1], source: 'registry InstallDate' };
    } else {
      // The root filesystem's UUID survives reboots and renames, and changes with a reinstall.
      const r = await t.exec('findmnt', ['-no', 'UUID', '/']);
      const v = r.stdout.trim();
      if (r.exitCode === 0 && v) return { value: v, source: 'root filesystem UUID' };
    }
  } catch {
    // reported as a missing component
  }
  return undefined;
}

export async function readOs(t: Transport): Promise<string> {
  if (t.platform === 'windows') {
    // The kernel's own version resource names the Windows build, over any transport.
    try {
      const kernel = 'C:\\Windows\\System32\\ntoskrnl.exe';
      const st = await t.stat(kernel);
      const info = await readPeVersion((off, len) => t.readAt(kernel, off, len), st.size);
      const v = info.productVersion ?? info.fixedProductVersion;
      if (v) return `Windows ${windowsName(v)} (${v})`;
    } catch {
      // fall back below
    }
    if (t.kind === 'local') return `${osType()} ${release()}`;
    return 'Windows (version not readable)';
  }
  try {
    const text = (await t.readFile('/etc/os-release', { maxBytes: 64 * 1024 })).toString('utf8');
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(text);
    if (m) return m[1];
  } catch {
    // fall back below
  }
  return t.kind === 'local' ? `${osType()} ${release()}` : 'Linux';
}

/** Windows Server names by kernel build (the ones ClickSoftware farms run on). */
export function windowsName(version: string): string {
  const build = Number(version.split('.')[2]);
  if (build >= 26100) return 'Server 2025';
  if (build >= 20348) return 'Server 2022';
  if (build >= 17763) return 'Server 2019';
  if (build >= 14393) return 'Server 2016';
  if (build >= 9600) return 'Server 2012 R2';
  if (build >= 9200) return 'Server 2012';
  return 'Server';
}

export async function readProductVersion(t: Transport, server: ServerConfig): Promise<ProductVersion> {
  const src = server.version;
  if (!src) throw new Error('no "version" source in the farm file for this server');
  if ('binary' in src) {
    const st = await t.stat(src.binary);
    const info = await readPeVersion((off, len) => t.readAt(src.binary, off, len), st.size);
    const version = info.fixedFileVersion ?? info.fileVersion ?? info.productVersion;
    if (!version) throw new Error(`${src.binary} has no version in its version resource`);
    return { version, build: version.split('.').pop() ?? version, source: src.binary };
  }
  const text = (await t.readFile(src.file, { maxBytes: 1024 * 1024 })).toString('utf8');
  // The file comes from the server: the pattern runs on RE2, linear in the file's size.
  const m = compileLinear(src.pattern, { multiline: true }).exec(text);
  if (!m?.groups?.version) throw new Error(`pattern did not match in ${src.file}`);
  const version = m.groups.version;
  return { version, build: m.groups.build ?? version.split('.').pop() ?? version, source: src.file };
}

export async function readIdentity(t: Transport, server: ServerConfig, opts: { readClock?: boolean } = {}): Promise<ServerIdentity> {
  const notes: string[] = [];
  const host = await readHostname(t);
  const fingerprint: FingerprintComponent[] = [{ kind: 'hostname', hash: hashComponent('hostname', host), source: 'host name' }];
  const [machine, install, os] = await Promise.all([readMachineId(t), readOsInstallId(t), readOs(t)]);
  if (machine) fingerprint.unshift({ kind: 'machine-id', hash: hashComponent('machine-id', machine.value), source: machine.source });
  else notes.push('machine id not readable');
  if (install) fingerprint.push({ kind: 'os-install', hash: hashComponent('os-install', install.value), source: install.source });
  else notes.push(t.kind === 'share' ? 'OS install id not readable over a share' : 'OS install id not readable');

  const identity: ServerIdentity = { hostname: host, fingerprint, os, notes };
  try {
    identity.product = await readProductVersion(t, server);
  } catch (err) {
    identity.productError = errorMessage(err);
  }
  try {
    if (opts.readClock !== false) identity.clock = await t.clock();
  } catch (err) {
    identity.clockError = err instanceof TransportError ? err.message : errorMessage(err);
  }
  return identity;
}

/** Windows only: the registry of a server reached by share, through the remote registry service. */
export function remoteRegQueryArgs(server: string, key: string, value: string): string[] {
  return ['query', `\\\\${server}\\${key}`, '/v', value];
}

export async function readRemoteMachineGuid(server: string): Promise<string | undefined> {
  if (process.platform !== 'win32') return undefined;
  const { execa } = await import('execa'); // loaded when a program is run, not at start-up
  const r = await execa('reg', remoteRegQueryArgs(server, 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', 'MachineGuid'), { reject: false, timeout: 10_000 });
  return GUID.exec(String(r.stdout))?.[0];
}
