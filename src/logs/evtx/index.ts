// Public API of the streaming .evtx reader (used by collect, incident prefill, check and the CLI).

import { readEvtxRecords, type EvtxSource, type EvtxWarning, type ReadOptions } from './reader.js';
import { EvtxRecordImpl, type EvtxSystem } from './record.js';
import { jsonObject, jsonString } from './json.js';
import { fastIsoMs } from './values.js';

export type { EvtxWarning, ReadOptions, EvtxSource } from './reader.js';
export type { EvtxSystem } from './record.js';

export interface EvtxRecord {
  /** System/EventRecordID (what Windows shows and SAP notes cite); the header's number if absent. */
  recordId: bigint | number;
  /** The record header's number. It equals EventRecordID in live logs, not in filtered/exported ones. */
  headerRecordId?: bigint | number;
  /** Record header time (when written), not the event time: use system.timeCreated for windows. */
  writtenTime: Date;
  system: EvtxSystem;
  /** EventData Data Name=value (unnamed: Data[0], Data[1]...) and UserData leaf values. */
  data: Record<string, unknown>;
  /** Rendered XML of the record, like evtxexport -f xml output. */
  xml(): string;
  /** Carved from chunk slack (readEvtx with recover: true), not a record the log lists. */
  recovered?: boolean;
}

/**
 * Streams the records of an .evtx file (path) or byte stream (any AsyncIterable of buffers, e.g. a
 * Node Readable from SFTP). Only one 64 KiB chunk is held at a time (plus whatever records the
 * caller keeps: each pins its chunk). Bad data never throws: skipped pieces are reported through
 * opts.onWarning. I/O errors (missing file, broken stream) and opts.signal aborts do reject.
 * Records come in physical order (a wrapped log's oldest chunk can be mid-file), so sort or use
 * min/max of system.timeCreated.
 */
export function readEvtx(source: EvtxSource, opts?: ReadOptions): AsyncGenerator<EvtxRecord> {
  return readEvtxRecords(source, opts);
}

const LEVEL_NAMES: Record<number, string> = {
  0: 'LogAlways',
  1: 'Critical',
  2: 'Error',
  3: 'Warning',
  4: 'Information',
  5: 'Verbose',
};

export function levelName(level: number): string {
  return LEVEL_NAMES[level] ?? `Level${level}`;
}

/** Parses "2", "error", "Error,Warning" or "1,2" into level numbers; undefined for an unknown name. */
export function parseLevels(spec: string): number[] | undefined {
  const out: number[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (/^\d+$/.test(part)) out.push(Number(part));
    else {
      const hit = Object.entries(LEVEL_NAMES).find(([, name]) => name.toLowerCase() === part.toLowerCase());
      if (!hit) return undefined;
      out.push(Number(hit[0]));
    }
  }
  return out;
}

/**
 * One JSON object per line: recordId (System/EventRecordID), headerRecordId (the record header's
 * number), times (ISO; timeCreated with Windows' 7 fraction digits), System fields and data.
 */
export function renderJsonLine(r: EvtxRecord): string {
  const s = r.system;
  let out = `{"recordId":${idJson(r.recordId)}`;
  if (r.headerRecordId !== undefined) out += `,"headerRecordId":${idJson(r.headerRecordId)}`;
  const impl = r instanceof EvtxRecordImpl ? r : undefined;
  const created = impl?.timeCreatedText();
  const written = impl ? isoOfMs(impl.writtenMs) : isoOrNull(r.writtenTime);
  out += `,"timeCreated":${created !== undefined ? `"${created}"` : isoOrNull(s.timeCreated)},"writtenTime":${written}`;
  out += `,"provider":${jsonString(s.provider)}`;
  if (s.providerGuid !== undefined) out += `,"providerGuid":${jsonString(s.providerGuid)}`;
  out += `,"eventId":${s.eventId},"level":${s.level},"levelName":"${levelName(s.level)}"`;
  if (s.task !== undefined) out += `,"task":${s.task}`;
  if (s.opcode !== undefined) out += `,"opcode":${s.opcode}`;
  if (s.keywords !== undefined) out += `,"keywords":${jsonString(s.keywords)}`;
  out += `,"computer":${jsonString(s.computer)},"channel":${jsonString(s.channel)}`;
  if (s.userSid !== undefined) out += `,"userSid":${jsonString(s.userSid)}`;
  if (s.processId !== undefined) out += `,"processId":${s.processId}`;
  if (s.threadId !== undefined) out += `,"threadId":${s.threadId}`;
  // Records of this reader render their data straight from the chunk bytes, without the object.
  if (r.recovered) out += ',"recovered":true';
  return `${out},"data":${r instanceof EvtxRecordImpl ? r.dataJson() : jsonObject(r.data)}}`;
}

