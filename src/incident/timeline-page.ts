// The incident timeline as one self-contained HTML page (`incident timeline --html`, timeline.html in
// the bundle): header, first occurrence, performance findings, servers, charts on one shared time
// axis, changes, warnings. Charts are static SVG drawn in Node by Apache ECharts' server-side renderer; the page has
// no script and loads nothing (a Content-Security-Policy says so too), so it opens offline, inside a
// ticket viewer, and prints to PDF. Every string of the Timeline came from a server's logs: it is
// shown with control characters made visible, bounded in length and HTML-escaped, and ECharts is
// given only formatter functions (never template strings, which would interpret `{a}` or rich text).
import { escapeControl, formatOffset, plural } from '../format.js';
import type { PerfFinding, Timeline, TimelineMark, TimelineMarkKind, TimelineSeries } from './timeline-model.js';

/** Width of every chart (SVG user units; the page scales them to its width). */
const CHART_WIDTH = 1000;
/** Same left/right plot margins on every chart, so that their time axes line up. */
const GRID_LEFT = 72;
const GRID_RIGHT = 84;
const PLOT_HEIGHT = 200;
/** Bounds: a hostile or huge timeline must still give a small, readable page. */
const MAX_SERIES_PER_CHART = 24;
const MAX_CHANGE_MARKS = 40;
const MAX_TABLE_ROWS = 500;
const MAX_TEXT = 400;
const MAX_LEGEND_TEXT = 60;
const MAX_MARK_LABEL = 40;

/** The first-occurrence line's colour: used by nothing else on a chart. */
const FIRST_COLOUR = '#d62728';
const FONTS = 'Arial, Helvetica, Liberation Sans, DejaVu Sans, sans-serif';
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#17becf', '#bab0ac', '#8c6d31', '#393b79'];
const MARK_COLOUR: Record<TimelineMarkKind, string> = {
  'first-occurrence': FIRST_COLOUR,
  install: '#6a3d9a',
  update: '#6a3d9a',
  remove: '#6a3d9a',
  'failed-install': '#b15928',
  restart: '#e6550d',
  'service-start': '#3182bd',
  'service-stop': '#3182bd',
  'service-installed': '#3182bd',
  'file-modified': '#636363',
};
const MARK_TEXT: Record<TimelineMarkKind, string> = {
  'first-occurrence': 'first occurrence',
  install: 'installed',
  update: 'updated',
  remove: 'removed',
  'failed-install': 'install failed',
  restart: 'restart',
  'service-start': 'service started',
  'service-stop': 'service stopped',
  'service-installed': 'service installed',
  'file-modified': 'file modified',
};

const CATEGORY_CHARTS: { id: string; title: string; categories: NonNullable<TimelineSeries['category']>[] }[] = [
  { id: 'cpu', title: 'Processor', categories: ['cpu'] },
  { id: 'memory', title: 'Memory', categories: ['memory'] },
  { id: 'disk', title: 'Disk', categories: ['disk'] },
  { id: 'paging', title: 'Paging', categories: ['paging'] },
  { id: 'process', title: 'Processes (handles, threads, private bytes)', categories: ['process'] },
  { id: 'aspnet', title: 'ASP.NET and .NET', categories: ['aspnet', 'dotnet'] },
  { id: 'sql', title: 'SQL Server', categories: ['sql'] },
  { id: 'other', title: 'Other counters', categories: ['other'] },
];

