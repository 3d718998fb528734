// `license apply`: verify a signed response in a fixed order (each refusal has its own code), then
// install it on every covered server at once: lock, back up, write beside and rename, verify, and
// put every server back as it was if any one of them fails.
import { randomUUID } from 'node:crypto';
import { constants, open } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Farm } from '../farm/load.js';
import type { ServerConfig } from '../farm/schema.js';
import type { Transport } from '../farm/transports/transport.js';
import { readIdentity, type ServerIdentity } from '../farm/identity.js';
import { probeFarm } from '../farm/probe.js';
import { joinServerPath, serverBasename, serverDirname } from '../farm/paths.js';
import { ClkError, errorMessage, InterruptedError, isAbortError } from '../errors.js';
import { untilAborted } from '../abort.js';
import { loadTrustedKeys, sha256Hex, type TrustedKey } from './crypto.js';
import { LicenseError, licenseConfigError } from './errors.js';
import { explainMismatch, matchFingerprint } from './fingerprint.js';
import { parseRequest, type LicenseGrant } from './formats.js';
import { BadSignatureError, readInstalledLicense, UntrustedKeyError, verifyEnvelopeBytes, type InstalledLicense } from './installed.js';
import { checkAdminRights } from './admin.js';
import { acquireLocalLock, acquireServerLock, newOwner, type HeldLock } from './lock.js';
import { APPLY_LOG, appendJsonLine, BACKUP_INDEX, loadRequestCopy, stateDirOf, type BackupEntry, type BackupRecord } from './state.js';
import { MAX_LICENSE_BYTES } from './xml.js';
import { refuseUnsafeLicensePaths } from './contained.js';
import { serverLockPath } from './lock.js';
import { plural } from '../format.js';

export const LICENSE_APPLY_SCHEMA = 'clk-support/license-apply/v1';
/** An issue date this far ahead of our clock is still accepted (clocks drift); beyond it, refused. */
export const ISSUE_CLOCK_TOLERANCE_MS = 5 * 60 * 1000;
const DAY_MS = 86_400_000;

export interface ApplyOptions {
  /** Run every check, write nothing anywhere. */
  check?: boolean;
  /** With check: still log a refusal in the apply log (the check pass of a real apply). */
  logRefusal?: boolean;
  allowDowngrade?: boolean;
  /** Install on the covered servers that are reachable even if some covered server is not. */
  allowPartial?: boolean;
  /** Only these covered servers (default: every covered server in the farm). */
  servers?: readonly string[];
  breakLock?: boolean;
  signal?: AbortSignal;
  now?: Date;
  /** Open transports to use instead of probing (tests, or a caller that already probed). */
  transports?: Map<string, Transport>;
  onStep?: (step: string) => void;
}

export type ServerAction = 'installed' | 'unchanged' | 'would-install' | 'skipped-unreachable';

export interface ApplyServerRow {
  server: string;
  reachable: boolean;
  reason?: string;
  covered: boolean;
  fingerprintMatch?: boolean;
  admin?: boolean;
  previous?: { licenseId?: string; sequence?: number; notAfter?: string; sha256?: string; genuine: boolean };
  action?: ServerAction;
  backupPath?: string;
}

export interface ApplyReport {
  schema: typeof LICENSE_APPLY_SCHEMA;
  file: string;
  outcome: 'applied' | 'already-applied' | 'checked' | 'partial';
  applyId?: string;
  license: {
    licenseId: string;
    responseId: string;
    requestId: string;
    keyId: string;
    issuedAt: string;
    notBefore: string;
    notAfter: string;
    daysLeft: number;
    sequence: number;
    covers: string[];
    sha256: string;
  };
  previousSequence?: number;
  servers: ApplyServerRow[];
  /** Farm servers the response does not cover (they need a request of their own). */
  notCovered: string[];
  warnings: string[];
}

interface Target {
  server: ServerConfig;
  licensePath: string;
  transport?: Transport;
  identity?: ServerIdentity;
  reason?: string;
  installed?: InstalledLicense;
  row: ApplyServerRow;
}

