// What clk-support keeps on this machine for licensing (the farm file's license.stateDir):
// the request journal (to bind a response to a request we issued), the backup index and the apply log.
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { restrictToOwner } from '../owner-only.js';
import { join } from 'node:path';
import type { Farm } from '../farm/load.js';
import { resolveLocalPath } from '../farm/load.js';
import { isRequestId } from './formats.js';

export function stateDirOf(farm: Farm): string {
  return resolveLocalPath(farm, farm.license.stateDir);
}

function requestPath(stateDir: string, requestId: string): string {
  // The id comes from a response: it must never pick the path.
  if (!isRequestId(requestId)) throw new Error(`not a request id: ${JSON.stringify(requestId)}`);
  return join(stateDir, 'requests', `${requestId.toLowerCase()}.xml`);
}

export async function saveRequestCopy(stateDir: string, requestId: string, bytes: Buffer): Promise<string> {
  const p = requestPath(stateDir, requestId);
  await ensureStateDir(stateDir);
  await mkdir(join(stateDir, 'requests'), { recursive: true });
  await writeFile(p, bytes, { flag: 'wx' });
  return p;
}

export async function loadRequestCopy(stateDir: string, requestId: string): Promise<Buffer | undefined> {
  try {
    return await readFile(requestPath(stateDir, requestId));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface BackupEntry {
  server: string;
  licensePath: string;
  /** The previous license, kept on the server beside the license; absent when there was none. */
  backupPath?: string;
  previousSha256?: string;
  newSha256: string;
}

export interface BackupRecord {
  type: 'apply';
  applyId: string;
  at: string;
  licenseId: string;
  sequence: number;
  servers: BackupEntry[];
}

export interface RollbackRecord {
  type: 'rollback';
  applyId: string;
  at: string;
}

/**
 * Create the state folder owner-only (0700, or an owner-only ACL on Windows) when clk-support makes
 * it; an existing folder the administrator chose is left as it is.
 */
export async function ensureStateDir(stateDir: string): Promise<void> {
  const created = await mkdir(stateDir, { recursive: true });
  if (created) await restrictToOwner(created, { folder: true });
}

export async function appendJsonLine(stateDir: string, name: string, value: unknown): Promise<void> {
  await ensureStateDir(stateDir);
  await appendFile(join(stateDir, name), `${JSON.stringify(value)}\n`);
}

export async function readJsonLines<T>(stateDir: string, name: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(join(stateDir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // A line cut short by a crash: the others still count.
    }
  }
  return out;
}

export const BACKUP_INDEX = 'backups.jsonl';
export const APPLY_LOG = 'apply.log';

/** The most recent apply that has not been rolled back yet. */
export async function lastUnrolledApply(stateDir: string): Promise<BackupRecord | undefined> {
  const records = await readJsonLines<BackupRecord | RollbackRecord>(stateDir, BACKUP_INDEX);
  const rolled = new Set(records.filter((r) => r.type === 'rollback').map((r) => r.applyId));
  return records.filter((r): r is BackupRecord => r.type === 'apply' && !rolled.has(r.applyId)).pop();
}
