// Farm file bounds through the built CLI: `farm validate` refuses timeouts a timer cannot hold,
// share roots and state folders that are a filesystem root, paths and globs that climb with '..',
// impossible UTC offsets and patterns RE2 cannot run, naming the JSON path (exit 2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyDemoFarm, runCli } from '../support/cli.js';

type Farm = Record<string, any>;
let demo: Awaited<ReturnType<typeof copyDemoFarm>>;
let base: Farm;

beforeAll(async () => {
  demo = await copyDemoFarm();
  base = JSON.parse(await readFile(demo.farmFile, 'utf8')) as Farm;
});
afterAll(async () => demo?.cleanup());

let n = 0;
async function validate(change: (f: Farm) => void) {
  const f = structuredClone(base);
  change(f);
  const file = join(demo.dir, `farm-${n++}.json`);
  await writeFile(file, JSON.stringify(f));
  const r = await runCli(['--farm', file, '--json', 'farm', 'validate']);
  return { ...r, json: JSON.parse(r.stdout || '{}') as { valid?: boolean } };
}

const refused: [string, string, (f: Farm) => void][] = [
  ['timeoutMs of 2^31', 'settings.timeoutMs', (f) => (f.settings.timeoutMs = 2 ** 31)],
  ['connectTimeoutMs of 2^31', 'settings.connectTimeoutMs', (f) => (f.settings.connectTimeoutMs = 2 ** 31)],
  ['timeoutMs over a day', 'settings.timeoutMs', (f) => (f.settings.timeoutMs = 86_400_001)],
  ['timeoutMs of 0', 'settings.timeoutMs', (f) => (f.settings.timeoutMs = 0)],
  ['a share root of /', 'servers[0].transport.root', (f) => (f.servers[0].transport.root = '/')],
  ['a share root of C:\\', 'servers[0].transport.root', (f) => (f.servers[0].transport.root = 'C:\\')],
  ['a share root of \\\\host\\', 'servers[0].transport.root', (f) => (f.servers[0].transport.root = '\\\\APP01\\')],
  ['a drive of //host', 'servers[0].transport.drives.D', (f) => (f.servers[0].transport.drives = { D: '//APP01' })],
  ['a share root that climbs', 'servers[0].transport.root', (f) => (f.servers[0].transport.root = 'servers/../../..')],
  ['stateDir "/"', 'license.stateDir', (f) => (f.license.stateDir = '/')],
  ['stateDir that climbs', 'license.stateDir', (f) => (f.license.stateDir = '../../state')],
  ['a license path that climbs', 'servers[0].license.path', (f) => (f.servers[0].license.path = 'C:\\..\\..\\..\\outside')],
  ['a license path that is a drive root', 'servers[0].license.path', (f) => (f.servers[0].license.path = 'C:\\')],
  ['a license path with a Windows "..." segment', 'servers[0].license.path', (f) => (f.servers[0].license.path = 'C:\\License\\...\\x.xml')],
  ['a Tracer glob that climbs', 'servers[0].logs.tracerGlobs[0]', (f) => (f.servers[0].logs.tracerGlobs = ['C:\\ClickSoftware\\Logs\\..\\..\\Windows\\*.log'])],
  ['a config glob that climbs', 'servers[0].configGlobs[0]', (f) => (f.servers[0].configGlobs = ['/opt/clk/../../etc/*'])],
  ['an installRoot that climbs', 'servers[0].installRoot', (f) => (f.servers[0].installRoot = 'C:/a/../..')],
  ['an offset of +99:99', 'servers[0].logs.tracerUtcOffset', (f) => (f.servers[0].logs.tracerUtcOffset = '+99:99')],
  ['an offset of +14:30', 'servers[0].logs.tracerUtcOffset', (f) => (f.servers[0].logs.tracerUtcOffset = '+14:30')],
  ['an offset with 60 minutes', 'servers[0].logs.tracerUtcOffset', (f) => (f.servers[0].logs.tracerUtcOffset = '-03:60')],
  ['a version pattern with a backreference', 'servers[0].version.pattern', (f) => (f.servers[0].version = { file: 'C:\\VERSION', pattern: '(?<version>\\d)\\1' })],
  ['a version pattern with a lookahead', 'servers[0].version.pattern', (f) => (f.servers[0].version = { file: 'C:\\VERSION', pattern: '(?<version>\\d+)(?=x)' })],
  ['a version pattern without (?<version>)', 'servers[0].version.pattern', (f) => (f.servers[0].version = { file: 'C:\\VERSION', pattern: '(\\d+)' })],
];

describe('farm validate refuses out-of-bounds values', () => {
  it.each(refused)('%s', async (_what, path, change) => {
    const r = await validate(change);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain('Invalid farm file');
    expect(r.stderr).toContain(`: ${path}: `);
  });

  it('says why in plain words on stderr without --json', async () => {
    const f = structuredClone(base);
    f.settings.timeoutMs = 2 ** 31;
    f.servers[0].transport.root = '\\\\APP01';
    const file = join(demo.dir, 'farm-text.json');
    await writeFile(file, JSON.stringify(f));
    const r = await runCli(['--farm', file, 'farm', 'validate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('settings.timeoutMs: must be at most 86400000 ms (24 h)');
    expect(r.stderr).toContain('servers[0].transport.root: must not be a filesystem root');
  });
});

describe('farm validate accepts the edges', () => {
  it.each([
    ['timeouts of 1 ms and 24 h', (f: Farm) => Object.assign(f.settings, { connectTimeoutMs: 1, timeoutMs: 86_400_000 })],
    ['a UNC admin share and a mounted folder', (f: Farm) => {
      f.servers[0].transport.root = '\\\\APP01\\c$';
      f.servers[1].transport.root = '/mnt/sched01';
    }],
    ['offsets of -14:00, +14:00, +05:45 and +0530', (f: Farm) => {
      f.servers[0].logs.tracerUtcOffset = '-14:00';
      f.servers[1].logs.tracerUtcOffset = '+14:00';
      f.servers[2].logs.tracerUtcOffset = '+05:45';
      f.servers[3].logs.tracerUtcOffset = '+0530';
    }],
    ['an RE2 version pattern with named groups', (f: Farm) => (f.servers[0].version = { file: 'C:\\VERSION', pattern: 'Version=(?<version>[\\d.]+)\\s+Build=(?P<build>\\d+)' })],
    ['file names with dots that do not climb', (f: Farm) => (f.servers[0].license.path = 'C:\\Lic\\..License.xml')],
  ])('%s', async (_what, change) => {
    const r = await validate(change);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json.valid).toBe(true);
  });
});
