import { homedir } from 'node:os';
import type { Farm } from '../load.js';
import { resolveLocalPath } from '../load.js';
import type { ServerConfig } from '../schema.js';
import { LocalTransport, ShareTransport } from './local.js';
import { SshTransport } from './ssh.js';
import type { Transport, TransportTimeouts } from './transport.js';

export * from './transport.js';

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
}

export function timeoutsFor(farm: Farm): TransportTimeouts {
  return { connectTimeoutMs: farm.settings.connectTimeoutMs, timeoutMs: farm.settings.timeoutMs };
}

/** The transport the farm file names for this server. Nothing is opened until connect(). */
export function createTransport(farm: Farm, server: ServerConfig, timeouts: TransportTimeouts = timeoutsFor(farm)): Transport {
  const t = server.transport;
  switch (t.type) {
    case 'local':
      return new LocalTransport(server.name, timeouts, t.root && resolveLocalPath(farm, t.root));
    case 'share':
      return new ShareTransport(
        server.name,
        server.platform,
        {
          root: resolveLocalPath(farm, t.root),
          drives: t.drives && Object.fromEntries(Object.entries(t.drives).map(([d, r]) => [d, resolveLocalPath(farm, r)])),
        },
        timeouts,
      );
    case 'ssh':
      return new SshTransport(
        server.name,
        server.platform,
        {
          host: t.host,
          port: t.port,
          user: t.user,
          identityFile: t.identityFile && resolveLocalPath(farm, expandHome(t.identityFile)),
          agent: t.agent,
          knownHosts: t.knownHosts && resolveLocalPath(farm, expandHome(t.knownHosts)),
          root: t.root,
        },
        timeouts,
      );
  }
}
