// Time through the built CLI, run with TZ=America/New_York so that "the machine's local time" would
// show: one parser for every command (-2h, --around/--span, ISO with and without a zone), a stated
// zone rule (--tz, the farm's settings.timeZone, else UTC), the resolved UTC window printed, bounds
// compared at the 100 ns of an .evtx FILETIME (both inclusive), and an empty window that says so.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyDemoFarm, REPO, runCli } from '../support/cli.js';
import { tempDir } from '../bundle/helpers.js';

const EVTX = join(REPO, '..', 'shared', 'fixtures', 'evtx', 'synthetic', 'concat-96-chunks.evtx');
const NY = { TZ: 'America/New_York' };
// Records 2 and 3 of EVTX: TimeCreated 2025-06-03T00:42:28.1664375Z and 2025-06-03T00:42:28.4241396Z
// (evtxexport shows the same SystemTime values).
const ids = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { recordId: number }).recordId);
const dump = (...args: string[]) => runCli(['evtx', 'dump', EVTX, '--format', 'jsonl', ...args], { env: NY });

let farm: Awaited<ReturnType<typeof copyDemoFarm>>;
let tmp: string;
let cleanup: () => Promise<void>;
let answers: string;
beforeAll(async () => {
  farm = await copyDemoFarm();
  ({ dir: tmp, cleanup } = await tempDir('clk-time-'));
  answers = join(tmp, 'answers.json');
  await writeFile(answers, JSON.stringify({ shortDescription: 'x', steps: 'y', systemDown: 'no', processes: 'p', usersAffected: 'u', workaround: 'none', deadlines: 'd', financialImpact: 'f', gettingWorse: 'no' }));
});
afterAll(async () => {
  await farm.cleanup();
  await cleanup();
});

async function setFarmZone(zone: string | undefined): Promise<void> {
  const f = JSON.parse(await readFile(farm.farmFile, 'utf8')) as { settings: Record<string, unknown> };
  if (zone === undefined) delete f.settings.timeZone;
  else f.settings.timeZone = zone;
  await writeFile(farm.farmFile, JSON.stringify(f, null, 2));
}

describe('evtx dump: the same time parser as collect, 100 ns bounds', () => {
  it('--from -2h works (a relative time) and prints the resolved window on stderr', async () => {
    const r = await dump('--from', '-2h');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(''); // the file is from 2025
    expect(r.stderr).toMatch(/window \d{4}-\d\d-\d\dT[\d:.]+Z \.\. the last record \(UTC, both ends inclusive\)/);
    const all = await dump('--from', '-100000d');
    expect(ids(all.stdout).length).toBeGreaterThan(100);
  });

  it('a time without a zone is UTC (not the machine\'s New York time), and the output says so', async () => {
    const r = await dump('--from', '2025-06-03T00:42:28', '--to', '2025-06-03T00:42:28.4241396Z');
    expect(r.exitCode).toBe(0);
    expect(ids(r.stdout)).toEqual(expect.arrayContaining([2, 3]));
    expect(ids(r.stdout)).not.toContain(81); // 00:42:27.056
    expect(r.stderr).toContain('window 2025-06-03T00:42:28.000Z .. 2025-06-03T00:42:28.4241396Z');
    expect(r.stderr).toContain('times without a zone were read as UTC');
  });

  it('--tz reads zone-less times in that zone; --around/--span give the same window', async () => {
    const a = await dump('--tz', 'Europe/Berlin', '--from', '2025-06-03T02:42:28', '--to', '2025-06-03T02:42:29');
    const b = await dump('--tz', '+02:00', '--around', '2025-06-03T02:42:28.5', '--span', '1s');
    const c = await dump('--from', '2025-06-03T00:42:28Z', '--span', '1s');
    expect(ids(a.stdout)).toEqual(expect.arrayContaining([2, 3]));
    expect(ids(b.stdout)).toEqual(ids(a.stdout));
    expect(ids(c.stdout)).toEqual(ids(a.stdout));
    expect(a.stderr).toContain('window 2025-06-03T00:42:28.000Z .. 2025-06-03T00:42:29.000Z');
    expect(a.stderr).toContain('read as Europe/Berlin');
  });

  it('--to T.424Z excludes a record at .4241396; the 7-digit time includes it; --from one tick later excludes it', async () => {
    expect(ids((await dump('--from', '2025-06-03T00:42:28Z', '--to', '2025-06-03T00:42:28.424Z')).stdout)).not.toContain(3);
    expect(ids((await dump('--from', '2025-06-03T00:42:28Z', '--to', '2025-06-03T00:42:28.4241396Z')).stdout)).toContain(3);
    expect(ids((await dump('--from', '2025-06-03T00:42:28.4241396Z', '--to', '2025-06-03T00:42:28.5Z')).stdout)).toEqual([3]);
    expect(ids((await dump('--from', '2025-06-03T00:42:28.4241397Z', '--to', '2025-06-03T00:42:28.5Z')).stdout)).toEqual([]);
    expect(ids((await dump('--from', '2025-06-03T00:42:28.1664375Z', '--to', '2025-06-03T00:42:28.1664375Z')).stdout)).toEqual([2]);
  });

  it('refuses a bad zone or time with exit 2', async () => {
    const r = await dump('--tz', 'Mars/Olympus', '--from', '2025-06-03T00:00');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--tz: "Mars\/Olympus" is not a time zone/);
    expect((await dump('--from', '2025-13-03T00:00')).exitCode).toBe(2);
  });
});

