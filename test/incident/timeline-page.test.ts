// The timeline page in a real browser: a Timeline built from the demo farm's real perfmon CSVs and
// Tracer logs by this test's own small parsing (not the product's readers), rendered, opened in
// headless Chromium from a file, screenshot and printed to PDF, and checked: charts drawn with the
// series and marks the data calls for, the first-occurrence line where its time falls on the axis,
// no request leaving the page, hostile log text shown as text. The README's screenshot is
// made by timeline-page-cli.test.ts from the page the CLI writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTimelinePage } from '../../src/incident/timeline-page.js';
import { TIMELINE_SCHEMA, type Timeline, type TimelineSeries } from '../../src/incident/timeline-model.js';
import { CHROMIUM, NO_CHROMIUM_REASON, openFile, type OpenedPage } from '../support/chromium.js';
import { DEMO_FARM_DIR, REPO } from '../support/cli.js';

const FROM = Date.parse('2025-06-03T08:00:00Z');
const TO = Date.parse('2025-06-03T12:00:00Z');
const BUCKET = 60_000;
const N = (TO - FROM) / BUCKET;
const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', 'https://evil.example/x.png'] as const;
const [HOSTILE_SCRIPT, HOSTILE_IMG, HOSTILE_URL] = HOSTILE;

const bucketOf = (t: number) => Math.floor((t - FROM) / BUCKET);

/** PDH-CSV: first row names the counters (\\MACHINE\Object(instance)\Counter), then "time","v",... */
function parseCsvLine(line: string): string[] {
  return [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"'));
}

function category(path: string): TimelineSeries['category'] {
  if (/^\\Processor/i.test(path)) return 'cpu';
  if (/^\\Memory/i.test(path)) return 'memory';
  if (/^\\(LogicalDisk|PhysicalDisk)/i.test(path)) return 'disk';
  if (/^\\Process\(/i.test(path)) return 'process';
  return 'other';
}

async function perfmonSeries(serverDir: string, server: string): Promise<TimelineSeries[]> {
  const dir = join(serverDir, 'c$', 'PerfLogs', 'Admin', 'ClickSoftware');
  const out: TimelineSeries[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.csv'))) {
    const lines = (await readFile(join(dir, name), 'utf8')).split(/\r?\n/).filter(Boolean);
    const head = parseCsvLine(lines[0]!);
    const sums = head.slice(1).map(() => ({ sum: new Array<number>(N).fill(0), n: new Array<number>(N).fill(0), max: new Array<number | null>(N).fill(null) }));
    for (const line of lines.slice(1)) {
      const cells = parseCsvLine(line);
      const m = /^(\d\d)\/(\d\d)\/(\d{4}) (\d\d:\d\d:\d\d\.\d{3})$/.exec(cells[0]!);
      if (!m) continue;
      const b = bucketOf(Date.parse(`${m[3]}-${m[1]}-${m[2]}T${m[4]}Z`));
      if (b < 0 || b >= N) continue;
      cells.slice(1).forEach((c, i) => {
        const v = Number(c);
        if (c.trim() === '' || !Number.isFinite(v)) return;
        const s = sums[i]!;
        s.sum[b] += v;
        s.n[b]++;
        s.max[b] = Math.max(s.max[b] ?? -Infinity, v);
      });
    }
    head.slice(1).forEach((full, i) => {
      const path = full.replace(/^\\\\[^\\]+/, '');
      const s = sums[i]!;
      out.push({
        server,
        kind: 'counter',
        name: path,
        category: category(path),
        unit: /Bytes/i.test(path) ? /MBytes/.test(path) ? 'MB' : 'bytes' : /%/.test(path) ? '%' : '',
        values: s.sum.map((v, b) => (s.n[b] ? v / s.n[b]! : null)),
        max: s.max,
      });
    });
  }
  return out;
}

interface TracerError {
  time: number;
  user?: string;
  text: string;
}

async function tracerErrors(serverDir: string): Promise<TracerError[]> {
  const dir = join(serverDir, 'c$', 'ClickSoftware', 'Logs', 'Tracer');
  const out: TracerError[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.log'))) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split(/\r?\n/)) {
      const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) \[\d+\] ERROR\s+(.*)$/.exec(line);
      if (!m) continue;
      out.push({ time: Date.parse(`${m[1]}T${m[2]}Z`), user: /User=(\S+)/.exec(m[3]!)?.[1], text: m[3]! });
    }
  }
  return out.filter((e) => e.time >= FROM && e.time < TO);
}

