// Windows command lines the checks run (sc, net, wevtutil) and the parsing of what they print.
// Pure functions, so that they are tested on any platform even though they run only on Windows.

/** `sc [\\SERVER] query <service>`: the server part only when asking another machine. */
export function scQueryArgs(service: string, remoteServer?: string): string[] {
  return remoteServer ? [`\\\\${remoteServer}`, 'query', service] : ['query', service];
}

/** `net session` succeeds only in an elevated (administrator) process. */
export function netSessionArgs(): string[] {
  return ['session'];
}

/** `wevtutil gl <channel>`: get-log, fails with 15007 when the channel does not exist. */
export function wevtutilGetLogArgs(channel: string): string[] {
  return ['gl', channel];
}

/** The file name Windows gives a channel's log: a "/" in the channel name becomes "%4". */
export function evtxFileName(channel: string): string {
  return `${channel.replace(/\//g, '%4')}.evtx`;
}

export type ServiceState = 'STOPPED' | 'START_PENDING' | 'STOP_PENDING' | 'RUNNING' | 'CONTINUE_PENDING' | 'PAUSE_PENDING' | 'PAUSED';

export type ScQueryResult =
  | { found: true; service: string; state: ServiceState | string; stateCode: number }
  | { found: false; errorCode?: number; message: string };

const SC_ERRORS: Record<number, string> = {
  5: 'access is denied (run as an administrator of that server)',
  1060: 'the service is not installed',
  1722: 'the RPC server is unavailable (the server is down or a firewall blocks remote service control)',
  1726: 'the remote procedure call failed',
};

/**
 * Parse `sc query` output. The labels are not localised, the state is `STATE : 4  RUNNING`;
 * failures print `[SC] <Api> FAILED <code>:` and a sentence that is localised (so the code is what counts).
 */
export function parseScQuery(output: string): ScQueryResult {
  const text = output.replace(/\r\n/g, '\n');
  const failed = /\[SC\]\s+\S+\s+FAILED\s+(\d+):\s*\n*([^\n]*)/i.exec(text);
  if (failed) {
    const code = Number(failed[1]);
    return { found: false, errorCode: code, message: SC_ERRORS[code] ?? (failed[2].trim() || `sc failed with error ${code}`) };
  }
  const name = /SERVICE_NAME:\s*(\S+)/.exec(text);
  const state = /^\s*STATE\s*:\s*(\d+)\s+(\w+)/m.exec(text);
  if (!name || !state) return { found: false, message: `unexpected sc output: ${text.trim().split('\n')[0] ?? '(empty)'}` };
  return { found: true, service: name[1], state: state[2], stateCode: Number(state[1]) };
}
