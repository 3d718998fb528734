// A farm of real hosts on one Linux machine: each host is a network namespace joined to a bridge in
// the root namespace by a veth pair, with its own address, host name, machine id and OpenSSH
// server. The tool under test runs in the root namespace and reaches the hosts by address, so
// connects, refusals, timeouts and dropped connections are the kernel's, not a mock's.
//
// Addresses are private (10.77.N.0/24) and exist only on the bridge and in our namespaces; the
// namespaces have no default route, so no packet can leave this machine. Names carry the test
// process id; everything is torn down by teardown(), on process exit, and (for runs that crashed)
// by the next run, which removes namespaces and bridges whose owning process is gone.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKey, startSshd, sshdUnavailableReason, type SshdServer } from './sshd.js';

const run = promisify(execFile);
const NS_PREFIX = 'clkf';
const BRIDGE_PREFIX = 'clkb';

export interface NetnsHost {
  /** The server name used in the farm file. */
  name: string;
  ns: string;
  address: string;
  /** This host's own folder on the shared filesystem: its ClickSoftware tree lives below it. */
  root: string;
  /** The host name `hostname` prints on this host. */
  hostname: string;
  /** The machine id this host reports from /etc/machine-id (when the machine has that file). */
  machineId?: string;
  sshd?: SshdServer;
  /** Start (or restart) this host's sshd; it keeps its host key. */
  startSshd(): Promise<void>;
  /** Stop sshd: the host answers, nothing listens on port 22 (connections are refused). */
  stopSshd(): Promise<void>;
  /** SIGKILL every process in the namespace: sessions die mid-transfer. */
  killAll(): Promise<void>;
  /** Drop every packet towards the root namespace: connects time out. */
  blackhole(): Promise<void>;
  unblackhole(): Promise<void>;
  /** Resolve once a process of this host holds `path` open (e.g. sshd's SFTP serving a download). */
  waitForOpenFile(path: string, timeoutMs: number): Promise<void>;
  /** Mount a tmpfs of `bytes` over a folder of this host's tree (a full disk); undone by teardown. */
  mountTinyDisk(dir: string, bytes: number): Promise<void>;
  unmountTinyDisk(dir: string): Promise<void>;
  /** Give the tmpfs over dir a new size (both namespaces share the mount's superblock: no restart). */
  resizeTinyDisk(dir: string, bytes: number): Promise<void>;
}

export interface NetnsFarm {
  /** /tmp/clk-farm-<pid>: trees, keys, known_hosts. */
  base: string;
  bridge: string;
  gateway: string;
  hosts: NetnsHost[];
  /** The admin's key, accepted by every host. */
  identityFile: string;
  /** known_hosts listing every host's real key. */
  knownHosts: string;
  /** "address type key" for a host, as a known_hosts line. */
  knownHostsLine(host: NetnsHost): string;
  host(name: string): NetnsHost;
  teardown(): Promise<void>;
}

function ipSync(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function nsPids(ns: string): Promise<number[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'pids', ns]);
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function killNsSync(ns: string): void {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns]).toString();
    for (const p of out.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone
      }
    }
  } catch {
    // no such namespace
  }
}

