// Farm scale: `farm status` (and `license request`) against 50 servers — 45 served by real OpenSSH
// servers on loopback ports, 5 that accept TCP and never speak SSH (a hung or firewalled host) —
// timed against the sequential sum of the per-server probe times, and against a real sequential run
// (--concurrency 1). Goal: wall ≈ one connect timeout + the slowest server, not the sum.
// Usage: node bench/run.mjs farm   (build first: npm run build; needs /usr/sbin/sshd and ssh-keygen)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);
const bin = join(repo, 'bin', 'clk-support.js');
const REACHABLE = Number(process.env.FARM_BENCH_REACHABLE ?? 45);
const SILENT = Number(process.env.FARM_BENCH_SILENT ?? 5);
const RUNS = Number(process.env.FARM_BENCH_RUNS ?? 3);
const CONNECT_TIMEOUT_MS = 3000;
const PORTS_PER_SSHD = 16; // OpenSSH's MAX_LISTEN_SOCKS
const RSS_HOOK = `data:text/javascript,process.on('exit',()=>process.stderr.write('__MAXRSS_KB__'+process.resourceUsage().maxRSS+'\\n'))`;

function skip(msg) {
  console.log(`farm-scale bench skipped: ${msg}`);
  process.exit(0);
}
if (process.platform !== 'linux') skip('needs Linux');
if (!existsSync('/usr/sbin/sshd') || !existsSync('/usr/bin/ssh-keygen')) skip('sshd / ssh-keygen not installed (apt-get install openssh-server openssh-client)');
if (!existsSync(join(repo, 'dist', 'cli.js'))) skip('dist/ missing: run `npm run build` first');

const work = mkdtempSync(join(tmpdir(), 'clk-farm-bench-'));
const children = [];
const silentServers = [];
const held = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  held.forEach((s) => s.destroy());
  silentServers.forEach((s) => s.close());
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function banner(port, deadline) {
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.setTimeout(1000, () => (s.destroy(), resolve(false)));
      s.once('data', (d) => (s.destroy(), resolve(d.toString('latin1').startsWith('SSH-'))));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd on port ${port} did not answer`);
}

// One host key and one client key for every server.
const hostKey = join(work, 'host_ed25519');
const clientKey = join(work, 'client_ed25519');
execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
writeFileSync(join(work, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
mkdirSync('/run/sshd', { recursive: true });
const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');

// Hide the user's ~/.bashrc from the sessions (see test/support/sshd.ts): a slow shell start-up
// would be measured instead of clk-support.
const rc = join(userInfo().homedir, '.bashrc');
const hideRc = process.getuid?.() === 0 && existsSync(rc);
writeFileSync(join(work, 'empty-bashrc'), '');

const ports = [];
for (let n = 0; n * PORTS_PER_SSHD < REACHABLE; n++) {
  const mine = [];
  for (let i = 0; i < Math.min(PORTS_PER_SSHD, REACHABLE - n * PORTS_PER_SSHD); i++) mine.push(await freePort());
  const cfg = join(work, `sshd_config_${n}`);
  writeFileSync(
    cfg,
    [
      ...mine.map((p) => `ListenAddress 127.0.0.1:${p}`),
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(work, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'StrictModes no',
      `PidFile ${join(work, `sshd_${n}.pid`)}`,
      'UsePAM no',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      'MaxStartups 200',
      'UseDNS no',
      '',
    ].join('\n'),
  );
  const child = hideRc
    ? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount --bind '${join(work, 'empty-bashrc')}' '${rc}' && exec /usr/sbin/sshd -D -e -f '${cfg}'`], { stdio: 'ignore' })
    : spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg], { stdio: 'ignore' });
  children.push(child);
  for (const p of mine) await banner(p, Date.now() + 10_000);
  ports.push(...mine);
}
writeFileSync(join(work, 'known_hosts'), ports.map((p) => `[127.0.0.1]:${p} ${hostPub}`).join('\n') + '\n');

const silentPorts = [];
for (let i = 0; i < SILENT; i++) {
  const s = net.createServer((c) => held.push(c));
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  silentServers.push(s);
  silentPorts.push(s.address().port);
}

