// `license rollback`: put back the license each server had before the last apply, from the backup
// kept beside the license on that server (so it works from any machine), checked against its hash.
import type { Farm } from '../farm/load.js';
import type { ServerConfig } from '../farm/schema.js';
import type { Transport } from '../farm/transports/transport.js';
import { probeFarm } from '../farm/probe.js';
import { joinServerPath, serverBasename, serverDirname } from '../farm/paths.js';
import { TransportError } from '../farm/transports/transport.js';
import { errorMessage } from '../errors.js';
import { sha256Hex } from './crypto.js';
import { LicenseError } from './errors.js';
import { acquireLocalLock, acquireServerLock, newOwner, type HeldLock } from './lock.js';
import { appendJsonLine, BACKUP_INDEX, lastUnrolledApply, stateDirOf, type BackupEntry } from './state.js';
import { MAX_LICENSE_BYTES } from './xml.js';
import { refuseUnsafeLicensePaths } from './contained.js';
import { serverLockPath } from './lock.js';

export const LICENSE_ROLLBACK_SCHEMA = 'clk-support/license-rollback/v1';

export interface RollbackServerRow {
  server: string;
  /** would-restore / would-remove: what --check found to do (nothing was changed). */
  action: 'restored' | 'removed' | 'would-restore' | 'would-remove' | 'unchanged' | 'skipped-unreachable' | 'no-backup';
  backupPath?: string;
  /** The license rollback replaced, kept beside it (License.xml.pre-rollback-<time>-<hash>). */
  replacedBackupPath?: string;
  sha256?: string;
  detail?: string;
}

export interface RollbackReport {
  schema: typeof LICENSE_ROLLBACK_SCHEMA;
  /** The apply being undone, when this machine recorded it. */
  applyId?: string;
  licenseId?: string;
  source: 'local-record' | 'server-backups';
  check: boolean;
  servers: RollbackServerRow[];
  warnings: string[];
}

export interface RollbackOptions {
  servers?: readonly string[];
  check?: boolean;
  /** Roll back even where the installed license is not what the last apply installed. */
  force?: boolean;
  breakLock?: boolean;
  signal?: AbortSignal;
  transports?: Map<string, Transport>;
}

const BACKUP_RE = /\.bak-(\d{8}T\d{6}Z)-([0-9a-f]{8})$/;

interface Plan {
  server: ServerConfig;
  licensePath: string;
  backupPath?: string;
  /** Full hash from the local record, or the 8-hex prefix from the backup's name. */
  expectSha: string;
  /** No license existed before: rollback removes it. */
  removeOnly: boolean;
  /** What the apply installed (from the local record): the license must still be that one. */
  installedSha?: string;
}

/** Newest backup beside the license on the server, by the timestamp in its name. */
export async function findNewestBackup(t: Transport, licensePath: string): Promise<{ path: string; sha8: string } | undefined> {
  const dir = serverDirname(t.platform, licensePath);
  const base = serverBasename(t.platform, licensePath);
  let entries;
  try {
    entries = await t.list(dir);
  } catch {
    return undefined;
  }
  const found = entries
    .filter((e) => e.type === 'file' && e.name.startsWith(`${base}.bak-`))
    .map((e) => ({ e, m: BACKUP_RE.exec(e.name) }))
    .filter((x): x is { e: typeof x.e; m: RegExpExecArray } => Boolean(x.m))
    .sort((a, b) => b.m[1].localeCompare(a.m[1]))[0];
  return found && { path: found.e.path, sha8: found.m[2] };
}

