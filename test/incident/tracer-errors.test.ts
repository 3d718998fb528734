// Counting against logs whose answer is known: tools/make-tracer-logs.mjs writes the logs and
// answer.json from what it generated (not from this code).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { ErrorTally, compileUserPatterns, extractUser, fastLocalIso, normaliseUser, scanTracerErrors, DEFAULT_USER_PATTERNS } from '../../src/incident/tracer-errors.js';
import { TimestampDetector } from '../../src/logs/timestamps.js';
import { hostFileChunks } from '../../src/incident/host-files.js';

const GEN = join(import.meta.dirname, '../../tools/make-tracer-logs.mjs');
const FROM = '2025-06-03T08:00:00Z';
const TO = '2025-06-03T12:00:00Z';

interface Answer {
  errorLines: number;
  users: string[];
  firstError: string | null;
  files: { name: string; errorLines: number; users: string[] }[];
}

async function generate(dir: string, extra: string[], mb = '2'): Promise<Answer> {
  execFileSync(process.execPath, [GEN, '--out', dir, '--mb', mb, '--files', '3', '--users', '40', '--error-every', '20', '--from', FROM, '--to', TO, ...extra], { stdio: 'pipe' });
  return JSON.parse(await readFile(join(dir, 'answer.json'), 'utf8')) as Answer;
}

async function scanDir(dir: string, opts: Parameters<typeof scanTracerErrors>[1], chunk?: number): Promise<{ total: ErrorTally; perFile: Map<string, ErrorTally> }> {
  const total = new ErrorTally();
  const perFile = new Map<string, ErrorTally>();
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.log')).sort()) {
    const t = await scanTracerErrors(createReadStream(join(dir, f), chunk ? { highWaterMark: chunk } : {}), opts);
    perFile.set(f, t);
    total.merge(t);
  }
  return { total, perFile };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'clk-incident-tracer-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('scanTracerErrors against generated logs with a known answer', () => {
  const window = { fromMs: Date.parse(FROM), toMs: Date.parse(TO) };

  it('counts error lines, distinct users per file and overall, and the first error (mixed user formats)', async () => {
    const dir = join(root, 'mixed');
    const answer = await generate(dir, ['--mixed', '--seed', '7']);
    expect(answer.users.length).toBeGreaterThan(10);
    const { total, perFile } = await scanDir(dir, window);
    expect(total.errorLines).toBe(answer.errorLines);
    expect([...total.users.keys()].sort()).toEqual(answer.users);
    expect(new Date(total.first!.ms).toISOString()).toBe(answer.firstError);
    for (const f of answer.files) {
      expect([...perFile.get(f.name)!.users.keys()].sort()).toEqual(f.users);
      expect(perFile.get(f.name)!.errorLines).toBe(f.errorLines);
    }
  });

  it('gives the same answer whatever the chunk size (lines split across chunks)', async () => {
    const dir = join(root, 'small');
    const answer = await generate(dir, ['--mixed', '--seed', '5'], '0.15');
    const whole = await scanDir(dir, window);
    expect(whole.total.errorLines).toBe(answer.errorLines);
    // The direct reader reuses its two buffers: the scanner must copy what it keeps across blocks.
    for (const block of [113, 4096]) {
      const t = new ErrorTally();
      for (const f of (await readdir(dir)).filter((x) => x.endsWith('.log'))) await scanTracerErrors(hostFileChunks(join(dir, f), undefined, block), window, t);
      expect(t.errorLines).toBe(answer.errorLines);
      expect([...t.users.keys()].sort()).toEqual(answer.users);
    }
    for (const size of [7, 113, 4096]) {
      const split = await scanDir(dir, window, size);
      expect(split.total.errorLines).toBe(whole.total.errorLines);
      expect([...split.total.users.keys()].sort()).toEqual([...whole.total.users.keys()].sort());
      expect(split.total.first?.ms).toBe(whole.total.first?.ms);
    }
  });

  it('reads CRLF logs written in local time (UTC+2) with the offset applied', async () => {
    const dir = join(root, 'crlf');
    const answer = await generate(dir, ['--mixed', '--seed', '11', '--crlf', '--utc-offset', '120']);
    const { total } = await scanDir(dir, { ...window, utcOffsetMinutes: 120 });
    expect(total.errorLines).toBe(answer.errorLines);
    expect([...total.users.keys()].sort()).toEqual(answer.users);
    expect(new Date(total.first!.ms).toISOString()).toBe(answer.firstError);
    // Read as UTC by mistake, the window would catch other lines: the offset matters.
    const wrong = await scanDir(dir, window);
    expect(wrong.total.first!.ms).not.toBe(total.first!.ms);
  });

  it('gives the same answer on worker threads reading files directly (the compiled path)', async () => {
    const dir = join(root, 'mixed');
    const answer: Answer = JSON.parse(await readFile(join(dir, 'answer.json'), 'utf8'));
    // The worker threads exist only compiled: use dist/, as the CLI does.
    const { scanTracerFiles } = await import(join(import.meta.dirname, '../../dist/incident/tracer-scan.js'));
    const files = (await readdir(dir)).filter((f) => f.endsWith('.log')).map((f) => ({ path: `/${f}`, size: 0, hostPath: join(dir, f) }));
    const spec = { errorTokens: ['ERROR', 'FATAL', 'Exception'], userPatterns: [...DEFAULT_USER_PATTERNS], fromMs: window.fromMs, toMs: window.toMs, utcOffsetMinutes: 0, clockOffsetMs: 0 };
    const warnings: string[] = [];
    for (const parallel of [true, false]) {
      const t = await scanTracerFiles('GEN', {} as never, files, spec, { parallel, warn: (m: string) => warnings.push(m) });
      expect(t.errorLines).toBe(answer.errorLines);
      expect([...t.users.keys()].sort()).toEqual(answer.users);
      expect(new Date(t.first!.ms).toISOString()).toBe(answer.firstError);
    }
    expect(warnings).toEqual([]);
  });

  it('subtracts the server clock offset', async () => {
    const dir = join(root, 'mixed');
    const base = await scanDir(dir, window);
    const shifted = await scanDir(dir, { fromMs: window.fromMs - 60_000, toMs: window.toMs - 60_000, clockOffsetMs: 60_000 });
    expect(shifted.total.errorLines).toBe(base.total.errorLines);
    expect(shifted.total.first!.ms).toBe(base.total.first!.ms - 60_000);
  });
});

