// The pure parts: safe XML, the envelope and grant parsers, fingerprint matching, names and commands.
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign } from 'node:crypto';
import { assertSafeXml, MAX_LICENSE_BYTES, parseXml } from '../../src/license/xml.js';
import { buildEnvelopeXml, buildRequestXml, parseEnvelope, parseGrant, parseRequest, type LicenseRequest } from '../../src/license/formats.js';
import { signingInput, verifySignature } from '../../src/license/crypto.js';
import { matchFingerprint, explainMismatch } from '../../src/license/fingerprint.js';
import { backupName } from '../../src/license/apply.js';
import { elevationCheckCommand } from '../../src/license/admin.js';
import { vendorCommandLine } from '../../src/license/request.js';
import { buildCommandLine } from '../../src/commandline.js';
import { LicenseError } from '../../src/license/errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof LicenseError ? err.code : `not a LicenseError: ${String(err)}`;
  }
  return undefined;
}

const grant = (over: Record<string, string> = {}, body = '<CoveredServer name="APP01" minMatches="2"><Component kind="machine-id" hash="aa"/><Component kind="hostname" hash="bb"/></CoveredServer>') => {
  const a = {
    formatVersion: '1',
    licenseId: 'LIC-FSP-2',
    responseId: 'RSP-1',
    requestId: '2f456374-c6ae-4858-86b7-37e1a5cef722',
    requestSha256: 'a'.repeat(64),
    nonce: 'abcdefghijklmnopqrstuvwxyz012345',
    issuedAt: '2026-01-01T00:00:00Z',
    notBefore: '2026-01-01T00:00:00Z',
    notAfter: '2027-01-01T00:00:00Z',
    sequence: '2',
    ...over,
  };
  const attrs = Object.entries(a).map(([k, v]) => `${k}="${v}"`).join(' ');
  return Buffer.from(`<ClkLicenseGrant ${attrs}><Customer customerNumber="1" installationNumber="0020123456" systemId="FSP"/>${body}</ClkLicenseGrant>`);
};

describe('safe XML', () => {
  it('refuses a DTD, an entity declaration and a billion-laughs bomb before parsing', () => {
    const bomb = Buffer.from('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>');
    expect(codeOf(() => parseXml(bomb, 'x'))).toBe('LICENSE_DTD_FORBIDDEN');
    expect(codeOf(() => parseXml(Buffer.from('<a><!ENTITY x SYSTEM "file:///etc/passwd"></a>'), 'x'))).toBe('LICENSE_DTD_FORBIDDEN');
    expect(codeOf(() => parseXml(Buffer.from('<!doctype a><a/>'), 'x'))).toBe('LICENSE_DTD_FORBIDDEN');
  });
  it('refuses more than 1 MiB and badly formed XML', () => {
    expect(codeOf(() => assertSafeXml(Buffer.alloc(MAX_LICENSE_BYTES + 1, 0x20), 'x'))).toBe('LICENSE_TOO_LARGE');
    expect(codeOf(() => parseXml(Buffer.from('<a><b></a>'), 'x'))).toBe('LICENSE_MALFORMED');
    expect(codeOf(() => parseXml(Buffer.from('<a x="1'), 'x'))).toBe('LICENSE_MALFORMED');
  });
  it('keeps values as strings: leading zeros survive', () => {
    const doc = parseXml(Buffer.from('<a n="0020123456"><b>007</b></a>'), 'x') as { a: { '@_n': string; b: string } };
    expect(doc.a['@_n']).toBe('0020123456');
    expect(doc.a.b).toBe('007');
  });
});

