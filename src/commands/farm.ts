import type { Command } from 'commander';
import { examples, type App } from '../app.js';
import { ExitCode } from '../errors.js';
import { selectServers } from '../farm/load.js';
import { assessFarm, probeFarm, unreachableText, type ServerProbe } from '../farm/probe.js';
import { renderTable } from '../ui/table.js';
import { formatOffset } from '../format.js';
import { statusBadge } from '../ui/badge.js';

export function registerFarmCommands(program: Command, app: App): void {
  const farm = program.command('farm').description('the farm file and the servers in it');

  examples(
    farm
      .command('status')
      .description('probe every server: reachable or why not, role, version/build, clock offset')
      .option('-s, --server <name...>', 'only these servers')
      .option('--concurrency <n>', 'servers probed at once', (v) => Number.parseInt(v, 10))
      .action(async (opts: { server?: string[]; concurrency?: number }, cmd: Command) => {
        const io = app.io(cmd);
        const f = await app.farm(cmd);
        const servers = selectServers(f, opts.server);
        const spinner = io.spinner(`Probing ${servers.length} server${servers.length === 1 ? '' : 's'} of ${f.farm.name}`);
        let done = 0;
        const { probes } = await probeFarm(f, servers, {
          concurrency: opts.concurrency,
          signal: app.signal,
          onResult: () => spinner.update(`Probing servers (${++done}/${servers.length})`),
        });
        spinner.stop();
        const findings = assessFarm(f, probes);
        if (app.globals(cmd).json) {
          io.json({
            schema: 'clk-support/farm-status/v1',
            farm: { name: f.farm.name, systemId: f.farm.systemId, environment: f.farm.environment, file: f.file },
            servers: probes.map(probeJson),
            findings,
          });
        } else {
          io.out(renderTable(probes, [
            { header: 'SERVER', value: (p) => p.server.name },
            { header: 'ROLE', value: (p) => p.server.role },
            { header: 'VIA', value: (p) => p.server.transport.type },
            { header: 'STATUS', value: (p) => statusBadge(io, p.reachable ? 'reachable' : 'unreachable') },
            { header: 'VERSION', value: (p) => p.identity?.product?.version ?? (p.reachable ? '?' : '') },
            { header: 'BUILD', value: (p) => p.identity?.product?.build ?? '' },
            { header: 'CLOCK', value: (p) => (p.identity?.clock ? formatOffset(p.identity.clock.offsetMs) : p.reachable ? '?' : ''), align: 'right' },
            { header: 'OS / REASON', value: (p) => io.fit(reasonCell(p), 80) },
          ]));
          if (findings.versionMismatch)
            io.warn(`versions differ across the farm: ${Object.entries(findings.versions).map(([v, s]) => `${v} on ${s.join(', ')}`).join('; ')}`);
          for (const d of findings.drifted)
            io.warn(`${d.server}: clock is ${formatOffset(d.offsetMs)} off this machine (limit ${f.settings.clockDriftWarnMs} ms): license checks and log correlation depend on it`);
          for (const p of probes.filter((x) => !x.reachable)) io.warn(`${p.server.name} unreachable: ${unreachableText(p.server.name, p.reason, p.error)}${p.hint ? `; ${p.hint}` : ''}`);
          for (const p of probes.filter((x) => x.identity?.productError)) io.debug(`${p.server.name}: version: ${p.identity!.productError}`);
        }
        const reachable = probes.filter((p) => p.reachable).length;
        if (reachable === 0) app.report(ExitCode.failed);
        else if (reachable < probes.length) app.report(ExitCode.partial);
      }),
    [
      'clk-support farm status',
      'clk-support --farm fixtures/demo-farm/clk-farm.json farm status --json',
      'clk-support farm status --server APP01 SCHED01',
    ],
  );

  examples(
    farm
      .command('validate')
      .description('check the farm file and print what it lists')
      .action(async (_opts: unknown, cmd: Command) => {
        const io = app.io(cmd);
        const f = await app.farm(cmd);
        if (app.globals(cmd).json) {
          io.json({ schema: 'clk-support/farm-validate/v1', valid: true, file: f.file, farm: f.farm, servers: f.servers.map((s) => ({ name: s.name, role: s.role, transport: s.transport.type })) });
          return;
        }
        io.success(`${f.file} is valid: ${f.farm.name} (${f.farm.systemId}, ${f.farm.environment}), ${f.servers.length} server${f.servers.length === 1 ? '' : 's'}`);
        io.out(renderTable(f.servers, [
          { header: 'SERVER', value: (s) => s.name },
          { header: 'ROLE', value: (s) => s.role },
          { header: 'PLATFORM', value: (s) => s.platform },
          { header: 'VIA', value: (s) => s.transport.type },
          { header: 'INSTALL ROOT', value: (s) => s.installRoot },
        ]));
      }),
    ['clk-support farm validate', 'clk-support --farm /etc/clk/clk-farm.json farm validate --json'],
  );
}

/** The OS of a reachable server, and why its version or clock shows blank or "?"; or why it is unreachable. */
function reasonCell(p: ServerProbe): string {
  if (!p.reachable) return unreachableText(p.server.name, p.reason, p.error);
  const id = p.identity;
  const parts = [id?.os ?? ''];
  if (!id?.product) parts.push(`version ?: ${id?.productError ?? 'not readable'}`);
  if (!id?.clock) parts.push(`clock ?: ${id?.clockError ?? 'not readable'}`);
  return parts.filter(Boolean).join('; ');
}

function probeJson(p: ServerProbe) {
  return {
    name: p.server.name,
    role: p.server.role,
    transport: p.server.transport.type,
    reachable: p.reachable,
    reason: p.reason,
    error: p.error,
    hint: p.hint,
    durationMs: p.durationMs,
    hostname: p.identity?.hostname,
    os: p.identity?.os,
    version: p.identity?.product?.version,
    build: p.identity?.product?.build,
    versionError: p.identity?.productError,
    clockOffsetMs: p.identity?.clock ? Math.round(p.identity.clock.offsetMs) : undefined,
    clockError: p.identity?.clockError,
    fingerprint: p.identity?.fingerprint,
    notes: p.identity?.notes,
  };
}
