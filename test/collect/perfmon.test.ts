import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readLines } from '../../src/logs/lines.js';
import { cutPdhCsv, NotPdhCsvError, parsePdhHeader, pdhRowTime, type PdhCutStats } from '../../src/logs/perfmon.js';

const window = { from: new Date('2025-06-03T10:00:00Z'), to: new Date('2025-06-03T10:01:00Z') };

async function cut(text: string, stats?: PdhCutStats): Promise<string[]> {
  const out: string[] = [];
  for await (const l of cutPdhCsv(readLines(Readable.from([Buffer.from(text)])), window, stats)) out.push(l);
  return out;
}

describe('PDH-CSV', () => {
  it('reads the bias from the header, whatever the localized zone name holds', () => {
    expect(parsePdhHeader('"(PDH-CSV 4.0) (Coordinated Universal Time)(0)","\\\\APP01\\Memory\\Available MBytes"')).toEqual({ zoneName: 'Coordinated Universal Time', biasMinutes: 0, delimiter: ',' });
    expect(parsePdhHeader('"(PDH-CSV 4.0) (Eastern Daylight Time)(240)","x"')?.biasMinutes).toBe(240);
    expect(parsePdhHeader('\uFEFF"(PDH-CSV 4.0) (Paris, Madrid (heure d\'été))(-120)","x"')).toMatchObject({ biasMinutes: -120, zoneName: "Paris, Madrid (heure d'été)" });
    expect(parsePdhHeader('"(PDH-TSV 4.0) (India Standard Time)(-330)"\t"x"')).toMatchObject({ biasMinutes: -330, delimiter: '\t' });
    expect(parsePdhHeader('"Time","CPU"')).toBeUndefined();
  });

  it('turns local row times into UTC with the bias', () => {
    expect(pdhRowTime('"06/03/2025 08:00:15.000","20.1"', 0)).toBe(Date.parse('2025-06-03T08:00:15Z'));
    expect(pdhRowTime('"06/03/2025 06:00:15.5","20.1"', 240)).toBe(Date.parse('2025-06-03T10:00:15.500Z'));
    expect(pdhRowTime('"13/03/2025 06:00:15.5","x"', 0)).toBeUndefined();
  });

  it('keeps the header and the rows in the window', async () => {
    const text = [
      '"(PDH-CSV 4.0) (Eastern Daylight Time)(240)","\\\\APP01\\Processor(_Total)\\% Processor Time"',
      '"06/03/2025 05:59:45.000"," "',
      '"06/03/2025 06:00:00.000","12.5"',
      '"06/03/2025 06:00:30.000","13.5"',
      '"06/03/2025 06:01:00.000","14.5"',
      '"06/03/2025 06:01:15.000","15.5"',
      '',
    ].join('\r\n');
    const stats: PdhCutStats = { rows: 0, rowsInWindow: 0 };
    const out = await cut(text, stats);
    expect(out).toEqual([
      '"(PDH-CSV 4.0) (Eastern Daylight Time)(240)","\\\\APP01\\Processor(_Total)\\% Processor Time"',
      '"06/03/2025 06:00:00.000","12.5"',
      '"06/03/2025 06:00:30.000","13.5"',
      '"06/03/2025 06:01:00.000","14.5"',
    ]);
    expect(stats).toMatchObject({ rows: 5, rowsInWindow: 3, firstMs: window.from.getTime(), lastMs: window.to.getTime() });
  });

  it('refuses a CSV that is not PDH', async () => {
    await expect(cut('"Time","CPU"\n"x","1"\n')).rejects.toBeInstanceOf(NotPdhCsvError);
  });
});

import { cappedPdh } from '../../src/collect/perfmon.js';

describe('cappedPdh', () => {
  async function* gen(rows: string[]) {
    yield* rows;
  }
  async function all(it: AsyncIterable<string>) {
    const out: string[] = [];
    for await (const x of it) out.push(x);
    return out;
  }
  const rows = ['"(PDH-CSV 4.0) (UTC)(0)","c"', ...Array.from({ length: 20 }, (_, i) => `"06/03/2025 10:00:${String(i).padStart(2, "0")}.000","${String(i).padStart(2, "0")}"`)];

  it('keeps the header and the newest rows that fit, after a marker, reading the source twice', async () => {
    const rowBytes = rows[1].length + 1;
    let opens = 0;
    const stats = { omitted: 0 };
    const out = await all(cappedPdh(async () => (opens++, gen(rows)), rows[0].length + 1 + rowBytes * 5, stats));
    expect(opens).toBe(2);
    expect(out[0]).toBe(rows[0]);
    expect(out[1]).toBe(`[clk-support: truncated, ${rowBytes * 15} earlier bytes in the window omitted]`);
    expect(out.slice(2)).toEqual(rows.slice(16));
    expect(stats.omitted).toBe(rowBytes * 15);
  });

  it('passes everything through in one read without a cap', async () => {
    let opens = 0;
    const out = await all(cappedPdh(async () => (opens++, gen(rows)), undefined, { omitted: 0 }));
    expect(out).toEqual(rows);
    expect(opens).toBe(1);
  });
});
