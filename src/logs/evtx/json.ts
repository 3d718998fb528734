// JSON text of record values, built by hand: JSON.stringify over whole records was the single
// largest cost of `evtx dump --format jsonl`.

// Most strings need no escaping; a regex test is about twice as fast as JSON.stringify on them.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

function bigintAsString(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** A data value: strings escaped, non-finite numbers and 64-bit integers as strings. */
export function jsonValue(v: unknown): string {
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `"${v}"`;
  if (typeof v === 'bigint') return `"${v}"`;
  return JSON.stringify(v, bigintAsString) ?? 'null';
}

// Data names come from template definitions and repeat on every record of their event type.
const keyCache = new Map<string, string>();

/** `"name":`, escaped once per distinct name. */
export function jsonKey(key: string): string {
  let k = keyCache.get(key);
  if (k === undefined) {
    k = `${JSON.stringify(key)}:`;
    if (keyCache.size > 4096) keyCache.clear(); // bounded: crafted files must not grow memory
    keyCache.set(key, k);
  }
  return k;
}

/** `{"k":v,...}` of a data object, in its own key order. */
export function jsonObject(data: Record<string, unknown>): string {
  let out = '{';
  let first = true;
  for (const key in data) {
    out += `${first ? '' : ','}${jsonKey(key)}${jsonValue(data[key])}`;
    first = false;
  }
  return `${out}}`;
}