/** Untrusted text made safe to show: controls visible, bounded, then HTML-escaped. */
function escapeHtml(s: unknown, max = MAX_TEXT, opts: { keepLines?: boolean } = {}): string {
  return htmlEscape(bounded(String(s ?? ''), max, opts));
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Controls made visible and length bounded (for ECharts, which escapes what it writes into SVG). */
function bounded(s: string, max: number, opts: { keepLines?: boolean } = {}): string {
  const t = escapeControl(s, opts);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function ms(iso: string): number {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : NaN;
}

/** "2025-06-03 10:13:11 UTC" for a valid time, else the (escaped) text as given. */
function utcText(iso: string): string {
  const t = ms(iso);
  return Number.isFinite(t) ? `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC` : escapeControl(String(iso)).slice(0, 40);
}

function num(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)} k`;
  return Number.isInteger(v) ? String(v) : String(+v.toFixed(a < 10 ? 2 : 1));
}

interface Axis {
  from: number;
  to: number;
}

interface ChartSeries {
  name: string;
  colour: string;
  dashed?: boolean;
  unit: string;
  points: [number, number | null][];
}

interface ChartSpec {
  id: string;
  title: string;
  series: ChartSeries[];
  marks: { time: number; kind: TimelineMarkKind; label: string }[];
  yName?: string;
  omitted: number;
}

/** What the page embeds for a chart, and what tests find on its <figure>. */
interface RenderedChart {
  id: string;
  title: string;
  svg: string;
  series: number;
  marks: number;
  omitted: number;
  /** The first occurrence's time when its line is drawn on this chart. */
  first?: string;
}

type ECharts = typeof import('./timeline-charts.js');
let echartsLoaded: Promise<ECharts> | undefined;

/** ECharts only when a page is drawn: other commands never pay for loading it. */
function loadECharts(): Promise<ECharts> {
  echartsLoaded ??= import('./timeline-charts.js').then((charts) => {
    // Node has no canvas to measure text with: lay legends and labels out for a font a little wider
    // than any the page may be shown in (Arial on Windows, DejaVu Sans on Linux), never narrower.
    charts.setPlatformAPI({ measureText: (text: string, font?: string) => ({ width: textWidth(text ?? '', font) }) } as never);
    return charts;
  });
  return echartsLoaded;
}

const NARROW = new Set([...'il.,:;|!\'`()[]{}/\\ ftrjI1']);
const WIDE = new Set([...'mwMW@%']);

/** A generous estimate of a text's width in pixels for the given CSS font. */
function textWidth(text: string, font?: string): number {
  const size = Number(/(\d+(?:\.\d+)?)px/.exec(font ?? '')?.[1] ?? 12);
  let em = 0;
  for (const ch of text) em += NARROW.has(ch) ? 0.36 : WIDE.has(ch) ? 0.95 : ch >= 'A' && ch <= 'Z' ? 0.74 : 0.64;
  return em * size;
}

function unique(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = seen.get(n) ?? 0;
    seen.set(n, k + 1);
    return k === 0 ? n : `${n} (${k + 1})`;
  });
}

function points(t: Timeline, s: TimelineSeries): [number, number | null][] {
  const out: [number, number | null][] = [];
  for (let i = 0; i < t.buckets.length; i++) {
    const x = ms(t.buckets[i]!);
    if (!Number.isFinite(x)) continue;
    const v = s.values[i];
    out.push([x, typeof v === 'number' && Number.isFinite(v) ? v : null]);
  }
  return out;
}

function serverColour(t: Timeline): (server: string) => string {
  const index = new Map<string, number>();
  for (const s of t.servers) if (!index.has(s.name)) index.set(s.name, index.size);
  for (const s of t.series) if (!index.has(s.server)) index.set(s.server, index.size);
  return (server) => PALETTE[(index.get(server) ?? 0) % PALETTE.length]!;
}

function inWindow(axis: Axis, time: number): boolean {
  return Number.isFinite(time) && time >= axis.from && time <= axis.to;
}

/**
 * Change marks on the window, earliest first, bounded; the changes table lists them all. Changes of
 * one kind close together (within 1/150 of the window, at least a bucket) are one mark, so a
 * batch of updates on three servers is "12 updated (APP01, INT01, SCHED01)", not twelve lines.
 */
