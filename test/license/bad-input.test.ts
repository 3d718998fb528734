// Every bad response is refused with its own code and message, and leaves every installed license
// byte for byte as it was. One private demo farm; the tests that change it put it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { COVERED, applyJson, licenseFarm, type LicenseFarm } from './helpers.js';

const isRoot = process.getuid?.() === 0;

describe('license apply refuses bad input and keeps the installed license', () => {
  let f: LicenseFarm;
  let before: Record<string, Buffer | undefined>;
  let request: string;
  let good: string;

  beforeAll(async () => {
    f = await licenseFarm();
    before = await f.snapshot();
    request = await f.request();
    good = await f.sign(request, 'good.response', ['--sequence', '2']);
  });
  afterAll(() => f.cleanup());

  async function unchanged() {
    expect(await f.snapshot()).toEqual(before);
    for (const s of COVERED) expect((await readdir(f.licenseDir(s))).sort(), s).toEqual(['License.xml']);
  }

  async function refused(file: string, code: string, message: RegExp, extra: string[] = [], check = true) {
    const r = await applyJson(f, file, extra);
    expect(r.code, r.stderr).toBe(code);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/hint: /);
    if (check) await unchanged();
    return r;
  }

  it('a tampered payload: LICENSE_SIGNATURE_INVALID', async () => {
    const text = await readFile(good, 'utf8');
    const i = text.indexOf('<Payload encoding="base64">') + 200;
    const swapped = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
    await writeFile(join(f.root, 'tampered.response'), swapped);
    await refused(join(f.root, 'tampered.response'), 'LICENSE_SIGNATURE_INVALID', /altered after it was signed/);
  });

  it('signed with another key under the trusted key id: LICENSE_SIGNATURE_INVALID', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    await writeFile(join(f.root, 'other.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const file = await f.sign(request, 'wrongkey.response', ['--key', join(f.root, 'other.pem')]);
    await refused(file, 'LICENSE_SIGNATURE_INVALID', /does not verify with key "clk-support-test-2026"/);
  });

  it('signed with a key the farm does not trust: LICENSE_KEY_UNTRUSTED', async () => {
    const file = await f.sign(request, 'untrusted.response', ['--key', join(f.root, 'other.pem'), '--key-id', 'someone-else']);
    await refused(file, 'LICENSE_KEY_UNTRUSTED', /key "someone-else", which this farm does not trust/);
  });

  it('a truncated file: LICENSE_MALFORMED', async () => {
    const bytes = await readFile(good);
    await writeFile(join(f.root, 'truncated.response'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await refused(join(f.root, 'truncated.response'), 'LICENSE_MALFORMED', /not well-formed XML/);
  });

  it('an empty file and a file that is not there', async () => {
    await writeFile(join(f.root, 'empty.response'), '');
    await refused(join(f.root, 'empty.response'), 'LICENSE_MALFORMED', /no <ClkLicenseResponse>|not well-formed/);
    await refused(join(f.root, 'missing.response'), 'LICENSE_FILE_UNREADABLE', /ENOENT/);
  });

  it('a huge file: LICENSE_TOO_LARGE, without reading it', async () => {
    const huge = join(f.root, 'huge.response');
    await writeFile(huge, Buffer.concat([await readFile(good), Buffer.alloc(64 * 1024 * 1024, 0x20)]));
    await refused(huge, 'LICENSE_TOO_LARGE', /more than the 1048576 a license response can be/);
    await rm(huge);
  });

  it('an XML bomb in the envelope: LICENSE_DTD_FORBIDDEN', async () => {
    const lol = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`)].join('');
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE ClkLicenseResponse [${lol}]>\n<ClkLicenseResponse formatVersion="1"><Payload>&lol9;</Payload><Signature alg="Ed25519" keyId="clk-support-test-2026">AA==</Signature></ClkLicenseResponse>`;
    await writeFile(join(f.root, 'bomb.response'), bomb);
    await refused(join(f.root, 'bomb.response'), 'LICENSE_DTD_FORBIDDEN', /DTD or entity declaration/);
  });

  it('an XML bomb inside a genuinely signed payload: LICENSE_DTD_FORBIDDEN', async () => {
    await writeFile(join(f.root, 'bomb-payload.xml'), '<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><ClkLicenseGrant formatVersion="1">&b;</ClkLicenseGrant>');
    const file = await f.sign(request, 'bomb-signed.response', ['--payload-file', join(f.root, 'bomb-payload.xml')]);
    await refused(file, 'LICENSE_DTD_FORBIDDEN', /signed payload.*DTD or entity/);
  });

  it('a response for another farm: LICENSE_WRONG_FARM', async () => {
    const other = await f.sign(request, 'otherfarm.response', ['--installation', '0020999999']);
    await refused(other, 'LICENSE_WRONG_FARM', /installation 0020999999.*this farm is 1234567 \/ 0020123456 \/ FSP/);
    const stranger = await f.sign(request, 'stranger.response', ['--add-server', 'OTHER99']);
    await refused(stranger, 'LICENSE_WRONG_FARM', /covers OTHER99, which is not in/);
  });

  it('a server name or request id with ../ in it: LICENSE_MALFORMED, and no path is built from it', async () => {
    const dots = await f.sign(request, 'dots.response', ['--add-server', '../APP01']);
    await refused(dots, 'LICENSE_MALFORMED', /names a server "\.\.\/APP01" that is not a host name/);
    const win = await f.sign(request, 'dots-win.response', ['--add-server', '..\\..\\Windows']);
    await refused(win, 'LICENSE_MALFORMED', /not a host name/);
    const rid = await f.sign(request, 'dots-rid.response', ['--request-id', '../../../../etc/passwd']);
    await refused(rid, 'LICENSE_MALFORMED', /invalid requestId/);
  });

  it('a response to a request we never issued, or to an edited one: LICENSE_REQUEST_UNKNOWN', async () => {
    const unknown = await f.sign(request, 'unknown.response', ['--request-id', randomUUID()]);
    await refused(unknown, 'LICENSE_REQUEST_UNKNOWN', /which was not issued from this machine's state folder/);
    const nonce = await f.sign(request, 'nonce.response', ['--nonce', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']);
    await refused(nonce, 'LICENSE_REQUEST_UNKNOWN', /the nonce does not match/);
    const hash = await f.sign(request, 'hash.response', ['--request-sha256', 'f'.repeat(64)]);
    await refused(hash, 'LICENSE_REQUEST_UNKNOWN', /hash does not match the request we issued/);
  });

  it('an issue date in the future: LICENSE_NOT_YET_VALID; past its end: LICENSE_EXPIRED', async () => {
    const future = await f.sign(request, 'future.response', ['--issued', new Date(Date.now() + 86_400_000).toISOString()]);
    await refused(future, 'LICENSE_NOT_YET_VALID', /in the future for this machine/);
    const notBefore = await f.sign(request, 'notbefore.response', ['--not-before', new Date(Date.now() + 7 * 86_400_000).toISOString()]);
    await refused(notBefore, 'LICENSE_NOT_YET_VALID', /is not valid before/);
    const expired = await f.sign(request, 'expired.response', ['--issued', '2024-01-01T00:00:00Z', '--not-after', '2024-12-31T23:59:59Z']);
    await refused(expired, 'LICENSE_EXPIRED', /expired on 2024-12-31/);
  });

  it('expiring within 30 days passes with a warning', async () => {
    const soon = await f.sign(request, 'soon.response', ['--days', '10']);
    const r = await f.cli(['license', 'apply', soon, '--check']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/expires in (9|10) days/);
    expect(await f.snapshot()).toEqual(before);
  });

  it('a server that the response does not cover: LICENSE_SERVER_NOT_COVERED', async () => {
    const two = await f.sign(request, 'two.response', ['--only', 'APP01,SCHED01']);
    await refused(two, 'LICENSE_SERVER_NOT_COVERED', /INT01 is not covered by license/, ['--server', 'INT01']);
  });

  it('a response naming a server that is unreachable now: LICENSE_SERVER_UNREACHABLE', async () => {
    const root = join(f.dir, 'servers', 'int01');
    await rename(root, `${root}.away`);
    try {
      await refused(good, 'LICENSE_SERVER_UNREACHABLE', /covers INT01 \(unreachable\), which is unreachable now: nothing was installed/, [], false);
    } finally {
      await rename(`${root}.away`, root);
    }
    await unchanged();
  });

  it('a server whose machine changed since the request: LICENSE_FINGERPRINT_MISMATCH', async () => {
    const keys = join(f.dir, 'servers', 'app01', 'c$', 'ProgramData', 'Microsoft', 'Crypto', 'RSA', 'MachineKeys');
    const saved = join(f.root, 'MachineKeys.saved');
    await rename(keys, saved);
    await mkdir(keys);
    await writeFile(join(keys, 'c2319c42033a5ca7f44e731bfd3fa2b5_00000000-1111-2222-3333-444444444444'), '');
    try {
      await refused(good, 'LICENSE_FINGERPRINT_MISMATCH', /APP01 \(1 of 2 required components match; differ: machine-id/);
    } finally {
      await rm(keys, { recursive: true });
      await rename(saved, keys);
    }
  });

  it('a read-only license folder: LICENSE_NO_ADMIN_RIGHTS before anything is written', async () => {
    const dir = f.licenseDir('SCHED01');
    let undo: () => Promise<void>;
    if (isRoot) {
      // chmod does not stop root: a read-only bind mount does.
      try {
        execFileSync('mount', ['--bind', dir, dir]);
        execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
      } catch (err) {
        try {
          execFileSync('umount', [dir]);
        } catch {
          // was not mounted
        }
        console.warn(`skipping the read-only check: cannot bind-mount here (${(err as Error).message})`);
        return;
      }
      undo = async () => void execFileSync('umount', [dir]);
    } else {
      await chmod(dir, 0o555);
      undo = () => chmod(dir, 0o755);
    }
    try {
      await refused(good, 'LICENSE_NO_ADMIN_RIGHTS', /No administrator rights on SCHED01: cannot write in/);
    } finally {
      await undo();
    }
  });
});
