import { describe, expect, it } from 'vitest';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readLines } from '../../src/logs/lines.js';
import { parsePdhCounterPath, readPdhSamples, splitPdhRow, NotPdhCsvError, type PdhSamplesInfo } from '../../src/logs/perfmon.js';

const demoCsv = join(import.meta.dirname, '../../fixtures/demo-farm/servers/app01/c$/PerfLogs/Admin/ClickSoftware/APP01_ClickSoftware_000001.csv');
const sharedCsv = join(import.meta.dirname, '../../../shared/fixtures/perfmon/SYNTHETIC-relog-style.csv');

async function* from(text: string) {
  yield Buffer.from(text);
}

async function collect(text: string, opts = {}) {
  const info: PdhSamplesInfo = { counters: [], skippedCounters: 0, rows: 0, badRows: 0, headerCut: false };
  const samples = [];
  for await (const s of readPdhSamples(readLines(from(text)), opts, info)) samples.push(s);
  return { info, samples };
}

describe('PDH counter paths', () => {
  it('splits machine, object, instance and counter', () => {
    expect(parsePdhCounterPath('\\\\APP01\\Processor(_Total)\\% Processor Time')).toMatchObject({
      machine: 'APP01', object: 'Processor', instance: '_Total', counter: '% Processor Time', name: '\\Processor(_Total)\\% Processor Time',
    });
    expect(parsePdhCounterPath('\\\\APP01\\Memory\\Available MBytes')).toMatchObject({ object: 'Memory', instance: undefined, counter: 'Available MBytes' });
    // instances with parentheses and slashes
    expect(parsePdhCounterPath('\\\\H\\Network Interface(Intel(R) PRO/1000 MT)\\Bytes Total/sec')).toMatchObject({
      object: 'Network Interface', instance: 'Intel(R) PRO/1000 MT', counter: 'Bytes Total/sec',
    });
    expect(parsePdhCounterPath('\\Memory\\Pages/sec')).toMatchObject({ machine: '', object: 'Memory', counter: 'Pages/sec' });
    for (const bad of ['', '(PDH-CSV 4.0)', '\\\\APP01', 'Memory\\Pages/sec', '\\\\APP01\\Memory\\']) expect(parsePdhCounterPath(bad)).toBeUndefined();
  });

  it('splits quoted rows, with doubled quotes, delimiters inside quotes and bare cells', () => {
    expect(splitPdhRow('"a","b,c","d""e",f,"" ', ',')).toEqual(['a', 'b,c', 'd"e', 'f', '']);
    expect(splitPdhRow('"a"\t"1"\t" "', '\t')).toEqual(['a', '1', ' ']);
  });
});

describe('readPdhSamples', () => {
  it('reads every row of the demo CSV as numbers, a missing first rate sample as null', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(demoCsv, 'utf8');
    const { info, samples } = await collect(text);
    const dataRows = text.split('\n').filter((l) => l.trim() !== '').length - 1;
    expect(info.counters.map((c) => c.name)).toEqual([
      '\\Processor(_Total)\\% Processor Time', '\\Memory\\Available MBytes', '\\Process(W6Server)\\Private Bytes', '\\LogicalDisk(C:)\\% Free Space',
    ]);
    expect(samples).toHaveLength(dataRows);
    expect(samples[0].values[0]).toBeNull();
    expect(samples[0].values[1]).toBe(5353);
    expect(samples[0].ms).toBe(Date.UTC(2025, 5, 3, 8, 0, 0));
    expect(info.badRows).toBe(0);
  });

  it('applies the header bias and the window; counts rows without a time', async () => {
    const text = '"(PDH-CSV 4.0) (Eastern Daylight Time)(240)","\\\\H\\Memory\\Available MBytes","not a counter"\r\n'
      + '"05/01/2024 10:00:00.000","100",""\r\n"garbage","1"\r\n"05/01/2024 10:00:15.000","",""\r\n"05/01/2024 10:00:30.000","x",""\r\n';
    const all = await collect(text);
    expect(all.info.skippedCounters).toBe(1);
    expect(all.info.badRows).toBe(1);
    expect(all.samples.map((s) => [s.ms, s.values[0]])).toEqual([
      [Date.UTC(2024, 4, 1, 14, 0, 0), 100], [Date.UTC(2024, 4, 1, 14, 0, 15), null], [Date.UTC(2024, 4, 1, 14, 0, 30), null],
    ]);
    const cut = await collect(text, { window: { from: new Date(Date.UTC(2024, 4, 1, 14, 0, 10)), to: new Date(Date.UTC(2024, 4, 1, 14, 0, 20)) } });
    expect(cut.samples).toHaveLength(1);
  });

  it('bounds the number of counters', async () => {
    const cells = Array.from({ length: 50 }, (_, i) => `"\\\\H\\Obj(${i})\\C"`).join(',');
    const { info } = await collect(`"(PDH-CSV 4.0) (UTC)(0)",${cells}\n"01/01/2025 00:00:00.000",${'"1",'.repeat(50)}\n`, { maxCounters: 10 });
    expect(info.counters).toHaveLength(10);
    expect(info.skippedCounters).toBe(40);
  });

  it('refuses a file that is not PDH-CSV', async () => {
    await expect(collect('time,cpu\n1,2\n')).rejects.toBeInstanceOf(NotPdhCsvError);
  });

  it.skipIf(!existsSync(sharedCsv))('reads the shared relog-style sample (skipped without ../shared)', async () => {
    const info: PdhSamplesInfo = { counters: [], skippedCounters: 0, rows: 0, badRows: 0, headerCut: false };
    const samples = [];
    for await (const s of readPdhSamples(readLines(createReadStream(sharedCsv)), {}, info)) samples.push(s);
    expect(info.header?.biasMinutes).toBe(-60);
    expect(info.counters).toHaveLength(4);
    expect(samples[2].values).toEqual([97.3, 1990, null, 37.5]);
  });
});
