// Bundle throughput: clk-support's BundleWriter (dist/) vs `zip -r -6 -q`, same ~1 GB mixed tree,
// same run. The writer runs in a child process so its peak RSS is its own.
// Usage: node bench/run.mjs bundle   (build first: npm run build)
// Env: BUNDLE_BENCH_MB (default 1024) sets the tree size; the tree is generated once under bench/out/.
import { existsSync, mkdirSync, readdirSync, statSync, rmSync, createWriteStream, linkSync, copyFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);
const dist = join(repo, 'dist', 'bundle', 'writer.js');
const out = join(here, 'out');
const TARGET_MB = Number(process.env.BUNDLE_BENCH_MB ?? 1024);
const tree = join(out, `bundle-tree-${TARGET_MB}`);
const stamp = join(tree, '.complete');
const results = join(out, 'bundle-results');

function skip(msg) {
  console.log(`bundle bench skipped: ${msg}`);
  process.exit(0);
}
if (!existsSync(dist)) skip('dist/ missing: run `npm run build` first');
if (spawnSync('sh', ['-c', 'command -v zip'], { encoding: 'utf8' }).status !== 0) skip('zip is not installed (apt-get install zip): no baseline');

// ---- the tree: Tracer-like text logs, event logs, perfmon, already-compressed archives ----
let seed = 0x2545f491;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const MODULES = ['W6.Gantt', 'W6.Mobile.Sync', 'W6.ServerAPI', 'W6.Scheduling.Optimizer', 'W6.Integration.ERP', 'W6.Agents.Rules', 'W6.DAL.SqlProvider'];
const USERS = ['jdoe', 'lchen', 'mgarcia', 'asmith', 'pkumar', 'nmueller', 'tsato', 'ebrown'];
const LEVELS = ['INFO ', 'INFO ', 'INFO ', 'DEBUG', 'WARN ', 'ERROR'];
const VERBS = ['ProcessTasks', 'GetSchedule', 'UpdateAssignment', 'SyncDevice', 'ImportBatch', 'RunOptimization', 'GetCalendar'];

function textChunk(bytes, t0) {
  const lines = [];
  let n = 0;
  let t = t0;
  while (n < bytes) {
    t += Math.floor(rnd() * 900);
    const d = new Date(t).toISOString().replace('T', ' ').replace('Z', '');
    const lvl = pick(LEVELS);
    let msg;
    if (lvl === 'ERROR') msg = `User=CORP\\${pick(USERS)} Request ${pick(VERBS)} failed: System.Data.SqlClient.SqlException (0x80131904): Timeout expired after ${Math.floor(rnd() * 30000)} ms at W6.DAL.SqlProvider.Execute(Command cmd) in task ${Math.floor(rnd() * 1e7)}`;
    else if (lvl === 'DEBUG') msg = `object ${Math.floor(rnd() * 1e9).toString(16)} key=${Math.floor(rnd() * 1e6)} rev=${Math.floor(rnd() * 999)} district=${pick(['North', 'South', 'East', 'West'])} status=${pick(['Open', 'Assigned', 'Dispatched', 'Completed'])}`;
    else msg = `User=CORP\\${pick(USERS)} Request ${pick(VERBS)} completed in ${Math.floor(rnd() * 2000)} ms (${Math.floor(rnd() * 80)} objects)`;
    const line = `${d} [${Math.floor(rnd() * 64)}] ${lvl} ${pick(MODULES)} - ${msg}\r\n`;
    lines.push(line);
    n += line.length;
  }
  return { text: lines.join(''), t };
}

async function writeText(file, bytes) {
  const ws = createWriteStream(file);
  let t = Date.UTC(2025, 5, 1);
  let left = bytes;
  while (left > 0) {
    const { text, t: t2 } = textChunk(Math.min(left, 1 << 20), t);
    t = t2;
    left -= text.length;
    if (!ws.write(text)) await new Promise((r) => ws.once('drain', r));
  }
  await new Promise((r, j) => ws.end((e) => (e ? j(e) : r())));
}

