// Every check, made to pass and made to fail, through its run function and the real runner, on a
// private copy of the demo farm (real files over the share transport) or on real sockets and programs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminCheck, diskCheck, nodeVersionCheck, satisfiesMinimum, toolsCheck, WINDOWS_TOOLS } from '../../src/checks/defs/environment.js';
import { clockCheck, farmValidCheck, judgeClock, reachableCheck, versionsCheck } from '../../src/checks/defs/farm.js';
import { eventLogChannelsCheck, globBase, logLocationsCheck, tracerActiveCheck } from '../../src/checks/defs/logs.js';
import { endpointsCheck } from '../../src/checks/defs/network.js';
import { servicesCheck } from '../../src/checks/defs/services.js';
import { judgeExpiry, licenseCoveredCheck, licenseExpiryCheck, licenseInstalledCheck } from '../../src/checks/defs/license.js';
import { CheckContext, currentHost } from '../../src/checks/context.js';
import { loadFarm, loadFarmSchema, parseFarm } from '../../src/farm/load.js';
import { ConfigError } from '../../src/errors.js';
import { generateKey, sshdUnavailableReason, startSshd } from '../support/sshd.js';
import { baseOptions, context, demoCopy, editFarm, runCheck, signedLicense, standIn, type DemoCopy } from './helpers.js';

const posixOnly = it.skipIf(process.platform === 'win32');
await loadFarmSchema(); // parseFarm below needs it; loadFarm loads it itself
const LICENSE = 'Program Files/ClickSoftware/Service Optimization/License/License.xml';

