// What license each server has, whether it covers the server, when it expires and whether the
// server still matches the fingerprint it was licensed for. Used by `license status` and `check`.
import type { Farm } from '../farm/load.js';
import type { ServerConfig } from '../farm/schema.js';
import type { Transport } from '../farm/transports/transport.js';
import { readIdentity, type ServerIdentity } from '../farm/identity.js';
import { probeFarm } from '../farm/probe.js';
import { errorMessage } from '../errors.js';
import { loadTrustedKeys } from './crypto.js';
import { matchFingerprint, explainMismatch } from './fingerprint.js';
import { readInstalledLicense, type InstalledLicense } from './installed.js';
import type { LicenseGrant } from './formats.js';
import { plural } from '../format.js';

export const LICENSE_STATUS_SCHEMA = 'clk-support/license-status/v1';

export interface ServerLicenseStatus {
  server: string;
  reachable: boolean;
  /** Why the server could not be reached. */
  reason?: string;
  installed: boolean;
  licenseId?: string;
  sequence?: number;
  /** notAfter of the license that applies to this server. */
  expires?: string;
  daysLeft?: number;
  covered: boolean;
  fingerprintMatch?: boolean;
  signatureValid?: boolean;
  keyId?: string;
  sha256?: string;
  problems: string[];
}

export interface LicenseStatusReport {
  schema: typeof LICENSE_STATUS_SCHEMA;
  farm: string;
  checkedAt: string;
  /** The newest genuine license found on the farm: the one every server should carry. */
  current?: { licenseId: string; sequence: number; notAfter: string; covers: string[] };
  servers: ServerLicenseStatus[];
  /** Farm-level warnings (servers not covered, different licenses on different servers). */
  warnings: string[];
}

export interface LicenseStatusOptions {
  servers?: readonly ServerConfig[];
  signal?: AbortSignal;
  /** Transports already open (from an earlier probe); servers missing here count as unreachable unless probed. */
  transports?: Map<string, Transport>;
  now?: Date;
}

const DAY_MS = 86_400_000;

