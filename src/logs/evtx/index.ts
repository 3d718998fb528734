// Public API of the streaming .evtx reader (used by collect, incident prefill, check and the CLI).

import { readEvtxRecords, type EvtxSource, type EvtxWarning, type ReadOptions } from './reader.js';
import type { EvtxSystem } from './record.js';
import { LEVEL_NAMES, levelName } from './render.js';
import { runChunks } from './parallel.js';

export type { EvtxWarning, ReadOptions, EvtxSource } from './reader.js';
export type { EvtxSystem } from './record.js';
export { levelName, renderJsonLine, renderXmlRecord } from './render.js';
export { MAX_THREADS, runChunks, type ChunkRunOptions } from './parallel.js';
export type { ChunkJob, ChunkOutcome } from './chunk-work.js';
export type { RecordFilterSpec } from './filter.js';

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

/**
 * Record count, TimeCreated range, counts by level name and provider, and every warning. With
 * opts.threads > 1 a file is decoded on worker threads (see runChunks); the result is the same.
 */
export async function evtxStats(source: EvtxSource, opts: ReadOptions & { threads?: number } = {}): Promise<EvtxStats> {
  const stats: EvtxStats = { records: 0, byLevel: {}, byProvider: {}, warnings: [], chunks: 0, skippedChunks: 0, skippedRecords: 0, degradedRecords: 0, notEvtx: false };
  let first = Infinity;
  let last = -Infinity;
  const outcomes = runChunks(source, { mode: 'stats' }, {
    signal: opts.signal,
    threads: opts.threads,
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
  // Counted in Maps keyed by the level number and provider string (per chunk, merged in file order
  // so that names keep the order they were first seen in), turned into objects at the end.
  const byLevel = new Map<number, number>();
  const byProvider = new Map<string, number>();
  for await (const o of outcomes) {
    const t = o.tally!;
    stats.records += o.records;
    for (const [level, n] of t.byLevel) byLevel.set(level, (byLevel.get(level) ?? 0) + n);
    for (const [provider, n] of t.byProvider) byProvider.set(provider, (byProvider.get(provider) ?? 0) + n);
    if (t.first < first) first = t.first;
    if (t.last > last) last = t.last;
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
