// What the Windows event logs say about an incident: error and critical events in the window (when
// they start, which users they name), and what was installed or updated before and during it
// (MsiInstaller, Windows Update, servicing, new services, restarts).
import { readEvtx, type EvtxRecord } from '../logs/evtx/index.js';
import { joinServerPath } from '../farm/paths.js';
import type { Transport } from '../farm/transports/transport.js';
import { LICENSE_PATTERN, normaliseUser } from './tracer-errors.js';
import { BucketCounts, type Bucketing } from './buckets.js';

export interface EventErrorSummary {
  /** Error (2) and Critical (1) events in the window. */
  errorEvents: number;
  licenseEvents: number;
  first?: { ms: number; channel: string; provider: string; eventId: number };
  /** Normalised user -> events naming them (user SIDs of domain/local accounts and user-name data fields). */
  users: Map<string, number>;
  /** "Provider/EventID" -> count, for the description. */
  sources: Map<string, number>;
  /** Error events and their users per time bucket, when asked for (the incident timeline). */
  buckets?: BucketCounts;
}

export type ChangeKind =
  | 'msi-install'
  | 'msi-remove'
  | 'msi-update'
  | 'msi-failed'
  | 'windows-update'
  | 'windows-update-failed'
  | 'servicing'
  | 'service-installed'
  | 'restart'
  | ServiceStateKind;

/** A service entering the running or stopped state (frequent: only the timeline asks for them). */
export type ServiceStateKind = 'service-start' | 'service-stop';

export interface ChangeEvent {
  ms: number;
  kind: ChangeKind;
  what: string;
  channel: string;
  provider: string;
  eventId: number;
}

/** Event IDs that mean software changed on the server. */
export function classifyChange(r: Pick<EvtxRecord, 'system' | 'data'>): { kind: ChangeKind; what: string } | undefined {
  const { provider, eventId } = r.system;
  const d = r.data;
  const first = (...keys: string[]) => {
    for (const k of keys) {
      const v = d[k];
      if (v !== undefined && v !== null && String(v).trim() !== '') return String(v).trim();
    }
    return '';
  };
  if (provider === 'MsiInstaller') {
    const product = first('ProductName', 'Data[0]', 'param1', 'Data0') || 'a Windows Installer product';
    const version = first('ProductVersion', 'Data[1]', 'param2');
    const label = version && /^\d/.test(version) ? `${product} ${version}` : product;
    if (eventId === 11707 || eventId === 1033) return { kind: 'msi-install', what: label };
    if (eventId === 11724 || eventId === 1034) return { kind: 'msi-remove', what: label };
    if (eventId === 1022 || eventId === 1035 || eventId === 1036) return { kind: 'msi-update', what: label };
    if (eventId === 11708 || eventId === 11725) return { kind: 'msi-failed', what: label };
    return undefined;
  }
  if (provider === 'Microsoft-Windows-WindowsUpdateClient') {
    const title = first('updateTitle', 'Data[0]') || 'an update';
    if (eventId === 19) return { kind: 'windows-update', what: title };
    if (eventId === 20) return { kind: 'windows-update-failed', what: title };
    return undefined;
  }
  if (provider === 'Microsoft-Windows-Servicing' && (eventId === 2 || eventId === 4)) {
    return { kind: 'servicing', what: first('PackageIdentifier', 'Data[0]') || 'a Windows package' };
  }
  if (provider === 'Service Control Manager' && eventId === 7045) {
    return { kind: 'service-installed', what: first('ServiceName', 'param1') || 'a service' };
  }
  if (provider === 'Service Control Manager' && eventId === 7036) {
    const state = serviceState(d);
    return state && { kind: state, what: `${first('param1', 'Data[0]') || 'a service'} ${state === 'service-start' ? 'running' : 'stopped'}` };
  }
  if (provider === 'User32' && eventId === 1074) {
    return { kind: 'restart', what: `restart by ${first('param1', 'Data[0]') || 'a process'}: ${first('param3', 'Data[2]')}`.replace(/: $/, '') };
  }
  if (provider === 'EventLog' && eventId === 6005) return { kind: 'restart', what: 'system started (event log service started)' };
  return undefined;
}

/**
 * Event 7036 "The X service entered the running/stopped state": the binary data holds
 * "ServiceName/<state>" in UTF-16 (4 running, 1 stopped) whatever the language; param2 is the
 * state's name in the server's language (read only when it is English).
 */
function serviceState(d: Record<string, unknown>): ServiceStateKind | undefined {
  const bin = d.Binary;
  if (typeof bin === 'string' && /^[0-9a-f]+$/i.test(bin) && bin.length % 4 === 0 && bin.length <= 2048) {
    const m = /\/(\d+)\0*$/.exec(Buffer.from(bin, 'hex').toString('utf16le'));
    if (m?.[1] === '4') return 'service-start';
    if (m?.[1] === '1') return 'service-stop';
  }
  const text = String(d.param2 ?? d['Data[1]'] ?? '').trim().toLowerCase();
  if (text === 'running') return 'service-start';
  if (text === 'stopped') return 'service-stop';
  return undefined;
}

