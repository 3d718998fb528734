import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { BundleWriter } from '../../src/bundle/writer.js';
import { BundleFullError, DiskSpaceError, EntrySourceError } from '../../src/bundle/errors.js';
import { bundleName } from '../../src/bundle/naming.js';
import { isAlreadyCompressed } from '../../src/bundle/compressed.js';
import { verifyBundle } from '../../src/bundle/verify.js';
import { Anonymizer } from '../../src/bundle/anonymize.js';
import { InterruptedError } from '../../src/errors.js';
import { DEMO_SERVERS_DIR, EVTX_FIXTURES, PLANTED_SECRETS, have, isRoot, run, tempDir, unzipAll, zipToolsAccept } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

const farm = { name: 'Test farm', systemId: 'TST' };
const window = { from: '2025-06-03T08:00:00.000Z', to: '2025-06-03T12:00:00.000Z' };

function methods(file: string): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, number>();
      zip.on('entry', (e: yauzl.Entry) => {
        out.set(e.fileName, e.compressionMethod);
        zip.readEntry();
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

async function* slowForever(first: Buffer): AsyncGenerator<Buffer> {
  yield first;
  await new Promise(() => {}); // a server that stops answering
}

describe('bundleName', () => {
  it('is <SID>_<UTC stamp>_<short id>.zip with unsafe characters replaced', () => {
    expect(bundleName('PRD', new Date('2025-06-03T10:12:05Z'), '3fa9c2d1')).toBe('PRD_20250603-101205_3fa9c2d1.zip');
    expect(bundleName('../a b', new Date('2025-01-02T03:04:05Z'), 'x/y')).toBe('a-b_20250102-030405_x-y.zip');
  });
});

describe('compressed-input detection', () => {
  it('by extension and by magic', () => {
    expect(isAlreadyCompressed('S/logs/old.log.gz')).toBe(true);
    expect(isAlreadyCompressed('S/x.CAB')).toBe(true);
    expect(isAlreadyCompressed('S/x.bin', gzipSync('hello'))).toBe(true);
    expect(isAlreadyCompressed('S/x.bin', Buffer.from('PK\x03\x04rest'))).toBe(true);
    expect(isAlreadyCompressed('S/x.evtx', Buffer.from('ElfFile\0'))).toBe(false);
    expect(isAlreadyCompressed('S/x.blg')).toBe(false);
    expect(isAlreadyCompressed('S/x.log', Buffer.from('03/06/2025 10:00'))).toBe(false);
  });
});

describe('BundleWriter', () => {
  it('writes a zip that unzip -t, 7z t and verifyBundle accept, with manifest, collector log and redaction report', async () => {
    const out = join(dir, 'out');
    const name = bundleName('TST', new Date('2025-06-03T12:00:00Z'), 'abcd0001');
    const bytesPerServer = new Map<string | undefined, number>();
    const w = await BundleWriter.create({ outDir: out, name, minFreeBytes: 0, onBytes: (s, n) => bytesPerServer.set(s, (bytesPerServer.get(s) ?? 0) + n) });
    const evtx = join(EVTX_FIXTURES, 'NickSmet-System.evtx');
    const evtxSize = (await stat(evtx)).size;
    const text = '03/06/2025 10:12:33,120 ERROR W6Server: run failed\n'.repeat(2000);
    const gz = gzipSync(Buffer.from(text));
    const eTxt = await w.addBuffer('APP01/logs/W6Server.log', text, { server: 'APP01', collector: 'tracer', sourcePath: 'C:\\ClickSoftware\\Logs\\W6Server.log' });
    const eEvtx = await w.addStream('APP01/eventlog/System.evtx', createReadStream(evtx), { server: 'APP01', collector: 'eventlog', note: 'binary: not redacted' });
    const eGz = await w.addBuffer('SCHED01/logs/old.log.gz', gz, { server: 'SCHED01', collector: 'tracer' });
    const eMagic = await w.addBuffer('SCHED01/logs/blob.bin', gz, { server: 'SCHED01', collector: 'tracer' });
    w.log({ server: 'APP01', collector: 'tracer', status: 'ok', durationMs: 5, files: 1, bytes: text.length });
    w.log({ server: 'WEB01', collector: 'server', status: 'failed', reason: 'unreachable: ENOENT', durationMs: 1, files: 0, bytes: 0 });
    expect(eTxt.size).toBe(text.length);
    expect(eEvtx.size).toBe(evtxSize);
    expect(eGz.store).toBe(true);
    expect(eMagic.store).toBe(true);
    expect(eTxt.store).toBeUndefined();
    expect(bytesPerServer.get('APP01')).toBe(text.length + evtxSize);
    const res = await w.finalize({ farm, window, extra: { note: 'test' } });

    expect(res.path).toBe(join(out, name));
    expect(res.entries).toBe(6); // 4 files + redaction report + collector log
    expect((await stat(res.path)).mode & 0o777).toBe(0o600);
    expect(await readdir(out)).toEqual([name]); // no temp file left
    const tools = await zipToolsAccept(res.path);
    if (tools.unzip !== undefined) expect(tools.unzip).toContain('No errors detected');
    if (tools.sevenZip !== undefined) expect(tools.sevenZip).toContain('Everything is Ok');

    const v = await verifyBundle(res.path);
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.entries).toBe(7);
    const m = v.manifest as any;
    expect(m.schema).toBe('clk-support/bundle-manifest/v1');
    expect(m.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.farm).toEqual(farm);
    expect(m.window).toEqual(window);
    expect(m.note).toBe('test');
    expect(m.collectors).toHaveLength(2);
    expect(m.entries.find((e: any) => e.path === 'APP01/eventlog/System.evtx')).toMatchObject({ server: 'APP01', collector: 'eventlog', note: 'binary: not redacted', size: evtxSize });
    expect(m.entries.find((e: any) => e.path === 'APP01/logs/W6Server.log').sourcePath).toBe('C:\\ClickSoftware\\Logs\\W6Server.log');

    const meth = await methods(res.path);
    expect(meth.get('SCHED01/logs/old.log.gz')).toBe(0); // stored
    expect(meth.get('SCHED01/logs/blob.bin')).toBe(0);
    expect(meth.get('APP01/logs/W6Server.log')).toBe(8); // deflated
    if (have('unzip')) {
      const log = (await run('unzip', ['-p', res.path, 'collector.log'])).stdout;
      expect(log).toMatch(/WEB01\tserver\tfailed\t1ms\t0 files\t0 bytes\tunreachable: ENOENT/);
      const evtxBack = (await run('unzip', ['-p', res.path, 'APP01/eventlog/System.evtx'], { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout as unknown as Buffer;
      expect(evtxBack.equals(await readFile(evtx))).toBe(true); // binaries untouched
    }
  });

  it('redacts entries marked redact and records counts, never values; planted demo secrets never reach the zip', async () => {
    const out = join(dir, 'out');
    const w = await BundleWriter.create({ outDir: out, name: 'secrets.zip', minFreeBytes: 0 });
    let files = 0;
    for (const server of await readdir(DEMO_SERVERS_DIR)) {
      const cfg = join(DEMO_SERVERS_DIR, server, 'c$', 'Program Files', 'ClickSoftware', 'Service Optimization', 'Config');
      for (const f of await readdir(cfg)) {
        await w.addStream(`${server.toUpperCase()}/config/${f}`, createReadStream(join(cfg, f), { highWaterMark: 37 }), { server: server.toUpperCase(), collector: 'config', redact: true });
        files++;
      }
      const im = join(DEMO_SERVERS_DIR, server, 'c$', 'ClickSoftware', 'Logs', 'Integration', 'IntegrationManager.log');
      await w.addStream(`${server.toUpperCase()}/tracer/IntegrationManager.log`, createReadStream(im), { server: server.toUpperCase(), collector: 'tracer', redact: true });
      files++;
    }
    const res = await w.finalize({ farm, window });
    expect(files).toBeGreaterThanOrEqual(9);
    const all = await unzipAll(res.path);
    const raw = await readFile(res.path);
    for (const s of PLANTED_SECRETS) {
      expect(all.includes(Buffer.from(s)), `${s} in the bundle`).toBe(false);
      expect(raw.includes(Buffer.from(s))).toBe(false);
    }
    const m = (await verifyBundle(res.path)).manifest as any;
    expect(m.redaction.totals['xml-setting']).toBeGreaterThanOrEqual(files / 3);
    expect(m.redaction.totals['pem-block']).toBeGreaterThanOrEqual(1);
    const report = (await run('unzip', ['-p', res.path, 'redaction-report.json'])).stdout;
    expect(JSON.parse(report).findings.length).toBeGreaterThan(0);
    expect(all.toString('latin1')).toContain('User ID=w6app'); // what is not secret is kept
  });

  it('anonymizes redacted text and writes the mapping beside the bundle, not inside', async () => {
    const out = join(dir, 'out');
    const anon = new Anonymizer('seed').addHost('APP01').addHost('DB01');
    const w = await BundleWriter.create({ outDir: out, name: 'anon.zip', minFreeBytes: 0, anonymizer: anon });
    await w.addBuffer('APP01/x.log', 'APP01 connected to 10.1.2.3 as CORP\\jdoe; Data Source=DB01.corp.example;User ID=w6app\n', { server: 'APP01', collector: 'tracer', redact: true });
    const res = await w.finalize({ farm, window });
    expect(res.mappingPath).toBe(join(out, 'anon.anon-map.json'));
    expect((await stat(res.mappingPath!)).mode & 0o777).toBe(0o600);
    const mapping = JSON.parse(await readFile(res.mappingPath!, 'utf8')).mapping;
    expect(mapping.hosts.APP01).toMatch(/^host-[0-9a-f]{6}$/);
    const all = (await unzipAll(res.path)).toString('utf8');
    for (const real of ['APP01 connected', '10.1.2.3', 'jdoe', 'DB01', 'w6app']) expect(all).not.toContain(real);
    expect(all).toContain(mapping.hosts.APP01);
    expect(all).not.toContain('anon-map');
    expect((await verifyBundle(res.path)).ok).toBe(true);
  });

  it('never overwrites an existing bundle: the new one gets a suffix', async () => {
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'same.zip'), 'precious');
    const w = await BundleWriter.create({ outDir: out, name: 'same.zip', minFreeBytes: 0 });
    await w.addBuffer('a.txt', 'a', { collector: 't' });
    const res = await w.finalize({ farm, window });
    expect(res.path).toBe(join(out, 'same-2.zip'));
    expect(await readFile(join(out, 'same.zip'), 'utf8')).toBe('precious');
  });

  it('serializes concurrent adds into one valid zip', async () => {
    const w = await BundleWriter.create({ outDir: dir, name: 'c.zip', minFreeBytes: 0 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => w.addBuffer(`S${i % 4}/f${i}.txt`, randomBytes(5000 + i).toString('hex'), { collector: 'c', server: `S${i % 4}` })));
    const res = await w.finalize({ farm, window });
    const v = await verifyBundle(res.path);
    expect(v.ok).toBe(true);
    expect(v.entries).toBe(23);
  });

  it('refuses bad bundle paths and duplicates', async () => {
    const w = await BundleWriter.create({ outDir: dir, name: 'p.zip', minFreeBytes: 0 });
    await expect(w.addBuffer('../x', 'a', { collector: 't' })).rejects.toThrow(/invalid bundle path/);
    await expect(w.addBuffer('/abs', 'a', { collector: 't' })).rejects.toThrow(/invalid bundle path/);
    await expect(w.addBuffer('A\\b', 'a', { collector: 't' })).rejects.toThrow(/invalid bundle path/);
    await expect(w.addBuffer('manifest.json', 'a', { collector: 't' })).rejects.toThrow(/reserved/);
    await w.addBuffer('A/b.txt', 'a', { collector: 't' });
    await expect(w.addBuffer('A/b.txt', 'a', { collector: 't' })).rejects.toThrow(/already in the bundle/);
    const res = await w.finalize({ farm, window });
    expect((await verifyBundle(res.path)).ok).toBe(true);
  });
});

describe('bundle cap', () => {
  it('refuses a file of known size that would not fit, and cuts a stream at the cap (truncated, still valid)', async () => {
    const w = await BundleWriter.create({ outDir: dir, name: 'cap.zip', minFreeBytes: 0, maxBytes: 10_000 });
    await w.addBuffer('A/a.txt', 'x'.repeat(6000), { collector: 't' });
    const big = await w.addBuffer('A/big.txt', 'y'.repeat(5000), { collector: 't' }).catch((e) => e);
    expect(big).toBeInstanceOf(BundleFullError);
    expect(big.entry).toBeUndefined();
    async function* chunks() {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(1000, 'z');
    }
    const cut = await w.addStream('A/stream.txt', chunks(), { collector: 't' }).catch((e) => e);
    expect(cut).toBeInstanceOf(BundleFullError);
    expect(cut.entry).toMatchObject({ path: 'A/stream.txt', size: 4000, truncated: true, note: 'bundle cap reached' });
    await expect(w.addBuffer('A/more.txt', 'm', { collector: 't' })).rejects.toBeInstanceOf(BundleFullError);
    const res = await w.finalize({ farm, window });
    const v = await verifyBundle(res.path);
    expect(v.ok).toBe(true);
    expect((v.manifest as any).entries.map((e: any) => e.path)).toEqual(['A/a.txt', 'A/stream.txt', 'redaction-report.json', 'collector.log']);
  });
});

describe('bundle cap with redaction', () => {
  it('a redacted text cut at the cap still reports its redactions and leaks nothing', async () => {
    const w = await BundleWriter.create({ outDir: dir, name: 'capr.zip', minFreeBytes: 0, maxBytes: 3000 });
    const line = 'connect https://svc:Integr8-Pa55@erp.corp.example/api ok\n';
    const err = await w.addBuffer('A/im.log', line.repeat(200), { collector: 'tracer', redact: true }).catch((e) => e);
    expect(err).toBeInstanceOf(BundleFullError);
    expect(err.entry.truncated).toBe(true);
    expect(err.entry.redactions['url-credentials']).toBeGreaterThan(0);
    const res = await w.finalize({ farm, window });
    expect((await unzipAll(res.path)).includes(Buffer.from('Integr8-Pa55'))).toBe(false);
    expect((await verifyBundle(res.path)).ok).toBe(true);
  });
});

describe('faults', () => {
  it('a source that errors mid-way: the entry is kept truncated, the bundle goes on and verifies', async () => {
    const w = await BundleWriter.create({ outDir: dir, name: 'err.zip', minFreeBytes: 0 });
    async function* failing() {
      yield Buffer.from('first part\n');
      throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    }
    const err = await w.addStream('A/broken.log', failing(), { server: 'A', collector: 'tracer' }).catch((e) => e);
    expect(err).toBeInstanceOf(EntrySourceError);
    expect(err.entry).toMatchObject({ path: 'A/broken.log', size: 11, truncated: true });
    expect(err.entry.note).toMatch(/source stopped: EIO/);
    await w.addBuffer('A/after.log', 'after\n', { collector: 'tracer' });
    const res = await w.finalize({ farm, window });
    expect((await verifyBundle(res.path)).ok).toBe(true);
    await zipToolsAccept(res.path); // throws if either tool rejects it
  });

  it('an unreadable file (EACCES) is reported by the source and the bundle still completes', async () => {
    if (isRoot()) {
      // root reads anything: emulate EACCES the way fs reports it
      const w = await BundleWriter.create({ outDir: dir, name: 'eacces.zip', minFreeBytes: 0 });
      const src = createReadStream(join(dir, 'does-not-exist.log'));
      const err = await w.addStream('A/missing.log', src, { collector: 't' }).catch((e) => e);
      expect(err).toBeInstanceOf(EntrySourceError);
      expect(err.entry.size).toBe(0);
      const res = await w.finalize({ farm, window });
      expect((await verifyBundle(res.path)).ok).toBe(true);
      return;
    }
    const f = join(dir, 'locked.log');
    await writeFile(f, 'secret', { mode: 0o000 });
    const w = await BundleWriter.create({ outDir: join(dir, 'out'), name: 'eacces.zip', minFreeBytes: 0 });
    const err = await w.addStream('A/locked.log', createReadStream(f), { collector: 't' }).catch((e) => e);
    expect(err).toBeInstanceOf(EntrySourceError);
    expect(err.message).toMatch(/EACCES/);
    const res = await w.finalize({ farm, window });
    expect((await verifyBundle(res.path)).ok).toBe(true);
  });

  it('a server that stops answering mid-transfer: the entry signal ends the entry, the bundle completes', async () => {
    const w = await BundleWriter.create({ outDir: dir, name: 'hang.zip', minFreeBytes: 0 });
    const entrySignal = AbortSignal.timeout(200);
    const err = await w.addStream('A/hung.log', slowForever(Buffer.from('partial data\n')), { collector: 'tracer', signal: entrySignal }).catch((e) => e);
    expect(err).toBeInstanceOf(EntrySourceError);
    expect(err.entry).toMatchObject({ size: 13, truncated: true });
    expect(err.entry.note).toMatch(/source stopped/);
    await w.addBuffer('A/next.log', 'next\n', { collector: 'tracer' });
    const res = await w.finalize({ farm, window });
    expect((await verifyBundle(res.path)).ok).toBe(true);
  });

  it('abort() mid-write (Ctrl-C): no final-named file, no temp file, the pending add rejects', async () => {
    const ac = new AbortController();
    const w = await BundleWriter.create({ outDir: dir, name: 'abort.zip', minFreeBytes: 0, signal: ac.signal });
    await w.addBuffer('A/done.txt', 'done', { collector: 't' });
    const pending = w.addStream('A/forever.log', slowForever(randomBytes(200_000)), { collector: 't' });
    await new Promise((r) => setTimeout(r, 50));
    expect((await readdir(dir)).some((f) => f.endsWith('.partial'))).toBe(true);
    ac.abort(new InterruptedError('Interrupted by Ctrl-C'));
    await expect(pending).rejects.toBeInstanceOf(InterruptedError);
    await w.abort(); // idempotent, awaits the cleanup
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
    await expect(w.finalize({ farm, window })).rejects.toBeInstanceOf(InterruptedError);
  });

  it('Ctrl-C while a source has not sent its first byte: the add rejects at once, nothing is left', async () => {
    const ac = new AbortController();
    const w = await BundleWriter.create({ outDir: dir, name: 'silent.zip', minFreeBytes: 0, signal: ac.signal });
    async function* silent(): AsyncGenerator<Buffer> {
      await new Promise(() => {});
    }
    const pending = w.addStream('A/silent.log', silent(), { collector: 't' });
    await new Promise((r) => setTimeout(r, 30));
    ac.abort(new InterruptedError('Interrupted by Ctrl-C'));
    await expect(pending).rejects.toBeInstanceOf(InterruptedError);
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  it('an already aborted signal refuses to start', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(BundleWriter.create({ outDir: dir, name: 'x.zip', signal: ac.signal })).rejects.toBeInstanceOf(InterruptedError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('an output folder that cannot be created is a clear error, not a crash', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const err = await BundleWriter.create({ outDir: join(file, 'sub'), name: 'x.zip', minFreeBytes: 0 }).catch((e) => e);
    expect(err.code).toBe('OUTPUT_NOT_WRITABLE');
    expect(err.hint).toMatch(/--out/);
  });

  it('refuses to start when the volume has less free space than asked for', async () => {
    await expect(BundleWriter.create({ outDir: dir, name: 'x.zip', minFreeBytes: Number.MAX_SAFE_INTEGER })).rejects.toBeInstanceOf(DiskSpaceError);
    expect(await readdir(dir)).toEqual([]);
  });

  describe.skipIf(!isRoot() || process.platform !== 'linux')('disk full on a real 256 KiB tmpfs (needs root to mount)', () => {
    let mnt: string;
    beforeEach(async () => {
      mnt = join(dir, 'tiny');
      await mkdir(mnt);
      await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    });
    afterEach(async () => {
      await run('umount', [mnt]).catch(() => {});
    });

    it('ENOSPC fails the bundle with DiskSpaceError and removes the temp file', async () => {
      const w = await BundleWriter.create({ outDir: mnt, name: 'full.zip', minFreeBytes: 0 });
      await w.addBuffer('A/small.txt', 'small', { collector: 't' });
      const err = await w.addBuffer('A/random.bin', randomBytes(1024 * 1024), { collector: 't', store: true }).then(() => w.finalize({ farm, window })).catch((e) => e);
      expect(err).toBeInstanceOf(DiskSpaceError);
      await w.abort();
      expect(await readdir(mnt)).toEqual([]);
      await expect(w.addBuffer('A/later.txt', 'x', { collector: 't' })).rejects.toBeInstanceOf(DiskSpaceError);
    });

    it('the free-space floor is checked while writing, before the disk is actually full', async () => {
      const w = await BundleWriter.create({ outDir: mnt, name: 'floor.zip', minFreeBytes: 1 });
      // Below the check interval nothing is checked; a large write crosses it and finds < floor.
      const err = await w
        .addBuffer('A/random.bin', randomBytes(9 * 1024 * 1024), { collector: 't', store: true })
        .then(() => w.finalize({ farm, window }))
        .catch((e) => e);
      expect(err).toBeInstanceOf(DiskSpaceError);
      await w.abort();
      expect(await readdir(mnt)).toEqual([]);
    });
  });
});
