// ClickSoftware-like install trees for the namespace hosts: each host gets a copy of one demo farm
// server's C: drive (real .evtx, Tracer logs, PE binaries with versions, configs, license), and its
// farm file entry is the demo entry with C:\ paths mapped into that copy and an ssh transport.
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from './cli.js';
import { skipTransient } from '../support/cli.js';

export const DEMO_FARM_DIR = join(REPO, 'fixtures', 'demo-farm');

export type DemoServer = 'app01' | 'sched01' | 'int01';

export async function copyDemoTree(demo: DemoServer, root: string): Promise<void> {
  await cp(join(DEMO_FARM_DIR, 'servers', demo, 'c$'), root, { recursive: true, filter: skipTransient });
}

/** C:\Program Files\X -> <root>/Program Files/X */
export function mapWindowsPath(p: string, root: string): string {
  const m = /^[A-Za-z]:[\\/](.*)$/.exec(p);
  if (!m) return p;
  return `${root}/${m[1].replace(/\\/g, '/')}`.replace(/\/+$/, '');
}

function mapDeep(v: unknown, root: string): unknown {
  if (typeof v === 'string') return mapWindowsPath(v, root);
  if (Array.isArray(v)) return v.map((x) => mapDeep(x, root));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapDeep(x, root)]));
  return v;
}

export async function demoFarm(): Promise<{ farm: Record<string, unknown>; servers: Record<string, Record<string, unknown>> }> {
  const farm = JSON.parse(await readFile(join(DEMO_FARM_DIR, 'clk-farm.json'), 'utf8'));
  const servers = Object.fromEntries((farm.servers as Record<string, unknown>[]).map((s) => [String(s.name).toLowerCase(), s]));
  return { farm, servers };
}

export interface SshReach {
  host: string;
  port?: number;
  user: string;
  identityFile: string;
  knownHosts: string;
}

/** The demo entry of `demo`, renamed, as a linux server over ssh whose paths live under root. */
export async function linuxEntryFromDemo(demo: DemoServer, name: string, root: string, reach: SshReach, role?: string): Promise<Record<string, unknown>> {
  const { servers } = await demoFarm();
  const entry = mapDeep(servers[demo], root) as Record<string, unknown>;
  return {
    ...entry,
    name,
    ...(role ? { role } : {}),
    platform: 'linux',
    transport: { type: 'ssh', host: reach.host, port: reach.port ?? 22, user: reach.user, identityFile: reach.identityFile, knownHosts: reach.knownHosts },
    // Windows services cannot be queried on these hosts.
    services: [],
  };
}
