#!/usr/bin/env node
// The Windows smoke suite (.ci/windows.sh runs it): every command of clk-support run twice on the
// demo farm, once on Linux (node bin/clk-support.js) and once as the Windows single executable under
// Wine against real UNC paths (\\APP01\c$ resolved by $WINEPREFIX/dosdevices/unc/APP01/c$), then the
// two runs compared: exit codes, record counts, bundle entry lists, JSON results minus paths and times.
// Each platform gets its own copy of the farm (license apply changes it). Windows Node needs its
// stdout/stderr on files (a Unix pipe gives EBADF), so every run writes to files and is read back.
// Usage: node scripts/windows-smoke.mjs --exe build/exe/clk-support-win-x64.exe [--work DIR] [--keep]
// Needs WINEPREFIX set up (see .ci/windows.sh). Exit 0 when both runs agree, 1 otherwise.
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const exe = resolve(arg('--exe') ?? join(repo, 'build', 'exe', 'clk-support-win-x64.exe'));
const work = arg('--work') ? resolve(arg('--work')) : mkdtempSync(join(tmpdir(), 'clk-win-smoke-'));
const keep = process.argv.includes('--keep');
const prefix = process.env.WINEPREFIX;
const RUN_TIMEOUT_MS = Number(process.env.CLK_SMOKE_TIMEOUT_MS ?? 180_000);

function die(message) {
  process.stderr.write(`windows-smoke: ${message}\n`);
  process.exit(1);
}
if (!existsSync(exe)) die(`no executable at ${exe}: run npm run build:exe first`);
if (!prefix || !existsSync(join(prefix, 'dosdevices'))) die('WINEPREFIX is not set to a prepared prefix (wine wineboot -i): see .ci/windows.sh');

const SERVERS = { APP01: 'app01', SCHED01: 'sched01', INT01: 'int01', WEB01: 'web01' }; // WEB01 is absent on purpose
const WINDOW = ['--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z'];
const EVTX = join(repo, 'fixtures', 'evtx', 'omerbenamram-Application_no_crc32.evtx');

/** A Unix path as the Windows program sees it (Wine maps Z: to /). */
const winPath = (p) => `Z:${p.replace(/\//g, '\\')}`;

/** A private farm for one platform: demo farm, keys, the older demo license installed. */
function prepareFarm(platform) {
  const root = join(work, platform);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(repo, 'fixtures', 'demo-farm'), join(root, 'demo-farm'), { recursive: true, filter: (s) => !/[\\/]\.clk-support-clock-[0-9a-f]+$/.test(s) });
  cpSync(join(repo, 'fixtures', 'keys'), join(root, 'keys'), { recursive: true });
  const made = spawnSync(process.execPath, [join(repo, 'tools', 'make-demo-license.mjs'), '--farm-dir', join(root, 'demo-farm')], { encoding: 'utf8' });
  if (made.status !== 0) die(`make-demo-license failed: ${made.stderr}`);
  const farmFile = join(root, 'demo-farm', 'clk-farm.json');
  if (platform === 'windows') {
    const farm = JSON.parse(readFileSync(farmFile, 'utf8'));
    const unc = join(prefix, 'dosdevices', 'unc');
    for (const s of farm.servers) {
      s.transport.root = `\\\\${s.name}\\c$`;
      const link = join(unc, s.name, 'c$');
      rmSync(join(unc, s.name), { recursive: true, force: true });
      const target = join(root, 'demo-farm', 'servers', SERVERS[s.name], 'c$');
      if (existsSync(target)) {
        mkdirSync(join(unc, s.name), { recursive: true });
        symlinkSync(target, link);
      }
    }
    writeFileSync(farmFile, JSON.stringify(farm, null, 2));
  }
  const answers = join(root, 'answers.json');
  writeFileSync(answers, JSON.stringify({ shortDescription: 'Dispatchers get SQL timeouts in GetObjects', steps: 'Open the Gantt and move a task.', systemDown: 'no', processes: 'dispatching', usersAffected: 'dispatchers cannot plan', workaround: 'none', deadlines: 'daily plan at 16:00', financialImpact: 'about 20k EUR per day', gettingWorse: 'yes' }));
  mkdirSync(join(root, 'out'), { recursive: true });
  return { root, farmFile, answers, out: join(root, 'out') };
}

