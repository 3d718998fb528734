// Windows command lines for collection (wevtutil, relog, logman), built as argv arrays by pure
// functions so that their exact shape is tested on any platform; only Windows runs them.
import { buildCommandLine } from '../commandline.js';
import type { TimeWindow } from './window.js';

export interface WindowsCommand {
  command: string;
  args: string[];
}

/** ISO 8601 UTC with milliseconds: the form the event log compares @SystemTime against. */
function systemTime(d: Date): string {
  return d.toISOString();
}

/** The XPath event filter for a window on TimeCreated (inclusive at both ends, as inWindow). */
export function eventWindowXPath(window: TimeWindow): string {
  return `*[System[TimeCreated[@SystemTime>='${systemTime(window.from)}' and @SystemTime<='${systemTime(window.to)}']]]`;
}

export interface WevtutilExportOptions {
  /** A channel name (Application, Microsoft-Windows-...) or, with fromFile, an .evtx path. */
  channel: string;
  /** Where the export is written (on the machine running wevtutil). */
  outFile: string;
  window: TimeWindow;
  /** Export from a remote computer's event log service (/r:). */
  remote?: string;
  /** The channel is an .evtx file (/lf:true). */
  fromFile?: boolean;
}

/**
 * `wevtutil epl <channel> <out> /q:"<xpath>" [/r:SERVER] [/lf:true] /ow:true`: exporting through the
 * event log service gives a consistent file, where copying the live one fails or yields a dirty copy.
 */
export function wevtutilExportCommand(o: WevtutilExportOptions): WindowsCommand {
  const args = ['epl', o.channel, o.outFile, `/q:${eventWindowXPath(o.window)}`];
  if (o.remote) args.push(`/r:${o.remote}`);
  if (o.fromFile) args.push('/lf:true');
  args.push('/ow:true');
  return { command: 'wevtutil', args };
}

/** `wevtutil al <file> /l:<locale>`: embeds message strings so the export renders on another machine. */
export function wevtutilArchiveCommand(file: string, locale = 'en-US'): WindowsCommand {
  return { command: 'wevtutil', args: ['al', file, `/l:${locale}`] };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * relog's -b/-e want the local time of the machine running relog, as M/d/yyyy HH:mm:ss.
 * localOffsetMinutes: minutes east of UTC of that machine at that time (-new Date().getTimezoneOffset()).
 */
export function relogTime(d: Date, localOffsetMinutes: number): string {
  const l = new Date(d.getTime() + localOffsetMinutes * 60_000);
  return `${l.getUTCMonth() + 1}/${l.getUTCDate()}/${l.getUTCFullYear()} ${pad2(l.getUTCHours())}:${pad2(l.getUTCMinutes())}:${pad2(l.getUTCSeconds())}`;
}

/** The local offset of this machine at an instant, in minutes east of UTC. */
export function localOffsetMinutesAt(d: Date): number {
  return -d.getTimezoneOffset();
}

export interface RelogOptions {
  input: string;
  output: string;
  window: TimeWindow;
  localOffsetMinutes: number;
}

/** `relog <in.blg> -f CSV -o <out.csv> -b <begin> -e <end> -y`: the counters of the window as PDH-CSV. */
export function relogCsvCommand(o: RelogOptions): WindowsCommand {
  return {
    command: 'relog',
    args: [o.input, '-f', 'CSV', '-o', o.output, '-b', relogTime(o.window.from, o.localOffsetMinutes), '-e', relogTime(o.window.to, o.localOffsetMinutes), '-y'],
  };
}

/** `logman query [name] [-s server]`: the data collector sets and where they write. */
export function logmanQueryCommand(opts: { name?: string; remote?: string } = {}): WindowsCommand {
  const args = ['query'];
  if (opts.name) args.push(opts.name);
  if (opts.remote) args.push('-s', opts.remote);
  return { command: 'logman', args };
}

/** The command line as cmd.exe / CreateProcess receives it (for logs and --dry-run). */
export function commandLineOf(c: WindowsCommand): string {
  return buildCommandLine('windows', c.command, c.args);
}

/** The computer name wevtutil /r: wants for a share root such as \\APP01\c$ (else undefined). */
export function uncHost(root: string): string | undefined {
  const m = /^(?:\\\\|\/\/)([^\\/]+)[\\/]/.exec(root);
  return m ? m[1] : undefined;
}

/**
 * What to report when a Windows tool exits 0 but leaves no output file (seen with stub or broken
 * tools, and with an event log service that exports nothing): the command and what to check,
 * instead of a bare ENOENT on a temporary path.
 */
export function noOutputReason(c: WindowsCommand, output: string): string {
  const tool = c.command.toLowerCase();
  const check =
    tool === 'wevtutil'
      ? 'check that the Windows Event Log service runs on that server and that this account may read the channel (Event Log Readers)'
      : tool === 'relog'
        ? 'check that the .blg is readable and not still being written by the data collector set'
        : 'check that the tool works on this machine';
  return `${commandLineOf(c)} exited 0 but wrote no ${output.split(/[\\/]/).pop()}: ${check}`;
}

