// The Windows services the farm file lists are running, asked with `sc query`.
import type { ServerConfig } from '../../farm/schema.js';
import type { ExecResult } from '../../farm/transports/transport.js';
import { errorMessage } from '../../errors.js';
import { unreachableReason, type CheckContext } from '../context.js';
import { parseScQuery, scQueryArgs } from '../windows.js';
import type { Outcome, ServerCheck } from '../types.js';
import { probeBudgetMs } from './farm.js';

type ScRoute = { via: 'ssh' | 'local' | 'remote' } | { skip: string };

/** How sc reaches this server: over ssh on the server itself, or from this Windows machine. */
export function scRoute(ctx: CheckContext, server: ServerConfig): ScRoute {
  if (server.transport.type === 'ssh') return { via: 'ssh' };
  if (ctx.host.platform !== 'win32')
    return { skip: `sc.exe is Windows-only: run clk-support on Windows, or reach ${server.name} by ssh, to check its services` };
  return { via: server.transport.type === 'local' ? 'local' : 'remote' };
}

export const servicesCheck: ServerCheck = {
  scope: 'server',
  id: 'services.running',
  group: 'services',
  title: 'Configured Windows services are running',
  severity: 'error',
  appliesTo: { platforms: ['windows'] },
  timeoutMs: probeBudgetMs,
  hint: 'start the stopped services (services.msc, or sc start <name>) and find out why they stopped (event log System)',
  applies: (ctx, server) => {
    if (server.services.length === 0) return `no services configured for ${server.name}`;
    const route = scRoute(ctx, server);
    return 'skip' in route ? route.skip : true;
  },
  async run(ctx, server, signal): Promise<Outcome> {
    const route = scRoute(ctx, server);
    if ('skip' in route) return { status: 'skip', message: route.skip };
    const timeoutMs = ctx.loadedFarm.settings.timeoutMs;
    let query: (service: string) => Promise<ExecResult>;
    if (route.via === 'ssh') {
      const { probe, transport } = await ctx.reach(server);
      if (!transport) return { status: 'skip', message: unreachableReason(probe) };
      query = (s) => transport.exec('sc', scQueryArgs(s), { timeoutMs });
    } else {
      const remote = route.via === 'remote' ? server.name : undefined;
      query = (s) => ctx.host.run('sc', scQueryArgs(s, remote), { timeoutMs, signal });
    }
    const details: string[] = [];
    const notRunning: string[] = [];
    for (const service of server.services) {
      let line: string;
      try {
        const r = await query(service);
        // sc prints its errors on stdout.
        const parsed = parseScQuery(`${r.stdout}\n${r.stderr}`);
        if (parsed.found && parsed.state === 'RUNNING') line = `ok: ${service}: RUNNING`;
        else {
          notRunning.push(service);
          line = parsed.found ? `not running: ${service}: ${parsed.state}` : `not running: ${service}: ${parsed.message}`;
        }
      } catch (err) {
        notRunning.push(service);
        line = `not checked: ${service}: ${errorMessage(err)}`;
      }
      details.push(line);
    }
    if (notRunning.length) return { status: 'fail', message: `not running: ${notRunning.join(', ')}`, details };
    return { status: 'pass', message: `${server.services.join(', ')} running`, details };
  },
};