export async function applyLicense(farm: Farm, file: string, opts: ApplyOptions = {}): Promise<ApplyReport> {
  const stateDir = stateDirOf(farm);
  const started = new Date().toISOString();
  try {
    const report = await applyInner(farm, file, opts);
    if (!opts.check)
      await appendJsonLine(stateDir, APPLY_LOG, logLine(started, file, report.outcome, undefined, report)).catch(() => {});
    return report;
  } catch (err) {
    // --check writes nothing anywhere, not even the log.
    if (!opts.check || opts.logRefusal) await appendJsonLine(stateDir, APPLY_LOG, { ...logLine(started, file, 'refused', err), checkOnly: Boolean(opts.check) }).catch(() => {});
    throw err;
  }
}

function logLine(at: string, file: string, outcome: string, err?: unknown, report?: ApplyReport) {
  return {
    at,
    finishedAt: new Date().toISOString(),
    by: `${safeUser()}@${hostname()}`,
    pid: process.pid,
    file,
    outcome,
    code: err instanceof ClkError ? err.code : err ? 'UNEXPECTED' : undefined,
    message: err ? errorMessage(err) : undefined,
    applyId: report?.applyId,
    licenseId: report?.license.licenseId,
    sequence: report?.license.sequence,
    servers: report?.servers.map((s) => ({ server: s.server, action: s.action, backupPath: s.backupPath })),
  };
}

function safeUser(): string {
  try {
    return process.env.USERNAME ?? process.env.USER ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Only a regular file is read, its size checked before reading: opened non-blocking (a FIFO or a
 * device never blocks the command) and checked on the open handle, so a swap after a stat cannot slip through.
 */
async function readResponseFile(file: string): Promise<Buffer> {
  const unreadable = (err: unknown, hint: string) =>
    new LicenseError('LICENSE_FILE_UNREADABLE', `Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`, hint);
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => {
    throw unreadable(err, 'check the path and the permissions of the response file');
  });
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new LicenseError(
        'LICENSE_NOT_A_FILE',
        `${file} is ${st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a pipe (FIFO)' : st.isSocket() ? 'a socket' : 'a device or special file'}, not a regular file`,
        'give the path of the response file SAP sent, saved as a file',
      );
    if (st.size > MAX_LICENSE_BYTES)
      throw new LicenseError('LICENSE_TOO_LARGE', `${file} is ${st.size} bytes, more than the ${MAX_LICENSE_BYTES} a license response can be`, 'this is not a clk-support license response: check that you picked the file SAP sent');
    // Read at most the limit even if the file grows meanwhile.
    const buf = Buffer.alloc(Math.min(st.size, MAX_LICENSE_BYTES) + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, total, buf.length - total, total).catch((err: unknown) => {
        throw unreadable(err, 'copy the response file to a local disk and try again');
      });
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total === buf.length) break;
    }
    if (total > MAX_LICENSE_BYTES)
      throw new LicenseError('LICENSE_TOO_LARGE', `${file} is larger than the ${MAX_LICENSE_BYTES} bytes a license response can be`, 'this is not a clk-support license response');
    return buf.subarray(0, total);
  } finally {
    await fh.close();
  }
}

