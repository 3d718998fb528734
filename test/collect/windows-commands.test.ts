import { describe, expect, it } from 'vitest';
import {
  commandLineOf,
  eventWindowXPath,
  logmanQueryCommand,
  relogCsvCommand,
  relogTime,
  uncHost,
  wevtutilArchiveCommand,
  wevtutilExportCommand,
} from '../../src/logs/windows-commands.js';

const window = { from: new Date('2025-06-03T08:00:00Z'), to: new Date('2025-06-03T12:00:00Z') };

describe('wevtutil epl', () => {
  it('builds the XPath window on TimeCreated with ISO UTC times', () => {
    expect(eventWindowXPath(window)).toBe(
      "*[System[TimeCreated[@SystemTime>='2025-06-03T08:00:00.000Z' and @SystemTime<='2025-06-03T12:00:00.000Z']]]",
    );
  });

  it('exports a local channel with the query and overwrite', () => {
    const c = wevtutilExportCommand({ channel: 'Application', outFile: 'C:\\Temp\\clk\\Application.evtx', window });
    expect(c.command).toBe('wevtutil');
    expect(c.args).toEqual([
      'epl',
      'Application',
      'C:\\Temp\\clk\\Application.evtx',
      "/q:*[System[TimeCreated[@SystemTime>='2025-06-03T08:00:00.000Z' and @SystemTime<='2025-06-03T12:00:00.000Z']]]",
      '/ow:true',
    ]);
  });

  it('names the remote computer with /r: and quotes paths with spaces and channels with slashes', () => {
    const c = wevtutilExportCommand({
      channel: 'Microsoft-Windows-TaskScheduler/Operational',
      outFile: 'C:\\Users\\Jane Admin\\AppData\\Local\\Temp\\clk 1\\Task.evtx',
      window,
      remote: 'APP01',
    });
    expect(c.args.slice(-2)).toEqual(['/r:APP01', '/ow:true']);
    expect(commandLineOf(c)).toBe(
      'wevtutil epl Microsoft-Windows-TaskScheduler/Operational "C:\\Users\\Jane Admin\\AppData\\Local\\Temp\\clk 1\\Task.evtx" ' +
        `"/q:*[System[TimeCreated[@SystemTime>='2025-06-03T08:00:00.000Z' and @SystemTime<='2025-06-03T12:00:00.000Z']]]" /r:APP01 /ow:true`,
    );
  });

  it('exports from a file (UNC path) with /lf:true', () => {
    const c = wevtutilExportCommand({ channel: '\\\\APP01\\c$\\Windows\\System32\\winevt\\Logs\\System.evtx', outFile: 'D:\\out\\System.evtx', window, fromFile: true });
    expect(c.args[1]).toBe('\\\\APP01\\c$\\Windows\\System32\\winevt\\Logs\\System.evtx');
    expect(c.args.slice(-2)).toEqual(['/lf:true', '/ow:true']);
    // A UNC path without spaces needs no quotes; its leading backslashes stay as they are.
    expect(commandLineOf(c).startsWith('wevtutil epl \\\\APP01\\c$\\Windows\\System32\\winevt\\Logs\\System.evtx D:\\out\\System.evtx ')).toBe(true);
  });

  it('adds locale metadata with wevtutil al', () => {
    expect(wevtutilArchiveCommand('C:\\clk\\System.evtx').args).toEqual(['al', 'C:\\clk\\System.evtx', '/l:en-US']);
  });
});

describe('relog', () => {
  it('formats times as the local M/d/yyyy HH:mm:ss of the machine running relog', () => {
    expect(relogTime(new Date('2025-06-03T08:00:00Z'), 0)).toBe('6/3/2025 08:00:00');
    expect(relogTime(new Date('2025-06-03T08:00:00Z'), 120)).toBe('6/3/2025 10:00:00');
    expect(relogTime(new Date('2025-06-03T02:30:05Z'), -300)).toBe('6/2/2025 21:30:05');
    expect(relogTime(new Date('2025-12-31T23:59:59Z'), 60)).toBe('1/1/2026 00:59:59');
  });

  it('converts a .blg to CSV cut to the window, answering yes to overwrite', () => {
    const c = relogCsvCommand({
      input: 'C:\\PerfLogs\\Admin\\ClickSoftware\\APP01_ClickSoftware_000001.blg',
      output: 'C:\\Temp\\clk out\\APP01.csv',
      window,
      localOffsetMinutes: 120,
    });
    expect(c.command).toBe('relog');
    expect(c.args).toEqual([
      'C:\\PerfLogs\\Admin\\ClickSoftware\\APP01_ClickSoftware_000001.blg',
      '-f',
      'CSV',
      '-o',
      'C:\\Temp\\clk out\\APP01.csv',
      '-b',
      '6/3/2025 10:00:00',
      '-e',
      '6/3/2025 14:00:00',
      '-y',
    ]);
    expect(commandLineOf(c)).toBe(
      'relog C:\\PerfLogs\\Admin\\ClickSoftware\\APP01_ClickSoftware_000001.blg -f CSV -o "C:\\Temp\\clk out\\APP01.csv" -b "6/3/2025 10:00:00" -e "6/3/2025 14:00:00" -y',
    );
  });
});

describe('logman and helpers', () => {
  it('queries collector sets, locally or on a remote server', () => {
    expect(logmanQueryCommand().args).toEqual(['query']);
    expect(logmanQueryCommand({ name: 'CLK Perf', remote: 'APP01' }).args).toEqual(['query', 'CLK Perf', '-s', 'APP01']);
    expect(commandLineOf(logmanQueryCommand({ name: 'CLK Perf' }))).toBe('logman query "CLK Perf"');
  });

  it('takes the computer name from a UNC share root', () => {
    expect(uncHost('\\\\APP01\\c$')).toBe('APP01');
    expect(uncHost('//sched01.corp.example/c$')).toBe('sched01.corp.example');
    expect(uncHost('servers/app01/c$')).toBeUndefined();
  });
});
