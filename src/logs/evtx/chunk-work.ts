// What `evtx dump` and `evtx stats` do with one chunk, self-contained (a chunk carries its own string
// and template tables): parse its records, filter, and either encode their text as UTF-8 or tally
// them. Runs on the main thread or on a decoding thread (evtx-worker.ts); the result is plain data.

import { recordFilter, type RecordFilterSpec } from './filter.js';
import { readChunk, type ChunkStatus, type EvtxWarning, type Slot } from './reader.js';
import { renderXmlRecord, writeJsonLine } from './render.js';
import { ByteOut } from './byte-out.js';
import type { StatsOf } from './record.js';

export interface ChunkJob {
  mode: 'jsonl' | 'xml' | 'stats';
  filter?: RecordFilterSpec;
  /** Only records carved from chunk slack (see ReadOptions.recover). */
  recover?: boolean;
}

/** Record counts and TimeCreated range of one chunk (`evtx stats`), merged in file order. */
export interface ChunkTally {
  byLevel: Map<number, number>;
  byProvider: Map<string, number>;
  /** Earliest and latest TimeCreated in ms (Infinity / -Infinity: none). */
  first: number;
  last: number;
}

export interface ChunkOutcome {
  status: ChunkStatus;
  /** The chunk's own warnings, in the order found. */
  warnings: EvtxWarning[];
  /** Records read, before the filter. */
  records: number;
  /** jsonl / xml: UTF-8 text of the records kept, each ending in a newline. */
  bytes?: Uint8Array;
  tally?: ChunkTally;
}

/** Parses chunk slot `slot` (chunk `index` at `fileOffset`) and does `job` with its records. */
export function processChunk(job: ChunkJob, slot: Slot, index: number, fileOffset: number): ChunkOutcome {
  const warnings: EvtxWarning[] = [];
  const keep = recordFilter(job.filter);
  const it = readChunk(slot, index, fileOffset, (w) => warnings.push(w), job.recover);
  let records = 0;
  if (job.mode === 'stats') {
    const tally: ChunkTally = { byLevel: new Map(), byProvider: new Map(), first: Infinity, last: -Infinity };
    const s: StatsOf = { level: 0, provider: '', timeMs: NaN };
    let r = it.next();
    while (!r.done) {
      records++;
      r.value.statsInto(s);
      tally.byLevel.set(s.level, (tally.byLevel.get(s.level) ?? 0) + 1);
      tally.byProvider.set(s.provider, (tally.byProvider.get(s.provider) ?? 0) + 1);
      const t = s.timeMs;
      if (!Number.isNaN(t)) {
        if (t < tally.first) tally.first = t;
        if (t > tally.last) tally.last = t;
      }
      r = it.next();
    }
    return { status: r.value, warnings, records, tally };
  }
  const out = new ByteOut();
  const xml = job.mode === 'xml';
  let r = it.next();
  while (!r.done) {
    records++;
    const rec = r.value;
    if (keep && !keep(rec)) {
      // left out by the filter
    } else if (xml) out.add(renderXmlRecord(rec));
    else writeJsonLine(out, rec);
    r = it.next();
  }
  return { status: r.value, warnings, records, bytes: out.take() };
}
