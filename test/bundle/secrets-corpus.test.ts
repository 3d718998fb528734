// The secrets corpus (test/bundle/secrets-corpus/): every planted secret is gone from the bundle
// `collect` writes (every extracted byte, as UTF-8 and as UTF-16LE) and from every incident output
// (prefill text/markdown/JSON, speedup, escalate, service request), while the non-secrets next to
// them survive. With --anonymize, no host name, domain, IP, user name or local path of this machine
// is left in the bundle or the incident texts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { copyDemoFarm, runCli, REPO } from '../support/cli.js';
import { have, run, tempDir } from './helpers.js';

const CORPUS = join(REPO, 'test', 'bundle', 'secrets-corpus');
const FROM = '2025-06-03T08:00:00Z';
const TO = '2025-06-03T12:00:00Z';
const APP01 = ['servers', 'app01', 'c$'];
const CONFIG_DIR = [...APP01, 'Program Files', 'ClickSoftware', 'Service Optimization', 'Config'];
const TRACER_DIR = [...APP01, 'ClickSoftware', 'Logs', 'Tracer'];
const ANSWERS = {
  shortDescription: 'Dispatchers get SQL timeouts',
  steps: 'Run sqlcmd -U sa -P zQ300a and open the Gantt',
  systemDown: 'no',
  processes: 'dispatching',
  usersAffected: 'dispatchers',
  workaround: 'restart with password=zQ301a',
  deadlines: 'daily plan at 16:00',
  financialImpact: 'about 20k EUR per day',
  gettingWorse: 'yes',
};
/** Secrets that are not zQ markers (their shape is the point: AKIA keys, tokens). */
const SHAPED = ['AKIAZQ014AEXAMPLE123', 'AKIAZQ063AEXAMPLE999', 'AKIAZQ214AEXAMPLE777'];

let farm: { dir: string; farmFile: string; cleanup: () => Promise<void> };
let out: { dir: string; cleanup: () => Promise<void> };
let markers: string[];
let corpusText = '';

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...(await filesUnder(p)));
    else found.push(p);
  }
  return found;
}

/** collect into a fresh folder; every byte of the bundle, extracted with unzip. */
async function collectBytes(extra: string[]): Promise<{ bytes: Buffer; exitCode: number; stderr: string; dir: string }> {
  const dir = join(out.dir, `run-${Math.random().toString(16).slice(2)}`);
  const r = await runCli(['--farm', farm.farmFile, 'collect', '--from', FROM, '--to', TO, '--out', dir, ...extra], { timeoutMs: 180_000 });
  const zip = (await readdir(dir)).find((f) => f.endsWith('.zip'));
  expect(zip, r.stderr).toBeDefined();
  const x = join(dir, 'x');
  await run('unzip', ['-q', '-o', join(dir, zip!), '-d', x]);
  const parts = await Promise.all((await filesUnder(x)).map((f) => readFile(f)));
  return { bytes: Buffer.concat(parts), exitCode: r.exitCode, stderr: r.stderr, dir };
}

function leaks(haystack: Buffer, needles: readonly string[], caseInsensitive = false): string[] {
  const lowerUtf8 = caseInsensitive ? Buffer.from(haystack.toString('latin1').toLowerCase(), 'latin1') : haystack;
  return needles.filter((n) => {
    const s = caseInsensitive ? n.toLowerCase() : n;
    return lowerUtf8.includes(Buffer.from(s, 'utf8')) || lowerUtf8.includes(Buffer.from(s, 'utf16le'));
  });
}

