#!/usr/bin/env node
// `npm run demo`: the main job on the bundled demo farm, as an administrator would run it.
//   1. farm status        - who answers, on which build, with which clock
//   2. collect            - the incident bundle for the demo incident window
//   3. bundle verify      - every sha256 in the manifest re-checked
// WEB01 is listed in the demo farm but absent on purpose, so steps 1 and 2 report a partial
// result (exit 3): that is the expected outcome here, and the demo itself then exits 0.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'bin', 'clk-support.js');
const farm = join(repo, 'fixtures', 'demo-farm', 'clk-farm.json');
const out = join(repo, 'demo-out');
mkdirSync(out, { recursive: true });

const bold = process.stderr.isTTY && !process.env.NO_COLOR ? (s) => `\x1b[1m${s}\x1b[0m` : (s) => s;

function step(title, args, expected) {
  process.stderr.write(`\n${bold(`$ clk-support ${args.join(' ')}`)}   # ${title}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit', cwd: repo });
  if (!expected.includes(r.status)) {
    process.stderr.write(`demo: "${title}" exited ${r.status}, expected ${expected.join(' or ')}\n`);
    process.exit(1);
  }
  return r.status;
}

const window = ['--from', '2025-06-03T08:00:00Z', '--to', '2025-06-03T12:00:00Z'];
step('probe the farm (WEB01 is absent on purpose: exit 3)', ['--farm', farm, 'farm', 'status'], [3]);
const before = new Set(readdirSync(out));
step('collect the incident bundle for the demo incident window (partial: exit 3)', ['--farm', farm, 'collect', ...window, '--out', out], [3]);
const bundle = readdirSync(out).find((f) => f.endsWith('.zip') && !before.has(f));
if (!bundle) {
  process.stderr.write('demo: collect wrote no bundle\n');
  process.exit(1);
}
step('verify the bundle', ['bundle', 'verify', join(out, bundle)], [0]);
process.stderr.write(`\nDemo done: ${join('demo-out', bundle)}\nNext: clk-support bundle inspect ${join('demo-out', bundle)}, or try check / license / incident (see README).\n`);
