// A decoding thread of parallel.ts: parses the chunks it is sent and answers with their outcome
// (text bytes moved back, not copied).
import { parentPort, workerData } from 'node:worker_threads';
import { processChunk, type ChunkJob } from './chunk-work.js';
import type { FromWorker, ToWorker } from './parallel.js';

const job = workerData as ChunkJob;

parentPort?.on('message', (m: ToWorker) => {
  let reply: FromWorker;
  const transfer: ArrayBuffer[] = [];
  try {
    const buf = Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength);
    const outcome = processChunk(job, { buf, len: m.len }, m.index, m.fileOffset);
    if (outcome.bytes) transfer.push(outcome.bytes.buffer as ArrayBuffer);
    reply = { id: m.id, outcome };
  } catch (e) {
    // processChunk reports bad data as warnings; this is a bug, and the run fails with it.
    reply = { id: m.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(reply, transfer);
});
