// A closed stdout (`| head -1`) ends every command quietly: exit 0, no EPIPE stack, work stopped.
// Two ways a reader goes away: the reading end closed before the command writes (deterministic),
// and a real shell pipe into head.
import { spawn, execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, DEMO_FARM, REPO, runCli } from '../support/cli.js';
import { tempDir } from '../bundle/helpers.js';

const BIG_EVTX = join(REPO, '..', 'shared', 'fixtures', 'evtx', 'synthetic', 'concat-96-chunks.evtx');
const env = { ...process.env, NO_COLOR: '1', CI: '1' };

/** Runs the CLI with stdout's reading end closed at once; resolves with the exit code and stderr. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** `cmd | head -1` in bash; the command's own exit status (PIPESTATUS[0]) and its stderr. */
async function headPipe(args: string[]): Promise<{ status: number; stderr: string; first: string }> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `${quoted} 2>"$ERRFILE" | head -1; echo "status=\${PIPESTATUS[0]}"; cat "$ERRFILE" >&2`;
  const { dir, cleanup } = await tempDir('clk-pipe-');
  try {
    const r = await promisify(execFile)('bash', ['-c', script], { cwd: REPO, env: { ...env, ERRFILE: join(dir, 'err') } });
    const lines = r.stdout.trimEnd().split('\n');
    return { status: Number(/status=(\d+)/.exec(lines.at(-1)!)![1]), stderr: r.stderr, first: lines[0] };
  } finally {
    await cleanup();
  }
}

let out: string;
let cleanup: () => Promise<void>;
let bundle: string;

beforeAll(async () => {
  ({ dir: out, cleanup } = await tempDir('clk-pipes-'));
  await runCli(['--farm', DEMO_FARM, 'collect', '--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z', '--out', out], { timeoutMs: 120_000 });
  bundle = join(out, (await readdir(out)).find((f) => f.endsWith('.zip'))!);
}, 180_000);
afterAll(() => cleanup());

const noCrash = (stderr: string) => {
  expect(stderr).not.toMatch(/EPIPE|node:events|Unhandled|\n\s+at |unexpected failure/);
};

describe('a closed stdout ends the command quietly', () => {
  it('--help', async () => {
    const r = await withClosedStdout(['--help']);
    expect(r).toEqual({ code: 0, stderr: '' });
  });

  it('check (exit 0 although checks fail: the reader left)', async () => {
    const r = await withClosedStdout(['--farm', DEMO_FARM, 'check']);
    noCrash(r.stderr);
    expect(r.code).toBe(0);
  }, 60_000);

  it('bundle inspect', async () => {
    const r = await withClosedStdout(['bundle', 'inspect', bundle]);
    expect(r).toEqual({ code: 0, stderr: '' });
  });

  it('evtx dump of a large file stops reading and exits 0', async () => {
    const r = await withClosedStdout(['evtx', 'dump', BIG_EVTX]);
    expect(r).toEqual({ code: 0, stderr: '' });
  });

  it('evtx dump --format jsonl | head -1 (a real pipe)', async () => {
    const r = await headPipe(['evtx', 'dump', BIG_EVTX, '--format', 'jsonl']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.first)).toHaveProperty('eventId');
  });

  it('bundle inspect | head -1 and --help | head -1 (real pipes)', async () => {
    for (const args of [['bundle', 'inspect', bundle], ['--help']]) {
      const r = await headPipe(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.first.length).toBeGreaterThan(0);
    }
  });
});
