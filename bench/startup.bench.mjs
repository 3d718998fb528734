// Start-up: `clk-support --help` and `clk-support check --list` as a user runs them (bin/ loading the
// bundle, as the installed package does), side by side with a bare `node -e 0` on the same machine,
// medians of interleaved runs. Goal: at most 2x `node -e 0`. Also the single executable when
// `npm run build:exe` has made it, and dist/ (the compiled modules, without the bundle) for scale.
// Usage: node bench/run.mjs startup   (builds the bundle first; STARTUP_BENCH_RUNS, default 21)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);
const RUNS = Number(process.env.STARTUP_BENCH_RUNS ?? 21);
const WARMUP = 3;

// A fresh bundle, newer than dist/, so that bin/ loads it as an installed package would.
const built = spawnSync(process.execPath, [join(repo, 'scripts', 'bundle.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
if (built.status !== 0) {
  console.log('startup bench: the bundle did not build');
  process.exit(1);
}

const bin = join(repo, 'bin', 'clk-support.js');
const exe = join(repo, 'build', 'exe', 'clk-support-linux-x64');
const cases = [
  { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
  { name: 'clk-support --help', cmd: process.execPath, args: [bin, '--help'] },
  { name: 'clk-support check --list', cmd: process.execPath, args: [bin, 'check', '--list'] },
];
if (existsSync(join(repo, 'dist', 'cli.js'))) {
  cases.push({ name: 'dist/ --help (no bundle)', cmd: process.execPath, args: ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(join(repo, 'dist', 'cli.js'))}); process.exitCode = await main(['--help']);`] });
}
if (process.platform === 'linux' && existsSync(exe)) cases.push({ name: 'clk-support-linux-x64 --help (SEA)', cmd: exe, args: ['--help'] });

function once(c) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    console.log(`startup bench: ${c.name} exited ${r.status}: ${String(r.stderr).slice(0, 300)}`);
    process.exit(1);
  }
  return ms;
}

for (let i = 0; i < WARMUP; i++) for (const c of cases) once(c);
const times = new Map(cases.map((c) => [c.name, []]));
// Interleaved, so that a busy moment of the machine hits every case alike.
for (let i = 0; i < RUNS; i++) for (const c of cases) times.get(c.name).push(once(c));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const base = median(times.get('node -e 0'));
console.log(`start-up, median of ${RUNS} interleaved runs (goal: clk-support at most 2.0x node -e 0)`);
for (const c of cases) {
  const m = median(times.get(c.name));
  console.log(`  ${c.name.padEnd(36)} ${m.toFixed(1).padStart(7)} ms   ${(m / base).toFixed(2)}x node -e 0`);
}
const worst = Math.max(median(times.get('clk-support --help')), median(times.get('clk-support check --list'))) / base;
console.log(`startup ratio: ${worst.toFixed(2)}x node -e 0 (${worst <= 2 ? 'meets' : 'misses'} the 2x goal)`);
