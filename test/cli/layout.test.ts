// The folders say how data moves: farm → collect → (logs readers, redaction) → bundle. This test
// reads every import in src/ and fails when a folder reaches one it must not (README "Architecture").
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
/** Top-level modules with no knowledge of servers, bundles or terminals: anyone may use them. */
const NEUTRAL = ['errors', 'abort', 'format', 'commandline', 'atomic-file', 'pattern', 'version', 'owner-only'];
/** What each folder may import besides itself and the neutral modules. */
const ALLOWED: Record<string, string[]> = {
  logs: [],
  bundle: ['logs'],
  farm: [],
  incident: ['farm', 'logs'],
  license: ['farm', 'logs'],
  collect: ['farm', 'logs', 'bundle', 'incident'],
  checks: ['farm', 'logs', 'license', 'incident'],
  ui: ['incident', 'farm'],
  commands: ['*'],
};

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (name.endsWith('.ts')) yield p;
  }
}

/** The top-level folder (or neutral module name) a path under src/ belongs to. */
function areaOf(file: string): string {
  const first = relative(SRC, file).split(/[\\/]/)[0]!;
  return first.replace(/\.ts$|\.js$/, '');
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/g), ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

describe('source layout', () => {
  const violations: string[] = [];
  for (const file of tsFiles(SRC)) {
    const from = areaOf(file);
    const allowed = ALLOWED[from];
    if (!allowed) continue; // top-level entry modules (cli.ts, app.ts) and neutral ones
    for (const target of imports(file)) {
      const to = areaOf(target);
      if (to === from || NEUTRAL.includes(to) || allowed.includes('*') || allowed.includes(to)) continue;
      violations.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (${from} may import ${[...allowed, ...NEUTRAL].join(', ')})`);
    }
  }

  it('every folder imports only what the architecture allows', () => {
    expect(violations).toEqual([]);
  });

  it('neutral modules import no folder', () => {
    const bad: string[] = [];
    for (const name of NEUTRAL) {
      const file = join(SRC, `${name}.ts`);
      for (const target of imports(file)) if (!NEUTRAL.includes(areaOf(target))) bad.push(`${name}.ts imports ${relative(SRC, target)}`);
    }
    expect(bad).toEqual([]);
  });

  it('finds imports at all (the scan is not vacuous)', () => {
    expect(imports(join(SRC, 'collect', 'run.ts')).map(areaOf)).toEqual(expect.arrayContaining(['farm', 'bundle', 'incident', 'logs']));
  });
});