describe('grant', () => {
  it('parses a valid grant', () => {
    const g = parseGrant(grant(), 'r');
    expect(g.sequence).toBe(2);
    expect(g.covered).toEqual([{ name: 'APP01', minMatches: 2, components: [{ kind: 'machine-id', hash: 'aa' }, { kind: 'hostname', hash: 'bb' }] }]);
  });
  it('refuses a server name or request id that could climb out of a folder', () => {
    expect(codeOf(() => parseGrant(grant({}, '<CoveredServer name="../APP01" minMatches="1"><Component kind="hostname" hash="aa"/></CoveredServer>'), 'r'))).toBe('LICENSE_MALFORMED');
    expect(codeOf(() => parseGrant(grant({}, '<CoveredServer name="..\\..\\x" minMatches="1"><Component kind="hostname" hash="aa"/></CoveredServer>'), 'r'))).toBe('LICENSE_MALFORMED');
    expect(codeOf(() => parseGrant(grant({ requestId: '../../etc/passwd' }), 'r'))).toBe('LICENSE_MALFORMED');
  });
  it('refuses missing or invalid fields, duplicates and an empty cover', () => {
    expect(codeOf(() => parseGrant(grant({ sequence: '-1' }), 'r'))).toBe('LICENSE_MALFORMED');
    expect(codeOf(() => parseGrant(grant({ notAfter: 'tomorrow' }), 'r'))).toBe('LICENSE_MALFORMED');
    expect(codeOf(() => parseGrant(grant({}, ''), 'r'))).toBe('LICENSE_MALFORMED');
    const one = '<CoveredServer name="APP01" minMatches="1"><Component kind="hostname" hash="aa"/></CoveredServer>';
    expect(codeOf(() => parseGrant(grant({}, one + one), 'r'))).toBe('LICENSE_MALFORMED');
    expect(codeOf(() => parseGrant(grant({ formatVersion: '9' }), 'r'))).toBe('LICENSE_FORMAT_UNSUPPORTED');
  });
});

describe('envelope and signature', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const payload = grant();
  const signature = sign(null, signingInput(payload), privateKey);
  const bytes = Buffer.from(buildEnvelopeXml({ payload, alg: 'Ed25519', keyId: 'k1', signature }));

  it('round-trips and verifies only the exact payload under the domain prefix', () => {
    const env = parseEnvelope(bytes, 'r');
    expect(env.keyId).toBe('k1');
    expect(env.payload.equals(payload)).toBe(true);
    expect(verifySignature(env.payload, env.signature, publicKey)).toBe(true);
    const tampered = Buffer.from(payload);
    tampered[tampered.length - 20] ^= 1;
    expect(verifySignature(tampered, env.signature, publicKey)).toBe(false);
    // A signature over the bare payload (no domain prefix) is not accepted.
    expect(verifySignature(payload, sign(null, payload, privateKey), publicKey)).toBe(false);
    expect(verifySignature(payload, env.signature.subarray(0, 63), publicKey)).toBe(false);
  });
  it('says what is wrong with a damaged envelope', () => {
    expect(codeOf(() => parseEnvelope(bytes.subarray(0, bytes.length / 2), 'r'))).toBe('LICENSE_MALFORMED');
    expect(codeOf(() => parseEnvelope(Buffer.from('<ClkLicenseResponse formatVersion="2"><Payload>AA==</Payload><Signature keyId="k">AA==</Signature></ClkLicenseResponse>'), 'r'))).toBe('LICENSE_FORMAT_UNSUPPORTED');
    expect(codeOf(() => parseEnvelope(Buffer.from('<ClkLicenseResponse formatVersion="1"><Payload>AA==</Payload><Signature>AA==</Signature></ClkLicenseResponse>'), 'r'))).toBe('LICENSE_MALFORMED');
    expect(codeOf(() => parseEnvelope(Buffer.from('<Other/>'), 'r'))).toBe('LICENSE_MALFORMED');
  });
});

