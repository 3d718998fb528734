import { describe, expect, it } from 'vitest';
import { buildCommandLine } from '../../src/commandline.js';
import { evtxFileName, netSessionArgs, parseScQuery, scQueryArgs, wevtutilGetLogArgs } from '../../src/checks/windows.js';

// Captured from `sc query` on Windows Server 2019 (CRLF line ends as sc prints them).
const RUNNING = [
  '',
  'SERVICE_NAME: W6Server ',
  '        TYPE               : 10  WIN32_OWN_PROCESS  ',
  '        STATE              : 4  RUNNING ',
  '                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)',
  '        WIN32_EXIT_CODE    : 0  (0x0)',
  '        SERVICE_EXIT_CODE  : 0  (0x0)',
  '        CHECKPOINT         : 0x0',
  '        WAIT_HINT          : 0x0',
  '',
].join('\r\n');

const STOPPED = RUNNING.replace('4  RUNNING ', '1  STOPPED ').replace('(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)', '(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)').replace('WIN32_EXIT_CODE    : 0  (0x0)', 'WIN32_EXIT_CODE    : 1077  (0x435)');

const NOT_INSTALLED = '[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n\r\n';
const ACCESS_DENIED = '[SC] OpenSCManager FAILED 5:\r\n\r\nAccess is denied.\r\n\r\n';
const GERMAN_RPC = '[SC] OpenSCManager FAILED 1722:\r\n\r\nDer RPC-Server ist nicht verfügbar.\r\n\r\n';

describe('sc query', () => {
  it('builds local and remote command lines', () => {
    expect(scQueryArgs('W6Server')).toEqual(['query', 'W6Server']);
    expect(scQueryArgs('W6Server', 'APP01')).toEqual(['\\\\APP01', 'query', 'W6Server']);
    expect(buildCommandLine('windows', 'sc', scQueryArgs('W6 Server', 'APP01'))).toBe('sc \\\\APP01 query "W6 Server"');
  });

  it('reads a running service', () => {
    expect(parseScQuery(RUNNING)).toEqual({ found: true, service: 'W6Server', state: 'RUNNING', stateCode: 4 });
  });

  it('reads a stopped service', () => {
    expect(parseScQuery(STOPPED)).toMatchObject({ found: true, state: 'STOPPED', stateCode: 1 });
  });

  it('explains the error codes, whatever the language of the sentence', () => {
    expect(parseScQuery(NOT_INSTALLED)).toEqual({ found: false, errorCode: 1060, message: 'the service is not installed' });
    expect(parseScQuery(ACCESS_DENIED)).toMatchObject({ found: false, errorCode: 5 });
    expect(parseScQuery(GERMAN_RPC)).toMatchObject({ found: false, errorCode: 1722, message: expect.stringContaining('RPC server is unavailable') });
  });

  it('refuses output it does not understand', () => {
    expect(parseScQuery('')).toMatchObject({ found: false, message: expect.stringContaining('unexpected sc output') });
    expect(parseScQuery('Der Befehl "sc" ist entweder falsch geschrieben')).toMatchObject({ found: false });
  });
});

describe('other Windows command lines', () => {
  it('net session and wevtutil gl', () => {
    expect(buildCommandLine('windows', 'net', netSessionArgs())).toBe('net session');
    expect(buildCommandLine('windows', 'wevtutil', wevtutilGetLogArgs('Microsoft-Windows-TaskScheduler/Operational'))).toBe(
      'wevtutil gl Microsoft-Windows-TaskScheduler/Operational',
    );
    expect(buildCommandLine('windows', 'wevtutil', wevtutilGetLogArgs('ClickSoftware Log'))).toBe('wevtutil gl "ClickSoftware Log"');
  });

  it('names channel files the way Windows does', () => {
    expect(evtxFileName('Application')).toBe('Application.evtx');
    expect(evtxFileName('Microsoft-Windows-TaskScheduler/Operational')).toBe('Microsoft-Windows-TaskScheduler%4Operational.evtx');
  });
});