describe('collect and incident prefill: one zone rule, the resolved window in the output', () => {
  const collectJson = (...args: string[]) => runCli(['--farm', farm.farmFile, '--json', 'collect', '--dry-run', ...args], { env: NY, timeoutMs: 120_000 });

  it('UTC by default, the farm\'s settings.timeZone when set, --tz over both; Z always wins', async () => {
    await setFarmZone(undefined);
    let j = JSON.parse((await collectJson('--from', '2025-06-03T08:00', '--to', '2025-06-03T10:00')).stdout) as { window: Record<string, unknown> };
    expect(j.window).toEqual({ from: '2025-06-03T08:00:00.000Z', to: '2025-06-03T10:00:00.000Z', inclusive: true, assumedZone: 'UTC' });
    await setFarmZone('Europe/Berlin');
    j = JSON.parse((await collectJson('--from', '2025-06-03T08:00', '--to', '2025-06-03T10:00')).stdout);
    expect(j.window).toMatchObject({ from: '2025-06-03T06:00:00.000Z', to: '2025-06-03T08:00:00.000Z', assumedZone: 'Europe/Berlin' });
    j = JSON.parse((await collectJson('--tz', 'Asia/Kolkata', '--from', '2025-06-03T08:00', '--to', '2025-06-03T10:00')).stdout);
    expect(j.window).toMatchObject({ from: '2025-06-03T02:30:00.000Z', to: '2025-06-03T04:30:00.000Z', assumedZone: 'Asia/Kolkata' });
    j = JSON.parse((await collectJson('--from', '2025-06-03T08:00Z', '--to', '2025-06-03T10:00+02:00')).stdout);
    expect(j.window).toEqual({ from: '2025-06-03T08:00:00.000Z', to: '2025-06-03T08:00:00.000Z', inclusive: true });
  }, 120_000);

  it('a farm with a bad settings.timeZone is a config error (exit 2)', async () => {
    await setFarmZone('Atlantis/Capital');
    const r = await runCli(['--farm', farm.farmFile, 'collect', '--dry-run', '--from', '-2h'], { env: NY });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/timeZone/);
    await setFarmZone(undefined);
  });

  it('prefill states the window and the zone it read (stderr) and puts it in --json', async () => {
    await setFarmZone(undefined);
    const human = await runCli(['--farm', farm.farmFile, '--no-input', 'incident', 'prefill', '--tz', '-05:00', '--around', '2025-06-03T05:00', '--span', '4h', '--answers', answers], { env: NY, timeoutMs: 120_000 });
    expect(human.stderr).toContain('window 2025-06-03T08:00:00.000Z .. 2025-06-03T12:00:00.000Z (UTC, both ends inclusive; times without a zone were read as -05:00)');
    const json = await runCli(['--farm', farm.farmFile, '--no-input', '--json', 'incident', 'prefill', '--from', '-2h', '--answers', answers], { env: NY, timeoutMs: 120_000 });
    const w = (JSON.parse(json.stdout) as { window: { from: string; to: string } }).window;
    expect(Date.parse(w.to) - Date.parse(w.from)).toBe(2 * 3_600_000);
  }, 120_000);
});

describe('a window with no log data', () => {
  it('collect gives the bundle but warns, shows the times each source holds, and exits 3', async () => {
    await setFarmZone(undefined);
    const r = await runCli(['--farm', farm.farmFile, 'collect', '--from', '2013-10-23T21:09:30', '--span', '2h', '--out', tmp], { env: NY, timeoutMs: 120_000 });
    expect(r.exitCode).toBe(3);
    expect(r.stdout.trim()).toMatch(/\.zip$/);
    expect(r.stderr).toContain('no log data in the window 2013-10-23T21:09:30.000Z .. 2013-10-23T23:09:30.000Z');
    expect(r.stderr).toContain('was the zone right? times without a zone were read as UTC');
    expect(r.stderr).toMatch(/APP01 eventlogs .*System\.evtx: no record in the window \(\d+ records read; times seen 2025-06-02T[\d:.]+Z \.\. 2025-06-08T[\d:.]+Z\)/);
    expect(r.stderr).toMatch(/tracer .*: no line inside the window .*times seen 2025-/);
  }, 120_000);

  it('--json says noLogData; a window with data does not', async () => {
    const empty = await runCli(['--farm', farm.farmFile, '--json', 'collect', '--from', '2013-10-23T21:09:30Z', '--span', '2h', '--out', tmp, '--only', 'eventlogs,tracer'], { env: NY, timeoutMs: 120_000 });
    expect(empty.exitCode).toBe(3);
    expect(JSON.parse(empty.stdout)).toMatchObject({ partial: true, noLogData: true });
    const full = await runCli(['--farm', farm.farmFile, '--json', 'collect', '--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z', '--out', tmp, '--only', 'eventlogs,tracer', '-s', 'APP01'], { env: NY, timeoutMs: 120_000 });
    expect(full.exitCode, full.stderr).toBe(0);
    expect(JSON.parse(full.stdout)).toMatchObject({ partial: false, noLogData: false });
  }, 120_000);
});