function idJson(id: bigint | number): string {
  return typeof id === 'bigint' ? `"${id}"` : String(id);
}

function isoOrNull(d: Date | undefined): string {
  return d ? isoOfMs(d.getTime()) : 'null';
}

function isoOfMs(ms: number): string {
  // The same range as a Date: a FILETIME beyond it renders as null, as an Invalid Date would.
  return Math.abs(ms) <= 8.64e15 ? `"${fastIsoMs(ms)}"` : 'null';
}

export interface EvtxStats {
  records: number;
  first?: Date;
  last?: Date;
  byLevel: Record<string, number>;
  byProvider: Record<string, number>;
  warnings: EvtxWarning[];
  /**
   * Chunks read; skippedChunks counts damaged slots: bad magic, truncated, or zeroed while the header
   * counts them or a later chunk follows (all-zero preallocated slots at the end are in neither).
   */
  chunks: number;
  skippedChunks: number;
  /** Records left out (their BinXml or template is unreadable), each reported in warnings. */
  skippedRecords: number;
  /** Records given without a damaged part (a nested BinXml value), each reported in warnings. */
  degradedRecords: number;
  /** The input is not an .evtx file at all (empty, text, another format). */
  notEvtx: boolean;
}

/** Record count, TimeCreated range, counts by level name and provider, and every warning. */
export async function evtxStats(source: EvtxSource, opts: ReadOptions = {}): Promise<EvtxStats> {
  const stats: EvtxStats = { records: 0, byLevel: {}, byProvider: {}, warnings: [], chunks: 0, skippedChunks: 0, skippedRecords: 0, degradedRecords: 0, notEvtx: false };
  let first = Infinity;
  let last = -Infinity;
  const it = readEvtxRecords(source, {
    signal: opts.signal,
    onWarning: (w) => {
      stats.warnings.push(w);
      if (w.record === 'skipped') stats.skippedRecords++;
      else if (w.record === 'degraded') stats.degradedRecords++;
      if (w.notEvtx) stats.notEvtx = true;
      opts.onWarning?.(w);
    },
    onChunk: (index, status) => {
      if (status === 'ok') stats.chunks++;
      else if (status === 'bad') stats.skippedChunks++;
      opts.onChunk?.(index, status);
    },
  });
  // Counted in Maps keyed by the level number and provider string, turned into objects at the end:
  // cheaper per record than name lookups and string-keyed object properties.
  const byLevel = new Map<number, number>();
  const byProvider = new Map<string, number>();
  for await (const r of it) {
    stats.records++;
    const s = r.system;
    byLevel.set(s.level, (byLevel.get(s.level) ?? 0) + 1);
    byProvider.set(s.provider, (byProvider.get(s.provider) ?? 0) + 1);
    const t = s.timeCreated?.getTime();
    if (t !== undefined && !Number.isNaN(t)) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
  }
  for (const [level, n] of byLevel) {
    const name = levelName(level);
    stats.byLevel[name] = (stats.byLevel[name] ?? 0) + n;
  }
  for (const [provider, n] of byProvider) stats.byProvider[provider] = n;
  if (first !== Infinity) stats.first = new Date(first);
  if (last !== -Infinity) stats.last = new Date(last);
  return stats;
}
