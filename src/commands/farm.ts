import type { Command } from 'commander';
import { examples, type App } from '../app.js';
import { ConfigError, ExitCode, errorMessage } from '../errors.js';
import { loadFarmSchema, parseFarm, selectServers, type Farm } from '../farm/load.js';
import type { ServerConfig } from '../farm/schema.js';
import { describeFarmSource, FARM_FILE_NAME } from '../farm/discover.js';
import { checkSshFiles } from '../farm/local-files.js';
import { loadTrustedKey } from '../license/crypto.js';
import { identityProblems, parseServerSpec, renderFarmFile, writeFarmFile, type FarmIdentityDraft, type ServerDraft } from '../farm/init.js';
import { resolve } from 'node:path';
import { assessFarm, probeFarm, unreachableText, type ServerProbe } from '../farm/probe.js';
import { renderTable } from '../ui/table.js';
import { formatOffset, plural } from '../format.js';
import { statusBadge } from '../ui/badge.js';

interface InitOptions {
  out?: string;
  name?: string;
  customerNumber?: string;
  installationNumber?: string;
  systemId?: string;
  environment?: string;
  server: string[];
  force: boolean;
  probe: boolean;
}

export function registerFarmCommands(program: Command, app: App): void {
  const farm = examples(program.command('farm').description('the farm file and the servers in it'), ['clk-support farm init', 'clk-support farm status', 'clk-support --farm prod farm validate']);

  examples(
    farm
      .command('status')
      .description('probe every server: reachable or why not, role, version/build, clock offset')
      .option('-s, --server <name...>', 'only these servers')
      .option('--concurrency <n>', 'servers probed at once', (v) => Number.parseInt(v, 10))
      .action(async (opts: { server?: string[]; concurrency?: number }, cmd: Command) => {
        const f = await app.farm(cmd);
        await showStatus(app, cmd, f, selectServers(f, opts.server), opts.concurrency);
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
        const problems = await localFileProblems(f);
        if (app.globals(cmd).json && !problems.length) {
          io.json({ schema: 'clk-support/farm-validate/v1', valid: true, file: f.file, source: f.source, farm: f.farm, servers: f.servers.map((s) => ({ name: s.name, role: s.role, transport: s.transport.type })) });
          return;
        }
        if (problems.length)
          throw new ConfigError(`${f.file}: ${plural(problems.length, 'problem')} with what it names on this machine:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
            code: 'FARM_FILES',
            hint: 'fix the paths in the farm file (relative paths are read from the farm file\'s folder)',
          });
        io.success(`${f.file} is valid: ${f.farm.name} (${f.farm.systemId}, ${f.farm.environment}), ${plural(f.servers.length, 'server')}`);
        io.table(f.servers, [
          { header: 'SERVER', value: (s) => s.name },
          { header: 'ROLE', value: (s) => s.role },
          { header: 'PLATFORM', value: (s) => s.platform },
          { header: 'VIA', value: (s) => s.transport.type },
          { header: 'INSTALL ROOT', value: (s) => s.installRoot, free: true },
        ]);
      }),
    ['clk-support farm validate', 'clk-support --farm /etc/clk/clk-farm.json farm validate --json'],
  );

  examples(
    farm
      .command('init')
      .description('write a new farm file: a wizard on a terminal, or flags for scripts; then validate it and probe every server')
      .option('-o, --out <file>', `where to write it (default: ./${FARM_FILE_NAME})`)
      .option('--name <text>', 'farm name, e.g. "Contoso Field Service (production)"')
      .option('--customer-number <digits>', 'SAP customer number')
      .option('--installation-number <10 digits>', 'SAP installation number')
      .option('--system-id <SID>', 'SAP system ID, 3 characters, upper case (e.g. FSP)')
      .option('--environment <env>', 'production or test')
      .option('--server <spec>', 'a server: NAME=share:\\\\HOST\\c$ | NAME=ssh:user@host[:port] | NAME=local, then ,role=R ,platform=P ,key=FILE ,known-hosts=FILE (repeat for each server)', (v: string, acc: string[]) => [...acc, v], [] as string[])
      .option('--force', 'replace an existing file (kept as <file>.bak)', false)
      .option('--no-probe', 'do not probe the servers at the end')
      .action(async (opts: InitOptions, cmd: Command) => {
        const io = app.io(cmd);
        const out = resolve(app.cwd, opts.out ?? FARM_FILE_NAME);
        const given: Partial<FarmIdentityDraft> = {
          name: opts.name,
          customerNumber: opts.customerNumber,
          installationNumber: opts.installationNumber,
          systemId: opts.systemId,
          environment: opts.environment as FarmIdentityDraft['environment'] | undefined,
        };
        const defaultPlatform = process.platform === 'win32' ? 'windows' : 'linux';
        const drafts = opts.server.map((spec) => parseServerSpec(spec, defaultPlatform));
        const interactive = io.canPrompt;
        await loadFarmSchema();
        let identity: FarmIdentityDraft;
        let servers: ServerDraft[];
        if (interactive) {
          const { askFarmIdentity, askServers } = await import('../ui/farm-wizard.js');
          const bad = identityProblems(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<FarmIdentityDraft>).filter((p) => !p.includes('is required'));
          if (bad.length) throw new ConfigError(`farm init: ${bad.join('; ')}`, { code: 'USAGE' });
          identity = await askFarmIdentity(io, given);
          servers = await askServers(io, drafts, async (d) => {
            const draftFarm = parseFarm(renderFarmFile(identity, [d]), out);
            const { probes } = await probeFarm(draftFarm, draftFarm.servers, { signal: app.signal });
            const p = probes[0]!;
            return { reachable: p.reachable, detail: p.reachable ? [p.identity?.os, p.identity?.product?.version && `ClickSoftware ${p.identity.product.version}`].filter(Boolean).join(', ') || 'ok' : unreachableText(p.server.name, p.reason, p.error) };
          });
        } else {
          const problems = identityProblems(given);
          if (!drafts.length) problems.push('--server is required at least once (e.g. --server APP01=share:\\\\APP01\\c$)');
          if (problems.length)
            throw new ConfigError(`farm init without a terminal needs every answer as a flag:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
              code: 'USAGE',
              hint: 'run it on a terminal for the wizard, or see `clk-support farm init --help`',
            });
          identity = given as FarmIdentityDraft;
          servers = drafts;
        }
        const text = renderFarmFile(identity, servers);
        const written = parseFarm(text, out); // what we write must validate as written
        const { backup } = await writeFarmFile(out, text, { force: opts.force });
        if (backup) io.info(`kept the previous file as ${backup}`);
        if (app.globals(cmd).json) {
          const probes = opts.probe ? (await probeFarm(written, written.servers, { signal: app.signal })).probes : [];
          io.json({ schema: 'clk-support/farm-init/v1', file: out, backup, servers: written.servers.map((s) => ({ name: s.name, role: s.role, platform: s.platform, transport: s.transport.type })), status: probes.map(probeJson) });
          if (probes.some((p) => !p.reachable)) app.report(ExitCode.partial);
          return;
        }
        io.success(`wrote ${out}: ${identity.name} (${identity.systemId}), ${plural(servers.length, 'server')}; it validates as written`);
        io.info('review the paths in it (install root, logs, license) and add license.trustedKeys before `license apply`');
        if (opts.probe) await showStatus(app, cmd, written, written.servers);
      }),
    [
      'clk-support farm init',
      'clk-support farm init --name "Contoso FS (prod)" --customer-number 1234567 --installation-number 0020123456 --system-id FSP --environment production --server APP01=share:\\\\APP01\\c$ --server SCHED01=ssh:clkadmin@sched01,role=scheduling',
      'clk-support farm init --out ~/.config/clk-support/prod.clk-farm.json   # then: clk-support --farm prod farm status',
    ],
  );
}

