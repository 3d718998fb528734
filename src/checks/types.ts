// The check model: what a prerequisite check is, what it may answer, and what a run reports.
import type { Platform, TransportKind } from '../farm/transports/transport.js';
import type { Role, ServerConfig } from '../farm/schema.js';
import type { CheckContext } from './context.js';

/** error: a failure blocks (exit 1); warning: a failure is reported as a warning only. */
export type Severity = 'error' | 'warning';

export const STATUSES = ['pass', 'warn', 'fail', 'skip', 'error', 'timeout'] as const;
export type Status = (typeof STATUSES)[number];

/**
 * What a check's run function answers. Throwing is allowed: it becomes an `error` result.
 * `error` is "could not check": the check could not look (the raw reason goes in the message), never a pass or a skip.
 */
export interface Outcome {
  status: 'pass' | 'warn' | 'fail' | 'skip' | 'error';
  message: string;
  /** Further lines: what was looked at, per item. */
  details?: string[];
  /** A hint for this particular outcome (replaces the check's general hint). */
  hint?: string;
  /** Servers this check could not look at because they are not reachable: the result then always fails the run. */
  unreachable?: string[];
}

export interface AppliesTo {
  roles?: readonly Role[];
  /** Server platforms. */
  platforms?: readonly Platform[];
  transports?: readonly TransportKind[];
}

interface CheckBase {
  /** Stable dotted id: `server.reachable`. Per-server results add `[SERVER]`. */
  id: string;
  title: string;
  group: string;
  severity: Severity;
  /** Time allowed for one run, including waiting for the shared farm probe. */
  timeoutMs: number | ((ctx: CheckContext) => number);
  /** What to do when it does not pass. */
  hint: string;
}

/** Runs once for the run (this machine, the farm file, the farm as a whole). */
export interface GlobalCheck extends CheckBase {
  scope: 'global';
  /** The check looks at the farm: without a valid farm file it could not check (`error`), it is not skipped. */
  needsFarm?: true;
  /** true, or the reason the check does not apply (it is then skipped). */
  applies?: (ctx: CheckContext) => true | string;
  run(ctx: CheckContext, signal: AbortSignal): Promise<Outcome>;
}

/** Runs once per server of the farm, in farm order. */
export interface ServerCheck extends CheckBase {
  scope: 'server';
  appliesTo?: AppliesTo;
  applies?: (ctx: CheckContext, server: ServerConfig) => true | string;
  /**
   * false for a check that does not look at the server itself (server.reachable, endpoints dialled from
   * this machine). Otherwise the runner probes the server first, and an unreachable server makes the
   * result `error` (could not check), whether or not server.reachable was selected.
   */
  needsServer?: false;
  run(ctx: CheckContext, server: ServerConfig, signal: AbortSignal): Promise<Outcome>;
}

export type CheckDef = GlobalCheck | ServerCheck;

export interface CheckResult {
  /** `farm.valid`, or `server.reachable[APP01]` for a per-server check. */
  id: string;
  /** The definition's id. */
  check: string;
  server?: string;
  group: string;
  title: string;
  severity: Severity;
  status: Status;
  message: string;
  details: string[];
  /** Present for anything but pass and skip. */
  hint?: string;
  /** Servers the check could not look at because they are not reachable (such a result always fails the run). */
  unreachable?: string[];
  durationMs: number;
}

export interface Summary {
  total: number;
  pass: number;
  warn: number;
  fail: number;
  skip: number;
  error: number;
  timeout: number;
  /** Expected servers that could not be reached, and how many results could not check because of it. */
  unreachable: { server: string; results: number }[];
  durationMs: number;
  /** Whether the run should fail a pipeline (exit 1). */
  failed: boolean;
}
