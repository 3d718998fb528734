// The farm file (clk-farm.json): what the farm is and how to reach each server.
// Strict objects everywhere: an unknown key is almost always a typo, and a silently ignored
// typo in a log path means a bundle without the logs SAP asked for.
import { z } from 'zod';
import { compileLinear, UnsupportedPatternError } from '../pattern.js';

import { ROLES, type Role } from './roles.js';
import { nearestWord } from './did-you-mean.js';
export { ROLES, type Role };

const nonEmpty = z.string().min(1, 'must not be empty');
const port = z.number().int().min(1).max(65535);
/** Node timers hold at most 2^31-1 ms; a day is more than any remote call or drift worth waiting for. */
export const MAX_MS = 24 * 60 * 60 * 1000;
const boundedMs = z.number().int().min(1, 'must be at least 1 ms').max(MAX_MS, `must be at most ${MAX_MS} ms (24 h)`);

/**
 * A '..' segment, with / or \\ as separator: configured paths and globs never climb. Windows drops
 * trailing dots and spaces from a segment, so '...' and '.. ' climb there too.
 */
export function climbs(p: string): boolean {
  return p.split(/[\\/]+/).some((seg) => /^\.\.[. ]*$/.test(seg.trim()));
}
/** A path with no '..' segment (server paths, globs, share roots, the state folder). */
const noClimb = nonEmpty.refine((p) => !climbs(p), 'must not contain a ".." segment (paths in the farm file never climb)');

/** A filesystem root: /, C:, C:\\, \\\\host, \\\\host\\ (a UNC path needs a share name to be a folder). */
export function isFilesystemRoot(p: string): boolean {
  const t = p.trim();
  if (/^[\\/]+$/.test(t)) return true;
  if (/^[A-Za-z]:[\\/]*$/.test(t)) return true;
  if (/^(\\\\|\/\/)[^\\/]+[\\/]*$/.test(t)) return true;
  if (/^(\\\\|\/\/)[?.][\\/]+[A-Za-z]:[\\/]*$/.test(t)) return true; // \\?\C:\
  return false;
}
const notRoot = noClimb.refine((p) => !isFilesystemRoot(p), 'must not be a filesystem root (give the share or folder itself, e.g. \\\\APP01\\c$ or /mnt/app01)');

/** A folder every path on the server must stay in (links included); default: the whole filesystem. */
const confineRoot = nonEmpty.optional();

const localTransport = z.strictObject({ type: z.literal('local'), root: confineRoot });

const shareTransport = z.strictObject({
  type: z.literal('share'),
  /** A UNC admin share such as \\APP01\c$, or a mounted path. Relative paths are resolved from the farm file. */
  root: notRoot,
  /** Further drive letters: { "D": "\\\\APP01\\d$" }. The root serves drive C. */
  drives: z.record(z.string().regex(/^[A-Za-z]$/, 'must be a single drive letter'), notRoot).optional(),
});

const sshTransport = z.strictObject({
  type: z.literal('ssh'),
  host: nonEmpty,
  port: port.default(22),
  user: nonEmpty,
  /** Private key file; if absent the SSH agent (SSH_AUTH_SOCK) is used. */
  identityFile: nonEmpty.optional(),
  /** Use the SSH agent even when an identity file is given. */
  agent: z.boolean().optional(),
  /** known_hosts file the host key must be listed in (default ~/.ssh/known_hosts). */
  knownHosts: nonEmpty.optional(),
  root: confineRoot,
});

export const transportSchema = z.discriminatedUnion('type', [localTransport, shareTransport, sshTransport]);
export type TransportConfig = z.infer<typeof transportSchema>;

