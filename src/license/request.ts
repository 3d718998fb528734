// `license request`: reach every farm server at once, gather what SAP binds the license to, and
// write one License.request covering every server that answered (and why the others did not).
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Farm } from '../farm/load.js';
import type { ServerConfig } from '../farm/schema.js';
import type { Transport } from '../farm/transports/transport.js';
import { probeFarm, type ServerProbe } from '../farm/probe.js';
import { buildCommandLine } from '../commandline.js';
import { errorMessage } from '../errors.js';
import { loadTrustedKeys, sha256Hex } from './crypto.js';
import { LicenseError } from './errors.js';
import { buildRequestXml, REQUEST_FORMAT_VERSION, type LicenseRequest, type RequestServer, type UnreachableServer, type VendorAttachment } from './formats.js';
import { readInstalledLicense } from './installed.js';
import { saveRequestCopy, stateDirOf } from './state.js';
import { MAX_LICENSE_BYTES } from './xml.js';

export interface RequestOptions {
  out: string;
  allowPartial?: boolean;
  /** Overwrite an existing output file. */
  force?: boolean;
  signal?: AbortSignal;
  tool?: string;
  onProbe?: (p: ServerProbe) => void;
}

export interface RequestServerRow {
  server: string;
  role: string;
  reachable: boolean;
  expected: boolean;
  reason?: string;
  detail?: string;
  hint?: string;
  fingerprint?: string;
  components?: number;
  version?: string;
  build?: string;
  currentLicense?: string;
  notes: string[];
}

export interface RequestResult {
  written: boolean;
  partial: boolean;
  file?: string;
  journalCopy?: string;
  sha256?: string;
  request: LicenseRequest;
  rows: RequestServerRow[];
  /** Expected servers that could not be reached: each needs its own request later. */
  missing: string[];
}

/** A short, stable label of a server's fingerprint for tables (not used for matching). */
export function fingerprintLabel(hashes: readonly { hash: string }[]): string {
  return sha256Hex(hashes.map((h) => h.hash).sort().join(':')).slice(0, 12);
}

/**
 * The farm file gives a whole command line: PowerShell on Windows, sh on Linux. On Windows it travels
 * as -EncodedCommand (base64 of UTF-16LE), which no cmd.exe or argv quoting rule can alter.
 */
