// Scanning a server's Tracer files. Files on this machine (local and share transports) are read
// directly in large blocks; once the bytes are in memory the scan is CPU-bound, so a large set of
// such files is spread over worker threads, each reading and scanning one file at a time (memory
// flat: two blocks per thread), this thread being one of the lanes. SSH files and small sets are
// scanned on this thread alone.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { hostFileChunks } from './chunks.js';
import { ErrorTally, scanTracerErrors } from './tracer-errors.js';
import { scanSpecOptions, type FromWorker, type ToWorker, type TracerScanSpec } from './scan-spec.js';

export type { TracerScanSpec } from './scan-spec.js';

export interface TracerFile {
  /** As the server names it. */
  path: string;
  size: number;
  /** Where it is on this machine, when the server is reached as files. */
  hostPath?: string;
  /** The day/month order of its slash dates, when it had to be guessed (see day-order.ts). */
  dayFirst?: boolean;
}

/** Below this, starting threads costs more than it saves. */
export const PARALLEL_MIN_BYTES = 256 * 1024 * 1024;
const WORKER_URL = new URL('./tracer-worker.js', import.meta.url);

function workerCount(files: readonly TracerFile[], parallel: boolean | undefined): number {
  if (parallel === false || files.length < 2 || files.some((f) => !f.hostPath)) return 0;
  const total = files.reduce((n, f) => n + f.size, 0);
  if (parallel !== true && total < PARALLEL_MIN_BYTES) return 0;
  if (!existsSync(fileURLToPath(WORKER_URL))) return 0; // running from sources (tests): no compiled worker
  return Math.min(files.length, Math.max(1, availableParallelism()), 8);
}

/** One thread scanning the files handed to it, one at a time. */
class ScanThread {
  private readonly worker: Worker;
  private waiting = new Map<number, { resolve: (t: ErrorTally) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(spec: TracerScanSpec) {
    this.worker = new Worker(WORKER_URL, { workerData: spec });
    this.worker.on('message', (m: FromWorker) => {
      const id = 'done' in m ? m.done : m.failed;
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      if ('done' in m) w?.resolve(ErrorTally.fromPlain(m.tally));
      else w?.reject(new Error(m.error));
    });
    this.worker.on('error', (err) => {
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    });
  }

  scan(hostPath: string, dayFirst?: boolean): Promise<ErrorTally> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ scan: id, hostPath, dayFirst } satisfies ToWorker);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** `read` streams a file without a hostPath (through its transport, or out of a bundle). */
export async function scanTracerFiles(
  server: string,
  read: (f: TracerFile, signal?: AbortSignal) => AsyncIterable<Buffer>,
  files: readonly TracerFile[],
  spec: TracerScanSpec,
  o: { signal?: AbortSignal; warn: (m: string, unread?: boolean) => void; parallel?: boolean },
): Promise<ErrorTally> {
  const total = new ErrorTally(spec.bucketing);
  const n = workerCount(files, o.parallel);
  const options = scanSpecOptions(spec, o.signal);
  const scanHere = (f: TracerFile) =>
    scanTracerErrors(f.hostPath ? hostFileChunks(f.hostPath, o.signal) : read(f, o.signal), { ...options, dayFirst: f.dayFirst });
  // This thread scans too, so n lanes need n - 1 workers (each costs a start-up and its own JIT warm-up).
  const threads = Array.from({ length: Math.max(0, n - 1) }, () => new ScanThread(spec));
  // Biggest files first, so no thread is left with a giant one at the end.
  const queue = [...files].sort((a, b) => b.size - a.size);
  const lane = async (scan: (f: TracerFile) => Promise<ErrorTally>) => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      if (o.signal?.aborted) throw o.signal.reason;
      try {
        total.merge(await scan(f));
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason ?? err;
        o.warn(`${server}: ${f.path} could not be read: ${errorMessage(err)}`, true);
      }
    }
  };
  const aborted = new Promise<never>((_, reject) => o.signal?.addEventListener('abort', () => reject(o.signal!.reason), { once: true }));
  aborted.catch(() => {});
  try {
    if (n === 0) await lane(scanHere);
    else await Promise.race([Promise.all([lane(scanHere), ...threads.map((th) => lane((f) => th.scan(f.hostPath!, f.dayFirst)))]), aborted]);
  } finally {
    await Promise.all(threads.map((th) => th.terminate()));
  }
  return total;
}
