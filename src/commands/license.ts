// `license request | apply | rollback | status`: thin wrappers over src/license.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { examples, type App } from '../app.js';
import { ClkError, ExitCode } from '../errors.js';
import { selectServers } from '../farm/load.js';
import type { Io } from '../ui/io.js';
import { renderTable } from '../ui/table.js';
import { statusBadge } from '../ui/badge.js';
import { createLicenseRequest } from '../license/request.js';
import { applyLicense, type ApplyReport } from '../license/apply.js';
import { applyPlan, type ApplyPlan } from '../license/plan.js';
import { rollbackLicense, type RollbackReport } from '../license/rollback.js';
import { licenseStatus } from '../license/status.js';
import { LicenseError } from '../license/errors.js';
import { plural } from '../format.js';

const REQUEST_SCHEMA = 'clk-support/license-request/v1';
/** The error document every command prints under --json (README, "JSON errors"), here with the servers concerned. */
const ERROR_SCHEMA = 'clk-support/error/v1';

/** Refusals whose JSON the command already printed (inside its own result document). */
const reportedInJson = new WeakSet<object>();

/** With --json a refusal is a result too: print it on stdout (one document), then let cli.ts set the exit code. */
async function withJsonErrors(app: App, cmd: Command, command: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (app.globals(cmd).json && err instanceof ClkError && !reportedInJson.has(err))
      app.io(cmd).json({ schema: ERROR_SCHEMA, command, ok: false, error: { code: err.code, message: err.message, hint: err.hint, exitCode: err.exitCode, servers: err instanceof LicenseError ? err.servers : undefined } });
    throw err;
  }
}

