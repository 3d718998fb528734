// `bundle verify` and `bundle inspect` on zips built to hurt: bombs, millions of manifest entries,
// entries sharing one stream, lying counts, unsafe names, links, encryption, terminal escapes. Each
// zip is built here, then run through the built CLI as a user runs it, with and without --json:
// exit 2 with a problem row naming the issue, never "this is a bug", peak RSS (measured with
// /usr/bin/time) under 200 MB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, REPO } from '../support/cli.js';
import { have, tempDir } from './helpers.js';
import { buildZip, deflatedRepeat, manifestFor, type LocalEntry } from './zip-builder.js';

let dir: string;
let cleanup: () => Promise<void>;
const measured: string[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('clk-hostile-'));
});
afterAll(async () => {
  await cleanup();
  // the figures asked for in the report: peak RSS and wall time of every run
  console.log(`hostile zips, peak RSS / wall time per run:\n${measured.join('\n')}`);
});

interface Measured {
  exitCode: number;
  stdout: string;
  stderr: string;
  rssMb?: number;
  seconds: number;
}

const TIME = have('time');

async function measure(args: string[]): Promise<Measured> {
  const stats = join(dir, 'time.txt');
  const cmd = TIME ? ['/usr/bin/time', ['-f', '%M %e', '-o', stats, process.execPath, BIN, ...args]] as const : [process.execPath, [BIN, ...args]] as const;
  const started = Date.now();
  const r = await execa(cmd[0], [...cmd[1]], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', CI: '1' }, reject: false, timeout: 120_000, stripFinalNewline: false });
  const seconds = (Date.now() - started) / 1000;
  let rssMb: number | undefined;
  if (TIME) {
    const [kb] = (await readFile(stats, 'utf8')).trim().split(/\s+/).slice(-2);
    rssMb = Number(kb) / 1024;
  }
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), rssMb, seconds };
}

const GOOD_LOG = '03/06/2025 10:12:33,120 ERROR run failed\n'.repeat(50);
const GOOD = { path: 'APP01/tracer/W6Server.log', data: GOOD_LOG, server: 'APP01' };

/** A well-formed bundle around `extra` entries, its manifest listing only the good file unless told. */
function bundle(extra: LocalEntry[], manifest = manifestFor([GOOD])): LocalEntry[] {
  return [{ name: 'manifest.json', data: manifest }, { name: GOOD.path, data: GOOD.data }, ...extra];
}

async function write(name: string, bytes: Buffer): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
}

/** Runs verify and inspect, human and --json: each refuses with `code`, quickly, in bounded memory. */
async function expectRefused(file: string, code: string, label: string): Promise<void> {
  for (const args of [['bundle', 'verify', file], ['--json', 'bundle', 'verify', file], ['bundle', 'inspect', file], ['--json', 'bundle', 'inspect', file]]) {
    const r = await measure(args);
    const what = `${label}: ${args.filter((a) => a !== file).join(' ')}`;
    measured.push(`  ${what.padEnd(48)} exit ${r.exitCode}  ${r.rssMb?.toFixed(0) ?? '?'} MB  ${r.seconds.toFixed(2)} s`);
    expect(r.stderr, what).not.toMatch(/this is a bug|unexpected failure/);
    expect(r.exitCode, `${what}\n${r.stdout}\n${r.stderr}`).toBe(2);
    if (args[0] === '--json') {
      const j = JSON.parse(r.stdout);
      expect(j.refused, what).toBe(true);
      expect(j.problems.map((p: { code: string }) => p.code), what).toContain(code);
    } else {
      expect(r.stdout, what).toMatch(new RegExp(`\\s${code}$`, 'm'));
    }
    for (const s of [r.stdout, r.stderr]) {
      expect(s.includes('\u001b'), `${what}: raw ESC`).toBe(false);
      expect(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(s), `${what}: raw control`).toBe(false);
    }
    if (r.rssMb !== undefined) expect(r.rssMb, `${what}: peak RSS`).toBeLessThan(200);
    expect(r.seconds, `${what}: generous bound, figures are in the log`).toBeLessThan(20);
  }
}