/** Probe the servers and print the status table (farm status, and the end of farm init). */
async function showStatus(app: App, cmd: Command, f: Farm, servers: readonly ServerConfig[], concurrency?: number): Promise<void> {
  const io = app.io(cmd);
  if (f.source) io.info(`farm file: ${f.file} (${describeFarmSource(f.source)})`);
  const spinner = io.spinner(`Probing ${plural(servers.length, 'server')} of ${f.farm.name}`);
  let done = 0;
  const { probes } = await probeFarm(f, servers, {
    concurrency,
    signal: app.signal,
    onResult: () => spinner.update(`Probing servers (${++done}/${servers.length})`),
  });
  spinner.stop();
  const findings = assessFarm(f, probes);
  if (app.globals(cmd).json) {
    io.json({
      schema: 'clk-support/farm-status/v1',
      farm: { name: f.farm.name, systemId: f.farm.systemId, environment: f.farm.environment, file: f.file, source: f.source },
      servers: probes.map(probeJson),
      findings,
    });
  } else {
    io.table(probes, [
      { header: 'SERVER', value: (p) => p.server.name },
      { header: 'ROLE', value: (p) => p.server.role },
      { header: 'VIA', value: (p) => p.server.transport.type },
      { header: 'STATUS', value: (p) => statusBadge(io, p.reachable ? 'reachable' : 'unreachable') },
      { header: 'VERSION', value: (p) => p.identity?.product?.version ?? (p.reachable ? '?' : '') },
      { header: 'BUILD', value: (p) => p.identity?.product?.build ?? '' },
      { header: 'CLOCK', value: (p) => (p.identity?.clock ? formatOffset(p.identity.clock.offsetMs) : p.reachable ? '?' : ''), align: 'right' },
      { header: 'OS / REASON', value: (p) => reasonCell(p), free: true },
    ]);
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
}

/** Files the farm file names on this machine (SSH keys, known_hosts, trusted license keys) that cannot be used. */
async function localFileProblems(f: Farm): Promise<string[]> {
  const out = (await checkSshFiles(f)).map((p) => `${p.path}: ${p.file ? `${p.file} ` : ''}${p.message}`);
  for (const [i, k] of f.license.trustedKeys.entries()) {
    try {
      await loadTrustedKey(f, k);
    } catch (err) {
      out.push(`license.trustedKeys[${i}].publicKeyFile: ${errorMessage(err)}`);
    }
  }
  return out;
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
