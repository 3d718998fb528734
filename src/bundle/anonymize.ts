// Consistent pseudonyms for host names, IP addresses and user names in text going into a bundle.
// The same name always gets the same token within one Anonymizer (and across runs with the same
// seed: tokens are an HMAC of the name). The mapping back is private: it is written beside the bundle,
// never inside it. Binary logs (.evtx, .blg) are not rewritten.
import { createHmac, randomBytes } from 'node:crypto';

export type AnonKind = 'hosts' | 'ips' | 'users' | 'domains';

const PREFIX: Record<AnonKind, string> = { hosts: 'host', ips: 'ip', users: 'user', domains: 'domain' };

/** Accounts and names that identify nobody and help reading the logs. */
const KEEP_USERS = new Set(['system', 'local system', 'localsystem', 'network service', 'local service', 'administrator', 'administrators', 'guest', 'anonymous', 'null', 'none', 'n/a']);
const KEEP_HOSTS = new Set(['localhost', 'nt authority', 'builtin', 'nt service', 'window manager', 'font driver host']);

const IPV4 = /(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d.]*\d)/g;
// Full 8-group form, or a form with '::' (so that times such as 10:12:33 never look like addresses).
const IPV6 = /(?<![\w:.])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,6}(?::[0-9a-f]{1,4}){1,6}|(?:[0-9a-f]{1,4}:){1,7}:|::(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})(?![\w:])/gi;
const EMAIL = /\b([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)\b/g;
const DOMAIN_USER = /(?<![\w\\]|NT )([A-Za-z][A-Za-z0-9-]{1,14})\\([A-Za-z][\w.-]{0,63})(?![\w\\])/g;
const USER_FIELD = /\b(User(?:\s?ID|\s?Name)?|Uid|Login|Account(?:\s?Name)?)(\s*[=:]\s*["']?)([A-Za-z][\w.-]{0,63})/gi;
const URL_HOST = /\b([a-z][a-z0-9+.-]*:\/\/(?:[^\s/@"'<>]*@)?)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)/gi;
const SERVER_FIELD = /\b(Data Source|Server|Address|Addr|Network Address|Host(?:\s?Name)?|Computer(?:\s?Name)?|Machine(?:\s?Name)?)(\s*[=:]\s*["']?)((?:tcp:)?)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)/gi;

export class Anonymizer {
  private readonly seed: string;
  private readonly maps: Record<AnonKind, Map<string, { name: string; token: string }>> = {
    hosts: new Map(),
    ips: new Map(),
    users: new Map(),
    domains: new Map(),
  };
  private readonly used = new Set<string>();
  private knownRe: RegExp | undefined;

  constructor(seed?: string) {
    this.seed = seed ?? randomBytes(16).toString('hex');
  }

  /** Register a host name known from the farm file (server name, hostname, FQDN): replaced wherever it appears. */
  addHost(name: string): this {
    if (name && !KEEP_HOSTS.has(name.toLowerCase())) {
      this.token('hosts', name);
      this.knownRe = undefined;
    }
    return this;
  }

  addUser(name: string): this {
    if (name && !KEEP_USERS.has(name.toLowerCase())) {
      this.token('users', name);
      this.knownRe = undefined;
    }
    return this;
  }

  /** The token for a name (created on first sight). */
  token(kind: AnonKind, name: string): string {
    const key = name.toLowerCase();
    const existing = this.maps[kind].get(key);
    if (existing) return existing.token;
    let len = 6;
    let token: string;
    do {
      token = `${PREFIX[kind]}-${createHmac('sha256', this.seed).update(`${kind}\0${key}`).digest('hex').slice(0, len)}`;
      len++;
    } while (this.used.has(token));
    this.used.add(token);
    this.maps[kind].set(key, { name, token });
    return token;
  }

  text(s: string): string {
    let out = s;
    out = out.replace(EMAIL, (_m, user: string, domain: string) => `${this.user(user)}@${this.host(domain)}`);
    out = out.replace(URL_HOST, (m, head: string, host: string) => (isIpv4(host) ? m : `${head}${this.host(host)}`));
    out = out.replace(SERVER_FIELD, (m, field: string, sep: string, tcp: string, host: string) =>
      isIpv4(host) || /^\d+$/.test(host) ? m : `${field}${sep}${tcp}${this.host(host)}`,
    );
    out = out.replace(DOMAIN_USER, (m, domain: string, user: string) => {
      if (KEEP_HOSTS.has(domain.toLowerCase()) || /^[A-Z]$/i.test(domain) || KEEP_USERS.has(user.toLowerCase())) return m; // BUILTIN\..., C:\..., X\SYSTEM
      return `${this.token('domains', domain)}\\${this.user(user)}`;
    });
    out = out.replace(USER_FIELD, (m, field: string, sep: string, user: string) => (isToken(user) ? m : `${field}${sep}${this.user(user)}`));
    out = out.replace(IPV4, (ip) => (ip === '127.0.0.1' || ip === '0.0.0.0' || ip.startsWith('255.') ? ip : this.token('ips', ip)));
    out = out.replace(IPV6, (ip) => (ip === '::1' || ip === '::' ? ip : this.token('ips', ip)));
    const known = this.known();
    if (known) out = out.replace(known, (name) => this.maps.hosts.get(name.toLowerCase())?.token ?? this.maps.users.get(name.toLowerCase())?.token ?? name);
    return out;
  }

  /** name → token, per kind. PRIVATE: never put this in a bundle. */
  mapping(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const kind of Object.keys(this.maps) as AnonKind[]) {
      out[kind] = Object.fromEntries([...this.maps[kind].values()].map((v) => [v.name, v.token]));
    }
    return out;
  }

  private host(name: string): string {
    if (KEEP_HOSTS.has(name.toLowerCase()) || isToken(name)) return name;
    // An FQDN whose first label is a known server keeps one token per server, plus one for the domain.
    const dot = name.indexOf('.');
    if (dot > 0) {
      const first = name.slice(0, dot);
      if (this.maps.hosts.has(first.toLowerCase())) return `${this.token('hosts', first)}.${this.token('domains', name.slice(dot + 1))}`;
    }
    return this.token('hosts', name);
  }

  private user(name: string): string {
    if (KEEP_USERS.has(name.toLowerCase()) || isToken(name)) return name;
    return this.token('users', name);
  }

  /** Whole-word matches of every registered or seen host and user name. */
  private known(): RegExp | undefined {
    const names = [...this.maps.hosts.values(), ...this.maps.users.values()].map((v) => v.name).filter((n) => n.length >= 3);
    if (names.length === 0) return undefined;
    if (!this.knownRe || (this.knownRe as RegExp & { count?: number }).count !== names.length) {
      const escaped = names.sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      const re = new RegExp(`(?<![\\w.-])(?:${escaped.join('|')})(?![\\w-])`, 'gi') as RegExp & { count?: number };
      re.count = names.length;
      this.knownRe = re;
    }
    return this.knownRe;
  }
}

/** Already a token of ours (text anonymized twice, or a rule running after another). */
function isToken(s: string): boolean {
  return /^(?:host|ip|user|domain)-[0-9a-f]{6,}$/.test(s);
}

function isIpv4(s: string): boolean {
  IPV4.lastIndex = 0;
  const m = IPV4.exec(s);
  IPV4.lastIndex = 0;
  return Boolean(m && m[0] === s);
}
