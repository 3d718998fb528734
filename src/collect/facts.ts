// Server facts: who the server is (host name, OS, ClickSoftware version and build, where the
// fingerprint components come from, never their values), clock offset and free disk space.
import { statfs } from 'node:fs/promises';
import { resolveLocalPath } from '../farm/load.js';
import { readIdentity, type ServerIdentity } from '../farm/identity.js';
import { emptyOutcome, errorReason, isFatal, type CollectContext, type Collector } from './types.js';

export interface DiskFact {
  path: string;
  totalBytes: number;
  freeBytes: number;
  method: string;
}

/** `df -Pk` output (POSIX format, 1024-byte blocks) as bytes. */
export function parseDfPk(stdout: string, path: string): DiskFact | undefined {
  const lines = stdout.trim().split(/\r?\n/);
  const row = lines.slice(1).join(' ').trim().split(/\s+/); // a long device name may wrap onto its own line
  if (row.length < 6) return undefined;
  const total = Number(row[1]);
  const avail = Number(row[3]);
  if (!Number.isFinite(total) || !Number.isFinite(avail)) return undefined;
  return { path, totalBytes: total * 1024, freeBytes: avail * 1024, method: 'df -Pk' };
}

async function statfsFact(localPath: string, shownPath: string, method: string): Promise<DiskFact> {
  const s = await statfs(localPath);
  return { path: shownPath, totalBytes: Number(s.blocks) * Number(s.bsize), freeBytes: Number(s.bavail) * Number(s.bsize), method };
}

export async function readDisk(ctx: CollectContext): Promise<DiskFact> {
  const t = ctx.transport;
  if (t.kind === 'ssh') {
    const path = t.platform === 'windows' ? ctx.server.installRoot : '/';
    const r = await t.exec('df', ['-Pk', t.platform === 'windows' ? path : ctx.server.installRoot.startsWith('/') ? ctx.server.installRoot : '/']);
    const fact = r.exitCode === 0 ? parseDfPk(r.stdout, path) : undefined;
    if (!fact) throw new Error(`df -Pk failed (exit ${r.exitCode}): ${r.stderr.trim().slice(0, 200)}`);
    return fact;
  }
  if (t.kind === 'share' && ctx.server.transport.type === 'share') {
    const root = resolveLocalPath(ctx.farm, ctx.server.transport.root);
    return statfsFact(root, 'C:\\', 'statfs on the share root');
  }
  return statfsFact(t.platform === 'windows' ? 'C:\\' : '/', t.platform === 'windows' ? 'C:\\' : '/', 'statfs');
}

export function factsDocument(ctx: CollectContext, identity: ServerIdentity | undefined, identityError: string | undefined, disk: DiskFact | undefined, diskError: string | undefined) {
  return {
    schema: 'clk-support/server-facts/v1',
    tool: { name: 'clk-support', version: ctx.toolVersion },
    collectedAt: new Date().toISOString(),
    server: {
      name: ctx.server.name,
      role: ctx.server.role,
      platform: ctx.server.platform,
      transport: ctx.server.transport.type,
      installRoot: ctx.server.installRoot,
    },
    hostname: identity?.hostname,
    os: identity?.os,
    product: identity?.product ? { version: identity.product.version, build: identity.product.build, source: identity.product.source } : undefined,
    productError: identity?.productError,
    // Where each fingerprint component comes from; the values (even hashed) stay out of the bundle.
    fingerprintSources: identity?.fingerprint.map((c) => ({ kind: c.kind, source: c.source })),
    clock: identity?.clock
      ? { offsetMs: Math.round(identity.clock.offsetMs), rttMs: Math.round(identity.clock.rttMs), method: identity.clock.method, serverTime: identity.clock.serverTime.toISOString() }
      : undefined,
    clockError: identity?.clockError,
    disk,
    diskError,
    identityError,
    notes: identity?.notes,
    window: { from: ctx.window.from.toISOString(), to: ctx.window.to.toISOString() },
    logs: {
      eventLogChannels: ctx.server.logs.eventLogChannels,
      perfmonDir: ctx.server.logs.perfmonDir,
      tracerGlobs: ctx.server.logs.tracerGlobs,
      tracerUtcOffset: ctx.server.logs.tracerUtcOffset,
    },
  };
}

export const factsCollector: Collector = {
  id: 'facts',
  description: 'Server facts (facts.json): host name, OS, version and build, fingerprint sources, clock offset, free disk space',

  async plan(ctx) {
    return [{ sourcePath: '(generated)', bundlePath: `${ctx.folder}/facts.json`, estimatedBytes: 2048 }];
  },

  async collect(ctx, sink, signal) {
    const outcome = emptyOutcome();
    let identity = ctx.identity;
    let identityError: string | undefined;
    if (!identity) {
      try {
        identity = await readIdentity(ctx.transport, ctx.server);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        identityError = errorReason(err);
        outcome.failed.push({ path: 'identity', reason: identityError });
      }
    }
    let disk: DiskFact | undefined;
    let diskError: string | undefined;
    try {
      disk = await readDisk(ctx);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      diskError = errorReason(err);
      outcome.notes.push(`disk: ${diskError}`);
    }
    signal.throwIfAborted();
    const doc = factsDocument(ctx, identity, identityError, disk, diskError);
    try {
      const entry = await sink.addBuffer(`${ctx.folder}/facts.json`, `${JSON.stringify(doc, null, 2)}\n`, {
        server: ctx.folder,
        sourcePath: '(generated)',
        collector: 'facts',
        redact: true,
      });
      outcome.files++;
      outcome.bytes += entry.size;
    } catch (err) {
      if (isFatal(err) || signal.aborted) throw err;
      outcome.failed.push({ path: 'facts.json', reason: errorReason(err) });
    }
    return outcome;
  },
};
