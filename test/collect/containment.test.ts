// Containment through the built CLI: symbolic links that lead out of a server's root never bring a
// byte of the outside into a bundle (share: the collecting machine's own files; ssh: files beside the
// server's confinement folder), links that stay inside are still followed, FIFOs are skipped without
// blocking, and file names with control characters are collected without forging collector.log lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { copyDemoFarm, runCli } from '../support/cli.js';
import { tryStartSshd } from '../support/sshd.js';
import { DEMO_WINDOW, openBundle, type Manifest } from './helpers.js';

const OUTSIDE = `OUTSIDE-MARKER-${randomBytes(6).toString('hex')}`;
const INSIDE = `INSIDE-MARKER-${randomBytes(6).toString('hex')}`;

/** A Tracer log with lines inside the demo window, each carrying a marker. */
function tracer(marker: string): string {
  return ['2025-06-03 09:00:00.000 [10] ERROR W6.Gantt - ', '2025-06-03 09:30:00.000 [11] INFO  W6.Gantt - ', '2025-06-03 10:00:00.000 [12] WARN  W6.Gantt - ']
    .map((p) => `${p}${marker} line`)
    .join('\r\n') + '\r\n';
}

/** The place outside every server root: stands for the collecting machine's own files. */
async function makeOutside(dir: string): Promise<string> {
  const out = join(dir, 'outside');
  await mkdir(join(out, 'Logs', 'deep'), { recursive: true });
  await writeFile(join(out, 'shadow'), `root:${OUTSIDE}:19000:0:99999:7:::\n`);
  await writeFile(join(out, 'W6Server.config'), `<configuration><appSettings><add key="x" value="${OUTSIDE}"/></appSettings></configuration>\n`);
  await writeFile(join(out, 'leak.log'), tracer(OUTSIDE));
  await writeFile(join(out, 'Logs', 'W6Server_outside.log'), tracer(OUTSIDE));
  await writeFile(join(out, 'Logs', 'deep', 'W6Server_deep.log'), tracer(OUTSIDE));
  return out;
}

/** Every extracted byte (and the raw zip), in UTF-8 and UTF-16LE, searched for the marker. */
/** What collect writes from what it read (the incident form, the timeline): they quote error lines of files followed inside. */
const GENERATED = new Set(['incident.txt', 'timeline.json', 'timeline.html']);

function leaks(files: Map<string, Buffer>, raw: Buffer, marker: string): string[] {
  const needles = [Buffer.from(marker, 'utf8'), Buffer.from(marker, 'utf16le')];
  const hits = [...files].filter(([, data]) => needles.some((n) => data.includes(n))).map(([name]) => name);
  if (needles.some((n) => raw.includes(n))) hits.push('(raw zip)');
  return hits;
}

function skippedRows(manifest: Manifest): { server: string; collector: string; path: string; reason: string; kind: string }[] {
  return (manifest.files as { server: string; collector: string; path: string; reason: string; kind: string }[]) ?? [];
}

function fifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