async function writeRandomGz(file, bytes) {
  // Random bytes behind a gzip header: what an already-compressed archive looks like to a compressor.
  function* chunks() {
    let left = bytes;
    while (left > 0) {
      const n = Math.min(left, 1 << 20);
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) b.writeUInt32LE((rnd() * 4294967296) >>> 0, Math.min(i, n - 4));
      left -= n;
      yield b;
    }
  }
  await pipeline(Readable.from(chunks()), createGzip({ level: 1 }), createWriteStream(file));
}

async function makeTree() {
  rmSync(tree, { recursive: true, force: true });
  const MB = 1024 * 1024;
  const budget = TARGET_MB * MB;
  const evtxBudget = Math.round(budget * 0.25);
  const compressedBudget = Math.round(budget * 0.17);
  const textBudget = budget - evtxBudget - compressedBudget;
  process.stderr.write(`generating a ${TARGET_MB} MB tree under ${tree} (once)...\n`);
  const servers = ['APP01', 'APP02', 'SCHED01', 'INT01'];
  for (const s of servers) {
    mkdirSync(join(tree, s, 'ClickSoftware', 'Logs', 'Tracer', 'Archive'), { recursive: true });
    mkdirSync(join(tree, s, 'Windows', 'System32', 'winevt', 'Logs'), { recursive: true });
    mkdirSync(join(tree, s, 'PerfLogs', 'Admin', 'ClickSoftware'), { recursive: true });
  }
  // text logs of varied sizes: many small, some large
  let used = 0;
  let i = 0;
  while (used < textBudget) {
    const size = Math.min(textBudget - used, Math.floor((i % 7 === 0 ? 40 : i % 3 === 0 ? 8 : 2) * MB * (0.5 + rnd())));
    const s = servers[i % servers.length];
    await writeText(join(tree, s, 'ClickSoftware', 'Logs', 'Tracer', `W6Server_${String(20250500 + i)}.log`), size);
    used += size;
    i++;
  }
  // event logs: the big synthetic .evtx of the evtx bench when present, else copies of the fixtures
  const evtxSources = [];
  const bigEvtx = join(out, 'big.evtx');
  if (existsSync(bigEvtx) && statSync(bigEvtx).size <= evtxBudget) evtxSources.push(bigEvtx);
  const fx = join(repo, 'fixtures', 'evtx');
  const fixtures = existsSync(fx) ? readdirSync(fx).filter((f) => f.endsWith('.evtx')).map((f) => join(fx, f)) : [];
  let evtxUsed = 0;
  let k = 0;
  for (const src of evtxSources) {
    const dst = join(tree, servers[k % servers.length], 'Windows', 'System32', 'winevt', 'Logs', `Big-${k}.evtx`);
    try {
      linkSync(src, dst);
    } catch {
      copyFileSync(src, dst);
    }
    evtxUsed += statSync(src).size;
    k++;
  }
  while (fixtures.length && evtxUsed < evtxBudget) {
    const src = fixtures[k % fixtures.length];
    copyFileSync(src, join(tree, servers[k % servers.length], 'Windows', 'System32', 'winevt', 'Logs', `copy${k}-${src.split('/').pop()}`));
    evtxUsed += statSync(src).size;
    k++;
  }
  // perfmon: the demo farm's .blg/.csv
  const demo = join(repo, 'fixtures', 'demo-farm', 'servers');
  for (const s of existsSync(demo) ? readdirSync(demo) : []) {
    const pd = join(demo, s, 'c$', 'PerfLogs', 'Admin', 'ClickSoftware');
    if (!existsSync(pd)) continue;
    for (const f of readdirSync(pd)) copyFileSync(join(pd, f), join(tree, servers[0], 'PerfLogs', 'Admin', 'ClickSoftware', f));
  }
  // already compressed: rotated .gz logs and a few .zip archives
  let cUsed = 0;
  let j = 0;
  while (cUsed < compressedBudget) {
    const size = Math.min(compressedBudget - cUsed, Math.floor(12 * MB * (0.5 + rnd())));
    const s = servers[j % servers.length];
    const gz = join(tree, s, 'ClickSoftware', 'Logs', 'Tracer', 'Archive', `W6Server_2025040${j % 10}_${j}.log.gz`);
    await writeRandomGz(gz, size);
    if (j % 4 === 3) {
      const zipFile = gz.replace(/\.log\.gz$/, '.zip');
      spawnSync('zip', ['-q', '-0', '-j', zipFile, gz]);
      rmSync(gz);
    }
    cUsed += size;
    j++;
  }
  writeFileSync(stamp, new Date().toISOString());
}

