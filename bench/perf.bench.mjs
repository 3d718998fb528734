// Perf findings on SYNTHETIC PDH-CSV files of growing length (written here, 24 counters every
// second): throughput, and the heap after reading, which must stay flat whatever the length (the
// analyzer keeps a few numbers per matched column, never the series). Run `npx tsc -p
// tsconfig.build.json` first: this reads dist/.
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const dist = new URL('../dist/', import.meta.url);
const { readLines } = await import(new URL('logs/lines.js', dist));
const { analysePerfFile } = await import(new URL('incident/perf-findings.js', dist));
const { effectiveThresholds } = await import(new URL('incident/perf-thresholds.js', dist));

const COUNTERS = [
  '\\Processor(_Total)\\% Processor Time',
  '\\Memory\\Available MBytes',
  '\\Memory\\% Committed Bytes In Use',
  '\\Memory\\Pages/sec',
  '\\Paging File(_Total)\\% Usage',
  '\\PhysicalDisk(0 C:)\\Avg. Disk sec/Read',
  '\\PhysicalDisk(0 C:)\\Avg. Disk sec/Write',
  '\\PhysicalDisk(0 C:)\\Avg. Disk Queue Length',
  '\\LogicalDisk(C:)\\% Free Space',
  ...['W6Server', 'W6Scheduler', 'w3wp'].flatMap((p) => [`\\Process(${p})\\Handle Count`, `\\Process(${p})\\Thread Count`, `\\Process(${p})\\Private Bytes`, `\\Process(${p})\\% Processor Time`]),
  '\\ASP.NET\\Requests Queued',
  '\\.NET CLR Memory(w3wp)\\% Time in GC',
  '\\SQLServer:General Statistics\\Processes blocked',
];

const pad = (n, w = 2) => String(n).padStart(w, '0');
async function write(file, rows) {
  const out = createWriteStream(file);
  out.write(`"(PDH-CSV 4.0) (Coordinated Universal Time)(0)",${COUNTERS.map((c) => `"\\\\BENCH01${c}"`).join(',')}\r\n`);
  const start = Date.UTC(2025, 5, 1);
  for (let i = 0; i < rows; i++) {
    const d = new Date(start + i * 1000);
    const t = `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.000`;
    // A busy hour every six hours, so that spans open and close all along.
    const busy = Math.floor(i / 3600) % 6 === 0;
    const cells = COUNTERS.map((_, c) => (busy ? 95 : 20) + ((i * 7 + c * 13) % 10));
    if (!out.write(`"${t}",${cells.map((v) => `"${v}"`).join(',')}\r\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const dir = mkdtempSync(join(tmpdir(), 'clk-perf-bench-'));
try {
  const thresholds = effectiveThresholds();
  for (const rows of [86_400, 864_000]) {
    const file = join(dir, `bench-${rows}.csv`);
    await write(file, rows);
    const mb = statSync(file).size / 1e6;
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
    const t0 = performance.now();
    const a = await analysePerfFile(readLines(createReadStream(file)), 'BENCH01', thresholds);
    const s = (performance.now() - t0) / 1000;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    console.log(
      `${rows.toLocaleString('en')} rows x ${COUNTERS.length} counters (${mb.toFixed(1)} MB): ${s.toFixed(2)} s, ${(mb / s).toFixed(1)} MB/s, ` +
        `${a.findings.length} findings, heap peak +${((peak - before) / 1e6).toFixed(1)} MB over the start`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
