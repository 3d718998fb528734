// The farm-wide incident timeline as data: what `incident timeline --json` prints, what the HTML
// page and the text table are drawn from, and what collect puts in the bundle as timeline.json.
// Every time is UTC (ISO 8601, ms) after each server's clock offset was subtracted; the offsets
// applied are listed per server so a reader can undo them. Versioned: a reader must check `schema`.

export const TIMELINE_SCHEMA = 'clk-support/incident-timeline/v1';

/** A performance threshold, as data (docs/perf-findings.md lists the built-in ones). */
export interface PerfThreshold {
  /** Stable id, e.g. "cpu.sustained-high"; the `check` id is `perf.<id>`. */
  id: string;
  /** Matches a counter path without the machine, case-insensitive: "\Processor(_Total)\% Processor Time". */
  counter: string;
  /** 'above' finds values > limit; 'below' values < limit; 'growth' a rise of at least `limit` (in the counter's unit) over the span. */
  test: 'above' | 'below' | 'growth';
  limit: number;
  /** How long the condition must hold before it is a finding (ms). */
  sustainMs: number;
  severity: 'warning' | 'critical';
  /** One line for the finding: what it suggests and what to look at. */
  explanation: string;
}

export interface PerfFinding {
  /** The threshold's id. */
  id: string;
  severity: 'warning' | 'critical';
  server: string;
  /** The counter path as the log names it (machine included). */
  counter: string;
  from: string;
  to: string;
  /** The worst value in the span (max for 'above'/'growth', min for 'below'); for 'growth', the rise. */
  value: number;
  limit: number;
  explanation: string;
}

export type TimelineMarkKind =
  | 'first-occurrence'
  | 'install'
  | 'update'
  | 'remove'
  | 'failed-install'
  | 'restart'
  | 'service-start'
  | 'service-stop'
  | 'service-installed'
  | 'file-modified';

export interface TimelineMark {
  time: string;
  server: string;
  kind: TimelineMarkKind;
  /** Short text for a tooltip/legend (already redacted/anonymised when the timeline leaves for SAP). */
  label: string;
}

export interface TimelineServer {
  name: string;
  role: string;
  reachable: boolean;
  reason?: string;
  version?: string;
  build?: string;
  /** Measured clock offset (server minus this machine), when measured. */
  clockOffsetMs?: number;
  /** What was subtracted from this server's log times (0 when within measurement noise). */
  clockCorrectionMs: number;
}

/** Values per bucket, aligned with Timeline.buckets (same length); null where nothing was sampled. */
export interface TimelineSeries {
  server: string;
  /** 'tracer-errors' | 'event-errors' | 'users' | 'counter' */
  kind: 'tracer-errors' | 'event-errors' | 'users' | 'counter';
  /** For counters: the counter path without the machine ("\Processor(_Total)\% Processor Time"); else a label. */
  name: string;
  /** For counters: which chart they go to. */
  category?: 'cpu' | 'memory' | 'disk' | 'paging' | 'process' | 'aspnet' | 'dotnet' | 'sql' | 'other';
  unit?: string;
  /** counts per bucket (errors, distinct users) or, for counters, the bucket's mean; max in `max`. */
  values: (number | null)[];
  max?: (number | null)[];
}

export interface Timeline {
  schema: typeof TIMELINE_SCHEMA;
  generatedAt: string;
  farm: { name: string; systemId: string; environment: string };
  /** Where the data came from: the live farm, or a bundle read offline. */
  source: { kind: 'farm' | 'bundle'; path: string };
  window: { from: string; to: string };
  /** Bucket width: one minute, widened for long windows so there are at most 1,440 buckets. */
  bucketMs: number;
  /** Bucket start times. */
  buckets: string[];
  servers: TimelineServer[];
  firstOccurrence?: { time: string; server: string; source: 'tracer' | 'eventlog'; detail: string };
  series: TimelineSeries[];
  marks: TimelineMark[];
  /** Distinct affected users over the whole window, per server and in all. */
  users: { total: number; perServer: { server: string; count: number }[] };
  findings: PerfFinding[];
  /** Perfmon files seen but not readable as CSV (e.g. .blg without relog), and other gaps, said plainly. */
  warnings: string[];
}
