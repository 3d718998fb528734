#!/usr/bin/env node
// Generates ClickSoftware-Tracer-style logs whose answer is known: it writes the logs and, beside
// them, answer.json with what any correct counter must find (error lines, distinct users per file
// and overall inside the window, first error). Used by the incident tests (small, mixed user
// formats) and by bench/incident.bench.mjs (large, User=DOMAIN\name only, so grep can compare).
//
//   node tools/make-tracer-logs.mjs --out DIR [--mb 1024] [--files 8] [--users 500]
//        [--error-every 50] [--seed 1] [--mixed] [--start 2025-06-03T00:00:00Z]
//        [--from 2025-06-03T08:00:00Z --to 2025-06-03T12:00:00Z] [--crlf] [--utc-offset 0]
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { rng } from './prng.mjs';

function args(argv) {
  const o = { out: '', mb: 16, files: 4, users: 200, errorEvery: 50, seed: 1, mixed: false, crlf: false, utcOffset: 0,
    start: '2025-06-03T00:00:00Z', from: '2025-06-03T08:00:00Z', to: '2025-06-03T12:00:00Z' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    const key = k.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (key === 'mixed' || key === 'crlf') o[key] = true;
    else o[key] = argv[++i];
  }
  for (const k of ['mb', 'files', 'users', 'errorEvery', 'seed', 'utcOffset']) o[k] = Number(o[k]);
  if (!o.out) throw new Error('--out DIR is required');
  return o;
}


const pad = (n, w = 2) => String(n).padStart(w, '0');
/** The log writes local time at utcOffset minutes east of UTC, without a zone (as Tracer does). */
function stamp(ms, utcOffset) {
  const d = new Date(ms + utcOffset * 60_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

const MODULES = ['W6.ServerAPI', 'W6.Gantt', 'W6.Dispatch', 'W6.Mobile.Sync', 'W6.Scheduling.Engine'];

async function main() {
  const o = args(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  const rand = rng(o.seed);
  const eol = o.crlf ? '\r\n' : '\n';
  const users = Array.from({ length: o.users }, (_, i) => `user${String(i).padStart(4, '0')}`);
  const startMs = Date.parse(o.start);
  const fromMs = Date.parse(o.from);
  const toMs = Date.parse(o.to);
  const bytesPerFile = Math.ceil((o.mb * 1024 * 1024) / o.files);
  const answer = { window: { from: o.from, to: o.to }, files: [], errorLines: 0, users: [], firstError: null, userPattern: 'User=DOMAIN\\name' };
  const allUsers = new Set();
  let firstMs = Infinity;

  for (let f = 0; f < o.files; f++) {
    const name = `W6Server_${String(f).padStart(3, '0')}.log`;
    const ws = createWriteStream(join(o.out, name), { highWaterMark: 1 << 20 });
    const fileUsers = new Set();
    let fileErrors = 0;
    let written = 0;
    // Spread each file over 24 h so part of it falls in the window.
    const approxLines = bytesPerFile / 110;
    const step = (24 * 3_600_000) / approxLines;
    let t = startMs + f * 7; // files interleave in time
    let n = 0;
    let buf = '';
    while (written < bytesPerFile) {
      t += step * (0.5 + rand());
      const ms = Math.round(t);
      const thread = 10 + Math.floor(rand() * 20);
      const mod = MODULES[Math.floor(rand() * MODULES.length)];
      const u = users[Math.floor(rand() * users.length)];
      let line;
      if (++n % o.errorEvery === 0) {
        // An error line: the user appears in one of the formats the counter must know.
        const fmt = o.mixed ? Math.floor(rand() * 5) : 0;
        const who =
          fmt === 0 ? `User=CORP\\${u}` :
          fmt === 1 ? `user: ${u.toUpperCase()}` :
          fmt === 2 ? `UserName="${u}@corp.example"` :
          fmt === 3 ? `login failed for user '${u}'` :
          'no user named here';
        const level = o.mixed && rand() < 0.2 ? 'FATAL' : 'ERROR';
        line = `${stamp(ms, o.utcOffset)} [${thread}] ${level} ${mod} - ${who} GetObjects failed: System.Data.SqlClient.SqlException (0x80131904): Timeout expired.${eol}   at W6.ServerAPI.ObjectStore.Query(String filter)${eol}`;
        // A continuation line naming an exception is an error line of its own, dated by its record.
        const inner = o.mixed && rand() < 0.3;
        if (inner) line += `   --- inner System.TimeoutException: The wait operation timed out${eol}`;
        if (ms >= fromMs && ms <= toMs) {
          fileErrors += inner ? 2 : 1;
          if (fmt !== 4) fileUsers.add(u);
          if (ms < firstMs) firstMs = ms;
        }
      } else {
        line = `${stamp(ms, o.utcOffset)} [${thread}] INFO  ${mod} - User=CORP\\${u} Request ProcessTasks completed in ${Math.floor(rand() * 300)} ms${eol}`;
      }
      buf += line;
      written += Buffer.byteLength(line);
      if (buf.length > 1 << 20) {
        if (!ws.write(buf)) await once(ws, 'drain');
        buf = '';
      }
    }
    ws.end(buf);
    await once(ws, 'finish');
    for (const u of fileUsers) allUsers.add(u);
    answer.files.push({ name, bytes: written, errorLines: fileErrors, users: [...fileUsers].sort() });
    answer.errorLines += fileErrors;
  }
  answer.users = [...allUsers].sort();
  answer.firstError = Number.isFinite(firstMs) ? new Date(firstMs).toISOString() : null;
  writeFileSync(join(o.out, 'answer.json'), `${JSON.stringify(answer, null, 2)}\n`);
  process.stderr.write(`wrote ${o.files} files (${o.mb} MiB) to ${o.out}: ${answer.errorLines} error lines in the window, ${answer.users.length} distinct users\n`);
}

main().catch((err) => {
  process.stderr.write(`make-tracer-logs: ${err.message}\n`);
  process.exitCode = 1;
});