export function registerLicenseCommands(program: Command, app: App): void {
  const license = examples(program.command('license').description('the combined farm license: request, apply, roll back, status'), ['clk-support license request', 'clk-support license apply license.response --check', 'clk-support license status --json']);

  examples(
    license
      .command('request')
      .description('probe every farm server and write one License.request covering all that answer')
      .option('-o, --out <file>', 'where to write the request', 'License.request')
      .option('--allow-partial', 'write the request even if an expected server is unreachable (exit 3)', false)
      .option('--force', 'replace an existing output file', false)
      .action(async (opts: { out: string; allowPartial: boolean; force: boolean }, cmd: Command) =>
        withJsonErrors(app, cmd, 'license request', async () => {
          const io = app.io(cmd);
          const farm = await app.farm(cmd);
          const spinner = io.spinner(`Probing ${plural(farm.servers.length, 'server')} of ${farm.farm.name}`);
          let done = 0;
          const result = await createLicenseRequest(farm, {
            out: resolve(app.cwd, opts.out),
            allowPartial: opts.allowPartial,
            force: opts.force,
            signal: app.signal,
            onProbe: () => spinner.update(`Probing servers (${++done}/${farm.servers.length})`),
          }).finally(() => spinner.stop());
          const json = app.globals(cmd).json;
          const refusal = result.written
            ? undefined
            : new LicenseError(
                'LICENSE_REQUEST_INCOMPLETE',
                `Not written: expected server${result.missing.length === 1 ? '' : 's'} ${result.missing.join(', ')} unreachable; a license request must cover every server that is online`,
                'bring the servers back (see `clk-support farm status`), or pass --allow-partial to request for the reachable servers now and for the others separately later',
                { servers: result.missing },
              );
          if (json)
            io.json({
              schema: REQUEST_SCHEMA,
              ok: !refusal,
              error: refusal && { code: refusal.code, message: refusal.message, hint: refusal.hint, servers: refusal.servers },
              written: result.written,
              partial: result.partial,
              file: result.file,
              sha256: result.sha256,
              journalCopy: result.journalCopy,
              requestId: result.request.requestId,
              covered: result.request.servers.map((s) => s.name),
              unreachable: result.request.unreachable,
              missing: result.missing,
              servers: result.rows,
            });
          else {
            io.out(
              renderTable(result.rows, [
                { header: 'SERVER', value: (r) => r.server },
                { header: 'ROLE', value: (r) => r.role },
                { header: 'STATUS', value: (r) => statusBadge(io, r.reachable ? 'covered' : r.expected ? 'unreachable' : 'not-expected') },
                { header: 'FINGERPRINT', value: (r) => (r.fingerprint ? `${r.fingerprint} (${r.components})` : '') },
                { header: 'VERSION', value: (r) => r.version ?? '' },
                { header: 'CURRENT LICENSE', value: (r) => r.currentLicense ?? (r.reachable ? 'none' : '') },
                { header: 'REASON', value: (r) => (r.reachable ? '' : `${r.reason}`) },
              ]),
            );
            for (const r of result.rows) for (const n of r.notes) io.debug(`${r.server}: ${n}`);
          }
          if (refusal) {
            if (json) reportedInJson.add(refusal);
            throw refusal;
          }
          if (!json) {
            io.success(`Request ${result.request.requestId} written to ${result.file} (sha256 ${result.sha256!.slice(0, 16)}...), covering ${result.request.servers.length} server${result.request.servers.length === 1 ? '' : 's'}`);
            io.info(`Kept a copy in ${result.journalCopy}: apply the response from this state folder.`);
            io.info('Next: send the file to SAP in an incident on component XX-PART-CLK-LKY, then run `clk-support license apply <response>`.');
          }
          if (result.partial) {
            io.warn(`${result.missing.join(', ')} ${result.missing.length === 1 ? 'is' : 'are'} not in this request: run \`clk-support license request\` again when ${result.missing.length === 1 ? 'it is' : 'they are'} back, and request separately`);
            app.report(ExitCode.partial);
          }
        }),
      ),
    [
      'clk-support license request',
      'clk-support --farm fixtures/demo-farm/clk-farm.json license request --allow-partial --out /tmp/License.request',
      'clk-support license request --json --allow-partial',
    ],
  );

  examples(
    license
      .command('apply')
      .description('verify a signed license response and install it on every covered server (all or none)')
      .argument('<file>', 'the license response (license.response)')
      .option('--check', 'run every check, change nothing', false)
      .option('--allow-downgrade', 'accept a response older than the installed license', false)
      .option('--allow-partial', 'install on the reachable covered servers even if one is down (exit 3)', false)
      .option('-s, --server <name...>', 'only these covered servers')
      .option('--break-lock', 'also take over a lock held from another machine (a dead or expired owner\'s lock is cleaned without it)', false)
      .action(
        async (file: string, opts: { check: boolean; allowDowngrade: boolean; allowPartial: boolean; server?: string[]; breakLock: boolean }, cmd: Command) =>
          withJsonErrors(app, cmd, 'license apply', async () => {
            const io = app.io(cmd);
            const farm = await app.farm(cmd);
            if (opts.server) selectServers(farm, opts.server);
            const path = resolve(app.cwd, file);
            // Verify first (no writes), then confirm, then install.
            const spinner = io.spinner('Checking the license response');
            const checked = await applyLicense(farm, path, { ...opts, servers: opts.server, check: true, logRefusal: !opts.check, signal: app.signal, onStep: (s) => spinner.update(s) }).finally(() => spinner.stop());
            let report: ApplyReport = checked;
            if (!app.globals(cmd).json && checked.outcome !== 'already-applied') renderPlan(io, applyPlan(checked));
            if (!opts.check && checked.outcome !== 'already-applied') {
              const targets = checked.servers.filter((s) => s.action === 'would-install').map((s) => s.server);
              const ok = await io.confirm(`Install license ${checked.license.licenseId} (sequence ${checked.license.sequence}) on ${targets.join(', ')}?`, { flag: '--yes' });
              if (!ok) {
                io.info('Nothing was changed.');
                app.report(ExitCode.failed);
                return;
              }
              const s2 = io.spinner('Installing');
              report = await applyLicense(farm, path, { ...opts, servers: opts.server, signal: app.signal, onStep: (s) => s2.update(s) }).finally(() => s2.stop());
            }
            renderApply(io, report, app.globals(cmd).json);
            if (report.outcome === 'partial') app.report(ExitCode.partial);
          }),
      ),
    [
      'clk-support license apply license.response --check',
      'clk-support license apply license.response --yes',
      'clk-support --farm fixtures/demo-farm/clk-farm.json license apply /tmp/license.response --yes --json',
    ],
  );

  examples(
    license
      .command('rollback')
      .description('restore the license each server had before the last apply (from the backup beside it)')
      .option('--check', 'show what would be restored, change nothing', false)
      .option('-s, --server <name...>', 'only these servers')
      .option('--force', 'roll back even where the installed license is not what the last apply installed (it is backed up first)', false)
      .option('--break-lock', 'also take over a lock held from another machine (a dead or expired owner\'s lock is cleaned without it)', false)
      .action(async (opts: { check: boolean; server?: string[]; breakLock: boolean; force: boolean }, cmd: Command) =>
        withJsonErrors(app, cmd, 'license rollback', async () => {
          const io = app.io(cmd);
          const farm = await app.farm(cmd);
          if (opts.server) selectServers(farm, opts.server);
          if (!opts.check) {
            // Before a person is asked, the plan (every check, nothing written), as apply shows one.
            // With --yes nobody is asked: the run itself reports (and cleans stale locks, which a check never does).
            if (io.canPrompt && !io.yes && !app.globals(cmd).json)
              renderRollbackPlan(io, await rollbackLicense(farm, { check: true, servers: opts.server, breakLock: opts.breakLock, force: opts.force, signal: app.signal }));
            const ok = await io.confirm('Restore the license each server had before the last apply?', { flag: '--yes' });
            if (!ok) {
              io.info('Nothing was changed.');
              app.report(ExitCode.failed);
              return;
            }
          }
          const report = await rollbackLicense(farm, { check: opts.check, servers: opts.server, breakLock: opts.breakLock, force: opts.force, signal: app.signal });
          if (app.globals(cmd).json) io.json(report);
          else if (report.check) {
            renderRollbackPlan(io, report);
            for (const w of report.warnings) io.warn(w);
            const would = report.servers.filter((x) => x.action === 'would-restore' || x.action === 'would-remove').length;
            io.success(`Nothing was changed (--check): ${plural(would, 'server')} would be rolled back${report.licenseId ? ` from ${report.licenseId}` : ''}`);
          } else {
            io.out(
              renderTable(report.servers, [
                { header: 'SERVER', value: (r) => r.server },
                { header: 'ACTION', value: (r) => r.action },
                { header: 'FROM', value: (r) => r.backupPath ?? '' },
                { header: 'DETAIL', value: (r) => r.detail ?? '' },
              ]),
            );
            for (const w of report.warnings) io.warn(w);
            if (!report.check) io.success(`Rolled back${report.licenseId ? ` the apply of ${report.licenseId}` : ''} (${report.source})`);
            else {
              const would = report.servers.filter((s) => s.action === 'would-restore' || s.action === 'would-remove').length;
              io.success(`Nothing was changed (--check): ${plural(would, 'server')} would be rolled back${report.licenseId ? ` from ${report.licenseId}` : ''}`);
            }
          }
          if (report.servers.some((s) => s.action === 'skipped-unreachable')) app.report(ExitCode.partial);
        }),
      ),
    ['clk-support license rollback --check', 'clk-support license rollback --yes', 'clk-support license rollback --server APP01 --yes'],
  );

  examples(
    license
      .command('status')
      .description('per server: license id, covered or not, expiry, fingerprint match, signature')
      .option('-s, --server <name...>', 'only these servers')
      .action(async (opts: { server?: string[] }, cmd: Command) =>
        withJsonErrors(app, cmd, 'license status', async () => {
          const io = app.io(cmd);
          const farm = await app.farm(cmd);
          const servers = selectServers(farm, opts.server);
          const spinner = io.spinner(`Reading the license on ${plural(servers.length, 'server')}`);
          const report = await licenseStatus(farm, { servers, signal: app.signal }).finally(() => spinner.stop());
          if (app.globals(cmd).json) io.json(report);
          else {
            io.out(
              renderTable(report.servers, [
                { header: 'SERVER', value: (r) => r.server },
                { header: 'REACHABLE', value: (r) => statusBadge(io, r.reachable ? 'reachable' : 'unreachable') },
                { header: 'LICENSE', value: (r) => (r.licenseId && (r.installed || r.covered) ? `${r.licenseId} #${r.sequence}` : '') },
                { header: 'INSTALLED', value: (r) => (r.reachable ? (r.installed ? 'yes' : 'no') : '') },
                { header: 'COVERED', value: (r) => (r.licenseId ? statusBadge(io, r.covered ? 'covered' : 'not-covered') : '') },
                { header: 'EXPIRES', value: (r) => (r.expires && (r.installed || r.covered) ? `${r.expires.slice(0, 10)} (${r.daysLeft} d)` : '') },
                { header: 'FINGERPRINT', value: (r) => (r.fingerprintMatch === undefined ? '' : statusBadge(io, r.fingerprintMatch ? 'match' : 'mismatch')) },
                { header: 'SIGNATURE', value: (r) => (r.signatureValid === undefined ? '' : statusBadge(io, r.signatureValid ? 'valid' : 'invalid')) },
              ]),
            );
            for (const r of report.servers) for (const p of r.problems) io.warn(`${r.server}: ${p}`);
            for (const w of report.warnings) io.warn(w);
          }
          const bad = report.servers.some((r) => r.reachable && (r.problems.length > 0));
          if (bad) app.report(ExitCode.failed);
          else if (report.servers.some((r) => !r.reachable) || report.warnings.length) app.report(ExitCode.partial);
        }),
      ),
    ['clk-support license status', 'clk-support --farm fixtures/demo-farm/clk-farm.json license status --json', 'clk-support license status --server APP01'],
  );
}

