import { resolve } from 'node:path';
import type { Command } from 'commander';
import { examples, type App } from '../app.js';
import { ExitCode } from '../errors.js';
import { inspectBundle, verifyBundle } from '../bundle/verify.js';
import type { BundleManifest, ManifestEntry } from '../bundle/manifest.js';
import { renderTable } from '../ui/table.js';
import { statusBadge } from '../ui/badge.js';
import { plural } from '../format.js';

export function registerBundleCommands(program: Command, app: App): void {
  const bundle = examples(program.command('bundle').description('check and list incident bundles written by `collect`'), ['clk-support bundle verify FSP_20261120-093000_1a2b3c4d.zip', 'clk-support bundle inspect FSP_20261120-093000_1a2b3c4d.zip --json']);

  examples(
    bundle
      .command('verify')
      .description('re-check every file of a bundle against its manifest (sha256, size, CRC); exit 1 when anything differs')
      .argument('<file>', 'the bundle (.zip)')
      .action(async (file: string, _opts: unknown, cmd: Command) => {
        const io = app.io(cmd);
        const path = resolve(app.cwd, file);
        const spinner = io.spinner(`Verifying ${file}`);
        let result;
        try {
          result = await verifyBundle(path, { signal: app.signal });
        } finally {
          spinner.stop();
        }
        const m = result.manifest as Partial<BundleManifest> | undefined;
        if (app.globals(cmd).json) {
          io.json({ schema: 'clk-support/bundle-verify/v1', file: path, ok: result.ok, entries: result.entries, listed: m?.entries?.length, problems: result.problems });
        } else if (result.ok) {
          io.out(`${statusBadge(io, 'ok')}  ${file}: ${plural(result.entries, 'file')}, every sha256 and size matches the manifest`);
        } else {
          io.out(`${statusBadge(io, 'failed')}  ${file}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`);
          io.table(result.problems, [
            { header: 'FILE', value: (p) => p.path },
            { header: 'PROBLEM', value: (p) => p.problem, free: true },
          ]);
        }
        if (!result.ok) app.report(ExitCode.failed);
      }),
    [
      'clk-support bundle verify PRD_20250603-120000_3fa9c2d1.zip',
      'clk-support bundle verify --json bundle.zip',
    ],
  );

  examples(
    bundle
      .command('inspect')
      .description('show what a bundle holds: farm, window, collectors and every file with its source')
      .argument('<file>', 'the bundle (.zip)')
      .action(async (file: string, _opts: unknown, cmd: Command) => {
        const io = app.io(cmd);
        const path = resolve(app.cwd, file);
        const { manifest, files } = await inspectBundle(path);
        const m = manifest as Partial<BundleManifest>;
        const byPath = new Map<string, ManifestEntry>((m.entries ?? []).map((e) => [e.path, e]));
        if (app.globals(cmd).json) {
          io.json({
            schema: 'clk-support/bundle-inspect/v1',
            file: path,
            manifestSchema: m.schema,
            tool: m.tool,
            createdAt: m.createdAt,
            farm: m.farm,
            window: m.window,
            anonymized: m.anonymized,
            redaction: m.redaction,
            collectors: m.collectors ?? [],
            files: files.map((f) => {
              const e = byPath.get(f.path);
              return { ...f, server: e?.server, collector: e?.collector, sourcePath: e?.sourcePath, sha256: e?.sha256, truncated: e?.truncated ?? false, note: e?.note, redactions: e?.redactions };
            }),
          });
          return;
        }
        const farm = m.farm ? `${m.farm.name}${m.farm.systemId ? ` (${m.farm.systemId})` : ''}` : '?';
        io.out(`bundle:   ${file}`);
        io.out(`farm:     ${farm}`);
        io.out(`window:   ${m.window ? `${m.window.from} .. ${m.window.to}` : '?'}`);
        io.out(`created:  ${m.createdAt ?? '?'} by clk-support ${m.tool?.version ?? '?'}${m.anonymized ? ', anonymized' : ''}`);
        const totals = Object.entries(m.redaction?.totals ?? {});
        io.out(`redacted: ${totals.length ? totals.map(([r, n]) => `${r} ${n}`).join(', ') : 'nothing'}`);
        io.out(`files:    ${files.length} (${files.reduce((a, f) => a + f.size, 0)} bytes, ${files.reduce((a, f) => a + f.compressedSize, 0)} zipped); full notes: --json`);
        io.out('');
        io.table(files, [
          { header: 'FILE', value: (f) => f.path, free: true },
          { header: 'SIZE', value: (f) => String(f.size), align: 'right' },
          { header: 'ZIPPED', value: (f) => String(f.compressedSize), align: 'right' },
          { header: 'SERVER', value: (f) => byPath.get(f.path)?.server ?? '' },
          { header: 'COLLECTOR', value: (f) => byPath.get(f.path)?.collector ?? '' },
          { header: 'NOTE', value: (f) => io.fit(noteFor(byPath.get(f.path)), 70), free: true },
        ]);
        const collectors = m.collectors ?? [];
        if (collectors.length) {
          io.out('');
          io.table(collectors, [
            { header: 'SERVER', value: (c) => c.server ?? '-' },
            { header: 'COLLECTOR', value: (c) => c.collector },
            { header: 'STATUS', value: (c) => statusBadge(io, c.status) },
            { header: 'FILES', value: (c) => String(c.files), align: 'right' },
            { header: 'BYTES', value: (c) => String(c.bytes), align: 'right' },
            { header: 'TIME', value: (c) => `${c.durationMs} ms`, align: 'right' },
            { header: 'REASON', value: (c) => io.fit(c.reason ?? '', 90), free: true },
          ]);
        }
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