/** Steps 1-5: the file itself, its signature, the farm, the request it answers, its dates. No server is touched. */
export async function verifyResponse(
  farm: Farm,
  bytes: Buffer,
  file: string,
  now: Date,
): Promise<{ grant: LicenseGrant; keyId: string; warnings: string[]; keys: TrustedKey[] }> {
  const keys = await loadTrustedKeys(farm);
  if (keys.length === 0)
    throw licenseConfigError(`${farm.file} trusts no license signing key`, 'add the public key SAP/your signer gave you to license.trustedKeys ({ "id": ..., "publicKeyFile": ... }) in the farm file; see docs/license.md');
  let grant: LicenseGrant;
  let keyId: string;
  try {
    ({ grant, keyId } = verifyEnvelopeBytes(bytes, keys, file));
  } catch (err) {
    if (err instanceof UntrustedKeyError)
      throw new LicenseError('LICENSE_KEY_UNTRUSTED', `${file} is ${err.message} (trusted: ${keys.map((k) => k.id).join(', ')})`, 'a response is only accepted from a key listed in license.trustedKeys of the farm file; if this key is genuinely SAP\'s, add its public key there');
    if (err instanceof BadSignatureError)
      throw new LicenseError('LICENSE_SIGNATURE_INVALID', `${file}: ${err.message}: the file was altered after it was signed, or signed by someone else`, 'do not use this file: get the original response again (transfer it as binary, do not open it in an editor)');
    throw err;
  }
  const warnings: string[] = [];
  const c = grant.customer;
  const f = farm.farm;
  if (c.customerNumber !== f.customerNumber || c.installationNumber !== f.installationNumber || c.systemId !== f.systemId)
    throw new LicenseError(
      'LICENSE_WRONG_FARM',
      `${file} is for customer ${c.customerNumber}, installation ${c.installationNumber}, system ${c.systemId}; this farm is ${f.customerNumber} / ${f.installationNumber} / ${f.systemId}`,
      'use the response issued for this farm\'s request, or pass the right --farm file',
    );
  const foreign = grant.covered.filter((s) => !farm.servers.some((x) => x.name.toLowerCase() === s.name.toLowerCase()));
  if (foreign.length)
    throw new LicenseError('LICENSE_WRONG_FARM', `${file} covers ${foreign.map((s) => s.name).join(', ')}, which ${foreign.length === 1 ? 'is' : 'are'} not in ${farm.file}`, 'this response was made for another farm (or the farm file lost servers): use the response for this farm\'s request');

  const stateDir = stateDirOf(farm);
  const journal = await loadRequestCopy(stateDir, grant.requestId);
  if (!journal)
    throw new LicenseError('LICENSE_REQUEST_UNKNOWN', `${file} answers request ${grant.requestId}, which was not issued from this machine's state folder (${stateDir})`, 'apply it where the request was made (or copy that machine\'s requests/ folder from the state folder), or make a new request with `clk-support license request`');
  if (sha256Hex(journal) !== grant.requestSha256)
    throw new LicenseError('LICENSE_REQUEST_UNKNOWN', `${file} names request ${grant.requestId} but its hash does not match the request we issued`, 'the response was made from a different or edited request file: ask for a response to the request as written');
  const request = parseRequest(journal, `request ${grant.requestId}`);
  if (request.nonce !== grant.nonce)
    throw new LicenseError('LICENSE_REQUEST_UNKNOWN', `${file}: the nonce does not match request ${grant.requestId}`, 'the response does not answer our request: ask SAP for a response to the request as written');

  const t = now.getTime();
  if (Date.parse(grant.issuedAt) > t + ISSUE_CLOCK_TOLERANCE_MS)
    throw new LicenseError('LICENSE_NOT_YET_VALID', `${file} was issued at ${grant.issuedAt}, which is in the future for this machine (now ${now.toISOString()})`, 'check this machine\'s clock (and time zone); a response cannot have been issued later than now');
  if (Date.parse(grant.notBefore) > t)
    throw new LicenseError('LICENSE_NOT_YET_VALID', `${file} is not valid before ${grant.notBefore}`, `apply it on or after ${grant.notBefore}, or ask SAP for a license valid from today`);
  if (Date.parse(grant.notAfter) < t)
    throw new LicenseError('LICENSE_EXPIRED', `${file} expired on ${grant.notAfter}`, 'ask SAP (component XX-PART-CLK-LKY) for a new license with a new request');
  const days = Math.floor((Date.parse(grant.notAfter) - t) / DAY_MS);
  if (days < farm.settings.licenseExpiryWarnDays) warnings.push(`license ${grant.licenseId} expires in ${plural(days, 'day')} (${grant.notAfter}): request its renewal now`);
  return { grant, keyId, warnings, keys };
}

