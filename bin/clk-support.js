#!/usr/bin/env node
// Entry shim: plain JS so that an old Node prints a clear message instead of a syntax error,
// and so colour settings are fixed before chalk is loaded.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`clk-support needs Node.js >= 20.19 (found ${process.versions.node}).\n`);
  process.exit(2);
}
// chalk ignores NO_COLOR by design; FORCE_COLOR=0 is what it honours.
if ((process.env.NO_COLOR ?? '') !== '' || process.argv.includes('--no-color')) process.env.FORCE_COLOR = '0';
// The bundle (build/esm, made by `npm run build` and shipped in the package) starts several times
// faster than the compiled modules in dist/; dist/ is used when it is newer (a checkout rebuilt
// with tsc alone) or when there is no bundle.
import { statSync } from 'node:fs';
const mtime = (rel) => {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundled = mtime('../build/esm/cli.js');
const entry = bundled >= 0 && bundled >= mtime('../dist/cli.js') ? '../build/esm/cli.js' : '../dist/cli.js';
let cli;
try {
  cli = await import(entry);
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
    process.stderr.write('clk-support is not built: run `npm run build` (or `npm ci`, which builds) first.\n');
    process.exit(2);
  }
  throw err;
}
process.exitCode = await cli.main(process.argv.slice(2));