beforeAll(async () => {
  farm = await copyDemoFarm();
  out = await tempDir('clk-corpus-');
  const configDir = join(farm.dir, ...CONFIG_DIR);
  const tracerDir = join(farm.dir, ...TRACER_DIR);
  await mkdir(configDir, { recursive: true });
  await cp(join(CORPUS, 'config'), configDir, { recursive: true });
  await cp(join(CORPUS, 'tracer'), tracerDir, { recursive: true });
  // the same .config in UTF-16LE with a BOM, as Windows tools write them
  const web = await readFile(join(CORPUS, 'config', 'web.config'), 'utf8');
  await writeFile(join(configDir, 'legacy-utf16.config'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(web.replace(/\n/g, '\r\n'), 'utf16le')]));
  const inWindow = new Date('2025-06-03T11:00:00Z');
  for (const f of await readdir(tracerDir)) if (f.startsWith('Corpus')) await utimes(join(tracerDir, f), inWindow, inWindow);
  for (const f of [...(await filesUnder(join(CORPUS, 'config'))), ...(await filesUnder(join(CORPUS, 'tracer')))]) corpusText += `${await readFile(f, 'utf8')}\n`;
  markers = [...new Set([...corpusText.matchAll(/zQ\d{3}[a-z]/g)].map((m) => m[0]))];
}, 60_000);
afterAll(async () => {
  await farm?.cleanup();
  await out?.cleanup();
});