export async function applyInner(farm: Farm, file: string, opts: ApplyOptions): Promise<ApplyReport> {
  const now = opts.now ?? new Date();
  const step = opts.onStep ?? (() => {});
  step('verifying the response');
  const bytes = await readResponseFile(file);
  const { grant, keyId, warnings, keys } = await verifyResponse(farm, bytes, file, now);
  const newSha = sha256Hex(bytes);
  const coveredNames = new Set(grant.covered.map((c) => c.name.toLowerCase()));
  const isCovered = (name: string) => coveredNames.has(name.toLowerCase());

  // Which servers to install on: "this server" (a local one) must be covered, and so must any named.
  const localServers = farm.servers.filter((s) => s.transport.type === 'local');
  const named = opts.servers?.length ? opts.servers.map((n) => farm.servers.find((s) => s.name.toLowerCase() === n.toLowerCase()) ?? n) : undefined;
  const unknown = named?.filter((s): s is string => typeof s === 'string') ?? [];
  if (unknown.length) throw licenseConfigError(`No server ${unknown.join(', ')} in ${farm.file}`, `servers in this farm: ${farm.servers.map((s) => s.name).join(', ')}`);
  const notCovered = [...(named as ServerConfig[] | undefined ?? []), ...localServers].filter((s) => !isCovered(s.name));
  if (notCovered.length)
    throw new LicenseError(
      'LICENSE_SERVER_NOT_COVERED',
      `${notCovered.map((s) => s.name).join(', ')} ${notCovered.length === 1 ? 'is' : 'are'} not covered by license ${grant.licenseId} (it covers ${grant.covered.map((c) => c.name).join(', ')})`,
      'a server that was not reachable when the request was made needs its own request: run `clk-support license request` while it is online',
      { servers: notCovered.map((s) => s.name) },
    );
  const selected = (named as ServerConfig[] | undefined) ?? farm.servers.filter((s) => isCovered(s.name));
  for (const s of farm.servers.filter((x) => !isCovered(x.name))) warnings.push(`${s.name} is in the farm file but not covered by license ${grant.licenseId}: it needs its own request`);
  const noPath = selected.filter((s) => !s.license);
  if (noPath.length) throw licenseConfigError(`${noPath.map((s) => s.name).join(', ')} ${noPath.length === 1 ? 'has' : 'have'} no license.path in ${farm.file}`, 'set servers[].license.path to where the product reads its license');

  const targets: Target[] = selected.map((s) => ({ server: s, licensePath: s.license!.path, row: { server: s.name, reachable: false, covered: true } }));
  const ownTransports: Transport[] = [];
  try {
    step(`reaching ${targets.length} covered server${targets.length === 1 ? '' : 's'}`);
    await reachTargets(farm, targets, opts, ownTransports);
    if (opts.signal?.aborted) throw opts.signal.reason;
    const down = targets.filter((x) => !x.transport);
    if (down.length && !opts.allowPartial)
      throw new LicenseError(
        'LICENSE_SERVER_UNREACHABLE',
        `License ${grant.licenseId} covers ${down.map((d) => `${d.server.name} (${d.reason})`).join(', ')}, which ${down.length === 1 ? 'is' : 'are'} unreachable now: nothing was installed`,
        'bring the server back (see `clk-support farm status`) and apply again, or pass --allow-partial to install on the reachable servers now and on the others later',
        { servers: down.map((d) => d.server.name) },
      );
    for (const d of down) {
      d.row.action = 'skipped-unreachable';
      warnings.push(`${d.server.name} is unreachable${d.reason && d.reason !== 'unreachable' ? ` (${d.reason})` : ''}: apply this response again when it is back`);
    }
    const live = targets.filter((x) => x.transport);
    if (live.length === 0) throw new LicenseError('LICENSE_SERVER_UNREACHABLE', 'No covered server is reachable: nothing was installed', 'see `clk-support farm status`');

    // Containment first: a license, folder or lock reached through a link out of the root is never touched.
    await refuseUnsafeLicensePaths(live.map((x) => ({ server: x.server.name, transport: x.transport!, files: [x.licensePath, serverLockPath(x.transport!.platform, x.licensePath)] })));

    // Fingerprints: each server must still be the machine the license was issued for.
    const mismatched: string[] = [];
    for (const x of live) {
      const entry = grant.covered.find((c) => c.name.toLowerCase() === x.server.name.toLowerCase())!;
      const m = matchFingerprint(entry, x.identity!.fingerprint);
      x.row.fingerprintMatch = m.match;
      if (!m.match) mismatched.push(`${x.server.name} (${explainMismatch(m)})`);
    }
    if (mismatched.length)
      throw new LicenseError('LICENSE_FINGERPRINT_MISMATCH', `The fingerprint of ${mismatched.join('; ')} does not match license ${grant.licenseId}`, 'the server changed since the request (re-installed, cloned, moved VM): make a new request from the farm as it is now', { servers: mismatched });

    step('checking administrator rights');
    const denied: string[] = [];
    for (const x of live) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const a = await checkAdminRights(x.transport!, x.licensePath, { dryRun: opts.check });
      x.row.admin = a.ok;
      if (!a.ok) denied.push(`${x.server.name}: ${a.problem}`);
    }
    if (denied.length)
      throw new LicenseError('LICENSE_NO_ADMIN_RIGHTS', `No administrator rights on ${denied.join('; ')}: nothing was installed`, 'run clk-support as a user with administrator rights on every covered server (write access to the license folder)', { servers: denied });

    // Sequence: the same response again is a no-op; an older one needs --allow-downgrade.
    for (const x of live) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      x.installed = await readInstalledLicense(x.transport!, x.licensePath, keys);
      const g = x.installed.grant;
      x.row.previous = x.installed.present ? { licenseId: g?.licenseId, sequence: g?.sequence, notAfter: g?.notAfter, sha256: x.installed.sha256, genuine: Boolean(g) } : undefined;
    }
    const installedSeqs = live.map((x) => x.installed?.grant?.sequence).filter((n): n is number => n !== undefined);
    const previousSequence = installedSeqs.length ? Math.max(...installedSeqs) : undefined;
    const pending = live.filter((x) => x.installed?.sha256 !== newSha);
    for (const x of live) if (!pending.includes(x)) x.row.action = 'unchanged';
    const base = {
      schema: LICENSE_APPLY_SCHEMA,
      file,
      license: {
        licenseId: grant.licenseId,
        responseId: grant.responseId,
        requestId: grant.requestId,
        keyId,
        issuedAt: grant.issuedAt,
        notBefore: grant.notBefore,
        notAfter: grant.notAfter,
        daysLeft: Math.floor((Date.parse(grant.notAfter) - now.getTime()) / DAY_MS),
        sequence: grant.sequence,
        covers: grant.covered.map((c) => c.name),
        sha256: newSha,
      },
      previousSequence,
      servers: targets.map((x) => x.row),
      notCovered: farm.servers.filter((x) => !isCovered(x.name)).map((x) => x.name),
      warnings,
    } as const;
    if (pending.length === 0) return { ...base, outcome: 'already-applied' };
    const older = pending.filter((x) => x.installed?.grant && x.installed.grant.sequence >= grant.sequence);
    if (older.length && !opts.allowDowngrade) {
      const same = older.filter((x) => x.installed!.grant!.sequence === grant.sequence);
      throw new LicenseError(
        'LICENSE_DOWNGRADE',
        same.length
          ? `${same.map((x) => x.server.name).join(', ')} already carr${same.length === 1 ? 'ies' : 'y'} sequence ${grant.sequence} with different content (${same[0].installed!.grant!.licenseId}); ${file} would replace it`
          : `${file} has sequence ${grant.sequence}, older than the sequence ${Math.max(...older.map((x) => x.installed!.grant!.sequence))} installed on ${older.map((x) => x.server.name).join(', ')}`,
        'apply the newest response you have; to go back on purpose, use `clk-support license rollback`, or pass --allow-downgrade',
        { servers: older.map((x) => x.server.name) },
      );
    }
    if (older.length) warnings.push(`downgrade allowed by --allow-downgrade: sequence ${previousSequence} -> ${grant.sequence}`);

    if (opts.check) {
      for (const x of pending) x.row.action = 'would-install';
      return { ...base, outcome: 'checked' };
    }
    if (opts.signal?.aborted) throw opts.signal.reason;

    const applyId = `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomUUID().slice(0, 8)}`;
    step('installing');
    const changed = await installAll(farm, pending, bytes, newSha, applyId, grant, opts, warnings);
    if (changed === 0) return { ...base, outcome: 'already-applied' };
    return { ...base, outcome: down.length ? 'partial' : 'applied', applyId };
  } finally {
    await Promise.all(ownTransports.map((t) => t.close().catch(() => {})));
  }
}