function changeMarks(t: Timeline, axis: Axis): ChartSpec['marks'] {
  const near = Math.max(Number.isFinite(t.bucketMs) ? t.bucketMs : 0, (axis.to - axis.from) / 150);
  const changes = t.marks
    .filter((m) => m.kind !== 'first-occurrence' && MARK_COLOUR[m.kind] !== undefined)
    .map((m) => ({ time: ms(m.time), kind: m.kind, server: String(m.server) }))
    .filter((m) => inWindow(axis, m.time))
    .sort((a, b) => a.time - b.time);
  const groups: { time: number; kind: TimelineMarkKind; servers: Set<string>; n: number }[] = [];
  const open = new Map<TimelineMarkKind, (typeof groups)[number]>();
  for (const c of changes) {
    const g = open.get(c.kind);
    // Measured from the group's first change, so a steady stream of changes is not one endless mark.
    if (g && c.time - g.time <= near) {
      g.n++;
      g.servers.add(c.server);
      continue;
    }
    const fresh = { time: c.time, kind: c.kind, servers: new Set([c.server]), n: 1 };
    groups.push(fresh);
    open.set(c.kind, fresh);
  }
  return groups.slice(0, MAX_CHANGE_MARKS).map((g) => {
    const servers = [...g.servers].sort();
    const who = servers.length > 3 ? `${servers.slice(0, 3).join(', ')} +${servers.length - 3}` : servers.join(', ');
    const label = g.n === 1 ? `${MARK_TEXT[g.kind] ?? 'change'} ${who}` : `${g.n} ${MARK_TEXT[g.kind] ?? 'changes'} (${who})`;
    return { time: g.time, kind: g.kind, label };
  });
}

function firstMark(t: Timeline, axis: Axis): ChartSpec['marks'] {
  const f = t.firstOccurrence;
  if (!f || !inWindow(axis, ms(f.time))) return [];
  return [{ time: ms(f.time), kind: 'first-occurrence', label: `first error ${utcText(f.time).slice(11, 19)} ${f.server}` }];
}

function chartSpecs(t: Timeline, axis: Axis): ChartSpec[] {
  const colourOf = serverColour(t);
  const first = firstMark(t, axis);
  const specs: ChartSpec[] = [];
  // Past the bound, counts keep the series with the most (a 50-server farm shows where the errors
  // are); counters keep their order. Drawn in their original order either way.
  const bound = (series: ChartSeries[], byVolume = false) => {
    let kept = series;
    if (byVolume && series.length > MAX_SERIES_PER_CHART) {
      const volume = (c: ChartSeries) => c.points.reduce((a, [, v]) => a + (v ?? 0), 0);
      const top = new Set([...series].sort((a, b) => volume(b) - volume(a)).slice(0, MAX_SERIES_PER_CHART));
      kept = series.filter((c) => top.has(c));
    }
    return { series: kept.slice(0, MAX_SERIES_PER_CHART), omitted: Math.max(0, series.length - MAX_SERIES_PER_CHART) };
  };
  const named = (list: TimelineSeries[], label: (s: TimelineSeries) => string) => {
    const names = unique(list.map((s) => bounded(label(s), MAX_LEGEND_TEXT)));
    return list.map((s, i) => ({ s, name: names[i]! }));
  };

  // Grouped by server (in the servers' order), Tracer before event log: a server's pair side by side.
  const order = new Map(t.servers.map((s, i) => [s.name, i]));
  const errors = t.series
    .filter((s) => s.kind === 'tracer-errors' || s.kind === 'event-errors')
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (order.get(a.s.server) ?? 1e9) - (order.get(b.s.server) ?? 1e9) || a.s.kind.localeCompare(b.s.kind) * -1 || a.i - b.i)
    .map(({ s }) => s);
  specs.push({
    id: 'errors',
    title: `Errors per ${bucketText(t.bucketMs)} (Tracer error lines, Error/Critical events)`,
    ...bound(
      named(errors, (s) => `${s.server} ${s.kind === 'tracer-errors' ? 'Tracer errors' : 'event-log errors'}`).map(({ s, name }) => ({
        name,
        colour: colourOf(s.server),
        dashed: s.kind === 'event-errors',
        unit: 'errors',
        points: points(t, s),
      })),
      true,
    ),
    marks: [...first, ...changeMarks(t, axis)],
    yName: '',
  });

  const users = t.series.filter((s) => s.kind === 'users');
  specs.push({
    id: 'users',
    title: `Affected users per ${bucketText(t.bucketMs)} (distinct users with an error)`,
    ...bound(named(users, (s) => `${s.server} users`).map(({ s, name }) => ({ name, colour: colourOf(s.server), unit: 'users', points: points(t, s) })), true),
    marks: first,
    yName: '',
  });

  const counters = t.series.filter((s) => s.kind === 'counter');
  for (const c of CATEGORY_CHARTS) {
    const inChart = counters.filter((s) => (c.categories as string[]).includes(s.category ?? 'other'));
    if (inChart.length === 0) continue;
    specs.push({
      id: c.id,
      title: `${c.title} (mean per ${bucketText(t.bucketMs)})`,
      ...bound(
        named(inChart, (s) => `${s.server} ${s.name}`).map(({ s, name }, i) => ({
          name,
          colour: PALETTE[i % PALETTE.length]!,
          dashed: i >= PALETTE.length,
          unit: bounded(s.unit ?? '', 20),
          points: points(t, s),
        })),
      ),
      marks: first,
    });
  }
  return specs;
}

