// What a bundle says about itself: manifest.json (every entry with its sha256) and collector.log
// (one line per collector run). Shared by the writer, verify/inspect and the collectors.
import { escapeControl } from '../format.js';
import type { TextEncodingName } from '../logs/encoding.js';
import { VERSION } from '../version.js';

export const TOOL_VERSION: string = VERSION;

export const MANIFEST_SCHEMA = 'clk-support/bundle-manifest/v1';
export const MANIFEST_PATH = 'manifest.json';
export const COLLECTOR_LOG_PATH = 'collector.log';
export const REDACTION_REPORT_PATH = 'redaction-report.json';
export const RESERVED_PATHS = new Set([MANIFEST_PATH, COLLECTOR_LOG_PATH, REDACTION_REPORT_PATH]);

export interface BundleEntryMeta {
  server?: string;
  sourcePath?: string;
  collector: string;
  truncated?: boolean;
  /** already compressed (.zip, .gz, .7z, images...) → stored, not deflated again; detected by extension and magic when absent */
  store?: boolean;
  redactions?: Record<string, number>;
  note?: string;
  /** run the text through the redactor (and the anonymizer when configured) on the way in */
  redact?: boolean;
  /**
   * The source arrives as UTF-8 (decoded by the collector) but was this encoding on the server: after
   * redaction the entry is written back in it, BOM first. Recorded in the manifest.
   */
  encoding?: TextEncodingName;
  /** ends this entry early (timeout): the entry is kept truncated, addStream rejects with EntrySourceError */
  signal?: AbortSignal;
  /** refuse before writing when this would exceed the bundle cap */
  expectedSize?: number;
  mtime?: Date;
}

export interface ManifestEntry extends Omit<BundleEntryMeta, 'redact' | 'signal' | 'expectedSize' | 'mtime'> {
  path: string;
  size: number;
  sha256: string;
}

export interface CollectorLogEntry {
  server?: string;
  collector: string;
  status: 'ok' | 'failed' | 'skipped' | 'timed-out' | 'partial';
  reason?: string;
  durationMs: number;
  files: number;
  bytes: number;
}

export interface BundleFarmInfo {
  name: string;
  systemId?: string;
  environment?: string;
  file?: string;
  [key: string]: unknown;
}

export interface FinalizeInfo {
  farm: BundleFarmInfo;
  window: { from: string; to: string };
  extra?: Record<string, unknown>;
}

export interface FinalizeResult {
  path: string;
  size: number;
  entries: number;
  /** the anonymization mapping written beside the bundle (never inside it) */
  mappingPath?: string;
  /** what could not be done after the bundle was complete (owner-only access on Windows) */
  warnings?: string[];
}

export interface BundleManifest {
  schema: typeof MANIFEST_SCHEMA;
  tool: { name: 'clk-support'; version: string };
  createdAt: string;
  farm: BundleFarmInfo;
  window: { from: string; to: string };
  entries: ManifestEntry[];
  collectors: CollectorLogEntry[];
  redaction: { totals: Record<string, number>; files: number };
  anonymized: boolean;
  [key: string]: unknown;
}

/** collector.log: one line per collector run, aligned, human-readable. */
export function renderCollectorLog(entries: readonly CollectorLogEntry[]): string {
  const lines = ['# clk-support collector log: server, collector, status, duration, files, bytes, reason'];
  for (const e of entries) {
    lines.push(
      // A field can hold a server's file name: a newline, tab or ESC in it never forges a line or a column.
      [e.server ?? '-', e.collector, e.status, `${e.durationMs}ms`, `${e.files} files`, `${e.bytes} bytes`, e.reason ?? ''].map((field) => escapeControl(field))
        .join('\t')
        .trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}
