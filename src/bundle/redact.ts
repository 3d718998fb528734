// Redaction of secrets in text (configuration files, text logs) before anything enters a bundle.
// Works line by line on a stream, holding at most one (bounded) line plus one chunk: a PEM block is
// dropped from its BEGIN line to its END line whatever the chunking. Bytes are handled as latin1 so
// that any encoding except UTF-16 round-trips exactly; UTF-16LE (BOM FF FE) is detected and decoded.
// The report counts matches per rule; the values themselves are never kept.
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export interface RedactionCounts {
  [rule: string]: number;
}

export const REDACTED = '[REDACTED]';
/** A longer "line" (no newline) is cut at a separator near this size, so memory stays bounded. */
export const MAX_LINE_CHARS = 1024 * 1024;

/** Names whose value is a secret (in key=value, JSON, XML settings and elements). */
const SECRET_NAME = String.raw`[\w.-]*(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|account[_-]?key|signing[_-]?key|encryption[_-]?key|credential)[\w.-]*`;
const SECRET_NAME_RE = new RegExp(`^${SECRET_NAME}$`, 'i');

type Replacer = (match: string, ...groups: string[]) => string;
interface Rule {
  id: string;
  re: RegExp;
  /** returns the replacement, or the match itself when it should stay */
  replace: Replacer;
}