describe('request', () => {
  it('writes and reads back the same request, booleans as text', () => {
    const r: LicenseRequest = {
      formatVersion: '1',
      requestId: '2f456374-c6ae-4858-86b7-37e1a5cef722',
      createdAt: '2026-11-23T06:00:00.000Z',
      tool: 'clk-support',
      nonce: 'n'.repeat(43),
      coordinator: 'admin-pc',
      customer: { customerNumber: '0001234567', installationNumber: '0020123456', systemId: 'FSP' },
      farm: { name: 'Farm & "Co" <x>', environment: 'production', product: 'p', expectedServers: 2, reachedServers: 1, partial: true },
      servers: [{ name: 'APP01', role: 'application', platform: 'windows', hostname: 'APP01', os: 'Windows', version: '8.1.15.2207', build: '2207', minMatches: 2, fingerprint: [{ kind: 'machine-id', hash: 'aa', source: 's' }], notes: ['note'] }],
      unreachable: [{ name: 'WEB01', role: 'web', expected: true, reason: 'timeout', detail: 'd' }],
    };
    const xml = buildRequestXml(r);
    expect(xml).toContain('partial="true"');
    const back = parseRequest(Buffer.from(xml));
    expect(back.farm.name).toBe('Farm & "Co" <x>');
    expect(back.customer.customerNumber).toBe('0001234567');
    expect(back.servers[0].fingerprint[0].hash).toBe('aa');
    expect(back.unreachable[0]).toEqual(r.unreachable[0]);
    expect(back.farm.partial).toBe(true);
  });
});

describe('fingerprint matching', () => {
  const covered = { name: 'APP01', minMatches: 2, components: [{ kind: 'machine-id', hash: 'aa' }, { kind: 'hostname', hash: 'bb' }, { kind: 'os-install', hash: 'cc' }] };
  const live = (m: string, h: string, o?: string) => [
    { kind: 'machine-id' as const, hash: m, source: '' },
    { kind: 'hostname' as const, hash: h, source: '' },
    ...(o ? [{ kind: 'os-install' as const, hash: o, source: '' }] : []),
  ];
  it('holds with the required number of matching components and names the ones that differ', () => {
    expect(matchFingerprint(covered, live('aa', 'bb', 'cc')).match).toBe(true);
    expect(matchFingerprint(covered, live('aa', 'bb', 'zz')).match).toBe(true);
    const m = matchFingerprint(covered, live('zz', 'bb'));
    expect(m).toMatchObject({ match: false, matched: ['hostname'], differing: ['machine-id'], missing: ['os-install'] });
    expect(explainMismatch(m)).toMatch(/machine-id.*cloned|re-installed/);
  });
  it('never asks more components than were recorded', () => {
    expect(matchFingerprint({ ...covered, minMatches: 5, components: [{ kind: 'hostname', hash: 'bb' }] }, live('x', 'bb')).match).toBe(true);
  });
});

describe('names and commands', () => {
  it('names a backup after its time and content beside the license', () => {
    expect(backupName('windows', 'C:\\Program Files\\X\\License\\License.xml', new Date('2026-11-23T06:08:19.123Z'), 'a5da0bdd' + '0'.repeat(56))).toBe(
      'C:\\Program Files\\X\\License\\License.xml.bak-20261123T060819Z-a5da0bdd',
    );
    expect(backupName('linux', '/opt/clk/license/License.xml', new Date('2026-01-02T03:04:05Z'), 'ff'.repeat(32))).toBe('/opt/clk/license/License.xml.bak-20260102T030405Z-ffffffff');
  });
  it('builds the Windows elevation check and the vendor request command lines', () => {
    expect(elevationCheckCommand('windows')).toEqual({ command: 'net', args: ['session'] });
    expect(elevationCheckCommand('linux')).toBeUndefined();
    const ps = "& 'C:\\Program Files\\ClickSoftware\\Structure.exe' /license-request \"C:\\temp\\License.request\"";
    const v = vendorCommandLine('windows', ps);
    expect(v.command).toBe('powershell.exe');
    expect(v.args.slice(0, 3)).toEqual(['-NoProfile', '-NonInteractive', '-EncodedCommand']);
    // Base64 needs no quoting: the command line is exactly the words, and decodes back to the command.
    expect(buildCommandLine('windows', v.command, v.args)).toBe(`powershell.exe -NoProfile -NonInteractive -EncodedCommand ${v.args[3]}`);
    expect(Buffer.from(v.args[3], 'base64').toString('utf16le')).toBe(ps);
    expect(vendorCommandLine('linux', 'structure --request')).toEqual({ command: 'sh', args: ['-c', 'structure --request'] });
  });
});
