import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { canExportNatively, channelFileName, evtxOverlapsWindow } from '../../src/collect/eventlogs.js';
import { blgOverlaps } from '../../src/collect/perfmon.js';
import { parseDfPk } from '../../src/collect/facts.js';
import { bundlePathFor, safeSegment } from '../../src/collect/types.js';
import { parseSize } from '../../src/collect/run.js';
import { REPO } from '../support/cli.js';
import type { CollectContext } from '../../src/collect/types.js';

const DEMO_EVTX = join(REPO, 'fixtures', 'demo-farm', 'servers', 'app01', 'c$', 'Windows', 'System32', 'winevt', 'Logs', 'Application.evtx');

function ctxWith(kind: 'local' | 'share' | 'ssh', root: string, windowsHost: boolean) {
  const transport = kind === 'ssh' ? { type: 'ssh', host: 'h', port: 22, user: 'u' } : kind === 'share' ? { type: 'share', root } : { type: 'local' };
  return {
    windowsHost,
    transport: { kind, platform: 'windows' },
    server: { transport },
    farm: { dir: '/farm' },
  } as unknown as Pick<CollectContext, 'windowsHost' | 'transport' | 'server' | 'farm'>;
}

describe('where wevtutil is used', () => {
  it('only on Windows, for this machine or a UNC share (with /r:), never over ssh', () => {
    expect(canExportNatively(ctxWith('local', '', true))).toEqual({});
    expect(canExportNatively(ctxWith('share', '\\\\APP01\\c$', true))).toEqual({ remote: 'APP01' });
    expect(canExportNatively(ctxWith('share', 'servers/app01/c$', true))).toBeUndefined();
    expect(canExportNatively(ctxWith('ssh', '', true))).toBeUndefined();
    expect(canExportNatively(ctxWith('share', '\\\\APP01\\c$', false))).toBeUndefined();
  });

  it('names channel files as Windows does', () => {
    expect(channelFileName('Application')).toBe('Application.evtx');
    expect(channelFileName('Microsoft-Windows-TaskScheduler/Operational')).toBe('Microsoft-Windows-TaskScheduler%4Operational.evtx');
  });
});

describe('evtx overlap with the window (real demo file)', () => {
  it('finds a record in the demo incident window and none years before', async () => {
    const hit = await evtxOverlapsWindow(DEMO_EVTX, { from: new Date('2025-06-03T08:00:00Z'), to: new Date('2025-06-03T12:00:00Z') });
    expect(hit.overlaps).toBe(true);
    expect(hit.recordsRead).toBeGreaterThan(0);
    const miss = await evtxOverlapsWindow(DEMO_EVTX, { from: new Date('2020-01-01T00:00:00Z'), to: new Date('2020-01-02T00:00:00Z') });
    expect(miss.overlaps).toBe(false);
    expect(miss.recordsRead).toBeGreaterThan(hit.recordsRead);
  });

  it('reports a damaged file through warnings, never by throwing', async () => {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(DEMO_EVTX);
    bytes.fill(0xa5, 4096 + 600, 4096 + 9000); // wreck the first chunk's records
    const r = await evtxOverlapsWindow([bytes.subarray(0, 200_000)], { from: new Date('2020-01-01T00:00:00Z'), to: new Date('2020-01-02T00:00:00Z') });
    expect(r.overlaps).toBe(false);
    expect(r.warnings.length).toBeGreaterThan(0);
  });
});

describe('small helpers', () => {
  it('decides .blg overlap from mtimes within a numbered series', () => {
    const w = { from: new Date('2025-06-03T08:00:00Z'), to: new Date('2025-06-03T12:00:00Z') };
    const f = (name: string, mtime: string) => ({ path: `C:\\PerfLogs\\${name}`, name, type: 'file' as const, size: 1, mtime: new Date(mtime) });
    const v = blgOverlaps([f('x_000003.blg', '2025-06-04T10:00:00Z'), f('x_000001.blg', '2025-06-03T07:00:00Z'), f('x_000002.blg', '2025-06-03T13:00:00Z'), f('x_000010.blg', '2025-06-05T00:00:00Z')], w);
    expect(v.get('C:\\PerfLogs\\x_000001.blg')).toMatch(/before the window/);
    expect(v.get('C:\\PerfLogs\\x_000002.blg')).toBeUndefined();
    expect(v.get('C:\\PerfLogs\\x_000003.blg')).toMatch(/starts after the window/);
    expect(v.get('C:\\PerfLogs\\x_000010.blg')).toMatch(/starts after the window/);
  });

  it('parses df -Pk, also when a long device name wraps', () => {
    expect(parseDfPk('Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 1000 400 600 40% /\n', '/')).toEqual({ path: '/', totalBytes: 1000 * 1024, freeBytes: 600 * 1024, method: 'df -Pk' });
    expect(parseDfPk('Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/mapper/very-long-name\n 2000 500 1500 25% /\n', '/')?.freeBytes).toBe(1500 * 1024);
    expect(parseDfPk('df: /x: No such file or directory\n', '/x')).toBeUndefined();
  });

  it('parses sizes with decimal and binary units', () => {
    expect(parseSize('50MB')).toBe(50_000_000);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('1.5 KiB')).toBe(1536);
    expect(parseSize('0')).toBeUndefined();
    expect(parseSize('5XB')).toBeUndefined();
    expect(parseSize('-1MB')).toBeUndefined();
  });

  it('makes bundle paths that unpack anywhere', () => {
    const ctx = { folder: 'APP01', transport: { platform: 'windows' } } as unknown as CollectContext;
    expect(bundlePathFor(ctx, 'tracer', 'C:\\ClickSoftware\\Logs\\Tracer\\W6Server.log')).toBe('APP01/tracer/C/ClickSoftware/Logs/Tracer/W6Server.log');
    expect(bundlePathFor(ctx, 'config', 'D:\\Conf\\a:b?.xml')).toBe('APP01/config/D/Conf/a_b_.xml');
    expect(safeSegment('..')).toBe('_');
    expect(safeSegment('name. ')).toBe('name_');
  });
});
