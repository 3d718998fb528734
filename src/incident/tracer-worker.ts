// A worker thread of scanTracerFiles: reads and scans the files on this machine it is handed, one
// at a time, and replies with each file's tally. Loads only the reader and the scanner.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { hostFileChunks } from './host-files.js';
import { scanTracerErrors } from './tracer-errors.js';
import { scanSpecOptions, type FromWorker, type ToWorker, type TracerScanSpec } from './scan-spec.js';

const port = parentPort;
if (!port) throw new Error('tracer-worker: not started as a worker thread');
const options = scanSpecOptions(workerData as TracerScanSpec);

port.on('message', (m: ToWorker) => {
  if ('stop' in m) {
    port.close();
    return;
  }
  scanTracerErrors(hostFileChunks(m.hostPath), { ...options, dayFirst: m.dayFirst })
    .then((tally) => port.postMessage({ done: m.scan, tally: tally.toPlain() } satisfies FromWorker))
    .catch((err: unknown) => port.postMessage({ failed: m.scan, error: errorMessage(err) } satisfies FromWorker));
});
