// Large sequential reads of a server's log files. Files that live on this machine's disks or
// mounted shares (transports "local" and "share") are read straight from the file system with two
// reused 4 MiB buffers, the next read already running while the caller scans the current block:
// the transport's general readAt allocates fresh memory per call, and at a gigabyte of logs the page
// faults of that fresh memory cost more than the scan. Other transports (SSH) use their stream.
import type { Transport } from '../farm/transports/transport.js';

import { BLOCK_BYTES } from './host-files.js';

export { BLOCK_BYTES, hostFileChunks } from './host-files.js';

/** Blocks of a server file through its transport (SSH streams; anything else in 4 MiB reads). */
export async function* fileChunks(t: Transport, path: string, size: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  if (t.kind === 'ssh') {
    const stream = await t.createReadStream(path);
    try {
      for await (const chunk of stream) {
        if (signal?.aborted) throw signal.reason;
        yield chunk as Buffer;
      }
    } finally {
      stream.destroy();
    }
    return;
  }
  let offset = 0;
  let pending: Promise<Buffer> | undefined = size > 0 ? t.readAt(path, 0, BLOCK_BYTES) : undefined;
  try {
    while (pending) {
      const block = await pending;
      pending = undefined;
      if (signal?.aborted) throw signal.reason;
      offset += block.length;
      // A file still growing is read up to the size seen when it was listed.
      if (block.length === BLOCK_BYTES && offset < size) pending = t.readAt(path, offset, BLOCK_BYTES);
      if (block.length > 0) yield block;
    }
  } finally {
    // Abandoned early: the read in flight must not surface as an unhandled rejection.
    pending?.catch(() => {});
  }
}
