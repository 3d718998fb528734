import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { buildCommandLine, quotePosixArg, quoteWindowsArg } from '../../src/commandline.js';
import { splitServerPath, toSftpPath } from '../../src/farm/paths.js';

describe('POSIX quoting', () => {
  it('round-trips through a real sh', () => {
    const args = ['plain', 'with space', "it's", '$HOME', '`id`', 'a"b', '', 'semi;colon', 'new\nline'];
    const line = `printf '%s\\0' ${args.map(quotePosixArg).join(' ')}`;
    const out = execFileSync('sh', ['-c', line]).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(args);
  });
});

describe('Windows quoting (CommandLineToArgvW rules)', () => {
  it('leaves simple arguments alone', () => {
    expect(quoteWindowsArg('Application')).toBe('Application');
    expect(quoteWindowsArg('C:\\Logs\\a.evtx')).toBe('C:\\Logs\\a.evtx');
  });
  it('quotes spaces and doubles backslashes only before a quote', () => {
    expect(quoteWindowsArg('C:\\Program Files\\Click')).toBe('"C:\\Program Files\\Click"');
    expect(quoteWindowsArg('C:\\dir with space\\')).toBe('"C:\\dir with space\\\\"');
    expect(quoteWindowsArg('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteWindowsArg('a\\"b')).toBe('"a\\\\\\"b"');
    expect(quoteWindowsArg('')).toBe('""');
  });
  it('quotes cmd.exe metacharacters', () => {
    expect(quoteWindowsArg('a&b')).toBe('"a&b"');
    expect(buildCommandLine('windows', 'sc', ['query', 'W6 Server'])).toBe('sc query "W6 Server"');
  });
});

describe('server paths', () => {
  it('splits drive and segments and refuses climbing out', () => {
    expect(splitServerPath('windows', 'c:\\A\\.\\B\\..\\C')).toEqual({ drive: 'C', segments: ['A', 'C'] });
    expect(() => splitServerPath('windows', 'C:\\..\\x')).toThrow(/climbs above its root/);
    expect(() => splitServerPath('linux', '/opt/../../etc')).toThrow(/climbs above/);
  });
  it('writes Windows paths the way Windows OpenSSH SFTP wants them', () => {
    expect(toSftpPath('windows', 'C:\\Program Files\\x.txt')).toBe('/C:/Program Files/x.txt');
    expect(toSftpPath('linux', '/opt/clk/x')).toBe('/opt/clk/x');
  });
});
