// Redaction of secrets in text (configuration files, text logs) before anything enters a bundle.
// Works line by line on a stream, holding at most one (bounded) line plus one chunk: a PEM block is
// dropped from its BEGIN line to its END line whatever the chunking. Bytes are handled as latin1 so
// that any encoding except UTF-16 round-trips exactly; UTF-16LE (BOM FF FE) is detected and decoded.
// The report counts matches per rule; the values themselves are never kept.
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { RULES, REDACTED, isSecretName, type RedactionRule } from './redaction-rules.js';

export interface RedactionCounts {
  [rule: string]: number;
}

export { REDACTED, RULES, isSecretName, rulesMarkdownTable, type RedactionRule } from './redaction-rules.js';
/** A longer "line" (no newline) is cut at a separator near this size, so memory stays bounded. */
export const MAX_LINE_CHARS = 1024 * 1024;
/** A construct open at the end of a line (a tag, a CDATA section, a `name:` waiting for its value) holds at most this much. */
export const MAX_HOLD_LINES = 8;
export const MAX_HOLD_CHARS = 64 * 1024;

interface Rule {
  id: string;
  re: RegExp;
  replace: RedactionRule['replace'];
  resume?: RedactionRule['resume'];
}

/**
 * Every rule needs one of these on a line: a line without any of them is copied untouched (the fast
 * path). Keep in step with RULES when adding one; the property test in redact.test.ts checks it.
 */
// Factored by first letter: irregexp scans this about twice as fast as the flat alternation.
const TRIGGER =
  /p(?:ass|wd|w\b|rivate|in\b)|s(?:ecret|haredaccess|igning|ig=|as|ecure)|t(?:oken)|c(?:redential|onnstr|onnectionstring)|k(?:ennwort|ey)|a(?:pi[_-]?key|cc(?:ess|ount)[_-]?key|uth|kia|sia|gpa|ida|roa|iza)|bearer|cookie|login[ \t]|:\/\/|mii|eyj|_(?:live|test|prod)_|g(?:h[pousr]_|ithub_pat_|lpat-)|x(?:ox[abposr]-)|npm_|sg\.|sk-|hooks|net(?:\.exe)?[ \t]|-----(?:begin|end)|-[pu]\b|\/(?:p|rp|u)\b|<[A-Za-z!][^<>\n]*(?=\r?\n)|(?:name|key)\s*:|<(?:name|key|value)>|\\"/gi;

/** UTF-16 by its BOM (LE or BE), or LE without one when ASCII text shows as x 00 x 00; else bytes as latin1. */
function detectEncoding(head: Buffer): 'latin1' | 'utf16le' | 'utf16be' {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf16be';
  if (head.length >= 4 && head[0] !== 0 && head[1] === 0 && head[2] !== 0 && head[3] === 0) return 'utf16le';
  return 'latin1';
}

const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----/;
const PEM_END = /-----END ([A-Z0-9 ]{1,64})-----/;