const versionSource = z.union([
  z.strictObject({
    /** A ClickSoftware binary whose PE version resource carries the version and build. */
    binary: noClimb,
  }),
  z.strictObject({
    /** A text file and a regular expression with named groups `version` and optionally `build`. */
    file: noClimb,
    pattern: nonEmpty.superRefine((p, ctx) => {
      try {
        if (!compileLinear(p).groupNames.includes('version')) ctx.addIssue({ code: 'custom', message: 'must have a named group (?<version>...)' });
      } catch (err) {
        if (!(err instanceof UnsupportedPatternError)) throw err;
        ctx.addIssue({ code: 'custom', message: `must be a regular expression RE2 can run, with a named group (?<version>...): ${err.reason}` });
      }
    }),
  }),
]);

/** The defaults of a Windows server's event logs; a Linux server has none unless the farm file names them. */
export const WINDOWS_EVENT_LOG_DEFAULTS = { eventLogChannels: ['Application', 'System'], eventLogDir: 'C:\\Windows\\System32\\winevt\\Logs' } as const;

const logsSchema = z.strictObject({
  /** Event log channels to collect (Application, System and ClickSoftware's own); default per platform. */
  eventLogChannels: z.array(noClimb).optional(),
  /** Where the .evtx files of those channels live (read directly off Windows); default per platform. */
  eventLogDir: noClimb.optional(),
  /** Performance Monitor output folder (.blg and .csv). */
  perfmonDir: noClimb.optional(),
  /** ClickSoftware Tracer log files, as globs (** and * allowed). */
  tracerGlobs: z.array(noClimb).default([]),
  /** The UTC offset Tracer lines are written in when they carry none (e.g. "+02:00"); default UTC. */
  tracerUtcOffset: z
    .string()
    .regex(/^(Z|UTC|[+-](0\d|1[0-3]):?[0-5]\d|[+-]14:?00)$/, 'must be Z, UTC or an offset within -14:00..+14:00 with minutes below 60, such as +02:00')
    .default('Z'),
});

const licenseLocation = z.strictObject({
  /** The installed license file on this server. */
  path: notRoot,
  /** A command (run on the server) that makes the vendor's own request file, kept as an opaque attachment. */
  vendorRequestCommand: nonEmpty.optional(),
  /** A vendor request file already produced on the server, kept as an opaque attachment. */
  vendorRequestFile: noClimb.optional(),
});

const endpoint = z.strictObject({ name: nonEmpty, host: nonEmpty, port });

const serverObject = z.strictObject({
  name: nonEmpty.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a host name (letters, digits, . _ -)'),
  role: z.enum(ROLES),
  platform: z.enum(['windows', 'linux']).default('windows'),
  transport: transportSchema,
  /** Where ClickSoftware is installed. */
  installRoot: noClimb,
  version: versionSource.optional(),
  logs: logsSchema.prefault({}),
  license: licenseLocation.optional(),
  /** ClickSoftware configuration files to include (redacted) in a bundle, as globs. */
  configGlobs: z.array(noClimb).default([]),
  /** Windows services that must be running (checked with `sc query`). */
  services: z.array(nonEmpty).default([]),
  /** TCP endpoints this server depends on (database, web services). */
  endpoints: z.array(endpoint).default([]),
  /** false: a server listed for completeness that is not expected online (not required by license request). */
  expected: z.boolean().default(true),
});

/**
 * Defaults follow the platform: Windows servers get the Windows event log folder and channels, Linux
 * servers no event logs at all (a Windows path checked on Linux would always fail). Wherever channels
 * are listed, eventLogDir is set.
 */
export const serverSchema = serverObject
  .superRefine((s, ctx) => {
    if (s.platform === 'linux' && s.logs.eventLogChannels?.length && !s.logs.eventLogDir)
      ctx.addIssue({ code: 'custom', path: ['logs', 'eventLogDir'], message: 'is required when eventLogChannels are listed for a linux server (there is no default on Linux)' });
  })
  .transform((s) => {
    const windows = s.platform === 'windows';
    const eventLogChannels = s.logs.eventLogChannels ?? (windows ? [...WINDOWS_EVENT_LOG_DEFAULTS.eventLogChannels] : []);
    const eventLogDir = s.logs.eventLogDir ?? (windows ? WINDOWS_EVENT_LOG_DEFAULTS.eventLogDir : undefined);
    return { ...s, logs: { ...s.logs, eventLogChannels, eventLogDir } };
  });
