// Text that leaves for SAP outside a bundle file's own bytes (incident texts in every format,
// collector.log and manifest reasons, incident.txt) goes through one filter: the redaction rules,
// then the collecting machine's paths shown relative to the farm file or as `<local>`, then with
// --anonymize the run's one Anonymizer. Padding and tables are rendered AFTER this, from the
// filtered values, so that their widths say nothing about the real names.
import { homedir, tmpdir } from 'node:os';
import { realpathSync } from 'node:fs';
import { chmod, link, rm, writeFile } from 'node:fs/promises';
import { restrictToOwner } from '../owner-only.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createRedactor, type Redactor } from './redact.js';
import { Anonymizer } from './anonymize.js';

export const LOCAL = '<local>';

/** What the farm file says about names and local paths (structurally: bundle does not know farm/). */
export interface FarmNames {
  file: string;
  servers: readonly {
    name: string;
    transport: { type: string; host?: string; user?: string; root?: string; drives?: Record<string, string>; identityFile?: string; knownHosts?: string };
    endpoints?: readonly { host: string }[];
  }[];
}

function variants(p: string): string[] {
  const out = new Set([p]);
  try {
    out.add(realpathSync(p));
  } catch {
    // not there (any more): the path as given is enough
  }
  return [...out];
}

/**
 * Replaces the collecting machine's absolute paths: under the farm file's folder → relative to it,
 * under the home, temp or working folder (or a share root outside the farm folder) → `<local>`.
 */
export function localPathScrubber(opts: { farmFile?: string; cwd?: string; extraRoots?: readonly string[] }): ((s: string) => string) & { pattern?: RegExp } {
  const roots: { path: string; relative: boolean }[] = [];
  const add = (p: string | undefined, relative: boolean) => {
    if (!p || !isAbsolute(p)) return;
    for (const v of variants(resolve(p))) {
      const trimmed = v.replace(/[\\/]+$/, '');
      // never a bare root such as / or C:\ (it would swallow every path)
      if (trimmed.length < 3 || /^[A-Za-z]:$/.test(trimmed)) continue;
      roots.push({ path: trimmed, relative });
    }
  };
  if (opts.farmFile) add(dirname(resolve(opts.farmFile)), true);
  for (const r of opts.extraRoots ?? []) add(r, false);
  add(opts.cwd ?? process.cwd(), false);
  add(tmpdir(), false);
  add(homedir(), false);
  if (!roots.length) return (s) => s;
  roots.sort((a, b) => b.path.length - a.path.length);
  const byPath = new Map(roots.map((r) => [r.path.toLowerCase(), r]));
  const re = new RegExp(`(${[...byPath.keys()].map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})([\\\\/]?)`, 'gi');
  const boundary = /[\w.-]/;
  const scrub = (s: string) =>
    s.replace(re, (m: string, path: string, sep: string, offset: number, input: string) => {
      const next = input[offset + m.length];
      if (!sep && next !== undefined && boundary.test(next)) return m; // /home/al is not /home/alice
      const root = byPath.get(path.toLowerCase());
      if (!root) return m;
      if (root.relative) return sep ? '' : '.';
      return `${LOCAL}${sep}`;
    });
  // what a line must contain for scrub to change it (the redactor's fast path copies other lines as they are)
  return Object.assign(scrub, { pattern: new RegExp(re.source, 'i') });
}

/** Applies f to every string in a JSON-like value (keys stay), returning a copy. */
export function mapStrings<T>(value: T, f: (s: string) => string): T {
  if (typeof value === 'string') return f(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = mapStrings(v, f);
    return out as T;
  }
  return value;
}

