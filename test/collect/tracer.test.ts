import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readLines } from '../../src/logs/lines.js';
import { TimestampDetector } from '../../src/logs/timestamps.js';
import { cutToWindow, newTracerStats, TailRing, truncationMarker, windowLines } from '../../src/logs/tracer.js';

const window = { from: new Date('2025-06-03T10:00:00Z'), to: new Date('2025-06-03T11:00:00Z') };

function lines(text: string, chunk = 7) {
  // Small chunks: lines cross chunk boundaries.
  const buf = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return readLines(Readable.from(parts));
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const LOG = [
  'header without time',
  '2025-06-03 09:59:59.999 [1] INFO before',
  '2025-06-03 10:00:00.000 [1] ERROR first in window',
  '   at W6.Server.Process()',
  '   at W6.Server.Main()',
  '2025-06-03 10:30:00.000 [2] INFO middle',
  '2025-06-03 11:00:00.000 [3] INFO last (inclusive end)',
  '2025-06-03 11:00:00.001 [3] INFO after',
  '   at continuation of after',
].join('\r\n');

describe('windowLines', () => {
  it('keeps lines inside the window, continuation lines with their parent', async () => {
    const stats = newTracerStats();
    const out: string[] = [];
    for await (const l of windowLines(lines(LOG), { window, detector: new TimestampDetector(), stats })) out.push(l.text);
    expect(out).toEqual([
      '2025-06-03 10:00:00.000 [1] ERROR first in window',
      '   at W6.Server.Process()',
      '   at W6.Server.Main()',
      '2025-06-03 10:30:00.000 [2] INFO middle',
      '2025-06-03 11:00:00.000 [3] INFO last (inclusive end)',
    ]);
    expect(stats.linesRead).toBe(9);
    expect(stats.timestamped).toBe(5);
    expect(stats.linesInWindow).toBe(5);
    expect(stats.formats.iso).toBe(5);
    expect(stats.firstMs).toBe(window.from.getTime());
    expect(stats.lastMs).toBe(window.to.getTime());
  });

  it('applies the configured UTC offset to lines that carry none, and learns day-first dates', async () => {
    const text = ['03/06/2025 12:10:00,000 INFO local +02:00 is 10:10Z', '13/06/2025 12:10:00,000 INFO other day'].join('\n');
    const out = await collect(cutToWindow(lines(text), { window, detector: new TimestampDetector({ utcOffsetMinutes: 120 }) }));
    // The second line is unambiguous (13 > 12), but the first was read before it: the detector stays month-first
    // until proven otherwise, so the first line is 6 March and outside the window. With dayFirst forced, both are June.
    const forced = await collect(cutToWindow(lines(text), { window, detector: new TimestampDetector({ utcOffsetMinutes: 120, dayFirst: true }) }));
    expect(forced).toEqual(['03/06/2025 12:10:00,000 INFO local +02:00 is 10:10Z']);
    expect(out.length).toBeLessThanOrEqual(1);
  });

  it('stops early once lines are well past the window', async () => {
    const stats = newTracerStats();
    const text = [LOG, '2025-06-03 13:00:00.000 [3] INFO much later', '2025-06-03 10:15:00.000 never reached'].join('\n');
    const out = await collect(cutToWindow(lines(text), { window, detector: new TimestampDetector(), stats, stopAfterMs: 15 * 60_000 }));
    expect(stats.stoppedEarly).toBe(true);
    expect(out).not.toContain('2025-06-03 10:15:00.000 never reached');
  });
});

describe('cutToWindow with a cap', () => {
  it('keeps the most recent lines that fit, after a visible marker', async () => {
    const body = Array.from({ length: 100 }, (_, i) => `2025-06-03 10:${String(i % 60).padStart(2, '0')}:00.000 [1] INFO line ${String(i).padStart(3, '0')}`);
    const text = body.join('\n');
    const lineBytes = body[0].length + 1;
    const stats = newTracerStats();
    const out = await collect(cutToWindow(lines(text, 100), { window, detector: new TimestampDetector(), stats, maxBytes: lineBytes * 10 + 5 }));
    expect(out[0]).toBe(truncationMarker(lineBytes * 90));
    expect(out.slice(1)).toEqual(body.slice(90));
    expect(stats.bytesOmitted).toBe(lineBytes * 90);
    expect(stats.bytesInWindow).toBe(lineBytes * 100);
  });

  it('adds no marker when everything fits, and streams when told the source fits', async () => {
    const a = await collect(cutToWindow(lines(LOG), { window, detector: new TimestampDetector(), maxBytes: 1 << 20 }));
    const b = await collect(cutToWindow(lines(LOG), { window, detector: new TimestampDetector(), maxBytes: 1 << 20, fitsCap: true }));
    expect(a).toEqual(b);
    expect(a[0].startsWith('[clk-support')).toBe(false);
  });

  it('bounds the ring by bytes, not lines', () => {
    const ring = new TailRing(100);
    for (let i = 0; i < 5000; i++) ring.push('x'.repeat(i % 7 === 0 ? 60 : 3));
    expect(ring.bytes).toBeLessThanOrEqual(100);
    const kept = [...ring.drain()];
    expect(kept.reduce((n, s) => n + s.length + 1, 0)).toBeLessThanOrEqual(100);
    expect(kept.at(-1)).toBe('x'.repeat((4999 % 7 === 0) ? 60 : 3));
  });
});

import { sniffDayFirst } from '../../src/logs/tracer.js';

describe('sniffDayFirst', () => {
  it('decides by an unambiguous date, else by a comma before the milliseconds', () => {
    expect(sniffDayFirst(['03/06/2025 06:00:00.000 x', '13/06/2025 06:00:00.000 y'])).toBe(true);
    expect(sniffDayFirst(['06/13/2025 06:00:00.000 x'])).toBe(false);
    expect(sniffDayFirst(['03/06/2025 06:00:00,000 INFO IntegrationManager'])).toBe(true);
    expect(sniffDayFirst(['03/06/2025 06:00:00.000 INFO x'])).toBeUndefined();
    expect(sniffDayFirst(['2025-06-03 06:00:00.000 INFO x'])).toBeUndefined();
  });
});

import { cutToWindowTwoPass } from '../../src/logs/tracer.js';

describe('cutToWindowTwoPass', () => {
  it('gives exactly what the ring gives, for any cap', async () => {
    const body = Array.from({ length: 300 }, (_, i) => (i % 5 === 4 ? `   at frame ${i}` : `2025-06-03 10:${String(i % 60).padStart(2, '0')}:00.000 [1] INFO line ${i} ${'x'.repeat(i % 37)}`));
    const text = ['2025-06-03 09:00:00.000 before', ...body, '2025-06-03 12:00:00.000 after'].join('\n');
    for (const cap of [1, 50, 1000, 5000, 20000, 1 << 20]) {
      const ring = await collect(cutToWindow(lines(text, 33), { window, detector: new TimestampDetector(), maxBytes: cap }));
      let opens = 0;
      const stats = newTracerStats();
      const two = await collect(
        cutToWindowTwoPass(async () => (opens++, lines(text, 33)), { window, detector: new TimestampDetector(), makeDetector: () => new TimestampDetector(), maxBytes: cap, stats }),
      );
      expect(two, `cap ${cap}`).toEqual(ring);
      expect(opens).toBe(2);
      if (ring[0]?.startsWith('[clk-support')) expect(stats.bytesOmitted).toBeGreaterThan(0);
    }
  });
});

import fc from 'fast-check';
import { detectTimestamp } from '../../src/logs/timestamps.js';

describe('windowLines fast path (same minute as the line before)', () => {
  it('keeps exactly the lines a full parse of every line would keep', async () => {
    const w = { from: new Date('2025-06-03T10:00:30.250Z'), to: new Date('2025-06-03T10:03:00.000Z') };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -90_000, max: 270_000 }), { minLength: 1, maxLength: 80 }), async (offsets) => {
        const sorted = [...offsets].sort((a, b) => a - b);
        const text = sorted
          .map((o) => {
            const d = new Date(Date.parse('2025-06-03T10:00:00Z') + o);
            return `${d.toISOString().replace('T', ' ').replace('Z', '')} [1] INFO at ${o}`;
          })
          .join('\n');
        const expected = text.split('\n').filter((l) => {
          const t = detectTimestamp(l)!.ms;
          return t >= w.from.getTime() && t <= w.to.getTime();
        });
        const got: string[] = [];
        for await (const l of windowLines(lines(text, 64), { window: w, detector: new TimestampDetector() })) got.push(l.text);
        expect(got).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
