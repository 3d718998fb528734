#!/usr/bin/env node
// Bundles the CLI into build/esm/ (what bin/clk-support.js loads when present: a few files parse
// and start much faster than ~150 ES modules and their packages) and build/sea.cjs (the main script
// of the single executables, see scripts/build-exe.mjs). Version, Node range and commit are baked
// in, since there is no package.json beside an .exe. The Tracer and .evtx workers are entries beside the
// bundle; the single executable has no file to start a worker from and scans on its main thread.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function commit() {
  if (process.env.CLK_COMMIT) return process.env.CLK_COMMIT;
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const info = { version: pkg.version, nodeRange: pkg.engines?.node ?? '>=20', commit: commit() };

// chalk decides on colour when it loads; the shim's NO_COLOR rule must run before (the .exe has no shim).
const colourRule = `if ((process.env.NO_COLOR ?? '') !== '' || process.argv.includes('--no-color')) process.env.FORCE_COLOR = '0';`;

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'cjs',
  // ssh2's native crypto binding and cpu-features are optional: left out, ssh2 uses its JavaScript paths.
  external: ['*.node', 'cpu-features'],
  // Prefer a package's ES module build: jsonc-parser's UMD build requires its parts at run time,
  // which a bundle cannot resolve.
  mainFields: ['module', 'main'],
  define: { 'import.meta.url': '__clk_import_meta_url' },
  legalComments: 'none',
  logLevel: 'warning',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: true,
  sourcemap: false,
};

mkdirSync(out, { recursive: true });
const tmp = (name) => join(out, `.${name}.tmp`);

async function one(name, kind, extra = {}) {
  await build({
    ...common,
    entryPoints: [join(root, 'src/cli.ts')],
    outfile: tmp(name),
    define: { ...common.define, __CLK_BUILD__: JSON.stringify({ ...info, kind }) },
    banner: { js: `var __clk_import_meta_url = require('node:url').pathToFileURL(__filename).href;` },
    ...extra,
  });
  renameSync(tmp(name), join(out, name));
}

// The npm package: ES modules split at every dynamic import(), so that ssh2, zod, execa and the
// prompts load only when a command needs them. Free __dirname/__filename/require in bundled CommonJS
// packages (ssh2) get module-local values.
const esm = await build({
  ...common,
  metafile: true,
  format: 'esm',
  splitting: true,
  entryPoints: { cli: join(root, 'src/cli.ts'), 'tracer-worker': join(root, 'src/incident/tracer-worker.ts'), 'evtx-worker': join(root, 'src/logs/evtx/evtx-worker.ts') },
  outdir: join(out, '.esm.tmp'),
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  define: { __CLK_BUILD__: JSON.stringify({ ...info, kind: 'bundle' }) },
  banner: {
    js:
      "import { createRequire as __clkRequire } from 'node:module'; import { fileURLToPath as __clkPath } from 'node:url'; import { dirname as __clkDir } from 'node:path';" +
      ' const require = __clkRequire(import.meta.url); const __filename = __clkPath(import.meta.url); const __dirname = __clkDir(__filename);',
  },
});

// Bundling drops the packages' own files, so their licences and notices (MIT and ISC ask for the
// copyright notice, Apache-2.0 for the NOTICE file) travel in one file beside the bundle.
function thirdPartyNotices(metafile) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    // The innermost node_modules: a nested copy is its own package (and version).
    const at = input.lastIndexOf('node_modules/');
    const m = at < 0 ? null : /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input.slice(at));
    if (!m) continue;
    const dir = join(root, input.slice(0, at + m[0].length));
    const meta = existsSync(join(dir, 'package.json')) ? JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) : {};
    const key = `${m[1]}@${meta.version ?? ''}`;
    if (!packages.has(key)) packages.set(key, dir);
  }
  const parts = ['Third-party software bundled into clk-support, with the licence and notice files each package ships.\n'];
  for (const [name, dir] of [...packages].sort((a, b) => a[0].localeCompare(b[0]))) {
    const meta = existsSync(join(dir, 'package.json')) ? JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) : {};
    const files = readdirSync(dir).filter((f) => /^(licen[cs]e|notice|copying)(\.|$)/i.test(f)).sort();
    parts.push(`${'='.repeat(78)}\n${name} (${typeof meta.license === 'string' ? meta.license : 'see below'})\n${'='.repeat(78)}`);
    if (files.length === 0) parts.push(`(the package ships no licence file; package.json says: ${JSON.stringify(meta.license ?? 'nothing')})`);
    for (const f of files) parts.push(readFileSync(join(dir, f), 'utf8').trim());
    parts.push('');
  }
  return parts.join('\n\n');
}

writeFileSync(join(out, '.esm.tmp', 'THIRD-PARTY-NOTICES.txt'), thirdPartyNotices(esm.metafile));
rmSync(join(out, 'esm'), { recursive: true, force: true });
renameSync(join(out, '.esm.tmp'), join(out, 'esm'));

// The npm package's fast path: the same program as one CommonJS file, which bin/clk-support.js
// compiles with V8's code cache (kept in the user's cache folder), so that later starts skip most
// parsing and compiling. Beside the ES modules, so that the Tracer worker is found next to it.
// ECharts (1 MB, only for the timeline page) stays out of it, in its own file required when a page
// is drawn: a bigger cli.cjs costs every command's start-up.
const chartsBeside = {
  name: 'charts-beside',
  setup(b) {
    b.onResolve({ filter: /[/\\]timeline-charts\.js$/ }, (args) => ({ path: args.path, namespace: 'charts-beside' }));
    b.onLoad({ filter: /.*/, namespace: 'charts-beside' }, () => ({
      contents: "module.exports = require(require('node:path').join(__dirname, 'timeline-charts.cjs'));",
      loader: 'js',
    }));
  },
};
await build({
  ...common,
  entryPoints: [join(root, 'src/incident/timeline-charts.ts')],
  outfile: join(out, 'timeline-charts.cjs'),
});
await one('cli.cjs', 'bundle', { plugins: [chartsBeside] });
renameSync(join(out, 'timeline-charts.cjs'), join(out, 'esm', 'timeline-charts.cjs'));
renameSync(join(out, 'cli.cjs'), join(out, 'esm', 'cli.cjs'));

// The single executables' main script: one CommonJS file (what node:sea runs).
await one('sea.cjs', 'sea', {
  banner: { js: `${colourRule}\nvar __clk_import_meta_url = require('node:url').pathToFileURL(__filename).href;` },
  footer: { js: `module.exports.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });` },
});
process.stderr.write(`bundled ${pkg.version} (${info.commit.slice(0, 12)}) into ${out}\n`);
