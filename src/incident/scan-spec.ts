// What a Tracer scan needs, as plain data that can cross to a worker thread, and the messages the
// worker threads exchange with scanTracerFiles.
import { compileUserPatterns, type ErrorScanOptions, type PlainTally } from './tracer-errors.js';
import type { Bucketing } from './buckets.js';

export interface TracerScanSpec {
  errorTokens: readonly string[];
  userPatterns: readonly string[];
  fromMs: number;
  toMs: number;
  utcOffsetMinutes: number;
  clockOffsetMs: number;
  /** Count per time bucket too (the incident timeline). */
  bucketing?: Bucketing;
}

export function scanSpecOptions(spec: TracerScanSpec, signal?: AbortSignal): ErrorScanOptions {
  return { ...spec, userPatterns: compileUserPatterns(spec.userPatterns), signal };
}

export type ToWorker = { scan: number; hostPath: string; dayFirst?: boolean } | { stop: true };
export type FromWorker = { done: number; tally: PlainTally } | { failed: number; error: string };
