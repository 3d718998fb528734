import { resolve } from 'node:path';
import type { Command } from 'commander';
import { examples, type App } from '../app.js';
import { ExitCode } from '../errors.js';
import { NOT_A_BUNDLE_CODES, inspectBundle, verifyBundle, type BundleProblem } from '../bundle/verify.js';
import type { ManifestEntry } from '../bundle/manifest.js';
import { renderTable } from '../ui/table.js';
import { statusBadge } from '../ui/badge.js';
import { plural } from '../format.js';
import { sanitize } from '../ui/sanitize.js';
import type { Io, ProgressTask } from '../ui/io.js';

// Everything read from a bundle is untrusted: every string shown below goes through sanitize().
const field = (v: unknown): string | undefined => (typeof v === 'string' ? sanitize(v) : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

/** A refused bundle: the problem rows on stdout, the verdict on stderr, exit 2. */
function renderProblems(io: Io, problems: readonly BundleProblem[], omitted: number): void {
  io.table(problems, [
    { header: 'FILE', value: (p) => sanitize(p.path) },
    { header: 'PROBLEM', value: (p) => sanitize(p.problem), free: true },
    { header: 'CODE', value: (p) => p.code },
  ]);
  if (omitted) io.out(`... and ${omitted} more problem${omitted === 1 ? '' : 's'} (not listed)`);
}

function refusedMessage(app: App, io: Io, file: string, problems: readonly BundleProblem[]): void {
  const notBundle = problems.find((p) => NOT_A_BUNDLE_CODES.has(p.code));
  if (notBundle) io.error(`${sanitize(file)} is not a clk-support bundle: ${sanitize(notBundle.problem)}`, 'pass a .zip written by `clk-support collect`');
  else io.error(`${sanitize(file)} is refused: it is damaged, hostile or uses zip features a bundle never has (see the problems above)`);
  app.report(ExitCode.usage);
}

export function registerBundleCommands(program: Command, app: App): void {
  const bundle = examples(program.command('bundle').description('check and list incident bundles written by `collect`'), ['clk-support bundle verify FSP_20261120-093000_1a2b3c4d.zip', 'clk-support bundle inspect FSP_20261120-093000_1a2b3c4d.zip --json']);

  examples(
    bundle
      .command('verify')
      .description('re-check every file of a bundle against its manifest (sha256, size, CRC); exit 1 when anything differs, 2 when the zip is refused')
      .argument('<file>', 'the bundle (.zip)')
      .action(async (file: string, _opts: unknown, cmd: Command) => {
        const io = app.io(cmd);
        const path = resolve(app.cwd, file);
        const spinner = io.spinner(`Verifying ${sanitize(file)}`);
        // Once the directory is checked, a byte progress bar (rate and ETA) over what is hashed.
        const progress = io.progress();
        let task: ProgressTask | undefined;
        let result;
        try {
          result = await verifyBundle(path, {
            signal: app.signal,
            onStart: (total) => {
              spinner.stop();
              task = progress.task('verify', total);
            },
            onBytes: (n) => task?.increment(n),
          });
          task?.done();
        } finally {
          spinner.stop();
          progress.stop();
        }
        const n = result.problems.length + result.problemsOmitted;
        if (app.globals(cmd).json) {
          io.json({ schema: 'clk-support/bundle-verify/v1', file: path, ok: result.ok, refused: result.refused, entries: result.entries, listed: result.listed, problems: result.problems, problemsOmitted: result.problemsOmitted });
        } else if (result.ok) {
          io.out(`${statusBadge(io, 'ok')}  ${sanitize(file)}: ${plural(result.entries, 'file')}, every sha256 and size matches the manifest`);
        } else {
          io.out(`${statusBadge(io, result.refused ? 'refused' : 'failed')}  ${sanitize(file)}: ${n} problem${n === 1 ? '' : 's'}`);
          renderProblems(io, result.problems, result.problemsOmitted);
        }
        if (result.refused) refusedMessage(app, io, file, result.problems);
        else if (!result.ok) app.report(ExitCode.failed);
      }),
    [
      'clk-support bundle verify PRD_20250603-120000_3fa9c2d1.zip',
      'clk-support bundle verify --json bundle.zip',
    ],
  );

  examples(
    bundle
      .command('inspect')
      .description('show what a bundle holds: farm, window, collectors and every file with its source; exit 2 when the zip is refused')
      .argument('<file>', 'the bundle (.zip)')
      .action(async (file: string, _opts: unknown, cmd: Command) => {
        const io = app.io(cmd);
        const path = resolve(app.cwd, file);
        const r = await inspectBundle(path, { signal: app.signal });
        const m = (r.manifest ?? {}) as Record<string, unknown>;
        const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
        const farmInfo = obj(m.farm);
        const windowInfo = obj(m.window);
        const totals = Object.entries(obj(obj(m.redaction).totals)).filter(([, v]) => typeof v === 'number');
        if (app.globals(cmd).json) {
          io.json({
            schema: 'clk-support/bundle-inspect/v1',
            file: path,
            ok: r.problems.length === 0,
            refused: r.refused,
            problems: r.problems,
            problemsOmitted: r.problemsOmitted,
            manifestSchema: m.schema,
            tool: m.tool,
            createdAt: m.createdAt,
            farm: m.farm,
            window: m.window,
            anonymized: m.anonymized,
            redaction: m.redaction,
            collectors: r.collectors,
            files: r.files.map((f) => {
              const e = r.entries.get(f.path);
              return { ...f, server: e?.server, collector: e?.collector, sourcePath: e?.sourcePath, sha256: e?.sha256, truncated: e?.truncated ?? false, note: e?.note, redactions: e?.redactions };
            }),
          });
          if (r.refused) refusedMessage(app, io, file, r.problems);
          return;
        }
        const name = field(farmInfo.name);
        const systemId = field(farmInfo.systemId);
        const tool = field(obj(m.tool).version);
        const from = field(windowInfo.from);
        const to = field(windowInfo.to);
        io.out(`bundle:   ${sanitize(file)}`);
        io.out(`farm:     ${name ? `${name}${systemId ? ` (${systemId})` : ''}` : '?'}`);
        io.out(`window:   ${from || to ? `${from ?? '?'} .. ${to ?? '?'}` : '?'}`);
        io.out(`created:  ${field(m.createdAt) ?? '?'} by clk-support ${tool ?? '?'}${m.anonymized === true ? ', anonymized' : ''}`);
        io.out(`redacted: ${totals.length ? totals.map(([k, v]) => `${sanitize(k)} ${v}`).join(', ') : 'nothing'}`);
        io.out(`files:    ${r.files.length} (${r.files.reduce((a, f) => a + f.size, 0)} bytes, ${r.files.reduce((a, f) => a + f.compressedSize, 0)} zipped); full notes: --json`);
        io.out('');
        io.table(r.files, [
          { header: 'FILE', value: (f) => sanitize(f.path), free: true },
          { header: 'SIZE', value: (f) => String(f.size), align: 'right' },
          { header: 'ZIPPED', value: (f) => String(f.compressedSize), align: 'right' },
          { header: 'SERVER', value: (f) => sanitize(r.entries.get(f.path)?.server ?? '') },
          { header: 'COLLECTOR', value: (f) => sanitize(r.entries.get(f.path)?.collector ?? '') },
          { header: 'NOTE', value: (f) => io.fit(sanitize(noteFor(r.entries.get(f.path))), 70), free: true },
        ]);
        if (r.collectors.length) {
          io.out('');
          io.table(r.collectors, [
            { header: 'SERVER', value: (c) => sanitize(c.server ?? '-') },
            { header: 'COLLECTOR', value: (c) => sanitize(c.collector) },
            { header: 'STATUS', value: (c) => statusBadge(io, c.status) },
            { header: 'FILES', value: (c) => String(c.files), align: 'right' },
            { header: 'BYTES', value: (c) => String(c.bytes), align: 'right' },
            { header: 'TIME', value: (c) => `${c.durationMs} ms`, align: 'right' },
            { header: 'REASON', value: (c) => io.fit(sanitize(c.reason ?? ''), 90), free: true },
          ]);
        }
        if (r.problems.length) {
          io.out('');
          io.out(`${statusBadge(io, r.refused ? 'refused' : 'failed')}  ${r.problems.length + r.problemsOmitted} problem${r.problems.length + r.problemsOmitted === 1 ? '' : 's'}`);
          renderProblems(io, r.problems, r.problemsOmitted);
        }
        if (r.refused) refusedMessage(app, io, file, r.problems);
      }),
    [
      'clk-support bundle inspect PRD_20250603-120000_3fa9c2d1.zip',
      'clk-support bundle inspect --json bundle.zip | jq ".files[] | select(.truncated)"',
    ],
  );
}

function noteFor(e: ManifestEntry | undefined): string {
  if (!e) return '';
  const parts: string[] = [];
  if (e.truncated) parts.push('truncated');
  const redacted = Object.values(e.redactions ?? {}).reduce((a, b) => a + b, 0);
  if (redacted) parts.push(`${redacted} redacted`);
  if (e.note) parts.push(e.note);
  return parts.join('; ');
}