describe('collect over a share: links out of the root are skipped (outside-root), links inside are followed', () => {
  let demo: Awaited<ReturnType<typeof copyDemoFarm>>;
  let outDir: string;
  let result: Awaited<ReturnType<typeof runCli>>;
  let files: Map<string, Buffer>;
  let manifest: Manifest;
  let raw: Buffer;
  let collectorLog: string;

  beforeAll(async () => {
    demo = await copyDemoFarm();
    const outside = await makeOutside(join(demo.dir, '..'));
    const app = join(demo.dir, 'servers', 'app01', 'c$');
    const so = join(app, 'Program Files', 'ClickSoftware', 'Service Optimization');
    const logs = join(app, 'ClickSoftware', 'Logs');
    // The literal prefix of configGlobs (…\Config\*) is itself a link to the collecting machine.
    await rm(join(so, 'Config'), { recursive: true });
    await symlink(outside, join(so, 'Config'));
    // Under **: a file link and a folder link out (absolute), a relative one climbing out, one to '/'.
    await symlink(join(outside, 'leak.log'), join(logs, 'Tracer', 'leak.log'));
    await symlink(join(outside, 'Logs'), join(logs, 'Elsewhere'));
    await symlink('../../../../../../outside/leak.log', join(logs, 'Tracer', 'climb.log'));
    await symlink('/', join(logs, 'Slash'));
    await symlink(join(outside, 'shadow'), join(logs, 'Tracer', 'shadow.log'));
    // Inside the root: a file link (relative), a folder link (absolute, through the share's own path), a loop.
    await mkdir(join(app, 'Data', 'Kept'), { recursive: true });
    await writeFile(join(app, 'Data', 'kept.log'), tracer(INSIDE));
    await writeFile(join(app, 'Data', 'Kept', 'W6Kept.log'), tracer(INSIDE));
    await symlink('../../../Data/kept.log', join(logs, 'Tracer', 'kept.log'));
    await symlink(join(app, 'Data', 'Kept'), join(logs, 'KeptDir'));
    await symlink('..', join(logs, 'Tracer', 'loop'));
    // A FIFO named like a Tracer log: never opened (opening it for reading would block).
    fifo(join(logs, 'Tracer', 'W6Server_fifo.log'));
    // File names with a newline and ESC: collected, and collector.log stays one line per entry.
    await writeFile(join(logs, 'Tracer', 'evil\nAPP01\tconfig\tok\t0ms.log'), tracer('NEWLINE-NAME'));
    await writeFile(join(logs, 'Tracer', '\x1b[31mred.log'), tracer('ESC-NAME'));
    // At the root of the share: INT01's whole C:\ClickSoftware is a link to the collecting machine.
    const int = join(demo.dir, 'servers', 'int01', 'c$');
    await rm(join(int, 'ClickSoftware'), { recursive: true });
    await symlink(outside, join(int, 'ClickSoftware'));

    outDir = await mkdtemp(join(tmpdir(), 'clk-contain-out-'));
    result = await runCli(['--farm', demo.farmFile, 'collect', ...DEMO_WINDOW, '--out', outDir], { timeoutMs: 90_000 });
    ({ files, manifest, raw } = await openBundle(result.stdout.trim()));
    collectorLog = files.get('collector.log')!.toString('utf8');
  }, 120_000);
  afterAll(async () => {
    await demo?.cleanup();
    await rm(outDir, { recursive: true, force: true });
  });

  it('finishes (WEB01 is down: exit 3) without blocking on the FIFO', () => {
    expect(result.exitCode, result.stderr).toBe(3);
  });

  it('no byte of any outside file is in the bundle, incident.txt included (its first-error scan follows the same rule)', () => {
    expect(files.has('incident.txt')).toBe(true);
    expect(leaks(files, raw, OUTSIDE)).toEqual([]);
  });

  it('records every link out of the root as outside-root, in the manifest and in collector.log', () => {
    const rows = skippedRows(manifest).filter((r) => r.reason.startsWith('outside-root'));
    const paths = rows.map((r) => `${r.server} ${r.path}`);
    for (const p of [
      'APP01 C:\\Program Files\\ClickSoftware\\Service Optimization\\Config',
      'APP01 C:\\ClickSoftware\\Logs\\Tracer\\leak.log',
      'APP01 C:\\ClickSoftware\\Logs\\Tracer\\climb.log',
      'APP01 C:\\ClickSoftware\\Logs\\Tracer\\shadow.log',
      'APP01 C:\\ClickSoftware\\Logs\\Elsewhere',
      'APP01 C:\\ClickSoftware\\Logs\\Slash',
    ])
      expect(paths, p).toContain(p);
    // INT01: the folder at the root of its share is the link (Tracer glob and config glob both start there).
    expect(rows.some((r) => r.server === 'INT01' && r.path.startsWith('C:\\ClickSoftware'))).toBe(true);
    for (const r of rows) expect(r.kind).toBe('skipped');
    expect(collectorLog).toMatch(/^APP01\tconfig\tskipped\t.*outside-root/m);
    expect(collectorLog).toMatch(/^APP01\ttracer\t.*outside-root/m);
  });

  it('still follows links that stay inside the root (file link, folder link under **)', () => {
    expect(leaks(files, raw, INSIDE).filter((f) => !GENERATED.has(f)).sort()).toEqual(['APP01/tracer/C/ClickSoftware/Logs/KeptDir/W6Kept.log', 'APP01/tracer/C/ClickSoftware/Logs/Tracer/kept.log']);
    // The loop (Tracer\loop -> ..) is walked once, not followed round: every file is in the bundle once.
    const tracerPaths = manifest.entries.filter((e) => e.collector === 'tracer' && e.server === 'APP01').map((e) => e.path);
    expect(tracerPaths.filter((p) => p.includes('/loop/'))).toEqual([]);
    expect(new Set(tracerPaths).size).toBe(tracerPaths.length);
  });

  it('--dry-run lists the links out and the FIFO as left out, with their reasons', async () => {
    const r = await runCli(['--farm', demo.farmFile, '--json', 'collect', ...DEMO_WINDOW, '--dry-run', '--server', 'APP01']);
    const plan = (JSON.parse(r.stdout).plan as { sourcePath: string; skip?: string }[]).filter((x) => x.skip);
    const why = (end: string) => plan.find((x) => x.sourcePath.endsWith(end))?.skip ?? '';
    expect(why('\\Service Optimization\\Config')).toMatch(/^outside-root/);
    expect(why('\\Tracer\\leak.log')).toMatch(/^outside-root/);
    expect(why('\\Logs\\Elsewhere')).toMatch(/^outside-root/);
    expect(why('W6Server_fifo.log')).toMatch(/^not-a-file/);
  });

  it('skips the FIFO as not-a-file', () => {
    const row = skippedRows(manifest).find((r) => r.path.endsWith('W6Server_fifo.log'));
    expect(row?.reason).toMatch(/^not-a-file/);
    expect(row?.kind).toBe('skipped');
  });

  it('collects files whose names hold a newline or ESC, and collector.log stays one line per entry', () => {
    const evil = manifest.entries.find((e) => e.path.includes('evil'));
    expect(evil?.path).toBe('APP01/tracer/C/ClickSoftware/Logs/Tracer/evil%0AAPP01%09config%09ok%090ms.log');
    expect(files.get(evil!.path)!.toString('utf8')).toContain('NEWLINE-NAME');
    const red = manifest.entries.find((e) => e.path.includes('red.log'));
    expect(red?.path).toBe('APP01/tracer/C/ClickSoftware/Logs/Tracer/%1B[31mred.log');
    expect(red?.sourcePath).not.toMatch(/[\x00-\x1f]/);
    const lines = collectorLog.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^# clk-support collector log/);
    // One line per collector run, each with exactly the seven columns.
    expect(lines.length - 1).toBe(manifest.collectors.length);
    for (const l of lines.slice(1)) {
      expect(l.split('\t').length, l).toBeLessThanOrEqual(7);
      expect(l).toMatch(/^(APP01|SCHED01|INT01|WEB01|-)\t(probe|eventlogs|perfmon|tracer|config|facts|incident|timeline)\t(ok|partial|failed|skipped|timed-out)\t\d+ms\t/);
      expect(l).not.toMatch(/\x1b/);
    }
    for (const r of skippedRows(manifest)) expect(`${r.path} ${r.reason}`).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  });
});