export async function rollbackLicense(farm: Farm, opts: RollbackOptions = {}): Promise<RollbackReport> {
  const stateDir = stateDirOf(farm);
  const record = await lastUnrolledApply(stateDir);
  const wanted = (name: string) => !opts.servers?.length || opts.servers.some((n) => n.toLowerCase() === name.toLowerCase());
  const servers = farm.servers.filter((s) => s.license && wanted(s.name) && (!record || record.servers.some((e) => e.server === s.name)));
  const warnings: string[] = [];
  const rows: RollbackServerRow[] = [];
  const own: Transport[] = [];
  const transports = new Map<string, Transport>();
  const owner = newOwner('license rollback');
  const held: HeldLock[] = [];
  try {
    const toProbe = servers.filter((s) => !opts.transports?.has(s.name));
    for (const s of servers) if (opts.transports?.has(s.name)) transports.set(s.name, opts.transports.get(s.name)!);
    if (toProbe.length) {
      const p = await probeFarm(farm, toProbe, { keepOpen: true, signal: opts.signal });
      p.transports.forEach((t, n) => {
        transports.set(n, t);
        own.push(t);
      });
    }
    // Containment first: a license or lock reached through a link out of the root is never touched.
    await refuseUnsafeLicensePaths(
      servers.flatMap((s) => {
        const t = transports.get(s.name);
        const licensePath = record?.servers.find((e) => e.server === s.name)?.licensePath ?? s.license!.path;
        return t ? [{ server: s.name, transport: t, files: [licensePath, serverLockPath(t.platform, licensePath)] }] : [];
      }),
    );
    const plans: Plan[] = [];
    for (const s of servers) {
      const t = transports.get(s.name);
      if (!t) {
        rows.push({ server: s.name, action: 'skipped-unreachable' });
        warnings.push(`${s.name} is unreachable: roll it back when it is back`);
        continue;
      }
      const entry: BackupEntry | undefined = record?.servers.find((e) => e.server === s.name);
      if (entry) {
        if (entry.backupPath && entry.previousSha256) plans.push({ server: s, licensePath: entry.licensePath, backupPath: entry.backupPath, expectSha: entry.previousSha256, removeOnly: false, installedSha: entry.newSha256 });
        else plans.push({ server: s, licensePath: entry.licensePath, expectSha: '', removeOnly: true, installedSha: entry.newSha256 });
        continue;
      }
      const found = await findNewestBackup(t, s.license!.path);
      if (!found) {
        rows.push({ server: s.name, action: 'no-backup' });
        continue;
      }
      plans.push({ server: s, licensePath: s.license!.path, backupPath: found.path, expectSha: found.sha8, removeOnly: false });
    }
    if (plans.length === 0)
      throw new LicenseError('LICENSE_NO_BACKUP', 'There is no license backup to restore on any reachable server', 'a backup is made by `license apply` beside each license (License.xml.bak-<time>-<hash>); nothing has been applied yet, or the backups were removed');

    // The backups found, too: one reached through a link out of the root is never read.
    await refuseUnsafeLicensePaths(plans.filter((p) => p.backupPath).map((p) => ({ server: p.server.name, transport: transports.get(p.server.name)!, files: [p.backupPath!] })));

    // Read and check every backup before touching anything.
    const restored = new Map<Plan, Buffer>();
    for (const p of plans) {
      if (p.removeOnly) continue;
      const t = transports.get(p.server.name)!;
      let bytes: Buffer;
      try {
        bytes = await t.readFile(p.backupPath!, { maxBytes: MAX_LICENSE_BYTES });
      } catch (err) {
        throw new LicenseError('LICENSE_NO_BACKUP', `${p.server.name}: the backup ${p.backupPath} cannot be read: ${errorMessage(err)}`, 'nothing was changed; restore that server by hand or re-apply a response');
      }
      if (!sha256Hex(bytes).startsWith(p.expectSha))
        throw new LicenseError('LICENSE_NO_BACKUP', `${p.server.name}: the backup ${p.backupPath} was altered (its hash does not match)`, 'nothing was changed; do not use that backup');
      restored.set(p, bytes);
    }
    if (!opts.check) {
      held.push(await acquireLocalLock(stateDir, owner, Boolean(opts.breakLock)));
      for (const p of plans) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        held.push(await acquireServerLock(transports.get(p.server.name)!, p.licensePath, owner, Boolean(opts.breakLock)));
      }
      for (const h of held) warnings.push(...h.notes);
    }

    // What is installed now must be what the apply installed: a newer license (an apply that crashed
    // part way, or one made from another machine or state folder) is never replaced by an older one.
    const current = new Map<Plan, Buffer | undefined>();
    const changed: string[] = [];
    for (const p of plans) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const t = transports.get(p.server.name)!;
      let now: Buffer | undefined;
      try {
        now = await t.readFile(p.licensePath, { maxBytes: MAX_LICENSE_BYTES });
      } catch (err) {
        if (!(err instanceof TransportError && err.reason === 'not-found')) throw err;
      }
      current.set(p, now);
      const want = p.installedSha;
      if (want === undefined) continue; // no local record: the newest backup is all there is to go by
      const have = now ? sha256Hex(now) : undefined;
      if (have !== want) changed.push(`${p.server.name} (${have ? `its license is ${have.slice(0, 12)}…` : 'it has no license'}, the apply installed ${want.slice(0, 12)}…)`);
    }
    if (changed.length && !opts.force)
      throw new LicenseError(
        'LICENSE_ROLLBACK_CURRENT_CHANGED',
        `What is installed on ${changed.join('; ')} is not what the last apply from this state folder installed${record ? ` (${record.applyId}, ${record.licenseId})` : ''}: nothing was changed${warnings.length ? ` (${warnings.join('; ')})` : ''}`,
        'a later apply (from another machine, or one that was interrupted) installed a newer license: check `clk-support license status`; pass --force to roll back anyway (what is replaced is backed up first)',
        { servers: changed.map((c) => c.split(' ')[0]) },
      );
    if (changed.length) warnings.push(`--force: rolling back although ${changed.join('; ')}`);

    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    for (const p of plans) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const t = transports.get(p.server.name)!;
      const bytes = restored.get(p);
      const now = current.get(p);
      if (opts.check) {
        rows.push({ server: p.server.name, action: p.removeOnly ? 'would-remove' : 'would-restore', backupPath: p.backupPath, detail: 'nothing changed (--check)' });
        continue;
      }
      if (now && bytes && sha256Hex(now) === sha256Hex(bytes)) {
        rows.push({ server: p.server.name, action: 'unchanged', backupPath: p.backupPath, detail: 'the backup is already installed' });
        continue;
      }
      // Nothing a user had is overwritten without a backup: keep what rollback replaces beside it.
      let replacedPath: string | undefined;
      if (now) {
        replacedPath = joinServerPath(t.platform, serverDirname(t.platform, p.licensePath), `${serverBasename(t.platform, p.licensePath)}.pre-rollback-${stamp}-${sha256Hex(now).slice(0, 8)}`);
        await t.writeFileAtomic(replacedPath, now);
        const back = await t.readFile(replacedPath, { maxBytes: MAX_LICENSE_BYTES });
        if (sha256Hex(back) !== sha256Hex(now)) throw new LicenseError('LICENSE_ROLLBACK_INCOMPLETE', `${p.server.name}: the copy of the current license ${replacedPath} does not read back identical`, 'nothing was replaced on that server; check its disk');
      }
      if (p.removeOnly) {
        await t.remove(p.licensePath);
        rows.push({ server: p.server.name, action: 'removed', replacedBackupPath: replacedPath, detail: 'there was no license before the last apply' });
        continue;
      }
      await t.writeFileAtomic(p.licensePath, bytes!);
      const back = await t.readFile(p.licensePath, { maxBytes: MAX_LICENSE_BYTES });
      if (sha256Hex(back) !== sha256Hex(bytes!)) throw new LicenseError('LICENSE_ROLLBACK_INCOMPLETE', `${p.server.name}: the restored license does not read back identical`, `restore ${p.backupPath} by hand`);
      rows.push({ server: p.server.name, action: 'restored', backupPath: p.backupPath, replacedBackupPath: replacedPath, sha256: sha256Hex(bytes!) });
    }
    if (record && !opts.check) await appendJsonLine(stateDir, BACKUP_INDEX, { type: 'rollback', applyId: record.applyId, at: new Date().toISOString(), servers: rows });
    return { schema: LICENSE_ROLLBACK_SCHEMA, applyId: record?.applyId, licenseId: record?.licenseId, source: record ? 'local-record' : 'server-backups', check: Boolean(opts.check), servers: rows, warnings };
  } finally {
    for (const h of held.reverse()) await h.release().catch(() => {});
    await Promise.all(own.map((t) => t.close().catch(() => {})));
  }
}