export type ServerConfig = z.output<typeof serverSchema>;

const trustedKey = z.strictObject({
  /** The key id a signed response names. */
  id: nonEmpty,
  /** Path to an Ed25519 public key (PEM, SPKI), relative to the farm file. */
  publicKeyFile: nonEmpty,
});

/**
 * Ids of the built-in performance thresholds (src/incident/perf-thresholds.ts holds them with their
 * data; the farm may not import it, so the ids are listed here and a test keeps both in step).
 */
export const PERF_THRESHOLD_IDS = [
  'cpu.busy',
  'cpu.saturated',
  'memory.available-low',
  'memory.committed-high',
  'disk.read-latency',
  'disk.write-latency',
  'disk.queue-length',
  'disk.free-space-low',
  'disk.free-space-critical',
  'paging.pages-high',
  'paging.file-usage',
  'process.handle-growth',
  'process.thread-growth',
  'process.private-bytes-growth',
  'dotnet.gc-time',
  'dotnet.exceptions',
  'aspnet.requests-queued',
  'aspnet.application-queue',
  'sql.blocked-processes',
  'sql.page-life-expectancy',
  'sql.lock-wait-time',
] as const;

/** Families an extra threshold may belong to: the built-in ones, and custom. */
const PERF_FAMILIES: readonly string[] = [...new Set([...PERF_THRESHOLD_IDS.map((id) => id.slice(0, id.indexOf('.'))), 'custom'])];

/** Longest counter pattern of an extra threshold; matching is a linear wildcard match, never a regex. */
export const MAX_PERF_COUNTER_PATTERN = 512;
/** A week: longer than any perfmon log a bundle carries. */
const MAX_SUSTAIN_MS = 7 * MAX_MS;
const sustainMs = z.number().int().min(0, 'must be at least 0 ms').max(MAX_SUSTAIN_MS, `must be at most ${MAX_SUSTAIN_MS} ms (7 days)`);
/** z.number() already refuses NaN and Infinity; the bound keeps a typo from being a silent never-fires. */
const perfLimit = z.number().min(-1e15).max(1e15);
const perfSeverity = z.enum(['warning', 'critical']);

const perfOverride = z.strictObject({
  id: z.string().superRefine((id, ctx) => {
    if ((PERF_THRESHOLD_IDS as readonly string[]).includes(id)) return;
    const near = nearestWord(id, PERF_THRESHOLD_IDS, 3);
    ctx.addIssue({ code: 'custom', message: `unknown threshold "${id.slice(0, 80)}"${near ? ` (did you mean "${near}"?)` : ''}; docs/perf-findings.md lists the ids` });
  }),
  limit: perfLimit.optional(),
  sustainMs: sustainMs.optional(),
  severity: perfSeverity.optional(),
  enabled: z.boolean().optional(),
});

/** A counter pattern: \\Object(Instance)\\Counter without the machine, * and ? as wildcards. */
const counterPattern = z
  .string()
  .min(3)
  .max(MAX_PERF_COUNTER_PATTERN, `must be at most ${MAX_PERF_COUNTER_PATTERN} characters`)
  .refine((p) => /^\\[^\\]+.*\\[^\\]+$/.test(p) && !p.startsWith('\\\\'), 'must be a counter path without the machine, such as \\Process(*)\\Handle Count');

const perfExtra = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$/, 'must be a dotted id in lower case, such as "custom.w6-queue" (the family comes first)')
    .max(80)
    .refine((id) => !(PERF_THRESHOLD_IDS as readonly string[]).includes(id), 'is a built-in threshold id: tune it under perf.thresholds instead')
    .refine((id) => PERF_FAMILIES.includes(id.slice(0, id.indexOf('.'))), `must start with a family (${PERF_FAMILIES.join(', ')}) and a dot: the check perf.<family> reports it`),
  counter: counterPattern,
  test: z.enum(['above', 'below', 'growth']),
  limit: perfLimit,
  sustainMs,
  severity: perfSeverity,
  explanation: z.string().min(1).max(300),
});