describe('the secrets corpus', () => {
  it('plants at least 80 forms across config files and Tracer lines', async () => {
    const forms = new Set(markers.map((m) => m.slice(0, 5)));
    expect(forms.size).toBeGreaterThanOrEqual(80);
    expect((await readdir(join(CORPUS, 'config'))).length).toBeGreaterThanOrEqual(7);
  });

  it.skipIf(!have('unzip'))('leaves no planted secret in the bundle (UTF-8 or UTF-16LE), and keeps the non-secrets', async () => {
    const { bytes, exitCode, stderr } = await collectBytes([]);
    expect(exitCode, stderr).toBe(3); // WEB01 is down in the demo farm
    expect(leaks(bytes, [...markers, ...SHAPED])).toEqual([]);
    // the files were collected (their canaries are there), so absence means redaction
    const text = bytes.toString('utf8');
    for (const canary of ['canary-web-config', 'canary-app-config', 'canary-appsettings', 'canary-env', 'canary-ini', 'canary-yaml', 'canary-ps1', 'canary-cmd', 'canary-tracer']) expect(text, canary).toContain(canary);
    const negatives = (await readFile(join(CORPUS, 'negatives.txt'), 'utf8')).split('\n').filter((n) => n && corpusText.includes(n));
    expect(negatives.length).toBeGreaterThan(4);
    for (const n of negatives) expect(text, n).toContain(n);
    expect(text).toContain('[REDACTED]');
    // the search itself finds what is there (so the anonymised run below can fail)
    expect(leaks(bytes, ['APP01', 'jdoe', '10.20.30.40', 'corp.example'], true)).toEqual(['APP01', 'jdoe', '10.20.30.40', 'corp.example']);
  }, 240_000);

  it('leaves no secret in any incident output, the first Tracer error line (which holds one) included', async () => {
    const answers = join(out.dir, 'answers.json');
    await writeFile(answers, JSON.stringify(ANSWERS));
    const runs = await Promise.all([
      runCli(['--farm', farm.farmFile, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', answers]),
      runCli(['--farm', farm.farmFile, '--no-input', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', answers, '--format', 'markdown']),
      runCli(['--farm', farm.farmFile, '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', answers]),
    ]);
    const json = JSON.parse(runs[2].stdout);
    expect(json.firstOccurrence.time).toBe('2025-06-03T08:00:05.000Z'); // the corpus line with Password=zQ200a
    expect(json.firstOccurrence.detail).toContain('Password=[REDACTED]');
    const followups = await Promise.all([
      runCli(['--farm', farm.farmFile, '--no-input', 'incident', 'speedup', '--incident', '123456/2025', '--request', 'feedback', '--answers', answers]),
      runCli(['--farm', farm.farmFile, '--no-input', '--json', 'incident', 'speedup', '--incident', '123456/2025', '--request', 'feedback', '--answers', answers]),
      runCli(['--farm', farm.farmFile, '--no-input', 'incident', 'escalate', '--incident', '123456/2025', '--current-priority', 'high', '--answers', answers, '--contact-name', 'A. Admin', '--contact-phone', '+49 30 1234', '--reason', 'db password=zQ302a rejected']),
      runCli(['--farm', farm.farmFile, '--no-input', '--json', 'incident', 'escalate', '--incident', '123456/2025', '--current-priority', 'high', '--answers', answers, '--contact-name', 'A. Admin', '--contact-phone', '+49 30 1234', '--reason', 'db password=zQ302a rejected']),
      runCli(['--farm', farm.farmFile, '--no-input', 'service', 'request', '--type', 'GoingLive Check', '--date', '2026-03-02', '--go-live', '2026-04-01', '--support-level', 'enterprise', '--contact-name', 'A. Admin', '--contact-phone', '+49 30 1234567', '--contact-email', 'admin@contoso.example', '--notes', 'api token=zQ303a', '--today', '2025-12-01']),
    ]);
    for (const r of [...runs, ...followups]) {
      expect(r.stdout.length, r.stderr).toBeGreaterThan(100);
      const all = Buffer.from(r.stdout + r.stderr);
      expect(leaks(all, [...markers, 'zQ300a', 'zQ301a', 'zQ302a', 'zQ303a', ...SHAPED]), r.stdout).toEqual([]);
    }
    expect(followups[2].stdout).toContain('+49 30 1234'); // the contact SAP must reach stays as given
    // never this machine's paths: relative to the farm file or <local>
    for (const r of [...runs, ...followups]) expect(r.stdout).not.toContain(farm.dir);
  }, 240_000);
});

describe('--anonymize on collect and incident prefill', () => {
  it.skipIf(!have('unzip'))('leaves no host name, domain, IP, user name or local path in the bundle or the incident texts', async () => {
    const plain = JSON.parse((await runCli(['--farm', farm.farmFile, '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', join(out.dir, 'answers.json')])).stdout);
    const users: string[] = plain.affectedUsers.users;
    expect(users.length).toBeGreaterThan(3);
    const hosts = ['APP01', 'SCHED01', 'INT01', 'WEB01', 'erp.corp.example', 'db01.corp.example'];
    const domains = ['corp.example'];
    const ips = ['10.20.30.40'];
    const names = [...users, 'w6app', 'svc_clk', 'jdoe', 'bob'];
    const localPaths = [farm.dir, out.dir, REPO, ...(homedir().length > 4 ? [homedir()] : [])];
    const forbidden = [...hosts, ...domains, ...ips, ...names, ...localPaths];

    const { bytes, dir } = await collectBytes(['--anonymize']);
    expect(leaks(bytes, forbidden, true)).toEqual([]);
    expect(leaks(bytes, [...markers, ...SHAPED])).toEqual([]);
    expect((await readdir(dir)).some((f) => f.endsWith('.anon-map.json'))).toBe(true);
    expect((await stat(join(dir, (await readdir(dir)).find((f) => f.endsWith('.anon-map.json'))!))).mode & 0o777).toBe(0o600);

    const mapDir = join(out.dir, 'maps');
    await mkdir(mapDir, { recursive: true });
    const outputs = await Promise.all(
      [[], ['--format', 'markdown'], ['--json']].map((f, i) =>
        runCli(['--farm', farm.farmFile, '--no-input', ...(f[0] === '--json' ? ['--json'] : []), 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', join(out.dir, 'answers.json'), '--anonymize', '--anon-map', join(mapDir, `m${i}.json`), ...(f[0] === '--json' ? [] : f)]),
      ),
    );
    for (const r of outputs) {
      expect(r.stdout.length, r.stderr).toBeGreaterThan(100);
      expect(leaks(Buffer.from(r.stdout), forbidden, true), r.stdout).toEqual([]);
    }
    expect((await readdir(mapDir)).length).toBe(3);
    // table padding in the text form is computed on the tokens: every server line lines up the same
    const versionLines = outputs[0].stdout.split('\n').filter((l) => /^ {2}host-[0-9a-f]+ +/.test(l));
    expect(versionLines.length).toBe(4);
    expect(new Set(versionLines.map((l) => /^ {2}host-[0-9a-f]+ +/.exec(l)![0].length)).size).toBe(1);
  }, 300_000);
});
