// A live server whose clock runs ahead: a real sshd whose `date` answers SKEW seconds ahead (a
// forced command; SFTP and everything else run as asked). The same Tracer log read from a server
// on time and from one two minutes ahead must land two minutes apart on the timeline, and the
// correction applied must be shown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyDemoFarm, runCli } from '../support/cli.js';
import { generateKey, sshdUnavailableReason, startSshd, type SshdServer } from '../support/sshd.js';
import { editFarm, standIn } from '../checks/helpers.js';

const SKEW_S = 120;
const FROM = '2025-06-03T09:55:00Z';
const TO = '2025-06-03T10:10:00Z';
const bucketOf = (iso: string, buckets: string[]) => buckets.indexOf(iso);

const reason = sshdUnavailableReason();
if (reason) console.warn(`timeline-clock: ${reason}`);

describe.skipIf(Boolean(reason))('incident timeline on a live server whose clock runs ahead (real sshd)', () => {
  let scratch: string;
  let sshd: SshdServer;
  let demo: Awaited<ReturnType<typeof copyDemoFarm>>;
  let json: any;
  let code: number;
  let brokenFarm: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'clk-timeline-clock-'));
    const logs = join(scratch, 'logs');
    await mkdir(logs, { recursive: true });
    // Errors at 10:00:30 and 10:05:30 by the server's clock (Tracer times are the server's).
    await writeFile(
      join(logs, 'W6Server_20250603.log'),
      [
        '2025-06-03 09:59:00.000 [1] INFO  W6.Server - started',
        '2025-06-03 10:00:30.000 [7] ERROR W6.ServerAPI - User=CORP\\alice GetObjects failed',
        '2025-06-03 10:05:30.000 [7] ERROR W6.ServerAPI - User=CORP\\bob GetObjects failed',
        '',
      ].join('\r\n'),
    );
    const serverSide = join(scratch, 'server-side');
    await standIn(scratch, 'server-side', `case "$SSH_ORIGINAL_COMMAND" in
  date*) set -- $(date -u '+%s %N'); echo "$(($1 + SKEW)).$2" ;;
  internal-sftp|sftp) [ -n "$NO_SFTP" ] && exit 1; exec /usr/lib/openssh/sftp-server ;;
  *) exec sh -c "$SSH_ORIGINAL_COMMAND" ;;
esac`);
    const onTime = join(scratch, 'id_on');
    const ahead = join(scratch, 'id_ahead');
    const pubOn = await generateKey(onTime, 'on');
    const pubAhead = await generateKey(ahead, 'ahead');
    sshd = await startSshd({ extraAuthorizedKeys: [`command="SKEW=0 ${serverSide}" ${pubOn}`] });
    await appendFile(join(sshd.dir, 'authorized_keys'), `command="SKEW=${SKEW_S} ${serverSide}" ${pubAhead}\n`);
    demo = await copyDemoFarm();
    await editFarm(demo.farmFile, (raw) => {
      raw.servers = [
        ['ONTIME', onTime],
        ['AHEAD', ahead],
      ].map(([name, identityFile]) => ({
        name,
        role: 'application',
        platform: 'linux',
        installRoot: '/opt/clk',
        transport: { type: 'ssh', host: sshd.host, port: sshd.port, user: sshd.user, identityFile, knownHosts: sshd.knownHosts },
        logs: { tracerGlobs: [`${logs}/*.log`], eventLogChannels: [] },
      }));
    });
    // A third login whose SFTP is refused: reached (exec works), its logs cannot be listed.
    const broken = join(scratch, 'id_broken');
    const pubBroken = await generateKey(broken, 'broken');
    await appendFile(join(sshd.dir, 'authorized_keys'), `command="SKEW=0 NO_SFTP=1 ${serverSide}" ${pubBroken}\n`);
    brokenFarm = join(scratch, 'broken-farm.json');
    await writeFile(brokenFarm, await readFile(demo.farmFile, 'utf8'));
    await editFarm(brokenFarm, (raw) => {
      raw.servers = [{ ...raw.servers[0], name: 'BROKEN', transport: { ...raw.servers[0].transport, identityFile: broken } }];
    });
    const r = await runCli(['--farm', demo.farmFile, '--json', 'incident', 'timeline', '--from', FROM, '--to', TO]);
    code = r.exitCode;
    json = JSON.parse(r.stdout);
    expect(json.warnings, r.stderr).toEqual([]);
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    await demo?.cleanup();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('measures each clock and shows the correction it applied', () => {
    expect(code).toBe(0);
    const on = json.servers.find((s: any) => s.name === 'ONTIME');
    const ahead = json.servers.find((s: any) => s.name === 'AHEAD');
    expect(on.clockCorrectionMs).toBe(0);
    // SKEW, give or take the round trip.
    expect(ahead.clockOffsetMs).toBeGreaterThan((SKEW_S - 2) * 1000);
    expect(ahead.clockOffsetMs).toBeLessThan((SKEW_S + 2) * 1000);
    expect(ahead.clockCorrectionMs).toBe(ahead.clockOffsetMs);
  });

  it('puts the same log lines two minutes earlier for the server that runs ahead', () => {
    const errors = (server: string) => json.series.find((s: any) => s.server === server && s.kind === 'tracer-errors').values as number[];
    const at = (values: number[]) => values.flatMap((v, i) => (v ? [json.buckets[i]] : []));
    expect(at(errors('ONTIME'))).toEqual(['2025-06-03T10:00:00.000Z', '2025-06-03T10:05:00.000Z']);
    expect(at(errors('AHEAD'))).toEqual(['2025-06-03T09:58:00.000Z', '2025-06-03T10:03:00.000Z']);
    expect(bucketOf('2025-06-03T09:58:00.000Z', json.buckets)).toBe(3);
    // The first occurrence is the corrected one: AHEAD's line, 10:00:30 by its clock, ~09:58:30 in UTC.
    expect(json.firstOccurrence.server).toBe('AHEAD');
    expect(Math.abs(Date.parse(json.firstOccurrence.time) - Date.parse('2025-06-03T09:58:30Z'))).toBeLessThan(2000);
  });

  it('is a partial result (exit 3) when a reached server’s logs cannot be listed, timeline and prefill alike', async () => {
    const t = await runCli(['--farm', brokenFarm, '--json', 'incident', 'timeline', '--from', FROM, '--to', TO]);
    expect(t.exitCode, t.stderr).toBe(3);
    const tj = JSON.parse(t.stdout);
    expect(tj.servers[0]).toMatchObject({ name: 'BROKEN', reachable: true });
    expect(tj.warnings.join('\n')).toMatch(/BROKEN: Tracer logs .* could not be listed/);
    const answers = join(scratch, 'answers.json');
    await writeFile(answers, JSON.stringify({
      shortDescription: 'SQL timeouts', steps: 'move a task', systemDown: 'no', processes: 'dispatching', usersAffected: 'dispatchers',
      workaround: 'none', deadlines: 'none', financialImpact: 'unknown', gettingWorse: 'no',
    }));
    const p = await runCli(['--farm', brokenFarm, '--no-input', '--json', 'incident', 'prefill', '--from', FROM, '--to', TO, '--answers', answers]);
    expect(p.exitCode, p.stderr).toBe(3);
    const pj = JSON.parse(p.stdout);
    expect(pj.missing).toEqual([]);
    expect(pj.unread.join('\n')).toMatch(/BROKEN: Tracer logs .* could not be listed/);
  });
});