const perfSchema = z
  .strictObject({
    /** Tuning of the built-in thresholds, by id. */
    thresholds: z.array(perfOverride).max(200).default([]),
    /** Further thresholds, in full. */
    extra: z.array(perfExtra).max(200).default([]),
  })
  .superRefine((perf, ctx) => {
    const seen = new Set<string>();
    perf.extra.forEach((t, i) => {
      if (seen.has(t.id)) ctx.addIssue({ code: 'custom', path: ['extra', i, 'id'], message: `duplicates another extra threshold "${t.id}"` });
      seen.add(t.id);
    });
  });
export type PerfConfig = z.infer<typeof perfSchema>;

/** An IANA zone name Intl knows, UTC, or a fixed offset (+02:00, -0530). */
function isTimeZone(zone: string): boolean {
  if (/^(?:Z|UTC|GMT)$/i.test(zone) || /^(?:UTC|GMT)?[+-]\d{1,2}(?::?\d{2})?$/i.test(zone)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const farmSchema = z
  .strictObject({
    $schema: z.string().optional(),
    formatVersion: z.literal(1),
    farm: z.strictObject({
      name: nonEmpty,
      customerNumber: z.string().regex(/^\d{1,10}$/, 'must be the SAP customer number (digits)'),
      installationNumber: z.string().regex(/^\d{10}$/, 'must be the 10-digit SAP installation number'),
      systemId: z.string().regex(/^[A-Z][A-Z0-9]{2}$/, 'must be a 3-character SAP system ID such as FSP'),
      environment: z.enum(['production', 'test']),
      product: nonEmpty.default('SAP Field Service / ClickSoftware Service Optimization'),
    }),
    settings: z
      .strictObject({
        connectTimeoutMs: boundedMs.default(5000),
        timeoutMs: boundedMs.default(60_000),
        concurrency: z.number().int().min(1).max(64).default(8),
        clockDriftWarnMs: boundedMs.default(5000),
        clockDriftFailMs: boundedMs.default(60_000),
        licenseExpiryWarnDays: z.number().int().min(0).default(30),
        /** Fingerprint components that must match for a license to hold (of those recorded). */
        fingerprintMinMatches: z.number().int().min(1).default(2),
        /** Zone for times typed without one (--from/--to/--around); --tz overrides it; absent: UTC. */
        timeZone: z
          .string()
          .refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin, UTC, or an offset such as +02:00')
          .optional(),
      })
      .default({
        connectTimeoutMs: 5000,
        timeoutMs: 60_000,
        concurrency: 8,
        clockDriftWarnMs: 5000,
        clockDriftFailMs: 60_000,
        licenseExpiryWarnDays: 30,
        fingerprintMinMatches: 2,
      }),
    license: z
      .strictObject({
        trustedKeys: z.array(trustedKey).default([]),
        /** Where requests, backups and the apply log are kept on this machine (relative to the farm file). */
        stateDir: notRoot.default('.clk-support'),
      })
      .default({ trustedKeys: [], stateDir: '.clk-support' }),
    /** Performance findings: tune the built-in thresholds, add others (docs/perf-findings.md). */
    perf: perfSchema.default({ thresholds: [], extra: [] }),
    servers: z.array(serverSchema).min(1, 'must list at least one server'),
  })
  .superRefine((farm, ctx) => {
    const seen = new Map<string, number>();
    farm.servers.forEach((s, i) => {
      const key = s.name.toLowerCase();
      const prev = seen.get(key);
      if (prev !== undefined)
        ctx.addIssue({ code: 'custom', path: ['servers', i, 'name'], message: `duplicates servers[${prev}].name "${s.name}"` });
      seen.set(key, i);
    });
  });

export type FarmFile = z.infer<typeof farmSchema>;