let seq = 0;
/** Run clk-support on one platform; outputs go to files (a pipe gives EBADF inside Windows Node). */
function cli(platform, f, args) {
  const n = String(++seq).padStart(2, '0');
  const stdoutFile = join(f.root, `${n}.stdout`);
  const stderrFile = join(f.root, `${n}.stderr`);
  const out = openSync(stdoutFile, 'w');
  const err = openSync(stderrFile, 'w');
  const p = (x) => (platform === 'windows' ? winPath(x) : x);
  const mapped = args.map((a) => (typeof a === 'object' ? p(a.path) : a));
  const [cmd, cmdArgs] = platform === 'windows' ? ['wine', [exe, ...mapped]] : [process.execPath, [join(repo, 'bin', 'clk-support.js'), ...mapped]];
  const t0 = Date.now();
  const r = spawnSync(cmd, cmdArgs, { cwd: f.root, stdio: ['ignore', out, err], timeout: RUN_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1', WINEDEBUG: '-all' } });
  closeSync(out);
  closeSync(err);
  const stdout = readFileSync(stdoutFile, 'utf8');
  const stderr = readFileSync(stderrFile, 'utf8');
  if (r.error || r.signal) die(`${platform}: clk-support ${mapped.join(' ')}: ${r.error?.message ?? `killed by ${r.signal}`} (timeout ${RUN_TIMEOUT_MS} ms)\n${stderr}`);
  return { code: r.status, stdout, stderr, ms: Date.now() - t0, line: mapped.join(' ') };
}

const json = (r) => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { unparsable: r.stdout.slice(0, 200) };
  }
};

