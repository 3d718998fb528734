// Shared by the incident tests: run the built CLI as a user would, and count the fixtures' answers
// by a separate, simple method (whole files, split on lines, plain regular expressions).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/clk-support.js');
export const DEMO_FARM = join(ROOT, 'fixtures/demo-farm/clk-farm.json');
export const DEMO_SERVERS = join(ROOT, 'fixtures/demo-farm/servers');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, NO_COLOR: '1', CI: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Files below dir whose names end in ext (case-insensitive). */
export function walk(dir: string, ext = '.log'): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, ext));
    else if (e.name.toLowerCase().endsWith(ext)) out.push(p);
  }
  return out;
}

/** Error lines of a server's Tracer logs in [from, to] (UTC, log written in UTC): users and first time. */
export function expectedTracer(serverDir: string, from: string, to: string): { users: Set<string>; first?: number; lines: number } {
  const users = new Set<string>();
  let first: number | undefined;
  let lines = 0;
  const root = join(serverDir, 'c$/ClickSoftware/Logs');
  for (const file of walk(root)) {
    let lastTime: number | undefined;
    for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
      const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)/.exec(line);
      if (m) lastTime = Date.parse(`${m[1]}T${m[2]}Z`);
      if (!/ERROR|FATAL|Exception/.test(line) || lastTime === undefined) continue;
      if (lastTime < Date.parse(from) || lastTime > Date.parse(to)) continue;
      lines++;
      if (first === undefined || lastTime < first) first = lastTime;
      const u = /User=(?:[^\\\s]+\\)?([^\s]+)/i.exec(line);
      if (u) users.add(u[1].toLowerCase());
    }
  }
  return { users, first, lines };
}

export interface ExportedEvent {
  provider: string;
  eventId: number;
  level: number;
  time: number;
  xml: string;
}

/** Events via libevtx's evtxexport (a different reader from ours); undefined when it is not installed. */
export function exportEvents(file: string): ExportedEvent[] | undefined {
  const r = spawnSync('evtxexport', ['-f', 'xml', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('<Event ').slice(1).map((xml) => ({
    provider: /<Provider Name="([^"]*)"/.exec(xml)?.[1] ?? '',
    eventId: Number(/<EventID[^>]*>(\d+)</.exec(xml)?.[1]),
    level: Number(/<Level>(\d+)</.exec(xml)?.[1]),
    time: Date.parse(/<TimeCreated SystemTime="([^"]+)"/.exec(xml)?.[1] ?? ''),
    xml,
  }));
}

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** The product version in a PE file, found as UTF-16 text "8.x.y.z" after "FileVersion" (independent of our PE parser). */
export function peFileVersion(file: string): string | undefined {
  const text = readFileSync(file).toString('utf16le');
  return /FileVersion\0*([\d.]+)/.exec(text)?.[1] ?? /(\d+\.\d+\.\d+\.\d+)/.exec(text)?.[1];
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
