// What every check sees: the farm (or why it could not be loaded), this machine, and the farm's
// servers probed once, lazily, with the result shared by every check that needs it.
import pLimit from 'p-limit';
import type { Farm } from '../farm/load.js';
import type { ServerConfig } from '../farm/schema.js';
import { probeServer, type ServerProbe } from '../farm/probe.js';
import { createTransport } from '../farm/transports/index.js';
import type { ExecResult, Transport } from '../farm/transports/transport.js';
import type { Outcome } from './types.js';
import type { TimeWindow } from '../logs/window.js';

/** This machine, as the checks see it; replaceable so that Windows-only paths are testable anywhere. */
export interface Host {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** The effective user id on POSIX. */
  uid?: number;
  nodeVersion: string;
  /** Run a program on this machine; never rejects for a non-zero exit. */
  run(command: string, args: readonly string[], opts: { timeoutMs: number; signal?: AbortSignal }): Promise<ExecResult>;
}

export function currentHost(env: NodeJS.ProcessEnv = process.env): Host {
  return {
    platform: process.platform,
    env,
    uid: typeof process.getuid === 'function' ? process.getuid() : undefined,
    nodeVersion: process.versions.node,
    run: async (command, args, opts) => {
      const { execa } = await import('execa'); // loaded when a program is run, not at start-up
      const r = await execa(command, [...args], {
        reject: false,
        timeout: opts.timeoutMs,
        cancelSignal: opts.signal,
        env,
        stripFinalNewline: false,
        windowsHide: true,
      });
      if (r.exitCode === undefined) throw new Error(`${command}: ${r.originalMessage || r.shortMessage}`);
      return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
  };
}

export interface CheckOptions {
  /** Where a bundle would be written (free disk is measured there). */
  outputDir: string;
  /** Free bytes a bundle needs. */
  minFreeBytes: number;
  /** Tracer logging counts as active when its newest line is at most this old. */
  tracerMaxAgeHours: number;
  /** The perf.* checks' window (UTC, after each server's clock correction); absent: the last 24 h of each perfmon file. */
  perfWindow?: TimeWindow;
  /** The version clk-support declares, and the Node range it needs (package.json). */
  toolVersion: string;
  nodeRange: string;
}

export interface ContextInit {
  farm?: Farm;
  /** Why the farm file could not be used (then `farm` is undefined). */
  farmError?: { message: string; hint?: string };
  /** The farm file that was asked for, when known. */
  farmFile?: string;
  /** The servers to check (default: all of the farm). */
  servers?: readonly ServerConfig[];
  host?: Host;
  options: CheckOptions;
  /** Clock of this machine, replaceable in tests. */
  now?: () => Date;
}

export class CheckContext {
  readonly farm?: Farm;
  readonly farmError?: { message: string; hint?: string };
  readonly farmFile?: string;
  readonly servers: readonly ServerConfig[];
  readonly host: Host;
  readonly options: CheckOptions;
  readonly now: () => Date;
  private readonly probes = new Map<string, Promise<ServerProbe>>();
  private readonly transports = new Map<string, Transport>();
  private readonly memo = new Map<string, Promise<unknown>>();
  /** Every transport made, connected or still connecting, so that Ctrl-C can cut them all. */
  private readonly made = new Set<Transport>();
  private readonly limit: ReturnType<typeof pLimit>;
  private closed = false;

  constructor(init: ContextInit) {
    this.farm = init.farm;
    this.farmError = init.farmError;
    this.farmFile = init.farm?.file ?? init.farmFile;
    this.servers = init.servers ?? init.farm?.servers ?? [];
    this.host = init.host ?? currentHost();
    this.options = init.options;
    this.now = init.now ?? (() => new Date());
    this.limit = pLimit(init.farm?.settings.concurrency ?? 8);
  }

  /** The farm; only checks that apply when it loaded may call this. */
  get loadedFarm(): Farm {
    if (!this.farm) throw new Error(`the farm file is not valid: ${this.farmError?.message ?? 'not loaded'}`);
    return this.farm;
  }

  /**
   * Reach a server once per run (connect, identity, version, clock) and share the answer.
   * The probe is not tied to the asking check's signal: other checks wait on the same probe.
   */
  probe(server: ServerConfig): Promise<ServerProbe> {
    let p = this.probes.get(server.name);
    if (!p) {
      const farm = this.loadedFarm;
      p = this.limit(async () => {
        const t = createTransport(farm, server);
        this.made.add(t);
        const probe = await probeServer(farm, server, t);
        if (probe.reachable && !this.closed) this.transports.set(server.name, t);
        else await t.close().catch(() => {});
        return probe;
      });
      this.probes.set(server.name, p);
    }
    return p;
  }

  /** The open transport of a reachable server, or the probe's reason it is not reachable. */
  async reach(server: ServerConfig): Promise<{ probe: ServerProbe; transport?: Transport }> {
    const probe = await this.probe(server);
    return { probe, transport: this.transports.get(server.name) };
  }

  /** A farm-wide fact computed once for every check that asks (the license report...). */
  shared<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = compute();
      this.memo.set(key, p);
    }
    return p;
  }

  /** The server's clock now (this machine's clock plus the measured offset). */
  serverNow(probe: ServerProbe): Date {
    return new Date(this.now().getTime() + (probe.identity?.clock?.offsetMs ?? 0));
  }

  /** With abandon (Ctrl-C), probes still in flight are not waited for: the process is about to exit. */
  async close(opts: { abandon?: boolean } = {}): Promise<void> {
    this.closed = true;
    // Otherwise probes still in flight are awaited so that no connection outlives the run.
    if (!opts.abandon) await Promise.allSettled([...this.probes.values(), ...this.memo.values()]);
    // A connection still being set up would keep the process alive until its own timeout.
    await Promise.allSettled([...this.made].map((t) => t.close()));
    this.made.clear();
    this.transports.clear();
  }
}

/**
 * What a per-server check answers when its server cannot be reached: it could not look (`error`,
 * always failing the run), or, for a server listed with "expected": false, it does not apply.
 */
export function unreachableOutcome(probe: ServerProbe): Outcome {
  const name = probe.server.name;
  if (!probe.server.expected)
    return { status: 'skip', message: `${name} is not reachable and is listed with "expected": false (not expected online)` };
  return {
    status: 'error',
    message: `could not check: ${name} is not reachable${probe.reason && probe.reason !== 'unreachable' ? ` (${probe.reason})` : ''}`,
    details: [probe.error ?? 'no detail', `see server.reachable[${name}]`],
    hint: probe.hint ?? `bring ${name} up (or fix how the farm file reaches it) and run the check again`,
    unreachable: [name],
  };
}