/** What rollback will do per server (from a --check pass): restore from which backup, and that what it replaces is kept. */
function renderRollbackPlan(io: Io, r: RollbackReport): void {
  io.out(`Plan: roll back${r.licenseId ? ` the apply of ${r.licenseId}` : ''} (${r.source === 'local-record' ? 'from this machine\'s record of it' : 'from the newest backups on the servers'})`);
  io.table(r.servers, [
    { header: 'SERVER', value: (x) => x.server },
    { header: 'CHANGE', value: (x) => (x.action === 'would-remove' ? 'would-remove (there was none before)' : x.action) },
    { header: 'FROM', value: (x) => x.backupPath ?? '', free: true },
    { header: 'BACKUP', value: (x) => (x.action === 'would-restore' || x.action === 'would-remove' ? 'the current license, beside it, before writing' : '-') },
  ]);
  io.out('');
}

/** The plan, as terraform shows one: what each server has, what it will have, what is backed up. */
function renderPlan(io: Io, plan: ApplyPlan): void {
  io.out(`Plan: ${plan.license}`);
  io.table(plan.rows, [
    { header: 'SERVER', value: (r) => r.server },
    { header: 'NOW', value: (r) => r.current },
    { header: 'VALID UNTIL', value: (r) => r.currentValidUntil?.slice(0, 10) ?? '' },
    { header: 'CHANGE', value: (r) => r.change },
    { header: 'AFTER', value: (r) => r.next },
    { header: 'BACKUP', value: (r) => r.backup, free: true },
  ]);
  if (plan.notCovered.length) io.out(`Not covered by this response (need a request of their own): ${plan.notCovered.join(', ')}`);
  io.out('');
}

