// A real OpenSSH server for tests: its own host key, client key, config and known_hosts in a temp
// dir, listening on loopback (or on an address inside a network namespace). Nothing is mocked: the
// transport under test talks SSH and SFTP to /usr/sbin/sshd exactly as it would to a farm server.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const SETPRIV = '/usr/bin/setpriv';
/** OpenSSH's MAX_LISTEN_SOCKS: one sshd listens on at most 16 addresses. */
export const MAX_LISTEN_PORTS = 16;

export interface SshdOptions {
  /** Address to listen on (default 127.0.0.1). */
  address?: string;
  /** Ports to listen on; free ones are picked when absent. */
  ports?: number[];
  /** How many free ports to pick when `ports` is absent (default 1). */
  portCount?: number;
  /** Run sshd inside this network namespace (`ip netns exec`), with its own UTS and mount namespaces. */
  netns?: string;
  /** Host name the server reports (only with netns: it gets its own UTS namespace). */
  hostname?: string;
  /** A file bind-mounted over /etc/machine-id for this server (only with netns). */
  machineIdFile?: string;
  /** Public keys allowed to log in, besides the client key generated here. */
  extraAuthorizedKeys?: string[];
  /** Use this folder instead of a new temp dir (kept by stop(); a host key already in it is reused). */
  dir?: string;
  /** Accept this client key instead of generating one (several servers, one admin key). */
  clientKey?: { identityFile: string; publicKey: string };
  /** Further host keys the server offers besides its ed25519 one (known_hosts still lists only ed25519). */
  extraHostKeyTypes?: ('rsa' | 'ecdsa')[];
}

export interface SshdServer {
  host: string;
  /** The first port. */
  port: number;
  ports: number[];
  user: string;
  /** Private key that the server accepts. */
  identityFile: string;
  /** A known_hosts file listing the server's host key for every port. */
  knownHosts: string;
  /** The host public key line (type base64). */
  hostKeyPub: string;
  /** Every host public key line the server offers, by ssh-keygen type (ed25519 and any extraHostKeyTypes). */
  hostKeys: Record<string, string>;
  dir: string;
  pid: number;
  /** Whether the listener is still running. */
  running(): boolean;
  /** SIGKILL the listener and every session process it forked: connections drop mid-flight. */
  kill(): Promise<void>;
  /** Stop everything and remove the temp dir. */
  stop(): Promise<void>;
}

/** Why sshd cannot run here, or undefined when it can. */
export function sshdUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `sshd tests need Linux (this is ${process.platform})`;
  if (!existsSync(SSHD)) return `${SSHD} is not installed (apt-get install openssh-server)`;
  if (!existsSync(SSH_KEYGEN)) return `${SSH_KEYGEN} is not installed (apt-get install openssh-client)`;
  return undefined;
}

