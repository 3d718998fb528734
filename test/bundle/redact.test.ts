import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createRedactor, REDACTED } from '../../src/bundle/redact.js';
import { PLANTED_SECRETS, DEMO_SERVERS_DIR } from './helpers.js';

async function viaStream(input: Buffer, chunkSizes: number[]): Promise<{ out: Buffer; counts: Record<string, number> }> {
  const r = createRedactor();
  const chunks: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < input.length) {
    const n = Math.max(1, chunkSizes.length ? chunkSizes[i++ % chunkSizes.length] : input.length);
    chunks.push(input.subarray(pos, pos + n));
    pos += n;
  }
  const outChunks: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(r.transform())) outChunks.push(c as Buffer);
  return { out: Buffer.concat(outChunks), counts: r.counts() };
}

const SHAPES: { name: string; input: string; secret: string; keep?: string[]; rule: string }[] = [
  { name: 'SQL connection string Password=', input: 'Data Source=DB01;Initial Catalog=W6;User ID=w6app;Password=Sql-Demo-Pa55w0rd!;Connect Timeout=30', secret: 'Sql-Demo-Pa55w0rd!', keep: ['User ID=w6app', 'Connect Timeout=30', 'Data Source=DB01'], rule: 'connection-string' },
  { name: 'connection string Pwd= at the end', input: 'Server=db;Uid=sa;Pwd=hunter2-x', secret: 'hunter2-x', keep: ['Uid=sa'], rule: 'connection-string' },
  { name: 'quoted password with a semicolon', input: "Server=db;User ID=sa;Password='a;b;c';Encrypt=true", secret: 'a;b;c', keep: ['Encrypt=true', 'User ID=sa'], rule: 'connection-string' },
  { name: 'Azure storage AccountKey', input: 'DefaultEndpointsProtocol=https;AccountName=clk;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net', secret: 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==', keep: ['AccountName=clk'], rule: 'connection-string' },
  { name: 'XML appSettings key/value', input: '<add key="LdapBindPassword" value="Ldap-Bind-S3cret" />', secret: 'Ldap-Bind-S3cret', keep: ['key="LdapBindPassword"'], rule: 'xml-setting' },
  { name: 'XML value before key', input: "<add value='v3ry-s3cret' key='SmtpPassword'/>", secret: 'v3ry-s3cret', rule: 'xml-setting' },
  { name: 'XML setting name=ApiToken', input: '<setting name="ApiToken" value="abcDEF123456ghi" serializeAs="String"/>', secret: 'abcDEF123456ghi', rule: 'xml-setting' },
  { name: 'XML element', input: '<ServiceAccount><UserName>svc</UserName><Password>Pl41n-T3xt</Password></ServiceAccount>', secret: 'Pl41n-T3xt', keep: ['<UserName>svc</UserName>'], rule: 'xml-element' },
  { name: 'JSON password', input: '{"user":"svc","password":"J50n-Pa55\\"word","port":1}', secret: 'J50n-Pa55', keep: ['"user":"svc"', '"port":1'], rule: 'json-secret' },
  { name: 'JSON clientSecret', input: '  "clientSecret" : "c1i3nt-s3cr3t-value",', secret: 'c1i3nt-s3cr3t-value', rule: 'json-secret' },
  { name: 'Authorization Bearer header', input: 'GET /api HTTP/1.1 Authorization: Bearer eyJraWQiOiJhYmMiLCJhbGciOiJSUzI1NiJ9.payload.sig', secret: 'eyJraWQiOiJhYmMiLCJhbGciOiJSUzI1NiJ9', rule: 'authorization-header' },
  { name: 'Authorization Basic header', input: 'Authorization: Basic c3ZjOnBhc3N3b3Jk', secret: 'c3ZjOnBhc3N3b3Jk', rule: 'authorization-header' },
  { name: 'bare bearer token in a log line', input: 'sending token Bearer AbCdEf0123456789xyz to ERP', secret: 'AbCdEf0123456789xyz', rule: 'bearer-token' },
  { name: 'live API token', input: 'using key tok_live_4f9a8b7c6d5e4f3a2b1c for ERP', secret: 'tok_live_4f9a8b7c6d5e4f3a2b1c', rule: 'known-token' },
  { name: 'GitHub token', input: 'GH=ghp_abcdefghijklmnopqrstuvwxyz0123456789', secret: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', rule: 'known-token' },
  { name: 'AWS access key id', input: 'aws key AKIAIOSFODNN7EXAMPLE used', secret: 'AKIAIOSFODNN7EXAMPLE', rule: 'aws-access-key' },
  { name: 'AWS secret access key', input: 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', rule: 'assignment-line' },
  { name: 'JWT anywhere', input: 'session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', secret: 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', rule: 'jwt' },
  { name: 'credentials in a URL', input: 'from https://svc_clk:Integr8-Pa55@erp.corp.example/api/v2', secret: 'Integr8-Pa55', keep: ['https://svc_clk:', '@erp.corp.example/api/v2'], rule: 'url-credentials' },
  { name: 'credentials in an ftp URL', input: 'ftp://backup:B4ckup!@files.corp.example/x', secret: 'B4ckup!', rule: 'url-credentials' },
  { name: 'password=... in a text log', input: '2025-06-03 10:12:00 WARN login failed password=Hunter22 user=bob', secret: 'Hunter22', keep: ['user=bob'], rule: 'connection-string' },
  { name: 'Password: ... in a text log', input: 'Password: Sp4ce-After-Colon', secret: 'Sp4ce-After-Colon', rule: 'assignment-line' },
  { name: 'query string access_token', input: 'GET /cb?code=1&access_token=qwertyuiop123&state=x', secret: 'qwertyuiop123', keep: ['state=x', 'code=1'], rule: 'key-value-secret' },
  { name: 'DER key without PEM header', input: 'key=MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', secret: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', rule: 'private-key-base64' },
];

describe('redactText: secret shapes', () => {
  for (const shape of SHAPES) {
    it(`${shape.name}`, () => {
      const r = createRedactor();
      const { text, counts } = r.redactText(`${shape.input}\n`);
      expect(text).not.toContain(shape.secret);
      expect(text).toContain(REDACTED);
      for (const k of shape.keep ?? []) expect(text).toContain(k);
      expect(counts[shape.rule], JSON.stringify(counts)).toBeGreaterThan(0);
      expect(JSON.stringify(counts)).not.toContain(shape.secret);
    });
  }

  it('leaves ordinary lines untouched, byte for byte', () => {
    const text = [
      '03/06/2025 10:12:33,120 ERROR W6Server: optimization run 4411 failed for user jdoe (district North)',
      '<add key="TracerLevel" value="Info" />',
      '{"tasks": 12, "district": "North"}',
      'Data Source=DB01;Initial Catalog=W6DB;User ID=w6app;Connect Timeout=30',
      'https://erp.corp.example/api/v2?page=2',
      'Version 8.1.15.2207 build ok',
    ].join('\r\n');
    const r = createRedactor();
    expect(r.redactText(text)).toEqual({ text, counts: {} });
  });

  it('drops a PEM block whole, whatever its type, keeping what surrounds it', () => {
    const text = 'before\n  <Key>\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----\n  </Key>\nafter\n';
    const { text: out, counts } = createRedactor().redactText(text);
    expect(out).toBe('before\n  <Key>\n[REDACTED PEM RSA PRIVATE KEY]\n  </Key>\nafter\n');
    expect(counts).toEqual({ 'pem-block': 1 });
  });

  it('handles a one-line PEM block and two blocks in a row', () => {
    const { text, counts } = createRedactor().redactText('x -----BEGIN PRIVATE KEY-----AAAA-----END PRIVATE KEY----- y -----BEGIN CERTIFICATE-----BBBB-----END CERTIFICATE----- z');
    expect(text).toBe('x [REDACTED PEM PRIVATE KEY] y [REDACTED PEM CERTIFICATE] z');
    expect(counts['pem-block']).toBe(2);
  });

  it('applies extra patterns from the caller', () => {
    const r = createRedactor({ extraPatterns: [/CUST-\d{6}/] });
    const { text, counts } = r.redactText('customer CUST-123456 called');
    expect(text).toBe(`customer ${REDACTED} called`);
    expect(counts).toEqual({ 'custom-1': 1 });
  });

  it('accumulates totals across calls', () => {
    const r = createRedactor();
    r.redactText('password: a1\n');
    r.redactText('password: b2\npassword: c3\n');
    expect(r.counts()).toEqual({ 'assignment-line': 3 });
  });
});

describe('the streaming transform', () => {
  const sample = Buffer.from(
    [
      'line one password=abc123',
      '<Integration>',
      '-----BEGIN PRIVATE KEY-----',
      'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7demo0nly0000',
      '0000000000000000000000000000000000000000000000000000000000000000',
      '-----END PRIVATE KEY-----',
      '<Endpoint url="https://svc_clk:Integr8-Pa55@erp.corp.example/api/v2" />',
      'Data Source=DB01;User ID=w6app;Password=Sql-Demo-Pa55w0rd!;',
      '<add key="ApiToken" value="tok_live_4f9a8b7c6d5e4f3a2b1c" />',
      'tail without newline password=Ldap-Bind-S3cret',
    ].join('\n'),
    'latin1',
  );

  it('gives the same bytes and counts as redactText for any chunking (property)', async () => {
    const expected = createRedactor().redactText(sample.toString('latin1'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }), async (sizes) => {
        const { out, counts } = await viaStream(sample, sizes);
        expect(out.toString('latin1')).toBe(expected.text);
        expect(counts).toEqual(expected.counts);
        for (const s of PLANTED_SECRETS) expect(out.toString('latin1')).not.toContain(s);
      }),
      { numRuns: 150 },
    );
  });

  it('the fast path (lines without triggers copied as they are) changes nothing (property)', async () => {
    const fragments = ['password', 'Pwd', '=', ':', ' ', ';', '"', "'", '<add key="DbPassword" value="', '"/>', 'https://', 'u', ':', 'p@h', 'Bearer ', 'abcdefgh12345678', 'token', 'MIIEvQIBADANBgkqhkiG9w0B', 'eyJhbGciOiJIUzI1NiJ9', '.', 'AKIAIOSFODNN7EXAMPLE', 'tok_live_4f9a8b7c6d5e', '-----BEGIN PRIVATE KEY-----', '-----END PRIVATE KEY-----', 'x', '\n', '\r\n', 'User ID=sa', 'apikey', '{"secret":"v"}', '<Password>', '</Password>'];
    const identity = { text: (s: string) => s };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...fragments), { maxLength: 80 }), fc.integer({ min: 1, max: 64 }), async (parts, chunk) => {
        const input = Buffer.from(parts.join(''), 'latin1');
        const fast = createRedactor();
        const slow = createRedactor({ anonymizer: identity }); // an anonymizer turns the fast path off
        const run = async (r: ReturnType<typeof createRedactor>) => {
          const chunks: Buffer[] = [];
          for (let p = 0; p < input.length; p += chunk) chunks.push(input.subarray(p, p + chunk));
          const out: Buffer[] = [];
          for await (const c of Readable.from(chunks).pipe(r.transform())) out.push(c as Buffer);
          return Buffer.concat(out).toString('latin1');
        };
        expect(await run(fast)).toBe(await run(slow));
        expect(fast.counts()).toEqual(slow.counts());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps non-UTF-8 bytes and CRLF exactly', async () => {
    const input = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9, 0xff, 0x00]), Buffer.from(' ok\r\nnext\r\n')]);
    const { out } = await viaStream(input, [3]);
    expect(out.equals(input)).toBe(true);
  });

  it('redacts UTF-16LE text (BOM) and keeps it UTF-16LE', async () => {
    const text = '\ufeffUser ID=w6app;Password=Utf16-S3cret;\r\nplain line\r\n';
    const input = Buffer.from(text, 'utf16le');
    const { out, counts } = await viaStream(input, [7]); // odd sizes split code units
    const decoded = out.toString('utf16le');
    expect(decoded).toBe('\ufeffUser ID=w6app;Password=[REDACTED];\r\nplain line\r\n');
    expect(counts).toEqual({ 'connection-string': 1 });
  });

  it('redacts UTF-16BE (BOM) and BOM-less UTF-16LE, each kept in its encoding, whatever the chunking', async () => {
    const text = 'User ID=w6app;Password=Utf16-S3cret;\r\n<add key="ApiToken"\r\n  value="Be-T0ken" />\r\n';
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    for (const sizes of [[1], [3], [7], [64]]) {
      const { out } = await viaStream(be, sizes);
      expect(out.subarray(0, 2)).toEqual(Buffer.from([0xfe, 0xff]));
      const decoded = Buffer.from(out.subarray(2)).swap16().toString('utf16le');
      expect(decoded).toBe('User ID=w6app;Password=[REDACTED];\r\n<add key="ApiToken"\r\n  value="[REDACTED]" />\r\n');
    }
    const le = Buffer.from(text, 'utf16le');
    const { out } = await viaStream(le, [5]);
    expect(out.toString('utf16le')).not.toMatch(/Utf16-S3cret|Be-T0ken/);
    expect(out.toString('utf16le')).toContain('User ID=w6app');
  });

  it('streams many MB with a PEM block across chunk boundaries, and drops an unterminated PEM to the end', async () => {
    const line = '03/06/2025 10:12:33,120 INFO W6Server: scheduling run completed for district North in 512 ms\n';
    const block = '-----BEGIN PRIVATE KEY-----\n' + 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n'.repeat(50) + '-----END PRIVATE KEY-----\n';
    const r = createRedactor();
    let outBytes = 0;
    let found = false;
    const total = 8 * 1024 * 1024;
    async function* gen() {
      let sent = 0;
      let i = 0;
      while (sent < total) {
        const piece = Buffer.from(i % 200 === 100 ? line.repeat(10) + block : line.repeat(50));
        sent += piece.length;
        i++;
        // odd chunk sizes so that PEM lines fall across chunks
        for (let p = 0; p < piece.length; p += 4093) yield piece.subarray(p, p + 4093);
      }
      yield Buffer.from('-----BEGIN PRIVATE KEY-----\nMIIunterminated\nsecret-tail\n');
    }
    for await (const c of Readable.from(gen()).pipe(r.transform())) {
      const s = (c as Buffer).toString('latin1');
      if (s.includes('QUJDREVG') || s.includes('secret-tail') || s.includes('MIIunterminated')) found = true;
      outBytes += (c as Buffer).length;
    }
    expect(found).toBe(false);
    expect(outBytes).toBeGreaterThan(total * 0.9);
    expect(r.counts()['pem-block']).toBeGreaterThan(5);
  });

  it('cuts a line with no newline at a separator and still finds secrets on both sides', async () => {
    const head = 'x '.repeat(600_000); // 1.2 MB without a newline
    const input = Buffer.from(`${head}password=Hidden1 ${head}password=Hidden2`);
    const { out } = await viaStream(input, [65536]);
    const s = out.toString('latin1');
    expect(s).not.toContain('Hidden1');
    expect(s).not.toContain('Hidden2');
    expect(out.length).toBe(input.length - 'Hidden1'.length * 2 + REDACTED.length * 2);
  });
});

describe('the demo farm', () => {
  it('no planted secret survives redaction of any config or log file, on any server', async () => {
    let files = 0;
    const r = createRedactor();
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (/\.(config|xml|log|json|txt|ini)$/i.test(e.name)) {
          const raw = await readFile(p);
          const { out } = await viaStream(raw, [1000]);
          for (const s of PLANTED_SECRETS) expect(out.toString('latin1'), `${p} still holds ${s}`).not.toContain(s);
          r.redactText(raw.toString('latin1'));
          files++;
        }
      }
    };
    await walk(DEMO_SERVERS_DIR);
    expect(files).toBeGreaterThan(10);
    const report = JSON.stringify(r.counts());
    for (const s of PLANTED_SECRETS) expect(report).not.toContain(s);
  });
});
