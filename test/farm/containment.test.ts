// The containment rule at the transport level, on real files and real links: every call of a
// share or a confined local transport resolves links only inside the root, writes never go
// through a link out of it, non-regular files are never opened, and loops end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTransport, ShareTransport } from '../../src/farm/transports/local.js';
import type { Transport } from '../../src/farm/transports/transport.js';
import { glob } from '../../src/farm/glob.js';
import { escapeControl } from '../../src/format.js';
import { safeSegment } from '../../src/collect/types.js';

let base: string;
let root: string;
let outside: string;
const timeouts = { connectTimeoutMs: 2000, timeoutMs: 5000 };

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'clk-contain-'));
  root = join(base, 'c$');
  outside = join(base, 'outside');
  await mkdir(join(root, 'App', 'License'), { recursive: true });
  await mkdir(join(root, 'Real'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, 'secret.txt'), 'OUTSIDE');
  await writeFile(join(root, 'Real', 'in.txt'), 'INSIDE');
  await symlink(join(outside, 'secret.txt'), join(root, 'App', 'abs-out.txt'));
  await symlink('../../outside/secret.txt', join(root, 'App', 'rel-out.txt'));
  await symlink(outside, join(root, 'App', 'OutDir'));
  await symlink('../Real/in.txt', join(root, 'App', 'rel-in.txt'));
  await symlink(join(root, 'Real'), join(root, 'App', 'AbsInDir'));
  // Absolute, starting inside, then climbing out with '..' after the root's own path.
  await symlink(`${root}/../outside/secret.txt`, join(root, 'App', 'sneaky.txt'));
  await symlink('a-loop', join(root, 'App', 'b-loop'));
  await symlink('b-loop', join(root, 'App', 'a-loop'));
  execFileSync('mkfifo', [join(root, 'App', 'fifo.log')]);
});
afterAll(() => rm(base, { recursive: true, force: true }));

const transports: [string, () => Transport, (rel: string) => string][] = [
  ['share', () => new ShareTransport('S', 'linux', { root }, timeouts), (rel) => `/${rel}`],
  ['local confined', () => new LocalTransport('L', timeouts, root), (rel) => join(root, rel)],
];

