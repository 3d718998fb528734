// The Windows services the farm file lists are running, asked with `sc query`.
import type { ServerConfig } from '../../farm/schema.js';
import type { ExecResult } from '../../farm/transports/transport.js';
import { errorMessage } from '../../errors.js';
import { unreachableOutcome, type CheckContext } from '../context.js';
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
  applies: (_ctx, server) => server.services.length > 0 || `no services configured for ${server.name}`,
  async run(ctx, server, signal): Promise<Outcome> {
    const route = scRoute(ctx, server);
    // Services are configured but nothing here can ask: that is "could not check", not "does not apply".
    if ('skip' in route) return { status: 'error', message: `could not check: ${route.skip}`, hint: `run clk-support on Windows or reach ${server.name} by ssh; or leave the check out knowingly with --skip services.running` };
    const timeoutMs = ctx.loadedFarm.settings.timeoutMs;
    let query: (service: string) => Promise<ExecResult>;
    if (route.via === 'ssh') {
      const { probe, transport } = await ctx.reach(server);
      if (!transport) return unreachableOutcome(probe);
      query = (s) => transport.exec('sc', scQueryArgs(s), { timeoutMs });
    } else {
      const remote = route.via === 'remote' ? server.name : undefined;
      query = (s) => ctx.host.run('sc', scQueryArgs(s, remote), { timeoutMs, signal });
    }
    const details: string[] = [];
    const notRunning: string[] = [];
    const unknown: string[] = [];
    for (const service of server.services) {
      try {
        const r = await query(service);
        // sc prints its errors on stdout.
        const verdict = judgeSc(r);
        if (verdict.state === 'running') details.push(`ok: ${service}: RUNNING`);
        else if (verdict.state === 'not-running') {
          notRunning.push(service);
          details.push(`not running: ${service}: ${verdict.reason}`);
        } else {
          unknown.push(service);
          details.push(`could not check: ${service}: ${verdict.reason}`);
        }
      } catch (err) {
        unknown.push(service);
        details.push(`could not check: ${service}: ${rawReason(errorMessage(err))}`);
      }
    }
    if (notRunning.length) return { status: 'fail', message: `not running: ${notRunning.join(', ')}${unknown.length ? `; could not check: ${unknown.join(', ')}` : ''}`, details };
    if (unknown.length)
      return {
        status: 'error',
        message: `could not check: ${unknown.join(', ')}: ${details.find((d) => d.startsWith('could not check'))!.replace(/^could not check: [^:]+: /, '')}`,
        details,
        hint: 'sc could not answer: run clk-support as an administrator of that server, and check that remote service control (RPC) is allowed through its firewall',
      };
    return { status: 'pass', message: `${server.services.join(', ')} running`, details };
  },
};

type ScVerdict = { state: 'running' } | { state: 'not-running'; reason: string } | { state: 'unknown'; reason: string };

/**
 * Only two answers count: a state sc printed (RUNNING or another), or "not installed" (1060).
 * Anything else (empty output, access denied, RPC unavailable, text sc never prints) means sc
 * could not look, and the raw reason is kept.
 */
export function judgeSc(r: ExecResult): ScVerdict {
  const parsed = parseScQuery(`${r.stdout}\n${r.stderr}`);
  if (parsed.found) return parsed.state === 'RUNNING' ? { state: 'running' } : { state: 'not-running', reason: String(parsed.state) };
  if (parsed.errorCode === 1060) return { state: 'not-running', reason: parsed.message };
  const raw = rawReason(`${r.stdout}\n${r.stderr}`);
  const reason = parsed.errorCode !== undefined ? `${parsed.message} (sc error ${parsed.errorCode})` : raw === '(empty output)' ? 'sc printed nothing' : `sc answered: ${raw}`;
  return { state: 'unknown', reason: `${reason}${r.exitCode !== 0 ? `, exit code ${r.exitCode}` : ''}` };
}

/** The first lines of what a tool printed, bounded and free of control characters, to quote in a result. */
function rawReason(text: string): string {
  const lines = text.replace(/\r/g, '').split('\n').map((l) => l.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim()).filter(Boolean);
  if (lines.length === 0) return '(empty output)';
  const joined = lines.slice(0, 3).join(' / ');
  return joined.length > 200 ? `${joined.slice(0, 197)}...` : joined;
}
