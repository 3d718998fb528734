// `farm init`: a farm file from a few answers. Server specs as typed on a command line
// (`APP01=share:\\APP01\c$`, `SCHED01=ssh:clkadmin@sched01:22,role=scheduling`), defaults per
// platform and role, and a commented JSONC file that `farm validate` accepts as written.
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../atomic-file.js';
import { ROLES, type Role } from './roles.js';

export type Platform = 'windows' | 'linux';

export interface FarmIdentityDraft {
  name: string;
  customerNumber: string;
  installationNumber: string;
  systemId: string;
  environment: 'production' | 'test';
}

export type TransportDraft =
  | { type: 'local' }
  | { type: 'share'; root: string }
  | { type: 'ssh'; host: string; port: number; user: string; identityFile?: string; knownHosts?: string };

export interface ServerDraft {
  name: string;
  role: Role;
  platform: Platform;
  transport: TransportDraft;
}

/** Checks of the farm identity as typed: the message says what SAP expects. */
export const IDENTITY_RULES: Record<keyof Omit<FarmIdentityDraft, 'environment'>, (v: string) => string | undefined> = {
  name: (v) => (v.trim() ? undefined : 'a name for the farm, e.g. "Contoso Field Service (production)"'),
  customerNumber: (v) => (/^\d{1,10}$/.test(v) ? undefined : 'the SAP customer number: digits only, e.g. 1234567'),
  installationNumber: (v) => (/^\d{10}$/.test(v) ? undefined : `the SAP installation number: exactly 10 digits, e.g. 0020123456${/^\d{1,9}$/.test(v) ? ` (with leading zeros: ${v.padStart(10, '0')})` : ''}`),
  systemId: (v) =>
    /^[A-Z][A-Z0-9]{2}$/.test(v)
      ? undefined
      : /^[A-Z][A-Z0-9]{2}$/.test(v.toUpperCase())
        ? `the SAP system ID is upper case: ${v.toUpperCase()}`
        : 'the SAP system ID: 3 characters, a letter then letters or digits, e.g. FSP',
};

export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The role a server name suggests (APP01 → application, SCHED01 → scheduling...). */
export function guessRole(name: string): Role {
  const n = name.toUpperCase();
  if (/SCHED/.test(n)) return 'scheduling';
  if (/OPT/.test(n)) return 'optimization';
  if (/INT|INTEG|SI\d/.test(n)) return 'integration';
  if (/WEB|IIS|PORTAL/.test(n)) return 'web';
  if (/DB|SQL/.test(n)) return 'database';
  return 'application';
}

/**
 * `NAME=TYPE[:TARGET][,key=value...]`: `APP01=share:\\APP01\c$`, `SCHED01=ssh:user@host[:port]`,
 * `ME=local`; options role=, platform=, key= (ssh identity file), known-hosts=.
 */
export function parseServerSpec(spec: string, defaultPlatform: Platform): ServerDraft {
  const eq = spec.indexOf('=');
  const bad = (why: string) =>
    new ConfigError(`--server ${JSON.stringify(spec)}: ${why}`, {
      code: 'USAGE',
      hint: 'write NAME=share:\\\\HOST\\c$, NAME=ssh:user@host[:port] or NAME=local, optionally followed by ,role=scheduling ,platform=linux ,key=~/.ssh/id_ed25519 ,known-hosts=FILE',
    });
  if (eq <= 0) throw bad('expected NAME=TRANSPORT');
  const name = spec.slice(0, eq);
  if (!SERVER_NAME.test(name)) throw bad(`"${name}" is not a host name (letters, digits, . _ -)`);
  // Options follow the last comma that starts a known key, so a share path may itself contain commas.
  const rest = spec.slice(eq + 1);
  const parts = rest.split(/,(?=(?:role|platform|key|known-hosts)=)/);
  const target = parts[0]!;
  const opts = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const i = p.indexOf('=');
    opts.set(p.slice(0, i), p.slice(i + 1));
  }
  const colon = target.indexOf(':');
  const type = colon < 0 ? target : target.slice(0, colon);
  const value = colon < 0 ? '' : target.slice(colon + 1);
  let transport: TransportDraft;
  let platform: Platform = defaultPlatform;
  if (type === 'local') transport = { type: 'local' };
  else if (type === 'share') {
    if (!value) throw bad('a share needs its root, e.g. share:\\\\APP01\\c$');
    transport = { type: 'share', root: value };
    platform = 'windows';
  } else if (type === 'ssh') {
    const m = /^([^@\s]+)@([^:\s]+)(?::(\d{1,5}))?$/.exec(value);
    if (!m) throw bad('ssh needs user@host or user@host:port');
    const port = m[3] ? Number(m[3]) : 22;
    if (port < 1 || port > 65535) throw bad(`port ${port} is out of range`);
    transport = { type: 'ssh', user: m[1]!, host: m[2]!, port };
    if (opts.has('key')) transport.identityFile = opts.get('key');
    if (opts.has('known-hosts')) transport.knownHosts = opts.get('known-hosts');
    platform = 'linux';
  } else throw bad(`unknown transport "${type}" (share, ssh or local)`);
  const role = opts.get('role') ?? guessRole(name);
  if (!(ROLES as readonly string[]).includes(role)) throw bad(`role "${role}" is not one of ${ROLES.join(', ')}`);
  const plat = opts.get('platform') ?? platform;
  if (plat !== 'windows' && plat !== 'linux') throw bad(`platform "${plat}" is not windows or linux`);
  return { name, role: role as Role, platform: plat, transport };
}

