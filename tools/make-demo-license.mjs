#!/usr/bin/env node
// Installs an OLDER signed license (sequence 1, LIC-FSP-1) on APP01, SCHED01 and INT01 of the demo
// farm, so `license status` has something to show and `license apply` has a license to back up.
// Run it after tools/make-demo-farm.mjs (which rebuilds the servers). Deterministic: Ed25519
// signatures are, and every date is fixed.
//
//   node tools/make-demo-license.mjs [--farm-dir fixtures/demo-farm] [--key fixtures/keys/test-ed25519.pem]
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    'farm-dir': { type: 'string', default: join(repo, 'fixtures', 'demo-farm') },
    key: { type: 'string', default: join(repo, 'fixtures', 'keys', 'test-ed25519.pem') },
    'key-id': { type: 'string', default: 'clk-support-test-2026' },
  },
});
const farmDir = o['farm-dir'];
const farm = JSON.parse(readFileSync(join(farmDir, 'clk-farm.json'), 'utf8'));
const COVERED = ['APP01', 'SCHED01', 'INT01'];

// Same rule as src/farm/identity.ts hashComponent (documented in docs/license.md).
const hash = (kind, value) => createHash('sha256').update(`clk-support:${kind}:${value.trim().toLowerCase()}`).digest('hex').slice(0, 32);
const serverRoot = (s) => join(farmDir, s.transport.root);
const hostPath = (s, winPath) => join(serverRoot(s), ...winPath.replace(/^[A-Za-z]:/, '').split('\\').filter(Boolean));

function machineGuid(s) {
  const names = readdirSync(hostPath(s, 'C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys'));
  const m = names.map((n) => /_([0-9a-f-]{36})$/i.exec(n)).find(Boolean);
  if (!m) throw new Error(`${s.name}: no MachineGuid in MachineKeys`);
  return m[1];
}

const servers = farm.servers.filter((s) => COVERED.includes(s.name));
const covered = servers
  .map((s) => `  <CoveredServer name="${s.name}" minMatches="2">
    <Component kind="machine-id" hash="${hash('machine-id', machineGuid(s))}"/>
    <Component kind="hostname" hash="${hash('hostname', s.name)}"/>
  </CoveredServer>`)
  .join('\n');
const f = farm.farm;
const payload = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<ClkLicenseGrant formatVersion="1" licenseId="LIC-${f.systemId}-1" responseId="RSP-DEMO-1"
  requestId="00000000-0000-4000-8000-000000000001" requestSha256="${'0'.repeat(64)}" nonce="demo-license-nonce-0001"
  issuedAt="2025-06-01T08:00:00Z" notBefore="2025-06-01T00:00:00Z" notAfter="2027-06-30T23:59:59Z" sequence="1">
  <Customer customerNumber="${f.customerNumber}" installationNumber="${f.installationNumber}" systemId="${f.systemId}"/>
  <Farm name="${f.name.replace(/[&<>"]/g, '')}"/>
${covered}
  <Entitlements>
    <Module id="Schedule" users="200"/>
    <Module id="Mobility" users="1000"/>
  </Entitlements>
</ClkLicenseGrant>
`, 'utf8');
const signature = sign(null, Buffer.concat([Buffer.from('clk-support/license-response/v1\n'), payload]), createPrivateKey(readFileSync(o.key)));
const envelope = `<?xml version="1.0" encoding="UTF-8"?>
<ClkLicenseResponse formatVersion="1">
  <Payload encoding="base64">${payload.toString('base64').replace(/(.{76})/g, '$1\n')}</Payload>
  <Signature alg="Ed25519" keyId="${o['key-id']}">${signature.toString('base64')}</Signature>
</ClkLicenseResponse>
`;
for (const s of servers) {
  const target = hostPath(s, s.license.path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, envelope);
  process.stdout.write(`${s.name}: ${target}\n`);
}
