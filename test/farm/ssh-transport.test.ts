// The SSH transport against a real OpenSSH server on loopback: files over SFTP, commands over exec,
// and every way a connection fails, each classified with the reason an admin acts on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream as createLocalReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SshTransport } from '../../src/farm/transports/ssh.js';
import { TransportError, type FailureReason } from '../../src/farm/transports/transport.js';
import { freePort, generateKey, tryStartSshd, type SshdServer } from '../support/sshd.js';
import { farmFile, runCli, sshServerEntry } from '../netns/cli.js';

const { server, skipReason } = await tryStartSshd();
const BIG_MB = 24;

function transport(s: SshdServer, over: Partial<{ port: number; identityFile: string; knownHosts: string; host: string }> = {}, connectTimeoutMs = 3000) {
  return new SshTransport(
    'LNX01',
    'linux',
    { host: over.host ?? s.host, port: over.port ?? s.port, user: s.user, identityFile: over.identityFile ?? s.identityFile, knownHosts: over.knownHosts ?? s.knownHosts },
    { connectTimeoutMs, timeoutMs: 15_000 },
  );
}

async function failure(work: Promise<unknown>): Promise<TransportError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a failure').toBeInstanceOf(TransportError);
  return err as TransportError;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createLocalReadStream(file), h);
  return h.digest('hex');
}

