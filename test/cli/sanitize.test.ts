// The one sanitiser for untrusted text on a terminal (src/ui/sanitize.ts), and Io's messages using it.
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { sanitize, sanitizeJson, sanitizeStyled } from '../../src/ui/sanitize.js';
import { Io } from '../../src/ui/io.js';
import { renderTable } from '../../src/ui/table.js';

const HOSTILE = 'a\u001b]0;title\u0007b\u001b[2J\u001b]8;;http://x/\u001b\\link\u009b31m\u007f\u202e\u2066\r\n\t\u0000';

describe('sanitize', () => {
  it('escapes C0, C1, DEL, ESC sequences and bidi characters; keeps printable text', () => {
    expect(sanitize(HOSTILE)).toBe('a\\x1b]0;title\\x07b\\x1b[2J\\x1b]8;;http://x/\\x1b\\link\\x9b31m\\x7f\\u202e\\u2066\\r\\n\\t\\x00');
    expect(sanitize('C:\\Program Files\\ÄÖ 日本')).toBe('C:\\Program Files\\ÄÖ 日本');
    expect(sanitize('two\nlines\tand\r', { keepLines: true })).toBe('two\nlines\tand\\r');
    expect(sanitize(sanitize(HOSTILE))).toBe(sanitize(HOSTILE));
  });

  it('sanitizeStyled keeps SGR colour only; sanitizeJson keeps the JSON value', () => {
    expect(sanitizeStyled('\u001b[32mok\u001b[39m \u001b[2J\u001b]0;t\u0007')).toBe('\u001b[32mok\u001b[39m \\x1b[2J\\x1b]0;t\\x07');
    const json = sanitizeJson(JSON.stringify({ s: HOSTILE }));
    expect(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u001b]/.test(json)).toBe(false);
    expect(JSON.parse(json).s).toBe(HOSTILE);
  });

  it('tables and Io messages never write a raw control character', () => {
    let out = '';
    const sink = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
    const io = new Io({ stdout: sink, stderr: sink, env: {}, color: false });
    io.out(renderTable([{ v: HOSTILE }], [{ header: 'V', value: (r) => r.v }]));
    io.warn(HOSTILE);
    io.error(HOSTILE, HOSTILE);
    io.info(HOSTILE);
    expect(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(out)).toBe(false);
    expect(out).toContain('\\x1b]0;title\\x07');
  });
});
