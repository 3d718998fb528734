// What counts as a change and as a user in event records (synthetic records for the rules), and the
// reader of the real fixture logs against evtxexport (a different implementation).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readEvtx } from '../../src/logs/evtx/index.js';
import { classifyChange, emptyEventErrors, eventUsers, isUserSid, scanEventRecords, channelFile } from '../../src/incident/events.js';
import { DEMO_SERVERS, exportEvents, hasTool } from './helpers.js';

const rec = (provider: string, eventId: number, data: Record<string, unknown> = {}, userSid?: string) => ({
  system: { provider, eventId, level: 4, timeCreated: new Date(), computer: 'X', channel: 'Application', userSid },
  data,
});

describe('classifyChange', () => {
  it('recognises installs, removals, updates, failures, services and restarts', () => {
    expect(classifyChange(rec('MsiInstaller', 11707, { 'Data[0]': 'Product: ClickSoftware Service Optimization -- Installation completed successfully.' }))?.kind).toBe('msi-install');
    expect(classifyChange(rec('MsiInstaller', 1033, { ProductName: 'ClickSoftware W6', ProductVersion: '8.1.15.2207' }))).toEqual({ kind: 'msi-install', what: 'ClickSoftware W6 8.1.15.2207' });
    expect(classifyChange(rec('MsiInstaller', 1034, { ProductName: 'Old Tool' }))?.kind).toBe('msi-remove');
    expect(classifyChange(rec('MsiInstaller', 11708, { 'Data[0]': 'x' }))?.kind).toBe('msi-failed');
    expect(classifyChange(rec('Microsoft-Windows-WindowsUpdateClient', 19, { updateTitle: 'KB5050575' }))).toEqual({ kind: 'windows-update', what: 'KB5050575' });
    expect(classifyChange(rec('Microsoft-Windows-WindowsUpdateClient', 20, { updateTitle: 'KB1' }))?.kind).toBe('windows-update-failed');
    expect(classifyChange(rec('Microsoft-Windows-WindowsUpdateClient', 44, { updateTitle: 'download' }))).toBeUndefined();
    expect(classifyChange(rec('Service Control Manager', 7045, { ServiceName: 'W6Server' }))).toEqual({ kind: 'service-installed', what: 'W6Server' });
    expect(classifyChange(rec('User32', 1074, { param1: 'C:\\x.exe', param3: 'Upgrade' }))?.kind).toBe('restart');
    expect(classifyChange(rec('Some-Provider', 19))).toBeUndefined();
  });
});

describe('eventUsers', () => {
  it('takes real accounts and leaves out SYSTEM, services and machine accounts', () => {
    expect(isUserSid('S-1-5-18')).toBe(false);
    expect(isUserSid('S-1-5-21-1-2-3-1001')).toBe(true);
    expect(isUserSid('S-1-5-21-1-2-3-500')).toBe(false); // built-in administrator
    expect(eventUsers(rec('X', 1, {}, 'S-1-5-18'))).toEqual([]);
    expect(eventUsers(rec('X', 1, { TargetUserName: 'CORP\\JDoe' }, 'S-1-5-21-1-2-3-1001'))).toEqual(['S-1-5-21-1-2-3-1001', 'jdoe']);
    expect(eventUsers(rec('X', 1, { TargetUserName: 'APP01$', UserName: 'SYSTEM', User: '-' }))).toEqual([]);
  });

  it('maps a channel with a slash to its file name', () => {
    expect(channelFile({ platform: 'windows' }, 'C:\\Windows\\System32\\winevt\\Logs', 'Microsoft-Windows-TaskScheduler/Operational')).toBe('C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-TaskScheduler%4Operational.evtx');
  });
});

describe.skipIf(!hasTool('evtxexport'))('scanEventRecords on the real fixture System.evtx', () => {
  it('counts the error events and Windows Update installs evtxexport shows in the window', async () => {
    const file = join(DEMO_SERVERS, 'app01/c$/Windows/System32/winevt/Logs/System.evtx');
    const from = Date.parse('2025-06-03T08:00:00Z');
    const to = Date.parse('2025-06-03T12:00:00Z');
    const changesFrom = Date.parse('2025-06-01T00:00:00Z');
    const result = { errors: emptyEventErrors(), changes: [] as { kind: string; what: string; ms: number }[], records: 0 };
    await scanEventRecords(readEvtx(file), 'System', { fromMs: from, toMs: to, changesFromMs: changesFrom, clockOffsetMs: 0 }, result as never);
    const events = exportEvents(file)!;
    expect(result.records).toBe(events.length);
    const errors = events.filter((e) => (e.level === 1 || e.level === 2) && e.time >= from && e.time <= to);
    expect(result.errors.errorEvents).toBe(errors.length);
    expect(result.errors.first?.ms).toBe(Math.min(...errors.map((e) => e.time)));
    const installs = events.filter((e) => e.provider === 'Microsoft-Windows-WindowsUpdateClient' && e.eventId === 19 && e.time >= changesFrom && e.time <= to);
    expect(result.changes.filter((c) => c.kind === 'windows-update').length).toBe(installs.length);
    // A clock 1 h ahead moves everything back by an hour.
    const shifted = { errors: emptyEventErrors(), changes: [], records: 0 };
    await scanEventRecords(readEvtx(file), 'System', { fromMs: from - 3_600_000, toMs: to - 3_600_000, changesFromMs: changesFrom - 3_600_000, clockOffsetMs: 3_600_000 }, shifted as never);
    expect(shifted.errors.errorEvents).toBe(errors.length);
  });
});