export function vendorCommandLine(platform: 'windows' | 'linux', command: string): { command: string; args: string[] } {
  if (platform === 'linux') return { command: 'sh', args: ['-c', command] };
  return { command: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-EncodedCommand', Buffer.from(command, 'utf16le').toString('base64')] };
}

async function vendorAttachment(t: Transport, server: ServerConfig, notes: string[]): Promise<VendorAttachment | undefined> {
  const loc = server.license;
  if (!loc?.vendorRequestCommand && !loc?.vendorRequestFile) return undefined;
  let stdout: string | undefined;
  if (loc.vendorRequestCommand) {
    const { command, args } = vendorCommandLine(server.platform, loc.vendorRequestCommand);
    try {
      const r = await t.exec(command, args);
      if (r.exitCode !== 0) {
        notes.push(`vendor request command failed (exit ${r.exitCode}): ${buildCommandLine(server.platform, command, args)}: ${r.stderr.trim().slice(0, 200)}`);
        return undefined;
      }
      stdout = r.stdout;
    } catch (err) {
      notes.push(`vendor request command not run: ${errorMessage(err)}`);
      if (!loc.vendorRequestFile) return undefined;
    }
  }
  if (loc.vendorRequestFile) {
    try {
      const bytes = await t.readFile(loc.vendorRequestFile, { maxBytes: MAX_LICENSE_BYTES / 2 });
      return { name: loc.vendorRequestFile.split(/[\\/]/).pop() ?? 'vendor.request', sha256: sha256Hex(bytes), data: bytes.toString('base64') };
    } catch (err) {
      notes.push(`vendor request file not attached: ${errorMessage(err)}`);
      return undefined;
    }
  }
  const bytes = Buffer.from(stdout ?? '', 'utf8');
  return { name: 'vendor-request-output.txt', sha256: sha256Hex(bytes), data: bytes.toString('base64') };
}

export async function createLicenseRequest(farm: Farm, opts: RequestOptions): Promise<RequestResult> {
  const keys = await loadTrustedKeys(farm).catch(() => []);
  const { probes, transports } = await probeFarm(farm, farm.servers, { keepOpen: true, signal: opts.signal, onResult: opts.onProbe });
  const servers: RequestServer[] = [];
  const unreachable: UnreachableServer[] = [];
  const rows: RequestServerRow[] = [];
  try {
    for (const p of probes) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const s = p.server;
      if (!p.reachable || !p.identity) {
        unreachable.push({ name: s.name, role: s.role, expected: s.expected, reason: p.reason ?? 'io', detail: p.error ?? '' });
        rows.push({ server: s.name, role: s.role, reachable: false, expected: s.expected, reason: p.reason, detail: p.error, hint: p.hint, notes: [] });
        continue;
      }
      const t = transports.get(s.name)!;
      const notes = [...p.identity.notes];
      const entry: RequestServer = {
        name: s.name,
        role: s.role,
        platform: s.platform,
        hostname: p.identity.hostname,
        os: p.identity.os,
        version: p.identity.product?.version,
        build: p.identity.product?.build,
        minMatches: Math.min(farm.settings.fingerprintMinMatches, p.identity.fingerprint.length),
        fingerprint: p.identity.fingerprint.map((c) => ({ kind: c.kind, hash: c.hash, source: c.source })),
        notes,
      };
      if (p.identity.productError) notes.push(`version not read: ${p.identity.productError}`);
      if (!s.license) notes.push('no license.path in the farm file: the license cannot be installed here until one is set');
      else {
        const cur = await readInstalledLicense(t, s.license.path, keys);
        if (cur.grant && cur.sha256)
          entry.currentLicense = { licenseId: cur.grant.licenseId, sequence: cur.grant.sequence, notAfter: cur.grant.notAfter, sha256: cur.sha256 };
        else if (cur.problem) notes.push(cur.problem);
        entry.vendorRequest = await vendorAttachment(t, s, notes);
      }
      servers.push(entry);
      rows.push({
        server: s.name,
        role: s.role,
        reachable: true,
        expected: s.expected,
        fingerprint: fingerprintLabel(entry.fingerprint),
        components: entry.fingerprint.length,
        version: entry.version,
        build: entry.build,
        currentLicense: entry.currentLicense ? `${entry.currentLicense.licenseId} #${entry.currentLicense.sequence}` : undefined,
        notes,
      });
    }
  } finally {
    await Promise.all([...transports.values()].map((t) => t.close().catch(() => {})));
  }

  const missing = unreachable.filter((u) => u.expected).map((u) => u.name);
  const expected = farm.servers.filter((s) => s.expected).length;
  const request: LicenseRequest = {
    formatVersion: REQUEST_FORMAT_VERSION,
    requestId: randomUUID(),
    createdAt: new Date().toISOString(),
    tool: opts.tool ?? 'clk-support',
    nonce: randomBytes(32).toString('base64url'),
    coordinator: hostname(),
    customer: { customerNumber: farm.farm.customerNumber, installationNumber: farm.farm.installationNumber, systemId: farm.farm.systemId },
    farm: { name: farm.farm.name, environment: farm.farm.environment, product: farm.farm.product, expectedServers: expected, reachedServers: servers.length, partial: missing.length > 0 },
    servers,
    unreachable,
  };
  const result: RequestResult = { written: false, partial: missing.length > 0, request, rows, missing };
  if (servers.length === 0)
    throw new LicenseError('LICENSE_SERVER_UNREACHABLE', 'No farm server could be reached: nothing to request a license for', 'run `clk-support farm status` to see why each server is unreachable', { servers: unreachable.map((u) => u.name) });
  if (missing.length && !opts.allowPartial) return result;

  const bytes = Buffer.from(buildRequestXml(request), 'utf8');
  await mkdir(dirname(opts.out), { recursive: true });
  // Never overwrite a request an admin may already have sent, unless told to.
  const fh = await open(opts.out, opts.force ? 'w' : 'wx').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST')
      throw new LicenseError('LICENSE_REQUEST_INCOMPLETE', `${opts.out} already exists`, 'pass --out <file> to write elsewhere, or --force to replace it');
    throw err;
  });
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    result.journalCopy = await saveRequestCopy(stateDirOf(farm), request.requestId, bytes);
  } catch (err) {
    await rm(opts.out, { force: true });
    throw err;
  }
  result.written = true;
  result.file = opts.out;
  result.sha256 = sha256Hex(bytes);
  return result;
}