function bucketText(bucketMs: number): string {
  if (!Number.isFinite(bucketMs) || bucketMs <= 0) return 'bucket';
  if (bucketMs === 60_000) return 'minute';
  if (bucketMs % 3_600_000 === 0) return `${bucketMs / 3_600_000} h`;
  if (bucketMs % 60_000 === 0) return `${bucketMs / 60_000} min`;
  return `${Math.round(bucketMs / 1000)} s`;
}

/** Rows the (wrapping) legend takes, estimated from its text, so the plot starts below it. */
function legendRows(names: string[]): number {
  const width = CHART_WIDTH - 20;
  let rows = names.length > 0 ? 1 : 0;
  let x = 0;
  for (const n of names) {
    const w = 22 + 5 + Math.ceil(textWidth(n, '12px')) + 16;
    if (x > 0 && x + w > width) {
      rows++;
      x = 0;
    }
    x += w;
  }
  return rows;
}

function axisLabel(axis: Axis): (value: number) => string {
  const long = axis.to - axis.from > 36 * 3_600_000;
  return (value) => {
    const iso = new Date(value).toISOString();
    return long ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
  };
}

async function renderChart(echarts: ECharts, spec: ChartSpec, axis: Axis): Promise<RenderedChart> {
  const rows = legendRows(spec.series.map((s) => s.name));
  const units = [...new Set(spec.series.map((s) => s.unit))];
  // Two value axes at most: the first unit on the left, every other on the right.
  const axisOf = (unit: string) => (units.indexOf(unit) > 0 ? 1 : 0);
  const yAxes = units.length > 1 ? [units[0]!, units.slice(1).join(', ')] : [spec.yName ?? units[0] ?? ''];
  // Legend rows are 14 px items 16 px apart; an axis name needs a line of its own below them.
  const top = 8 + rows * 30 + (yAxes.some(Boolean) ? 24 : 6);
  const height = top + PLOT_HEIGHT + 36;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: CHART_WIDTH, height });
  try {
    const carrierIndex = spec.series.length;
    chart.setOption({
      animation: false,
      useUTC: true,
      // Unquoted names only: ECharts writes the family into a style="" attribute as it is.
      textStyle: { fontFamily: FONTS },
      legend: {
        show: spec.series.length > 0,
        type: 'plain',
        top: 8,
        left: 10,
        right: 10,
        itemWidth: 22,
        itemGap: 16,
        data: spec.series.map((s) => s.name),
        formatter: (name: string) => name,
      },
      grid: { left: GRID_LEFT, right: GRID_RIGHT, top, height: PLOT_HEIGHT, outerBoundsMode: 'none' },
      xAxis: {
        type: 'time',
        min: axis.from,
        max: axis.to,
        axisLine: { show: true },
        axisLabel: { formatter: axisLabel(axis), hideOverlap: true },
        splitLine: { show: false },
      },
      yAxis: yAxes.map((name, i) => ({
        type: 'value',
        name: bounded(name, 24),
        nameTextStyle: { align: i === 0 ? 'left' : 'right' },
        position: i === 0 ? 'left' : 'right',
        scale: false,
        axisLabel: { formatter: (v: number) => num(v) },
        splitLine: { show: i === 0 },
        minInterval: spec.id === 'errors' || spec.id === 'users' ? 1 : 0,
      })),
      series: [
        ...spec.series.map((s) => ({
          type: 'line',
          name: s.name,
          yAxisIndex: yAxes.length > 1 ? axisOf(s.unit) : 0,
          data: s.points,
          // No symbol: the legend then shows each series' own line, dashed where the line is.
          symbol: 'none',
          showSymbol: false,
          connectNulls: false,
          // A count holds for its whole bucket: drawn as steps, lightly filled to read the volume.
          // Counters: at most one point per pixel (largest-triangle sampling keeps peaks and dips).
          ...(spec.id === 'errors' || spec.id === 'users' ? { step: 'end', areaStyle: { opacity: 0.12 } } : { sampling: 'lttb' }),
          color: s.colour,
          lineStyle: { width: 1.5, type: s.dashed ? 'dashed' : 'solid' },
          emphasis: { disabled: true },
        })),
        // A series with no data that carries the vertical marks (first occurrence first), so
        // that they exist even when there is no other series, and tests find them by its index.
        {
          type: 'line',
          name: '\u0000marks',
          data: [],
          silent: true,
          markLine: {
            silent: true,
            symbol: 'none',
            animation: false,
            data: spec.marks.map((m) => ({
              xAxis: m.time,
              lineStyle: { color: MARK_COLOUR[m.kind], type: m.kind === 'first-occurrence' ? 'solid' : 'dashed', width: m.kind === 'first-occurrence' ? 2 : 1 },
              label: {
                show: true,
                position: m.kind === 'first-occurrence' ? 'insideEndTop' : 'insideStartTop',
                formatter: () => bounded(m.label, MAX_MARK_LABEL),
                color: MARK_COLOUR[m.kind],
                fontSize: 10,
                fontWeight: m.kind === 'first-occurrence' ? 'bold' : 'normal',
              },
            })),
          },
        },
      ],
    } as Parameters<ReturnType<ECharts['init']>['setOption']>[0]);
    const svg = tagMarks(chart.renderToSVGString(), carrierIndex, spec.marks);
    const first = spec.marks.find((m) => m.kind === 'first-occurrence');
    return { id: spec.id, title: spec.title, svg, series: spec.series.length, marks: spec.marks.length, omitted: spec.omitted, first: first && new Date(first.time).toISOString() };
  } finally {
    chart.dispose();
  }
}

