// `--version --json`: version, commit and platform of the build a user runs (here the built CLI).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, runCli } from '../support/cli.js';
import { wantsVersionJson } from '../../src/cli.js';
import { parseCommit } from '../../src/version.js';

describe('--version --json', () => {
  it('reports version, commit, platform, arch and Node', async () => {
    const r = await runCli(['--version', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.version).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
    expect(v.platform).toBe(process.platform);
    expect(v.arch).toBe(process.arch);
    expect(v.node).toBe(process.versions.node);
    expect(['dist', 'bundle']).toContain(v.build);
    if (v.build === 'dist' && existsSync(join(REPO, '.git'))) {
      // from a checkout, the commit is git's HEAD (a bundle carries the one it was built from)
      expect(v.commit).toBe(execFileSync('git', ['-C', REPO, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim());
    } else expect(v.commit).toMatch(/^([0-9a-f]{7,40}|unknown)$/);
  });

  it('plain --version stays the bare version', async () => {
    const r = await runCli(['--version']);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('is asked for only among the global options', () => {
    expect(wantsVersionJson(['--version', '--json'])).toBe(true);
    expect(wantsVersionJson(['--json', '-V'])).toBe(true);
    expect(wantsVersionJson(['--farm', 'x.json', '--json', '--version'])).toBe(true);
    expect(wantsVersionJson(['--version'])).toBe(false);
    expect(wantsVersionJson(['--json', 'evtx', 'stats', '--version'])).toBe(false);
  });

  it('accepts only a hex commit id', () => {
    expect(parseCommit('4F85714a9d3ca2d2294271f4e6e16db45378d292\n')).toBe('4f85714a9d3ca2d2294271f4e6e16db45378d292');
    expect(parseCommit('\u001b[31mevil')).toBe('unknown');
    expect(parseCommit('')).toBe('unknown');
  });
});