/**
 * Error (2) and Critical (1) events of a server's .evtx files in the window, read by libevtx's
 * evtxexport (a peer tool CI installs); none when it is not installed.
 */
function eventErrors(serverDir: string): TracerError[] {
  const dir = join(serverDir, 'c$', 'Windows', 'System32', 'winevt', 'Logs');
  const out: TracerError[] = [];
  let names: string[];
  try {
    names = execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n').filter((n) => n.endsWith('.evtx'));
    execFileSync('evtxexport', ['-h'], { stdio: 'ignore' });
  } catch {
    return out;
  }
  for (const name of names) {
    const xml = execFileSync('evtxexport', ['-f', 'xml', join(dir, name)], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
    for (const ev of xml.split('</Event>')) {
      const level = /<Level>(\d+)<\/Level>/.exec(ev)?.[1];
      const time = /SystemTime="([^"]+)"/.exec(ev)?.[1];
      if ((level !== '1' && level !== '2') || !time) continue;
      const provider = /Provider Name="([^"]*)"/.exec(ev)?.[1] ?? '?';
      const id = /<EventID[^>]*>(\d+)<\/EventID>/.exec(ev)?.[1] ?? '?';
      out.push({ time: Date.parse(time), text: `${name.replace(/\.evtx$/, '')} ${provider} ${id}` });
    }
  }
  return out.filter((e) => e.time >= FROM && e.time < TO);
}