export async function licenseStatus(farm: Farm, opts: LicenseStatusOptions = {}): Promise<LicenseStatusReport> {
  const now = opts.now ?? new Date();
  const servers = opts.servers ?? farm.servers;
  const keys = await loadTrustedKeys(farm);

  interface Seen {
    server: ServerConfig;
    reachable: boolean;
    reason?: string;
    identity?: ServerIdentity;
    identityError?: string;
    installed?: InstalledLicense;
  }
  const seen: Seen[] = [];
  const ownTransports = new Map<string, Transport>();
  try {
    let probes: { server: ServerConfig; reachable: boolean; reason?: string; identity?: ServerIdentity }[];
    if (opts.transports) {
      probes = [];
      const missing = servers.filter((s) => !opts.transports!.has(s.name));
      for (const s of servers.filter((x) => opts.transports!.has(x.name))) {
        try {
          probes.push({ server: s, reachable: true, identity: await readIdentity(opts.transports.get(s.name)!, s) });
        } catch (err) {
          probes.push({ server: s, reachable: false, reason: errorMessage(err) });
        }
      }
      if (missing.length) {
        const p = await probeFarm(farm, missing, { keepOpen: true, signal: opts.signal });
        p.transports.forEach((t, n) => ownTransports.set(n, t));
        probes.push(...p.probes.map((x) => ({ server: x.server, reachable: x.reachable, reason: x.reason, identity: x.identity })));
      }
    } else {
      const p = await probeFarm(farm, servers, { keepOpen: true, signal: opts.signal });
      p.transports.forEach((t, n) => ownTransports.set(n, t));
      probes = p.probes.map((x) => ({ server: x.server, reachable: x.reachable, reason: x.reason, identity: x.identity }));
    }
    for (const p of probes) {
      const s: Seen = { server: p.server, reachable: p.reachable, reason: p.reason, identity: p.identity };
      const t = opts.transports?.get(p.server.name) ?? ownTransports.get(p.server.name);
      if (p.reachable && t && p.server.license) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        s.installed = await readInstalledLicense(t, p.server.license.path, keys);
      }
      seen.push(s);
    }
  } finally {
    await Promise.all([...ownTransports.values()].map((t) => t.close().catch(() => {})));
  }
  // Keep the farm file's order.
  seen.sort((a, b) => servers.indexOf(a.server) - servers.indexOf(b.server));

  const genuine = seen.map((s) => s.installed?.grant).filter((g): g is LicenseGrant => Boolean(g));
  const current = genuine.sort((a, b) => b.sequence - a.sequence)[0];
  const covers = (g: LicenseGrant | undefined, name: string) => Boolean(g?.covered.some((c) => c.name.toLowerCase() === name.toLowerCase()));
  const warnDays = farm.settings.licenseExpiryWarnDays;

  const rows: ServerLicenseStatus[] = seen.map((s) => {
    const problems: string[] = [];
    const own = s.installed?.grant;
    // A server without its own copy is judged by the farm's current license.
    const applicable = own ?? current;
    const row: ServerLicenseStatus = {
      server: s.server.name,
      reachable: s.reachable,
      reason: s.reason,
      installed: Boolean(s.installed?.present),
      covered: covers(applicable, s.server.name),
      problems,
    };
    if (!s.reachable) problems.push(`unreachable${s.reason && s.reason !== 'unreachable' ? ` (${s.reason})` : ''}: license not checked`);
    else if (!s.server.license) problems.push('no license.path for this server in the farm file');
    else if (!s.installed?.present) problems.push('no license installed');
    if (s.installed?.problem) problems.push(s.installed.problem);
    if (s.installed) {
      row.signatureValid = s.installed.signatureValid;
      row.keyId = s.installed.keyId;
      row.sha256 = s.installed.sha256;
    }
    if (applicable) {
      row.licenseId = applicable.licenseId;
      row.sequence = applicable.sequence;
      row.expires = applicable.notAfter;
      const end = Date.parse(applicable.notAfter);
      row.daysLeft = Math.floor((end - now.getTime()) / DAY_MS);
      if (end < now.getTime()) problems.push(`license ${applicable.licenseId} expired on ${applicable.notAfter}`);
      else if (row.daysLeft < warnDays) problems.push(`license ${applicable.licenseId} expires in ${plural(row.daysLeft, 'day')} (${applicable.notAfter})`);
      if (Date.parse(applicable.notBefore) > now.getTime()) problems.push(`license ${applicable.licenseId} is not valid before ${applicable.notBefore}`);
      // An unreachable uncovered server is reported once, in the farm-level warning.
      if (!row.covered && s.reachable) problems.push(`not covered by license ${applicable.licenseId} (covers ${applicable.covered.map((c) => c.name).join(', ')})`);
      if (own && current && own.sequence < current.sequence)
        problems.push(`carries an older license (${own.licenseId}, sequence ${own.sequence}) than the farm's current one (${current.licenseId}, sequence ${current.sequence})`);
      const entry = applicable.covered.find((c) => c.name.toLowerCase() === s.server.name.toLowerCase());
      if (entry && s.identity) {
        const m = matchFingerprint(entry, s.identity.fingerprint);
        row.fingerprintMatch = m.match;
        if (!m.match) problems.push(`fingerprint does not match the license: ${explainMismatch(m)}`);
      }
    }
    return row;
  });

  const warnings: string[] = [];
  if (current) {
    const uncovered = farm.servers.filter((s) => !covers(current, s.name)).map((s) => s.name);
    if (uncovered.length)
      warnings.push(`${uncovered.join(', ')} ${uncovered.length === 1 ? 'is' : 'are'} in the farm file but not covered by license ${current.licenseId}: request a license from ${uncovered.length === 1 ? 'it' : 'them'} separately`);
    const ids = new Set(genuine.map((g) => `${g.licenseId}#${g.sequence}`));
    if (ids.size > 1) warnings.push(`servers carry different licenses (${[...ids].join(', ')}): apply ${current.licenseId} again to bring them in line`);
  } else if (seen.some((s) => s.reachable)) {
    warnings.push('no genuine license found on any reachable server');
  }
  return {
    schema: LICENSE_STATUS_SCHEMA,
    farm: farm.farm.name,
    checkedAt: now.toISOString(),
    current: current ? { licenseId: current.licenseId, sequence: current.sequence, notAfter: current.notAfter, covers: current.covered.map((c) => c.name) } : undefined,
    servers: rows,
    warnings,
  };
}