function listFiles(dir) {
  const outList = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name !== '.complete') outList.push(p);
    }
  };
  walk(dir);
  return outList.sort();
}

if (!existsSync(stamp)) await makeTree();
const files = listFiles(tree);
const totalBytes = files.reduce((a, f) => a + statSync(f).size, 0);
const mb = totalBytes / 1e6;
mkdirSync(results, { recursive: true });

// ---- baseline: zip -r -6 (through GNU time when installed, for its CPU time and peak RSS) ----
const haveTime = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;
function runZip() {
  const zipOut = join(results, 'baseline.zip');
  rmSync(zipOut, { force: true });
  const args = ['-r', '-6', '-q', zipOut, '.', '-x', '.complete'];
  const t0 = process.hrtime.bigint();
  const z = haveTime
    ? spawnSync('/usr/bin/time', ['-f', '%U %S %M', 'zip', ...args], { cwd: tree, encoding: 'utf8' })
    : spawnSync('zip', args, { cwd: tree, encoding: 'utf8' });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (z.status !== 0) {
    console.error(`zip failed: ${z.stderr}`);
    process.exit(1);
  }
  const [u, sy, rss] = haveTime ? z.stderr.trim().split('\n').pop().split(' ').map(Number) : [NaN, NaN, NaN];
  return { secs, size: statSync(zipOut).size, cpuSecs: u + sy, maxRssKb: rss };
}

// ---- clk-support BundleWriter ----
const child = `
const { BundleWriter } = await import(${JSON.stringify(dist)});
const { createReadStream } = await import('node:fs');
const files = JSON.parse(process.env.BENCH_FILES);
const redact = process.env.BENCH_REDACT === '1';
const t0 = process.hrtime.bigint();
const w = await BundleWriter.create({ outDir: ${JSON.stringify(results)}, name: process.env.BENCH_NAME, minFreeBytes: 0 });
for (const f of files) {
  const text = /\\.(log|txt|csv|config|xml)$/i.test(f.path);
  await w.addStream(f.rel, createReadStream(f.path, { highWaterMark: 1024 * 1024 }), { collector: text ? 'tracer' : 'other', redact: redact && text, sourcePath: f.path });
}
const r = await w.finalize({ farm: { name: 'bench' }, window: { from: '', to: '' } });
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const stored = w.entries.filter((e) => e.store).length;
const ru = process.resourceUsage();
console.log(JSON.stringify({ secs, size: r.size, entries: r.entries, stored, maxRssKb: ru.maxRSS, cpuSecs: (ru.userCPUTime + ru.systemCPUTime) / 1e6 }));
`;
// ---- archiver 8 (ZipArchive, deflate level 6): the library the bundle writer was measured against ----
const archiverChild = `
const { ZipArchive } = await import('archiver');
const { createReadStream, createWriteStream } = await import('node:fs');
const files = JSON.parse(process.env.BENCH_FILES);
const t0 = process.hrtime.bigint();
const out = createWriteStream(process.env.BENCH_OUT);
const zip = new ZipArchive({ zlib: { level: 6 } });
zip.pipe(out);
for (const f of files) zip.append(createReadStream(f.path, { highWaterMark: 1024 * 1024 }), { name: f.rel });
const closed = new Promise((resolve, reject) => { out.on('close', resolve); zip.on('error', reject); });
await zip.finalize();
await closed;
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const ru = process.resourceUsage();
console.log(JSON.stringify({ secs, size: zip.pointer(), maxRssKb: ru.maxRSS, cpuSecs: (ru.userCPUTime + ru.systemCPUTime) / 1e6 }));
`;

