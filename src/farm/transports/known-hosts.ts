// known_hosts as OpenSSH reads it: plain and hashed (|1|salt|hash) host patterns, [host]:port for
// non-standard ports, wildcards and negation, @revoked keys. @cert-authority lines are not supported
// and are ignored (the key must then be listed itself).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  key: Buffer;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    if (fields.length < 3) continue;
    const [patterns, keyType, keyB64] = fields;
    const key = Buffer.from(keyB64, 'base64');
    if (key.length === 0) continue;
    out.push({ marker, patterns, keyType, key });
  }
  return out;
}

/** The form OpenSSH looks up: "host" on port 22, "[host]:port" otherwise. */
export function hostLookupName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function hashedMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2], 'base64');
  const expected = Buffer.from(parts[3], 'base64');
  const actual = createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatches(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (globToRegExp(p.slice(1)).test(name)) return false;
    } else if (globToRegExp(p).test(name)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict = 'trusted' | 'unknown' | 'mismatch' | 'revoked';

/** Decide whether a server's host key (SSH wire format) is the one known for host:port. */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = hostLookupName(host, port);
  let sawHost = false;
  for (const e of entries) {
    if (e.marker === '@revoked' && e.key.equals(key)) return 'revoked';
  }
  for (const e of entries) {
    if (e.marker) continue;
    if (!patternsMatch(e.patterns, name)) continue;
    sawHost = true;
    if (e.key.equals(key)) return 'trusted';
  }
  return sawHost ? 'mismatch' : 'unknown';
}

/** The key type a public key blob names (its first SSH string), or undefined when the blob is damaged. */
function blobKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const len = key.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > key.length) return undefined;
  return key.subarray(4, 4 + len).toString('latin1');
}

/** Host-key algorithms ssh2 can verify, best first; an ssh-rsa key is offered as rsa-sha2-512/256 too. */
const ALGORITHMS_BY_KEY_TYPE: Record<string, readonly string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};
const PREFERENCE = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/**
 * The host-key algorithms to offer for host:port: those of the keys known_hosts lists for it, as
 * OpenSSH does, so a server that also has a key of another type is not asked for that one (and then
 * refused as a mismatch). undefined when known_hosts lists no usable key for the host.
 */
export function hostKeyAlgorithmsFor(entries: readonly KnownHostEntry[], host: string, port: number): string[] | undefined {
  const name = hostLookupName(host, port);
  const wanted = new Set<string>();
  for (const e of entries) {
    if (e.marker || !patternsMatch(e.patterns, name)) continue;
    for (const alg of ALGORITHMS_BY_KEY_TYPE[blobKeyType(e.key) ?? e.keyType] ?? []) wanted.add(alg);
  }
  const out = PREFERENCE.filter((a) => wanted.has(a));
  return out.length ? out : undefined;
}
