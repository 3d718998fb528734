// EVTX throughput: clk-support's streaming reader (dist/) vs libevtx's `evtxexport -f xml`, same file,
// same run. Builds a >= 200 MB file from real chunks of the shared corpus (../shared next to the repo).
// Usage: node bench/run.mjs evtx   (build first: npm run build)
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);
const corpus = join(repo, '..', 'shared', 'fixtures', 'evtx');
const maker = join(repo, '..', 'shared', 'tools', 'make_synthetic.py');
const dist = join(repo, 'dist', 'logs', 'evtx', 'index.js');
const out = join(here, 'out');
const big = join(out, 'big.evtx');
const CHUNKS = Number(process.env.EVTX_BENCH_CHUNKS ?? 3300); // 3300 x 64 KiB + 4 KiB = 216 MB

// Real files that both reference tools parse cleanly (so evtxexport does not stop early).
const SOURCES = [
  'NickSmet+ts-evtx/test/fixtures/Security.evtx',
  'NickSmet+ts-evtx/test/fixtures/System.evtx',
  'NickSmet+ts-evtx/test/fixtures/Application.evtx',
  'log2timeline+plaso/test_data/evtx/System.evtx',
  'omerbenamram+evtx/samples/security.evtx',
  'omerbenamram+evtx/samples/sysmon.evtx',
  'omerbenamram+evtx/samples/Security_with_size_t.evtx',
  'omerbenamram+evtx/samples/sample-with-irregular-bool-values.evtx',
  'omerbenamram+evtx/samples/E_Windows_system32_winevt_logs_Microsoft-Windows-Shell-Core%4Operational.evtx',
  'williballenthin+python-evtx/tests/data/issue_39.evtx',
];

function skip(msg) {
  console.log(`evtx bench skipped: ${msg}`);
  process.exit(0);
}

if (!existsSync(corpus) || !existsSync(maker)) skip(`shared corpus not found at ${corpus}`);
if (!existsSync(dist)) skip('dist/ missing: run `npm run build` first');

const expectedSize = 4096 + CHUNKS * 65536;
if (!existsSync(big) || statSync(big).size !== expectedSize) {
  mkdirSync(out, { recursive: true });
  const r = spawnSync('python3', [maker, 'concat', big, String(CHUNKS), ...SOURCES.map((s) => join(corpus, s))], { stdio: 'inherit' });
  if (r.status !== 0) skip('make_synthetic.py failed');
}
const mb = statSync(big).size / 1e6;

// The reader runs in a child so its peak RSS is its own, not this script's. RENDER=1 renders every
// record as a JSON line (the work comparable to evtxexport's XML); RENDER=0 reads the typed System
// fields only, which is what collect, incident prefill and check need from a log.
const child = `
const { readEvtx, renderJsonLine } = await import(${JSON.stringify(dist)});
const render = process.env.RENDER === '1';
const t0 = process.hrtime.bigint();
let records = 0, bytes = 0, ids = 0, warnings = 0;
for await (const r of readEvtx(${JSON.stringify(big)}, { onWarning: () => warnings++ })) {
  const s = r.system;
  ids += s.eventId + s.level + (s.timeCreated ? 1 : 0) + s.provider.length + s.computer.length;
  if (render) bytes += renderJsonLine(r).length; // rendered to a null sink
  records++;
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage();
console.log(JSON.stringify({ records, secs, cpuSecs: (cpu.user + cpu.system) / 1e6, bytes, ids, warnings, maxRssKb: process.resourceUsage().maxRSS }));
`;
function runOurs(render) {
  const ours = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, RENDER: render ? '1' : '0' } });
  if (ours.status !== 0) {
    console.error(ours.stderr);
    process.exit(1);
  }
  return JSON.parse(ours.stdout.trim().split('\n').pop());
}
const fields = runOurs(false);
const r = runOurs(true);
const oursMBs = mb / r.secs;
const oursCpuMBs = mb / r.cpuSecs;
// Wall time is what users see; CPU time (user+sys) is also printed because on a shared machine the
// wall-clock figures of two runs made a minute apart are not comparable.
console.log(`file: ${big} (${mb.toFixed(1)} MB, ${CHUNKS} chunks), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
console.log(
  `clk-support readEvtx, System fields only: ${fields.records} records in ${fields.secs.toFixed(2)} s = ${(mb / fields.secs).toFixed(1)} MB/s ` +
    `(CPU ${fields.cpuSecs.toFixed(2)} s), peak RSS ${(fields.maxRssKb / 1024).toFixed(1)} MB`,
);
console.log(
  `clk-support readEvtx + renderJsonLine: ${r.records} records in ${r.secs.toFixed(2)} s = ${oursMBs.toFixed(1)} MB/s ` +
    `(CPU ${r.cpuSecs.toFixed(2)} s = ${oursCpuMBs.toFixed(1)} MB/s per CPU-second), peak RSS ${(r.maxRssKb / 1024).toFixed(1)} MB, ${r.warnings} warnings`,
);

const which = spawnSync('sh', ['-c', 'command -v evtxexport'], { encoding: 'utf8' });
if (which.status !== 0) {
  console.log('evtxexport not installed (apt-get install libevtx-utils): no ratio');
  process.exit(0);
}
// The shell's `times` gives the CPU time of evtxexport (its children line) without extra tools.
const t0 = process.hrtime.bigint();
const ee = spawnSync('sh', ['-c', 'evtxexport -f xml "$1" > /dev/null 2>&1; rc=$?; times; exit $rc', 'sh', big], { encoding: 'utf8' });
const eeSecs = Number(process.hrtime.bigint() - t0) / 1e9;
const seconds = (t) => {
  const m = t.match(/^(\d+)m([\d.]+)s$/);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};
const childTimes = ee.stdout.trim().split('\n').pop().split(/\s+/).map(seconds);
const eeCpuSecs = childTimes[0] + childTimes[1];
const eeMBs = mb / eeSecs;
const eeCpuMBs = mb / eeCpuSecs;
console.log(
  `evtxexport -f xml > /dev/null: exit ${ee.status} in ${eeSecs.toFixed(2)} s = ${eeMBs.toFixed(1)} MB/s ` +
    `(CPU ${eeCpuSecs.toFixed(2)} s = ${eeCpuMBs.toFixed(1)} MB/s per CPU-second)`,
);
console.log(
  `ratio, rendering every record: ${(oursMBs / eeMBs).toFixed(1)}x evtxexport wall-clock, ${(oursCpuMBs / eeCpuMBs).toFixed(1)}x per CPU-second ` +
    '(goal >= 10x, ~140 MB/s, peak RSS < 150 MB)',
);
console.log(`ratio, System fields only: ${(mb / fields.secs / eeMBs).toFixed(1)}x evtxexport wall-clock`);