const user = userInfo().username;
const entry = (name, port, root) => ({
  name,
  role: 'application',
  platform: 'linux',
  transport: { type: 'ssh', host: '127.0.0.1', port, user, identityFile: clientKey, knownHosts: join(work, 'known_hosts') },
  installRoot: `${root}/opt/clk`,
  version: { file: `${root}/opt/clk/version.txt`, pattern: 'Version=(?<version>\\d+\\.\\d+\\.\\d+\\.(?<build>\\d+))' },
});
const servers = [];
ports.forEach((port, i) => {
  const root = join(work, `srv${i + 1}`);
  mkdirSync(join(root, 'opt/clk'), { recursive: true });
  writeFileSync(join(root, 'opt/clk/version.txt'), 'Version=8.1.15.2207\n');
  servers.push(entry(`SRV${String(i + 1).padStart(2, '0')}`, port, root));
});
silentPorts.forEach((port, i) => servers.splice(Math.floor(((i + 1) * servers.length) / (SILENT + 1)), 0, entry(`DARK${i + 1}`, port, join(work, `dark${i + 1}`))));
const farmPath = join(work, 'clk-farm.json');
writeFileSync(
  farmPath,
  JSON.stringify({
    formatVersion: 1,
    farm: { name: 'Bench farm', customerNumber: '1234567', installationNumber: '0020123456', systemId: 'FSB', environment: 'test' },
    settings: { connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: 30_000, concurrency: 64 },
    servers,
  }),
);

function cli(args) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', RSS_HOOK, bin, '--farm', farmPath, ...args], {
      cwd: work,
      env: { ...process.env, NO_COLOR: '1', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const rss = /__MAXRSS_KB__(\d+)/.exec(stderr);
      resolve({ code, stdout, stderr, wallMs, maxRssMb: rss ? Number(rss[1]) / 1024 : NaN });
    });
  });
}

const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`farm: ${servers.length} servers (${REACHABLE} over ssh to ${children.length} loopback sshd, ${SILENT} silent), connect timeout ${CONNECT_TIMEOUT_MS} ms, concurrency 64`);

const walls = [];
const sums = [];
const slowest = [];
let rss = 0;
for (let i = 0; i < RUNS; i++) {
  const r = await cli(['farm', 'status', '--json']);
  if (r.code !== 3) {
    console.error(`farm status exited ${r.code} (expected 3: ${SILENT} unreachable)\n${r.stderr.slice(-2000)}`);
    process.exit(1);
  }
  const probes = JSON.parse(r.stdout).servers;
  const sum = probes.reduce((a, p) => a + p.durationMs, 0);
  const slow = Math.max(...probes.filter((p) => p.reachable).map((p) => p.durationMs));
  const down = probes.filter((p) => !p.reachable).length;
  walls.push(r.wallMs);
  sums.push(sum);
  slowest.push(slow);
  rss = Math.max(rss, r.maxRssMb);
  console.log(`run ${i + 1}/${RUNS}: farm status wall ${s(r.wallMs)}, sum of per-server probe times ${s(sum)}, slowest reachable ${s(slow)}, ${down} unreachable, peak RSS ${r.maxRssMb.toFixed(1)} MB`);
}
const wall = median(walls);
const sum = median(sums);
const target = CONNECT_TIMEOUT_MS + median(slowest);
console.log(`farm status: median wall ${s(wall)} vs sequential sum ${s(sum)}: ratio ${(wall / sum).toFixed(3)} (${(sum / wall).toFixed(1)}x faster than the sum); connect timeout + slowest = ${s(target)} (wall/target ${(wall / target).toFixed(2)})`);

const seq = await cli(['farm', 'status', '--json', '--concurrency', '1']);
console.log(`farm status --concurrency 1 (really sequential): wall ${s(seq.wallMs)}: parallel is ${(seq.wallMs / wall).toFixed(1)}x faster`);

const lr = await cli(['license', 'request', '--allow-partial', '--out', join(work, 'License.request')]);
console.log(`license request --allow-partial: exit ${lr.code}, wall ${s(lr.wallMs)} (connect timeout + slowest ${s(target)}), peak RSS ${lr.maxRssMb.toFixed(1)} MB`);
console.log(`peak RSS of farm status: ${rss.toFixed(1)} MB for ${servers.length} servers`);
// The sshd servers and the silent listeners would keep this process alive.
cleanup();
process.exit(0);
