// Public API of the streaming .evtx reader (used by collect, incident prefill, check and the CLI).

import { readEvtxRecords, type EvtxSource, type EvtxWarning, type ReadOptions } from './reader.js';
import type { EvtxSystem } from './record.js';
import { fastIso } from './values.js';

export type { EvtxWarning, ReadOptions, EvtxSource } from './reader.js';
export type { EvtxSystem } from './record.js';

export interface EvtxRecord {
  recordId: bigint | number;
  /** Record header time (when written), not the event time: use system.timeCreated for windows. */
  writtenTime: Date;
  system: EvtxSystem;
  /** EventData Data Name=value (unnamed: Data[0], Data[1]...) and UserData leaf values. */
  data: Record<string, unknown>;
  /** Rendered XML of the record, like evtxexport -f xml output. */
  xml(): string;
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

function jsonReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** One JSON object per line: record id, times (ISO), System fields and data. */
export function renderJsonLine(r: EvtxRecord): string {
  // Built by hand: one JSON.stringify over the whole object was the single largest cost of `evtx dump`.
  const s = r.system;
  let out = `{"recordId":${typeof r.recordId === 'bigint' ? `"${r.recordId}"` : r.recordId}`;
  out += `,"timeCreated":${isoOrNull(s.timeCreated)},"writtenTime":${isoOrNull(r.writtenTime)}`;
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
  out += ',"data":{';
  const data = r.data;
  let first = true;
  for (const key in data) {
    out += `${first ? '' : ','}${jsonKey(key)}${jsonValue(data[key])}`;
    first = false;
  }
  return out + '}}';
}

// Data names come from template definitions and repeat on every record of their event type.
const keyCache = new Map<string, string>();

function jsonKey(key: string): string {
  let k = keyCache.get(key);
  if (k === undefined) {
    k = `${JSON.stringify(key)}:`;
    if (keyCache.size > 4096) keyCache.clear();
    keyCache.set(key, k);
  }
  return k;
}

function isoOrNull(d: Date | undefined): string {
  return d && !Number.isNaN(d.getTime()) ? `"${fastIso(d)}"` : 'null';
}

// Most strings need no escaping; a regex test is about twice as fast as JSON.stringify on them.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function jsonValue(v: unknown): string {
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `"${v}"`;
  if (typeof v === 'bigint') return `"${v}"`;
  return JSON.stringify(v, jsonReplacer) ?? 'null';
}

export interface EvtxStats {
  records: number;
  first?: Date;
  last?: Date;
  byLevel: Record<string, number>;
  byProvider: Record<string, number>;
  warnings: EvtxWarning[];
  /** Chunks read; skippedChunks counts damaged slots (all-zero preallocated slots are in neither). */
  chunks: number;
  skippedChunks: number;
}

/** Record count, TimeCreated range, counts by level name and provider, and every warning. */
export async function evtxStats(source: EvtxSource, opts: ReadOptions = {}): Promise<EvtxStats> {
  const stats: EvtxStats = { records: 0, byLevel: {}, byProvider: {}, warnings: [], chunks: 0, skippedChunks: 0 };
  let first = Infinity;
  let last = -Infinity;
  const it = readEvtxRecords(source, {
    signal: opts.signal,
    onWarning: (w) => {
      stats.warnings.push(w);
      opts.onWarning?.(w);
    },
    onChunk: (index, status) => {
      if (status === 'ok') stats.chunks++;
      else if (status === 'bad') stats.skippedChunks++;
      opts.onChunk?.(index, status);
    },
  });
  for await (const r of it) {
    stats.records++;
    const level = levelName(r.system.level);
    stats.byLevel[level] = (stats.byLevel[level] ?? 0) + 1;
    stats.byProvider[r.system.provider] = (stats.byProvider[r.system.provider] ?? 0) + 1;
    const t = r.system.timeCreated?.getTime();
    if (t !== undefined && !Number.isNaN(t)) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
  }
  if (first !== Infinity) stats.first = new Date(first);
  if (last !== -Infinity) stats.last = new Date(last);
  return stats;
}
