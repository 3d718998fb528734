// From zero to a working farm file, through the built CLI as a new administrator runs it: farm
// discovery, JSONC farm files (the README example as shown), validate's offline checks, farm init
// (flags and the wizard on a real terminal), shell completion in a real bash, and --help.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, DEMO_FARM, DEMO_FARM_DIR, REPO, runCli } from '../support/cli.js';

let scratch: string;
let config: string;
const env = () => ({ XDG_CONFIG_HOME: config, HOME: join(scratch, 'home'), CLK_FARM: '' });

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'clk-onboard-'));
  config = join(scratch, 'config');
  await mkdir(join(config, 'clk-support'), { recursive: true });
  await mkdir(join(scratch, 'home'), { recursive: true });
  await cp(DEMO_FARM_DIR, join(scratch, 'demo-farm'), { recursive: true, filter: (s) => !/\.clk-support-clock-/.test(s) });
  await cp(join(REPO, 'fixtures', 'keys'), join(scratch, 'keys'), { recursive: true });
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('farm discovery', () => {
  it('finds clk-farm.json in a parent folder, like git, and farm status says which file it used', async () => {
    const deep = join(scratch, 'demo-farm', 'servers', 'app01');
    const r = await runCli(['farm', 'status', '--server', 'APP01'], { cwd: deep, env: env() });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`farm file: ${join(scratch, 'demo-farm', 'clk-farm.json')} (found in a parent folder)`);
  });

  it('CLK_FARM comes before the working folder; --farm before CLK_FARM', async () => {
    const other = join(scratch, 'other');
    await mkdir(other, { recursive: true });
    const text = (await readFile(DEMO_FARM, 'utf8')).replace('"systemId": "FSP"', '"systemId": "FSQ"');
    await writeFile(join(other, 'clk-farm.json'), text.replace(/"root": "servers\//g, `"root": "${join(scratch, 'demo-farm', 'servers')}/`));
    const viaEnv = await runCli(['--json', 'farm', 'validate'], { cwd: join(scratch, 'demo-farm'), env: { ...env(), CLK_FARM: join(other, 'clk-farm.json') } });
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ source: 'env', farm: { systemId: 'FSQ' } });
    const viaFlag = await runCli(['--json', '--farm', join(scratch, 'demo-farm', 'clk-farm.json'), 'farm', 'validate'], { env: { ...env(), CLK_FARM: join(other, 'clk-farm.json') } });
    expect(JSON.parse(viaFlag.stdout)).toMatchObject({ source: 'flag', farm: { systemId: 'FSP' } });
  });

  it('a named farm (--farm prod) is prod.clk-farm.json in the user config folder, and the default farm lives there too', async () => {
    const text = (await readFile(DEMO_FARM, 'utf8')).replace(/"root": "servers\//g, `"root": "${join(scratch, 'demo-farm', 'servers')}/`).replace(/"publicKeyFile": "\.\.\/keys\//g, `"publicKeyFile": "${join(scratch, 'keys')}/`);
    await writeFile(join(config, 'clk-support', 'prod.clk-farm.json'), text.replace('"environment": "production"', '"environment": "production"'));
    const named = await runCli(['--json', '--farm', 'prod', 'farm', 'validate'], { cwd: scratch, env: env() });
    expect(named.exitCode).toBe(0);
    expect(JSON.parse(named.stdout).file).toBe(join(config, 'clk-support', 'prod.clk-farm.json'));
    const missing = await runCli(['--farm', 'staging', 'farm', 'validate'], { cwd: scratch, env: env() });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(join(config, 'clk-support', 'staging.clk-farm.json'));
    // No farm anywhere: the error names the folders searched and how to make one.
    const none = await runCli(['farm', 'validate'], { cwd: scratch, env: env() });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/No farm file: clk-farm\.json is not in .* or its parents/);
    expect(none.stderr).toContain('clk-support farm init');
    await writeFile(join(config, 'clk-support', 'clk-farm.json'), text);
    const fromConfig = await runCli(['--json', 'farm', 'validate'], { cwd: scratch, env: env() });
    expect(JSON.parse(fromConfig.stdout).source).toBe('config');
    await rm(join(config, 'clk-support', 'clk-farm.json'));
  });
});

