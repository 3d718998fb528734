// ClickSoftware configuration files (configGlobs), whole, size-capped and redacted: secrets in
// connection strings, keys and URLs never reach the bundle. Binary files are left out with a reason.
import { globAll, ignoredInPlan } from './tracer.js';
import { decodeToUtf8, detectBom } from '../logs/encoding.js';
import { bundlePathFor, emptyOutcome, recordFileFailure, type CollectContext, type Collector, type CollectorOutcome, type EntrySink, type PlannedFile } from './types.js';

const SNIFF_BYTES = 8192;

/** Text unless it holds NUL bytes (UTF-16 with a BOM is text: it is redacted as UTF-8 and stored as UTF-16). */
export function looksBinary(head: Buffer): boolean {
  return !detectBom(head) && head.includes(0);
}

async function collectConfigFile(ctx: CollectContext, sink: EntrySink, signal: AbortSignal, outcome: CollectorOutcome, p: PlannedFile): Promise<void> {
  try {
    const st = await ctx.transport.stat(p.sourcePath);
    const head = st.size === 0 ? Buffer.alloc(0) : await ctx.transport.readAt(p.sourcePath, 0, Math.min(st.size, SNIFF_BYTES));
    if (looksBinary(head)) {
      outcome.skipped.push({ path: p.sourcePath, reason: 'binary file: cannot be redacted, left out' });
      return;
    }
    const encoding = detectBom(head);
    const stream = st.size === 0 ? [] : await ctx.transport.createReadStream(p.sourcePath, { end: st.size - 1 });
    const entry = await sink.addStream(p.bundlePath, encoding ? decodeToUtf8(stream as AsyncIterable<Buffer>, encoding) : (stream as AsyncIterable<Buffer>), {
      server: ctx.folder,
      sourcePath: p.sourcePath,
      collector: 'config',
      redact: true,
      encoding,
      mtime: st.mtime,
      signal,
    });
    outcome.files++;
    outcome.bytes += entry.size;
  } catch (err) {
    recordFileFailure(err, signal, outcome, p.sourcePath);
  }
}

/** The config files the globs match; links out of the root and FIFOs are recorded in outcome as skipped. */
async function planConfig(ctx: CollectContext, signal: AbortSignal, outcome?: CollectorOutcome): Promise<PlannedFile[]> {
  const files = await globAll(ctx, ctx.server.configGlobs, signal, outcome);
  return files.map((f): PlannedFile => {
    const bundlePath = bundlePathFor(ctx, 'config', f.path);
    if (f.size > ctx.maxFileBytes)
      return { sourcePath: f.path, bundlePath, estimatedBytes: 0, skip: `${f.size} bytes, more than --max-file-size (${ctx.maxFileBytes}): a cut configuration file would mislead` };
    return { sourcePath: f.path, bundlePath, estimatedBytes: f.size };
  });
}

export const configCollector: Collector = {
  id: 'config',
  description: 'ClickSoftware configuration files (configGlobs), redacted; binaries and files over --max-file-size left out',

  async plan(ctx, signal) {
    const seen = emptyOutcome();
    return [...(await planConfig(ctx, signal, seen)), ...ignoredInPlan(seen)];
  },

  async collect(ctx, sink, signal) {
    const outcome = emptyOutcome();
    if (ctx.server.configGlobs.length === 0) {
      outcome.nothing = 'no configGlobs configured for this server';
      return outcome;
    }
    const planned = await planConfig(ctx, signal, outcome);
    if (planned.length === 0) outcome.nothing = `no file matches ${ctx.server.configGlobs.join(', ')}`;
    for (const p of planned) {
      signal.throwIfAborted();
      if (p.skip) outcome.skipped.push({ path: p.sourcePath, reason: p.skip });
      else await collectConfigFile(ctx, sink, signal, outcome, p);
    }
    return outcome;
  },
};