async function reachTargets(farm: Farm, targets: Target[], opts: ApplyOptions, own: Transport[]): Promise<void> {
  const toProbe: Target[] = [];
  for (const x of targets) {
    const given = opts.transports?.get(x.server.name);
    if (!given) {
      toProbe.push(x);
      continue;
    }
    try {
      x.identity = await readIdentity(given, x.server);
      x.transport = given;
      x.row.reachable = true;
    } catch (err) {
      x.reason = errorMessage(err);
      x.row.reason = x.reason;
    }
  }
  if (toProbe.length === 0) return;
  const probing = probeFarm(farm, toProbe.map((x) => x.server), { keepOpen: true, signal: opts.signal, readClock: !opts.check });
  // Ctrl-C does not wait for a slow server: the probe's transports are closed when it ends.
  const { probes, transports } = opts.signal
    ? await untilAborted(probing, opts.signal).catch((err: unknown) => {
        void probing.then((late) => Promise.all([...late.transports.values()].map((t) => t.close().catch(() => {}))), () => {});
        throw err;
      })
    : await probing;
  own.push(...transports.values());
  for (const p of probes) {
    const x = toProbe.find((y) => y.server === p.server)!;
    if (p.reachable && p.identity) {
      x.transport = transports.get(p.server.name);
      x.identity = p.identity;
      x.row.reachable = true;
    } else {
      x.reason = p.reason ?? 'unreachable';
      x.row.reason = x.reason;
    }
  }
}

