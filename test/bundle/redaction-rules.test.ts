// Every redaction rule's own examples: each positive loses its secret and is counted under the
// rule's id; each negative passes through byte for byte. Every rule stays linear on hostile 1 MB
// lines. docs/bundle.md lists exactly these rules.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES, createRedactor, isSecretName, rulesMarkdownTable } from '../../src/bundle/redact.js';
import { REPO } from './helpers.js';

describe('redaction rules as data', () => {
  it('has unique ids, and each rule at least one positive and one negative example', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const r of RULES) {
      expect(r.examples.length, r.id).toBeGreaterThan(0);
      expect(r.negatives.length, r.id).toBeGreaterThan(0);
      expect(r.description.length, r.id).toBeGreaterThan(10);
    }
  });

  for (const rule of RULES) {
    describe(rule.id, () => {
      for (const ex of rule.examples) {
        it(`removes ${JSON.stringify(ex.secret)} from ${JSON.stringify(ex.text).slice(0, 70)}`, () => {
          const { text, counts } = createRedactor().redactText(`${ex.text}\n`);
          expect(text).not.toContain(ex.secret);
          expect(text).toContain('[REDACTED');
          expect(counts[rule.id] ?? 0, `${text} ${JSON.stringify(counts)}`).toBeGreaterThan(0);
          expect(JSON.stringify(counts)).not.toContain(ex.secret);
        });
        it(`removes it streamed in 3-byte chunks and in UTF-16LE too`, async () => {
          for (const enc of ['latin1', 'utf16le'] as const) {
            const input = Buffer.concat([enc === 'utf16le' ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(`a line before\n${ex.text}\r\nafter\n`, enc)]);
            const c = createRedactor().chunker();
            const out: Buffer[] = [];
            for (let p = 0; p < input.length; p += 3) {
              const o = c.write(input.subarray(p, p + 3));
              if (o) out.push(o);
            }
            const last = c.end();
            if (last) out.push(last);
            const all = Buffer.concat(out);
            expect(all.includes(Buffer.from(ex.secret, enc)), enc).toBe(false);
            expect(all.toString(enc)).toContain('after');
          }
        });
      }
      for (const neg of rule.negatives) {
        it(`leaves ${JSON.stringify(neg)} alone`, () => {
          expect(createRedactor().redactText(`${neg}\n`)).toEqual({ text: `${neg}\n`, counts: {} });
        });
      }
    });
  }

  it('judges names by what they hold, not by the word alone', () => {
    for (const n of ['Password', 'DbPassword', 'LDAP_BIND_PASSWORD', 'db.pass', 'client_secret', 'ApiKey', 'x-api-key', 'SasToken', 'sig', 'validationKey', 'decryptionKey', 'aws_secret_access_key', 'credentials', 'sap-password', 'PWD', 'Kennwort'])
      expect(isSecretName(n), n).toBe(true);
    for (const n of ['PasswordExpiryDays', 'MinPasswordLength', 'passwordFormat', 'TokenEndpoint', 'TokenLifetime', 'password_policy', 'CredentialType', 'key', 'name', 'User', 'Passage', 'compass'])
      expect(isSecretName(n), n).toBe(false);
  });

  it('docs/bundle.md lists every rule (the table is rulesMarkdownTable())', () => {
    const doc = readFileSync(join(REPO, 'docs', 'bundle.md'), 'utf8');
    expect(doc).toContain(rulesMarkdownTable());
  });
});

describe('every rule stays linear on hostile 1 MB lines', () => {
  const MB = 1024 * 1024;
  const fill = (piece: string) => piece.repeat(Math.ceil(MB / piece.length)).slice(0, MB - 1);
  const hostile = [
    'a',
    ' ',
    'password=',
    'password= ',
    'Password=a ',
    'pwd={',
    "password='",
    '"password":"',
    '"a":',
    '<add key="Password" value="',
    '<Password>',
    '<a ',
    '<![CDATA[',
    'https://',
    'https://a:',
    'a:b@',
    'eyJhbGciOiJIUzI1NiJ9.',
    'Bearer ',
    'Authorization: ',
    '-p ',
    '-u x -p',
    '--password ',
    'net use \\\\a\\b ',
    'ConvertTo-SecureString ',
    'MIIaaaa',
    'AKIA',
    'ghp_',
    'name: password\n',
    'x%3D',
    '%',
    '\\"password\\":\\"',
    '-----BEGIN ',
  ];
  for (const piece of hostile) {
    it(`${JSON.stringify(piece)} repeated to 1 MB`, () => {
      const line = fill(piece);
      const r = createRedactor();
      const { text } = r.redactText(`${line}\n`);
      expect(text.length).toBeGreaterThan(0);
      for (const rule of RULES) {
        rule.re.lastIndex = 0;
        line.replace(rule.re, (m) => m);
      }
    }, 5_000);
  }
});
