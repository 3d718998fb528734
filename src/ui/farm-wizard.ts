// The `farm init` wizard on a terminal: the farm identity, checked as typed, then servers one by
// one, each probed as it is added so a typo in a share or host shows at once.
import type { Io } from './io.js';
import { ROLES, type Role } from '../farm/roles.js';
import { IDENTITY_RULES, SERVER_NAME, guessRole, parseServerSpec, type FarmIdentityDraft, type ServerDraft } from '../farm/init.js';

/** Ask until the rule accepts the answer; the rule's message says what is expected. */
async function askChecked(io: Io, message: string, flag: string, rule: (v: string) => string | undefined, initial?: string): Promise<string> {
  for (;;) {
    const v = (await io.input(message, { flag, default: initial })).trim();
    const why = rule(v);
    if (!why) return v;
    io.warn(why);
  }
}

export async function askFarmIdentity(io: Io, given: Partial<FarmIdentityDraft>): Promise<FarmIdentityDraft> {
  const name = given.name ?? (await askChecked(io, 'Farm name', '--name', IDENTITY_RULES.name));
  const customerNumber = given.customerNumber ?? (await askChecked(io, 'SAP customer number', '--customer-number', IDENTITY_RULES.customerNumber));
  const installationNumber = given.installationNumber ?? (await askChecked(io, 'SAP installation number (10 digits)', '--installation-number', IDENTITY_RULES.installationNumber));
  const systemId = given.systemId ?? (await askChecked(io, 'SAP system ID (e.g. FSP)', '--system-id', IDENTITY_RULES.systemId));
  const environment =
    given.environment ??
    (await io.select<'production' | 'test'>('Environment', [{ value: 'production' }, { value: 'test' }], { flag: '--environment', default: 'production' }));
  return { name, customerNumber, installationNumber, systemId, environment };
}

export interface ProbeSummary {
  reachable: boolean;
  detail: string;
}

/** Servers one by one until an empty name; `probe` runs on each as it is added. */
export async function askServers(io: Io, existing: readonly ServerDraft[], probe: (d: ServerDraft) => Promise<ProbeSummary>): Promise<ServerDraft[]> {
  const servers = [...existing];
  for (;;) {
    const name = await askChecked(
      io,
      servers.length ? 'Next server name (empty to finish)' : 'First server name (e.g. APP01)',
      '--server',
      (v) => (v === '' && servers.length ? undefined : !SERVER_NAME.test(v) ? 'a host name: letters, digits, . _ -' : servers.some((s) => s.name.toLowerCase() === v.toLowerCase()) ? `${v} is already in the farm` : undefined),
    );
    if (!name) return servers;
    const type = await io.select<'share' | 'ssh' | 'local'>(
      `How is ${name} reached?`,
      [
        { value: 'share', name: 'share', description: 'a Windows admin share such as \\\\APP01\\c$, or a mounted folder' },
        { value: 'ssh', name: 'ssh', description: 'OpenSSH with a key; the host key must be in known_hosts' },
        { value: 'local', name: 'local', description: 'this machine' },
      ],
      { flag: '--server', default: 'share' },
    );
    let target = '';
    if (type === 'share') target = await askChecked(io, 'Share root', '--server', (v) => (v ? undefined : 'the share root, e.g. \\\\APP01\\c$'), `\\\\${name}\\c$`);
    if (type === 'ssh') target = await askChecked(io, 'user@host[:port]', '--server', (v) => (/^[^@\s]+@[^:\s]+(:\d{1,5})?$/.test(v) ? undefined : 'for example clkadmin@sched01.corp.example'));
    const role = await io.select<Role>(`Role of ${name}`, ROLES.map((r) => ({ value: r })), { flag: '--server', default: guessRole(name) });
    const platform = await io.select<'windows' | 'linux'>(`Platform of ${name}`, [{ value: 'windows' }, { value: 'linux' }], {
      flag: '--server',
      default: type === 'ssh' ? 'linux' : type === 'share' ? 'windows' : process.platform === 'win32' ? 'windows' : 'linux',
    });
    const draft = parseServerSpec(`${name}=${type}${target ? `:${target}` : ''},role=${role},platform=${platform}`, platform);
    const s = io.spinner(`Probing ${name}`);
    const result = await probe(draft);
    s.stop();
    if (result.reachable) io.success(`${name}: reachable (${result.detail})`);
    else {
      io.warn(`${name}: not reachable: ${result.detail}`);
      const keep = await io.select<'keep' | 'drop'>(`Keep ${name} in the farm anyway?`, [{ value: 'keep', name: 'keep it (it may be down now)' }, { value: 'drop', name: 'drop it and type it again' }], { flag: '--server', default: 'keep' });
      if (keep === 'drop') continue;
    }
    servers.push(draft);
  }
}