function runArchiver() {
  const target = join(results, 'archiver.zip');
  rmSync(target, { force: true });
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', archiverChild], {
    encoding: 'utf8',
    cwd: join(dirname(dist), '..'),
    maxBuffer: 1 << 20,
    env: { ...process.env, BENCH_FILES: fileList, BENCH_OUT: target },
  });
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const fileList = JSON.stringify(files.map((p) => ({ path: p, rel: relative(tree, p).split('\\').join('/') })));

function runWriter(name, redact) {
  const target = join(results, name);
  rmSync(target, { force: true });
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, BENCH_FILES: fileList, BENCH_REDACT: redact ? '1' : '0', BENCH_NAME: name },
  });
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// Two alternating rounds; the best time of each tool counts (the machine may be shared and noisy).
const ROUNDS = Number(process.env.BUNDLE_BENCH_ROUNDS ?? 2);
const best = (a, b) => (!a || b.secs < a.secs ? b : a);
let zipR, plain, redacted, arch;
for (let round = 0; round < ROUNDS; round++) {
  zipR = best(zipR, runZip());
  arch = best(arch, runArchiver());
  plain = best(plain, runWriter('clk-plain.zip', false));
  redacted = best(redacted, runWriter('clk-redacted.zip', true));
}
const zipSecs = zipR.secs;

// the bundles must be valid zips
const t = spawnSync('unzip', ['-tq', join(results, 'clk-plain.zip')], { encoding: 'utf8' });
const valid = t.status === 0;

const line = (label, r) =>
  `${label.padEnd(34)} ${r.secs.toFixed(2).padStart(7)} s  ${(mb / r.secs).toFixed(1).padStart(7)} MB/s  cpu ${Number.isNaN(r.cpuSecs) ? '   n/a' : r.cpuSecs.toFixed(2).padStart(6)} s  zip ${(r.size / 1e6).toFixed(1).padStart(7)} MB  peak RSS ${Number.isNaN(r.maxRssKb) ? 'n/a' : `${(r.maxRssKb / 1024).toFixed(1)} MB`}`;
console.log(`tree: ${tree}: ${files.length} files, ${mb.toFixed(1)} MB (text logs, .evtx, .blg/.csv, .gz/.zip); best of ${ROUNDS} alternating rounds`);
console.log(line('zip -r -6 -q', zipR));
console.log(line('archiver 8 ZipArchive (level 6)', arch));
console.log(line('clk-support BundleWriter', plain));
console.log(line('clk-support BundleWriter + redact', redacted));
console.log(`stored (not deflated again): ${plain.stored} of ${plain.entries} entries; unzip -t: ${valid ? 'ok' : 'FAILED'}`);
const ratio = zipSecs / plain.secs;
const ratioRedact = zipSecs / redacted.secs;
console.log(`speed ratio vs zip (wall time, >1 = faster): ${ratio.toFixed(2)} plain, ${ratioRedact.toFixed(2)} with redaction; archiver ${(zipSecs / arch.secs).toFixed(2)}`);
const rssOk = Math.max(plain.maxRssKb, redacted.maxRssKb) / 1024 < 200;
const speedOk = ratio >= 1;
console.log(`goals: speed >= zip: ${speedOk ? 'PASS' : 'FAIL'}; peak RSS < 200 MB: ${rssOk ? 'PASS' : 'FAIL'}; valid zip: ${valid ? 'PASS' : 'FAIL'}`);
writeFileSync(join(results, 'last.json'), JSON.stringify({ files: files.length, mb, zip: zipR, plain, redacted, ratio, ratioRedact, valid }, null, 2));
// The tree stays for the next run; the zips (about 0.9 GB) do not.
for (const f of ['baseline.zip', 'archiver.zip', 'clk-plain.zip', 'clk-redacted.zip']) rmSync(join(results, f), { force: true });
process.exitCode = speedOk && rssOk && valid ? 0 : 1;
