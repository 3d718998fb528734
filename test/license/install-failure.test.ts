// A write that fails on the second of three servers: everything already changed is put back, byte
// for byte, and no backup, temp or lock file is left. Once with a real full filesystem (tmpfs, root
// only) through the built CLI, once with a transport whose write fails (any user) through the core.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFarm } from '../../src/farm/load.js';
import { createTransport } from '../../src/farm/transports/index.js';
import { TransportError, type Transport } from '../../src/farm/transports/transport.js';
import { applyLicense } from '../../src/license/apply.js';
import { LicenseError } from '../../src/license/errors.js';
import { COVERED, applyJson, licenseFarm, type LicenseFarm } from './helpers.js';

const isRoot = process.getuid?.() === 0;

function canMountTmpfs(): string | undefined {
  if (!isRoot) return 'not root: mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', '/nonexistent-clk-probe'], { stdio: 'ignore' });
  } catch (err) {
    // ENOENT on the mount point means mount itself works; a permission error means it does not.
    const msg = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message);
    if (/permission|not permitted/i.test(msg)) return `mount is not permitted here: ${msg.trim()}`;
  }
  return undefined;
}

describe('a failed install rolls every server back', () => {
  let f: LicenseFarm;
  let before: Record<string, Buffer | undefined>;
  let request: string;

  beforeAll(async () => {
    f = await licenseFarm();
    before = await f.snapshot();
    request = await f.request();
  });
  afterAll(() => f.cleanup());

  async function nothingLeft() {
    expect(await f.snapshot()).toEqual(before);
    for (const s of COVERED) expect((await readdir(f.licenseDir(s))).sort(), s).toEqual(['License.xml']);
  }

  const skip = canMountTmpfs();
  it.skipIf(Boolean(skip))(`disk full on SCHED01 (a 64 KiB tmpfs), through the CLI${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    // A response too big for SCHED01's license folder, which still has room for the lock and backup.
    const big = await f.sign(request, 'big.response', ['--pad', '90000']);
    const dir = f.licenseDir('SCHED01');
    const saved = join(f.root, 'sched01-license.xml');
    await copyFile(join(dir, 'License.xml'), saved);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    try {
      await copyFile(saved, join(dir, 'License.xml'));
      const r = await applyJson(f, big);
      expect(r.code, r.stderr).toBe('LICENSE_INSTALL_FAILED_ROLLED_BACK');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/failed on SCHED01: .*(ENOSPC|no space)/i);
      expect(r.stderr).toMatch(/Every server was put back as it was/);
      await nothingLeft();
    } finally {
      execFileSync('umount', [dir]);
    }
    // The real folder under the mount was never touched either.
    await nothingLeft();
  });

  it('a write error on SCHED01 from the transport, through the core', async () => {
    const response = await f.sign(request, 'core.response', ['--sequence', '3']);
    const farm = await loadFarm(f.farmFile);
    const transports = new Map<string, Transport>();
    for (const s of farm.servers.filter((x) => COVERED.includes(x.name as (typeof COVERED)[number]))) {
      const t = createTransport(farm, s);
      await t.connect();
      if (s.name === 'SCHED01') {
        const real = t.writeFileAtomic.bind(t);
        // Lock, probe and backup go through; the license itself does not.
        t.writeFileAtomic = async (p, data) => {
          if (/\\License\.xml$/.test(p)) throw new TransportError('SCHED01', 'io', `write ${p}: EIO: i/o error`);
          return real(p, data);
        };
      }
      transports.set(s.name, t);
    }
    const err = await applyLicense(farm, response, { transports }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LicenseError);
    expect((err as LicenseError).code).toBe('LICENSE_INSTALL_FAILED_ROLLED_BACK');
    expect((err as LicenseError).message).toMatch(/failed on SCHED01/);
    await nothingLeft();
    // The refusal is in the apply log.
    const { readFile } = await import('node:fs/promises');
    const log = (await readFile(join(f.dir, '.clk-support', 'apply.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ outcome: 'refused', code: 'LICENSE_INSTALL_FAILED_ROLLED_BACK' });
  });
});