describe('farm file: JSONC, did-you-mean, offline checks', () => {
  it("the README's full example validates as shown, comments and all (with the files it names in place)", async () => {
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const block = /A full example[\s\S]*?```jsonc\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeTruthy();
    const dir = join(scratch, 'readme-example');
    await mkdir(join(dir, 'keys'), { recursive: true });
    await writeFile(join(dir, 'clk-farm.json'), block!);
    const { publicKey } = generateKeyPairSync('ed25519');
    await writeFile(join(dir, 'keys', 'sap-clk-2026.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const home = join(scratch, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true });
    const ssh = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, '.ssh', 'id_ed25519')], { encoding: 'utf8' });
    expect(ssh.status, ssh.stderr).toBe(0);
    await writeFile(join(home, '.ssh', 'known_hosts'), '');
    const r = await runCli(['farm', 'validate'], { cwd: dir, env: env() });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/is valid: Contoso Field Service \(production\)/);
    // The minimal farm as well.
    const minimal = /A minimal farm[\s\S]*?```jsonc\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(minimal).toBeTruthy();
    await writeFile(join(dir, 'clk-farm.json'), minimal!);
    const m = await runCli(['--json', 'farm', 'validate'], { cwd: dir, env: env() });
    expect(m.stderr).toBe('');
    expect(JSON.parse(m.stdout).servers.map((x: { name: string }) => x.name)).toEqual(['ME', 'APP01', 'SCHED01']);
  });

  it('a syntax error names line and column; trailing commas and comments are fine', async () => {
    const dir = join(scratch, 'syntax');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'clk-farm.json'), '{\n  // a comment\n  "formatVersion": 1,\n  "farm": { "name": "x" }\n  "servers": []\n}\n');
    const r = await runCli(['farm', 'validate'], { cwd: dir, env: env() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/clk-farm\.json:5:3: not valid JSON/);
    expect(r.stderr).toContain('a "," was expected');
  });

  it('unknown keys get a did-you-mean, and a lower-case system ID is explained', async () => {
    const dir = join(scratch, 'typos');
    await mkdir(dir, { recursive: true });
    const farm = JSON.parse(await readFile(DEMO_FARM, 'utf8'));
    farm.farm.systemId = 'fsq';
    farm.servers[0].logs.tracerGlob = farm.servers[0].logs.tracerGlobs;
    delete farm.servers[0].logs.tracerGlobs;
    farm.servers[1].instalRoot = 'C:\\x';
    await writeFile(join(dir, 'clk-farm.json'), JSON.stringify(farm, null, 2));
    const r = await runCli(['farm', 'validate'], { cwd: dir, env: env() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('servers[0].logs: unknown key "tracerGlob" (did you mean "tracerGlobs"?)');
    expect(r.stderr).toContain('"instalRoot" (did you mean "installRoot"?)');
    expect(r.stderr).toContain('farm.systemId: must be a 3-character SAP system ID such as FSP: upper case, "FSQ"');
  });

  it('a trusted key file that is missing or not Ed25519 fails validate (exit 2), not license status later', async () => {
    const dir = join(scratch, 'badkey');
    await mkdir(dir, { recursive: true });
    const farm = JSON.parse(await readFile(DEMO_FARM, 'utf8'));
    farm.servers = farm.servers.map((s: { transport: { root?: string } }) => ({ ...s, transport: { ...s.transport, root: join(scratch, 'demo-farm', s.transport.root!) } }));
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'rsa.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    farm.license.trustedKeys = [
      { id: 'gone', publicKeyFile: 'nope.pem' },
      { id: 'rsa', publicKeyFile: 'rsa.pem' },
    ];
    await writeFile(join(dir, 'clk-farm.json'), JSON.stringify(farm));
    const r = await runCli(['farm', 'validate'], { cwd: dir, env: env() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/license\.trustedKeys\[0\]\.publicKeyFile: Trusted key "gone": cannot read .*nope\.pem \(ENOENT\)/);
    expect(r.stderr).toMatch(/license\.trustedKeys\[1\]\.publicKeyFile: Trusted key "rsa": .* is a rsa key, not Ed25519/);
  });
});

describe('farm init', () => {
  const identity = ['--name', 'Acme FS (test)', '--customer-number', '1234567', '--installation-number', '0020123456', '--system-id', 'FSQ', '--environment', 'test'];

  it('without a terminal, lists every missing or wrong answer at once (exit 2) and writes nothing', async () => {
    const dir = join(scratch, 'init-missing');
    await mkdir(dir, { recursive: true });
    const r = await runCli(['farm', 'init', '--system-id', 'fsq', '--installation-number', '123'], { cwd: dir, env: env() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--name is required');
    expect(r.stderr).toContain('--customer-number is required');
    expect(r.stderr).toContain('--system-id "fsq": the SAP system ID is upper case: FSQ');
    expect(r.stderr).toContain('(with leading zeros: 0000000123)');
    expect(r.stderr).toContain('--server is required');
    expect(existsSync(join(dir, 'clk-farm.json'))).toBe(false);
  });

  it('from flags: writes a commented farm file that validates, probes every server, and never overwrites without --force', async () => {
    const dir = join(scratch, 'init-flags');
    await mkdir(dir, { recursive: true });
    const app01 = join(scratch, 'demo-farm', 'servers', 'app01', 'c$');
    const args = ['farm', 'init', ...identity, '--server', `APP01=share:${app01}`, '--server', 'SCHED01=share:missing/sched01/c$,role=scheduling', '--server', 'OPT01=local'];
    const r = await runCli(args, { cwd: dir, env: env() });
    expect(r.stderr).toContain(`wrote ${join(dir, 'clk-farm.json')}: Acme FS (test) (FSQ), 3 servers; it validates as written`);
    expect(r.exitCode).toBe(3); // SCHED01's share does not exist: partial, as farm status
    expect(r.stdout).toMatch(/APP01\s+application\s+share\s+reachable\s+8\.1\.15\.2207/);
    expect(r.stdout).toMatch(/SCHED01\s+scheduling\s+share\s+unreachable/);
    expect(r.stdout).toMatch(/OPT01\s+optimization\s+local\s+reachable/);
    const text = await readFile(join(dir, 'clk-farm.json'), 'utf8');
    expect(text).toMatch(/^\/\/ clk-support farm file, written by `clk-support farm init`/);
    expect(text).toContain('"systemId": "FSQ",  // 3-character SAP system ID, upper case');
    const validate = await runCli(['farm', 'validate'], { cwd: dir, env: env() });
    expect(validate.exitCode).toBe(0);
    const again = await runCli(args, { cwd: dir, env: env() });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('already exists');
    const forced = await runCli([...args, '--force', '--no-probe', '--name', 'Acme FS (test 2)'], { cwd: dir, env: env() });
    expect(forced.exitCode).toBe(0);
    expect(await readFile(join(dir, 'clk-farm.json.bak'), 'utf8')).toBe(text);
    expect(await readFile(join(dir, 'clk-farm.json'), 'utf8')).toContain('Acme FS (test 2)');
  });

  it('rejects a server spec it cannot read, saying how to write one', async () => {
    const r = await runCli(['farm', 'init', ...identity, '--server', 'APP01=ftp:x'], { cwd: scratch, env: env() });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown transport "ftp"');
    expect(r.stderr).toContain('NAME=ssh:user@host[:port]');
  });

  const haveTmux = spawnSync('tmux', ['-V']).status === 0;
  it.skipIf(!haveTmux)('the wizard on a terminal checks answers as typed, probes each server as it is added, writes and probes the farm', async () => {
    const dir = join(scratch, 'init-wizard');
    await mkdir(dir, { recursive: true });
    const socket = `clk-init-${process.pid}`;
    const tmux = (...a: string[]) => {
      const r = spawnSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stdout;
    };
    const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'w');
    const waitFor = async (re: RegExp) => {
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        const s = screen();
        if (re.test(s)) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${re}:\n${screen()}`);
    };
    const answer = async (re: RegExp, ...keys: string[]) => {
      await waitFor(re);
      tmux('send-keys', '-t', 'w', ...keys);
    };
    try {
      const app01 = join(scratch, 'demo-farm', 'servers', 'app01', 'c$');
      const cmd = `cd ${JSON.stringify(dir)} && env -u CI NO_COLOR=1 XDG_CONFIG_HOME=${JSON.stringify(config)} ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} farm init; echo "EXIT=$?"; sleep 120`;
      tmux('new-session', '-d', '-s', 'w', '-x', '200', '-y', '50', cmd);
      tmux('set-option', '-t', 'w', 'history-limit', '5000');
      await answer(/Farm name/, 'Wizard farm', 'Enter');
      await answer(/SAP customer number/, '12ab', 'Enter');
      await answer(/digits only/, 'C-u', '1234567', 'Enter');
      await answer(/SAP installation number/, '20123456', 'Enter');
      await answer(/with leading zeros: 0020123456/, 'C-u', '0020123456', 'Enter');
      await answer(/SAP system ID/, 'fsq', 'Enter');
      await answer(/upper case: FSQ/, 'C-u', 'FSQ', 'Enter');
      await answer(/Environment/, 'Down', 'Enter'); // test
      await answer(/First server name/, 'APP01', 'Enter');
      await answer(/How is APP01 reached/, 'Enter'); // share
      await answer(/Share root/, 'C-u', app01, 'Enter');
      await answer(/Role of APP01/, 'Enter'); // application (guessed)
      await answer(/Platform of APP01/, 'Enter'); // windows
      await answer(/APP01: reachable/, '');
      await answer(/Next server name/, 'Enter');
      const out = await waitFor(/EXIT=\d+/);
      expect(out).toMatch(/EXIT=0/);
      expect(out).toMatch(/APP01\s+application\s+share\s+reachable\s+8\.1\.15\.2207/);
      const text = await readFile(join(dir, 'clk-farm.json'), 'utf8');
      expect(text).toContain('"name": "Wizard farm"');
      expect(text).toContain('"environment": "test"');
    } finally {
      spawnSync('tmux', ['-L', socket, 'kill-server']);
    }
  }, 90_000);
});

describe('shell completion', () => {
  it('completes commands, subcommands, options, server names of the farm and check ids', async () => {
    const c = (...words: string[]) => runCli(['__complete', ...words], { cwd: join(scratch, 'demo-farm'), env: env() }).then((r) => r.stdout.trim().split('\n'));
    expect(await c('--cur=')).toEqual(expect.arrayContaining(['farm', 'collect', 'check', 'license', 'incident', 'evtx', 'bundle', 'completion']));
    expect(await c('--cur=', 'farm')).toEqual(['status', 'validate', 'init']);
    expect(await c('--cur=WEB', 'farm', 'status', '--server')).toEqual(['WEB01']);
    expect(await c('--cur=', 'check', '-s')).toEqual(['APP01', 'SCHED01', 'INT01', 'WEB01']);
    expect(await c('--cur=services', 'check', '--only')).toEqual(['services.running', 'services']);
    expect(await c('--cur=--jun', 'check')).toEqual(['--junit']);
    expect(await c('--cur=tr', 'collect', '--only')).toEqual(['tracer']);
  });

  it('the bash script works in a real bash: complete -F registers and COMPREPLY holds the farm servers', () => {
    const script = spawnSync(process.execPath, [BIN, 'completion', 'bash'], { encoding: 'utf8' }).stdout;
    const shim = join(scratch, 'bin');
    spawnSync('mkdir', ['-p', shim]);
    spawnSync('sh', ['-c', `printf '#!/bin/sh\\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\\n' > ${shim}/clk-support && chmod +x ${shim}/clk-support`]);
    const probe = `${script}\ncomplete -p clk-support\nCOMP_WORDS=(clk-support check --server S); COMP_CWORD=3; _clk_support_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', probe], { encoding: 'utf8', cwd: join(scratch, 'demo-farm'), env: { ...process.env, ...env(), PATH: `${shim}:${process.env.PATH}` } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('complete -o default -F _clk_support_complete clk-support');
    expect(r.stdout.trim().split('\n').slice(1)).toEqual(['SCHED01']);
  });

  it('prints scripts for zsh, fish and PowerShell, and refuses an unknown shell (exit 2)', async () => {
    for (const [shell, marker] of [['zsh', 'compdef _clk_support_complete clk-support'], ['fish', 'complete -c clk-support'], ['powershell', 'Register-ArgumentCompleter -Native']] as const) {
      const r = await runCli(['completion', shell]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(marker);
    }
    const bad = await runCli(['completion', 'tcsh']);
    expect(bad.exitCode).toBe(2);
  });
});

describe('help', () => {
  it('every subcommand shows the inherited global options, and every group has examples', async () => {
    const sub = await runCli(['check', '--help']);
    expect(sub.stdout).toMatch(/Global Options:[\s\S]*--farm <file\|name>[\s\S]*--json/);
    for (const group of ['farm', 'bundle', 'license', 'incident', 'evtx', 'service']) {
      const r = await runCli([group, '--help']);
      expect(r.stdout, group).toMatch(/Examples:\n\s+\$ clk-support /);
    }
  });
});
