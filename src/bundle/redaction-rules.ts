// The redaction rules as data: id, what each removes, the pattern, and examples that must be
// removed (positive) and left alone (negative); test/bundle/redaction-rules.test.ts runs every
// example and docs/bundle.md lists the rules (kept in step by the same test).
//
// Every pattern must stay linear on any input: starts are anchored by a lookbehind (a name starts
// where no name character precedes it), quantifiers are bounded, and alternatives that repeat never
// overlap. Names are judged by isSecretName() in code, not by a regex over the whole line.

export const REDACTED = '[REDACTED]';

export interface RuleContext {
  /** offset of the match in the text the rule runs on */
  offset: number;
  /** the text the rule runs on (one line, or a few held together for a multi-line construct) */
  input: string;
}

export interface RedactionRule {
  id: string;
  /** what it removes, for people (docs/bundle.md) */
  description: string;
  /** global regular expression; replace() decides per match */
  re: RegExp;
  /** the replacement, or the match itself when it must stay */
  replace(groups: string[], ctx: RuleContext): string;
  /**
   * When a match stays as it is, how much of it to step over before looking again (default: all of
   * it). A name that is not a secret's must not hide what its value holds: value="...&sap-password=x".
   */
  resume?(groups: string[]): number;
  /** lines holding a secret this rule removes (the secret is the `secret` string) */
  examples: { text: string; secret: string }[];
  /** lines no rule may change */
  negatives: string[];
}

// ---- secret names -----------------------------------------------------------------------------

/** Words that make a name a secret's name wherever they appear in it (lowercased, separators removed). */
const SECRET_WORDS = [
  'password', 'passwort', 'passwd', 'passphrase', 'kennwort', 'pwd', 'secret', 'token', 'apikey', 'accesskey', 'accountkey',
  'privatekey', 'signingkey', 'encryptionkey', 'sharedkey', 'masterkey', 'sessionkey', 'subscriptionkey', 'validationkey',
  'decryptionkey', 'clientkey', 'authkey', 'credential', 'connectionstring', 'connstring', 'connstr', 'sharedaccesssignature',
  'sharedaccesskey', 'sastoken', 'secretkey', 'passcode', 'hmackey', 'functionkey', 'functionskey', 'privkey', 'sshkey', 'storagekey',
  'licensekey', 'appkey', 'restkey', 'masterpw', 'cookie',
];
/** Short words that count only as a whole part of a name (DB_PASS, sas, sig, pw). */
const SECRET_PARTS = new Set(['pass', 'pw', 'sas', 'sig', 'psk', 'pat']);
/** A name that is about a secret but does not hold one: PasswordExpiryDays, MinPasswordLength, TokenEndpoint. */
const META_SUFFIX =
  /expir|days|length|^len|minlen|maxlen|policy|complex|age$|count|lifetime|timeout|ttl|attempt|retr|history|requir|enabled?$|disabled?$|format|strength|reset|retriev|change|prompt|regex|pattern|rule|validat|provider|type|mode|url|uri|endpoint|header|file|path|location|name|^id$|ids$|store|dir|cache|limit|interval|period|size|version|service|issuer|audience|authority|scope|handler|manager|class|assembly|source|algorithm|label|caption|title|description|message|field|column|encoding|kind|usage|level|minutes|hours|seconds|duration/;
const META_PREFIX = /(?:^|[^a-z])?(?:min|max|last|require[sd]?|enable|disable|reset|change|expire|show|hide|check|validate|use)$/;