/** Registers every name the farm file gives (servers, ssh hosts and users, endpoints) with the anonymizer. */
export function registerFarmNames(anonymizer: Anonymizer, farm: FarmNames): void {
  for (const s of farm.servers) {
    anonymizer.addHost(s.name);
    if (s.transport.host) anonymizer.addHost(s.transport.host);
    if (s.transport.user) anonymizer.addUser(s.transport.user);
    for (const root of [s.transport.root, ...Object.values(s.transport.drives ?? {})]) {
      const unc = /^\\\\([^\\/]+)/.exec(root ?? '');
      if (unc) anonymizer.addHost(unc[1]);
    }
    for (const e of s.endpoints ?? []) anonymizer.addHost(e.host);
  }
}

/** Share roots and key files: local paths the farm file names. */
export function farmLocalRoots(farm: FarmNames): string[] {
  const out: string[] = [];
  for (const s of farm.servers) {
    for (const p of [s.transport.root, ...Object.values(s.transport.drives ?? {})]) if (p && !p.startsWith('\\\\')) out.push(resolve(dirname(farm.file), p));
  }
  return out;
}

export interface Outgoing {
  /** one text through redaction, local paths and (with --anonymize) the anonymizer */
  text(s: string): string;
  /** user names found elsewhere (the prefill's affected users): replaced wherever they appear */
  users(names: readonly string[]): void;
  /** every string of a JSON-like value through text() */
  value<T>(v: T): T;
  readonly anonymizer?: Anonymizer;
  readonly redactor: Redactor;
  /** the local-path filter alone (for bundle files, which the writer redacts itself) */
  readonly scrub: (s: string) => string;
}

/**
 * `keep`: values passed through untouched (the contact SAP must reach: name, phone, e-mail given
 * on purpose), even with --anonymize.
 */
export function createOutgoing(opts: { farm?: FarmNames; cwd?: string; anonymize?: boolean | Anonymizer; extraRoots?: readonly string[]; keep?: readonly (string | undefined)[] }): Outgoing {
  const anonymizer = opts.anonymize instanceof Anonymizer ? opts.anonymize : opts.anonymize ? new Anonymizer() : undefined;
  if (anonymizer && opts.farm) registerFarmNames(anonymizer, opts.farm);
  const scrub = localPathScrubber({ farmFile: opts.farm?.file, cwd: opts.cwd, extraRoots: [...(opts.farm ? farmLocalRoots(opts.farm) : []), ...(opts.extraRoots ?? [])] });
  const redactor = createRedactor({ scrub, anonymizer });
  const keep = [...new Set((opts.keep ?? []).filter((k): k is string => typeof k === 'string' && k.trim().length > 2))].sort((a, b) => b.length - a.length);
  const text = (s: string): string => {
    const exact = anonymizer?.exactToken(s);
    if (exact) return exact;
    let t = s;
    keep.forEach((k, i) => (t = t.split(k).join(`\u0000${i}\u0000`)));
    t = redactor.redactText(t).text;
    return keep.length ? t.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => keep[Number(i)] ?? '') : t;
  };
  return {
    text,
    users: (names) => names.forEach((n) => anonymizer?.addUser(n)),
    value: (v) => mapStrings(v, text),
    anonymizer,
    redactor,
    scrub,
  };
}

/**
 * The private mapping of an anonymised bundle or incident text, written beside it, never over an
 * existing file, and left to its owner (0600, or an owner-only ACL on Windows). Returns a warning
 * when the access could not be restricted (the file is complete and kept).
 */
export async function writeAnonMap(file: string, anonymizer: Anonymizer, about: { for: string } | { bundle: string }): Promise<string | undefined> {
  const text = `${JSON.stringify({ schema: 'clk-support/anon-map/v1', ...about, note: 'PRIVATE: maps anonymized tokens back to real names; do not send', mapping: anonymizer.mapping() }, null, 2)}\n`;
  const temp = `${file}.partial-${process.pid}`;
  await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
  await chmod(temp, 0o600);
  try {
    await link(temp, file); // fails when the file exists: nothing is replaced
  } finally {
    await rm(temp, { force: true });
  }
  return restrictToOwner(file);
}