describe.skipIf(!server)(`SshTransport against a real sshd${skipReason ? ` (${skipReason})` : ''}`, () => {
  const s = server!;
  let root: string;
  let t: SshTransport;
  let big: string;
  let bigHash: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'clk-ssh-tree-'));
    await mkdir(join(root, 'opt/clk/logs/sub dir'), { recursive: true });
    await writeFile(join(root, 'opt/clk/version.txt'), 'Product=ClickSoftware\nVersion=8.1.15.2207\n');
    await writeFile(join(root, 'opt/clk/logs/a.log'), 'alpha\n');
    await writeFile(join(root, 'opt/clk/logs/sub dir/b.log'), 'beta beta\n');
    big = join(root, 'opt/clk/logs/big.bin');
    // Random bytes in 1 MB pieces: a multi-MB file the test never holds in memory at once.
    const ws = createWriteStream(big);
    for (let i = 0; i < BIG_MB; i++) if (!ws.write(randomBytes(1024 * 1024))) await new Promise((r) => ws.once('drain', r));
    await new Promise<void>((r, j) => ws.end((e?: Error | null) => (e ? j(e) : r())));
    bigHash = await sha256File(big);
    t = transport(s);
    await t.connect();
  });

  afterAll(async () => {
    await t?.close();
    await s.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('lists a folder with names, types and sizes', async () => {
    const entries = await t.list(`${root}/opt/clk/logs`);
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    expect(Object.keys(byName).sort()).toEqual(['a.log', 'big.bin', 'sub dir']);
    expect(byName['a.log']).toMatchObject({ type: 'file', size: 6, path: `${root}/opt/clk/logs/a.log` });
    expect(byName['sub dir'].type).toBe('dir');
    expect(byName['big.bin'].size).toBe(BIG_MB * 1024 * 1024);
  });

  it('stats files and says whether they exist', async () => {
    const st = await t.stat(`${root}/opt/clk/logs/sub dir/b.log`);
    expect(st).toMatchObject({ name: 'b.log', type: 'file', size: 10 });
    expect(Math.abs(st.mtime.getTime() - (await stat(join(root, 'opt/clk/logs/sub dir/b.log'))).mtimeMs)).toBeLessThan(1000);
    expect(await t.exists(`${root}/opt/clk/version.txt`)).toBe(true);
    expect(await t.exists(`${root}/opt/clk/nope.txt`)).toBe(false);
    expect((await failure(t.stat(`${root}/nope`))).reason).toBe('not-found');
  });

  it('reads whole files, and refuses one above maxBytes', async () => {
    expect((await t.readFile(`${root}/opt/clk/version.txt`)).toString()).toBe('Product=ClickSoftware\nVersion=8.1.15.2207\n');
    const tooBig = await failure(t.readFile(big, { maxBytes: 1024 }));
    expect(tooBig.message).toMatch(/more than the 1024 allowed/);
  });

  it('reads a range at an offset, and fewer bytes at the end of the file', async () => {
    const local = await open(big, 'r');
    try {
      const want = Buffer.alloc(100_000);
      await local.read(want, 0, want.length, 5_000_000);
      expect((await t.readAt(big, 5_000_000, 100_000)).equals(want)).toBe(true);
    } finally {
      await local.close();
    }
    expect((await t.readAt(`${root}/opt/clk/logs/a.log`, 3, 100)).toString()).toBe('ha\n');
    expect((await t.readAt(`${root}/opt/clk/logs/a.log`, 50, 10)).length).toBe(0);
  });

  it('streams a multi-MB file with backpressure (bounded buffering) and the exact bytes', async () => {
    const stream = await t.createReadStream(big);
    // Take one chunk, then stop reading: a streaming transport stops pulling; one that buffers
    // the whole file would keep filling memory.
    const first: Buffer = await new Promise((resolve) => stream.once('data', (d: Buffer) => (stream.pause(), resolve(d))));
    let buffered = -1;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const now = stream.readableLength + ((stream as unknown as { writableLength?: number }).writableLength ?? 0);
      if (now === buffered) break;
      buffered = now;
    }
    expect(buffered).toBeLessThan(4 * 1024 * 1024);
    const h = createHash('sha256').update(first);
    let peakBuffered = 0;
    stream.on('data', (d: Buffer) => {
      h.update(d);
      peakBuffered = Math.max(peakBuffered, stream.readableLength);
    });
    stream.resume();
    await new Promise<void>((resolve, reject) => (stream.once('end', resolve), stream.once('error', reject)));
    expect(h.digest('hex')).toBe(bigHash);
    expect(peakBuffered).toBeLessThan(4 * 1024 * 1024);
  });

  it('streams an inclusive byte range', async () => {
    const stream = await t.createReadStream(`${root}/opt/clk/version.txt`, { start: 8, end: 20 });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('ClickSoftware');
  });

  it('fails to open a missing file before any stream exists', async () => {
    expect((await failure(t.createReadStream(`${root}/opt/clk/missing.log`))).reason).toBe('not-found');
  });

  it('overwrites an existing file atomically (rename over it, nothing left behind)', async () => {
    const target = join(root, 'opt/clk/License.xml');
    await writeFile(target, '<old/>');
    const before = await stat(target);
    // A reader holding the old file keeps seeing the old bytes: the new file replaced it by rename,
    // it was not truncated and rewritten in place.
    const reader = await open(target, 'r');
    try {
      await t.writeFileAtomic(target, '<new license="1"/>');
      expect(await readFile(target, 'utf8')).toBe('<new license="1"/>');
      const after = await stat(target);
      expect(after.ino).not.toBe(before.ino);
      const old = Buffer.alloc(6);
      await reader.read(old, 0, 6, 0);
      expect(old.toString()).toBe('<old/>');
    } finally {
      await reader.close();
    }
    await t.writeFileAtomic(target, Buffer.from([0, 1, 2, 255]));
    expect(await readFile(target)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect((await readdir(join(root, 'opt/clk'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('renames over an existing file', async () => {
    await writeFile(join(root, 'opt/clk/r1'), 'one');
    await writeFile(join(root, 'opt/clk/r2'), 'two');
    await t.rename(`${root}/opt/clk/r1`, `${root}/opt/clk/r2`);
    expect(await readFile(join(root, 'opt/clk/r2'), 'utf8')).toBe('one');
    expect(await t.exists(`${root}/opt/clk/r1`)).toBe(false);
  });

  it('makes nested folders, twice without complaint, and removes files (a missing one too)', async () => {
    await t.mkdirp(`${root}/opt/clk/new/deeper/deepest`);
    await t.mkdirp(`${root}/opt/clk/new/deeper/deepest`);
    expect((await stat(join(root, 'opt/clk/new/deeper/deepest'))).isDirectory()).toBe(true);
    await writeFile(join(root, 'opt/clk/new/x'), 'x');
    await t.remove(`${root}/opt/clk/new/x`);
    expect(await t.exists(`${root}/opt/clk/new/x`)).toBe(false);
    await t.remove(`${root}/opt/clk/new/x`);
  });

  it('runs commands with arguments that need quoting, exactly as given', async () => {
    const args = ['a b', "it's", '$HOME', '"double"', 'back\\slash', '`id`', '$(echo no)', '*', ''];
    const r = await t.exec('printf', ['[%s]\\n', ...args]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(args.map((a) => `[${a}]\n`).join(''));
    const failing = await t.exec('sh', ['-c', 'echo oops >&2; exit 7']);
    expect(failing).toMatchObject({ exitCode: 7, stderr: 'oops\n' });
  });

  it("reads the server clock with a small offset (it is this machine's clock)", async () => {
    const c = await t.clock();
    expect(c.method).toBe('ssh exec');
    expect(Math.abs(c.offsetMs)).toBeLessThan(c.rttMs + 1000);
  });

  it('refuses a path that climbs out of its root', async () => {
    const e = await failure(t.readFile('../../etc/passwd'));
    expect(e.reason).toBe('permission');
    expect(e.message).toMatch(/climbs above its root/);
    expect((await failure(t.list('/../..'))).reason).toBe('permission');
  });

  describe('classified connection failures', () => {
    let keys: string;
    beforeAll(async () => {
      keys = await mkdtemp(join(tmpdir(), 'clk-ssh-keys-'));
    });
    afterAll(async () => {
      await rm(keys, { recursive: true, force: true });
    });

    async function reasonOf(tr: SshTransport): Promise<{ reason: FailureReason; message: string }> {
      try {
        const e = await failure(tr.connect());
        return { reason: e.reason, message: e.message };
      } finally {
        await tr.close();
      }
    }

    it('a host key other than the one in known_hosts is refused (host-key)', async () => {
      const other = await generateKey(join(keys, 'other_host'), 'impostor');
      const kh = join(keys, 'known_hosts_wrong');
      await writeFile(kh, `[${s.host}]:${s.port} ${other.split(' ').slice(0, 2).join(' ')}\n`);
      const r = await reasonOf(transport(s, { knownHosts: kh }));
      expect(r.reason).toBe('host-key');
      expect(r.message).toMatch(/does not match known_hosts/);
    });

    it('a host missing from known_hosts is refused, never trusted on first use (host-key)', async () => {
      const kh = join(keys, 'known_hosts_empty');
      await writeFile(kh, '');
      const r = await reasonOf(transport(s, { knownHosts: kh }));
      expect(r.reason).toBe('host-key');
      expect(r.message).toMatch(/is not in/);
    });

    it('a client key the server does not accept fails as auth', async () => {
      await generateKey(join(keys, 'stranger'), 'stranger');
      expect((await reasonOf(transport(s, { identityFile: join(keys, 'stranger') }))).reason).toBe('auth');
    });

    it('a port nothing listens on fails as refused', async () => {
      const port = await freePort();
      expect((await reasonOf(transport(s, { port }))).reason).toBe('refused');
    });

    it('a peer that accepts TCP but never speaks SSH fails as timeout, not a hang', async () => {
      const silent = net.createServer(() => {});
      const sockets: net.Socket[] = [];
      silent.on('connection', (c) => sockets.push(c));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      try {
        const port = (silent.address() as net.AddressInfo).port;
        const r = await reasonOf(transport(s, { port }, 1500));
        expect(r.reason).toBe('timeout');
      } finally {
        sockets.forEach((c) => c.destroy());
        silent.close();
      }
    });
  });
});

describe.skipIf(!server)('a server killed mid-transfer', () => {
  it('makes the read stream fail instead of hanging', async () => {
    const { server: victim } = await tryStartSshd();
    if (!victim) return;
    const dir = await mkdtemp(join(tmpdir(), 'clk-ssh-kill-'));
    const file = join(dir, 'huge.bin');
    await writeFile(file, randomBytes(16 * 1024 * 1024));
    const tr = transport(victim);
    try {
      const stream = await tr.createReadStream(file);
      const outcome = new Promise<{ bytes: number; error?: unknown }>((resolve) => {
        let bytes = 0;
        let killed = false;
        stream.on('data', (d: Buffer) => {
          bytes += d.length;
          if (!killed) {
            killed = true;
            // The server and its session processes die; the TCP connection drops.
            void victim.kill();
          }
        });
        stream.on('error', (error) => resolve({ bytes, error }));
        stream.on('end', () => resolve({ bytes }));
      });
      const r = await outcome;
      expect(r.error, `stream ended normally after ${r.bytes} bytes`).toBeInstanceOf(TransportError);
      expect(r.bytes).toBeLessThan(16 * 1024 * 1024);
      expect((r.error as TransportError).reason).toMatch(/io|timeout/);
    } finally {
      await tr.close();
      await victim.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!server)('a server killed before the caller reads the stream', () => {
  it('does not crash the process; the error reaches the caller when it reads', async () => {
    const { server: victim } = await tryStartSshd();
    if (!victim) return;
    const dir = await mkdtemp(join(tmpdir(), 'clk-ssh-kill2-'));
    const file = join(dir, 'queued.bin');
    await writeFile(file, randomBytes(8 * 1024 * 1024));
    const tr = transport(victim);
    try {
      // A bundle writer opens a stream and reads it only when its turn comes.
      const stream = await tr.createReadStream(file);
      await victim.kill();
      await new Promise<void>((resolve) => (stream.destroyed ? resolve() : stream.once('close', () => resolve())));
      let error: unknown;
      try {
        for await (const _ of stream) {
          // drain whatever arrived before the connection dropped
        }
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(TransportError);
      expect((error as TransportError).message).toMatch(/connection closed while reading/);
    } finally {
      await tr.close();
      await victim.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const canMount = process.getuid?.() === 0 && !!server;
describe.skipIf(!canMount)('writing to a full disk over ssh', () => {
  it('fails as no-space and leaves no temporary file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clk-ssh-full-'));
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const sh = promisify(execFile);
    // Mounted before sshd starts: the server's private mount namespace is a copy taken at start.
    await sh('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'clk-full-test', dir]);
    const { server: srv } = await tryStartSshd();
    const tr = srv && transport(srv);
    try {
      if (!tr) return;
      await writeFile(join(dir, 'License.xml'), 'old license');
      const e = await failure(tr.writeFileAtomic(`${dir}/License.xml`, randomBytes(64 * 1024)));
      expect(e.reason).toBe('no-space');
      expect(e.message).toMatch(/no space left on the disk/);
      expect(await readdir(dir)).toEqual(['License.xml']);
      expect(await readFile(join(dir, 'License.xml'), 'utf8')).toBe('old license');
    } finally {
      await tr?.close();
      await srv?.stop();
      await sh('umount', [dir]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!server)('farm status through the built CLI over ssh', () => {
  it('shows a linux server over ssh with its version and build, and a down one with its reason', async () => {
    const { server: srv } = await tryStartSshd();
    if (!srv) return;
    const dir = await mkdtemp(join(tmpdir(), 'clk-ssh-farm-'));
    try {
      const tree = join(dir, 'lnx01');
      await mkdir(join(tree, 'opt/clk'), { recursive: true });
      await writeFile(join(tree, 'opt/clk/version.txt'), 'Product=ClickSoftware\nVersion=8.1.15.2207\n');
      const down = await freePort();
      const spec = { host: srv.host, user: srv.user, identityFile: srv.identityFile, knownHosts: srv.knownHosts };
      const farm = farmFile([
        sshServerEntry({ ...spec, name: 'LNX01', port: srv.port, root: tree }),
        sshServerEntry({ ...spec, name: 'LNX02', role: 'scheduling', port: down, root: join(dir, 'lnx02') }),
      ]);
      const farmPath = join(dir, 'clk-farm.json');
      await writeFile(farmPath, JSON.stringify(farm, null, 2));

      const table = await runCli(['--farm', farmPath, 'farm', 'status']);
      expect(table.code, table.stderr).toBe(3);
      const lines = table.stdout.split('\n');
      expect(lines[0]).toMatch(/^SERVER\s+ROLE\s+VIA\s+STATUS\s+VERSION\s+BUILD\s+CLOCK\s+OS \/ REASON/);
      const lnx01 = lines.find((l) => l.startsWith('LNX01'))!;
      expect(lnx01).toMatch(/LNX01\s+application\s+ssh\s+reachable\s+8\.1\.15\.2207\s+2207\s+[+-]?\d/);
      expect(lines.find((l) => l.startsWith('LNX02'))).toMatch(/LNX02\s+scheduling\s+ssh\s+unreachable\s+refused: /);
      expect(table.stderr).toMatch(/LNX02 unreachable: refused: /);

      const json = await runCli(['--farm', farmPath, 'farm', 'status', '--json', '--server', 'LNX01']);
      expect(json.code, json.stderr).toBe(0);
      const doc = JSON.parse(json.stdout);
      expect(doc.schema).toBe('clk-support/farm-status/v1');
      const [one] = doc.servers;
      expect(one).toMatchObject({ name: 'LNX01', transport: 'ssh', reachable: true, version: '8.1.15.2207', build: '2207' });
      expect(Math.abs(one.clockOffsetMs)).toBeLessThan(2000);
      // The machine id comes from the server's own /etc/machine-id (this machine's, on loopback).
      const machineId = (await readFile('/etc/machine-id', 'utf8').catch(() => '')).trim();
      if (/^[0-9a-f]{32}$/.test(machineId)) {
        const mid = one.fingerprint.find((c: { kind: string }) => c.kind === 'machine-id');
        expect(mid.source).toBe('/etc/machine-id');
        expect(mid.hash).toBe(createHash('sha256').update(`clk-support:machine-id:${machineId}`).digest('hex').slice(0, 32));
      }
    } finally {
      await srv.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
