#!/usr/bin/env node
// The package users install: `npm pack`, then `npm install -g` of the tarball into an empty prefix
// (no build step, no dev dependencies, no registry needed: the package has no runtime dependencies),
// then the installed clk-support must answer --version --json and --help. Exit 1 with the reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'clk-package-'));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, ...opts });
  if (r.error || r.status !== 0) {
    process.stderr.write(`check-package: ${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})\n${r.stdout ?? ''}${r.stderr ?? ''}\n`);
    rmSync(work, { recursive: true, force: true });
    process.exit(1);
  }
  return r.stdout;
}

try {
  run('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: repo });
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error('npm pack wrote no tarball');
  // An empty folder, offline: everything the CLI needs is in the tarball.
  const prefix = join(work, 'prefix');
  run('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', join(work, tgz)], { cwd: work });
  const bin = process.platform === 'win32' ? join(prefix, 'clk-support.cmd') : join(prefix, 'bin', 'clk-support');
  const v = JSON.parse(run(bin, ['--version', '--json'], { cwd: work }));
  if (v.version !== pkg.version) throw new Error(`installed clk-support reports ${v.version}, package.json says ${pkg.version}`);
  if (v.build !== 'bundle') throw new Error(`installed clk-support runs from ${v.build}, not the bundle`);
  const help = run(bin, ['--help'], { cwd: work });
  if (!/Usage: clk-support/.test(help)) throw new Error('installed clk-support --help printed no usage');
  const files = run('tar', ['-tzf', join(work, tgz)]).split('\n').filter(Boolean);
  process.stdout.write(`${tgz}: ${files.length} files, installs offline into an empty prefix; installed clk-support ${v.version} (${v.commit.slice(0, 12)}, ${v.build}) answers --version and --help\n`);
} catch (err) {
  process.stderr.write(`check-package: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
