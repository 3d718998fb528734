// Reading a file on this machine in large blocks with reused buffers (see chunks.ts for why). Kept
// apart so worker threads load nothing but this and the scanner.
import { open } from 'node:fs/promises';

export const BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * Blocks of a file on this machine. Each yielded block is valid until the next one is asked for
 * (the buffers are reused): a caller that keeps bytes must copy them.
 */
export async function* hostFileChunks(hostPath: string, signal?: AbortSignal, blockBytes = BLOCK_BYTES): AsyncGenerator<Buffer> {
  const fh = await open(hostPath, 'r');
  const buffers = [Buffer.allocUnsafe(blockBytes), Buffer.allocUnsafe(blockBytes)];
  let which = 0;
  let pending: Promise<{ bytesRead: number }> | undefined = fh.read(buffers[0], 0, blockBytes, null);
  try {
    while (pending) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (signal?.aborted) throw signal.reason;
      if (bytesRead === 0) break;
      const current = buffers[which];
      which ^= 1;
      // Read ahead into the other buffer while the caller scans this one.
      pending = fh.read(buffers[which], 0, blockBytes, null);
      yield current.subarray(0, bytesRead);
    }
  } finally {
    await pending?.catch(() => undefined);
    await fh.close();
  }
}