/** Remove namespaces and bridges left by runs whose process no longer exists. */
export function sweepStale(): void {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list']).toString();
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(/\s+/)[0];
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-\\d+$`).exec(name ?? '');
    if (m && !alive(Number(m[1]))) {
      killNsSync(name);
      ipSync(['netns', 'del', name]);
    }
  }
  // Their trees, after lifting any tiny disk still mounted inside.
  for (const name of readdirSync('/tmp')) {
    const m = /^clk-farm-(\d+)$/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const dir = `/tmp/${name}`;
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
      .filter((t): t is string => !!t && t.startsWith(`${dir}/`));
    for (const t of mounts) {
      try {
        execFileSync('umount', ['-l', t], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  try {
    const links = execFileSync('ip', ['-o', 'link', 'show', 'type', 'bridge']).toString();
    for (const m of links.matchAll(new RegExp(`^\\d+: (${BRIDGE_PREFIX}(\\d+)):`, 'gm'))) if (!alive(Number(m[2]))) ipSync(['link', 'del', m[1]]);
  } catch {
    // no bridges
  }
}

/** Why namespaces cannot be used here, or undefined when they can (tried for real). */
export async function netnsUnavailableReason(): Promise<string | undefined> {
  const sshd = sshdUnavailableReason();
  if (sshd) return sshd;
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)';
  const probe = `${NS_PREFIX}${process.pid}-probe`;
  try {
    await run('ip', ['netns', 'add', probe]);
  } catch (err) {
    return `cannot create a network namespace: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`;
  } finally {
    ipSync(['netns', 'del', probe]);
  }
  for (const tool of ['unshare', 'hostname', 'mount']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

/** A /24 in 10.77.0.0/16 that nothing on this machine uses yet. */
async function freeSubnet(avoid: ReadonlySet<number>): Promise<number> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
  const used = new Set([...avoid, ...[...stdout.matchAll(/inet 10\.77\.(\d+)\./g)].map((m) => Number(m[1]))]);
  const start = (process.pid % 200) + 20;
  for (let i = 0; i < 230; i++) {
    const n = ((start + i) % 230) + 20;
    if (!used.has(n)) return n;
  }
  throw new Error('no free 10.77.N.0/24 subnet');
}

const farms = new Set<() => void>();
let hooksInstalled = false;
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const all = () => farms.forEach((f) => f());
  process.once('exit', all);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      all();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
}

export async function createNetnsFarm(names: readonly string[], opts: { base?: string } = {}): Promise<NetnsFarm> {
  sweepStale();
  const pid = process.pid;
  const base = opts.base ?? `/tmp/clk-farm-${pid}`;
  await mkdir(base, { recursive: true });
  const bridge = `${BRIDGE_PREFIX}${pid}`;
  let subnet = 0;
  let gateway = '';
  const mounts = new Set<string>();
  const nsNames = names.map((_, i) => `${NS_PREFIX}${pid}-${i + 1}`);

  const teardownSync = () => {
    for (const ns of nsNames) killNsSync(ns);
    for (const m of mounts) {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      } catch {
        // not mounted
      }
    }
    mounts.clear();
    for (const ns of nsNames) ipSync(['netns', 'del', ns]);
    ipSync(['link', 'del', bridge]);
    try {
      execFileSync('rm', ['-rf', base], { stdio: 'ignore' });
    } catch {
      // best effort
    }
  };
  farms.add(teardownSync);
  installHooks();

  try {
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    // Two runs starting together may pick the same subnet: claim one, then make sure we are alone on it.
    const tried = new Set<number>();
    for (;;) {
      subnet = await freeSubnet(tried);
      gateway = `10.77.${subnet}.1`;
      await run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
      const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
      const shared = stdout.split('\n').some((l) => l.includes(` 10.77.${subnet}.`) && l.split(/\s+/)[1] !== bridge);
      if (!shared) break;
      await run('ip', ['addr', 'del', `${gateway}/24`, 'dev', bridge]);
      tried.add(subnet);
    }
    await run('ip', ['link', 'set', bridge, 'up']);

    const keysDir = join(base, 'admin');
    await mkdir(keysDir, { recursive: true });
    const identityFile = join(keysDir, 'id_ed25519');
    const publicKey = await generateKey(identityFile, 'clk-farm-admin');
    const hasMachineIdFile = existsSync('/etc/machine-id');

    const hosts: NetnsHost[] = await Promise.all(
      names.map(async (name, i) => {
        const ns = nsNames[i];
        const veth = `clkv${pid}-${i + 1}`;
        const address = `10.77.${subnet}.${11 + i}`;
        await run('ip', ['netns', 'add', ns]);
        await run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        await run('ip', ['link', 'set', veth, 'master', bridge, 'up']);
        await run('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
        await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
        await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
        const root = join(base, name.toLowerCase());
        const sshdDir = join(base, 'sshd', name.toLowerCase());
        await mkdir(root, { recursive: true });
        await mkdir(sshdDir, { recursive: true });
        const hostname = `${name.toLowerCase()}.clk.test`;
        let machineId: string | undefined;
        let machineIdFile: string | undefined;
        if (hasMachineIdFile) {
          machineId = randomBytes(16).toString('hex');
          machineIdFile = join(sshdDir, 'machine-id');
          await writeFile(machineIdFile, `${machineId}\n`);
        }
        // The host's sshd has its own mount namespace, copied when it started (the root mount is
        // private here, so later mounts do not propagate): restart it to see a mount change.
        const restartToSeeMounts = async () => {
          if (!host.sshd?.running()) return;
          await host.sshd.kill();
          await host.startSshd();
        };
        const host: NetnsHost = {
          name,
          ns,
          address,
          root,
          hostname,
          machineId,
          async startSshd() {
            if (host.sshd?.running()) return;
            host.sshd = await startSshd({ address, ports: [22], netns: ns, hostname, machineIdFile, dir: sshdDir, clientKey: { identityFile, publicKey } });
          },
          async stopSshd() {
            await host.sshd?.kill();
          },
          async killAll() {
            for (const p of await nsPids(ns)) {
              try {
                process.kill(p, 'SIGKILL');
              } catch {
                // gone
              }
            }
            await host.sshd?.kill();
          },
          async waitForOpenFile(path, timeoutMs) {
            const deadline = Date.now() + timeoutMs;
            while (Date.now() < deadline) {
              for (const p of await nsPids(ns)) {
                let fds: string[] = [];
                try {
                  fds = await readdir(`/proc/${p}/fd`);
                } catch {
                  continue;
                }
                for (const fd of fds) {
                  const target = await readlink(`/proc/${p}/fd/${fd}`).catch(() => '');
                  if (target === path) return;
                }
              }
              await new Promise((r) => setTimeout(r, 10));
            }
            throw new Error(`${name}: no process opened ${path} within ${timeoutMs} ms`);
          },
          async blackhole() {
            await run('ip', ['-n', ns, 'route', 'replace', 'blackhole', `${gateway}/32`]);
          },
          async unblackhole() {
            await run('ip', ['-n', ns, 'route', 'del', 'blackhole', `${gateway}/32`]).catch(() => {});
          },
          async mountTinyDisk(dir, bytes) {
            await mkdir(dir, { recursive: true });
            await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, `clk-full-${pid}`, dir]);
            mounts.add(dir);
            await restartToSeeMounts();
          },
          async resizeTinyDisk(dir, bytes) {
            await run('mount', ['-o', `remount,size=${bytes}`, dir]);
          },
          async unmountTinyDisk(dir) {
            await run('umount', [dir]);
            mounts.delete(dir);
            await restartToSeeMounts();
          },
        };
        await host.startSshd();
        return host;
      }),
    );

    const knownHostsLine = (h: NetnsHost) => `${h.address} ${h.sshd!.hostKeyPub}`;
    const knownHosts = join(keysDir, 'known_hosts');
    await writeFile(knownHosts, hosts.map(knownHostsLine).join('\n') + '\n');

    return {
      base,
      bridge,
      gateway,
      hosts,
      identityFile,
      knownHosts,
      knownHostsLine,
      host(name) {
        const h = hosts.find((x) => x.name === name);
        if (!h) throw new Error(`no host ${name}`);
        return h;
      },
      async teardown() {
        for (const h of hosts) await h.sshd?.kill().catch(() => {});
        teardownSync();
        farms.delete(teardownSync);
      },
    };
  } catch (err) {
    teardownSync();
    farms.delete(teardownSync);
    throw err;
  }
}
