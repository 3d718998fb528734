// Windows behaviour that Linux can check for real: the icacls command line for owner-only access,
// the owner-only mode on POSIX, and the clear report when a Windows tool exits 0 but writes nothing
// (the collector run with a tool that does exactly that, as Wine's wevtutil.exe stub does).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noOutputReason, wevtutilExportCommand } from '../../src/logs/windows-commands.js';
import { icaclsOwnerOnlyCommand, restrictToOwner, windowsUser } from '../../src/owner-only.js';
import { buildCommandLine } from '../../src/commandline.js';
import { ensureStateDir } from '../../src/license/state.js';
import { eventLogsCollector } from '../../src/collect/eventlogs.js';
import type { CollectContext } from '../../src/collect/types.js';
import { loadFarm } from '../../src/farm/load.js';
import { createTransport } from '../../src/farm/transports/index.js';
import { copyDemoFarm } from '../support/cli.js';

// POSIX modes mean nothing on Windows (chmod only toggles the read-only bit): there the ACL is the
// protection, and its command line is what the icacls tests below pin down.
const posixOnly = it.skipIf(process.platform === 'win32');

describe('icacls owner-only command', () => {
  it('removes inheritance and grants full control to the user, SYSTEM and Administrators only', () => {
    const c = icaclsOwnerOnlyCommand('C:\\Users\\adm\\out\\FSP_1.zip', 'CONTOSO\\adm');
    expect(c.command).toBe('icacls');
    expect(c.args).toEqual(['C:\\Users\\adm\\out\\FSP_1.zip', '/inheritance:r', '/grant:r', 'CONTOSO\\adm:F', '/grant:r', '*S-1-5-18:F', '/grant:r', '*S-1-5-32-544:F']);
  });

  it('makes a folder grant inherited by what is created inside it', () => {
    const c = icaclsOwnerOnlyCommand('D:\\clk state\\.clk-support', 'adm', { folder: true });
    expect(c.args).toContain('adm:(OI)(CI)F');
    expect(c.args).toContain('*S-1-5-18:(OI)(CI)F');
    // a path with a space is one argument, quoted on the command line Windows receives
    expect(buildCommandLine('windows', c.command, c.args)).toContain('"D:\\clk state\\.clk-support"');
  });

  it('refuses a user name that would break the command line', () => {
    expect(() => icaclsOwnerOnlyCommand('C:\\x', '')).toThrow(/not a user name/);
    expect(() => icaclsOwnerOnlyCommand('C:\\x', 'adm"\r\n/grant Everyone')).toThrow(/not a user name/);
  });

  it('takes DOMAIN\\user from the logon environment', () => {
    expect(windowsUser({ USERNAME: 'adm', USERDOMAIN: 'CONTOSO' })).toBe('CONTOSO\\adm');
    expect(windowsUser({ USERNAME: 'adm' })).toBe('adm');
    expect(windowsUser({})).toBeUndefined();
  });

  it('reports, rather than fails, when there is no user to grant to on Windows', async () => {
    expect(await restrictToOwner('C:\\x.zip', { platform: 'win32', env: {} })).toMatch(/USERNAME is not set/);
  });
});

describe('owner-only on POSIX', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clk-access-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  posixOnly('leaves a file 0600 and a folder 0700', async () => {
    const f = join(dir, 'b.zip');
    await writeFile(f, 'x', { mode: 0o644 });
    expect(await restrictToOwner(f)).toBeUndefined();
    expect((await stat(f)).mode & 0o777).toBe(0o600);
    const d = join(dir, 'd');
    await mkdir(d, { mode: 0o755 });
    await restrictToOwner(d, { folder: true });
    expect((await stat(d)).mode & 0o777).toBe(0o700);
  });

  posixOnly('creates the license state folder owner-only, and leaves an existing folder as it is', async () => {
    const fresh = join(dir, 'state', '.clk-support');
    await ensureStateDir(fresh);
    expect((await stat(join(dir, 'state'))).mode & 0o777).toBe(0o700); // the first folder it created
    const existing = join(dir, 'shared');
    await mkdir(existing, { mode: 0o755 });
    await ensureStateDir(existing);
    expect((await stat(existing)).mode & 0o777).toBe(0o755);
  });
});

describe('a Windows tool that exits 0 and writes nothing', () => {
  it('names the command and what to check', () => {
    const cmd = wevtutilExportCommand({ channel: 'Application', outFile: 'C:\\Temp\\clk\\APP01-Application.evtx', window: { from: new Date('2025-06-03T08:00:00Z'), to: new Date('2025-06-03T12:00:00Z') }, remote: 'APP01' });
    const reason = noOutputReason(cmd, 'C:\\Temp\\clk\\APP01-Application.evtx');
    expect(reason).toMatch(/^wevtutil epl Application .*exited 0 but wrote no APP01-Application\.evtx: check that the Windows Event Log service runs/);
    expect(reason).not.toMatch(/ENOENT/);
  });

  it('is reported per channel by the event log collector, not as ENOENT on a temporary path', async () => {
    const copy = await copyDemoFarm();
    const temp = await mkdtemp(join(tmpdir(), 'clk-noout-'));
    try {
      // this machine's own logs (the local transport): what wevtutil exports without /r:
      const doc = JSON.parse(await readFile(copy.farmFile, 'utf8'));
      doc.servers[0].transport = { type: 'local' };
      await writeFile(copy.farmFile, JSON.stringify(doc));
      const farm = await loadFarm(copy.farmFile);
      const server = farm.servers[0]!;
      const transport = createTransport(farm, server);
      await transport.connect();
      const ran: string[] = [];
      const ctx: CollectContext = {
        farm,
        server,
        transport,
        window: { from: new Date('2025-06-03T08:00:00Z'), to: new Date('2025-06-03T12:00:00Z') },
        maxFileBytes: 1 << 20,
        toolVersion: 'test',
        tempDir: temp,
        // as on a Windows admin machine whose wevtutil runs and exports nothing (Wine's stub does this)
        windowsHost: true,
        runLocal: async (command) => {
          ran.push(command);
          return { exitCode: 0, stdout: '', stderr: '' };
        },
        folder: 'APP01',
      };
      const sink = { addStream: async () => { throw new Error('nothing to add'); }, addBuffer: async () => { throw new Error('nothing to add'); } };
      const outcome = await eventLogsCollector.collect(ctx, sink as never, new AbortController().signal);
      await transport.close();
      expect(ran.length).toBeGreaterThan(0);
      expect(ran.every((c) => c === 'wevtutil')).toBe(true);
      expect(outcome.files).toBe(0);
      expect(outcome.failed.map((f) => f.path)).toEqual(server.logs.eventLogChannels);
      for (const f of outcome.failed) {
        expect(f.reason).toMatch(/exited 0 but wrote no .*\.evtx: check that the Windows Event Log service runs/);
        expect(f.reason).not.toMatch(/ENOENT/);
      }
    } finally {
      await copy.cleanup();
      await rm(temp, { recursive: true, force: true });
    }
  });
});