let demo: DemoCopy;
let scratch: string;
beforeEach(async () => {
  demo = await demoCopy();
  scratch = await mkdtemp(join(tmpdir(), 'clk-check-'));
});
afterEach(async () => {
  await demo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

describe('env.node', () => {
  it('passes on this Node, which package.json accepts', async () => {
    const r = await runCheck(context(undefined), nodeVersionCheck);
    expect(r['env.node']).toMatchObject({ status: 'pass', message: expect.stringContaining(process.versions.node) });
  });
  it('fails on an older Node, with the range to install', async () => {
    const r = await runCheck(context(undefined, { host: { nodeVersion: '18.20.4' } }), nodeVersionCheck);
    expect(r['env.node']).toMatchObject({ status: 'fail', message: expect.stringContaining('>=20.19'), hint: expect.stringContaining('>=20.19') });
  });
  it('compares versions numerically', () => {
    expect(satisfiesMinimum('20.19.0', '>=20.19')).toBe(true);
    expect(satisfiesMinimum('20.9.0', '>=20.19')).toBe(false);
    expect(satisfiesMinimum('22.1.0', '>=20.19.0 || >=22')).toBe(true);
    expect(satisfiesMinimum('22.1.0', '^20')).toBeUndefined();
  });
});

describe('env.tools', () => {
  it('is skipped off Windows with the reason', async () => {
    const r = await runCheck(context(undefined, { host: { platform: 'linux' } }), toolsCheck);
    expect(r['env.tools']).toMatchObject({ status: 'skip', message: expect.stringContaining('only when clk-support runs on Windows') });
  });
  it('passes on Windows when every tool is on PATH', async () => {
    for (const t of WINDOWS_TOOLS) await writeFile(join(scratch, `${t}.exe`), '');
    const r = await runCheck(context(undefined, { host: { platform: 'win32', env: { PATH: scratch, PATHEXT: '.COM;.EXE' } } }), toolsCheck);
    expect(r['env.tools'].status).toBe('pass');
  });
  it('warns (a warning-severity failure) naming the missing tools', async () => {
    await writeFile(join(scratch, 'sc.exe'), '');
    const r = await runCheck(context(undefined, { host: { platform: 'win32', env: { PATH: scratch, PATHEXT: '.EXE' } } }), toolsCheck);
    expect(r['env.tools']).toMatchObject({ status: 'warn', message: expect.stringContaining('wevtutil') });
    expect(r['env.tools'].message).not.toContain(' sc');
  });
});

describe('farm.valid', () => {
  it('passes on the demo farm', async () => {
    const r = await runCheck(context(await demo.load()), farmValidCheck);
    expect(r['farm.valid']).toMatchObject({ status: 'pass', message: expect.stringContaining('4 servers') });
  });
  it('fails with the validation message when the farm file is broken', async () => {
    await editFarm(demo.farmFile, (raw) => {
      raw.servers[0].role = 'mainframe';
      raw.servers[1].trasnport = raw.servers[1].transport;
    });
    const err = await demo.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const ctx = new CheckContext({ farmError: { message: (err as ConfigError).message, hint: (err as ConfigError).hint }, options: baseOptions });
    const r = await runCheck(ctx, farmValidCheck);
    expect(r['farm.valid']).toMatchObject({ status: 'fail', message: expect.stringContaining('Invalid farm file (2 problems)') });
    expect(r['farm.valid'].details.join('\n')).toMatch(/servers\[0\]\.role: expected one of/);
    expect(r['farm.valid'].details.join('\n')).toMatch(/unknown key "trasnport"/);
  });
});

describe('env.admin', () => {
  const localFarm = (licenseDir: string) =>
    parseFarm(
      JSON.stringify({
        formatVersion: 1,
        farm: { name: 'L', customerNumber: '1', installationNumber: '0000000001', systemId: 'TST', environment: 'test' },
        servers: [{ name: 'HERE', role: 'application', platform: 'linux', transport: { type: 'local' }, installRoot: '/opt/clk', license: { path: join(licenseDir, 'License.xml') } }],
      }),
      join(scratch, 'clk-farm.json'),
    );

  it('is skipped when no server is this machine', async () => {
    const r = await runCheck(context(await demo.load()), adminCheck);
    expect(r['env.admin']).toMatchObject({ status: 'skip', message: expect.stringContaining('local transport') });
  });
  it('passes for root, and for a user who can write the license folder', async () => {
    const farm = localFarm(scratch);
    expect((await runCheck(context(farm, { host: { platform: 'linux', uid: 0 } }), adminCheck))['env.admin']).toMatchObject({ status: 'pass', message: 'running as root' });
    expect((await runCheck(context(farm, { host: { platform: 'linux', uid: 1000 } }), adminCheck))['env.admin']).toMatchObject({ status: 'pass', message: expect.stringContaining('writable') });
  });
  it('fails for a user who cannot write the license folder', async () => {
    const r = await runCheck(context(localFarm(join(scratch, 'no-such-folder')), { host: { platform: 'linux', uid: 1000 } }), adminCheck);
    expect(r['env.admin']).toMatchObject({ status: 'fail', details: [expect.stringContaining('ENOENT')], hint: expect.stringContaining('sudo') });
  });
  posixOnly('on Windows asks `net session`: elevated passes, refused fails', async () => {
    const farm = localFarm(scratch);
    await standIn(join(scratch, 'ok'), 'net', '[ "$1" = session ] && { printf "There are no entries in the list.\\r\\n\\r\\n"; exit 0; }; exit 9');
    await standIn(join(scratch, 'no'), 'net', 'echo "System error 5 has occurred." >&2; exit 2');
    const ok = await runCheck(context(farm, { host: { platform: 'win32', env: { PATH: join(scratch, 'ok') } } }), adminCheck);
    expect(ok['env.admin']).toMatchObject({ status: 'pass', message: expect.stringContaining('elevated') });
    const no = await runCheck(context(farm, { host: { platform: 'win32', env: { PATH: join(scratch, 'no') } } }), adminCheck);
    expect(no['env.admin']).toMatchObject({ status: 'fail', message: expect.stringContaining('not elevated') });
  });
  posixOnly('does not trust `net session` exiting 0 after its usage or with nothing: whoami /groups decides, else could not check', async () => {
    const farm = localFarm(scratch);
    const usage = 'printf "The syntax of this command is:\\r\\n\\r\\nNET SESSION\\r\\n[\\\\\\\\computername] [/DELETE] [/LIST]\\r\\n"; exit 0';
    const whoami = (sid: string) => `printf "Mandatory Label\\\\%s Mandatory Level Label ${sid}\\r\\n" x`;
    const host = (dir: string) => ({ host: { platform: 'win32' as const, env: { PATH: join(scratch, dir) } } });
    await standIn(join(scratch, 'usage'), 'net', usage);
    await standIn(join(scratch, 'usage-high'), 'net', usage);
    await standIn(join(scratch, 'usage-high'), 'whoami', whoami('S-1-16-12288'));
    await standIn(join(scratch, 'usage-medium'), 'net', usage);
    await standIn(join(scratch, 'usage-medium'), 'whoami', whoami('S-1-16-8192'));
    await standIn(join(scratch, 'silent'), 'net', 'exit 0');
    let r = await runCheck(context(farm, host('usage')), adminCheck);
    expect(r['env.admin']).toMatchObject({ status: 'error', message: expect.stringMatching(/^could not check: net session printed its usage/) });
    r = await runCheck(context(farm, host('silent')), adminCheck);
    expect(r['env.admin']).toMatchObject({ status: 'error', message: expect.stringContaining('printed nothing') });
    r = await runCheck(context(farm, host('usage-high')), adminCheck);
    expect(r['env.admin']).toMatchObject({ status: 'pass', message: expect.stringContaining('high integrity level') });
    r = await runCheck(context(farm, host('usage-medium')), adminCheck);
    expect(r['env.admin']).toMatchObject({ status: 'fail', message: expect.stringContaining('not elevated (medium integrity level)') });
  });
});

describe('server.reachable', () => {
  it('passes for the servers whose share is there and fails for WEB01, whose share is not', async () => {
    const r = await runCheck(context(await demo.load()), reachableCheck);
    expect(r.APP01).toMatchObject({ id: 'server.reachable[APP01]', status: 'pass', message: expect.stringContaining('8.1.15.2207') });
    expect(r.WEB01).toMatchObject({ status: 'fail', message: expect.stringContaining('share root'), hint: expect.any(String) });
  });
  it('skips a server listed as not expected online', async () => {
    await editFarm(demo.farmFile, (raw) => (raw.servers[3].expected = false));
    const r = await runCheck(context(await demo.load()), reachableCheck);
    expect(r.WEB01).toMatchObject({ status: 'skip', message: expect.stringContaining('expected') });
  });
});

describe('server.clock', () => {
  it('passes for servers whose clock (share file timestamp) agrees, and skips the unreachable one', async () => {
    const r = await runCheck(context(await demo.load()), clockCheck);
    expect(r.APP01).toMatchObject({ status: 'pass', details: [expect.stringContaining('share file timestamp')] });
    expect(r.WEB01).toMatchObject({ status: 'error', message: 'could not check: WEB01 is not reachable', unreachable: ['WEB01'], details: expect.arrayContaining(['see server.reachable[WEB01]']) });
  });
  it.skipIf(Boolean(sshdUnavailableReason()))('warns and fails for servers whose clock is off (a real sshd whose `date` runs ahead)', async () => {
    const key = join(scratch, 'id_admin');
    const pub = await generateKey(key, 'clk-check-test');
    // A forced command: `date -u +%s.%N` answers SKEW seconds ahead; anything else runs as asked.
    const serverSide = join(scratch, 'server-side');
    await standIn(scratch, 'server-side', `case "$SSH_ORIGINAL_COMMAND" in
  date*) s=$(date -u +%s); echo "$((s + SKEW)).000000000" ;;
  *) exec sh -c "$SSH_ORIGINAL_COMMAND" ;;
esac`);
    const sshd = await startSshd({
      extraAuthorizedKeys: [
        `command="SKEW=0 ${serverSide}" ${pub}`,
      ],
    });
    // Three logins with three skews: one key per server, each forced to its own SKEW.
    const keys = { ON: key, AHEAD: join(scratch, 'id_ahead'), GONE: join(scratch, 'id_gone') };
    const pubAhead = await generateKey(keys.AHEAD, 'ahead');
    const pubGone = await generateKey(keys.GONE, 'gone');
    await appendFile(join(sshd.dir, 'authorized_keys'), `command="SKEW=10 ${serverSide}" ${pubAhead}\ncommand="SKEW=-300 ${serverSide}" ${pubGone}\n`);
    try {
      await editFarm(demo.farmFile, (raw) => {
        raw.servers = Object.entries(keys).map(([name, identityFile]) => ({
          name, role: 'application', platform: 'linux', installRoot: '/opt/clk',
          transport: { type: 'ssh', host: sshd.host, port: sshd.port, user: sshd.user, identityFile, knownHosts: sshd.knownHosts },
        }));
      });
      const r = await runCheck(context(await demo.load()), clockCheck);
      expect(r.ON).toMatchObject({ status: 'pass', details: [expect.stringContaining('ssh exec')] });
      expect(r.AHEAD).toMatchObject({ status: 'warn', message: expect.stringMatching(/clock \+(9|10|11)\.\d s off this machine \(warning above 5000 ms\)/) });
      expect(r.GONE).toMatchObject({ status: 'fail', message: expect.stringMatching(/clock -5\.0 min off this machine \(limit 60000 ms\)/) });
    } finally {
      await sshd.stop();
    }
  });
  it('warns and fails by the farm limits', () => {
    expect(judgeClock(-1200, 5000, 60_000).status).toBe('pass');
    expect(judgeClock(6000, 5000, 60_000)).toMatchObject({ status: 'warn', message: expect.stringContaining('+6.0 s') });
    expect(judgeClock(-150_000, 5000, 60_000)).toMatchObject({ status: 'fail', message: expect.stringContaining('-2.5 min') });
  });
});

describe('farm.versions', () => {
  it('fails on the demo farm: INT01 is on another build', async () => {
    const r = await runCheck(context(await demo.load()), versionsCheck);
    expect(r['farm.versions']).toMatchObject({ status: 'fail', message: expect.stringMatching(/8\.1\.15\.2207.*APP01, SCHED01; 8\.1\.15\.2190.*INT01/) });
  });
  it('passes once INT01 runs the same binary as the others', async () => {
    const bin = 'Program Files/ClickSoftware/Service Optimization/Bin/W6Server.exe';
    await copyFile(join(demo.drive('APP01'), bin), join(demo.drive('INT01'), bin));
    // One version where readable says nothing about WEB01, which is down: could not check.
    let r = await runCheck(context(await demo.load()), versionsCheck);
    expect(r['farm.versions']).toMatchObject({ status: 'error', message: 'could not check: 8.1.15.2207 (build 2207) where readable; no version from WEB01 (not reachable)', unreachable: ['WEB01'] });
    // Listed as not expected online, it is left out.
    await editFarm(demo.farmFile, (raw) => (raw.servers[3].expected = false));
    r = await runCheck(context(await demo.load()), versionsCheck);
    expect(r['farm.versions']).toMatchObject({ status: 'pass', message: '8.1.15.2207 (build 2207) on APP01, SCHED01, INT01' });
  });
});

describe('logs.locations', () => {
  it('passes when every configured folder is there', async () => {
    const r = await runCheck(context(await demo.load()), logLocationsCheck);
    expect(r.APP01).toMatchObject({ status: 'pass', message: '3 log folders readable' });
  });
  it('fails naming the folder that is missing', async () => {
    await rm(join(demo.drive('SCHED01'), 'PerfLogs'), { recursive: true });
    const r = await runCheck(context(await demo.load()), logLocationsCheck);
    expect(r.SCHED01).toMatchObject({ status: 'fail', message: '1 of 3 log folders missing or unreadable' });
    expect(r.SCHED01.details.join('\n')).toContain('missing or unreadable: C:\\PerfLogs\\Admin\\ClickSoftware');
  });
  it('finds where a glob starts', () => {
    expect(globBase('windows', 'C:\\ClickSoftware\\Logs\\**\\*.log')).toBe('C:\\ClickSoftware\\Logs');
    expect(globBase('windows', 'D:\\Logs\\W6Server.log')).toBe('D:\\Logs');
    expect(globBase('linux', '/var/log/clk/*.log')).toBe('/var/log/clk');
  });
});

describe('logs.tracer', () => {
  it('warns on the demo farm: its Tracer logs stopped in June 2025', async () => {
    const r = await runCheck(context(await demo.load()), tracerActiveCheck);
    expect(r.APP01).toMatchObject({ status: 'warn', message: expect.stringMatching(/newest Tracer line is \d+ days old/) });
    expect(r.APP01.details[0]).toContain('2025-06-04T23:59');
  });
  it('passes once a Tracer file has a line from the last hours', async () => {
    const now = new Date();
    const stamp = now.toISOString().replace('T', ' ').replace('Z', '');
    await appendFile(join(demo.drive('APP01'), 'ClickSoftware/Logs/Tracer/W6Server_20250604.log'), `${stamp} [12] INFO  W6.ServerAPI - alive\n`);
    const r = await runCheck(context(await demo.load()), tracerActiveCheck);
    expect(r.APP01).toMatchObject({ status: 'pass', message: expect.stringMatching(/newest Tracer line \d+ min ago/) });
    expect(r.SCHED01.status).toBe('warn');
  });
  it('is skipped for a server without Tracer globs', async () => {
    await editFarm(demo.farmFile, (raw) => (raw.servers[0].logs.tracerGlobs = []));
    const r = await runCheck(context(await demo.load()), tracerActiveCheck);
    expect(r.APP01).toMatchObject({ status: 'skip', message: expect.stringContaining('tracerGlobs') });
  });
});

describe('logs.eventlog', () => {
  it('passes when each channel has its .evtx', async () => {
    const r = await runCheck(context(await demo.load()), eventLogChannelsCheck);
    expect(r.INT01).toMatchObject({ status: 'pass', message: 'Application, System present' });
  });
  it('fails for a channel whose file is missing, named the Windows way (/ becomes %4)', async () => {
    await rm(join(demo.drive('INT01'), 'Windows/System32/winevt/Logs/System.evtx'));
    await editFarm(demo.farmFile, (raw) => raw.servers[2].logs.eventLogChannels.push('Microsoft-Windows-TaskScheduler/Operational'));
    const r = await runCheck(context(await demo.load()), eventLogChannelsCheck);
    expect(r.INT01).toMatchObject({ status: 'fail', message: 'channels not found: System, Microsoft-Windows-TaskScheduler/Operational' });
    expect(r.INT01.details.join('\n')).toContain('Microsoft-Windows-TaskScheduler%4Operational.evtx');
  });
});

describe('logs.eventlog on this Windows machine (local transport)', () => {
  posixOnly('asks `wevtutil gl <channel>` when the file is not readable: known passes, unknown fails', async () => {
    // wevtutil exits 15007 for a channel that does not exist.
    await standIn(scratch, 'wevtutil', '[ "$1" = gl ] && [ "$2" = Application ] && exit 0; echo "Failed to read configuration for log $2. The specified channel could not be found." >&2; exit 15007');
    const farm = parseFarm(
      JSON.stringify({
        formatVersion: 1,
        farm: { name: 'L', customerNumber: '1', installationNumber: '0000000001', systemId: 'TST', environment: 'test' },
        servers: [
          { name: 'HERE', role: 'application', platform: 'windows', transport: { type: 'local' }, installRoot: 'C:\\CLK', logs: { eventLogChannels: ['Application'], eventLogDir: join(scratch, 'no-logs') } },
          { name: 'HERE2', role: 'application', platform: 'windows', transport: { type: 'local' }, installRoot: 'C:\\CLK', logs: { eventLogChannels: ['Application', 'ClickSoftware'], eventLogDir: join(scratch, 'no-logs') } },
        ],
      }),
      join(scratch, 'clk-farm.json'),
    );
    const r = await runCheck(context(farm, { host: { platform: 'win32', env: { PATH: scratch } } }), eventLogChannelsCheck);
    expect(r.HERE).toMatchObject({ status: 'pass', details: [expect.stringContaining('wevtutil gl found the channel')] });
    expect(r.HERE2).toMatchObject({ status: 'fail', message: 'channel not found: ClickSoftware' });
  });
});

describe('env.disk', () => {
  it('passes when the output folder has the space', async () => {
    const r = await runCheck(context(undefined, { options: { outputDir: join(scratch, 'bundles', 'not-yet'), minFreeBytes: 1024 } }), diskCheck);
    expect(r['env.disk']).toMatchObject({ status: 'pass', message: expect.stringContaining(`free at ${scratch}`) });
  });
  it('fails when it has less than asked for', async () => {
    const r = await runCheck(context(undefined, { options: { outputDir: scratch, minFreeBytes: 2 ** 60 } }), diskCheck);
    expect(r['env.disk']).toMatchObject({ status: 'fail', message: expect.stringContaining('(needs 1048576.0 TiB)') });
    expect(r['env.disk'].hint).toContain('--min-free');
  });
});

describe('network.endpoints', () => {
  let server: Server;
  let openPort: number;
  let closedPort: number;
  beforeEach(async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    openPort = (server.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
  });
  afterEach(() => new Promise((r) => server.close(r)));

  it('passes when the endpoint accepts a connection, fails when nothing listens, skips servers without endpoints', async () => {
    await editFarm(demo.farmFile, (raw) => {
      raw.servers[0].endpoints = [{ name: 'database', host: '127.0.0.1', port: openPort }];
      raw.servers[1].endpoints = [
        { name: 'database', host: '127.0.0.1', port: openPort },
        { name: 'ERP web service', host: '127.0.0.1', port: closedPort },
      ];
    });
    const r = await runCheck(context(await demo.load()), endpointsCheck);
    expect(r.APP01).toMatchObject({ status: 'pass', message: '1 endpoint answered' });
    expect(r.SCHED01).toMatchObject({ status: 'fail', message: `1 of 2 endpoints did not answer: ERP web service (127.0.0.1:${closedPort})` });
    expect(r.SCHED01.details.join('\n')).toContain('ECONNREFUSED');
    expect(r.INT01).toMatchObject({ status: 'skip', message: 'no endpoints configured for INT01' });
  });
});

describe('services.running', () => {
  // sc as Windows prints it, for a running and a stopped service and one that is not installed.
  const SC = `
case "$3" in
  W6Server) printf '\\r\\nSERVICE_NAME: W6Server \\r\\n        TYPE               : 10  WIN32_OWN_PROCESS  \\r\\n        STATE              : 4  RUNNING \\r\\n                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)\\r\\n' ;;
  W6Scheduler) if [ "$1" = '\\\\SCHED01' ]; then printf 'SERVICE_NAME: W6Scheduler\\r\\n        STATE              : 1  STOPPED \\r\\n'; exit 0; fi
     printf 'SERVICE_NAME: W6Scheduler\\r\\n        STATE              : 4  RUNNING \\r\\n' ;;
  *) printf '[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\\r\\n\\r\\nThe specified service does not exist as an installed service.\\r\\n'; exit 1060 ;;
esac`;

  it('could not check off Windows for servers reached by share: error with the reason, not a skip', async () => {
    const r = await runCheck(context(await demo.load(), { host: { platform: 'linux' } }), servicesCheck);
    expect(r.APP01).toMatchObject({ status: 'error', message: expect.stringContaining('could not check: sc.exe is Windows-only') });
  });
  posixOnly('from Windows, an unreachable share server is not asked at all: could not check, sc never run for it', async () => {
    const calls = join(scratch, 'sc-calls.txt');
    await standIn(scratch, 'sc', `printf '%s\\n' "$1" >> ${JSON.stringify(calls)}\n${SC}`);
    await editFarm(demo.farmFile, (raw) => (raw.servers[3].services = ['W6Server']));
    const r = await runCheck(context(await demo.load(), { host: { platform: 'win32', env: { PATH: scratch } } }), servicesCheck);
    expect(r.WEB01).toMatchObject({ status: 'error', message: 'could not check: WEB01 is not reachable', unreachable: ['WEB01'] });
    const asked = (await readFile(calls, 'utf8')).split('\n').filter(Boolean);
    expect(asked).toContain('\\\\APP01');
    expect(asked).not.toContain('\\\\WEB01');
  });
  posixOnly('sc output that is not an answer (empty, access denied, RPC 1722) is could not check with the raw reason', async () => {
    await standIn(scratch, 'sc', `case "$1" in
  '\\\\APP01') exit 0 ;;
  '\\\\SCHED01') printf '[SC] OpenService FAILED 5:\\r\\n\\r\\nAccess is denied.\\r\\n'; exit 5 ;;
  *) printf '[SC] OpenSCManager FAILED 1722:\\r\\n\\r\\nThe RPC server is unavailable.\\r\\n'; exit 1722 ;;
esac`);
    await editFarm(demo.farmFile, (raw) => (raw.servers[0].services = ['W6Server']));
    const r = await runCheck(context(await demo.load(), { host: { platform: 'win32', env: { PATH: scratch } } }), servicesCheck);
    expect(r.APP01).toMatchObject({ status: 'error', message: 'could not check: W6Server: sc printed nothing' });
    expect(r.SCHED01).toMatchObject({ status: 'error', message: expect.stringContaining('access is denied') });
    expect(r.INT01).toMatchObject({ status: 'error', message: expect.stringContaining('RPC server is unavailable') });
  });
  posixOnly('asks `sc \\\\SERVER query` for each service: running passes, stopped or missing fails', async () => {
    await standIn(scratch, 'sc', SC);
    await editFarm(demo.farmFile, (raw) => (raw.servers[2].services = ['W6Server', 'W6Integration']));
    const r = await runCheck(context(await demo.load(), { host: { platform: 'win32', env: { PATH: scratch } } }), servicesCheck);
    expect(r.APP01).toMatchObject({ status: 'pass', message: 'W6Server, W6Scheduler running' });
    expect(r.SCHED01).toMatchObject({ status: 'fail', message: 'not running: W6Scheduler', details: ['ok: W6Server: RUNNING', 'not running: W6Scheduler: STOPPED'] });
    expect(r.INT01).toMatchObject({ status: 'fail', details: ['ok: W6Server: RUNNING', 'not running: W6Integration: the service is not installed'] });
  });
});

describe('services.running over ssh (a real sshd; a forced command stands in for sc.exe on the server)', () => {
  const unavailable = sshdUnavailableReason();
  it.skipIf(Boolean(unavailable))('runs `sc query` on the server and judges what it prints', async () => {
    const key = join(scratch, 'id_admin');
    const pub = await generateKey(key, 'clk-check-test');
    // The server answers `sc query <name>` the way Windows does; anything else fails.
    const sc = join(scratch, 'server-sc');
    await standIn(scratch, 'server-sc', `set -- $SSH_ORIGINAL_COMMAND
[ "$1" = sc ] && [ "$2" = query ] || { echo "not sc: $SSH_ORIGINAL_COMMAND" >&2; exit 127; }
case "$3" in
  W6Server) printf 'SERVICE_NAME: W6Server\r\n        STATE              : 4  RUNNING \r\n' ;;
  *) printf 'SERVICE_NAME: %s\r\n        STATE              : 1  STOPPED \r\n' "$3" ;;
esac`);
    const sshd = await startSshd({ extraAuthorizedKeys: [`command="${sc}" ${pub}`] });
    try {
      await editFarm(demo.farmFile, (raw) => {
        raw.servers = [
          { name: 'WINSSH', role: 'application', platform: 'windows', transport: { type: 'ssh', host: sshd.host, port: sshd.port, user: sshd.user, identityFile: key, knownHosts: sshd.knownHosts }, installRoot: 'C:\\CLK', services: ['W6Server'] },
          { name: 'WINSSH2', role: 'scheduling', platform: 'windows', transport: { type: 'ssh', host: sshd.host, port: sshd.port, user: sshd.user, identityFile: key, knownHosts: sshd.knownHosts }, installRoot: 'C:\\CLK', services: ['W6Server', 'W6Scheduler'] },
        ];
      });
      // Off Windows too: the query runs on the server.
      const r = await runCheck(context(await demo.load(), { host: { platform: 'linux' } }), servicesCheck);
      expect(r.WINSSH).toMatchObject({ status: 'pass', message: 'W6Server running' });
      expect(r.WINSSH2).toMatchObject({ status: 'fail', message: 'not running: W6Scheduler' });
    } finally {
      await sshd.stop();
    }
  });
});

describe('license checks', () => {
  const DAY = 86_400_000;
  // The demo farm ships with its own license: these tests start from a farm without any.
  beforeEach(async () => {
    for (const s of ['APP01', 'SCHED01', 'INT01']) await rm(join(demo.drive(s), LICENSE), { force: true });
  });

  async function install(servers: string[], notAfter: Date, coverAlso: string[] = []) {
    const farm = await demo.load();
    // The live fingerprints, as `license request` would have recorded them.
    const ctx = context(farm);
    const covered = [];
    for (const name of [...servers, ...coverAlso]) {
      const p = await ctx.probe(farm.servers.find((s) => s.name === name)!);
      covered.push({ name, components: p.identity!.fingerprint });
    }
    await ctx.close();
    const xml = await signedLicense({ notAfter: notAfter.toISOString().replace(/\.\d+Z$/, 'Z'), covered });
    for (const s of servers) {
      await mkdir(join(demo.drive(s), 'Program Files/ClickSoftware/Service Optimization/License'), { recursive: true });
      await writeFile(join(demo.drive(s), LICENSE), xml);
    }
  }

  it('license.installed fails without a license and passes with a genuine one', async () => {
    let r = await runCheck(context(await demo.load()), licenseInstalledCheck);
    expect(r.APP01).toMatchObject({ status: 'fail', message: expect.stringContaining('no license installed') });
    expect(r.WEB01).toMatchObject({ status: 'error', unreachable: ['WEB01'] });
    await install(['APP01'], new Date(Date.now() + 200 * DAY));
    r = await runCheck(context(await demo.load()), licenseInstalledCheck);
    expect(r.APP01).toMatchObject({ status: 'pass', message: expect.stringContaining('signed by "clk-support-test-2026"') });
  });

  it('license.installed fails for a license altered after signing', async () => {
    await install(['APP01'], new Date(Date.now() + 200 * DAY));
    const file = join(demo.drive('APP01'), LICENSE);
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(file, 'utf8');
    // Flip one character of the base64 payload.
    const i = text.indexOf('<Payload');
    const j = text.indexOf('>', i) + 5;
    await writeFile(file, text.slice(0, j) + (text[j] === 'A' ? 'B' : 'A') + text.slice(j + 1));
    const r = await runCheck(context(await demo.load()), licenseInstalledCheck);
    expect(r.APP01).toMatchObject({ status: 'fail', message: expect.stringMatching(/signature does not verify/) });
  });

  it('license.covered passes for covered servers and fails for one the license does not name', async () => {
    await install(['APP01', 'SCHED01'], new Date(Date.now() + 200 * DAY));
    await editFarm(demo.farmFile, () => {});
    const r = await runCheck(context(await demo.load()), licenseCoveredCheck);
    expect(r.APP01).toMatchObject({ status: 'pass', message: expect.stringContaining('fingerprint matches') });
    // INT01 has no license of its own: it is judged by the farm's current license, which does not name it.
    expect(r.INT01).toMatchObject({ status: 'fail', message: 'not covered by license LIC-TEST-1' });
  });

  it('license.expiry passes far from the end, warns inside the window, fails once expired', async () => {
    await install(['APP01', 'SCHED01', 'INT01'], new Date(Date.now() + 200 * DAY));
    let r = await runCheck(context(await demo.load()), licenseExpiryCheck);
    expect(r.APP01).toMatchObject({ status: 'pass', message: expect.stringMatching(/\(19\d days left\)/) });
    r = await runCheck(context(await demo.load(), { now: () => new Date(Date.now() + 190 * DAY) }), licenseExpiryCheck);
    expect(r.APP01).toMatchObject({ status: 'warn', message: expect.stringMatching(/expires in \d days/) });
    r = await runCheck(context(await demo.load(), { now: () => new Date(Date.now() + 201 * DAY) }), licenseExpiryCheck);
    expect(r.APP01).toMatchObject({ status: 'fail', message: expect.stringContaining('expired on') });
    expect(judgeExpiry('L', '2026-01-10T00:00:00Z', 9, 30, new Date('2026-01-01T00:00:00Z')).status).toBe('warn');
  });
});

describe('context', () => {
  it('probes each server once however many checks ask', async () => {
    const farm = await demo.load();
    const ctx = new CheckContext({ farm, host: currentHost(), options: baseOptions });
    const a = ctx.probe(farm.servers[0]);
    const b = ctx.probe(farm.servers[0]);
    expect(a).toBe(b);
    expect((await a).reachable).toBe(true);
    await ctx.close();
  });
  it('loadFarm is what the command uses for a missing file: a ConfigError', async () => {
    await expect(loadFarm(join(scratch, 'nope.json'))).rejects.toBeInstanceOf(ConfigError);
  });
});