function parts(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const judged = new Map<string, boolean>();
/** Whether a setting, key, flag or element named so holds a secret (names repeat: remembered). */
export function isSecretName(name: string): boolean {
  const known = judged.get(name);
  if (known !== undefined) return known;
  if (judged.size > 4096) judged.clear();
  const verdict = judgeName(name);
  judged.set(name, verdict);
  return verdict;
}

function judgeName(name: string): boolean {
  if (name.length > 128) return false;
  const flat = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  let at = -1;
  let word = '';
  for (const w of SECRET_WORDS) {
    const i = flat.lastIndexOf(w);
    if (i >= 0 && i + w.length > at + word.length) {
      at = i;
      word = w;
    }
  }
  // keystorepass, DBPASS, smtppw (but not compass, bypass)
  if (at < 0 && /(?<!com|by|sur|tres|over|under|im)pass$|[a-z]pw$/.test(flat)) return !META_PREFIX.test(flat.replace(/pass$|pw$/, ''));
  if (at < 0) {
    const ps = parts(name);
    const hit = ps.findIndex((p) => SECRET_PARTS.has(p));
    if (hit < 0) return false;
    const suffix = ps.slice(hit + 1).join('');
    return !(suffix && META_SUFFIX.test(suffix)) && !META_PREFIX.test(ps.slice(0, hit).join(''));
  }
  const suffix = flat.slice(at + word.length);
  if (suffix && META_SUFFIX.test(suffix)) return false;
  if (word !== 'token' && word !== 'secret' && META_PREFIX.test(flat.slice(0, at))) return false;
  if (word === 'token' && /^(?:min|max|last)$/.test(flat.slice(0, at))) return false;
  return true;
}

/** Values that hide nothing: empty, already redacted, booleans, masks. */
export function isHarmless(value: string): boolean {
  const v = value.replace(/^["'{`]|["'}`]$/g, '').trim();
  return v === '' || v.startsWith('[REDACTED') || /^(?:true|false|null|none|yes|no|\*+|x+)$/i.test(v);
}

/** The value replaced, keeping its quotes or braces so the line stays well formed. */
function mask(value: string): string {
  const open = value[0];
  const close = value[value.length - 1];
  if (value.length >= 2 && ((open === '"' && close === '"') || (open === "'" && close === "'") || (open === '`' && close === '`'))) return `${open}${REDACTED}${close}`;
  if (value.length >= 2 && open === '{' && close === '}') return `{${REDACTED}}`;
  if (value.startsWith('\\"')) return `\\"${REDACTED}\\"`;
  return REDACTED;
}

// ---- shared pattern pieces ---------------------------------------------------------------------

const WS = '[ \\t]';
/** A name in key=value forms: $Password, @pwd, db.password, DB_PASS, x-api-key. */
const NAME = String.raw`(?<![\w$@.])([$@]?[A-Za-z_][\w.\-]{0,127})`;
/** Quoted values (any content up to the closing quote, spaces included) or a bare value. */
const QUOTED = String.raw`"(?:[^"\\\r\n]|\\.){0,4096}"|'[^'\r\n]{0,4096}'|\x60[^\x60\r\n]{0,4096}\x60|\{[^}\r\n]{0,4096}\}`;
/** A bare value: up to whitespace or a separator; %xx escapes are part of it, %26 (&) ends it. */
const BARE = String.raw`(?:[^\s%&;,"'<>]|%(?!26|3[bB])[0-9A-Fa-f]{2}){1,4096}`;

/** Where USER_FLAG matches in the text last looked at (computed once per text, not per match). */
let userFlagCache: { input: string; at: number[]; nl: number[] } | undefined;

/** Number of entries of a sorted array below x. */
function below(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** Whether a user flag (or a tool whose -p is the password) comes before the match on its line. */
function userFlagBefore(ctx: RuleContext): boolean {
  if (userFlagCache?.input !== ctx.input) {
    const at: number[] = [];
    const re = new RegExp(USER_FLAG.source, 'g');
    for (let m = re.exec(ctx.input); m; m = re.exec(ctx.input)) {
      at.push(m.index);
      if (m[0].length === 0) re.lastIndex++;
    }
    const nl: number[] = [];
    for (let i = ctx.input.indexOf('\n'); i >= 0; i = ctx.input.indexOf('\n', i + 1)) nl.push(i);
    userFlagCache = { input: ctx.input, at, nl };
  }
  const { at, nl } = userFlagCache;
  const flags = below(at, ctx.offset);
  if (flags === 0) return false;
  const lines = below(nl, ctx.offset);
  return lines === 0 || nl[lines - 1] < at[flags - 1];
}

// A user flag earlier on the command line, or a program whose -p/-P is always the password.
const USER_FLAG = /(?:^|\s)(?:-{1,2}|\/)(?:u|U|user|username|login|l|RU|ru|User|UserName)(?:[\s:=]|$)|\b(?:sshpass|mysql|mysqldump|mysqladmin|psexec|PsExec|sqlcmd|osql|bcp|isql|plink|pscp|mariadb)(?:\.exe)?\s/;
const SHORT_PASSWORD_FLAGS = new Set(['p', 'P', 'rp', 'RP']);

/** A value that may itself hold a secret (a URL with a password parameter, a nested connection string). */
const MAY_HOLD_SECRET = /pass|pwd|secret|token|key|sig|sas|auth|cred|eyJ|-p/i;

// ---- the rules --------------------------------------------------------------------------------

export const RULES: RedactionRule[] = [
  {
    id: 'url-credentials',
    description: 'the password in `scheme://user:password@host` (the user stays, anonymised with --anonymize)',
    re: /(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]{0,31}:\/\/)([^\s/:@"'<>]{0,256}):([^\s/"'<>]{1,1024})@/g,
    replace: ([m, scheme, user, pass]) => (isHarmless(pass) ? m : `${scheme}${user}:${REDACTED}@`),
    examples: [
      { text: 'from https://svc_clk:Integr8-Pa55@erp.corp.example/api/v2', secret: 'Integr8-Pa55' },
      { text: 'redis://:R3dis-P@ss@cache01:6379/0', secret: 'R3dis-P@ss' },
      { text: 'mongodb+srv://app:M0ngo%21x@cluster0.corp.example/db', secret: 'M0ngo%21x' },
    ],
    negatives: ['https://erp.corp.example:8443/api/v2?page=2', 'see http://host/a:b@c'],
  },
  {
    id: 'userinfo-credentials',
    description: 'the password in `user:password@host` without a scheme (rsync, proxies, DSNs)',
    re: /(?<![\w.:\/@%\-])([A-Za-z_][\w.\-]{0,63}):([^\s\/@:"'<>]{1,256})@(?=[A-Za-z0-9][\w\-]{0,62}(?:\.[\w\-]{1,63}){0,8}(?::\d{1,5})?(?:[\/\s"'<>;,]|$))/g,
    replace: ([m, user, pass]) => (isHarmless(pass) || /^\d+$/.test(pass) ? m : `${user}:${REDACTED}@`),
    examples: [{ text: 'proxy svc_proxy:Proxy-Pw-7@proxy01.corp.example:3128 up', secret: 'Proxy-Pw-7' }],
    negatives: ['mail me at jdoe@corp.example', 'at 10:12:33@host'],
  },
  {
    id: 'authorization-header',
    description: 'HTTP `Authorization` / `Proxy-Authorization` credentials (Bearer, Basic, Digest, NTLM, SharedKey, ...), to the end of the header',
    re: /(?<![\w-])((?:Proxy-)?Authorization"?[ \t]{0,4}[:=][ \t]{0,8}"?)(?:(Bearer|Basic|Digest|NTLM|Negotiate|Token|SharedKey|SharedAccessSignature|SAS|OAuth|AWS4-HMAC-SHA256|ApiKey|Key|SSWS|MAC)[ \t]{1,8})?([^\r\n"']{1,4096})/gi,
    replace: ([m, head, scheme, value]) => (isHarmless(value) ? m : `${head}${scheme ? `${scheme} ` : ''}${REDACTED}`),
    examples: [
      { text: 'GET /api HTTP/1.1 Authorization: Bearer abc.def-ghi_123456', secret: 'abc.def-ghi_123456' },
      { text: 'Authorization: Basic c3ZjOnBhc3N3b3Jk', secret: 'c3ZjOnBhc3N3b3Jk' },
      { text: '"Authorization": "SharedKey clkstore:Zm9vYmFyYmF6cXV4"', secret: 'Zm9vYmFyYmF6cXV4' },
    ],
    negatives: ['Authorization failed for the request', 'authorization policy applied'],
  },
  {
    id: 'netrc-password',
    description: 'the password of a `.netrc`/`_netrc` entry (`machine h login u password X`)',
    re: /(\blogin[ \t]{1,8}\S{1,256}[ \t]{1,8}password[ \t]{1,8})(\S{1,4096})/g,
    replace: ([m, head, value]) => (isHarmless(value) ? m : `${head}${REDACTED}`),
    examples: [{ text: 'machine erp.corp.example login svc password Netrc-Pw', secret: 'Netrc-Pw' }],
    negatives: ['login svc ok; password policy'],
  },
  {
    id: 'cookie-header',
    description: 'the values of HTTP `Cookie` / `Set-Cookie` headers (session and auth cookies)',
    re: /(?<![\w-])((?:Set-)?Cookie[ \t]{0,4}:[ \t]{0,8})([^\r\n]{1,4096})/gi,
    replace: ([m, head, value]) => (isHarmless(value) ? m : `${head}${REDACTED}`),
    examples: [{ text: 'Cookie: .ASPXAUTH=Aspx-Auth-Cookie; ASP.NET_SessionId=abc', secret: 'Aspx-Auth-Cookie' }],
    negatives: ['cookie policy accepted'],
  },
  {
    id: 'bearer-token',
    description: 'a bearer token anywhere in a line (`Bearer <token>`)',
    re: /(?<![\w-])(Bearer[ \t]{1,8})(?!\[REDACTED)([A-Za-z0-9\-._~+/]{8,4096}=*)/g,
    replace: ([, head]) => `${head}${REDACTED}`,
    examples: [{ text: 'sending token Bearer AbCdEf0123456789xyz to ERP', secret: 'AbCdEf0123456789xyz' }],
    negatives: ['Bearer scheme required', 'Bearer short'],
  },
  {
    id: 'jwt',
    description: 'JSON Web Tokens (`eyJ...`.`eyJ...`.signature)',
    re: /(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,8192}\.eyJ[A-Za-z0-9_\-]{4,65536}\.[A-Za-z0-9_\-]{0,8192}/g,
    replace: () => REDACTED,
    examples: [{ text: 'session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', secret: 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U' }],
    negatives: ['eyJ is how base64 JSON starts'],
  },
  {
    id: 'known-token',
    description: 'well-known token shapes: GitHub (`ghp_`, `github_pat_`), Slack (`xox?-`, webhooks), Google API (`AIza`), GitLab (`glpat-`), npm, SendGrid, Stripe-like `sk_live_`',
    re: /(?<![A-Za-z0-9_\-])(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{30,255}|xox[abposr]-[A-Za-z0-9\-]{10,255}|AIza[0-9A-Za-z_\-]{30,64}|glpat-[A-Za-z0-9_\-]{20,255}|(?:sk|pk|rk|tok|whsec)_(?:live|test|prod)_[A-Za-z0-9]{8,255}|npm_[A-Za-z0-9]{36}|SG\.[A-Za-z0-9_\-]{16,64}\.[A-Za-z0-9_\-]{16,128}|sk-[A-Za-z0-9_\-]{32,255})|hooks\.slack\.com\/services\/[A-Za-z0-9\/_\-]{8,255}/g,
    replace: () => REDACTED,
    examples: [
      { text: 'GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789', secret: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' },
      { text: 'slack xoxb-1234567890-abcdefghij posted', secret: 'xoxb-1234567890-abcdefghij' },
      { text: 'maps AIzaSyA1234567890abcdefghijklmnopqrstuv ok', secret: 'AIzaSyA1234567890abcdefghijklmnopqrstuv' },
      { text: 'using key tok_live_4f9a8b7c6d5e4f3a2b1c for ERP', secret: 'tok_live_4f9a8b7c6d5e4f3a2b1c' },
      { text: 'POST https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX', secret: 'XXXXsecretXXXX' },
    ],
    negatives: ['ghp_short', 'task sk-12 done'],
  },
  {
    id: 'aws-access-key',
    description: 'AWS access key ids (`AKIA...`, `ASIA...`)',
    re: /(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    replace: () => REDACTED,
    examples: [{ text: 'aws key AKIAIOSFODNN7EXAMPLE used', secret: 'AKIAIOSFODNN7EXAMPLE' }],
    negatives: ['AKIA is a prefix'],
  },
  {
    id: 'private-key-base64',
    description: 'base64 DER keys without PEM armour (`MII...`)',
    re: /(?<![A-Za-z0-9+\/])MII[A-Za-z0-9+\/]{20,65536}={0,2}/g,
    replace: () => REDACTED,
    examples: [{ text: 'key MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', secret: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC' }],
    negatives: ['MIIS is a word'],
  },
  {
    id: 'xml-setting',
    description: 'the `value` of `<add>`/`<setting>`/`<param>`/`<property>`/... whose `key`/`name` is a secret\'s name, the value possibly on a following line',
    re: /<([A-Za-z_][\w:.\-]{0,127})\b[^<>]{0,8192}(?:>|(?=<)|$)/g,
    replace: ([tag, element]) => {
      // <add key="DbPassword" value=...>, or an element itself named as a secret: <Password value=...>
      const name = /\b(?:key|name|id)\s{0,8}=\s{0,8}(["'])(.{0,256}?)\1/i.exec(tag)?.[2] ?? element.replace(/^.*:/, '');
      if (!name || !isSecretName(name)) return tag;
      return tag.replace(/(\bvalue\s{0,8}=\s{0,8})(["'])([\s\S]{0,8192}?)\2/i, (m, head: string, q: string, v: string) => (isHarmless(v) ? m : `${head}${q}${REDACTED}${q}`));
    },
    examples: [
      { text: '<add key="LdapBindPassword" value="Ldap-Bind-S3cret" />', secret: 'Ldap-Bind-S3cret' },
      { text: "<add value='v3ry-s3cret' key='SmtpPassword'/>", secret: 'v3ry-s3cret' },
      { text: '<add key="Erp.ApiToken"\n     value="Next-Line-T0ken" />', secret: 'Next-Line-T0ken' },
      { text: '<setting name="ApiToken" value="abcDEF123456ghi" serializeAs="String"/>', secret: 'abcDEF123456ghi' },
      { text: '<ProxyPassword value="Elem-Attr-Pw"/>', secret: 'Elem-Attr-Pw' },
    ],
    negatives: ['<add key="TracerLevel" value="Info" />', '<add key="PasswordExpiryDays" value="30" />', '<Timeout value="30"/>'],
  },
  {
    id: 'xml-setting-element',
    description: 'the `<value>` element of a `<setting name="...Password">` (applicationSettings), also across lines and in CDATA',
    re: /<(setting|add|param|property|entry|item|variable)\b([^<>]{0,4096})>(\s{0,1024})<value>((?:<!\[CDATA\[(?:[^\]]|\](?!\]>)){0,65536}\]\]>|[^<]){0,65536})<\/value>/gi,
    replace: ([m, tag, attrs, space, value]) => {
      const name = /\b(?:key|name)\s{0,8}=\s{0,8}(["'])(.{0,256}?)\1/i.exec(attrs)?.[2];
      if (!name || !isSecretName(name) || isHarmless(value.replace(/^<!\[CDATA\[|\]\]>$/g, ''))) return m;
      return `<${tag}${attrs}>${space}<value>${REDACTED}</value>`;
    },
    examples: [
      { text: '<setting name="SmtpPassword" serializeAs="String"><value>Smtp-S3tting-Pw</value></setting>', secret: 'Smtp-S3tting-Pw' },
      { text: '<setting name="DbPassword" serializeAs="String">\r\n  <value><![CDATA[Cdata-Pw-77]]></value>\r\n</setting>', secret: 'Cdata-Pw-77' },
    ],
    negatives: ['<setting name="PasswordMinLength" serializeAs="String"><value>8</value></setting>'],
  },
  {
    id: 'xml-element',
    description: 'the text of elements named as a secret (`<Password>`, `<ns:ClientSecret>`, `<validationKey>`), CDATA included',
    re: /<((?:[A-Za-z_][\w.\-]{0,63}:)?[A-Za-z_][\w.\-]{0,127})((?:\s[^<>]{0,4096})?)>((?:<!\[CDATA\[(?:[^\]]|\](?!\]>)){0,65536}\]\]>|[^<]){1,65536})<\/\1\s{0,16}>/g,
    replace: ([m, tag, attrs, value]) => {
      const inner = value.trim().replace(/^<!\[CDATA\[|\]\]>$/g, '');
      const named = /\b(?:key|name)\s{0,8}=\s{0,8}(["'])(.{0,256}?)\1/i.exec(attrs)?.[2]; // <param name="password">x</param>
      if (!(isSecretName(tag.replace(/^.*:/, '')) || (named !== undefined && isSecretName(named))) || isHarmless(inner)) return m;
      return `<${tag}${attrs}>${REDACTED}</${tag}>`;
    },
    examples: [
      { text: '<ServiceAccount><UserName>svc</UserName><Password>Pl41n-T3xt</Password></ServiceAccount>', secret: 'Pl41n-T3xt' },
      { text: '<ClientSecret><![CDATA[Cd4ta-Secr3t]]></ClientSecret>', secret: 'Cd4ta-Secr3t' },
      { text: '<Password>\n  Multi-Line-Pw\n</Password>', secret: 'Multi-Line-Pw' },
      { text: '<param name="db.password">Param-Text-Pw</param>', secret: 'Param-Text-Pw' },
    ],
    negatives: ['<PasswordPolicy>strict</PasswordPolicy>', '<UserName>svc</UserName>'],
  },
  {
    id: 'json-secret',
    description: 'JSON (and .reg) members named as a secret: `"password": "..."`, `"client_secret": "..."`, `"private_key": "..."`',
    re: /(["'])([^"'\\\r\n]{1,256})\1(\s{0,64}(?::|=>?)\s{0,64})("(?:[^"\\\r\n]|\\.){0,16384}"|'(?:[^'\\\r\n]|\\.){0,16384}'|-?\d[\d.eE+\-]{0,64})/g,
    replace: ([m, q, name, sep, value]) => {
      if (!isSecretName(name) || isHarmless(value) || (/connstr|connectionstring/i.test(name.replace(/[^a-z]/gi, '')) && /=|:\/\//.test(value))) return m;
      const vq = value[0] === "'" ? "'" : '"';
      return `${q}${name}${q}${sep}${vq}${REDACTED}${vq}`;
    },
    resume: ([m, , name, sep, value]) => (MAY_HOLD_SECRET.test(value) ? name.length + 2 + sep.length : m.length),
    examples: [
      { text: '{"user":"svc","password":"J50n-Pa55\\"word","port":1}', secret: 'J50n-Pa55' },
      { text: '  "clientSecret" : "c1i3nt-s3cr3t-value",', secret: 'c1i3nt-s3cr3t-value' },
      { text: '"Password"="Reg-Pa55"', secret: 'Reg-Pa55' },
      { text: '{"pin_password": 4711923}', secret: '4711923' },
      { text: "creds = {'user': 'svc', 'password': 'Py-Dict-Pw'}", secret: 'Py-Dict-Pw' },
    ],
    negatives: ['{"tasks": 12, "district": "North"}', '{"passwordExpiryDays": 30, "tokenEndpoint": "https://login.example/token"}'],
  },
  {
    id: 'json-escaped-secret',
    description: 'the same inside an escaped JSON string (`\\"password\\":\\"...\\"`)',
    re: /\\"([^"\\\r\n]{1,256})\\"([ \t]{0,8}:[ \t]{0,8})\\"((?:[^"\\\r\n]|\\(?!")){0,16384})\\"/g,
    replace: ([m, name, sep, value]) => (!isSecretName(name) || isHarmless(value) ? m : `\\"${name}\\"${sep}\\"${REDACTED}\\"`),
    examples: [{ text: 'payload="{\\"user\\":\\"a\\",\\"apiKey\\":\\"Esc4ped-K3y\\"}"', secret: 'Esc4ped-K3y' }],
    negatives: ['payload="{\\"user\\":\\"a\\"}"'],
  },
  {
    id: 'assignment-line',
    description: 'a whole-line assignment to a secret name (.env, .ini, YAML, `set`, `export`, `$env:`): the value runs to the end of the line',
    re: /^([ \t]{0,64}(?:export[ \t]{1,8}|set[ \t]{1,8}|SET[ \t]{1,8}|\$env:|-[ \t]{1,8})?)([$@]?[A-Za-z_][\w.\-]{0,127})([ \t]{0,8}(?::=|[:=])[ \t]{0,8})(?!["'`{\s])([^\r\n]{1,4096})/gm,
    replace: ([m, lead, name, sep, value]) => {
      if (!isSecretName(name) || isHarmless(value) || /^[|>][-+]?$/.test(value.trim())) return m;
      if (/;[ \t]{0,4}[A-Za-z][\w ]{0,40}=/.test(value)) return m; // a connection string: its own rule keeps the rest
      if (/connstr|connectionstring/i.test(name.replace(/[^a-z]/gi, '')) && /=|:\/\//.test(value)) return m;
      return `${lead}${name}${sep}${REDACTED}`;
    },
    examples: [
      { text: 'DB_PASSWORD=env pass with spaces', secret: 'env pass with spaces' },
      { text: 'password = ini value, with comma', secret: 'ini value, with comma' },
      { text: '  client_secret: yaml-Secr3t value', secret: 'yaml-Secr3t value' },
      { text: 'set SMTP_PASS=Cmd-Set-Pw', secret: 'Cmd-Set-Pw' },
      { text: 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    ],
    negatives: ['PasswordExpiryDays=30', 'TokenLifetimeMinutes: 60', 'password_policy: strict'],
  },
  {
    id: 'connection-string',
    description: 'connection-string secrets (`Password=`, `Pwd=`, `AccountKey=`, `SharedAccessKey=`, `SharedAccessSignature=`, `Client Secret=` ...), whole: quoted, ODBC `{a;b}` braces, spaces up to the next `;`',
    re: /(^|[;\s"'(\[{,])((?:(?:User|Application|Proxy|Account|Mail|Smtp|Admin|Db|Database|Key)[ _]?)?(?:Password|Passwd|Pwd|PW|Pass)|AccountKey|SharedAccess(?:Key|Signature)|SharedSecretValue|Client[ _]?Secret|(?:Access[ _]?)?Token|SASToken|Secret)([ \t]{0,4}=[ \t]{0,4})(\{(?:[^}\r\n]|\}\}){0,4096}\}|'(?:[^'\r\n]|''){0,4096}'|"(?:[^"\r\n]|""){0,4096}"|[^;"'<>=\r\n]{1,1024}(?=\r?\n|\r?$)|[^;"'<>\r\n]{1,256}(?=[;"'<>])|[^\s;"'<>]{1,4096})/gi,
    replace: ([m, lead, key, sep, value]) => (isHarmless(value) ? m : `${lead}${key}${sep}${mask(value)}`),
    examples: [
      { text: 'Data Source=DB01;Initial Catalog=W6;User ID=w6app;Password=Sql-Demo-Pa55w0rd!;Connect Timeout=30', secret: 'Sql-Demo-Pa55w0rd!' },
      { text: 'Server=db;User ID=sa;Password="a b c";Encrypt=true', secret: 'a b c' },
      { text: 'Driver={ODBC Driver 17};Server=db;UID=sa;PWD={Odbc;Br4ce}}s};', secret: 'Br4ce' },
      { text: "Server=db;User ID=sa;Password='q;uoted';Encrypt=true", secret: 'q;uoted' },
      { text: 'DefaultEndpointsProtocol=https;AccountName=clk;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net', secret: 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==' },
      { text: 'Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=Sb-K3y-Value=', secret: 'Sb-K3y-Value' },
      { text: 'Server=db;Password=spaced value here', secret: 'spaced value here' },
      { text: '2025-06-03 10:12:00 WARN login failed password=Hunter22 user=bob', secret: 'Hunter22' },
      { text: '<identity impersonate="true" userName="CORP\\svc" password="Imp-Pw 9"/>', secret: 'Imp-Pw 9' },
    ],
    negatives: ['Data Source=DB01;Initial Catalog=W6DB;User ID=w6app;Connect Timeout=30', 'PasswordExpiryDays=30'],
  },
  {
    id: 'powershell-securestring',
    description: 'the plain text given to PowerShell `ConvertTo-SecureString`',
    re: /(ConvertTo-SecureString(?:[ \t]{1,8}-(?:AsPlainText|Force|String)){0,4}[ \t]{1,8})("[^"\r\n]{0,4096}"|'[^'\r\n]{0,4096}'|[^\s"'()|-][^\s"'()|]{0,4095})/gi,
    replace: ([m, head, value]) => (value.startsWith('$') || isHarmless(value) ? m : `${head}${mask(value)}`),
    examples: [{ text: 'Set-Clk -Cred (ConvertTo-SecureString "Ps-S3cure!" -AsPlainText -Force)', secret: 'Ps-S3cure!' }],
    negatives: ['$cred = ConvertTo-SecureString $plain -AsPlainText -Force'],
  },
  {
    id: 'command-line-password',
    description: 'command-line passwords: `--password X`, `-Password \'X\'`, `/pass:X`, `-p X`/`-pX`/`-P X` after a user flag (`-u`, `-U`, `/user:`) or for mysql, sqlcmd, psexec, sshpass',
    re: /(?<![\w\-\/])(-{1,2}|\/)([A-Za-z][\w\-]{0,63})(?:([ \t]{1,8}|[ \t]{0,2}[:=][ \t]{0,2}|(?=["']))("[^"\r\n]{0,4096}"|'[^'\r\n]{0,4096}'|[^\s"']{1,4096}))?/g,
    replace: ([m, dash, flag, sep, value], ctx) => {
      if (SHORT_PASSWORD_FLAGS.has(flag) || flag === 'pw') {
        // -p is a port or a path as often as a password: only after a user flag (or for tools where it is always the password)
        if (flag !== 'pw' && !userFlagBefore(ctx)) return m;
        return value && !value.startsWith('-') && !isHarmless(value) ? `${dash}${flag}${sep}${mask(value)}` : m;
      }
      // mysql -pSecret: the password glued to -p
      if (dash === '-' && flag[0] === 'p' && (!/[a-z]/.test(flag[1]) || /\b(?:mysql|mariadb|mysqldump|mysqladmin)\b/i.test(ctx.input.slice(Math.max(0, ctx.offset - 256), ctx.offset))) && userFlagBefore(ctx))
        return `-p${REDACTED}${sep}${value}`;
      if (!value || !isSecretName(flag) || value.startsWith('-') || isHarmless(value)) return m;
      return `${dash}${flag}${sep}${mask(value)}`;
    },
    resume: ([m, dash, flag, , value]) => (value.startsWith('-') || value.startsWith('/') || MAY_HOLD_SECRET.test(value) ? dash.length + flag.length : m.length),
    examples: [
      { text: 'w6admin.exe --password Cli-Pa55 --verbose', secret: 'Cli-Pa55' },
      { text: 'sqlcmd -S db01 -U sa -P Sqlcmd-Pw1 -Q "select 1"', secret: 'Sqlcmd-Pw1' },
      { text: 'mysql -u root -pMy-Sql-Pw db', secret: 'My-Sql-Pw' },
      { text: 'psexec \\\\app01 -u CORP\\svc -p "Ps Exec Pw" cmd', secret: 'Ps Exec Pw' },
      { text: "Install-Clk -Password 'Ps1-Pa55' -Force", secret: 'Ps1-Pa55' },
      { text: 'cmdkey /add:srv /user:svc /pass:Cmdkey-Pw', secret: 'Cmdkey-Pw' },
      { text: 'plink -ssh admin@host -pw Plink-Pw', secret: 'Plink-Pw' },
      { text: "sqlcmd -S db -U sa -P'Glued-Quoted-Pw'", secret: 'Glued-Quoted-Pw' },
    ],
    negatives: ['ssh -p 22 host', 'tool --password-file /etc/clk/pw --verbose', 'copy /Y a b'],
  },
  {
    id: 'command-line-userpass',
    description: 'the password in `-u user:password` / `--user user:password` (curl)',
    re: /(?<![\w\-])(-u|--user)([ \t]{1,8}|=)("?)([^\s:"']{1,256}):([^\s"']{1,4096})/g,
    replace: ([m, flag, sep, q, user, pass]) => (isHarmless(pass) ? m : `${flag}${sep}${q}${user}:${REDACTED}`),
    examples: [{ text: 'curl -u admin:Curl-Pa55 https://erp/api', secret: 'Curl-Pa55' }],
    negatives: ['curl -u admin https://erp/api'],
  },
  {
    id: 'net-use-password',
    description: 'the password given positionally to `net use \\\\server\\share <password>` and `net user <name> <password>`',
    re: /\bnet(?:\.exe)?[ \t]{1,4}(use(?:[ \t]{1,4}[A-Za-z]:|[ \t]{1,4}\*)?[ \t]{1,4}\\\\[^\s]{1,512}(?:[ \t]{1,8}\/user:[^\s]{1,256})?|user(?:[ \t]{1,4}\/domain)?[ \t]{1,4}(?:"[^"\r\n]{1,256}"|[^\s\/"]{1,256}))([ \t]{1,8})(?![\/*])("[^"\r\n]{1,1024}"|[^\s"]{1,1024})/gi,
    replace: ([m, what, sep, value]) => (isHarmless(value) ? m : `net ${what}${sep}${mask(value)}`),
    examples: [
      { text: 'net use Z: \\\\fs01\\clk Net-Use-Pw /user:CORP\\svc', secret: 'Net-Use-Pw' },
      { text: 'net user clkadmin Net-User-Pw /add', secret: 'Net-User-Pw' },
      { text: 'net use \\\\srv\\share /user:dom\\u Net-After-User', secret: 'Net-After-User' },
    ],
    negatives: ['net use Z: \\\\fs01\\clk /user:CORP\\svc', 'net use'],
  },
  {
    id: 'yaml-name-value',
    description: 'a `name:`/`<name>` naming a secret followed by its `value:`/`<value>` on the next line (Kubernetes env lists, Hadoop-style XML)',
    re: /(^|\n)([ \t\-]{0,64}(?:name|key)[ \t]{0,8}:[ \t]{0,8}["']?)([\w.\-]{1,128})(["']?[ \t]{0,8}\r?\n[ \t]{0,64}value[ \t]{0,8}:[ \t]{0,8})([^\r\n]{1,4096})|<(name|key)>([^<\r\n]{1,256})<\/(?:name|key)>(\s{0,256})<value>([^<]{0,8192})<\/value>/g,
    replace: ([m, lead, head, name, mid, value, , xname, xspace, xvalue]) => {
      if (xname !== undefined && xname !== '') return isSecretName(xname) && !isHarmless(xvalue) ? m.slice(0, m.length - xvalue.length - 8) + `${REDACTED}</value>` : m;
      void xspace;
      return isSecretName(name) && !isHarmless(value) ? `${lead}${head}${name}${mid}${REDACTED}` : m;
    },
    examples: [
      { text: '- name: DB_PASSWORD\n  value: K8s-Env-Pw', secret: 'K8s-Env-Pw' },
      { text: '<property><name>ldap.bind.password</name>\n<value>Hadoop-Pw</value></property>', secret: 'Hadoop-Pw' },
    ],
    negatives: ['- name: DB_HOST\n  value: db01'],
  },
  {
    id: 'key-value-secret',
    description: '`name=value`, `name: value`, `name = "a b"`, URL-encoded `name%3Dvalue` with a secret\'s name (password, passwd, pwd, pass, secret, token, api key, client secret, private/access/account key, credentials, sas, sig, machineKey validationKey/decryptionKey, `sap-password` ...), in text logs, query strings, XML attributes',
    re: new RegExp(String.raw`${NAME}(${WS}{0,8}(?::=|=>|[:=]|%3[dDaA]|%253[dD])${WS}{0,8})(${QUOTED}|${BARE})`, 'g'),
    replace: ([m, name, sep, value]) => {
      if (!isSecretName(name) || isHarmless(value)) return m;
      if (/connstr|connectionstring/i.test(name.replace(/[^a-z]/gi, '')) && /=|:\/\//.test(value)) return m;
      if (sep.trim().startsWith(':') && /^\/\//.test(value)) return m; // token://... is a URL, not a value
      return `${name}${sep}${mask(value)}`;
    },
    resume: ([m, name, sep, value]) => (MAY_HOLD_SECRET.test(value) ? name.length + sep.length : m.length),
    examples: [
      { text: '2025-06-03 10:12:00 WARN login failed api_key=Hunter22 user=bob', secret: 'Hunter22' },
      { text: 'GET /cb?code=1&access_token=qwertyuiop123&state=x', secret: 'qwertyuiop123' },
      { text: 'GET /sap/bc/gui?sap-client=100&sap-user=clk&sap-password=Sap-Pw-1', secret: 'Sap-Pw-1' },
      { text: 'redirect?password%3DUrl-Enc-Pw%26next', secret: 'Url-Enc-Pw' },
      { text: '<machineKey validationKey="A1B2C3D4E5F6" decryptionKey="F6E5D4C3B2A1" validation="SHA1"/>', secret: 'A1B2C3D4E5F6' },
      { text: '<wcf:credentials userName="clk" signingKey="Smtp-Net Pw"/>', secret: 'Smtp-Net Pw' },
      { text: 'https://st.blob.core.windows.net/c?sv=2021-06-08&sig=Sas%2BSig%3D&se=2030', secret: 'Sas%2BSig' },
      { text: 'java -Ddb.password=Java-Prop-Pw -jar clk.jar', secret: 'Java-Prop-Pw' },
      { text: '[default] aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX', secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEX' },
    ],
    negatives: ['Token count: 5', 'PasswordExpiryDays=30', 'tokenEndpoint=https://login.example/token', 'enablePasswordReset="true"'],
  },
  {
    id: 'credential-constructor',
    description: 'the password given to `NetworkCredential(user, password)` / `PSCredential` / `SqlCredential` in scripts and logs',
    re: /((?:NetworkCredential|PSCredential|SqlCredential|PasswordCredential)[ \t]{0,4}(?:\]::new|\(|::new\()?[ \t]{0,4}\(?[ \t]{0,4}(?:"[^"\r\n]{0,256}"|'[^'\r\n]{0,256}'|\$?[\w.]{1,128})[ \t]{0,4},[ \t]{0,4})("[^"\r\n]{1,1024}"|'[^'\r\n]{1,1024}')/g,
    replace: ([m, head, value]) => (isHarmless(value) ? m : `${head}${mask(value)}`),
    examples: [{ text: "[System.Net.NetworkCredential]::new('svc', 'Net-Cred-Pw')", secret: 'Net-Cred-Pw' }],
    negatives: ['new NetworkCredential(user, securePassword)'],
  },
  {
    id: 'free-text-password',
    description: 'a quoted value after the word password/passphrase/secret in free text (`password \'X\'`, `password is "X"`)',
    re: /(?<![\w\-])(passw(?:or)?d|passwort|kennwort|passphrase|pwd|secret)([ \t]{1,8}(?:(?:is|was|set to|of|to)[ \t]{1,8})?)("[^"\r\n]{1,1024}"|'[^'\r\n]{1,1024}'|\x60[^\x60\r\n]{1,1024}\x60|[^\s"'<>=:]{4,256})/gi,
    replace: ([m, word, sep, value]) => {
      if (isHarmless(value)) return m;
      // a bare word counts only when it does not read as English: digits, inner capitals or symbols
      if (!/^["'\x60]/.test(value) && !/\d|.[A-Z]|[!@#$%^&*+=~|{}[\]\/\\]/.test(value)) return m;
      return `${word}${sep}${mask(value)}`;
    },
    examples: [
      { text: "login failed with password 'Free-Text-Pw' for bob", secret: 'Free-Text-Pw' },
      { text: 'the new password is "Quoted Pw 2"', secret: 'Quoted Pw 2' },
      { text: 'ERROR login for bob with pwd Bare7Word', secret: 'Bare7Word' },
    ],
    negatives: ['password policy', 'the password was changed yesterday', 'Password Expired for user x'],
  },
];

/** The rule table for docs/bundle.md (the test keeps the page in step with this). */
export function rulesMarkdownTable(): string {
  const rows = [
    '| rule | what it removes |',
    '|---|---|',
    '| `pem-block` | whole PEM blocks (`-----BEGIN ...-----` to `-----END ...-----`: private keys of every kind, certificates), across any number of lines |',
    ...RULES.map((r) => `| \`${r.id}\` | ${r.description.replace(/\|/g, '\\|')} |`),
  ];
  return `${rows.join('\n')}\n`;
}