const ssh = await tryStartSshd();

afterAll(async () => {
  await ssh.server?.stop();
});

for (const kind of ['local', 'ssh'] as const) describe.skipIf(kind === 'ssh' && !ssh.server)(`collect over ${kind} confined to a folder (transport.root)${kind === 'ssh' && ssh.skipReason ? ` (${ssh.skipReason})` : ''}`, () => {
  let dir: string;
  let tree: string;
  let outside: string;
  let farmPath: string;
  let files: Map<string, Buffer>;
  let manifest: Manifest;
  let raw: Buffer;
  let result: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    const srv = ssh.server;
    dir = await mkdtemp(join(tmpdir(), `clk-contain-${kind}-`));
    outside = await makeOutside(dir);
    tree = join(dir, 'lnx01');
    await mkdir(join(tree, 'opt/clk/license'), { recursive: true });
    await mkdir(join(tree, 'logs/Tracer'), { recursive: true });
    await mkdir(join(tree, 'data/Kept'), { recursive: true });
    await writeFile(join(tree, 'opt/clk/version.txt'), 'Product=ClickSoftware\nVersion=8.1.15.2207\n');
    await writeFile(join(tree, 'logs/Tracer/W6Server.log'), tracer('PLAIN-LOG'));
    await writeFile(join(tree, 'data/kept.log'), tracer(INSIDE));
    await writeFile(join(tree, 'data/Kept/W6Kept.log'), tracer(INSIDE));
    // Literal prefix of a glob: the Config folder is a link out of the confinement folder.
    await symlink(outside, join(tree, 'opt/clk/Config'));
    // At the top of the server's root: var is a link out.
    await symlink(outside, join(tree, 'var'));
    // Under **: file and folder links out, relative and absolute; links inside; a loop; a FIFO.
    await symlink(join(outside, 'leak.log'), join(tree, 'logs/Tracer/leak.log'));
    await symlink('../../../outside/Logs', join(tree, 'logs/Elsewhere'));
    await symlink('../../data/kept.log', join(tree, 'logs/Tracer/kept.log'));
    await symlink(join(tree, 'data/Kept'), join(tree, 'logs/KeptDir'));
    await symlink('..', join(tree, 'logs/Tracer/loop'));
    fifo(join(tree, 'logs/Tracer/W6Server_fifo.log'));
    const entry = {
      name: 'LNX01',
      role: 'application',
      platform: 'linux',
      transport:
        kind === 'ssh'
          ? { type: 'ssh', host: srv!.host, port: srv!.port, user: srv!.user, identityFile: srv!.identityFile, knownHosts: srv!.knownHosts, root: tree }
          : { type: 'local', root: tree },
      installRoot: `${tree}/opt/clk`,
      version: { file: `${tree}/opt/clk/version.txt`, pattern: 'Version=(?<version>\\d+\\.\\d+\\.\\d+\\.(?<build>\\d+))' },
      logs: { tracerGlobs: [`${tree}/logs/**/*.log`, `${tree}/var/log/*.log`], eventLogChannels: [] },
      configGlobs: [`${tree}/opt/clk/Config/*`],
    };
    const farm = {
      formatVersion: 1,
      farm: { name: `Containment over ${kind}`, customerNumber: '1234567', installationNumber: '0020123456', systemId: 'FST', environment: 'test' },
      settings: { connectTimeoutMs: 3000, timeoutMs: 15000 },
      servers: [entry],
    };
    farmPath = join(dir, 'clk-farm.json');
    await writeFile(farmPath, JSON.stringify(farm, null, 2));
    const out = join(dir, 'out');
    await mkdir(out);
    result = await runCli(['--farm', farmPath, 'collect', ...DEMO_WINDOW, '--out', out], { timeoutMs: 90_000 });
    ({ files, manifest, raw } = await openBundle(result.stdout.trim()));
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('collects without a byte of the outside, and says outside-root for every link out', () => {
    expect([0, 3], result.stderr).toContain(result.exitCode);
    expect(leaks(files, raw, OUTSIDE)).toEqual([]);
    const rows = skippedRows(manifest).filter((r) => r.reason.startsWith('outside-root')).map((r) => r.path);
    // This machine's own paths leave only relative to the farm file or as <local>/... (the outgoing filter).
    for (const p of ['/opt/clk/Config', '/var/log', '/logs/Tracer/leak.log', '/logs/Elsewhere']) expect(rows.some((r) => r.endsWith(p) && !r.startsWith(tree)), p).toBe(true);
    expect(files.get('collector.log')!.toString('utf8')).toMatch(/^LNX01\tconfig\tskipped\t.*outside-root/m);
  });

  it('follows the links that stay inside, walks the loop once, skips the FIFO', () => {
    expect(leaks(files, raw, INSIDE).filter((f) => !GENERATED.has(f)).length).toBe(2);
    expect(leaks(files, raw, 'PLAIN-LOG').filter((f) => !GENERATED.has(f)).length).toBe(1);
    expect(skippedRows(manifest).find((r) => r.path.endsWith('W6Server_fifo.log'))?.reason).toMatch(/^not-a-file/);
  });

  it('a path in the farm file outside the confinement folder is refused too', async () => {
    const farm = JSON.parse(await readFile(farmPath, 'utf8'));
    farm.servers[0].configGlobs = [`${outside}/*.config`];
    const other = join(dir, 'outside-path.json');
    await writeFile(other, JSON.stringify(farm));
    const out = join(dir, 'out2');
    await mkdir(out);
    const r = await runCli(['--farm', other, 'collect', ...DEMO_WINDOW, '--out', out, '--no-incident', '--only', 'config'], { timeoutMs: 60_000 });
    const b = await openBundle(r.stdout.trim());
    expect(leaks(b.files, b.raw, OUTSIDE)).toEqual([]);
    expect(skippedRows(b.manifest).some((x) => x.reason.startsWith('outside-root'))).toBe(true);
  });
});