/**
 * Names the mark lines in the SVG: ECharts tags each drawn element with its series and data index,
 * and the carrier series draws nothing but the marks; `data-mark` and `data-time` let a reader
 * (and the browser test) find a mark and check where it sits on the axis.
 */
function tagMarks(svg: string, carrierIndex: number, marks: ChartSpec['marks']): string {
  const re = new RegExp(`<path ([^>]*?)ecmeta_series_index="${carrierIndex}" ecmeta_data_index="(\\d+)"`, 'g');
  return svg.replace(re, (whole, before: string, index: string) => {
    const m = marks[Number(index)];
    if (!m) return whole;
    const kind = m.kind === 'first-occurrence' ? 'first-occurrence' : 'change';
    return `<path data-mark="${kind}" data-kind="${m.kind}" data-time="${new Date(m.time).toISOString()}" ${before}ecmeta_series_index="${carrierIndex}" ecmeta_data_index="${index}"`;
  });
}

function figure(c: RenderedChart): string {
  const first = c.first ? ` data-first-occurrence="${c.first}"` : '';
  const omitted = c.omitted > 0 ? ` <span class="note">(${plural(c.omitted, 'more series', 'more series')} not drawn)</span>` : '';
  const empty = c.series === 0 ? '<p class="note">No data for this chart in the window.</p>' : '';
  return `<figure class="chart" data-chart="${c.id}" data-series="${c.series}" data-marks="${c.marks}"${first}><figcaption>${escapeHtml(c.title)}${omitted}</figcaption>${empty}${c.svg}</figure>`;
}

