// Untrusted text (names and fields from a bundle, messages that quote a server or a file) shown on a
// terminal without letting it drive the terminal: C0 and C1 controls, ESC (and so CSI/OSC sequences:
// title changes, screen clears, OSC-8 links), DEL, and the bidi/line-separator characters that
// reorder or split what is displayed are shown escaped (`\x1b`, `\u202e`), never written raw. The
// escaping itself is format.ts's escapeControl, the same that keeps collector.log one line a record.

import { escapeControl } from '../format.js';

// Colour (SGR) sequences exactly as the ui layer's own styling writes them.
const SGR = /\u001b\[[0-9;]*m/g;

/**
 * `text` with every control, escape and bidi character shown escaped. `keepLines` keeps newlines
 * and tabs (multi-line messages); everything else (a carriage return included) is escaped.
 */
export function sanitize(text: unknown, opts: { keepLines?: boolean } = {}): string {
  return escapeControl(typeof text === 'string' ? text : String(text), opts);
}

/**
 * Like sanitize, but colour sequences of the exact SGR form survive: for text the ui layer has
 * already styled (table cells with status badges). Anything else escape-like is escaped.
 */
export function sanitizeStyled(text: string, opts: { keepLines?: boolean } = {}): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(SGR)) {
    out += sanitize(text.slice(last, m.index), opts) + m[0];
    last = m.index + m[0].length;
  }
  return out + sanitize(text.slice(last), opts);
}

// What JSON.stringify leaves raw although a terminal acts on it: DEL, C1, bidi and line separators.
const JSON_RAW = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** JSON text with those characters \u-escaped: the same JSON value, safe on a terminal. */
export function sanitizeJson(json: string): string {
  return json.replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
