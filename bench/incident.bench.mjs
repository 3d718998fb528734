#!/usr/bin/env node
// Affected users over 1 GiB of Tracer logs: `incident prefill`'s counting (the real path: farm file,
// share transport, glob, streaming scan; --error-token ERROR, the question grep answers) against `grep -h ERROR | grep -o 'User=[^ ]*' | sort -u | wc -l`
// on the same files, both timed in this run (best of 3, alternating). Prints the ratio and the peak
// RSS of this process (which is where the counting runs). Size: BENCH_INCIDENT_MB (default 1024).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const mb = Number(process.env.BENCH_INCIDENT_MB ?? 1024);
const farmDir = join(here, 'out', `incident-${mb}m`);
const logDir = join(farmDir, 'server', 'logs');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

const { loadFarmSchema, parseFarm } = await import(join(root, 'dist/farm/load.js'));
await loadFarmSchema();
const { prefillIncident } = await import(join(root, 'dist/incident/prefill.js'));

// Generate once; reuse while the answer file says the size is right.
const answerFile = join(logDir, 'answer.json');
let answer = existsSync(answerFile) ? JSON.parse(readFileSync(answerFile, 'utf8')) : undefined;
if (!answer || answer.files.reduce((n, f) => n + f.bytes, 0) < mb * 1024 * 1024 * 0.99) {
  mkdirSync(logDir, { recursive: true });
  process.stderr.write(`generating ${mb} MiB of Tracer logs in ${logDir} ...\n`);
  const g = spawnSync(process.execPath, [join(root, 'tools/make-tracer-logs.mjs'), '--out', logDir, '--mb', String(mb), '--files', '8', '--users', '500', '--seed', '1',
    '--from', '2025-06-02T00:00:00Z', '--to', '2025-06-05T00:00:00Z'], { stdio: 'inherit' });
  if (g.status !== 0) process.exit(1);
  answer = JSON.parse(readFileSync(answerFile, 'utf8'));
}

const farmFile = join(farmDir, 'clk-farm.json');
writeFileSync(farmFile, JSON.stringify({
  formatVersion: 1,
  farm: { name: 'bench', customerNumber: '1', installationNumber: '0000000001', systemId: 'BEN', environment: 'production' },
  servers: [{ name: 'BENCH01', role: 'application', platform: 'linux', transport: { type: 'share', root: 'server' }, installRoot: '/opt/clk', logs: { eventLogChannels: [], tracerGlobs: ['/logs/*.log'] } }],
}, null, 2));
const farm = parseFarm(readFileSync(farmFile, 'utf8'), farmFile);
const window = { from: new Date('2025-06-02T00:00:00Z'), to: new Date('2025-06-05T00:00:00Z') };
const files = answer.files.map((f) => join(logDir, f.name));
const bytes = answer.files.reduce((n, f) => n + f.bytes, 0);

// The same question as the grep pipeline: users in lines containing ERROR (--error-token ERROR).
// The default tokens (ERROR FATAL Exception) are timed once too, for comparison.
async function ours(parallel, errorTokens = ['ERROR']) {
  const t0 = performance.now();
  const c0 = process.cpuUsage(); // includes the worker threads
  const p = await prefillIncident(farm, { window, answers: {}, parallel, errorTokens });
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, users: p.affectedUsers.total };
}

function grep() {
  const quoted = files.map((f) => `'${f.replace(/'/g, "'\\''")}'`).join(' ');
  const t0 = performance.now();
  // bash's `times` prints the CPU time of the pipeline's processes (children) on its second line.
  const r = spawnSync('bash', ['-c', `LC_ALL=C grep -h ERROR ${quoted} | LC_ALL=C grep -o 'User=[^ ]*' | LC_ALL=C sort -u | wc -l; times`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`grep pipeline failed: ${r.stderr}`);
  const [count, , children] = r.stdout.trim().split('\n');
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((n, m) => n + Number(m[1]) * 60 + Number(m[2]), 0);
  return { ms: performance.now() - t0, cpuMs: secs * 1000, users: Number(count.trim()) };
}

await ours(undefined); // warm the page cache and the JIT alike for both sides
grep();
let bestOurs = Infinity;
let bestGrep = Infinity;
let cpuOurs = Infinity;
let cpuGrep = Infinity;
let usersOurs = 0;
let usersGrep = 0;
for (let i = 0; i < rounds; i++) {
  const a = await ours(undefined);
  const b = grep();
  bestOurs = Math.min(bestOurs, a.ms);
  bestGrep = Math.min(bestGrep, b.ms);
  cpuOurs = Math.min(cpuOurs, a.cpuMs);
  cpuGrep = Math.min(cpuGrep, b.cpuMs);
  usersOurs = a.users;
  usersGrep = b.users;
}
const single = await ours(false);
const defaults = await ours(undefined, undefined);
const rssMiB = process.resourceUsage().maxRSS / 1024;
const gib = (bytes / 1024 ** 3).toFixed(2);
const ratio = bestOurs / bestGrep;

console.log(`incident users over ${gib} GiB (${files.length} files), best of ${rounds}:`);
console.log(`  clk-support prefill counting: ${bestOurs.toFixed(0)} ms wall (${(bytes / 1024 ** 2 / (bestOurs / 1000)).toFixed(0)} MiB/s), ${cpuOurs.toFixed(0)} ms CPU, ${usersOurs} users`);
console.log(`  single-threaded (no workers): ${single.ms.toFixed(0)} ms wall, ${single.cpuMs.toFixed(0)} ms CPU`);
console.log(`  default tokens (ERROR FATAL Exception): ${defaults.ms.toFixed(0)} ms wall, ${defaults.cpuMs.toFixed(0)} ms CPU, ${defaults.users} users`);
console.log(`  grep | grep -o | sort -u:     ${bestGrep.toFixed(0)} ms wall, ${cpuGrep.toFixed(0)} ms CPU, ${usersGrep} users`);
console.log(`  CPU ratio clk-support / grep: ${(cpuOurs / cpuGrep).toFixed(2)}; load average now ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).availableParallelism()} CPUs`);
console.log(`  ratio clk-support / grep:     ${ratio.toFixed(2)} (goal <= 1.00: ${ratio <= 1 ? 'met' : 'NOT met'})`);
console.log(`  peak RSS of clk-support:      ${rssMiB.toFixed(0)} MiB`);
if (usersOurs !== usersGrep || usersOurs !== answer.users.length) {
  console.error(`MISMATCH: clk-support ${usersOurs}, grep ${usersGrep}, generator ${answer.users.length}`);
  process.exitCode = 1;
}