/** The demo farm's servers with data, plus one unreachable server whose reason carries hostile text. */
async function demoTimeline(hostile = true): Promise<{ timeline: Timeline; errorCounts: Map<string, number[]> }> {
  const farm = JSON.parse(await readFile(join(DEMO_FARM_DIR, 'clk-farm.json'), 'utf8'));
  const [HOSTILE_SCRIPT, HOSTILE_IMG, HOSTILE_URL] = hostile ? HOSTILE : ['', '', 'https://example.com'];
  const buckets = Array.from({ length: N }, (_, i) => new Date(FROM + i * BUCKET).toISOString());
  const series: TimelineSeries[] = [];
  const servers: Timeline['servers'] = [];
  const errorCounts = new Map<string, number[]>();
  const allErrors: (TracerError & { server: string; source: 'tracer' | 'eventlog' })[] = [];
  const usersAll = new Set<string>();
  const perServerUsers: { server: string; count: number }[] = [];
  for (const s of farm.servers as { name: string; role: string; transport: { root?: string } }[]) {
    const root = s.transport.root ? join(DEMO_FARM_DIR, s.transport.root, '..') : undefined;
    const dirs = root ? await readdir(root).catch(() => undefined) : undefined;
    if (!root || !dirs) {
      servers.push({ name: s.name, role: s.role, reachable: false, reason: `share not found ${HOSTILE_IMG}`, clockCorrectionMs: 0 });
      continue;
    }
    servers.push({ name: s.name, role: s.role, reachable: true, version: '25.1.0.113', build: '113', clockOffsetMs: 1200, clockCorrectionMs: 0 });
    const errors = await tracerErrors(root);
    const counts = new Array<number>(N).fill(0);
    const users = Array.from({ length: N }, () => new Set<string>());
    const serverUsers = new Set<string>();
    for (const e of errors) {
      counts[bucketOf(e.time)]!++;
      if (e.user) {
        users[bucketOf(e.time)]!.add(e.user);
        serverUsers.add(e.user);
        usersAll.add(e.user);
      }
      allErrors.push({ ...e, server: s.name, source: 'tracer' });
    }
    const events = eventErrors(root);
    if (events.length > 0) {
      const perBucket = new Array<number>(N).fill(0);
      for (const e of events) {
        perBucket[bucketOf(e.time)]!++;
        allErrors.push({ ...e, server: s.name, source: 'eventlog' });
      }
      series.push({ server: s.name, kind: 'event-errors', name: 'Error/Critical events', values: perBucket });
    }
    errorCounts.set(s.name, counts);
    perServerUsers.push({ server: s.name, count: serverUsers.size });
    series.push({ server: s.name, kind: 'tracer-errors', name: 'Tracer errors', values: counts });
    series.push({ server: s.name, kind: 'users', name: 'users', values: users.map((u) => u.size) });
    series.push(...(await perfmonSeries(root, s.name)));
  }
  // A process instance name is whatever ran on the server: hostile text reaches a chart's legend.
  const someCounter = series.find((x) => x.kind === 'counter' && x.category === 'process')!;
  series.push({ ...someCounter, name: `\\Process(W6Server${HOSTILE_SCRIPT})\\Handle Count`, unit: '' });
  allErrors.sort((a, b) => a.time - b.time);
  const first = allErrors[0]!;
  const timeline: Timeline = {
    schema: TIMELINE_SCHEMA,
    generatedAt: '2025-06-03T12:05:00.000Z',
    farm: { name: `${farm.farm.name} ${HOSTILE_SCRIPT}`, systemId: farm.farm.systemId, environment: farm.farm.environment },
    source: { kind: 'farm', path: 'fixtures/demo-farm/clk-farm.json' },
    window: { from: new Date(FROM).toISOString(), to: new Date(TO).toISOString() },
    bucketMs: BUCKET,
    buckets,
    servers,
    firstOccurrence: { time: new Date(first.time).toISOString(), server: first.server, source: first.source, detail: `${first.text} ${HOSTILE_IMG}` },
    series,
    marks: [
      { time: new Date(first.time).toISOString(), server: first.server, kind: 'first-occurrence', label: 'first error' },
      { time: '2025-06-03T09:30:00.000Z', server: 'APP01', kind: 'update', label: `KB5034441 ${HOSTILE_SCRIPT}` },
      { time: '2025-06-03T10:45:00.000Z', server: 'SCHED01', kind: 'service-stop', label: `W6 Service ${HOSTILE_IMG}` },
      { time: '2025-06-03T11:02:00.000Z', server: 'SCHED01', kind: 'restart', label: 'restart' },
      { time: '2025-06-03T11:20:00.000Z', server: 'APP01', kind: 'file-modified', label: `url(${HOSTILE_URL})` },
      // Outside the window: listed in the table, not drawn.
      { time: '2025-06-02T07:00:00.000Z', server: 'APP01', kind: 'install', label: 'outside' },
    ],
    users: { total: usersAll.size, perServer: perServerUsers },
    findings: [
      {
        id: 'process.private-bytes-growth',
        severity: 'warning',
        server: 'APP01',
        counter: '\\\\APP01\\Process(W6Server)\\Private Bytes',
        from: '2025-06-03T08:00:00.000Z',
        to: '2025-06-03T12:00:00.000Z',
        value: 5e7,
        limit: 1e8,
        explanation: `Private bytes rising ${HOSTILE_SCRIPT}`,
      },
    ],
    warnings: [`INT01: C:\\PerfLogs\\x.blg is binary (relog it to CSV) ${HOSTILE_IMG}`],
  };
  return { timeline, errorCounts };
}

