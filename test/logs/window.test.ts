import { describe, expect, it } from 'vitest';
import { describeWindow, inWindowPrecise, parseDuration, parseInstant, parseZone, resolveWindow } from '../../src/logs/window.js';
import { UsageError } from '../../src/errors.js';

const now = new Date('2026-11-23T12:00:00Z');

describe('incident window', () => {
  it('defaults to the last 24 hours', () => {
    const w = resolveWindow({}, now);
    expect(w.from.toISOString()).toBe('2026-11-22T12:00:00.000Z');
    expect(w.to.toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });
  it('--around with --span centres the window', () => {
    const w = resolveWindow({ around: '2026-11-20T09:30:00Z', span: '2h' }, now);
    expect([w.from.toISOString(), w.to.toISOString()]).toEqual(['2026-11-20T08:30:00.000Z', '2026-11-20T10:30:00.000Z']);
  });
  it('--from/--to, relative times', () => {
    const w = resolveWindow({ from: '-90m', to: 'now' }, now);
    expect(w.from.toISOString()).toBe('2026-11-23T10:30:00.000Z');
  });
  it('refuses empty windows, mixed flags and nonsense with usage errors', () => {
    expect(() => resolveWindow({ from: '2026-11-23T12:00:00Z', to: '2026-11-23T11:00:00Z' }, now)).toThrow(UsageError);
    expect(() => resolveWindow({ around: 'now', from: '-1h' }, now)).toThrow(/cannot be combined/);
    expect(() => resolveWindow({ from: 'yesterday' }, now)).toThrow(/--from: "yesterday" is not a time/);
    expect(() => parseDuration('2 hours')).toThrow(UsageError);
    expect(parseDuration('1h30m')).toBe(5_400_000);
  });
});

describe('one time parser: zones and 100 ns', () => {
  it('a time without a zone is UTC by default, or read in the given zone (DST included)', () => {
    const p = (t: string, zone?: string) => new Date(parseInstant(t, '--from', { zone }).ms).toISOString();
    expect(p('2013-10-23T21:09:30')).toBe('2013-10-23T21:09:30.000Z');
    expect(parseInstant('2013-10-23T21:09:30', '--from').assumedZone).toBe('UTC');
    expect(p('2013-10-23T21:09:30', 'America/New_York')).toBe('2013-10-24T01:09:30.000Z');
    expect(p('2013-12-23T21:09:30', 'America/New_York')).toBe('2013-12-24T02:09:30.000Z');
    expect(p('2026-10-25T02:30', 'Europe/Berlin')).toBe('2026-10-25T00:30:00.000Z'); // twice: the first
    expect(p('2026-03-29T02:30', 'Europe/Berlin')).toBe('2026-03-29T01:30:00.000Z'); // never: offset before
    expect(p('2013-10-23', '+05:30')).toBe('2013-10-22T18:30:00.000Z');
    expect(p('2013-10-23T21:09:30+02:00', 'America/New_York')).toBe('2013-10-23T19:09:30.000Z');
    expect(parseInstant('2013-10-23T21:09:30Z', '--from').assumedZone).toBeUndefined();
  });
  it('keeps 7 fraction digits; compares both inclusive ends at 100 ns', () => {
    expect(parseInstant('2025-06-03T00:42:28.4241396Z', '--to')).toMatchObject({ ms: Date.parse('2025-06-03T00:42:28.424Z'), sub: 1396 });
    const w = resolveWindow({ from: '2025-06-03T00:42:28.1664375Z', to: '2025-06-03T00:42:28.424Z' }, now);
    const ms = Date.parse('2025-06-03T00:42:28.424Z');
    expect(inWindowPrecise(w, ms, 0)).toBe(true);
    expect(inWindowPrecise(w, ms, 1396)).toBe(false);
    const start = Date.parse('2025-06-03T00:42:28.166Z');
    expect(inWindowPrecise(w, start, 4375)).toBe(true);
    expect(inWindowPrecise(w, start, 4374)).toBe(false);
    expect(describeWindow(w)).toBe('2025-06-03T00:42:28.1664375Z .. 2025-06-03T00:42:28.424Z');
  });
  it('rejects impossible dates and unknown zones', () => {
    expect(() => parseInstant('2025-02-30T00:00', '--from')).toThrow(UsageError);
    expect(() => parseZone('Nowhere/Land')).toThrow(/not a time zone/);
    expect(parseZone('utc')).toBe('UTC');
    expect(parseZone('+0530')).toBe('+05:30');
  });
});