for (const [name, make, p] of transports) {
  describe(`${name} transport`, () => {
    it('reads through links that stay inside, refuses links out (absolute, relative, sneaky)', async () => {
      const t = make();
      expect((await t.readFile(p('App/rel-in.txt'))).toString()).toBe('INSIDE');
      expect((await t.readFile(p('App/AbsInDir/in.txt'))).toString()).toBe('INSIDE');
      for (const f of ['App/abs-out.txt', 'App/rel-out.txt', 'App/OutDir/secret.txt', 'App/sneaky.txt']) {
        await expect(t.readFile(p(f)), f).rejects.toMatchObject({ reason: 'outside-root', code: 'TRANSPORT_OUTSIDE_ROOT' });
        await expect(t.createReadStream(p(f)), f).rejects.toMatchObject({ reason: 'outside-root' });
        await expect(t.readAt(p(f), 0, 4), f).rejects.toMatchObject({ reason: 'outside-root' });
        await expect(t.stat(p(f)), f).rejects.toMatchObject({ reason: 'outside-root' });
      }
      await expect(t.list(p('App/OutDir'))).rejects.toMatchObject({ reason: 'outside-root' });
      expect((await t.resolve(p('App/AbsInDir/in.txt'))).path).toBe(p('Real/in.txt'));
    });

    it('never writes through a link out: file link, folder link, mkdir under it', async () => {
      const t = make();
      await expect(t.writeFileAtomic(p('App/abs-out.txt'), 'X')).rejects.toMatchObject({ reason: 'outside-root' });
      await expect(t.writeFileAtomic(p('App/OutDir/new.txt'), 'X')).rejects.toMatchObject({ reason: 'outside-root' });
      await expect(t.mkdirp(p('App/OutDir/sub'))).rejects.toMatchObject({ reason: 'outside-root' });
      await expect(t.rename(p('Real/in.txt'), p('App/OutDir/moved.txt'))).rejects.toMatchObject({ reason: 'outside-root' });
      expect(await readdir(outside)).toEqual(['secret.txt']);
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE');
      // remove acts on the link itself, never on what it points to.
      await t.remove(p('App/rel-out.txt'));
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE');
      await symlink('../../outside/secret.txt', join(root, 'App', 'rel-out.txt'));
    });

    it('a write through a link inside goes to the real file and keeps the link', async () => {
      const t = make();
      await t.writeFileAtomic(p('App/rel-in.txt'), 'REPLACED');
      expect(await readFile(join(root, 'Real', 'in.txt'), 'utf8')).toBe('REPLACED');
      expect(await readlink(join(root, 'App', 'rel-in.txt'))).toBe('../Real/in.txt');
      await writeFile(join(root, 'Real', 'in.txt'), 'INSIDE');
    });

    it('never opens a FIFO (no hang), and a link loop ends with an error', async () => {
      const t = make();
      await expect(t.readFile(p('App/fifo.log'))).rejects.toMatchObject({ reason: 'not-a-file' });
      await expect(t.createReadStream(p('App/fifo.log'))).rejects.toMatchObject({ reason: 'not-a-file' });
      await expect(t.writeFileAtomic(p('App/fifo.log'), 'x')).rejects.toMatchObject({ reason: 'not-a-file' });
      await expect(t.readFile(p('App/a-loop'))).rejects.toMatchObject({ reason: 'io' });
      expect((await lstat(join(root, 'App', 'fifo.log'))).isFIFO()).toBe(true);
    });

    it('hostPathOf (direct reads by worker threads) only for a regular file inside', () => {
      const t = make();
      expect(t.hostPathOf(p('App/rel-in.txt'))).toBe(join(root, 'Real', 'in.txt'));
      expect(t.hostPathOf(p('App/abs-out.txt'))).toBeUndefined();
      expect(t.hostPathOf(p('App/fifo.log'))).toBeUndefined();
    });

    it('glob: follows links inside once, reports links out and FIFOs, ends on loops', async () => {
      const t = make();
      const ignored: string[] = [];
      const found = await glob(t, p('App/**/*'), { onIgnored: (path, why) => ignored.push(`${path} ${why.split(':')[0]}`) });
      expect(found.map((f) => f.path).sort()).toEqual([p('App/AbsInDir/in.txt'), p('App/rel-in.txt')]);
      expect(ignored).toEqual(
        expect.arrayContaining([`${p('App/abs-out.txt')} outside-root`, `${p('App/OutDir')} outside-root`, `${p('App/sneaky.txt')} outside-root`, `${p('App/fifo.log')} not-a-file`]),
      );
      expect(new Set(ignored).size).toBe(ignored.length);
    });
  });
}

describe('confined local transport', () => {
  it('refuses a farm path outside its folder', async () => {
    const t = new LocalTransport('L', timeouts, root);
    await expect(t.readFile(join(outside, 'secret.txt'))).rejects.toMatchObject({ reason: 'outside-root' });
  });
});

describe('control characters', () => {
  it('escapeControl makes one visible line of any name', () => {
    expect(escapeControl('a\nb\rc\td\x1b[31me\x00f\x85g\u2028h\u202ei')).toBe('a\\nb\\rc\\td\\x1b[31me\\x00f\\x85g\\u2028h\\u202ei');
    expect(escapeControl('C:\\Logs\\W6.log')).toBe('C:\\Logs\\W6.log');
  });
  it('safeSegment keeps distinct names distinct', () => {
    expect(safeSegment('a\nb.log')).toBe('a%0Ab.log');
    expect(safeSegment('a\rb.log')).toBe('a%0Db.log');
    expect(safeSegment('x\x9by')).toBe('x%9By');
    expect(safeSegment('a<b>.log')).toBe('a_b_.log');
  });
});
