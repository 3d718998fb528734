import { describe, expect, it } from 'vitest';
import { Anonymizer } from '../../src/bundle/anonymize.js';
import { createRedactor } from '../../src/bundle/redact.js';

describe('Anonymizer', () => {
  it('replaces hosts, IPs, DOMAIN\\user, e-mails and User ID consistently', () => {
    const a = new Anonymizer('s1').addHost('APP01').addHost('SCHED01');
    const line1 = a.text('APP01 -> SCHED01 (10.20.30.40) user CORP\\jdoe mail jdoe@corp.example; Data Source=DB01.corp.example;User ID=w6app');
    const line2 = a.text('retry from 10.20.30.40 by CORP\\jdoe on app01');
    const m = a.mapping();
    expect(m.hosts.APP01).toMatch(/^host-[0-9a-f]{6}$/);
    expect(m.ips['10.20.30.40']).toMatch(/^ip-[0-9a-f]{6}$/);
    expect(m.users.jdoe).toMatch(/^user-[0-9a-f]{6}$/);
    expect(m.users.w6app).toBeDefined();
    expect(m.domains.CORP).toBeDefined();
    for (const real of ['APP01', 'SCHED01', '10.20.30.40', 'jdoe', 'w6app', 'DB01', 'CORP\\']) {
      expect(line1).not.toContain(real);
    }
    expect(line2).not.toMatch(/app01|jdoe|10\.20\.30\.40/i);
    expect(line2).toContain(m.ips['10.20.30.40']);
    expect(line2).toContain(m.users.jdoe);
    expect(line2).toContain(m.hosts.APP01); // case-insensitive, same token
  });

  it('User=DOMAIN\\user gives one domain token and one user token', () => {
    const a = new Anonymizer('s');
    const out = a.text('2025-06-03 10:03:31.626 [19] INFO  W6.Dispatch - User=CORP\\jdoe Request done');
    const m = a.mapping();
    expect(out).toContain(`User=${m.domains.CORP}\\${m.users.jdoe} Request`);
    expect(Object.keys(m.users)).toEqual(['jdoe']);
  });

  it('replaces IPv6 addresses but not times', () => {
    const a = new Anonymizer('s');
    const out = a.text('from fe80::1ff:fe23:4567:890a and 2001:0db8:85a3:0000:0000:8a2e:0370:7334 at 10:12:33');
    expect(out).not.toContain('fe80::1ff');
    expect(out).not.toContain('2001:0db8');
    expect(out).toContain('at 10:12:33');
    expect(Object.keys(a.mapping().ips)).toHaveLength(2);
  });

  it('is deterministic for a seed and different across seeds', () => {
    const t = (seed: string) => new Anonymizer(seed).addHost('APP01').text('APP01 at 192.168.1.7');
    expect(t('x')).toBe(t('x'));
    expect(t('x')).not.toBe(t('y'));
  });

  it('leaves versions, local paths, well-known accounts and loopback alone', () => {
    const a = new Anonymizer('s');
    const keep = 'build 8.1.15.2207 in C:\\ClickSoftware\\Logs by NT AUTHORITY\\SYSTEM on 127.0.0.1 at 10:12:33.120';
    expect(a.text(keep)).toBe(keep);
  });

  it('never puts the real names in its tokens, and the mapping maps back', () => {
    const a = new Anonymizer('s').addUser('jdoe');
    const out = a.text('login jdoe ok');
    const m = a.mapping();
    expect(out).toBe(`login ${m.users.jdoe} ok`);
    expect(JSON.stringify(Object.values(m.users))).not.toContain('jdoe');
  });

  it('runs after redaction in the redactor, so secrets are gone and names are tokens', () => {
    const a = new Anonymizer('s').addHost('APP01');
    const r = createRedactor({ anonymizer: a });
    const { text } = r.redactText('APP01 connect https://svc_clk:Integr8-Pa55@erp.corp.example/api Password=x1;\n');
    expect(text).not.toContain('Integr8-Pa55');
    expect(text).not.toContain('APP01');
    expect(text).not.toContain('erp.corp.example');
    expect(text).toContain('[REDACTED]');
  });
});

