// SYNTHETIC Performance Monitor logs for the perf-findings tests: PDH-CSV files written the way
// relog/typeperf lay them out (CRLF, every cell quoted, "(PDH-CSV 4.0) (zone)(bias)" first header
// cell, local MM/DD/YYYY HH:MM:SS.mmm times, " " for a missing value). Not produced by Windows: made
// here so that each threshold can be crossed, approached and spiked on purpose.
import { mkdir, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { dirname } from 'node:path';
import { readLines } from '../../src/logs/lines.js';
import { analysePerfFile } from '../../src/incident/perf-findings.js';
import type { PerfThreshold } from '../../src/incident/timeline-model.js';

export const INTERVAL_MS = 15_000;
export const START = Date.UTC(2025, 5, 3, 8, 0, 0);

export interface SyntheticLog {
  machine: string;
  /** Counter paths without the machine: "\Processor(_Total)\% Processor Time". */
  counters: string[];
  /** Sample times, ms UTC, in row order. */
  times: number[];
  /** One column of values per counter (null: an empty cell). */
  columns: (number | null)[][];
  /** Minutes to add to local time to get UTC (the header's bias); default 0. */
  biasMinutes?: number;
  zoneName?: string;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** A row time as PDH-CSV writes it: local time (UTC minus the bias). */
export function pdhTime(ms: number, biasMinutes = 0): string {
  const d = new Date(ms - biasMinutes * 60_000);
  return `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

export function pdhCsv(log: SyntheticLog): string {
  const bias = log.biasMinutes ?? 0;
  const header = [`(PDH-CSV 4.0) (${log.zoneName ?? 'Coordinated Universal Time'})(${bias})`, ...log.counters.map((c) => `\\\\${log.machine}${c}`)];
  const lines = [header.map((c) => `"${c}"`).join(',')];
  log.times.forEach((ms, i) => {
    const cells = [pdhTime(ms, bias), ...log.columns.map((col) => (col[i] === null || col[i] === undefined ? ' ' : String(col[i])))];
    lines.push(cells.map((c) => `"${c}"`).join(','));
  });
  return `${lines.join('\r\n')}\r\n`;
}

export async function writePdhCsv(file: string, log: SyntheticLog): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, pdhCsv(log));
}

/** n sample times from START every INTERVAL_MS. */
export function times(n: number, start = START, interval = INTERVAL_MS): number[] {
  return Array.from({ length: n }, (_, i) => start + i * interval);
}

/** A deterministic noise source in [-1, 1) (the tests must not depend on Math.random). */
export function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

/** Analyse a written file the way check and prefill do: streamed lines from disk. */
export async function analyseFile(file: string, thresholds: readonly PerfThreshold[], server = 'SRV01') {
  return analysePerfFile(readLines(createReadStream(file)), server, thresholds);
}

/** A concrete counter path a threshold's pattern names (wildcards filled in as Windows names them). */
export function concreteCounter(pattern: string): string {
  return pattern
    .replace('\\*Disk(*)', '\\PhysicalDisk(0 C:)')
    .replace('\\*:', '\\SQLServer:')
    .replace('(*)', pattern.includes('LogicalDisk') ? '(C:)' : '(W6Server)');
}
