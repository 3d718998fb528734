// The record filter of `evtx dump`, as plain data: it crosses to the decoding threads (parallel.ts).

import { evtxSubMillisecond, inWindowLazy, type TimeWindow } from '../window.js';
import type { EvtxRecord } from './index.js';

export interface RecordFilterSpec {
  /** Only these System/Level numbers. */
  levels?: number[];
  /** Only these System/EventID numbers. */
  ids?: number[];
  /** Only records whose System/TimeCreated is inside (not the header's written time). */
  window?: TimeWindow;
}

/** The predicate of a filter spec; undefined when it keeps every record. */
export function recordFilter(spec: RecordFilterSpec | undefined): ((r: EvtxRecord) => boolean) | undefined {
  if (!spec || (!spec.levels && !spec.ids && !spec.window)) return undefined;
  const levels = spec.levels && new Set(spec.levels);
  const ids = spec.ids && new Set(spec.ids);
  const window = spec.window;
  return (r) => {
    const s = r.system;
    if (levels && !levels.has(s.level)) return false;
    if (ids && !ids.has(s.eventId)) return false;
    if (window) {
      const t = s.timeCreated?.getTime();
      if (t === undefined || Number.isNaN(t)) return false;
      // Compared at the FILETIME's full 100 ns: the rendered XML is asked only at a bound's millisecond.
      if (!inWindowLazy(window, t, () => evtxSubMillisecond(r))) return false;
    }
    return true;
  };
}