const WIN_INSTALL = 'C:\\Program Files\\ClickSoftware\\Service Optimization';
const LINUX_INSTALL = '/opt/clicksoftware';

/** The server entry with the usual locations for its platform and role (every one can be edited after). */
export function serverEntry(d: ServerDraft): Record<string, unknown> {
  const transport: Record<string, unknown> = { ...d.transport };
  if (d.platform === 'windows') {
    return {
      name: d.name,
      role: d.role,
      platform: 'windows',
      transport,
      installRoot: WIN_INSTALL,
      version: { binary: `${WIN_INSTALL}\\Bin\\W6Server.exe` },
      logs: {
        eventLogChannels: ['Application', 'System'],
        eventLogDir: 'C:\\Windows\\System32\\winevt\\Logs',
        perfmonDir: 'C:\\PerfLogs\\Admin\\ClickSoftware',
        tracerGlobs: ['C:\\ClickSoftware\\Logs\\**\\*.log'],
      },
      license: { path: `${WIN_INSTALL}\\License\\License.xml` },
      configGlobs: [`${WIN_INSTALL}\\Config\\*.config`],
      services: d.role === 'web' ? ['W3SVC'] : d.role === 'database' ? ['MSSQLSERVER'] : ['W6Server'],
      endpoints: [],
    };
  }
  return {
    name: d.name,
    role: d.role,
    platform: 'linux',
    transport,
    installRoot: LINUX_INSTALL,
    version: { file: `${LINUX_INSTALL}/VERSION`, pattern: 'Version=(?<version>[\\d.]+)\\s+Build=(?<build>\\d+)' },
    logs: {
      eventLogChannels: [],
      eventLogDir: '/var/log',
      tracerGlobs: [`${LINUX_INSTALL}/logs/**/*.log`],
    },
    configGlobs: [`${LINUX_INSTALL}/config/*.config`],
    services: [],
    endpoints: [],
  };
}

/** Comments written beside keys, so the file explains itself to the next administrator. */
const COMMENTS: Record<string, string> = {
  customerNumber: 'SAP customer number, digits',
  installationNumber: '10-digit SAP installation number',
  systemId: '3-character SAP system ID, upper case',
  environment: 'production | test',
  role: 'application | scheduling | optimization | integration | web | database',
  platform: 'windows | linux',
  installRoot: 'where ClickSoftware is installed on the server',
  tracerGlobs: 'ClickSoftware Tracer logs (** and * allowed)',
  services: 'services `check` expects running',
  stateDir: 'requests, backups and the apply log, on this machine',
  trustedKeys: 'Ed25519 public keys that sign license responses: { "id": ..., "publicKeyFile": ... }',
};

/** JSON with a comment after the first line of each commented key. */
function renderJsonc(value: unknown, indent = ''): string {
  const pad = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => typeof v !== 'object' || v === null)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
    return `[\n${value.map((v) => pad + renderJsonc(v, pad)).join(',\n')}\n${indent}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const lines = entries.map(([k, v], i) => {
      const comma = i < entries.length - 1 ? ',' : '';
      const body = `${pad}${JSON.stringify(k)}: ${renderJsonc(v, pad)}${comma}`;
      const note = COMMENTS[k];
      if (!note) return body;
      const [first, ...more] = body.split('\n');
      return [`${first}  // ${note}`, ...more].join('\n');
    });
    return `{\n${lines.join('\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

export function renderFarmFile(identity: FarmIdentityDraft, servers: readonly ServerDraft[], now = new Date()): string {
  const doc = {
    formatVersion: 1,
    farm: { ...identity },
    license: { trustedKeys: [], stateDir: '.clk-support' },
    servers: servers.map(serverEntry),
  };
  return (
    `// clk-support farm file, written by \`clk-support farm init\` on ${now.toISOString().slice(0, 10)}.\n` +
    '// JSON with comments. Every key is described in the README, section "Farm file";\n' +
    '// check it with `clk-support farm validate` and `clk-support farm status`.\n' +
    `${renderJsonc(doc)}\n`
  );
}

/** Every problem of the identity at once, for --no-input. */
export function identityProblems(identity: Partial<FarmIdentityDraft>): string[] {
  const out: string[] = [];
  for (const [key, rule] of Object.entries(IDENTITY_RULES) as [keyof typeof IDENTITY_RULES, (v: string) => string | undefined][]) {
    const v = identity[key];
    if (v === undefined || v === '') out.push(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required: ${rule('')}`);
    else {
      const why = rule(v);
      if (why) out.push(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${JSON.stringify(v)}: ${why}`);
    }
  }
  if (identity.environment !== undefined && identity.environment !== 'production' && identity.environment !== 'test')
    out.push(`--environment ${JSON.stringify(identity.environment)}: production or test`);
  return out;
}

/** The farm file, never over an existing one unless `force` (which keeps `<file>.bak`). */
export async function writeFarmFile(file: string, text: string, opts: { force?: boolean } = {}): Promise<{ backup?: string }> {
  return writeFileAtomic(file, text, { replace: opts.force, replaceFlag: '--force' });
}