/** SIDs of real accounts (domain or local users, S-1-5-21-...), not SYSTEM, LOCAL SERVICE and the like. */
export function isUserSid(sid: string | undefined): sid is string {
  return !!sid && /^S-1-5-21-\d+-\d+-\d+-\d+$/i.test(sid) && !/-50[0-2]$/.test(sid);
}

const USER_FIELDS = ['TargetUserName', 'UserName', 'User', 'AccountName'];

/** The users an error event names: its user SID and user-name data fields (machine accounts and SYSTEM left out). */
export function eventUsers(r: Pick<EvtxRecord, 'system' | 'data'>): string[] {
  const out = new Set<string>();
  if (isUserSid(r.system.userSid)) out.add(r.system.userSid.toUpperCase());
  for (const k of USER_FIELDS) {
    const v = r.data[k];
    if (typeof v !== 'string' || !v.trim() || v === '-' || v.endsWith('$')) continue;
    if (/^(system|local service|network service|anonymous logon)$/i.test(v.trim())) continue;
    if (/^S-1-/i.test(v)) {
      if (isUserSid(v)) out.add(v.toUpperCase());
    } else out.add(normaliseUser(v));
  }
  return [...out];
}

/** The .evtx file Windows keeps a channel in: "/" in a channel name becomes "%4" in the file name. */
export function channelFile(t: Pick<Transport, 'platform'>, eventLogDir: string, channel: string): string {
  return joinServerPath(t.platform, eventLogDir, `${channel.replace(/\//g, '%4')}.evtx`);
}

export interface EventScanOptions {
  fromMs: number;
  toMs: number;
  /** Changes are looked for from here (before the window) to toMs. */
  changesFromMs: number;
  clockOffsetMs: number;
  /** Also report services starting and stopping (7036) as changes. */
  serviceStates?: boolean;
  /** Also count error events per time bucket. */
  bucketing?: Bucketing;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
}

export interface EventScanResult {
  errors: EventErrorSummary;
  changes: ChangeEvent[];
  records: number;
}

export function emptyEventErrors(bucketing?: Bucketing): EventErrorSummary {
  return { errorEvents: 0, licenseEvents: 0, users: new Map(), sources: new Map(), buckets: bucketing && new BucketCounts(bucketing) };
}

/** Scan one channel's records (any stream of them) into result. */
export async function scanEventRecords(records: AsyncIterable<EvtxRecord>, channel: string, opts: EventScanOptions, result: EventScanResult): Promise<void> {
  for await (const r of records) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    result.records++;
    const created = r.system.timeCreated?.getTime();
    if (created === undefined || Number.isNaN(created)) continue;
    const ms = created - opts.clockOffsetMs;
    if (ms > opts.toMs || ms < Math.min(opts.fromMs, opts.changesFromMs)) continue;
    const change = classifyChange(r);
    if (change && ms >= opts.changesFromMs && (opts.serviceStates || (change.kind !== 'service-start' && change.kind !== 'service-stop'))) {
      result.changes.push({ ms, ...change, channel, provider: r.system.provider, eventId: r.system.eventId });
    }
    if (ms < opts.fromMs) continue;
    if (r.system.level === 1 || r.system.level === 2) {
      const e = result.errors;
      e.errorEvents++;
      const key = `${r.system.provider}/${r.system.eventId}`;
      e.sources.set(key, (e.sources.get(key) ?? 0) + 1);
      if (LICENSE_PATTERN.test(r.system.provider) || Object.values(r.data).some((v) => typeof v === 'string' && LICENSE_PATTERN.test(v))) e.licenseEvents++;
      const users = eventUsers(r);
      for (const u of users) e.users.set(u, (e.users.get(u) ?? 0) + 1);
      e.buckets?.add(ms, users);
      if (!e.first || ms < e.first.ms) e.first = { ms, channel, provider: r.system.provider, eventId: r.system.eventId };
    }
  }
}

/** An event log channel's file, readable as a stream of bytes (from a server or out of a bundle). */
export interface ChannelFile {
  channel: string;
  open(signal?: AbortSignal): AsyncIterable<Buffer>;
}

/** Scan the server's event log channels; a channel without a file is listed as missing, not a failure. */
export async function scanServerEvents(server: string, channels: readonly ChannelFile[], missing: readonly string[], opts: EventScanOptions): Promise<EventScanResult & { channelsRead: string[]; channelsMissing: string[] }> {
  const result: EventScanResult = { errors: emptyEventErrors(opts.bucketing), changes: [], records: 0 };
  const channelsRead: string[] = [];
  for (const c of channels) {
    await scanEventRecords(readEvtx(c.open(opts.signal), { signal: opts.signal, onWarning: (w) => opts.onWarning?.(`${server} ${c.channel}: ${w.reason}`) }), c.channel, opts, result);
    channelsRead.push(c.channel);
  }
  return { ...result, channelsRead, channelsMissing: [...missing] };
}
