import { describe, expect, it } from 'vitest';
import { TimestampDetector, detectTimestamp, parseUtcOffset } from '../../src/logs/timestamps.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('timestamp detection per line', () => {
  it.each([
    ['2025-06-03 10:12:01.123 [12] ERROR W6.ServerAPI - x', '2025-06-03T10:12:01.123Z', 'iso'],
    ['2025-06-03T10:12:01Z INFO', '2025-06-03T10:12:01.000Z', 'iso'],
    ['2025-06-03T12:12:01+02:00 INFO', '2025-06-03T10:12:01.000Z', 'iso'],
    ['2025-06-03 10:12:01,5 INFO', '2025-06-03T10:12:01.500Z', 'iso'],
    ['[2025-06-03 10:12:01.1234567] trace', '2025-06-03T10:12:01.123Z', 'iso'],
    ['2025/06/03 10:12:01 x', '2025-06-03T10:12:01.000Z', 'ymd-slash'],
    ['03.06.2025 10:12:01 x', '2025-06-03T10:12:01.000Z', 'dmy-dot'],
    ['[03/Jun/2025:12:12:01 +0200] "GET /"', '2025-06-03T10:12:01.000Z', 'clf'],
    ['06/03/2025 10:12:01 PM x', '2025-06-03T22:12:01.000Z', 'mdy-slash'],
  ])('%s', (line, expected, format) => {
    const d = detectTimestamp(line);
    expect(iso(d?.ms)).toBe(expected);
    expect(d?.format).toBe(format);
  });

  it('applies the log\'s UTC offset when a line has none, and the line\'s own when it has one', () => {
    expect(iso(detectTimestamp('2025-06-03 12:00:00 x', { utcOffsetMinutes: 120 })?.ms)).toBe('2025-06-03T10:00:00.000Z');
    expect(iso(detectTimestamp('2025-06-03T12:00:00Z x', { utcOffsetMinutes: 120 })?.ms)).toBe('2025-06-03T12:00:00.000Z');
  });

  it('learns day-first order from the first unambiguous date of a file and keeps it', () => {
    const det = new TimestampDetector();
    expect(iso(det.detect('25/06/2025 10:00:00,000 INFO a')?.ms)).toBe('2025-06-25T10:00:00.000Z');
    // 03/06 alone is ambiguous; this file already showed it is day-first.
    expect(iso(det.detect('03/06/2025 10:00:00,000 INFO b')?.ms)).toBe('2025-06-03T10:00:00.000Z');
    const us = new TimestampDetector();
    expect(iso(us.detect('06/25/2025 10:00:00 x')?.ms)).toBe('2025-06-25T10:00:00.000Z');
    expect(iso(us.detect('06/03/2025 10:00:00 x')?.ms)).toBe('2025-06-03T10:00:00.000Z');
  });

  it('finds none in continuation lines and impossible dates', () => {
    expect(detectTimestamp('   at W6.ServerAPI.ObjectStore.Query(String filter)')).toBeUndefined();
    expect(detectTimestamp('ERROR without time')).toBeUndefined();
    expect(detectTimestamp('2025-13-45 10:00:00 x')).toBeUndefined();
    expect(detectTimestamp('')).toBeUndefined();
  });

  it('parses offsets', () => {
    expect(parseUtcOffset('+02:00')).toBe(120);
    expect(parseUtcOffset('-0530')).toBe(-330);
    expect(parseUtcOffset('Z')).toBe(0);
    expect(() => parseUtcOffset('CET')).toThrow(/not a UTC offset/);
  });
});
