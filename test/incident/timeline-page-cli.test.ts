// The page a user gets: `incident timeline --html` on the demo farm through the built CLI, opened
// in headless Chromium. What the page draws is checked against the JSON of the same run and against
// the test's own scan of the Tracer logs (first error time); the README's screenshot comes from here
// (CLK_UPDATE_SCREENSHOT=1 rewrites docs/img/timeline.png).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_FARM, ROOT, runCli, walk } from './helpers.js';
import { CHROMIUM, NO_CHROMIUM_REASON, openFile, type OpenedPage } from '../support/chromium.js';

const FROM = '2025-06-03T08:00:00Z';
const TO = '2025-06-03T12:00:00Z';

/** The earliest error line in the window over every demo server's Tracer logs, by a plain scan. */
function firstTracerError(): number {
  let first = Infinity;
  for (const server of ['app01', 'sched01', 'int01']) {
    for (const file of walk(join(ROOT, 'fixtures/demo-farm/servers', server, 'c$/ClickSoftware/Logs'), '.log')) {
      let last: number | undefined;
      for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
        const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)/.exec(line);
        if (m) last = Date.parse(`${m[1]}T${m[2]}Z`);
        if (last === undefined || !/ERROR|FATAL|Exception/.test(line)) continue;
        if (last >= Date.parse(FROM) && last <= Date.parse(TO)) first = Math.min(first, last);
      }
    }
  }
  return first;
}

if (!CHROMIUM) console.warn(`timeline-page-cli: ${NO_CHROMIUM_REASON}`);

describe.skipIf(!CHROMIUM)('incident timeline --html on the demo farm, in headless Chromium', () => {
  let dir: string;
  let json: any;
  let opened: OpenedPage;
  let html: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clk-timeline-cli-page-'));
    const file = join(dir, 'timeline.html');
    const r = await runCli(['--farm', DEMO_FARM, '--json', 'incident', 'timeline', '--from', FROM, '--to', TO, '--html', file]);
    // WEB01 of the demo farm is down on purpose: a partial result.
    expect(r.code).toBe(3);
    json = JSON.parse(r.stdout);
    html = await readFile(file, 'utf8');
    opened = await openFile(file, { width: 1200, height: 900 });
  }, 120_000);

  afterAll(async () => {
    await opened?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads nothing from anywhere: no script, no external URL, no request', async () => {
    expect(opened.blockedRequests).toEqual([]);
    expect(opened.errors).toEqual([]);
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?\s*(?:https?:|\/\/)/i);
    expect(html).not.toMatch(/url\(\s*["']?\s*(?:https?:|\/\/)/i);
    const external = await opened.evaluate(() =>
      [...document.querySelectorAll('[src],[href],[xlink\\:href]')].map((e) => e.getAttribute('src') ?? e.getAttribute('href') ?? '').filter((u) => /^(https?:)?\/\//i.test(u)),
    );
    expect(external).toEqual([]);
  });

  it('draws the charts the JSON calls for, with its series', async () => {
    const charts = await opened.evaluate(() =>
      [...document.querySelectorAll('figure[data-chart]')].map((f) => ({
        id: f.getAttribute('data-chart')!,
        series: Number(f.getAttribute('data-series')),
        marks: Number(f.getAttribute('data-marks')),
        drawnMarks: f.querySelectorAll('[data-mark]').length,
        svg: f.querySelectorAll('svg').length,
        legend: new Set([...f.querySelectorAll('[ecmeta_ssr_type="legend"]')].map((e) => e.getAttribute('ecmeta_data_index'))).size,
      })),
    );
    const counters = json.series.filter((s: any) => s.kind === 'counter');
    const categories = [...new Set(counters.map((s: any) => s.category))] as string[];
    expect(charts.map((c) => c.id).sort()).toEqual(['errors', 'users', ...categories].sort());
    const want: Record<string, number> = {
      errors: json.series.filter((s: any) => s.kind === 'tracer-errors' || s.kind === 'event-errors').length,
      users: json.series.filter((s: any) => s.kind === 'users').length,
    };
    for (const c of categories) want[c] = counters.filter((s: any) => s.category === c).length;
    for (const c of charts) {
      expect({ id: c.id, series: c.series, legend: c.legend, svg: c.svg }).toEqual({ id: c.id, series: want[c.id], legend: want[c.id], svg: 1 });
      expect(c.drawnMarks, c.id).toBe(c.marks);
      expect(c.marks, c.id).toBeGreaterThanOrEqual(1); // the first occurrence at least
    }
    // Change marks from the event logs are drawn on the errors chart.
    const changes = json.marks.filter((m: any) => m.kind !== 'first-occurrence' && m.time >= json.window.from && m.time <= json.window.to);
    expect(changes.length).toBeGreaterThan(0);
    expect(charts.find((c) => c.id === 'errors')!.marks).toBeGreaterThan(1);
  });

  it('puts the first occurrence where the logs say, at its time on the axis', async () => {
    const first = firstTracerError();
    expect(Date.parse(json.firstOccurrence.time)).toBe(first);
    const geometry = await opened.evaluate(() =>
      [...document.querySelectorAll('figure[data-chart]')].map((f) => {
        const svg = f.querySelector('svg')!;
        const box = svg.getBoundingClientRect();
        const ticks = [...svg.querySelectorAll('text')]
          .filter((t) => /^\d\d:\d\d$/.test(t.textContent ?? ''))
          .map((t) => ({ label: t.textContent!, x: t.getBoundingClientRect().left + t.getBoundingClientRect().width / 2 - box.left }));
        const mark = f.querySelector('[data-mark="first-occurrence"]');
        const r = mark?.getBoundingClientRect();
        return { id: f.getAttribute('data-chart')!, ticks, x: r ? r.left + r.width / 2 - box.left : null, time: mark?.getAttribute('data-time') };
      }),
    );
    for (const g of geometry) {
      const pts = g.ticks.map((t) => ({ t: Date.parse(`2025-06-03T${t.label}:00Z`), x: t.x }));
      const a = pts[0]!;
      const b = pts[pts.length - 1]!;
      const pxPerMs = (b.x - a.x) / (b.t - a.t);
      expect(g.time, g.id).toBe(new Date(first).toISOString());
      expect(Math.abs(g.x! - (a.x + (first - a.t) * pxPerMs)), g.id).toBeLessThan(Math.max(1, pxPerMs * 15_000));
    }
  });

  it('shows the same first occurrence, servers, versions and findings as the JSON', async () => {
    const text = await opened.evaluate(() => document.body.innerText);
    expect(text).toContain(json.firstOccurrence.server);
    for (const s of json.servers) {
      expect(text).toContain(s.name);
      if (s.version) expect(text).toContain(s.version);
    }
    const rows = await opened.evaluate(() => document.querySelectorAll('[data-section="findings"] tbody tr, section.findings tbody tr').length);
    expect(json.findings.length).toBeGreaterThan(0); // APP01 runs at ~90% CPU from 10:12
    expect(rows).toBe(json.findings.length);
    for (const f of json.findings) expect(text).toContain(f.server);
  });

  it('screenshots (the README image) and prints to PDF', async () => {
    const png = await opened.screenshot();
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    const pdf = await opened.pdf();
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    if (process.env.CLK_UPDATE_SCREENSHOT === '1') {
      await opened.screenshot({ file: join(ROOT, 'docs', 'img', 'timeline.png'), clip: { x: 0, y: 0, width: 1200, height: 2300 } });
    }
  });
});