function renderApply(io: Io, r: ApplyReport, json: boolean): void {
  if (json) {
    io.json({ ...r, plan: applyPlan(r) });
    return;
  }
  io.table(r.servers, [
    { header: 'SERVER', value: (s) => s.server },
    { header: 'REACHABLE', value: (s) => statusBadge(io, s.reachable ? 'reachable' : 'unreachable') },
    { header: 'FINGERPRINT', value: (s) => (s.fingerprintMatch === undefined ? '' : statusBadge(io, s.fingerprintMatch ? 'match' : 'mismatch')) },
    { header: 'ADMIN', value: (s) => (s.admin === undefined ? '' : s.admin ? 'yes' : 'no') },
    { header: 'PREVIOUS', value: (s) => (s.previous ? (s.previous.licenseId ? `${s.previous.licenseId} #${s.previous.sequence}` : 'not genuine') : 'none') },
    { header: 'ACTION', value: (s) => s.action ?? '' },
    { header: 'BACKUP', value: (s) => s.backupPath ?? '', free: true },
  ]);
  for (const w of r.warnings) io.warn(w);
  const l = r.license;
  const what = `license ${l.licenseId} (sequence ${l.sequence}, key ${l.keyId}, valid until ${l.notAfter}, ${plural(l.daysLeft, 'day')})`;
  if (r.outcome === 'already-applied') io.success(`Nothing to do: ${what} is already installed on every covered server`);
  else if (r.outcome === 'checked') io.success(`All checks passed for ${what}; nothing was changed (--check)`);
  else if (r.outcome === 'partial') io.warn(`Installed ${what} on the reachable covered servers only (apply ${r.applyId})`);
  else io.success(`Installed ${what} on ${r.servers.filter((s) => s.action === 'installed').map((s) => s.server).join(', ')} (apply ${r.applyId})`);
}
