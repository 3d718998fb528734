// Decoding on worker threads (`--threads N`) gives the same bytes, warnings and exit codes as
// decoding on the main thread: the shipped fixtures (damaged ones included), a file made here with a
// zeroed chunk and a bad chunk signature, filters and --recover, through the built CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, fixtures, listEvtx, repoRoot } from './helpers.js';

const bin = join(repoRoot, 'bin', 'clk-support.js');
const built = existsSync(join(repoRoot, 'dist', 'logs', 'evtx', 'evtx-worker.js'));
const dir = mkdtempSync(join(tmpdir(), 'clk-evtx-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: repoRoot, maxBuffer: 256 << 20, env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The System fixture's 10 chunks in use written three times over (more chunks than the threads keep
 * in flight), with chunk 2 zeroed (inside the header's count) and chunk 5's signature broken.
 */
function damagedFile(): string {
  const base = readFileSync(fixture('NickSmet-System.evtx'));
  const chunks = base.subarray(4096, 4096 + 10 * 65536);
  const data = Buffer.concat([base.subarray(0, 4096), chunks, chunks, chunks]);
  data.fill(0, 4096 + 2 * 65536, 4096 + 3 * 65536);
  data.write('XlfChnk\0', 4096 + 5 * 65536, 'latin1');
  const p = join(dir, 'damaged.evtx');
  writeFileSync(p, data);
  return p;
}

const CASES: string[][] = [
  ['dump', '--format', 'jsonl'],
  ['dump', '--format', 'xml'],
  ['dump', '--format', 'jsonl', '--level', 'error,warning'],
  ['dump', '--format', 'xml', '--id', '7036,4624'],
  ['dump', '--format', 'jsonl', '--recover'],
  ['stats', '--json'],
];

describe('evtx --threads: the same output as one thread', () => {
  if (!built) {
    it.skip('built CLI missing: run `npx tsc -p tsconfig.build.json` first', () => {});
    return;
  }
  const files = [...listEvtx(fixtures), damagedFile()];
  it.each(files.map((f) => [f.slice(f.lastIndexOf('/') + 1), f]))('%s', (_name, file) => {
    for (const args of CASES) {
      const [command, ...rest] = args;
      const one = cli(['evtx', command, file, ...rest, '--threads', '1']);
      const three = cli(['evtx', command, file, ...rest, '--threads', '3']);
      expect(three.status, `${args.join(' ')}: ${three.stderr}`).toBe(one.status);
      expect(three.stderr, args.join(' ')).toBe(one.stderr);
      expect(three.stdout === one.stdout, args.join(' ')).toBe(true);
    }
  });

  it('the made-up damage is reported the same way on threads', () => {
    const s = JSON.parse(cli(['evtx', 'stats', join(dir, 'damaged.evtx'), '--json', '--threads', '2']).stdout).files[0];
    expect(s.skippedChunks).toBe(2);
    expect(s.warnings.map((w: { reason: string }) => w.reason)).toEqual([expect.stringMatching(/^zeroed chunk/), expect.stringMatching(/^bad chunk magic/)]);
    expect(s.records).toBe(3 * 1247 - 147 - 145); // the records of chunks 2 and 5 of the first copy are lost
  });

  it('--threads takes 1 to 8', () => {
    for (const bad of ['0', '9', 'two']) {
      const r = cli(['evtx', 'dump', fixture('NickSmet-System.evtx'), '--threads', bad]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--threads ${bad}`);
    }
  });
});