describe.skipIf(!CHROMIUM)('timeline page in headless Chromium', () => {
  let dir: string;
  let timeline: Timeline;
  let errorCounts: Map<string, number[]>;
  let html: string;
  let opened: OpenedPage;

  beforeAll(async () => {
    ({ timeline, errorCounts } = await demoTimeline());
    html = await renderTimelinePage(timeline);
    dir = await mkdtemp(join(tmpdir(), 'clk-timeline-page-'));
    await writeFile(join(dir, 'timeline.html'), html);
    opened = await openFile(join(dir, 'timeline.html'), { width: 1200, height: 900 });
  });

  afterAll(async () => {
    await opened?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('uses the demo farm data (the independent scan found errors on the servers)', () => {
    const total = [...errorCounts.values()].flat().reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(50);
    expect(timeline.firstOccurrence!.time >= timeline.window.from).toBe(true);
  });

  it('is self-contained: no script, no external URL, no request leaves the page', async () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:[a-z]+:)?\/\//i);
    // CSS: the <style> blocks and style="" attributes (log text may say "url(https://…)" as text).
    const css = [...html.matchAll(/<style[^>]*>([\s\S]*?)<\/style>|\bstyle="([^"]*)"/gi)].map((m) => m[1] ?? m[2]).join('\n');
    expect(css).not.toMatch(/url\(\s*["']?\s*(?:[a-z]+:)?\/\//i);
    expect(css).not.toMatch(/@import/i);
    expect(html).not.toMatch(/<(?:link|img|iframe|object|embed|base)\b/i);
    expect(opened.blockedRequests).toEqual([]);
    expect(opened.errors).toEqual([]);
    const dom = await opened.evaluate(() => ({
      scripts: document.querySelectorAll('script').length,
      images: document.querySelectorAll('img, image, link, iframe, object, embed').length,
      handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).length,
      urls: [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => /(?:^|:)href$|^src$/i.test(a.name)).map((a) => a.value)),
    }));
    expect(dom).toEqual({ scripts: 0, images: 0, handlers: 0, urls: [] });
  });

  it('shows hostile log text as text, in HTML and inside the SVG charts', async () => {
    const text = await opened.evaluate(() => ({
      title: document.title,
      body: document.body.innerText,
      svgText: [...document.querySelectorAll('svg text')].map((t) => t.textContent ?? ''),
    }));
    expect(text.title).toContain(HOSTILE_SCRIPT);
    expect(text.body).toContain(HOSTILE_SCRIPT);
    expect(text.body).toContain(HOSTILE_IMG);
    expect(text.body).toContain(HOSTILE_URL);
    expect(text.svgText.some((t) => t.includes(HOSTILE_SCRIPT))).toBe(true);
  });

  it('draws every chart with the series and marks the data calls for', async () => {
    const categories = [...new Set(timeline.series.filter((s) => s.kind === 'counter').map((s) => s.category))];
    const expected: Record<string, { series: number; marks: number }> = {
      errors: { series: timeline.series.filter((s) => s.kind === 'tracer-errors' || s.kind === 'event-errors').length, marks: 5 },
      users: { series: timeline.series.filter((s) => s.kind === 'users').length, marks: 1 },
    };
    for (const c of categories) expected[c!] = { series: timeline.series.filter((s) => s.kind === 'counter' && s.category === c).length, marks: 1 };
    expect(Object.keys(expected).sort()).toEqual(['cpu', 'disk', 'errors', 'memory', 'process', 'users']);

    const charts = await opened.evaluate(() =>
      [...document.querySelectorAll('figure[data-chart]')].map((f) => ({
        id: f.getAttribute('data-chart')!,
        series: Number(f.getAttribute('data-series')),
        marks: Number(f.getAttribute('data-marks')),
        svgs: f.querySelectorAll('svg').length,
        // Legend items: ECharts tags each item's parts with the item's index.
        legend: new Set([...f.querySelectorAll('[ecmeta_ssr_type="legend"]')].map((e) => e.getAttribute('ecmeta_data_index'))).size,
        // Drawn series lines: unfilled paths inside the plot's clip group (area fills are filled).
        lines: [...f.querySelectorAll('g[clip-path] path')].filter((p) => p.getAttribute('fill') === 'none' && (p as SVGPathElement).getTotalLength() > 0).length,
        drawnMarks: f.querySelectorAll('[data-mark]').length,
        box: (f.querySelector('svg') as SVGSVGElement).getBoundingClientRect().height,
      })),
    );
    expect(charts.map((c) => c.id).sort()).toEqual(Object.keys(expected).sort());
    for (const c of charts) {
      const want = expected[c.id]!;
      expect({ id: c.id, series: c.series, legend: c.legend, lines: c.lines, marks: c.marks, drawnMarks: c.drawnMarks, svgs: c.svgs }).toEqual({
        id: c.id,
        series: want.series,
        legend: want.series,
        lines: want.series,
        marks: want.marks,
        drawnMarks: want.marks,
        svgs: 1,
      });
      expect(c.box).toBeGreaterThan(150);
    }
  });

  it('puts the first-occurrence line where its time falls on every chart’s time axis', async () => {
    const first = Date.parse(timeline.firstOccurrence!.time);
    const geometry = await opened.evaluate(() =>
      [...document.querySelectorAll('figure[data-chart]')].map((f) => {
        const svg = f.querySelector('svg')!;
        const svgBox = svg.getBoundingClientRect();
        // The time axis labels ("HH:MM") at the bottom: their centres are their times' x positions.
        const ticks = [...svg.querySelectorAll('text')]
          .filter((t) => /^\d\d:\d\d$/.test(t.textContent ?? ''))
          .map((t) => {
            const r = t.getBoundingClientRect();
            return { label: t.textContent!, x: r.left + r.width / 2 - svgBox.left };
          });
        const mark = f.querySelector('[data-mark="first-occurrence"]');
        const r = mark?.getBoundingClientRect();
        return { id: f.getAttribute('data-chart'), ticks, markX: r ? r.left + r.width / 2 - svgBox.left : null, markTime: mark?.getAttribute('data-time'), figureTime: f.getAttribute('data-first-occurrence') };
      }),
    );
    const xs: number[] = [];
    for (const g of geometry) {
      expect(g.ticks.length).toBeGreaterThanOrEqual(3);
      const day = timeline.window.from.slice(0, 10);
      const pts = g.ticks.map((t) => ({ t: Date.parse(`${day}T${t.label}:00Z`), x: t.x }));
      const a = pts[0]!;
      const b = pts[pts.length - 1]!;
      const expectedX = a.x + ((first - a.t) / (b.t - a.t)) * (b.x - a.x);
      const pxPerMinute = ((b.x - a.x) / (b.t - a.t)) * 60_000;
      expect(g.markX, g.id!).not.toBeNull();
      // Within a quarter of a minute of the axis position of its time.
      expect(Math.abs(g.markX! - expectedX), g.id!).toBeLessThan(Math.max(1, pxPerMinute / 4));
      expect(g.markTime).toBe(new Date(first).toISOString());
      expect(g.figureTime).toBe(new Date(first).toISOString());
      xs.push(g.markX!);
    }
    // One shared axis: the line is at the same place on every chart.
    expect(Math.max(...xs) - Math.min(...xs)).toBeLessThan(1);
  });

  it('draws the error counts at their height on the value axis', async () => {
    const errors = timeline.series.filter((x) => x.kind === 'tracer-errors' || x.kind === 'event-errors');
    const peak = Math.max(...errors.flatMap((x) => x.values.map((v) => v ?? 0)));
    expect(peak).toBeGreaterThan(0);
    const g = await opened.evaluate(() => {
      const f = document.querySelector('figure[data-chart="errors"]')!;
      // The series lines (the marks' carrier series draws an empty one).
      const lines = [...f.querySelectorAll('g[clip-path] path')].filter((p) => p.getAttribute('fill') === 'none' && (p as SVGPathElement).getTotalLength() > 0);
      // Value axis labels: plain numbers right-aligned left of the plot; their centres are their values' y.
      const ticks = [...f.querySelectorAll('text')]
        .filter((t) => /^\d+$/.test(t.textContent ?? '') && t.getAttribute('text-anchor') === 'end')
        .map((t) => ({ v: Number(t.textContent), y: t.getBoundingClientRect().top + t.getBoundingClientRect().height / 2 }));
      return { ticks, top: Math.min(...lines.map((p) => p.getBoundingClientRect().top)) };
    });
    expect(g.ticks.length).toBeGreaterThanOrEqual(2);
    const lo = g.ticks.reduce((a, b) => (b.v < a.v ? b : a));
    const hi = g.ticks.reduce((a, b) => (b.v > a.v ? b : a));
    const drawnPeak = lo.v + ((g.top - lo.y) / (hi.y - lo.y)) * (hi.v - lo.v);
    expect(Math.abs(drawnPeak - peak)).toBeLessThan(0.1);
  });

  it('lists the first occurrence, the servers, changes and findings as text', async () => {
    const body = await opened.evaluate(() => document.body.innerText);
    const f = timeline.firstOccurrence!;
    expect(body).toContain(`${f.time.slice(0, 10)} ${f.time.slice(11, 19)} UTC on ${f.server}`);
    for (const s of timeline.servers) expect(body).toContain(s.name);
    expect(body).toMatch(/WEB01\s+\S+.*no: share not found/);
    expect(body).toContain('KB5034441');
    expect(body).toContain('2025-06-02 07:00:00 UTC'); // the change outside the window is listed
    expect(body).toContain('Private bytes rising');
  });

  it('screenshots and prints to PDF', async () => {
    const png = await opened.screenshot();
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    const pdf = await opened.pdf();
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page\b/g) ?? []).length;
    expect(pages).toBeGreaterThan(1);
    // CLK_KEEP_PAGE=DIR keeps what the test saw, to look at by eye.
    const keep = process.env.CLK_KEEP_PAGE;
    if (keep) {
      await mkdir(keep, { recursive: true });
      await writeFile(join(keep, 'timeline.html'), html);
      await writeFile(join(keep, 'timeline.png'), png);
      await writeFile(join(keep, 'timeline.pdf'), pdf);
    }
  });

  it('keeps the page small', () => {
    expect(html.length).toBeLessThan(1_500_000);
  });
});

