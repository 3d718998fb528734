// "did you mean tracerGlobs?" for an unknown key in the farm file: the keys the schema accepts at
// that place, and the nearest one by edit distance (case-insensitive, at most 2 edits or a prefix).
import type { z } from 'zod';

type AnySchema = z.core.$ZodType;

interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  innerType?: AnySchema;
  element?: AnySchema;
  options?: AnySchema[];
  in?: AnySchema;
  valueType?: AnySchema;
}

const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas that can stand at `path` (a union gives several). */
function schemasAt(root: AnySchema, path: readonly PropertyKey[]): AnySchema[] {
  let current: AnySchema[] = [root];
  const unwrap = (s: AnySchema): AnySchema[] => {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault' || d.type === 'readonly') && d.innerType) return unwrap(d.innerType);
    if (d.type === 'pipe' && d.in) return unwrap(d.in);
    if (d.type === 'union' && d.options) return d.options.flatMap(unwrap);
    return [s];
  };
  current = current.flatMap(unwrap);
  for (const key of path) {
    const next: AnySchema[] = [];
    for (const s of current) {
      const d = defOf(s);
      if (typeof key === 'number' && d.type === 'array' && d.element) next.push(d.element);
      else if (d.type === 'object' && d.shape && typeof key === 'string' && d.shape[key]) next.push(d.shape[key]!);
      else if (d.type === 'record' && d.valueType) next.push(d.valueType);
    }
    current = next.flatMap(unwrap);
  }
  return current;
}

export function knownKeysAt(root: AnySchema, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(root, path)) {
    const d = defOf(s);
    if (d.type === 'object' && d.shape) for (const k of Object.keys(d.shape)) keys.add(k);
  }
  return [...keys];
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The accepted key nearest to `unknown` at `path`, when one is near enough to be a typo. */
export function suggestKey(root: AnySchema, path: readonly PropertyKey[], unknown: string): string | undefined {
  return nearestWord(unknown, knownKeysAt(root, path));
}

/** The candidate nearest to `unknown` (case-insensitive, at most `maxEdits` edits, or a prefix either way), when one is near enough to be a typo. */
export function nearestWord(unknown: string, candidates: readonly string[], maxEdits = 2): string | undefined {
  const u = unknown.toLowerCase();
  let best: { key: string; d: number } | undefined;
  for (const key of candidates) {
    const k = key.toLowerCase();
    let d = editDistance(u, k);
    if (d > 0 && (k.startsWith(u) || u.startsWith(k)) && Math.abs(k.length - u.length) <= 4) d = Math.min(d, 1);
    if (d <= maxEdits && (!best || d < best.d)) best = { key, d };
  }
  return best?.key;
}
