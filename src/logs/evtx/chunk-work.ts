// What `evtx dump` and `evtx stats` do with one chunk, self-contained (a chunk carries its own string
// and template tables): parse its records, filter, and either encode their text as UTF-8 or tally
// them. Runs on the main thread or on a decoding thread (evtx-worker.ts); the result is plain data.

import { recordFilter, type RecordFilterSpec } from './filter.js';
import { readChunk, type ChunkStatus, type EvtxWarning, type Slot } from './reader.js';
import { renderJsonLine, renderXmlRecord } from './render.js';

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

/**
 * Node's UTF-8 writer behind buf.write(text, offset, 'utf8'), without the encoding-name dispatch
 * (undocumented, like the slices in values.ts: write() is used should a Node version lack it).
 */
const utf8Write = (Buffer.prototype as unknown as { utf8Write?: (this: Buffer, text: string, offset: number) => number }).utf8Write;

const MAX_UTF8_PER_UNIT = 3; // UTF-8 bytes per UTF-16 code unit, at most

/**
 * Output bytes of one chunk: records are encoded as they are rendered (no joined string) into a
 * scratch buffer kept from chunk to chunk, then copied into a buffer of the exact size (handed to
 * the stream, or moved from a decoding thread: its size is all the memory a chunk in flight holds).
 */
class ChunkBytes {
  private static scratch: Buffer = Buffer.allocUnsafeSlow(4 * 65536);
  private len = 0;

  add(text: string): void {
    let buf = ChunkBytes.scratch;
    const worst = MAX_UTF8_PER_UNIT * text.length;
    if (this.len + worst > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(2 * buf.length, this.len + worst));
      buf.copy(bigger, 0, 0, this.len);
      ChunkBytes.scratch = buf = bigger;
    }
    this.len += utf8Write ? utf8Write.call(buf, text, this.len) : buf.write(text, this.len, 'utf8');
  }

  take(): Uint8Array {
    const out = Buffer.allocUnsafeSlow(this.len);
    ChunkBytes.scratch.copy(out, 0, 0, this.len);
    // A crafted chunk can need a large scratch buffer once: not kept for the rest of the file.
    if (ChunkBytes.scratch.length > 16 * 65536) ChunkBytes.scratch = Buffer.allocUnsafeSlow(4 * 65536);
    return out;
  }
}

/** Parses chunk slot `slot` (chunk `index` at `fileOffset`) and does `job` with its records. */
export function processChunk(job: ChunkJob, slot: Slot, index: number, fileOffset: number): ChunkOutcome {
  const warnings: EvtxWarning[] = [];
  const keep = recordFilter(job.filter);
  const it = readChunk(slot, index, fileOffset, (w) => warnings.push(w), job.recover);
  let records = 0;
  if (job.mode === 'stats') {
    const tally: ChunkTally = { byLevel: new Map(), byProvider: new Map(), first: Infinity, last: -Infinity };
    let r = it.next();
    while (!r.done) {
      records++;
      const s = r.value.statsFields();
      tally.byLevel.set(s.level, (tally.byLevel.get(s.level) ?? 0) + 1);
      tally.byProvider.set(s.provider, (tally.byProvider.get(s.provider) ?? 0) + 1);
      const t = s.timeCreated?.getTime();
      if (t !== undefined && !Number.isNaN(t)) {
        if (t < tally.first) tally.first = t;
        if (t > tally.last) tally.last = t;
      }
      r = it.next();
    }
    return { status: r.value, warnings, records, tally };
  }
  const out = new ChunkBytes();
  const xml = job.mode === 'xml';
  let r = it.next();
  while (!r.done) {
    records++;
    const rec = r.value;
    if (!keep || keep(rec)) out.add(xml ? renderXmlRecord(rec) : `${renderJsonLine(rec)}\n`);
    r = it.next();
  }
  return { status: r.value, warnings, records, bytes: out.take() };
}
