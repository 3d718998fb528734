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
const DOMAIN_USER = /(?<![\w\\-]|NT )([A-Za-z][A-Za-z0-9-]{1,14})\\([A-Za-z][\w.-]{0,63})(?![\w\\])/g;
const USER_FIELD = /(?<![A-Za-z0-9])(User(?:\s?ID|\s?Name)?|Uid|Login|Account(?:\s?Name)?|sap-user|sAMAccountName|Logon(?:\s?Name)?)(["']?\s{0,8}[=:]\s{0,8}["']?)([A-Za-z][\w.-]{0,63})/gi;
/** `for user 'x'`, `-u x`, `--user x`, `/user:x`: user names in messages and command lines. */
const USER_PHRASE = /(\bfor user '|\buser '|(?<![\w-])(?:-u|-U|--user(?:name)?|\/user:|\/u:)[ \t]{0,4}["']?)([A-Za-z][\w.-]{0,63})/g;
const URL_HOST = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)(?:([^\s/:@"'<>]{0,128})(:[^\s/@"'<>]{0,1024})?@)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)/gi;
const UNC_HOST = /(?<![\\\w])\\\\([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8})(?=\\)/g;
/** Top-level domains that end a host name in free text (lower or upper case; `System.Net` is a namespace). */
const TLDS = 'com|net|org|edu|gov|mil|int|info|biz|local|localdomain|lan|corp|internal|intranet|intra|home|private|example|test|invalid|cloud|eu|de|uk|fr|nl|be|ch|at|it|es|se|no|dk|fi|pl|jp|cn|au|ca|us|br|ru|cz|ie|nz|za|il|sg|hk|kr|mx|co|ad';
const FQDN = new RegExp(String.raw`(?<![\w.@-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}(?:${TLDS}|${TLDS.toUpperCase()}))(?![\w-]|\.[A-Za-z0-9])`, 'g');
/** Public service domains: naming them identifies no customer, and support needs them. */
const KEEP_DOMAINS = ['microsoft.com', 'windows.net', 'w3.org', 'xmlsoap.org', 'sap.com', 'clicksoftware.com', 'azure.com', 'amazonaws.com', 'googleapis.com', 'github.com', 'ondemand.com', 'openxmlformats.org', 'oasis-open.org', 'windowsupdate.com', 'digicert.com', 'verisign.com', 'apache.org'];
function isPublicDomain(name: string): boolean {
  const n = name.toLowerCase();
  return KEEP_DOMAINS.some((d) => n === d || n.endsWith(`.${d}`));
}
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
    if (name && !KEEP_HOSTS.has(name.toLowerCase()) && !isIpv4(name)) {
      const dot = name.indexOf('.');
      if (dot > 0) {
        this.token('hosts', name.slice(0, dot));
        this.token('domains', name.slice(dot + 1));
      } else this.token('hosts', name);
      this.knownRe = undefined;
    }
    return this;
  }

  /** A DNS or NetBIOS domain known from the farm (corp.example, CORP): replaced wherever it appears. */
  addDomain(name: string): this {
    if (name && name.length >= 2) {
      this.token('domains', name);
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
    out = out.replace(URL_HOST, (m, scheme: string, user: string | undefined, pass: string | undefined, host: string) => {
      const who = user === undefined ? '' : `${user && !user.startsWith('[') ? this.user(user) : user}${pass ?? ''}@`;
      return `${scheme}${who}${isIpv4(host) ? host : this.host(host)}`;
    });
    out = out.replace(UNC_HOST, (m, host: string) => (isIpv4(host) ? m : `\\\\${this.host(host)}`));
    out = out.replace(FQDN, (m, name: string) => (isIpv4(name) || isPublicDomain(name) ? m : this.host(name)));
    out = out.replace(SERVER_FIELD, (m, field: string, sep: string, tcp: string, host: string) =>
      isIpv4(host) || /^\d+$/.test(host) ? m : `${field}${sep}${tcp}${this.host(host)}`,
    );
    out = out.replace(DOMAIN_USER, (m, domain: string, user: string) => {
      if (KEEP_HOSTS.has(domain.toLowerCase()) || /^[A-Z]$/i.test(domain) || KEEP_USERS.has(user.toLowerCase())) return m; // BUILTIN\..., C:\..., X\SYSTEM
      return `${this.token('domains', domain)}\\${this.user(user)}`;
    });
    out = out.replace(USER_FIELD, (m, field: string, sep: string, user: string) => (isToken(user) ? m : `${field}${sep}${this.user(user)}`));
    out = out.replace(USER_PHRASE, (m, head: string, user: string) => (isToken(user) ? m : `${head}${this.user(user)}`));
    out = out.replace(IPV4, (ip) => (ip === '127.0.0.1' || ip === '0.0.0.0' || ip.startsWith('255.') ? ip : this.token('ips', ip)));
    out = out.replace(IPV6, (ip) => (ip === '::1' || ip === '::' ? ip : this.token('ips', ip)));
    const known = this.known();
    if (known) out = out.replace(known, (name) => this.maps.hosts.get(name.toLowerCase())?.token ?? this.maps.domains.get(name.toLowerCase())?.token ?? this.maps.users.get(name.toLowerCase())?.token ?? name);
    return out;
  }

  /** The token of a registered user or host named exactly so (any case), else undefined. */
  exactToken(s: string): string | undefined {
    const k = s.toLowerCase();
    return this.maps.users.get(k)?.token ?? this.maps.hosts.get(k)?.token;
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
    const lower = name.toLowerCase();
    if (KEEP_HOSTS.has(lower) || isToken(name) || /^(?:host|domain)-[0-9a-f]{6,}\./.test(name) || isPublicDomain(name)) return name;
    if (this.maps.domains.has(lower)) return this.token('domains', name);
    // An FQDN: one token for the host, one for its domain (so neither the name nor the domain shows).
    const dot = name.indexOf('.');
    if (dot > 0) return `${this.token('hosts', name.slice(0, dot))}.${this.token('domains', name.slice(dot + 1))}`;
    return this.token('hosts', name);
  }

  private user(name: string): string {
    if (KEEP_USERS.has(name.toLowerCase()) || isToken(name)) return name;
    return this.token('users', name);
  }

  /** Whole-word matches of every registered or seen host and user name. */
  private known(): RegExp | undefined {
    const names = [...this.maps.hosts.values(), ...this.maps.domains.values(), ...this.maps.users.values()].map((v) => v.name).filter((n) => n.length >= 3);
    if (names.length === 0) return undefined;
    if (!this.knownRe || (this.knownRe as RegExp & { count?: number }).count !== names.length) {
      const escaped = names.sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      // Letters and digits only as boundaries: APP01 in APP01_ClickSoftware_000001.blg is the server too.
      const re = new RegExp(`(?<![A-Za-z0-9])(?:${escaped.join('|')})(?![A-Za-z0-9])`, 'gi') as RegExp & { count?: number };
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
