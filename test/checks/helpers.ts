// Shared by the check tests: a private demo farm, a context over it, one check run through the
// real runner, stand-in Windows programs, and genuinely signed licenses (the test key pair).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { join } from 'node:path';
import { copyDemoFarm, REPO } from '../support/cli.js';
import { loadFarm, type Farm } from '../../src/farm/load.js';
import { CheckContext, currentHost, type CheckOptions, type Host } from '../../src/checks/context.js';
import { planChecks, runChecks } from '../../src/checks/runner.js';
import type { CheckDef, CheckResult } from '../../src/checks/types.js';
import { buildEnvelopeXml } from '../../src/license/formats.js';
import { signingInput } from '../../src/license/crypto.js';
import { buildXml, A } from '../../src/license/xml.js';
import type { FingerprintComponent } from '../../src/farm/identity.js';

export const baseOptions: CheckOptions = { outputDir: REPO, minFreeBytes: 1, tracerMaxAgeHours: 24, toolVersion: '0.1.0', nodeRange: '>=20.19' };

export interface DemoCopy {
  dir: string;
  farmFile: string;
  /** The server's C: drive in the copy. */
  drive(server: string): string;
  load(): Promise<Farm>;
  cleanup(): Promise<void>;
}

export async function demoCopy(): Promise<DemoCopy> {
  const c = await copyDemoFarm();
  return { ...c, drive: (s) => join(c.dir, 'servers', s.toLowerCase(), 'c$'), load: () => loadFarm(c.farmFile) };
}

/** Rewrite the farm file of a copy. */
export async function editFarm(farmFile: string, edit: (raw: any) => void): Promise<void> {
  const raw = JSON.parse(await readFile(farmFile, 'utf8'));
  edit(raw);
  await writeFile(farmFile, JSON.stringify(raw, null, 2));
}

export function context(farm: Farm | undefined, opts: { host?: Partial<Host>; options?: Partial<CheckOptions>; now?: () => Date } = {}): CheckContext {
  return new CheckContext({
    farm,
    // run() must see the overridden PATH: build the host from it.
    host: { ...currentHost(opts.host?.env ?? process.env), ...opts.host },
    options: { ...baseOptions, ...opts.options },
    now: opts.now,
  });
}

/** Run one check (all its per-server results) through the real runner. */
export async function runCheck(ctx: CheckContext, def: CheckDef): Promise<Record<string, CheckResult>> {
  try {
    const results = await runChecks(ctx, planChecks([def], ctx.servers));
    return Object.fromEntries(results.map((r) => [r.server ?? r.id, r]));
  } finally {
    await ctx.close();
  }
}

/** An executable shell script standing in for a Windows program on PATH (the Windows code paths, run here). */
export async function standIn(dir: string, name: string, script: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, name);
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
}

/** A license response signed with the test key (fixtures/keys), as `license apply` installs it. */
export async function signedLicense(grant: {
  licenseId?: string;
  notAfter: string;
  notBefore?: string;
  covered: { name: string; components: FingerprintComponent[] }[];
}): Promise<string> {
  const payload = Buffer.from(
    buildXml({
      ClkLicenseGrant: {
        [A('formatVersion')]: '1',
        [A('licenseId')]: grant.licenseId ?? 'LIC-TEST-1',
        [A('responseId')]: 'RESP-1',
        [A('requestId')]: randomUUID(),
        [A('requestSha256')]: 'a'.repeat(64),
        [A('nonce')]: 'bm9uY2Utbm9uY2Utbm9uY2U',
        [A('issuedAt')]: '2026-01-01T00:00:00Z',
        [A('notBefore')]: grant.notBefore ?? '2026-01-01T00:00:00Z',
        [A('notAfter')]: grant.notAfter,
        [A('sequence')]: '1',
        Customer: { [A('customerNumber')]: '1234567', [A('installationNumber')]: '0020123456', [A('systemId')]: 'FSP' },
        Farm: { [A('name')]: 'Demo farm' },
        CoveredServer: grant.covered.map((c) => ({
          [A('name')]: c.name,
          [A('minMatches')]: '1',
          Component: c.components.map((x) => ({ [A('kind')]: x.kind, [A('hash')]: x.hash })),
        })),
      },
    }),
  );
  const key = createPrivateKey(await readFile(join(REPO, 'fixtures', 'keys', 'test-ed25519.pem'), 'utf8'));
  const signature = sign(null, signingInput(payload), key);
  return buildEnvelopeXml({ payload, alg: 'Ed25519', keyId: 'clk-support-test-2026', signature });
}
