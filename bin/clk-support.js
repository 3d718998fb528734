#!/usr/bin/env node
// Entry shim: plain JS so that an old Node prints a clear message instead of a syntax error,
// and so colour settings are fixed before chalk is loaded.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script, constants as vmConstants } from 'node:vm';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`clk-support needs Node.js >= 20.19 (found ${process.versions.node}).\n`);
  process.exit(2);
}
// chalk ignores NO_COLOR by design; FORCE_COLOR=0 is what it honours.
if ((process.env.NO_COLOR ?? '') !== '' || process.argv.includes('--no-color')) process.env.FORCE_COLOR = '0';

const here = (rel) => fileURLToPath(new URL(rel, import.meta.url));
const mtime = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
};

/** Where V8's code cache of the bundle is kept: the user's cache folder (never required to work). */
function cacheDir() {
  if (process.env.CLK_SUPPORT_CACHE_DIR) return process.env.CLK_SUPPORT_CACHE_DIR;
  if (process.platform === 'win32') return join(process.env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local'), 'clk-support', 'cache');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'clk-support');
}

/**
 * The bundle as one CommonJS file, compiled with V8's code cache: Node 20 has no compile cache for
 * modules, and parsing and compiling the program is most of clk-support's start-up. The cache is
 * keyed by V8's version and the file's size and time; a missing, stale or rejected cache is simply
 * rebuilt after the run, and a cache folder that cannot be written costs nothing but the speed.
 */
function loadWithCodeCache(file) {
  const st = statSync(file);
  const cacheFile = join(cacheDir(), `cli-${process.versions.v8}-${st.size}-${Math.floor(st.mtimeMs)}.code-cache`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), {
    filename: file,
    cachedData,
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  const save =
    cachedData && !script.cachedDataRejected
      ? () => {}
      : () => {
          try {
            mkdirSync(dirname(cacheFile), { recursive: true });
            const temp = `${cacheFile}.${process.pid}.tmp`;
            writeFileSync(temp, script.createCachedData());
            renameSync(temp, cacheFile);
          } catch {
            /* a read-only home: run without the cache */
          }
        };
  return { cli: module.exports, save };
}

// The bundle (build/esm, made by `npm run build` and shipped in the package) starts several times
// faster than the compiled modules in dist/; dist/ is used when it is newer (a checkout rebuilt
// with tsc alone) or when there is no bundle.
const dist = mtime(here('../dist/cli.js'));
const cjs = here('../build/esm/cli.cjs');
let cli;
let save = () => {};
if (mtime(cjs) >= 0 && mtime(cjs) >= dist && process.env.CLK_SUPPORT_NO_CODE_CACHE !== '1') ({ cli, save } = loadWithCodeCache(cjs));
else {
  const esm = mtime(here('../build/esm/cli.js'));
  const entry = esm >= 0 && esm >= dist ? '../build/esm/cli.js' : '../dist/cli.js';
  try {
    cli = await import(entry);
  } catch (err) {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
      process.stderr.write('clk-support is not built: run `npm run build` first.\n');
      process.exit(2);
    }
    throw err;
  }
}
process.exitCode = await cli.main(process.argv.slice(2));
// After the run, so that the functions it compiled are in the cache too.
save();
