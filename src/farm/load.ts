// Finding, reading and validating the farm file, with errors that name the file, the field and what was expected.
import { readFile } from 'node:fs/promises';
import { parse as parseJsonc, printParseErrorCode, type ParseError, type ParseErrorCode } from 'jsonc-parser';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { FarmFile, ServerConfig } from './schema.js';
import { discoverFarmFile, type FarmSource } from './discover.js';
import { suggestKey } from './did-you-mean.js';

// zod and the farm schema are large: loaded when a farm file is read, not when the CLI starts.
let schemaModule: typeof import('./schema.js') | undefined;

/** Load the farm schema; parseFarm needs it (loadFarm does this itself). */
export async function loadFarmSchema(): Promise<void> {
  schemaModule ??= await import('./schema.js');
}

export { FARM_FILE_NAME } from './discover.js';

export interface Farm extends FarmFile {
  /** Absolute path of the farm file. */
  file: string;
  /** Folder of the farm file: relative paths in it are resolved from here. */
  dir: string;
  /** How the file was found (--farm, CLK_FARM, working folder, parent, user config). */
  source?: FarmSource;
}

export async function loadFarm(explicit?: string, cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): Promise<Farm> {
  const { file, source } = await discoverFarmFile(explicit, { cwd, env });
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
  return { ...parseFarm(text, file), source };
}

/**
 * The farm file is JSON with comments and trailing commas allowed (JSONC, as VS Code's settings),
 * so the README's commented example can be pasted as it is.
 */
export function parseFarm(text: string, file: string): Farm {
  const errors: ParseError[] = [];
  const raw: unknown = parseJsonc(text.replace(/^\uFEFF/, ''), errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  if (errors.length) {
    const lines = errors.slice(0, 5).map((e) => `  ${file}:${lineColumn(text, e.offset)}: ${describeParseError(e.error)}`);
    throw new ConfigError(`${file}${':' + lineColumn(text, errors[0]!.offset)}: not valid JSON${errors.length > 1 ? ` (${errors.length} problems)` : ''}:\n${lines.join('\n')}`, {
      code: 'FARM_INVALID',
      hint: 'the farm file is JSON; // and /* */ comments and trailing commas are allowed',
    });
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
    case 'unrecognized_keys': {
      const named = issue.keys.map((k) => {
        const near = schemaModule ? suggestKey(schemaModule.farmSchema, issue.path, k) : undefined;
        return near ? `"${k}" (did you mean "${near}"?)` : `"${k}"`;
      });
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${named.join(', ')} (not part of the farm file format)`;
    }
    case 'invalid_format':
      if (typeof actual === 'string' && actual !== actual.toUpperCase() && typeof issue.pattern === 'string' && patternOf(issue.pattern).test(actual.toUpperCase()))
        return `${issue.message}: upper case, "${actual.toUpperCase()}"`;
      return issue.message;
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

/** zod reports a regex check's pattern as its source text, "/^...$/" (our own schema's patterns, not user input). */
function patternOf(text: string): RegExp {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(text);
  return m ? new RegExp(m[1]!, m[2]) : new RegExp(text);
}

/** 1-based line:column of a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return `${line}:${col}`;
}

function describeParseError(code: ParseErrorCode): string {
  const words: Partial<Record<string, string>> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'not a number',
    PropertyNameExpected: 'a "key" in double quotes was expected',
    ValueExpected: 'a value was expected',
    ColonExpected: 'a ":" was expected',
    CommaExpected: 'a "," was expected',
    CloseBraceExpected: 'a "}" was expected',
    CloseBracketExpected: 'a "]" was expected',
    EndOfFileExpected: 'nothing may follow the closing "}"',
    InvalidCommentToken: 'unfinished comment',
    UnexpectedEndOfComment: 'unfinished comment',
    UnexpectedEndOfString: 'unfinished string',
    UnexpectedEndOfNumber: 'unfinished number',
    InvalidUnicode: 'invalid \\u escape',
    InvalidEscapeCharacter: 'invalid escape (a backslash in a Windows path is written \\\\)',
    InvalidCharacter: 'invalid character in a string',
  };
  const name = printParseErrorCode(code);
  return words[name] ?? name;
}
