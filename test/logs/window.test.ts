import { describe, expect, it } from 'vitest';
import { parseDuration, resolveWindow } from '../../src/logs/window.js';
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
