// License checks per server: installed and genuine, covering the server (and its fingerprint),
// not expiring soon. The farm's license report is computed once and shared.
import { licenseStatus, type LicenseStatusReport, type ServerLicenseStatus } from '../../license/status.js';
import type { ServerConfig } from '../../farm/schema.js';
import type { Transport } from '../../farm/transports/transport.js';
import { ClkError } from '../../errors.js';
import { unreachableOutcome, type CheckContext } from '../context.js';
import type { Outcome, ServerCheck } from '../types.js';
import { probeBudgetMs } from './farm.js';
import { plural } from '../../format.js';

type Report = { report?: LicenseStatusReport; error?: { message: string; hint?: string } };

/** The license report of the reachable servers, over the transports the probes opened. */
export function farmLicenseReport(ctx: CheckContext): Promise<Report> {
  return ctx.shared('license-status', async (): Promise<Report> => {
    const farm = ctx.loadedFarm;
    const reached = await Promise.all(ctx.servers.map((s) => ctx.reach(s)));
    const transports = new Map<string, Transport>();
    const servers: ServerConfig[] = [];
    for (const r of reached) {
      if (!r.transport) continue;
      transports.set(r.probe.server.name, r.transport);
      servers.push(r.probe.server);
    }
    if (servers.length === 0) return { report: undefined };
    try {
      return { report: await licenseStatus(farm, { servers, transports, now: ctx.now() }) };
    } catch (err) {
      // A broken trusted-key setting is the user's to fix, and fails each license check with it.
      if (err instanceof ClkError) return { error: { message: err.message, hint: err.hint } };
      throw err;
    }
  });
}

/** This server's row, or the outcome that says why there is none. */
async function licenseRow(ctx: CheckContext, server: ServerConfig): Promise<ServerLicenseStatus | Outcome> {
  const probe = await ctx.probe(server);
  if (!probe.reachable) return unreachableOutcome(probe);
  const { report, error } = await farmLicenseReport(ctx);
  if (error) return { status: 'fail', message: `license not checked: ${error.message}`, hint: error.hint };
  const row = report?.servers.find((r) => r.server === server.name);
  // Reachable but absent from the report (its transport closed in between): it was not looked at.
  if (!row) return { status: 'error', message: `could not check: ${server.name} is not in the farm's license report` };
  return row;
}

function isOutcome(x: ServerLicenseStatus | Outcome): x is Outcome {
  return 'status' in x;
}

const licenseConfigured = (_ctx: CheckContext, server: ServerConfig) => Boolean(server.license) || `no license.path for ${server.name} in the farm file`;

export const licenseInstalledCheck: ServerCheck = {
  scope: 'server',
  id: 'license.installed',
  group: 'license',
  title: 'License installed and genuine (signed by a trusted key)',
  severity: 'error',
  timeoutMs: probeBudgetMs,
  hint: 'request a license for the farm (clk-support license request) and apply the signed response (clk-support license apply)',
  applies: licenseConfigured,
  async run(ctx, server): Promise<Outcome> {
    const row = await licenseRow(ctx, server);
    if (isOutcome(row)) return row;
    const path = server.license!.path;
    if (!row.installed) return { status: 'fail', message: `no license installed at ${path}` };
    if (row.signatureValid !== true) return { status: 'fail', message: row.problems.find((p) => /installed license|cannot read/.test(p)) ?? 'the installed license is not genuine', details: row.problems };
    return { status: 'pass', message: `license ${row.licenseId ?? '?'} (sequence ${row.sequence ?? '?'}) signed by "${row.keyId}"`, details: [`${path}`, `sha256 ${row.sha256 ?? '?'}`] };
  },
};

export const licenseCoveredCheck: ServerCheck = {
  scope: 'server',
  id: 'license.covered',
  group: 'license',
  title: 'License covers the server and its fingerprint matches',
  severity: 'error',
  timeoutMs: probeBudgetMs,
  hint: 'a server added to the farm or rebuilt needs a new license: run clk-support license request for the whole farm',
  applies: licenseConfigured,
  async run(ctx, server): Promise<Outcome> {
    const row = await licenseRow(ctx, server);
    if (isOutcome(row)) return row;
    // No genuine license anywhere on the farm: the server is not covered (not "nothing to check").
    if (!row.licenseId) return { status: 'fail', message: `not covered: no genuine license on the farm applies to ${server.name} (see license.installed[${server.name}])`, details: row.problems };
    if (!row.covered) return { status: 'fail', message: `not covered by license ${row.licenseId}`, details: row.problems };
    if (row.fingerprintMatch === false) return { status: 'fail', message: `fingerprint does not match license ${row.licenseId}`, details: row.problems };
    return { status: 'pass', message: `covered by license ${row.licenseId}${row.fingerprintMatch ? ', fingerprint matches' : ''}` };
  },
};

export const licenseExpiryCheck: ServerCheck = {
  scope: 'server',
  id: 'license.expiry',
  group: 'license',
  title: 'License not expired nor expiring soon',
  severity: 'error',
  timeoutMs: probeBudgetMs,
  hint: 'request a renewal in time (clk-support license request) and apply the response',
  applies: licenseConfigured,
  async run(ctx, server): Promise<Outcome> {
    const row = await licenseRow(ctx, server);
    if (isOutcome(row)) return row;
    if (!row.licenseId || !row.expires || row.daysLeft === undefined)
      return { status: 'error', message: `could not check: no genuine license on the farm applies to ${server.name} (see license.installed[${server.name}])`, details: row.problems };
    const warnDays = ctx.loadedFarm.settings.licenseExpiryWarnDays;
    return judgeExpiry(row.licenseId, row.expires, row.daysLeft, warnDays, ctx.now());
  },
};

/** Expired: fail; within the warning window: warn. */
export function judgeExpiry(licenseId: string, expires: string, daysLeft: number, warnDays: number, now: Date): Outcome {
  if (Date.parse(expires) < now.getTime()) return { status: 'fail', message: `license ${licenseId} expired on ${expires}` };
  if (daysLeft < warnDays) return { status: 'warn', message: `license ${licenseId} expires in ${plural(daysLeft, 'day')} (${expires}; warning below ${plural(warnDays, 'day')})` };
  return { status: 'pass', message: `license ${licenseId} valid until ${expires} (${plural(daysLeft, 'day')} left)` };
}

export const licenseChecks = [licenseInstalledCheck, licenseCoveredCheck, licenseExpiryCheck];