// Without a browser the skip says why (and only then).
if (!CHROMIUM) {
  describe('timeline page in headless Chromium', () => {
    it.skip(NO_CHROMIUM_REASON, () => {});
  });
}

describe('timeline page from degenerate, huge and hostile timelines', () => {
  const base = (over: Partial<Timeline>): Timeline => ({
    schema: TIMELINE_SCHEMA,
    generatedAt: '2025-06-03T12:00:00.000Z',
    farm: { name: 'F', systemId: 'FSP', environment: 'production' },
    source: { kind: 'bundle', path: 'b.zip' },
    window: { from: '2025-06-03T00:00:00.000Z', to: '2025-06-04T00:00:00.000Z' },
    bucketMs: 60_000,
    buckets: [],
    servers: [],
    series: [],
    marks: [],
    users: { total: 0, perServer: [] },
    findings: [],
    warnings: [],
    ...over,
  });
  const figures = (html: string) => [...html.matchAll(/<figure class="chart" data-chart="([a-z]+)" data-series="(\d+)" data-marks="(\d+)"/g)].map((m) => ({ id: m[1], series: Number(m[2]), marks: Number(m[3]) }));

  it('draws empty charts for an empty timeline and an invalid window, without throwing', async () => {
    const html = await renderTimelinePage(base({ window: { from: 'garbage', to: '' }, bucketMs: NaN }));
    expect(figures(html)).toEqual([
      { id: 'errors', series: 0, marks: 0 },
      { id: 'users', series: 0, marks: 0 },
    ]);
    expect(html).toContain('No error in the window');
    // A timeline read from hostile JSON: lists missing, wrong types.
    const broken = { ...base({}), series: undefined, marks: 'x', servers: null, users: {}, warnings: [1, null] } as unknown as Timeline;
    expect(figures(await renderTimelinePage(broken)).map((f) => f.id)).toEqual(['errors', 'users']);
  });

  it('stays small and bounded for a day of buckets, hundreds of series and thousands of marks', async () => {
    const from = Date.parse('2025-06-03T00:00:00Z');
    const buckets = Array.from({ length: 1440 }, (_, i) => new Date(from + i * 60_000).toISOString());
    const series: TimelineSeries[] = Array.from({ length: 200 }, (_, i) => ({
      server: `S${i % 4}`,
      kind: 'counter',
      category: 'cpu',
      name: `\\Processor(${i})\\% Processor Time`,
      unit: '%',
      values: buckets.map((_, b) => (b * 7 + i) % 100),
    }));
    const marks = Array.from({ length: 5000 }, (_, i) => ({ time: new Date(from + i * 17_000).toISOString(), server: 'S0', kind: 'restart' as const, label: 'r' }));
    const html = await renderTimelinePage(base({ buckets, series, marks, warnings: Array.from({ length: 3000 }, (_, i) => `w${i}`) }));
    const cpu = figures(html).find((f) => f.id === 'cpu')!;
    expect(cpu.series).toBe(24);
    expect(html).toContain('176 more series not drawn');
    expect(figures(html).find((f) => f.id === 'errors')!.marks).toBe(40);
    expect(html).toContain('4500 more not shown');
    expect(html).toContain('2500 more (see timeline.json)');
    expect(html.length).toBeLessThan(600_000); // 24 series of 1,440 points sampled to the plot width
  });

  it('keeps the servers with the most errors when a big farm has more series than a chart draws', async () => {
    const buckets = ['2025-06-03T10:00:00.000Z', '2025-06-03T10:01:00.000Z'];
    const series: TimelineSeries[] = Array.from({ length: 30 }, (_, i) => ({ server: `SRV${String(i).padStart(2, '0')}`, kind: 'tracer-errors', name: 't', values: [i === 29 ? 500 : i % 3, 0] }));
    const html = await renderTimelinePage(base({ window: { from: buckets[0]!, to: '2025-06-03T10:02:00.000Z' }, buckets, series, firstOccurrence: { time: buckets[0]!, server: 'SRV29', source: 'tracer', detail: 'line one\n   at frame two' } }));
    const errorsChart = html.slice(html.indexOf('data-chart="errors"'), html.indexOf('data-chart="users"'));
    expect(figures(html)[0]).toEqual({ id: 'errors', series: 24, marks: 1 });
    expect(errorsChart).toContain('>SRV29 Tracer errors</text>');
    expect(errorsChart).toContain('6 more series not drawn');
    // A multi-line detail (a stack trace) keeps its lines.
    expect(html).toContain('line one\n   at frame two</div>');
  });

  it('escapes hostile text everywhere and never lets it drive ECharts templates', async () => {
    const evil = '</title></style><script>alert(1)</script>"><svg onload=alert(2)>{a}{b|x}\u001b[31m\u202e';
    const t = base({
      farm: { name: evil, systemId: evil, environment: evil },
      source: { kind: 'farm', path: evil },
      buckets: ['2025-06-03T10:00:00.000Z', '2025-06-03T10:01:00.000Z'],
      servers: [{ name: evil, role: evil, reachable: false, reason: evil, version: evil, build: evil, clockCorrectionMs: 0 }],
      series: [
        { server: evil, kind: 'tracer-errors', name: evil, values: [1, 2] },
        { server: '{a}{b|x}{@x}', kind: 'users', name: 'u', values: [1, 2] },
        { server: evil, kind: 'counter', category: 'sql', name: evil, unit: evil, values: [1, 2] },
      ],
      firstOccurrence: { time: '2025-06-03T10:00:30.000Z', server: evil, source: 'tracer', detail: evil },
      marks: [{ time: '2025-06-03T10:00:40.000Z', server: evil, kind: 'file-modified', label: evil }],
      users: { total: 1, perServer: [{ server: evil, count: 1 }] },
      findings: [{ id: evil, severity: 'critical', server: evil, counter: evil, from: evil, to: evil, value: 1, limit: 2, explanation: evil }],
      warnings: [evil],
    });
    const html = await renderTimelinePage(t);
    expect(html).not.toMatch(/<script|<svg onload|\u001b|\u202e/i);
    expect(html).not.toContain('</title></style>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('\\x1b[31m\\u202e'); // controls shown, not obeyed
    // Shown as written in the chart's legend, not expanded as an ECharts template or rich text.
    const usersChart = html.slice(html.indexOf('data-chart="users"'), html.indexOf('data-chart="sql"'));
    expect(usersChart).toMatch(/<text[^>]*>\{a\}\{b\|x\}\{@x\} users<\/text>/);
    // Exactly one <title>, one <style> outside the charts, and the structure intact.
    expect(html.match(/<title>/g)!.length).toBe(1);
    expect(figures(html).map((f) => f.id)).toEqual(['errors', 'users', 'sql']);
  });
});