describe('Anonymizer: domains, URL users, UNC hosts', () => {
  it('replaces FQDNs with a host token and a domain token, wherever the domain shows', () => {
    const a = new Anonymizer('s').addHost('APP01');
    const out = a.text('to app01.corp.example and sched01.corp.example; zone corp.example; unknown erp.contoso.local:8080');
    for (const real of ['app01', 'sched01', 'corp.example', 'contoso', 'erp']) expect(out.toLowerCase()).not.toContain(real);
    expect(out).toMatch(/host-[0-9a-f]{6}\.domain-[0-9a-f]{6}/);
  });

  it('leaves .NET namespaces, file names and public service domains alone', () => {
    const keep = 'System.Net.WebException in W6Server.exe reading W6.config via schemas.microsoft.com';
    expect(new Anonymizer('s').text(keep)).toBe(keep);
  });

  it('replaces the user of URL userinfo, UNC hosts, command-line and quoted users', () => {
    const a = new Anonymizer('s');
    const out = a.text("https://svc_clk:[REDACTED]@erp.corp.example/x \\\\fs01\\clk$\\x sqlcmd -U w6admin for user 'bob'");
    for (const real of ['svc_clk', 'fs01', 'w6admin', "'bob'", 'erp.corp']) expect(out).not.toContain(real);
    expect(out).toContain(':[REDACTED]@');
    const b = new Anonymizer('s').addHost('APP01');
    expect(b.text('\\\\APP01\\c$\\ClickSoftware')).toBe(`\\\\${b.mapping().hosts.APP01}\\c$\\ClickSoftware`); // a token is never read as DOMAIN\user
  });
});

describe('the outgoing filter (incident texts, reasons, notes)', () => {
  it('shows the collecting machine\'s paths relative to the farm file or as <local>, never absolute', async () => {
    const { localPathScrubber } = await import('../../src/bundle/outgoing.js');
    const { homedir, tmpdir } = await import('node:os');
    const scrub = localPathScrubber({ farmFile: '/srv/clk/farm/clk-farm.json', cwd: '/srv/clk/work' });
    expect(scrub('share root /srv/clk/farm/servers/web01/c$ does not exist')).toBe('share root servers/web01/c$ does not exist');
    expect(scrub('written to /srv/clk/work/out/FSP_1.zip')).toBe('written to <local>/out/FSP_1.zip');
    expect(scrub(`temp ${tmpdir()}/clk-collect-1/x`)).toBe('temp <local>/clk-collect-1/x');
    if (homedir().length > 4) expect(scrub(`${homedir()}/.ssh/id_ed25519`)).toBe('<local>/.ssh/id_ed25519');
    // a longer name that only starts like a root is not that root; server paths stay
    expect(scrub('/srv/clk/farmer/x and C:\\ClickSoftware\\Logs')).toBe('/srv/clk/farmer/x and C:\\ClickSoftware\\Logs');
  });

  it('redacts, scrubs and anonymises every string of a value, keeping the contact as given', async () => {
    const { createOutgoing } = await import('../../src/bundle/outgoing.js');
    const farm = { file: '/srv/clk/farm/clk-farm.json', servers: [{ name: 'APP01', transport: { type: 'ssh', host: 'app01.corp.example', user: 'clkadmin' } }] };
    const o = createOutgoing({ farm, anonymize: true, keep: ['A. Admin', 'admin@contoso.example'] });
    o.users(['jdoe']);
    const v = o.value({ detail: 'APP01 Password=x1 by jdoe via clkadmin@app01.corp.example', file: '/srv/clk/farm/clk-farm.json', contact: 'A. Admin, admin@contoso.example', users: ['jdoe'] });
    expect(JSON.stringify(v)).not.toMatch(/APP01|x1|jdoe|clkadmin|corp\.example|\/srv\/clk/i);
    expect(v.contact).toBe('A. Admin, admin@contoso.example');
    expect(v.users[0]).toMatch(/^user-[0-9a-f]{6}$/);
    expect(v.file).toBe('clk-farm.json');
  });
});
