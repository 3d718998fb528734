// Finding, reading and validating the farm file, with errors that name the file, the field and what was expected.
import { readFile, access } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { FarmFile, ServerConfig } from './schema.js';

// zod and the farm schema are large: loaded when a farm file is read, not when the CLI starts.
let schemaModule: typeof import('./schema.js') | undefined;

/** Load the farm schema; parseFarm needs it (loadFarm does this itself). */
export async function loadFarmSchema(): Promise<void> {
  schemaModule ??= await import('./schema.js');
}

export const FARM_FILE_NAME = 'clk-farm.json';

export interface Farm extends FarmFile {
  /** Absolute path of the farm file. */
  file: string;
  /** Folder of the farm file: relative paths in it are resolved from here. */
  dir: string;
}

/** The farm file given by --farm, else clk-farm.json in the working directory. */
export async function locateFarmFile(explicit: string | undefined, cwd = process.cwd()): Promise<string> {
  if (explicit) return resolve(cwd, explicit);
  const candidate = resolve(cwd, FARM_FILE_NAME);
  try {
    await access(candidate);
    return candidate;
  } catch {
    throw new ConfigError(`No farm file: ${FARM_FILE_NAME} is not in ${cwd}`, {
      code: 'FARM_NOT_FOUND',
      hint: `pass --farm <file>, or create ${FARM_FILE_NAME} (see the README, "Farm file"); the demo farm is fixtures/demo-farm/clk-farm.json`,
    });
  }
}

export async function loadFarm(explicit?: string, cwd = process.cwd()): Promise<Farm> {
  const file = await locateFarmFile(explicit, cwd);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`Cannot read farm file ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? String(err)}`, {
      code: 'FARM_UNREADABLE',
      hint: code === 'ENOENT' ? 'check the path given to --farm' : undefined,
    });
  }
  await loadFarmSchema();
  return parseFarm(text, file);
}

export function parseFarm(text: string, file: string): Farm {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const where = jsonErrorLocation(text, err);
    throw new ConfigError(`${file}${where}: not valid JSON (${(err as Error).message})`, { code: 'FARM_INVALID' });
  }
  if (!schemaModule) throw new Error('parseFarm: the farm schema is not loaded (await loadFarmSchema() first)');
  const parsed = schemaModule.farmSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 20).map((issue) => `  ${file}: ${formatPath(issue.path)}: ${describeIssue(issue, valueAt(raw, issue.path))}`);
    const more = parsed.error.issues.length > 20 ? `\n  ... and ${parsed.error.issues.length - 20} more` : '';
    throw new ConfigError(`Invalid farm file (${parsed.error.issues.length} problem${parsed.error.issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}${more}`, {
      code: 'FARM_INVALID',
      hint: 'the farm file format is described in the README, section "Farm file"',
    });
  }
  return { ...parsed.data, file, dir: dirname(file) };
}

/** Paths in the farm file that live on this machine (share roots, key files) are relative to the farm file. */
export function resolveLocalPath(farm: Pick<Farm, 'dir'>, p: string): string {
  if (isAbsolute(p) || /^\\\\/.test(p) || /^[A-Za-z]:[\\/]/.test(p)) return p;
  return resolve(farm.dir, p);
}

export function findServer(farm: Farm, name: string): ServerConfig {
  const s = farm.servers.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!s)
    throw new ConfigError(`No server "${name}" in ${farm.file}`, {
      code: 'SERVER_UNKNOWN',
      hint: `servers in this farm: ${farm.servers.map((x) => x.name).join(', ')}`,
    });
  return s;
}

/** Select servers by --server names (all when none given). */
export function selectServers(farm: Farm, names: readonly string[] | undefined): ServerConfig[] {
  if (!names || names.length === 0) return farm.servers;
  return names.map((n) => findServer(farm, n));
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function describeIssue(issue: z.core.$ZodIssue, actual: unknown): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (not part of the farm file format)`;
    case 'invalid_type':
      return actual === undefined ? `required, expected ${issue.expected}` : `expected ${issue.expected}, got ${typeOf(actual)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(actual)}`;
    case 'invalid_union':
      if ((issue as { note?: string }).note === 'No matching discriminator')
        return `"type" must be one of "local", "share", "ssh"`;
      return `${issue.message}`;
    default:
      return issue.message;
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function jsonErrorLocation(text: string, err: unknown): string {
  const m = /position (\d+)/.exec((err as Error).message);
  if (!m) return '';
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `:${line}:${col}`;
}
