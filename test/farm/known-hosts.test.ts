import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKnownHosts, verifyHostKey } from '../../src/farm/transports/known-hosts.js';

const hasKeygen = (() => {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return existsSync('/usr/bin/ssh-keygen');
  }
})();

function makeKey(dir: string, name: string): { type: string; blob: Buffer; line: string } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  const pub = readFileSync(`${file}.pub`, 'utf8').trim();
  const [type, b64] = pub.split(/\s+/);
  return { type, blob: Buffer.from(b64, 'base64'), line: `${type} ${b64}` };
}

describe.skipIf(!hasKeygen)('known_hosts (keys made by ssh-keygen, hashed by ssh-keygen -H)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clk-kh-'));
  const a = makeKey(dir, 'a');
  const b = makeKey(dir, 'b');

  it('trusts a listed key, refuses a different one, and knows an unlisted host', () => {
    const entries = parseKnownHosts(`# comment\napp01.corp,10.0.0.5 ${a.line}\n[10.0.0.6]:2222 ${b.line}\n`);
    expect(verifyHostKey(entries, 'app01.corp', 22, a.blob)).toBe('trusted');
    expect(verifyHostKey(entries, 'APP01.CORP', 22, a.blob)).toBe('trusted');
    expect(verifyHostKey(entries, '10.0.0.5', 22, b.blob)).toBe('mismatch');
    expect(verifyHostKey(entries, '10.0.0.6', 2222, b.blob)).toBe('trusted');
    expect(verifyHostKey(entries, '10.0.0.6', 22, b.blob)).toBe('unknown');
    expect(verifyHostKey(entries, 'other', 22, a.blob)).toBe('unknown');
  });

  it('matches hashed entries written by ssh-keygen -H', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `app01.corp ${a.line}\n[127.0.0.1]:2201 ${b.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('app01.corp');
    const entries = parseKnownHosts(text);
    expect(verifyHostKey(entries, 'app01.corp', 22, a.blob)).toBe('trusted');
    expect(verifyHostKey(entries, '127.0.0.1', 2201, b.blob)).toBe('trusted');
    expect(verifyHostKey(entries, '127.0.0.1', 2201, a.blob)).toBe('mismatch');
  });

  it('honours @revoked and wildcards with negation', () => {
    const entries = parseKnownHosts(`*.corp,!bad.corp ${a.line}\n@revoked * ${b.line}\n`);
    expect(verifyHostKey(entries, 'web01.corp', 22, a.blob)).toBe('trusted');
    expect(verifyHostKey(entries, 'bad.corp', 22, a.blob)).toBe('unknown');
    expect(verifyHostKey(entries, 'web01.corp', 22, b.blob)).toBe('revoked');
  });

  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