describe('bundle verify / inspect refuse hostile zips (exit 2, a problem row, bounded memory)', { timeout: 600_000 }, () => {
  it('the zips built here are read like real bundles when honest', async () => {
    const p = await write('honest.zip', buildZip(bundle([])));
    const r = await measure(['bundle', 'verify', p]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok {2}.*: 2 files, every sha256 and size matches/);
    expect((await measure(['bundle', 'inspect', p])).exitCode).toBe(0);
  });

  it('a 255 KB zip whose manifest inflates to 250 MB (declared honestly, or declared small)', async () => {
    const head = Buffer.from(`{"schema":"clk-support/bundle-manifest/v1","entries":[`);
    const bomb = await deflatedRepeat(Buffer.from(' '), 250 * 1024 * 1024, head, Buffer.from(']}'));
    const honest = await write('manifest-bomb.zip', buildZip([{ name: 'manifest.json', deflated: bomb }]));
    expect((await readFile(honest)).length).toBeLessThan(400 * 1024);
    await expectRefused(honest, 'MANIFEST_TOO_LARGE', 'manifest bomb');
    const lying = await write('manifest-bomb-lying.zip', buildZip([{ name: 'manifest.json', deflated: { ...bomb, size: 4000 } }]));
    await expectRefused(lying, 'INFLATED_SIZE', 'manifest bomb, small declared size');
  });

  it('an entry that inflates 1000:1 to 250 MB, and 2000 small entries that do so together', async () => {
    const bomb = await deflatedRepeat(Buffer.from([0]), 250 * 1024 * 1024);
    await expectRefused(await write('entry-bomb.zip', buildZip(bundle([{ name: 'APP01/bomb.bin', deflated: bomb }]))), 'COMPRESSION_RATIO', 'entry bomb');
    // 2000 entries of 1 MiB each, every one under the per-entry threshold: 2 GiB from about 2 MB
    const small = await deflatedRepeat(Buffer.from([0]), 1024 * 1024);
    const many = Array.from({ length: 2000 }, (_, i) => ({ name: `APP01/z${i}.bin`, deflated: small }));
    await expectRefused(await write('many-small-bombs.zip', buildZip(bundle(many))), 'COMPRESSION_RATIO', '2000 small bombs');
  });

  it('a manifest with 2 million entries, one of 200 000 nulls, one nested 100 000 deep', async () => {
    const two = `{"schema":"clk-support/bundle-manifest/v1","entries":[${'{},'.repeat(2_000_000 - 1)}{}]}`;
    await expectRefused(await write('manifest-2m.zip', buildZip(bundle([], two))), 'MANIFEST_TOO_LARGE', 'manifest 2M entries');
    const nulls = `{"schema":"clk-support/bundle-manifest/v1","entries":[${'null,'.repeat(199_999)}null]}`;
    await expectRefused(await write('manifest-200k.zip', buildZip(bundle([], nulls))), 'MANIFEST_TOO_LARGE', 'manifest 200k nulls');
    const deep = `{"schema":"clk-support/bundle-manifest/v1","entries":[],"farm":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    await expectRefused(await write('manifest-deep.zip', buildZip(bundle([], deep))), 'MANIFEST_INVALID', 'manifest nested 100k deep');
  });

  it('manifests that are not what they claim: entries [null], entries not a list, not an object', async () => {
    const cases: [string, string, string][] = [
      ['entries-null', '{"schema":"clk-support/bundle-manifest/v1","entries":[null]}', 'MANIFEST_INVALID'],
      ['entries-object', '{"schema":"clk-support/bundle-manifest/v1","entries":{"a":1}}', 'MANIFEST_INVALID'],
      ['entries-mixed', JSON.stringify({ schema: 'clk-support/bundle-manifest/v1', entries: [1, 'x', [], { path: 7 }, { path: 'a', size: -1, sha256: 'z' }] }), 'MANIFEST_INVALID'],
      ['manifest-array', '[1,2,3]', 'NOT_A_MANIFEST'],
      ['manifest-not-json', '{"schema":', 'MANIFEST_INVALID'],
    ];
    for (const [name, text, code] of cases) await expectRefused(await write(`${name}.zip`, buildZip(bundle([], text))), code, name);
  });

  it('10 000 central-directory entries pointing at one 100 MB deflate stream, and two small entries sharing one', async () => {
    const stream = await deflatedRepeat(Buffer.from('A'), 100 * 1024 * 1024);
    const zip = buildZip(bundle([{ name: 'APP01/big.log', deflated: stream }]), {
      central: (records) => {
        const big = records[2];
        const copies = Array.from({ length: 10_000 }, (_, i) => ({ ...big, name: Buffer.from(`APP01/copy-${String(i).padStart(5, '0')}.log`) }));
        return [...records, ...copies];
      },
    });
    await expectRefused(await write('overlap-10k.zip', zip), 'OVERLAP', 'overlap 10k x 100 MB');
    const small = buildZip(bundle([]), { central: (records) => [...records, { ...records[1], name: Buffer.from('APP01/twin.log') }] });
    await expectRefused(await write('overlap-twin.zip', small), 'OVERLAP', 'overlap twin');
    const crossing = buildZip(bundle([]), { central: (records) => [...records, { ...records[1], name: Buffer.from('APP01/inside.log'), offset: records[1].offset + 12 }] });
    await expectRefused(await write('overlap-crossing.zip', crossing), 'OVERLAP', 'overlap crossing');
  });

  it('unsafe names of every kind: each alone refuses the zip, all together give one row each', async () => {
    const names: string[] = ['../../x', '/etc/x', '..\\x', 'C:/x', 'c:x', 'a/../../x', 'APP01/..', 'APP01/a\nb.log', 'APP01/a\rb', 'APP01/a\u0000b.log', 'APP01/\u001b]0;pwned\u0007.log', 'APP01/\u202egol.exe', 'APP01/a\u0085b', './x', 'a//b', '\\\\server\\share\\x'];
    const all = await write('unsafe-all.zip', buildZip(bundle(names.map((name) => ({ name, data: 'x' })))));
    await expectRefused(all, 'UNSAFE_PATH', 'unsafe names, all in one zip');
    const rows = JSON.parse((await measure(['--json', 'bundle', 'verify', all])).stdout).problems as { path: string; code: string }[];
    expect(rows.filter((r) => r.code === 'UNSAFE_PATH').map((r) => r.path).sort()).toEqual([...names].sort());
    for (const [i, name] of names.entries()) {
      const r = await measure(['--json', 'bundle', 'verify', await write(`unsafe-${i}.zip`, buildZip(bundle([{ name, data: 'x' }])))]);
      expect(r.exitCode, JSON.stringify(name)).toBe(2);
      expect(JSON.parse(r.stdout).problems, JSON.stringify(name)).toEqual([expect.objectContaining({ path: name, code: 'UNSAFE_PATH' })]);
    }
  });

  it('duplicate names, encrypted entries, symlinks, special files, unsupported methods', async () => {
    await expectRefused(await write('duplicate.zip', buildZip(bundle([{ name: GOOD.path, data: 'other' }]))), 'DUPLICATE', 'duplicate');
    await expectRefused(await write('encrypted.zip', buildZip(bundle([{ name: 'APP01/secret.log', data: 'x', flags: 1 }]))), 'ENCRYPTED', 'encrypted');
    const link = { name: 'APP01/link.log', data: '/etc/passwd', store: true, externalAttributes: (0o120777 << 16) >>> 0 };
    await expectRefused(await write('symlink.zip', buildZip(bundle([link]))), 'SYMLINK', 'symlink');
    // the link listed in the manifest, as a tampering tool would
    const listedLink = buildZip(bundle([link], manifestFor([GOOD, { path: 'APP01/link.log', data: '/etc/passwd' }])));
    await expectRefused(await write('symlink-listed.zip', listedLink), 'SYMLINK', 'symlink listed');
    await expectRefused(await write('fifo.zip', buildZip(bundle([{ name: 'APP01/fifo', data: '', store: true, externalAttributes: (0o010644 << 16) >>> 0 }]))), 'SPECIAL_FILE', 'fifo');
    const bzip = buildZip(bundle([{ name: 'APP01/b.log', data: 'x' }]), { central: (records) => records.map((r, i) => (i === 2 ? { ...r, method: 12 } : r)) });
    await expectRefused(await write('method.zip', bzip), 'UNSUPPORTED_METHOD', 'method 12');
  });

  it('a manifest that lists unsafe paths', async () => {
    const m = manifestFor([GOOD, { path: '../../etc/cron.d/x', data: 'x' }]);
    await expectRefused(await write('manifest-unsafe.zip', buildZip(bundle([], m))), 'UNSAFE_PATH', 'manifest lists ../../');
  });

  it.skipIf(!have('python3'))('the same refusals on zips written by Python zipfile (a real writer)', async () => {
    const file = join(dir, 'python.zip');
    const script = [
      'import sys, zipfile, json, hashlib',
      'log = b"03/06/2025 10:12:33,120 ERROR run failed\\n" * 50',
      'm = {"schema": "clk-support/bundle-manifest/v1", "entries": [{"path": "APP01/w.log", "size": len(log), "sha256": hashlib.sha256(log).hexdigest(), "collector": "tracer"}]}',
      'z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED)',
      'z.writestr("manifest.json", json.dumps(m)); z.writestr("APP01/w.log", log)',
      'i = zipfile.ZipInfo("APP01/link"); i.create_system = 3; i.external_attr = (0o120777 << 16); z.writestr(i, "/etc/shadow")',
      'z.writestr(zipfile.ZipInfo("../../evil.sh"), "x")',
      'z.close()',
    ].join('\n');
    await execa('python3', ['-c', script, file]);
    await expectRefused(file, 'SYMLINK', 'python zipfile symlink');
    const j = JSON.parse((await measure(['--json', 'bundle', 'verify', file])).stdout);
    expect(j.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: '../../evil.sh', code: 'UNSAFE_PATH' }), expect.objectContaining({ path: 'APP01/link', code: 'SYMLINK' })]));
  });

  it('caps on the number of entries and on the declared total', async () => {
    const many = Array.from({ length: 100_001 }, (_, i) => ({ name: `APP01/f${i}`, data: '', store: true }));
    await expectRefused(await write('too-many.zip', buildZip(bundle(many))), 'TOO_MANY_ENTRIES', '100 001 entries');
    // 17 entries declaring 4.2 GB each: 71 GB in all, over the 64 GiB cap (each also far over 200:1)
    const huge = buildZip(bundle(Array.from({ length: 17 }, (_, i) => ({ name: `APP01/h${i}`, data: 'x' }))), {
      central: (records) => records.map((r, i) => (i >= 2 ? { ...r, size: 4_200_000_000 } : r)),
    });
    await expectRefused(await write('too-large.zip', huge), 'TOO_LARGE', '17 x 4.2 GB declared');
  });

  it('central-directory counts that lie (more, fewer, impossible)', async () => {
    const entries = bundle([]);
    await expectRefused(await write('count-more.zip', buildZip(entries, { count: 3 })), 'ENTRY_COUNT', 'count says 3 of 2');
    await expectRefused(await write('count-fewer.zip', buildZip(entries, { count: 1 })), 'ENTRY_COUNT', 'count says 1 of 2');
    await expectRefused(await write('count-huge.zip', buildZip(entries, { count: 60_000 })), 'ENTRY_COUNT', 'count says 60000 of 2');
  });

  it('a file that is not a zip, a truncated zip, an empty file, a directory, a FIFO', async () => {
    await expectRefused(await write('notes.zip', Buffer.from('just some text, not a zip\n'.repeat(10))), 'NOT_A_ZIP', 'not a zip');
    const whole = buildZip(bundle([{ name: 'APP01/more.log', data: 'y'.repeat(5000) }]));
    await expectRefused(await write('truncated.zip', whole.subarray(0, Math.floor(whole.length / 2))), 'ZIP_TRUNCATED', 'truncated');
    await expectRefused(await write('empty.zip', Buffer.alloc(0)), 'NOT_A_ZIP', 'empty file');
    await expectRefused(dir, 'NOT_A_ZIP', 'a directory');
    if (have('mkfifo')) {
      const fifo = join(dir, 'named-pipe.zip');
      await execa('mkfifo', [fifo]);
      await expectRefused(fifo, 'NOT_A_ZIP', 'a FIFO (would block)');
    }
  });
});

describe('terminal escapes from a bundle are shown escaped', { timeout: 120_000 }, () => {
  const OSC_TITLE = '\u001b]0;pwned\u0007';
  const CLEAR = '\u001b[2J\u001b[H';
  const LINK = '\u001b]8;;https://evil.example/\u001b\\click me\u001b]8;;\u001b\\';
  const BIDI = '\u202egol.exe';

  it('manifest fields (farm, server, collector, note, reason) with OSC titles, screen clears, OSC-8 links, bidi overrides', async () => {
    const manifest = manifestFor([{ ...GOOD, server: `APP01${OSC_TITLE}`, collector: `tracer${CLEAR}`, note: `see ${LINK}`, sourcePath: BIDI }], {
      farm: { name: `Farm${OSC_TITLE}`, systemId: `TST${CLEAR}` },
      window: { from: `2025${LINK}`, to: '2025-06-03T12:00:00.000Z' },
      createdAt: `now${BIDI}`,
      collectors: [{ server: `WEB01${CLEAR}`, collector: `probe${OSC_TITLE}`, status: `failed${CLEAR}`, reason: `unreachable ${LINK}`, durationMs: 3, files: 0, bytes: 0 }],
      redaction: { totals: { [`rule${OSC_TITLE}`]: 2 }, files: 1 },
    });
    const p = await write('escapes.zip', buildZip(bundle([], manifest)));
    for (const args of [['bundle', 'inspect', p], ['bundle', 'verify', p], ['--json', 'bundle', 'inspect', p], ['--json', 'bundle', 'verify', p]]) {
      const r = await measure(args);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      for (const s of [r.stdout, r.stderr]) {
        expect(s.includes('\u001b'), `${args.join(' ')}: raw ESC in ${s}`).toBe(false);
        expect(s.includes('\u202e'), `${args.join(' ')}: raw bidi override`).toBe(false);
        expect(s.includes('\u0007'), `${args.join(' ')}: raw BEL`).toBe(false);
      }
      if (args[0] === 'bundle' && args[1] === 'inspect') {
        expect(r.stdout).toContain('farm:     Farm\\x1b]0;pwned\\x07 (TST\\x1b[2J\\x1b[H)');
        expect(r.stdout).toContain('created:  now\\u202egol.exe');
        expect(r.stdout).toContain('see \\x1b]8;;https://evil.example/\\x1b\\click me');
        expect(r.stdout).toMatch(/WEB01\\x1b\[2J\\x1b\[H\s+probe\\x1b\]0;pwned\\x07\s+failed\\x1b\[2J/);
      }
      if (args[0] === '--json') expect(JSON.parse(r.stdout).ok).toBe(true); // JSON stays JSON: escapes are JSON's own
    }
  });

  it('entry names with escapes are refused and printed escaped (verify and inspect, problem rows and listings)', async () => {
    const name = `APP01/${OSC_TITLE}${CLEAR}${LINK}.log`;
    const p = await write('escape-name.zip', buildZip(bundle([{ name, data: 'x' }], manifestFor([GOOD, { path: name, data: 'x' }]))));
    await expectRefused(p, 'UNSAFE_PATH', 'escape name');
    const r = await measure(['bundle', 'inspect', p]);
    expect(r.stdout).toContain('APP01/\\x1b]0;pwned\\x07\\x1b[2J\\x1b[H\\x1b]8;;https://evil.example/');
  });

  it('the error printer escapes what a message quotes (a file name with escapes)', async () => {
    const r = await measure(['bundle', 'verify', join(dir, `missing${OSC_TITLE}.zip`)]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('missing\\x1b]0;pwned\\x07.zip');
    expect(r.stderr.includes('\u001b')).toBe(false);
  });
});