describe('error lines and users in hand-written lines', () => {
  const scan = (text: string, opts: Parameters<typeof scanTracerErrors>[1] = {}) => scanTracerErrors([Buffer.from(text)], opts);

  it('dates a continuation line naming an exception by its record, and counts undated ones apart', async () => {
    const t = await scan(
      '   at Orphan.Frame() System.IO.IOException: no record before me\n' +
        '2025-06-03 10:00:00.000 [1] INFO  W6 - User=CORP\\alice ok\n' +
        '   --- inner System.TimeoutException: waited\n' +
        '2025-06-03 10:05:00.000 [1] ERROR W6 - for user \'Bob\' failed\n',
    );
    expect(t.undated).toBe(1);
    expect(t.errorLines).toBe(2);
    expect(t.first!.ms).toBe(Date.parse('2025-06-03T10:00:00Z'));
    expect([...t.users.keys()]).toEqual(['bob']);
  });

  it('uses the configured tokens and patterns', async () => {
    const text = '2025-06-03 10:00:00 [1] ERROR W6 - Operator=Carol failed\n2025-06-03 10:00:01 [1] WARN W6 - Operator=Dave slow\n';
    const def = await scan(text);
    expect(def.errorLines).toBe(1);
    expect(def.users.size).toBe(0);
    const custom = await scan(text, { errorTokens: ['ERROR', 'WARN'], userPatterns: compileUserPatterns(['Operator=(?<user>\\w+)']) });
    expect(custom.errorLines).toBe(2);
    expect([...custom.users.keys()].sort()).toEqual(['carol', 'dave']);
  });

  it('refuses a user pattern without a group', () => {
    expect(() => compileUserPatterns(['User=\\S+'])).toThrow(/no group/);
    expect(() => compileUserPatterns(['User=(?<user>'])).toThrow(/not a valid regular expression/);
  });

  it('normalises user names (domain, case, e-mail form) to one key per person', () => {
    expect(normaliseUser('CORP\\JDoe')).toBe('jdoe');
    expect(normaliseUser('jdoe@corp.example')).toBe('jdoe');
    expect(normaliseUser('jdoe,')).toBe('jdoe');
    const pats = compileUserPatterns(DEFAULT_USER_PATTERNS);
    expect(extractUser('x User=CORP\\a.b y', pats)).toBe('a.b');
    expect(extractUser('x user: Zed y', pats)).toBe('zed');
    expect(extractUser('x UserName="Ann Lee" y', pats)).toBe('ann lee');
    expect(extractUser("login failed for user 'q'", pats)).toBe('q');
    expect(extractUser('nobody here', pats)).toBeUndefined();
  });

  it('parses Tracer timestamps from bytes exactly as the general detector does', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }), fc.constantFrom('.', ','), (d, sep) => {
        const s = `${d.toISOString().slice(0, 19).replace('T', ' ')}${sep}${d.toISOString().slice(20, 23)} [1] ERROR x`;
        expect(fastLocalIso(Buffer.from(s), 0)).toBe(new TimestampDetector().detect(s)!.ms);
      }),
    );
    expect(fastLocalIso(Buffer.from('2025-06-03T10:00:00Z x'), 0)).toBeUndefined(); // zoned: the detector's job
    expect(fastLocalIso(Buffer.from('03/06/2025 10:00:00'), 0)).toBeUndefined();
  });
});
