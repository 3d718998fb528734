// Reach every server of the farm at once (bounded), with a time limit each, and say what was found.
import pLimit from 'p-limit';
import type { Farm } from './load.js';
import type { ServerConfig } from './schema.js';
import { readIdentity, type ServerIdentity } from './identity.js';
import { untilAborted } from '../abort.js';
import { createTransport } from './transports/index.js';
import { TransportError, toTransportError, withTimeout, type FailureReason, type Transport } from './transports/transport.js';

export interface ServerProbe {
  server: ServerConfig;
  reachable: boolean;
  reason?: FailureReason;
  error?: string;
  hint?: string;
  identity?: ServerIdentity;
  durationMs: number;
}

export interface ProbeOptions {
  concurrency?: number;
  signal?: AbortSignal;
  /** Keep the transports open for the caller (who must close them). */
  keepOpen?: boolean;
  /** false: do not read the server clock (a share's clock probe writes a file; `license apply --check` writes nothing). */
  readClock?: boolean;
  onResult?: (p: ServerProbe) => void;
}

export interface ProbedFarm {
  probes: ServerProbe[];
  /** Open transports of reachable servers, when keepOpen was asked for. */
  transports: Map<string, Transport>;
}

export async function probeServer(farm: Farm, server: ServerConfig, transport: Transport, opts: { readClock?: boolean } = {}): Promise<ServerProbe> {
  const started = Date.now();
  try {
    // One overall limit per server: connect plus identity reads may never exceed it.
    const identity = await withTimeout(
      (async () => {
        await transport.connect();
        return readIdentity(transport, server, { readClock: opts.readClock });
      })(),
      farm.settings.connectTimeoutMs + farm.settings.timeoutMs,
      server.name,
      'probe',
    );
    return { server, reachable: true, identity, durationMs: Date.now() - started };
  } catch (err) {
    const e = err instanceof TransportError ? err : toTransportError(server.name, err, 'probe');
    return { server, reachable: false, reason: e.reason, error: e.message, hint: e.hint, durationMs: Date.now() - started };
  }
}

export async function probeFarm(farm: Farm, servers: readonly ServerConfig[], opts: ProbeOptions = {}): Promise<ProbedFarm> {
  const limit = pLimit(opts.concurrency ?? farm.settings.concurrency);
  const transports = new Map<string, Transport>();
  const probing = Promise.all(
    servers.map((server) =>
      limit(async () => {
        if (opts.signal?.aborted) throw opts.signal.reason;
        const t = createTransport(farm, server);
        let probe: ServerProbe;
        try {
          // Ctrl-C must not wait for a server that does not answer (connect plus identity time limit)
          probe = opts.signal ? await untilAborted(probeServer(farm, server, t, { readClock: opts.readClock }), opts.signal) : await probeServer(farm, server, t, { readClock: opts.readClock });
        } catch (err) {
          await t.close().catch(() => {}); // ends a handshake in flight, so nothing holds the process
          throw err;
        }
        if (probe.reachable && opts.keepOpen) transports.set(server.name, t);
        else await t.close().catch(() => {});
        opts.onResult?.(probe);
        return probe;
      }),
    ),
  );
  let probes: ServerProbe[];
  try {
    probes = await probing;
  } catch (err) {
    // interrupted: the caller never sees the transports already opened, so close them here
    await Promise.all([...transports.values()].map((t) => t.close().catch(() => {})));
    throw err;
  }
  return { probes, transports };
}

/**
 * Why a server could not be reached, in words for a line that already names the server and says
 * "unreachable": the failure class only where it adds something, the message without the server's name.
 */
export function unreachableText(name: string, reason?: string, error?: string): string {
  const msg = error?.startsWith(`${name}: `) ? error.slice(name.length + 2) : error;
  const cls = reason && reason !== 'unreachable' ? reason : undefined;
  return [cls, msg].filter(Boolean).join(': ') || 'no reason given';
}

export interface FarmFindings {
  versionMismatch: boolean;
  /** Distinct versions and the servers on each. */
  versions: Record<string, string[]>;
  drifted: { server: string; offsetMs: number; level: 'warn' | 'fail' }[];
  unreachable: string[];
}

/** What an admin must hear about: servers on different builds, clocks that drift, servers down. */
export function assessFarm(farm: Farm, probes: readonly ServerProbe[]): FarmFindings {
  const versions: Record<string, string[]> = {};
  const drifted: FarmFindings['drifted'] = [];
  for (const p of probes) {
    const v = p.identity?.product?.version;
    if (v) (versions[v] ??= []).push(p.server.name);
    const off = p.identity?.clock?.offsetMs;
    if (off !== undefined && Math.abs(off) > farm.settings.clockDriftWarnMs)
      drifted.push({ server: p.server.name, offsetMs: off, level: Math.abs(off) > farm.settings.clockDriftFailMs ? 'fail' : 'warn' });
  }
  return {
    versionMismatch: Object.keys(versions).length > 1,
    versions,
    drifted,
    unreachable: probes.filter((p) => !p.reachable).map((p) => p.server.name),
  };
}