export async function generateKey(file: string, comment: string, type = 'ed25519'): Promise<string> {
  await run(SSH_KEYGEN, ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', comment, '-f', file]);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, address, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolve once the port answers with an SSH banner (the server is really serving, not just bound). */
export async function waitForSshBanner(host: string, port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`sshd exited before ${host}:${port} answered`);
    const banner = await new Promise<string>((resolve) => {
      const s = net.connect({ host, port });
      let got = '';
      const done = (v: string) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(1000, () => done(''));
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (got.includes('\n')) done(got);
      });
      s.on('error', (e) => done(`error ${(e as NodeJS.ErrnoException).code}`));
      s.on('close', () => done(got));
    });
    if (banner.startsWith('SSH-')) return;
    last = banner;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no SSH banner from ${host}:${port} within ${timeoutMs} ms (${last})`);
}

/** Every process forked (transitively) from pid, read from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: the ppid follows the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // the process exited while we looked
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const live = new Set<SshdServer>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A failed or interrupted run must not leave servers listening.
  process.once('exit', () => {
    for (const s of live) {
      for (const p of descendants(s.pid)) killQuietly(p, 'SIGKILL');
      killQuietly(s.pid, 'SIGKILL');
      if (s.dir.startsWith(join(tmpdir(), 'clk-sshd-'))) rmSync(s.dir, { recursive: true, force: true });
    }
  });
}

export function sshdConfig(o: { address: string; ports: number[]; dir: string; hostKey: string; authorizedKeys: string; extraHostKeys?: string[] }): string {
  return [
    ...o.ports.map((p) => `ListenAddress ${o.address}:${p}`),
    `HostKey ${o.hostKey}`,
    ...(o.extraHostKeys ?? []).map((k) => `HostKey ${k}`),
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'StrictModes no',
    `PidFile ${join(o.dir, 'sshd.pid')}`,
    'UsePAM no',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    // A farm probe opens many connections at once; the default (10:30:100) drops some of them.
    'MaxStartups 200',
    'MaxSessions 50',
    'UseDNS no',
    'PrintMotd no',
    '',
  ].join('\n');
}

/**
 * The user's ~/.bashrc runs before every command an SSH session executes. On a developer machine it
 * may be slow or block (pyenv init takes a lock under concurrent logins and waits up to a minute), so
 * the test server runs in a private mount namespace where an empty file hides it. The real file is
 * untouched.
 */
function shellRcToHide(): string | undefined {
  const rc = join(homedirOf(), '.bashrc');
  return existsSync(rc) ? rc : undefined;
}

function homedirOf(): string {
  return userInfo().homedir;
}

async function spawnSshd(cfg: string, dir: string, o: SshdOptions): Promise<{ child: ChildProcess; stderr: () => string }> {
  let command = SSHD;
  let args = ['-D', '-e', '-f', cfg];
  const isRoot = process.getuid?.() === 0;
  const rc = isRoot ? shellRcToHide() : undefined;
  if (o.netns || rc) {
    const emptyRc = join(dir, 'empty-bashrc');
    await writeFile(emptyRc, '');
    // unshare gives the server its own mounts (and, in a namespace, its own host name), so each
    // namespace looks like a separate machine.
    const setup = [
      rc ? `mount --bind '${emptyRc}' '${rc}'` : '',
      o.netns && o.machineIdFile ? `mount --bind '${o.machineIdFile}' /etc/machine-id` : '',
      o.netns && o.hostname ? `hostname '${o.hostname}'` : '',
      `exec ${SSHD} -D -e -f '${cfg}'`,
    ]
      .filter(Boolean)
      .join(' && ');
    const unshare = ['unshare', '--mount', ...(o.netns ? ['--uts'] : []), '--propagation', 'private', 'sh', '-c', setup];
    if (o.netns) {
      command = 'ip';
      args = ['netns', 'exec', o.netns, ...unshare];
    } else {
      command = unshare[0];
      args = unshare.slice(1);
    }
  }
  // If this test process is killed outright (SIGKILL: no exit hook runs), the kernel kills sshd too.
  if (existsSync(SETPRIV)) {
    args = ['--pdeathsig', 'KILL', command, ...args];
    command = SETPRIV;
  }
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d.toString();
    if (err.length > 64 * 1024) err = err.slice(-32 * 1024);
  });
  return { child, stderr: () => err };
}

/** Start sshd; throws with sshd's own words when it cannot (not root, port taken, no sshd). */
export async function startSshd(o: SshdOptions = {}): Promise<SshdServer> {
  const unavailable = sshdUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  const address = o.address ?? '127.0.0.1';
  const portCount = o.ports?.length ?? o.portCount ?? 1;
  if (portCount > MAX_LISTEN_PORTS) throw new Error(`one sshd listens on at most ${MAX_LISTEN_PORTS} ports (asked for ${portCount}): use startSshdPool`);
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'clk-sshd-')));
  await mkdir(dir, { recursive: true });
  // The privilege separation directory sshd insists on.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => {});
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const identityFile = o.clientKey?.identityFile ?? join(dir, 'client_ed25519');
  // A restarted server keeps its host key, as a real one does.
  const hostKeyLine = existsSync(`${hostKey}.pub`) ? (await readFile(`${hostKey}.pub`, 'utf8')).trim() : await generateKey(hostKey, 'clk-test-host');
  const clientPub =
    o.clientKey?.publicKey ??
    (existsSync(`${identityFile}.pub`) ? (await readFile(`${identityFile}.pub`, 'utf8')).trim() : await generateKey(identityFile, 'clk-test-client'));
  const hostKeyPub = hostKeyLine.split(/\s+/).slice(0, 2).join(' ');
  const hostKeys: Record<string, string> = { ed25519: hostKeyPub };
  const extraHostKeys: string[] = [];
  for (const type of o.extraHostKeyTypes ?? []) {
    const file = join(dir, `ssh_host_${type}_key`);
    const line = existsSync(`${file}.pub`) ? (await readFile(`${file}.pub`, 'utf8')).trim() : await generateKey(file, 'clk-test-host', type);
    hostKeys[type] = line.split(/\s+/).slice(0, 2).join(' ');
    extraHostKeys.push(file);
  }
  const authorizedKeys = join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, [clientPub, ...(o.extraAuthorizedKeys ?? [])].join('\n') + '\n', { mode: 0o600 });

  let lastError = '';
  // A free port can be taken between picking it and sshd binding it: try again with new ones.
  for (let attempt = 0; attempt < 4; attempt++) {
    const ports = o.ports ?? (await Promise.all(Array.from({ length: o.portCount ?? 1 }, () => freePort(o.netns ? '127.0.0.1' : address))));
    if (new Set(ports).size !== ports.length) continue;
    const cfg = join(dir, 'sshd_config');
    await writeFile(cfg, sshdConfig({ address, ports, dir, hostKey, authorizedKeys, extraHostKeys }));
    const { child, stderr } = await spawnSshd(cfg, dir, o);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    child.once('error', (e) => {
      exited = true;
      lastError = e.message;
    });
    try {
      for (const p of ports) await waitForSshBanner(address, p, 10_000, () => !exited);
    } catch (err) {
      killQuietly(child.pid!, 'SIGKILL');
      lastError = `${(err as Error).message}: ${stderr().trim()}`;
      if (o.ports) break;
      continue;
    }
    const knownHosts = join(dir, 'known_hosts');
    // OpenSSH looks a host up as "address" on port 22 and as "[address]:port" otherwise.
    await writeFile(knownHosts, ports.map((p) => `${p === 22 ? address : `[${address}]:${p}`} ${hostKeyPub}`).join('\n') + '\n');
    const pid = child.pid!;
    const server: SshdServer = {
      host: address,
      port: ports[0],
      ports,
      user: userInfo().username,
      identityFile,
      knownHosts,
      hostKeyPub,
      hostKeys,
      dir,
      pid,
      running: () => !exited,
      async kill() {
        const all = [pid, ...descendants(pid)];
        for (const p of all) killQuietly(p, 'SIGKILL');
        if (!exited) await new Promise((r) => child.once('exit', r));
      },
      async stop() {
        await server.kill();
        live.delete(server);
        if (!o.dir) await rm(dir, { recursive: true, force: true });
      },
    };
    live.add(server);
    installExitHook();
    return server;
  }
  if (!o.dir) await rm(dir, { recursive: true, force: true });
  throw new Error(`sshd did not start: ${lastError}`);
}

/**
 * Start sshd or say why not: tests skip with the reason where sshd is missing or cannot run (not
 * root). As root with sshd installed (CI) a failure to start is a real failure and is thrown.
 */
export async function tryStartSshd(o: SshdOptions = {}): Promise<{ server?: SshdServer; skipReason?: string }> {
  const unavailable = sshdUnavailableReason();
  if (unavailable) {
    console.warn(`real sshd unavailable, skipping: ${unavailable}`);
    return { skipReason: unavailable };
  }
  try {
    return { server: await startSshd(o) };
  } catch (err) {
    if (process.getuid?.() === 0) throw err;
    const reason = `sshd cannot run as an unprivileged user here: ${(err as Error).message}`;
    console.warn(`real sshd unavailable, skipping: ${reason}`);
    return { skipReason: reason };
  }
}

/** Several servers for more ports than one sshd can listen on. */
export async function startSshdPool(ports: number, o: Omit<SshdOptions, 'ports' | 'portCount'> = {}): Promise<SshdServer[]> {
  const pool: SshdServer[] = [];
  try {
    for (let left = ports; left > 0; left -= MAX_LISTEN_PORTS) pool.push(await startSshd({ ...o, portCount: Math.min(left, MAX_LISTEN_PORTS) }));
  } catch (err) {
    await Promise.all(pool.map((s) => s.stop()));
    throw err;
  }
  return pool;
}
