#!/usr/bin/env node
// Test tooling, not part of the CLI: plays SAP's part. Reads a clk-support License.request and writes
// a signed license response for it (format: docs/license.md), with switches to make bad ones for tests.
//
//   node test/tools/sign-response.mjs --request License.request --out license.response
//        [--key fixtures/keys/test-ed25519.pem] [--key-id clk-support-test-2026]
//        [--sequence 2] [--license-id LIC-...] [--days 365] [--issued ISO] [--not-before ISO] [--not-after ISO]
//        [--only APP01,SCHED01] [--add-server NAME] [--customer N] [--installation N] [--system-id SID]
//        [--nonce X] [--request-sha256 HEX] [--request-id ID] [--pad BYTES] [--payload-file FILE]
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { XMLParser } from 'fast-xml-parser';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: o } = parseArgs({
  options: {
    request: { type: 'string' },
    out: { type: 'string' },
    key: { type: 'string', default: join(repo, 'fixtures/keys/test-ed25519.pem') },
    'key-id': { type: 'string', default: 'clk-support-test-2026' },
    sequence: { type: 'string', default: '2' },
    'license-id': { type: 'string' },
    days: { type: 'string', default: '365' },
    issued: { type: 'string' },
    'not-before': { type: 'string' },
    'not-after': { type: 'string' },
    only: { type: 'string' },
    'add-server': { type: 'string', multiple: true },
    customer: { type: 'string' },
    installation: { type: 'string' },
    'system-id': { type: 'string' },
    nonce: { type: 'string' },
    'request-sha256': { type: 'string' },
    'request-id': { type: 'string' },
    pad: { type: 'string' },
    'payload-file': { type: 'string' },
  },
});
if (!o.out || (!o.request && !o['payload-file'])) {
  process.stderr.write('usage: sign-response.mjs --request License.request --out license.response [options]\n');
  process.exit(2);
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const DOMAIN = 'clk-support/license-response/v1\n';

function grantFor(requestBytes) {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => ['Server', 'Component'].includes(n) }).parse(requestBytes.toString('utf8'));
  const r = doc.ClkLicenseRequest;
  const only = o.only ? o.only.split(',') : undefined;
  const servers = (r.Farm.Server ?? []).filter((s) => !only || only.includes(s.name));
  const now = Date.now();
  const issued = o.issued ?? new Date(now - 60_000).toISOString();
  const notBefore = o['not-before'] ?? issued;
  const notAfter = o['not-after'] ?? new Date(now + Number(o.days) * 86_400_000).toISOString();
  const seq = Number(o.sequence);
  const covered = servers
    .map((s) => {
      const comps = s.Fingerprint.Component.map((c) => `      <Component kind="${esc(c.kind)}" hash="${esc(c.hash)}"/>`).join('\n');
      return `    <CoveredServer name="${esc(s.name)}" minMatches="${esc(s.Fingerprint.minMatches)}">\n${comps}\n    </CoveredServer>`;
    })
    .concat((o['add-server'] ?? []).map((n) => `    <CoveredServer name="${esc(n)}" minMatches="1">\n      <Component kind="hostname" hash="00000000000000000000000000000000"/>\n    </CoveredServer>`))
    .join('\n');
  const pad = o.pad ? `\n  <VendorPayload name="padding.bin" encoding="base64">${Buffer.alloc(Number(o.pad), 0x5a).toString('base64')}</VendorPayload>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<ClkLicenseGrant formatVersion="1" licenseId="${esc(o['license-id'] ?? `LIC-${r.Customer.systemId}-${seq}`)}" responseId="RSP-${esc(r.requestId.slice(0, 8))}-${seq}"
  requestId="${esc(o['request-id'] ?? r.requestId)}" requestSha256="${esc(o['request-sha256'] ?? createHash('sha256').update(requestBytes).digest('hex'))}" nonce="${esc(o.nonce ?? r.Nonce)}"
  issuedAt="${esc(issued)}" notBefore="${esc(notBefore)}" notAfter="${esc(notAfter)}" sequence="${seq}">
  <Customer customerNumber="${esc(o.customer ?? r.Customer.customerNumber)}" installationNumber="${esc(o.installation ?? r.Customer.installationNumber)}" systemId="${esc(o['system-id'] ?? r.Customer.systemId)}"/>
  <Farm name="${esc(r.Farm.name)}"/>
${covered}
  <Entitlements>
    <Module id="Schedule" users="250"/>
    <Module id="Mobility" users="1200"/>
  </Entitlements>${pad}
</ClkLicenseGrant>
`;
}

const payload = o['payload-file'] ? readFileSync(o['payload-file']) : Buffer.from(grantFor(readFileSync(o.request)), 'utf8');
const key = createPrivateKey(readFileSync(o.key));
const signature = sign(null, Buffer.concat([Buffer.from(DOMAIN, 'utf8'), payload]), key);
const b64 = payload.toString('base64').replace(/(.{76})/g, '$1\n');
writeFileSync(
  o.out,
  `<?xml version="1.0" encoding="UTF-8"?>
<ClkLicenseResponse formatVersion="1">
  <Payload encoding="base64">${b64}</Payload>
  <Signature alg="Ed25519" keyId="${esc(o['key-id'])}">${signature.toString('base64')}</Signature>
</ClkLicenseResponse>
`,
);
process.stderr.write(`signed ${payload.length} payload bytes with ${o['key-id']} -> ${o.out}\n`);