const isRedacted = (v: string) => v.replace(/^["']|["']$/g, '') === REDACTED || v === '';

const RULES: Rule[] = [
  {
    // https://user:pass@host → keep the user, drop the password
    id: 'url-credentials',
    re: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@"'<>]+):([^\s/@"'<>]+)@/gi,
    replace: (m, scheme, user, pass) => (isRedacted(pass) ? m : `${scheme}${user}:${REDACTED}@`),
  },
  {
    id: 'authorization-header',
    re: /\b(Authorization\s*[:=]\s*"?)(Bearer|Basic|Digest|NTLM|Negotiate|Token|SharedKey|SAS)\s+[^\s"',;]+/gi,
    replace: (_m, head, scheme) => `${head}${scheme} ${REDACTED}`,
  },
  {
    id: 'bearer-token',
    re: /\b(Bearer\s+)(?!\[REDACTED\])[A-Za-z0-9\-._~+/]{8,}=*/g,
    replace: (_m, head) => `${head}${REDACTED}`,
  },
  {
    // PEM content without its header (e.g. a base64 DER key pasted into a setting): MII... is an ASN.1 SEQUENCE
    id: 'private-key-base64',
    re: /\bMII[A-Za-z0-9+/]{20,}={0,2}/g,
    replace: () => REDACTED,
  },
  {
    // <add key="DbPassword" value="..."/>, <setting name="ApiToken" value="..."/>, either attribute order
    id: 'xml-setting',
    re: /<(?:add|setting|param|parameter|property|entry|item)\b[^>]*>/gi,
    replace: (tag) => {
      const name = /\b(?:key|name)\s*=\s*(["'])(.*?)\1/i.exec(tag)?.[2];
      if (!name || !SECRET_NAME_RE.test(name)) return tag;
      return tag.replace(/\b(value\s*=\s*)(["'])(.*?)\2/i, (m, head, q, v) => (isRedacted(v) ? m : `${head}${q}${REDACTED}${q}`));
    },
  },
  {
    // <Password>...</Password>, <ns:ClientSecret>...</ns:ClientSecret>
    id: 'xml-element',
    re: new RegExp(String.raw`<((?:[\w-]+:)?${SECRET_NAME})(\s[^>]*)?>([^<]+)</\1>`, 'gi'),
    replace: (m, tag, attrs, value) => (isRedacted(value.trim()) ? m : `<${tag}${attrs ?? ''}>${REDACTED}</${tag}>`),
  },
  {
    // "password": "...", "apiKey":"..."
    id: 'json-secret',
    re: new RegExp(String.raw`("${SECRET_NAME}"\s*:\s*)"((?:[^"\\]|\\.)*)"`, 'gi'),
    replace: (m, head, value) => (isRedacted(value) ? m : `${head}"${REDACTED}"`),
  },
  {
    // Connection strings: Password=..., Pwd=..., AccountKey=...; "User ID" and the rest are kept
    id: 'connection-string',
    // A value runs to the next ';' or closing quote; a value with nothing after it (end of line, plain
    // text) stops at whitespace so that the rest of a log line is not swallowed.
    re: /(^|[;\s"'(])((?:Password|Pwd|AccountKey|SharedAccessKey|SharedAccessSignature|Client\s?Secret)\s*=\s*)('[^']*'|"[^"]*"|[^;"'<>\r\n]*(?=[;"'<>])|[^\s;"'<>]*)/gi,
    replace: (m, lead, head, value) => {
      if (isRedacted(value.trim())) return m;
      const q = value.startsWith("'") || value.startsWith('"') ? value[0] : '';
      return `${lead}${head}${q}${REDACTED}${q}`;
    },
  },
  {
    id: 'api-token',
    re: /\b(?:(?:tok|sk|pk|rk|whsec)_(?:live|test|prod)_[A-Za-z0-9]{8,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,})\b/g,
    replace: () => REDACTED,
  },
  {
    id: 'aws-access-key',
    re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b/g,
    replace: () => REDACTED,
  },
  {
    id: 'jwt',
    re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
    replace: () => REDACTED,
  },
  {
    // password=..., Password: ..., aws_secret_access_key = ..., LdapBindPassword=..., ?access_token=...
    id: 'key-value-secret',
    re: new RegExp(String.raw`(?<![\w.-])(${SECRET_NAME})(\s*(?::|=)\s*)("[^"]*"|'[^']*'|[^\s,;&"'<>]+)`, 'gi'),
    replace: (m, name, sep, value) => {
      if (isRedacted(value)) return m;
      const q = value.startsWith("'") || value.startsWith('"') ? value[0] : '';
      return `${name}${sep}${q}${REDACTED}${q}`;
    },
  },
];

/**
 * Every rule above (and the PEM markers) needs one of these substrings on the line: a line without
 * any of them is copied untouched. Keep in step with RULES when adding one.
 */
// Factored by first letter: irregexp scans this about twice as fast as the flat alternation.
const TRIGGER = /p(?:ass|wd|rivate[_-]?key)|s(?:ecret|haredaccess|igning[_-]?key)|token|credential|a(?:pi[_-]?key|cc(?:ess|ount)[_-]?key|uthorization|kia|sia|gpa|ida|roa|iza)|bearer|:\/\/|mii|eyj|_(?:live|test|prod)_|g(?:h[pousr]_|ithub_pat_|lpat-)|xox[abprs]-|-----(?:begin|end)|encryption[_-]?key/gi;

const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----/;
const PEM_END = /-----END ([A-Z0-9 ]{1,64})-----/;

export interface RedactorOptions {
  /** more secret shapes: every match is replaced whole (rule id `custom-<n>`); the g flag is added */
  extraPatterns?: RegExp[];
  /** applied after redaction to every line (consistent pseudonyms for hosts, IPs and users) */
  anonymizer?: { text(s: string): string };
}

export interface Redactor {
  /** A streaming, line-aware Transform: bytes in, redacted bytes out; safe across chunk boundaries. */
  transform(): Transform;
  /** The same as transform() without a stream: feed chunks, get redacted bytes back (sync). */
  chunker(): { write(chunk: Buffer): Buffer | undefined; end(): Buffer | undefined };
  /** Redacts a whole text (the same rules; counts add to this redactor's totals). */
  redactText(text: string): { text: string; counts: RedactionCounts };
  /** Totals so far across everything this redactor processed. */
  counts(): RedactionCounts;
}

export function createRedactor(opts: RedactorOptions = {}): Redactor {
  const rules: Rule[] = [
    ...RULES,
    ...(opts.extraPatterns ?? []).map((re, i) => ({
      id: `custom-${i + 1}`,
      re: new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`),
      replace: () => REDACTED,
    })),
  ];
  const totals: RedactionCounts = {};
  const add = (into: RedactionCounts, rule: string, n: number) => {
    if (n > 0) into[rule] = (into[rule] ?? 0) + n;
  };

  /** Rules on one line (no PEM handling). */
  const redactLine = (line: string, local: RedactionCounts): string => {
    let out = line;
    for (const rule of rules) {
      rule.re.lastIndex = 0;
      if (!rule.re.test(out)) continue;
      rule.re.lastIndex = 0;
      let n = 0;
      out = out.replace(rule.re, (...args: unknown[]) => {
        const groups = args.slice(0, -2).filter((a) => typeof a === 'string' || a === undefined) as string[];
        const m = groups[0];
        const r = rule.replace(m, ...groups.slice(1).map((g) => g ?? ''));
        if (r !== m) n++;
        return r;
      });
      add(local, rule.id, n);
    }
    return opts.anonymizer ? opts.anonymizer.text(out) : out;
  };

  /** Line state machine shared by the stream and the whole-text API. */
  class LineRedactor {
    inPem = false;
    constructor(readonly local: RedactionCounts) {}
    /** One line without its terminator → its redacted form ('' when wholly inside a PEM block, with drop=true). */
    line(text: string): { out: string; drop: boolean } {
      let rest = text;
      let prefix = '';
      if (this.inPem) {
        const end = PEM_END.exec(rest);
        if (!end) return { out: '', drop: true };
        this.inPem = false;
        rest = rest.slice(end.index + end[0].length);
        if (rest.trim() === '') return { out: '', drop: true };
      }
      // Blocks that start (and maybe end) on this line; several can follow each other.
      for (;;) {
        const begin = PEM_BEGIN.exec(rest);
        if (!begin) break;
        add(this.local, 'pem-block', 1);
        prefix += redactLine(rest.slice(0, begin.index), this.local) + `[REDACTED PEM ${begin[1]}]`;
        const after = rest.slice(begin.index + begin[0].length);
        const end = PEM_END.exec(after);
        if (!end) {
          this.inPem = true;
          return { out: prefix, drop: false };
        }
        rest = after.slice(end.index + end[0].length);
      }
      return { out: prefix + redactLine(rest, this.local), drop: false };
    }
  }

  const commit = (local: RedactionCounts) => {
    for (const [k, v] of Object.entries(local)) add(totals, k, v);
  };

  const redactor: Redactor = {
    redactText(text: string) {
      const local: RedactionCounts = {};
      const lr = new LineRedactor(local);
      const out: string[] = [];
      const lines = text.split('\n');
      lines.forEach((raw, i) => {
        const cr = raw.endsWith('\r');
        const { out: o, drop } = lr.line(cr ? raw.slice(0, -1) : raw);
        const last = i === lines.length - 1;
        if (drop) return;
        out.push(o + (cr ? '\r' : '') + (last ? '' : '\n'));
      });
      commit(local);
      return { text: out.join(''), counts: local };
    },

    chunker() {
      // Counts go straight to the totals, so that a stream cut short (cap, timeout) still reports them.
      const lr = new LineRedactor(totals);
      const fastPath = !opts.anonymizer && !opts.extraPatterns?.length;
      let encoding: 'latin1' | 'utf16le' | undefined;
      let decoder: StringDecoder | undefined;
      let pending = '';
      let bomChecked = false;
      let head = Buffer.alloc(0);

      const emitLines = (final: boolean): Buffer | undefined => {
        let out = '';
        let start = 0;
        const one = (from: number, nl: number) => {
          const raw = pending.slice(from, nl);
          const cr = raw.endsWith('\r');
          const { out: o, drop } = lr.line(cr ? raw.slice(0, -1) : raw);
          if (!drop) out += `${o}${cr ? '\r' : ''}\n`;
        };
        for (;;) {
          if (lr.inPem || !fastPath) {
            const nl = pending.indexOf('\n', start);
            if (nl === -1) break;
            one(start, nl);
            start = nl + 1;
            continue;
          }
          // Fast path: lines without any trigger cannot change, so they are copied as they are.
          TRIGGER.lastIndex = start;
          const m = TRIGGER.exec(pending);
          const lastNl = pending.lastIndexOf('\n');
          if (!m) {
            if (lastNl >= start) {
              out += pending.slice(start, lastNl + 1);
              start = lastNl + 1;
            }
            break;
          }
          const lineStart = Math.max(start, pending.lastIndexOf('\n', m.index) + 1);
          const nl = pending.indexOf('\n', m.index);
          out += pending.slice(start, lineStart);
          start = lineStart;
          if (nl === -1) break;
          one(lineStart, nl);
          start = nl + 1;
        }
        pending = pending.slice(start);
        if (pending.length > MAX_LINE_CHARS || (final && pending.length > 0)) {
          // Cut an over-long line at a separator so that a token is not split in two.
          let cut = pending.length;
          if (!final) {
            const window = pending.slice(-4096);
            const sep = Math.max(window.lastIndexOf(' '), window.lastIndexOf(';'), window.lastIndexOf(','), window.lastIndexOf('>'), window.lastIndexOf('\t'));
            if (sep >= 0) cut = pending.length - window.length + sep + 1;
          }
          const { out: o, drop } = lr.line(pending.slice(0, cut));
          if (!drop) out += o;
          pending = pending.slice(cut);
        }
        return out ? Buffer.from(out, encoding ?? 'latin1') : undefined;
      };

      return {
        write(chunk: Buffer): Buffer | undefined {
          let buf = chunk;
          if (!bomChecked) {
            head = Buffer.concat([head, buf]);
            if (head.length < 2) return undefined;
            bomChecked = true;
            encoding = head[0] === 0xff && head[1] === 0xfe ? 'utf16le' : 'latin1';
            decoder = encoding === 'utf16le' ? new StringDecoder('utf16le') : undefined;
            buf = head;
            head = Buffer.alloc(0);
          }
          pending += decoder ? decoder.write(buf) : buf.toString('latin1');
          return emitLines(false);
        },
        end(): Buffer | undefined {
          if (!bomChecked && head.length) {
            encoding = 'latin1';
            pending += head.toString('latin1');
          }
          if (decoder) pending += decoder.end();
          const out = emitLines(true);
          return out;
        },
      };
    },

    transform() {
      const c = redactor.chunker();
      return new Transform({
        // Room for a 1 MiB read, so that reading runs ahead of redaction.
        highWaterMark: 1024 * 1024,
        transform(chunk: Buffer, _enc, cb: TransformCallback) {
          try {
            const out = c.write(chunk);
            cb(null, out);
          } catch (err) {
            cb(err as Error);
          }
        },
        flush(cb: TransformCallback) {
          try {
            cb(null, c.end());
          } catch (err) {
            cb(err as Error);
          }
        },
      });
    },

    counts() {
      return { ...totals };
    },
  };
  return redactor;
}
