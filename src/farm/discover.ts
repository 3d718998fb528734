// Which farm file a command uses, found the way git finds its repository: --farm, then CLK_FARM,
// then clk-farm.json in the working folder and its parents, then the user's config folder.
// A bare name (`--farm prod`) is a named farm: `prod.clk-farm.json` in the config folder.
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

export const FARM_FILE_NAME = 'clk-farm.json';

export type FarmSource = 'flag' | 'env' | 'cwd' | 'parent' | 'config';

export interface FarmLocation {
  file: string;
  source: FarmSource;
}

export interface DiscoverOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

/** `%APPDATA%\clk-support` on Windows, `$XDG_CONFIG_HOME/clk-support` (default ~/.config) elsewhere. */
export function userConfigDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform, home = homedir()): string {
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'clk-support');
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'clk-support');
}

/** A named farm is a bare word: no folder separator and no .json ending. */
export function isFarmName(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value) && !/\.json[c]?$/i.test(value);
}

export function namedFarmFile(name: string, configDir: string): string {
  return join(configDir, `${name}.${FARM_FILE_NAME}`);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** --farm or CLK_FARM: a path if one exists there, else a named farm in the config folder. */
async function resolveGiven(value: string, source: 'flag' | 'env', o: DiscoverOptions, configDir: string): Promise<FarmLocation> {
  const asPath = resolve(o.cwd, value);
  if (await isFile(asPath)) return { file: asPath, source };
  const tried = [asPath];
  if (isFarmName(value)) {
    const named = namedFarmFile(value, configDir);
    if (await isFile(named)) return { file: named, source };
    tried.push(named);
  }
  const from = source === 'flag' ? '--farm' : 'CLK_FARM';
  throw new ConfigError(`No farm file for ${from} ${JSON.stringify(value)}: tried ${tried.join(', ')}`, {
    code: 'FARM_NOT_FOUND',
    hint: isFarmName(value)
      ? `a named farm lives in ${configDir} as ${value}.${FARM_FILE_NAME}; create one with: clk-support farm init --out ${namedFarmFile(value, configDir)}`
      : 'check the path, or create a farm file with: clk-support farm init',
  });
}

export async function discoverFarmFile(explicit: string | undefined, o: DiscoverOptions): Promise<FarmLocation> {
  const configDir = userConfigDir(o.env, o.platform, o.home);
  if (explicit) return resolveGiven(explicit, 'flag', o, configDir);
  if (o.env.CLK_FARM) return resolveGiven(o.env.CLK_FARM, 'env', o, configDir);
  const searched: string[] = [];
  let dir = resolve(o.cwd);
  for (let depth = 0; depth < 64; depth++) {
    const candidate = join(dir, FARM_FILE_NAME);
    searched.push(dir);
    if (await isFile(candidate)) return { file: candidate, source: depth === 0 ? 'cwd' : 'parent' };
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const fromConfig = join(configDir, FARM_FILE_NAME);
  if (await isFile(fromConfig)) return { file: fromConfig, source: 'config' };
  throw new ConfigError(`No farm file: ${FARM_FILE_NAME} is not in ${resolve(o.cwd)} or its parents, and not in ${configDir}`, {
    code: 'FARM_NOT_FOUND',
    hint: `create one with \`clk-support farm init\`, pass --farm <file or name>, or set CLK_FARM; the demo farm is fixtures/demo-farm/${FARM_FILE_NAME}`,
  });
}

/** How a location was found, in words for `farm status`. */
export function describeFarmSource(source: FarmSource): string {
  switch (source) {
    case 'flag':
      return 'given with --farm';
    case 'env':
      return 'from CLK_FARM';
    case 'cwd':
      return 'found in the working folder';
    case 'parent':
      return 'found in a parent folder';
    case 'config':
      return 'from the user config folder';
  }
}
