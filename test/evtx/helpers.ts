// Shared helpers for the evtx tests: fixture locations and evtxexport output parsing.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEvtx, type EvtxRecord, type EvtxWarning } from '../../src/logs/evtx/index.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtures = join(repoRoot, 'fixtures', 'evtx');
/** The shared research corpus lives next to the repository (../shared); it is optional. */
export const corpus = join(repoRoot, '..', 'shared', 'fixtures', 'evtx');
export const corpusPresent = existsSync(join(corpus, 'expected-counts.csv'));

export function fixture(name: string): string {
  return join(fixtures, name);
}

export async function readAll(source: Parameters<typeof readEvtx>[0]): Promise<{ records: EvtxRecord[]; warnings: EvtxWarning[] }> {
  const records: EvtxRecord[] = [];
  const warnings: EvtxWarning[] = [];
  for await (const r of readEvtx(source, { onWarning: (w) => warnings.push(w) })) records.push(r);
  return { records, warnings };
}

export function listEvtx(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listEvtx(p));
    else if (name.endsWith('.evtx')) out.push(p);
  }
  return out.sort();
}

export function corpusRelative(p: string): string {
  return relative(corpus, p).split('\\').join('/');
}

export const evtxexportPresent = spawnSync('sh', ['-c', 'command -v evtxexport'], { encoding: 'utf8' }).status === 0;

export interface ExportedEvent {
  recordId: number;
  eventId: number;
  provider: string;
  computer: string;
  timeCreated: string;
  data: [string, string][];
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] as string);
}

/** The <Event> blocks printed by `evtxexport -f xml` (it prints no root element). */
export function evtxexportBlocks(file: string): string[] {
  const r = spawnSync('evtxexport', ['-f', 'xml', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return r.stdout.split('<Event xmlns=').slice(1).map((b) => `<Event xmlns=${b}`.trim());
}

/** Runs `evtxexport -f xml` and pulls the compared fields out of each <Event> block. */
export function evtxexportEvents(file: string): ExportedEvent[] {
  const out: ExportedEvent[] = [];
  for (const block of evtxexportBlocks(file)) {
    const tag = (name: string) => block.match(new RegExp(`<${name}(?: [^>]*)?>([^<]*)</${name}>`))?.[1] ?? '';
    const data: [string, string][] = [];
    const ed = block.match(/<EventData>([\s\S]*?)<\/EventData>/)?.[1] ?? '';
    let unnamed = 0;
    for (const m of ed.matchAll(/<(Data|Binary)(?: Name="([^"]*)")?(?:\/>|>([^<]*)<\/\1>)/g)) {
      const key = m[2] !== undefined ? unescapeXml(m[2]) : m[1] === 'Data' ? `Data[${unnamed++}]` : m[1];
      data.push([key, unescapeXml(m[3] ?? '')]);
    }
    out.push({
      recordId: Number(tag('EventRecordID')),
      eventId: Number(tag('EventID')),
      provider: unescapeXml(block.match(/<Provider Name="([^"]*)"/)?.[1] ?? ''),
      computer: unescapeXml(tag('Computer')),
      timeCreated: block.match(/<TimeCreated SystemTime="([^"]*)"/)?.[1] ?? '',
      data,
    });
  }
  return out;
}
