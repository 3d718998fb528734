// TCP endpoints the farm depends on (database, web services), connected from this machine.
import { connect } from 'node:net';
import { classifyError, REASON_HINTS } from '../../farm/transports/transport.js';
import type { Outcome, ServerCheck } from '../types.js';

export interface TcpAnswer {
  ok: boolean;
  ms: number;
  error?: string;
}

/** Open a TCP connection and close it at once; never rejects. */
export function tcpConnect(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<TcpAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    const done = (a: Omit<TcpAnswer, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ ...a, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    const onAbort = () => done({ ok: false, error: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const reason = classifyError(err);
      done({ ok: false, error: `${err.code ?? reason}: ${REASON_HINTS[reason]}` });
    });
  });
}

export const endpointsCheck: ServerCheck = {
  scope: 'server',
  id: 'network.endpoints',
  group: 'network',
  title: 'Configured TCP endpoints answer (from this machine)',
  severity: 'error',
  timeoutMs: (ctx) => (ctx.farm?.settings.connectTimeoutMs ?? 5000) + 5000,
  hint: 'check that the database / web service is up and that no firewall blocks the port from here',
  applies: (_ctx, server) => server.endpoints.length > 0 || `no endpoints configured for ${server.name}`,
  // Dialled from this machine: the server itself need not answer.
  needsServer: false,
  async run(ctx, server, signal): Promise<Outcome> {
    const timeoutMs = ctx.loadedFarm.settings.connectTimeoutMs;
    const answers = await Promise.all(server.endpoints.map(async (e) => ({ e, a: await tcpConnect(e.host, e.port, timeoutMs, signal) })));
    const details = answers.map(({ e, a }) => `${a.ok ? 'ok' : 'no answer'}: ${e.name} ${e.host}:${e.port}${a.ok ? ` in ${a.ms} ms` : ` (${a.error})`}`);
    const bad = answers.filter(({ a }) => !a.ok).map(({ e }) => `${e.name} (${e.host}:${e.port})`);
    if (bad.length) return { status: 'fail', message: `${bad.length} of ${answers.length} endpoint${answers.length === 1 ? '' : 's'} did not answer: ${bad.join(', ')}`, details };
    return { status: 'pass', message: `${answers.length} endpoint${answers.length === 1 ? '' : 's'} answered`, details };
  },
};