/** Whether the text held so far ends inside a construct whose secret may be on the next line. */
function isOpen(block: string): boolean {
  const end = block.replace(/[\r\n]+$/, '');
  const lastLt = end.lastIndexOf('<');
  if (lastLt >= 0 && lastLt > end.lastIndexOf('>') && /^<[A-Za-z!]/.test(end.slice(lastLt, lastLt + 2))) return true; // <add key="X"⏎ value=...
  const cdata = end.lastIndexOf('<![CDATA[');
  if (cdata >= 0 && end.indexOf(']]>', cdata) < 0) return true;
  const trimmed = end.trimEnd();
  const lastLine = trimmed.slice(trimmed.lastIndexOf('\n') + 1).slice(-1024);
  // <setting name="DbPassword" ...>⏎ <value>...</value>, <Password>⏎ x ⏎</Password>: a secret element still open
  const tags = /<([A-Za-z_][\w:.-]{0,127})((?:\s[^<>]{0,4096})?)>/g;
  for (let m = tags.exec(end); m; m = tags.exec(end)) {
    if (m[2].endsWith('/')) continue;
    const name = /\b(?:key|name)\s*=\s*(["'])(.{0,256}?)\1/i.exec(m[2])?.[2] ?? m[1].replace(/^.*:/, '');
    if (isSecretName(name) && end.indexOf(`</${m[1]}`, m.index) < 0) return true;
  }
  const xmlName = /<(?:name|key)>([^<]{1,256})<\/(?:name|key)>\s*$/.exec(lastLine);
  if (xmlName && isSecretName(xmlName[1])) return true;
  // - name: DB_PASSWORD⏎  value: x   /   "password":⏎ "x"
  const yaml = /^[ \t-]{0,64}(?:name|key)[ \t]{0,8}:[ \t]{0,8}["']?([\w.-]{1,128})["']?$/.exec(lastLine);
  if (yaml && isSecretName(yaml[1])) return true;
  const jsonKey = /"([^"]{1,256})"\s*:\s*$/.exec(lastLine);
  return Boolean(jsonKey && isSecretName(jsonKey[1]));
}

export interface RedactorOptions {
  /** more secret shapes: every match is replaced whole (rule id `custom-<n>`); the g flag is added */
  extraPatterns?: RegExp[];
  /** applied after redaction to every line (consistent pseudonyms for hosts, IPs and users) */
  anonymizer?: { text(s: string): string };
  /** applied after redaction, before the anonymizer (e.g. the collecting machine's paths → `<local>`); with
   * `pattern` (what a line must contain for scrub to change it) the fast path stays on */
  scrub?: ((s: string) => string) & { pattern?: RegExp };
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

  /** Rules on a piece of text (one line, or a few held together; no PEM handling). */
  const redactBlock = (block: string, local: RedactionCounts): string => {
    let out = block;
    for (const rule of rules) {
      rule.re.lastIndex = 0;
      if (!rule.re.test(out)) continue;
      rule.re.lastIndex = 0;
      let n = 0;
      const input = out;
      let result = '';
      let last = 0; // input before this offset is already in result
      rule.re.lastIndex = 0;
      for (let m = rule.re.exec(input); m; m = rule.re.exec(input)) {
        const groups = Array.from(m, (g) => g ?? '');
        const r = rule.replace(groups, { offset: m.index, input });
        if (r === m[0]) {
          // unchanged: look again inside it (after the name) when the rule says so
          const step = rule.resume ? Math.max(1, Math.min(m[0].length, rule.resume(groups))) : Math.max(1, m[0].length);
          rule.re.lastIndex = m.index + step;
          continue;
        }
        n++;
        result += input.slice(last, m.index) + r;
        last = m.index + m[0].length;
        rule.re.lastIndex = Math.max(last, m.index + 1);
      }
      out = n ? result + input.slice(last) : input;
      add(local, rule.id, n);
    }
    if (opts.scrub) out = opts.scrub(out);
    return opts.anonymizer ? opts.anonymizer.text(out) : out;
  };

  /**
   * Line state machine shared by the stream and the whole-text API: PEM blocks are dropped line by
   * line; a line that ends inside a construct (an open tag, CDATA, `name:` awaiting `value:`) is held
   * with the next ones, at most MAX_HOLD_LINES / MAX_HOLD_CHARS, so a secret on the next line is seen.
   */
  class LineRedactor {
    inPem = false;
    private held: string[] = [];
    private heldChars = 0;
    constructor(readonly local: RedactionCounts) {}
    get holding(): boolean {
      return this.held.length > 0;
    }
    /** One line (without its terminator) and its terminator → the text to emit now ('' while held or dropped). */
    feed(text: string, term: string): string {
      const { out, drop } = this.pem(text);
      if (drop) return '';
      this.held.push(out + term);
      this.heldChars += out.length + term.length;
      if (term && this.held.length < MAX_HOLD_LINES && this.heldChars < MAX_HOLD_CHARS && isOpen(this.held.join(''))) return '';
      return this.flush();
    }
    flush(): string {
      if (!this.held.length) return '';
      const block = this.held.join('');
      this.held = [];
      this.heldChars = 0;
      return redactBlock(block, this.local);
    }
    /** PEM blocks out of one line; what remains is redacted later with the rules. */
    private pem(text: string): { out: string; drop: boolean } {
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
        prefix += rest.slice(0, begin.index) + `[REDACTED PEM ${begin[1]}]`;
        const after = rest.slice(begin.index + begin[0].length);
        const end = PEM_END.exec(after);
        if (!end) {
          this.inPem = true;
          return { out: prefix, drop: false };
        }
        rest = after.slice(end.index + end[0].length);
      }
      return { out: prefix + rest, drop: false };
    }
  }

  const commit = (local: RedactionCounts) => {
    for (const [k, v] of Object.entries(local)) add(totals, k, v);
  };

  const redactor: Redactor = {
    redactText(text: string) {
      const local: RedactionCounts = {};
      const lr = new LineRedactor(local);
      let out = '';
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl === -1) break;
        const raw = text.slice(start, nl);
        const cr = raw.endsWith('\r');
        out += lr.feed(cr ? raw.slice(0, -1) : raw, cr ? '\r\n' : '\n');
        start = nl + 1;
      }
      if (start < text.length) out += lr.feed(text.slice(start), '');
      out += lr.flush();
      commit(local);
      return { text: out, counts: local };
    },

    chunker() {
      // Counts go straight to the totals, so that a stream cut short (cap, timeout) still reports them.
      const lr = new LineRedactor(totals);
      const fastPath = !opts.anonymizer && !opts.extraPatterns?.length && (!opts.scrub || opts.scrub.pattern !== undefined);
      const trigger = opts.scrub?.pattern ? new RegExp(`${TRIGGER.source}|${opts.scrub.pattern.source}`, 'gi') : TRIGGER;
      let encoding: 'latin1' | 'utf16le' | 'utf16be' | undefined;
      let decoder: StringDecoder | undefined;
      let oddByte: Buffer | undefined; // UTF-16BE: a code unit split across chunks
      const encode = (text: string): Buffer => {
        if (encoding === 'utf16le') return Buffer.from(text, 'utf16le');
        if (encoding === 'utf16be') return Buffer.from(text, 'utf16le').swap16();
        return Buffer.from(text, 'latin1');
      };
      const decode = (buf: Buffer): string => {
        if (!decoder) return buf.toString('latin1');
        if (encoding !== 'utf16be') return decoder.write(buf);
        let b = oddByte ? Buffer.concat([oddByte, buf]) : buf;
        oddByte = undefined;
        if (b.length % 2) {
          oddByte = Buffer.from(b.subarray(b.length - 1));
          b = b.subarray(0, b.length - 1);
        }
        return decoder.write(Buffer.from(b).swap16());
      };
      let pending = '';
      let bomChecked = false;
      let head = Buffer.alloc(0);

      const emitLines = (final: boolean): Buffer | undefined => {
        let out = '';
        let start = 0;
        const one = (from: number, nl: number) => {
          const raw = pending.slice(from, nl);
          const cr = raw.endsWith('\r');
          out += lr.feed(cr ? raw.slice(0, -1) : raw, cr ? '\r\n' : '\n');
        };
        for (;;) {
          if (lr.inPem || lr.holding || !fastPath) {
            const nl = pending.indexOf('\n', start);
            if (nl === -1) break;
            one(start, nl);
            start = nl + 1;
            continue;
          }
          // Fast path: lines without any trigger cannot change, so they are copied as they are.
          trigger.lastIndex = start;
          const m = trigger.exec(pending);
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
          out += lr.feed(pending.slice(0, cut), '');
          pending = pending.slice(cut);
        }
        if (final) out += lr.flush();
        return out ? encode(out) : undefined;
      };

      return {
        write(chunk: Buffer): Buffer | undefined {
          let buf = chunk;
          if (!bomChecked) {
            head = Buffer.concat([head, buf]);
            if (head.length < 4) return undefined;
            bomChecked = true;
            encoding = detectEncoding(head);
            decoder = encoding === 'latin1' ? undefined : new StringDecoder('utf16le');
            buf = head;
            head = Buffer.alloc(0);
          }
          pending += decode(buf);
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