/** `short` columns (times, severities) do not wrap; the others wrap anywhere (log text may have no spaces). */
function table(head: string[], rows: string[][], total: number, cls = '', short: number[] = []): string {
  const more = total > rows.length ? `<p class="note">${total - rows.length} more not shown (see timeline.json).</p>` : '';
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${short.includes(i) ? ' class="nowrap"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>${more}`;
}

function serversTable(t: Timeline): string {
  const rows = t.servers.slice(0, MAX_TABLE_ROWS).map((s) => [
    escapeHtml(s.name, 80),
    escapeHtml(s.role, 40),
    escapeHtml([s.version, s.build ? `build ${s.build}` : ''].filter(Boolean).join(' ') || '–', 80),
    s.clockOffsetMs === undefined || !Number.isFinite(s.clockOffsetMs) ? 'not measured' : escapeHtml(formatOffset(s.clockOffsetMs)),
    Number.isFinite(s.clockCorrectionMs) && s.clockCorrectionMs !== 0 ? escapeHtml(formatOffset(s.clockCorrectionMs)) : 'none',
    s.reachable ? 'yes' : `<span class="bad">no</span>${s.reason ? `: ${escapeHtml(s.reason)}` : ''}`,
  ]);
  return table(['Server', 'Role', 'Version / build', 'Clock offset', 'Correction applied', 'Reachable'], rows, t.servers.length, 'servers', [3, 4]);
}

function firstOccurrence(t: Timeline): string {
  const f = t.firstOccurrence;
  if (!f) return '<p class="callout none">No error in the window: no first occurrence.</p>';
  return `<div class="callout" data-first-occurrence="${escapeHtml(f.time, 40)}"><strong>First occurrence:</strong> ${escapeHtml(utcText(f.time))} on <strong>${escapeHtml(
    f.server,
    80,
  )}</strong> (${f.source === 'eventlog' ? 'event log' : 'Tracer log'})<div class="detail">${escapeHtml(f.detail, 2000, { keepLines: true })}</div></div>`;
}

function changesTable(t: Timeline): string {
  const marks = [...t.marks].filter((m) => m.kind !== 'first-occurrence').sort((a, b) => ms(a.time) - ms(b.time));
  if (marks.length === 0) return '<p class="note">No change (install, update, restart, service, modified file) in the window.</p>';
  const rows = marks.slice(0, MAX_TABLE_ROWS).map((m: TimelineMark) => [escapeHtml(utcText(m.time)), escapeHtml(m.server, 80), escapeHtml(MARK_TEXT[m.kind] ?? m.kind, 40), escapeHtml(m.label)]);
  return table(['Time (UTC)', 'Server', 'Change', 'What'], rows, marks.length, 'changes', [0, 2]);
}

function findingsTable(t: Timeline): string {
  if (t.findings.length === 0) return '<p class="note">No counter crossed a threshold (or no perfmon data in the window).</p>';
  const order = (f: PerfFinding) => (f.severity === 'critical' ? 0 : 1);
  const sorted = [...t.findings].sort((a, b) => order(a) - order(b) || ms(a.from) - ms(b.from));
  const rows = sorted.slice(0, MAX_TABLE_ROWS).map((f) => [
    `<span class="sev ${f.severity === 'critical' ? 'critical' : 'warning'}">${f.severity === 'critical' ? 'critical' : 'warning'}</span>`,
    escapeHtml(f.server, 80),
    // The server has its own column: the counter without its machine reads shorter.
    escapeHtml(String(f.counter).replace(/^\\\\[^\\]+(?=\\)/, ''), 160),
    `${escapeHtml(utcText(f.from))} – ${escapeHtml(utcText(f.to).slice(11))}`,
    `${escapeHtml(num(f.value))} vs ${escapeHtml(num(f.limit))}`,
    escapeHtml(f.explanation),
  ]);
  return table(['Severity', 'Server', 'Counter', 'From – to', 'Value vs limit', 'What it suggests'], rows, t.findings.length, 'findings', [0, 3, 4]);
}

function warnings(t: Timeline): string {
  if (t.warnings.length === 0) return '<p class="note">None.</p>';
  const shown = t.warnings.slice(0, MAX_TABLE_ROWS);
  const more = t.warnings.length > shown.length ? `<li>${t.warnings.length - shown.length} more (see timeline.json)</li>` : '';
  return `<ul class="warnings">${shown.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}${more}</ul>`;
}

const CSS = `
:root{color-scheme:light}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;font-size:14px;line-height:1.4;color:#1b1b1f;background:#fff;margin:0 auto;padding:16px 24px;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #d0d0d7;padding-bottom:3px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}
dl.meta dt{color:#55555f}
dl.meta dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #d0d0d7;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f1f1f5;white-space:nowrap}
td.nowrap{white-space:nowrap}
.callout{border-left:5px solid ${FIRST_COLOUR};background:#fdf0f0;padding:8px 12px;margin:12px 0}
.callout.none{border-left-color:#59a14f;background:#f0f7ef}
.callout .detail{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;margin-top:4px;white-space:pre-wrap;overflow-wrap:anywhere}
figure.chart{margin:10px 0 18px}
figure.chart figcaption{font-weight:600;margin-bottom:2px}
figure.chart svg{width:100%;height:auto;display:block}
.note{color:#55555f;font-size:12px}
.bad{color:#b00020;font-weight:600}
.sev{font-weight:600}
.sev.critical{color:#b00020}
.sev.warning{color:#a35b00}
ul.warnings{padding-left:20px}
ul.warnings li{overflow-wrap:anywhere}
@page{size:A4 landscape;margin:12mm}
@media print{
 body{max-width:none;padding:0;font-size:11px}
 section{break-inside:auto}
 section.charts,section.changes{break-before:page}
 figure.chart,tr,.callout{break-inside:avoid}
 h2{break-after:avoid}
 th{background:#eee;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .callout{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}`;

/**
 * One self-contained HTML page for a timeline: no script, no external resource. Async because
 * ECharts is loaded on first use.
 */
export async function renderTimelinePage(input: Timeline): Promise<string> {
  const t = wellFormed(input);
  const from = ms(t.window.from);
  const to = ms(t.window.to);
  const axis: Axis = Number.isFinite(from) && Number.isFinite(to) && to > from ? { from, to } : fallbackAxis(t);
  const echarts = await loadECharts();
  const charts: RenderedChart[] = [];
  for (const spec of chartSpecs(t, axis)) charts.push(await renderChart(echarts, spec, axis));

  const farm = t.farm;
  const title = `Incident timeline: ${bounded(farm.name, 120)}`;
  const userLine = `${plural(t.users.total, 'affected user')}${
    t.users.perServer.length > 0 ? ` (${t.users.perServer.slice(0, 50).map((u) => `${bounded(u.server, 60)}: ${u.count}`).join(', ')})` : ''
  }`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="clk-support">
<title>${htmlEscape(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${htmlEscape(title)}</h1>
<dl class="meta">
<dt>System ID</dt><dd>${escapeHtml(farm.systemId, 40)}</dd>
<dt>Environment</dt><dd>${escapeHtml(farm.environment, 40)}</dd>
<dt>Window (UTC)</dt><dd>${escapeHtml(utcText(t.window.from))} – ${escapeHtml(utcText(t.window.to))} (${plural(t.buckets.length, 'bucket')} of ${escapeHtml(t.bucketMs === 60_000 ? '1 min' : bucketText(t.bucketMs))})</dd>
<dt>Generated</dt><dd>${escapeHtml(utcText(t.generatedAt))}</dd>
<dt>Source</dt><dd>${t.source.kind} ${escapeHtml(t.source.path, 300)}</dd>
<dt>Affected users</dt><dd>${escapeHtml(userLine, 2000)}</dd>
<dt>Schema</dt><dd>${escapeHtml(t.schema, 60)}</dd>
</dl>
</header>
<section class="first">
<h2>First occurrence</h2>
${firstOccurrence(t)}
</section>
<section class="findings">
<h2>Performance findings</h2>
${findingsTable(t)}
</section>
<section class="servers">
<h2>Servers</h2>
${serversTable(t)}
<p class="note">Every time on this page is UTC with each server's clock correction already subtracted from its log times.</p>
</section>
<section class="charts">
<h2>Timeline</h2>
${charts.map(figure).join('\n')}
</section>
<section class="changes">
<h2>Changes</h2>
${changesTable(t)}
</section>
<section class="warnings">
<h2>Warnings</h2>
${warnings(t)}
</section>
</body>
</html>
`;
}

const list = <T>(v: T[] | undefined): T[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** The timeline with every list a list and every label a string, whatever JSON it was read from. */
function wellFormed(t: Timeline): Timeline {
  return {
    ...t,
    generatedAt: text(t.generatedAt),
    farm: { name: text(t.farm?.name), systemId: text(t.farm?.systemId), environment: text(t.farm?.environment) },
    source: { kind: t.source?.kind === 'bundle' ? 'bundle' : 'farm', path: text(t.source?.path) },
    window: { from: text(t.window?.from), to: text(t.window?.to) },
    buckets: list(t.buckets).map(text),
    servers: list(t.servers).map((s) => ({ ...s, name: text(s?.name), role: text(s?.role) })),
    series: list(t.series)
      .filter((s) => s && typeof s === 'object')
      .map((s) => ({ ...s, server: text(s.server), name: text(s.name), unit: s.unit === undefined ? undefined : text(s.unit), values: list(s.values) })),
    marks: list(t.marks).filter((m) => m && typeof m === 'object').map((m) => ({ ...m, time: text(m.time), server: text(m.server), label: text(m.label) })),
    firstOccurrence: t.firstOccurrence
      ? { ...t.firstOccurrence, time: text(t.firstOccurrence.time), server: text(t.firstOccurrence.server), detail: text(t.firstOccurrence.detail) }
      : undefined,
    users: { total: Number(t.users?.total) || 0, perServer: list(t.users?.perServer).map((u) => ({ server: text(u?.server), count: Number(u?.count) || 0 })) },
    findings: list(t.findings).filter((f) => f && typeof f === 'object'),
    warnings: list(t.warnings).map(text),
  };
}

/** An invalid window still gets an axis: the buckets' span, or the hour before generation. */
function fallbackAxis(t: Timeline): Axis {
  const times = t.buckets.map(ms).filter(Number.isFinite);
  if (times.length > 1) return { from: Math.min(...times), to: Math.max(...times) + (t.bucketMs > 0 ? t.bucketMs : 60_000) };
  const end = Number.isFinite(ms(t.generatedAt)) ? ms(t.generatedAt) : 0;
  return { from: end - 3_600_000, to: end };
}