export function backupName(platform: 'windows' | 'linux', licensePath: string, at: Date, sha256: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return joinServerPath(platform, serverDirname(platform, licensePath), `${serverBasename(platform, licensePath)}.bak-${stamp}-${sha256.slice(0, 8)}`);
}

interface Change {
  target: Target;
  previous?: Buffer;
  backupPath?: string;
  installed: boolean;
}

/** Returns how many servers were changed (0: another apply got there first). */
async function installAll(farm: Farm, pending: Target[], bytes: Buffer, newSha: string, applyId: string, grant: LicenseGrant, opts: ApplyOptions, warnings: string[]): Promise<number> {
  const stateDir = stateDirOf(farm);
  const owner = newOwner(`license apply ${grant.licenseId}`);
  const held: HeldLock[] = [];
  held.push(await acquireLocalLock(stateDir, owner, Boolean(opts.breakLock)));
  const changes: Change[] = [];
  try {
    for (const x of pending) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      held.push(await acquireServerLock(x.transport!, x.licensePath, owner, Boolean(opts.breakLock)));
    }
    for (const h of held) warnings.push(...h.notes);
    const at = new Date();
    // Back up every target before changing any.
    for (const x of pending) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const t = x.transport!;
      // Re-read under the lock: what we back up is what we replace.
      const fresh = await readInstalledLicense(t, x.licensePath, []);
      if (fresh.sha256 === newSha) {
        // A concurrent apply installed it between our checks and our lock.
        x.row.action = 'unchanged';
        continue;
      }
      const c: Change = { target: x, installed: false };
      if (fresh.present) {
        if (!fresh.bytes) throw new Error(`${x.server.name}: ${fresh.problem ?? 'current license not readable'}`);
        c.previous = fresh.bytes;
        c.backupPath = backupName(t.platform, x.licensePath, at, sha256Hex(fresh.bytes));
        await t.writeFileAtomic(c.backupPath, fresh.bytes);
        const back = await t.readFile(c.backupPath, { maxBytes: MAX_LICENSE_BYTES });
        if (sha256Hex(back) !== sha256Hex(fresh.bytes)) throw new Error(`${x.server.name}: the backup ${c.backupPath} does not read back identical`);
        x.row.backupPath = c.backupPath;
      }
      changes.push(c);
    }
    for (const c of changes) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const t = c.target.transport!;
      c.installed = true; // from here on a failure may have replaced it: roll it back too
      await t.writeFileAtomic(c.target.licensePath, bytes);
      const back = await t.readFile(c.target.licensePath, { maxBytes: MAX_LICENSE_BYTES });
      if (sha256Hex(back) !== newSha) throw new Error(`${c.target.server.name}: the installed license does not read back identical`);
      c.target.row.action = 'installed';
    }
  } catch (err) {
    const failures = await rollBack(changes);
    const failedOn = changes.find((c) => c.installed && c.target.row.action !== 'installed')?.target.server.name;
    for (const c of changes) c.target.row.action = undefined;
    const cause = errorMessage(err);
    if (failures.length)
      throw new LicenseError(
        'LICENSE_ROLLBACK_INCOMPLETE',
        `Installing failed${failedOn ? ` on ${failedOn}` : ''} (${cause}) and ${failures.length} server${failures.length === 1 ? '' : 's'} could not be put back: ${failures.join('; ')}`,
        `restore by hand from the backups beside each license (${changes.map((c) => c.backupPath).filter(Boolean).join(', ') || 'none'}), or run \`clk-support license rollback\` once the servers are writable`,
        { cause: err },
      );
    if (err instanceof ClkError && err.code === 'LICENSE_LOCKED') throw err;
    if (isAbortError(err)) throw new InterruptedError('Interrupted: every server was put back as it was', { code: 'INTERRUPTED', hint: 'run the same apply again to install it' });
    throw new LicenseError(
      'LICENSE_INSTALL_FAILED_ROLLED_BACK',
      `Installing license ${grant.licenseId} failed${failedOn ? ` on ${failedOn}` : ''}: ${cause}. Every server was put back as it was`,
      'fix the cause (disk space, permissions, a file held open) and run the same apply again',
      { cause: err },
    );
  } finally {
    for (const h of held.reverse()) await h.release().catch(() => {});
  }
  const record: BackupRecord = {
    type: 'apply',
    applyId,
    at: new Date().toISOString(),
    licenseId: grant.licenseId,
    sequence: grant.sequence,
    servers: changes.map((c): BackupEntry => ({
      server: c.target.server.name,
      licensePath: c.target.licensePath,
      backupPath: c.backupPath,
      previousSha256: c.previous ? sha256Hex(c.previous) : undefined,
      newSha256: newSha,
    })),
  };
  if (changes.length) await appendJsonLine(stateDir, BACKUP_INDEX, record);
  return changes.length;
}