/** JSON without what legitimately differs between two runs: paths, times, durations, hosts. */
function normalise(v, roots) {
  if (Array.isArray(v)) return v.map((x) => normalise(x, roots));
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      if (/path|dir|file|root|out|time|date|at$|ms$|duration|elapsed|generated|created|started|finished|host|offset|clock|platform|commit|node|bytes|size|sha256|crc|signature|fingerprint|id$/i.test(k)) continue;
      o[k] = normalise(x, roots);
    }
    return o;
  }
  if (typeof v === 'string') {
    let s = v;
    for (const r of roots) s = s.split(r).join('<path>');
    return s
      .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?/g, '<time>')
      // backup names carry the time of the run (License.xml.bak-20261202T141404Z-...)
      .replace(/\d{8}T\d{6}Z/g, '<time>')
      // this machine's paths leave as <local>/... (Linux share roots are local folders; UNC roots are not)
      .replace(/<local>[^\s"']*/g, '<path>')
      .replace(/[A-Z]:\\[^\s"']*/g, '<path>')
      .replace(/\/[^\s"']+/g, '<path>')
      .replace(/<path>[^\s"']*/g, '<path>');
  }
  return v;
}

/** The entry names of a zip, read by Linux unzip whichever platform wrote it. */
function zipEntries(file) {
  const r = spawnSync('unzip', ['-Z1', file], { encoding: 'utf8' });
  if (r.status !== 0) return [`unzip failed: ${r.stderr.trim()}`];
  return r.stdout.split('\n').filter(Boolean).sort();
}

function newestZip(dir) {
  const zips = readdirSync(dir).filter((f) => f.endsWith('.zip'));
  return zips.length ? join(dir, zips.sort().at(-1)) : undefined;
}

/** The suite: every command, the same way on both platforms; each step returns what must agree. */
function suite(platform) {
  const f = prepareFarm(platform);
  const roots = [f.root, winPath(f.root), winPath(f.root).toLowerCase(), '\\\\APP01\\c$', '\\\\SCHED01\\c$', '\\\\INT01\\c$', '\\\\WEB01\\c$'];
  const farm = ['--farm', { path: f.farmFile }];
  const steps = {};
  const step = (name, args, pick) => {
    const r = cli(platform, f, args);
    steps[name] = { code: r.code, facts: pick ? pick(r) : undefined, ms: r.ms, stderr: r.stderr.slice(0, 2000), line: r.line };
  };
  // build differs by design (bundle on Linux, sea for the .exe); the .exe must say it is one.
  step('--version --json', ['--version', '--json'], (r) => ({ version: json(r).version, platformSaysSo: json(r).platform === (platform === 'windows' ? 'win32' : 'linux'), buildSaysSo: json(r).build === (platform === 'windows' ? 'sea' : json(r).build) }));
  step('--help', ['--help'], (r) => r.stdout.split('\n').filter((l) => /^\s{2}\w/.test(l)).map((l) => l.trim().split(/\s/)[0]));
  step('check --list', ['--json', 'check', '--list'], (r) => normalise(json(r), roots));
  step('farm validate', [...farm, '--json', 'farm', 'validate'], (r) => normalise(json(r), roots));
  step('farm status', [...farm, '--json', 'farm', 'status'], (r) => (json(r).servers ?? []).map((s) => ({ name: s.name, reachable: s.reachable, version: s.version, error: s.error?.code ?? s.error?.kind })));
  // The one difference Wine makes: on Windows, event logs are exported by the event log service
  // (`wevtutil epl`), and Wine's wevtutil.exe is a stub that exits 0 and writes nothing. Those
  // entries are left out of the comparison, and the Windows run must say so clearly in collector.log.
  let eventlogEntries = 0;
  step('collect', [...farm, '--json', 'collect', ...WINDOW, '--out', { path: f.out }], (r) => {
    const zip = newestZip(f.out);
    f.zip = zip;
    const entries = zip ? zipEntries(zip) : [];
    eventlogEntries = entries.filter((e) => e.includes('/eventlogs/')).length;
    // ownerOnlyWarning: icacls (Windows) or chmod could not make the bundle owner-only
    const facts = { zip: Boolean(zip), entries: entries.filter((e) => !e.includes('/eventlogs/')), ownerOnlyWarning: /cannot restrict/.test(r.stderr) };
    if (platform === 'windows' && zip) {
      const log = spawnSync('unzip', ['-p', zip, 'collector.log'], { encoding: 'utf8' }).stdout;
      const lines = log.split('\n').filter((l) => /\teventlogs\t/.test(l));
      facts.wevtutilExplained = lines.length > 0 && lines.every((l) => /\tok\t/.test(l) || /exited 0 but wrote no /.test(l));
      if (!facts.wevtutilExplained) process.stderr.write(`windows-smoke: eventlogs lines in collector.log:\n${lines.join('\n')}\n`);
    } else facts.wevtutilExplained = true;
    return facts;
  });
  if (f.zip) {
    step('bundle verify', ['--json', 'bundle', 'verify', { path: f.zip }], (r) => {
      const j = json(r);
      return { ok: j.ok, entriesBesidesEventLogs: j.entries - eventlogEntries, listedBesidesEventLogs: j.listed - eventlogEntries };
    });
    step('bundle inspect', ['--json', 'bundle', 'inspect', { path: f.zip }], (r) => ({ entriesBesidesEventLogs: (json(r).entries ?? json(r).files ?? []).length - eventlogEntries }));
  }
  step('incident prefill', [...farm, '--no-input', '--json', 'incident', 'prefill', ...WINDOW, '--answers', { path: f.answers }], (r) => normalise(json(r), roots));
  // The timeline: its numbers, and a page with charts (ECharts' SSR chunk loads inside the .exe too).
  const page = join(f.root, 'timeline.html');
  step('incident timeline', [...farm, '--json', 'incident', 'timeline', ...WINDOW, '--html', { path: page }], (r) => {
    const t = json(r);
    const sum = (kind) => (t.series ?? []).filter((x) => x.kind === kind).reduce((n, x) => n + x.values.reduce((a, v) => a + (v ?? 0), 0), 0);
    const html = existsSync(page) ? readFileSync(page, 'utf8') : '';
    return {
      buckets: t.buckets?.length,
      tracerErrors: sum('tracer-errors'),
      eventErrors: sum('event-errors'),
      counterSeries: (t.series ?? []).filter((x) => x.kind === 'counter').length,
      firstOccurrence: normalise(t.firstOccurrence, roots),
      findings: (t.findings ?? []).map((x) => `${x.server} ${x.id} ${x.from}`).sort(),
      users: t.users,
      pageCharts: (html.match(/<figure class="chart"/g) ?? []).length,
      pageHasNoScript: html.length > 0 && !/<script/i.test(html),
    };
  });
  step('incident speedup', [...farm, '--no-input', 'incident', 'speedup', '--incident', '123456/2025', '--request', 'feedback', '--answers', { path: f.answers }], (r) => r.stdout.replace(/\r\n/g, '\n'));
  step('incident escalate', [...farm, '--no-input', 'incident', 'escalate', '--incident', '123456/2025', '--current-priority', 'high', '--answers', { path: f.answers }, '--contact-name', 'A', '--contact-phone', '+1 555 0100'], (r) => r.stdout.replace(/\r\n/g, '\n'));
  step('service request', [...farm, '--no-input', 'service', 'request', '--type', 'GoingLive Check', '--date', '2026-04-01', '--go-live', '2026-06-01', '--support-level', 'enterprise', '--today', '2026-01-05', '--contact-name', 'A. Admin', '--contact-phone', '+49 30 1234567', '--contact-email', 'admin@contoso.example'], (r) => r.stdout.replace(/\r\n/g, '\n'));
  step('license status (before)', [...farm, '--json', 'license', 'status'], (r) => normalise(json(r), roots));
  const request = join(f.root, 'License.request');
  step('license request', [...farm, '--json', 'license', 'request', '--allow-partial', '--out', { path: request }], () => ({ written: existsSync(request) }));
  if (existsSync(request)) {
    const response = join(f.root, 'license.response');
    const signed = spawnSync(process.execPath, [join(repo, 'test', 'tools', 'sign-response.mjs'), '--request', request, '--out', response], { encoding: 'utf8' });
    if (signed.status !== 0) die(`${platform}: signing the license request failed: ${signed.stderr}`);
    step('license apply', [...farm, '--json', 'license', 'apply', { path: response }, '--yes'], (r) => normalise(json(r), roots));
    step('license status (applied)', [...farm, '--json', 'license', 'status'], (r) => normalise(json(r), roots));
    step('license rollback', [...farm, '--json', 'license', 'rollback', '--yes'], (r) => normalise(json(r), roots));
  }
  step('evtx stats', ['--json', 'evtx', 'stats', { path: EVTX }], (r) => normalise(json(r), roots));
  step('evtx dump', ['evtx', 'dump', { path: EVTX }, '--json'], (r) => ({ records: r.stdout.split('\n').filter(Boolean).length }));
  step('check', [...farm, '--json', 'check', '--group', 'farm,logs,license'], (r) => (json(r).results ?? json(r).checks ?? []).map((c) => `${c.id}${c.server ? `[${c.server}]` : ''}=${c.status}`).sort());
  step('usage error', ['--json', 'no-such-command'], (r) => ({ stderrHasUsage: /unknown command|error/i.test(r.stderr) }));
  return steps;
}

const t0 = Date.now();
process.stderr.write(`windows-smoke: work dir ${work}\n`);
const linux = suite('linux');
const windows = suite('windows');

const rows = [];
let failed = 0;
for (const name of Object.keys(linux)) {
  const l = linux[name];
  const w = windows[name];
  const same = w && l.code === w.code && JSON.stringify(l.facts) === JSON.stringify(w.facts);
  if (!same) failed++;
  rows.push(`${same ? 'same' : 'DIFF'}  exit ${String(l.code).padEnd(2)} / ${String(w?.code).padEnd(4)} ${String(l.ms).padStart(6)} ms / ${String(w?.ms).padStart(6)} ms  ${name}`);
  if (!same) {
    process.stderr.write(`\n--- ${name}: linux exit ${l.code}, windows exit ${w?.code}\n  linux:   ${l.line}\n  windows: ${w?.line}\n`);
    process.stderr.write(`  linux facts:   ${JSON.stringify(l.facts)?.slice(0, 3000)}\n  windows facts: ${JSON.stringify(w?.facts)?.slice(0, 3000)}\n`);
    process.stderr.write(`  windows stderr: ${w?.stderr}\n`);
  }
}
const report = { linux, windows, failed };
writeFileSync(join(work, 'smoke-report.json'), JSON.stringify(report, null, 2));
process.stdout.write(`${rows.join('\n')}\n${Object.keys(linux).length - failed} of ${Object.keys(linux).length} steps agree (Linux vs Windows exe under Wine) in ${((Date.now() - t0) / 1000).toFixed(0)} s; report: ${join(work, 'smoke-report.json')}\n`);
if (!keep && failed === 0) rmSync(work, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
