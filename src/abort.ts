// Waiting on work that may never finish (a server that stopped answering) without holding the run.

/**
 * Settles with the work, or rejects with the signal's reason as soon as it aborts. One listener per
 * call, removed once the work settles: racing many reads against one long-lived promise would keep
 * every result reachable. The work itself is not cancelled; its late rejection is swallowed.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