/** A write that failed before its rename left the old file in place: no need to write it again (on a full disk that would fail). */
async function alreadyAsBefore(c: Change): Promise<boolean> {
  const t = c.target.transport!;
  try {
    const now = await t.readFile(c.target.licensePath, { maxBytes: MAX_LICENSE_BYTES });
    return c.previous !== undefined && sha256Hex(now) === sha256Hex(c.previous);
  } catch {
    return c.previous === undefined && !(await t.exists(c.target.licensePath).catch(() => true));
  }
}

/** Put every touched server back: the old bytes where there was a license, nothing where there was none. */
async function rollBack(changes: Change[]): Promise<string[]> {
  const failures: string[] = [];
  for (const c of changes) {
    const t = c.target.transport!;
    try {
      if (c.installed && !(await alreadyAsBefore(c))) {
        if (c.previous) {
          await t.writeFileAtomic(c.target.licensePath, c.previous);
          const back = await t.readFile(c.target.licensePath, { maxBytes: MAX_LICENSE_BYTES });
          if (sha256Hex(back) !== sha256Hex(c.previous)) throw new Error('restored license does not read back identical');
        } else {
          await t.remove(c.target.licensePath);
        }
      }
      // Nothing was changed for good: the backup copy beside it is not needed.
      if (c.backupPath) await t.remove(c.backupPath);
    } catch (err) {
      failures.push(`${c.target.server.name}: ${errorMessage(err)}`);
    }
  }
  return failures;
}
