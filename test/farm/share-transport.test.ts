import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShareTransport } from '../../src/farm/transports/local.js';
import { TransportError } from '../../src/farm/transports/transport.js';
import { glob } from '../../src/farm/glob.js';

let root: string;
let d: string;
const timeouts = { connectTimeoutMs: 2000, timeoutMs: 5000 };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'clk-share-'));
  d = join(root, 'd$');
  await mkdir(join(root, 'ClickSoftware', 'Logs', 'Tracer', 'Archive'), { recursive: true });
  await writeFile(join(root, 'ClickSoftware', 'Logs', 'Tracer', 'W6Server_1.log'), 'a\n');
  await writeFile(join(root, 'ClickSoftware', 'Logs', 'Tracer', 'W6Server_2.LOG'), 'b\n');
  await writeFile(join(root, 'ClickSoftware', 'Logs', 'Tracer', 'Archive', 'old.log'), 'c\n');
  await writeFile(join(root, 'ClickSoftware', 'Logs', 'readme.txt'), 'x');
  // A symlink loop: a walk that followed links would never end.
  await symlink(join(root, 'ClickSoftware'), join(root, 'ClickSoftware', 'Logs', 'Tracer', 'loop'));
  await mkdir(join(d, 'Data'), { recursive: true });
  await writeFile(join(d, 'Data', 'x.log'), 'on d');
});
afterAll(() => rm(root, { recursive: true, force: true }));

const share = () => new ShareTransport('APP01', 'windows', { root, drives: { D: d } }, timeouts);

describe('share transport', () => {
  it('maps Windows server paths under the share root, other drives through `drives`', async () => {
    const t = share();
    await t.connect();
    expect((await t.readFile('C:\\ClickSoftware\\Logs\\Tracer\\W6Server_1.log')).toString()).toBe('a\n');
    expect((await t.readFile('c:/ClickSoftware/Logs/readme.txt')).toString()).toBe('x');
    expect((await t.readFile('D:\\Data\\x.log')).toString()).toBe('on d');
    await expect(t.readFile('E:\\nothing')).rejects.toMatchObject({ reason: 'not-found' });
  });

  it('refuses paths that climb out of the share', async () => {
    const t = share();
    await expect(t.readFile('C:\\..\\..\\etc\\passwd')).rejects.toMatchObject({ reason: 'permission' });
    await expect(t.writeFileAtomic('C:\\ClickSoftware\\..\\..\\evil.txt', 'x')).rejects.toBeInstanceOf(TransportError);
    // '..' that stays inside the root is fine.
    expect((await t.readFile('C:\\ClickSoftware\\Logs\\Tracer\\..\\readme.txt')).toString()).toBe('x');
  });

  it('classifies a missing file as not-found and a missing root as unreachable', async () => {
    await expect(share().stat('C:\\nope.txt')).rejects.toMatchObject({ reason: 'not-found' });
    const gone = new ShareTransport('WEB01', 'windows', { root: join(root, 'absent') }, timeouts);
    await expect(gone.connect()).rejects.toMatchObject({ reason: 'unreachable' });
  });

  it('writes atomically: no temp file left, previous content replaced whole', async () => {
    const t = share();
    const target = 'C:\\ClickSoftware\\License.xml';
    await t.writeFileAtomic(target, 'first');
    await t.writeFileAtomic(target, 'second');
    expect(await readFile(join(root, 'ClickSoftware', 'License.xml'), 'utf8')).toBe('second');
    expect((await readdir(join(root, 'ClickSoftware'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('reads ranges and streams', async () => {
    const t = share();
    expect((await t.readAt('C:\\ClickSoftware\\Logs\\readme.txt', 0, 100)).toString()).toBe('x');
    const s = await t.createReadStream('C:\\ClickSoftware\\Logs\\Tracer\\W6Server_1.log');
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('a\n');
    await expect(t.createReadStream('C:\\missing.log')).rejects.toMatchObject({ reason: 'not-found' });
  });

  it('cannot run commands and says so', async () => {
    await expect(share().exec('wevtutil', ['el'])).rejects.toMatchObject({ reason: 'unsupported' });
  });

  it('reads the server clock from a file timestamp', async () => {
    const c = await share().clock();
    expect(Math.abs(c.offsetMs)).toBeLessThan(2000);
    expect(c.method).toBe('share file timestamp');
    expect((await readdir(root)).some((n) => n.startsWith('.clk-support-clock'))).toBe(false);
  });
});

describe('glob over a transport', () => {
  it('matches ** and * case-insensitively on Windows, never following symlinks', async () => {
    const found = await glob(share(), 'C:\\ClickSoftware\\Logs\\**\\*.log');
    expect(found.map((f) => f.path)).toEqual([
      'C:\\ClickSoftware\\Logs\\Tracer\\Archive\\old.log',
      'C:\\ClickSoftware\\Logs\\Tracer\\W6Server_1.log',
      'C:\\ClickSoftware\\Logs\\Tracer\\W6Server_2.LOG',
    ]);
  });

  it('matches a single folder level with *', async () => {
    const found = await glob(share(), 'C:\\ClickSoftware\\Logs\\Tracer\\W6Server_*.log');
    expect(found.map((f) => f.name)).toEqual(['W6Server_1.log', 'W6Server_2.LOG']);
  });

  it('returns nothing for a folder that does not exist, and a literal path when it is a file', async () => {
    expect(await glob(share(), 'C:\\Nope\\**\\*.log')).toEqual([]);
    expect((await glob(share(), 'C:\\ClickSoftware\\Logs\\readme.txt')).map((f) => f.name)).toEqual(['readme.txt']);
  });
});
