// What this build of clk-support is: version and supported Node range from package.json, and the
// commit it was built from. A bundle or single executable has these baked in at build time
// (scripts/bundle.mjs defines __CLK_BUILD__), because there is no package.json beside an .exe;
// running from dist/ reads package.json and asks git when the checkout has one.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface BuildInfo {
  version: string;
  nodeRange: string;
  commit: string;
  kind: 'sea' | 'bundle';
}

declare const __CLK_BUILD__: BuildInfo | undefined;

const baked: BuildInfo | undefined = typeof __CLK_BUILD__ === 'undefined' ? undefined : __CLK_BUILD__;

function fromPackageJson(): { version: string; nodeRange: string } {
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string; engines?: { node?: string } };
  return { version: pkg.version, nodeRange: pkg.engines?.node ?? '>=20' };
}

const pkg = baked ?? fromPackageJson();

export const VERSION: string = pkg.version;
/** The Node.js range package.json's "engines" declares. */
export const NODE_RANGE: string = pkg.nodeRange;

/** A 7-40 hex digit commit id, or 'unknown'. */
export function parseCommit(text: string): string {
  const c = text.trim().toLowerCase();
  return /^[0-9a-f]{7,40}$/.test(c) ? c : 'unknown';
}

let commitCache: string | undefined;

/** The commit this build came from: baked in, or read from the git checkout it runs in; 'unknown' otherwise. */
export function buildCommit(): string {
  if (commitCache) return commitCache;
  if (baked) return (commitCache = parseCommit(baked.commit));
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (!existsSync(join(root, '.git'))) return (commitCache = 'unknown');
  try {
    const out = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    return (commitCache = parseCommit(out));
  } catch {
    return (commitCache = 'unknown');
  }
}

export interface VersionReport {
  version: string;
  commit: string;
  platform: NodeJS.Platform;
  arch: string;
  node: string;
  /** 'sea' for the single executable, 'bundle' for the bundled file, 'dist' for the compiled sources. */
  build: 'sea' | 'bundle' | 'dist';
}

export function versionReport(): VersionReport {
  return {
    version: VERSION,
    commit: buildCommit(),
    platform: process.platform,
    arch: process.arch,
    node: process.versions.node,
    build: baked?.kind ?? 'dist',
  };
}
