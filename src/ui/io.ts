// The one place that knows about stdout/stderr, TTYs, colour, spinners, progress bars and prompts.
// Results go to stdout; messages and progress go to stderr.
import { stripVTControlCharacters } from 'node:util';
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import cliProgress from 'cli-progress';
import { MissingInputError } from '../errors.js';
import { formatBytes, formatDuration } from '../format.js';
import { renderTable, type Column } from './table.js';
import { sanitizeJson, sanitizeStyled } from './sanitize.js';

/** Messages quote servers, files and bundles: only our own colour and line breaks reach the terminal. */
const message = (text: string) => sanitizeStyled(text, { keepLines: true });

export interface IoOptions {
  stdout?: NodeJS.WriteStream | NodeJS.WritableStream;
  stderr?: NodeJS.WriteStream | NodeJS.WritableStream;
  stdin?: NodeJS.ReadStream | NodeJS.ReadableStream;
  color?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  /** --no-input: never prompt. */
  noInput?: boolean;
  /** --yes: take the default "yes" to confirmations. */
  yes?: boolean;
  env?: NodeJS.ProcessEnv;
}

function isTty(s: unknown): boolean {
  return Boolean((s as { isTTY?: boolean } | undefined)?.isTTY);
}

/**
 * Colour for one stream. In order: --no-color, NO_COLOR (any non-empty value) and FORCE_COLOR=0 turn
 * it off; FORCE_COLOR=1..3 turns it on even when piped; otherwise only a TTY that is not TERM=dumb
 * and not under CI (any non-empty CI variable) gets colour.
 */
export function colorFor(stream: unknown, env: NodeJS.ProcessEnv, flag?: boolean): boolean {
  if (flag === false) return false;
  if ((env.NO_COLOR ?? '') !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force.toLowerCase() === 'false') return false;
    if (/^(?:[123]|true|)$/i.test(force)) return true;
  }
  if (env.TERM === 'dumb' || !isTty(stream)) return false;
  return (env.CI ?? '') === '';
}

export class Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly c: ChalkInstance;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly yes: boolean;
  readonly noInput: boolean;
  /** Animations (spinners, progress bars) only on an interactive stderr outside CI. */
  readonly animate: boolean;
  /** Colour is decided per stream: a terminal on stderr says nothing about a file on stdout. */
  readonly colorStdout: boolean;
  readonly colorStderr: boolean;
  /** A JSON document went to stdout (under --json an error then adds none). */
  wroteJson = false;
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: IoOptions = {}) {
    this.env = opts.env ?? process.env;
    this.stdout = opts.stdout ?? process.stdout;
    this.stderr = opts.stderr ?? process.stderr;
    this.stdin = opts.stdin ?? process.stdin;
    this.verbose = Boolean(opts.verbose);
    this.quiet = Boolean(opts.quiet);
    this.yes = Boolean(opts.yes);
    this.noInput = Boolean(opts.noInput);
    this.colorStdout = colorFor(this.stdout, this.env, opts.color);
    this.colorStderr = colorFor(this.stderr, this.env, opts.color);
    // One palette for callers; out() and the stderr writers drop the codes a stream must not get.
    this.c = new Chalk({ level: this.colorStdout || this.colorStderr ? 1 : 0 });
    // A pty without a size (docker -t, script < /dev/null) reports 0 columns: a spinner would redraw forever.
    this.animate = this.colorStderr && isTty(this.stderr) && !this.env.CI && (this.stderr as { columns?: number }).columns !== 0;
  }

  private forStdout(text: string): string {
    return this.colorStdout || !text.includes('\x1b') ? text : stripVTControlCharacters(text);
  }

  private toStderr(text: string): void {
    this.stderr.write(this.colorStderr || !text.includes('\x1b') ? text : stripVTControlCharacters(text));
  }

  /** Terminal width for tables on stdout; undefined when piped (full text). */
  get stdoutColumns(): number | undefined {
    const cols = (this.stdout as { columns?: number }).columns;
    return this.stdoutIsTty && typeof cols === 'number' && cols > 0 ? cols : undefined;
  }

  /** A table on stdout, fitted to the terminal (widest free-text column cut), whole when piped. */
  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    this.out(renderTable(rows, columns, { width: this.stdoutColumns }));
  }

  get stdoutIsTty(): boolean {
    return isTty(this.stdout);
  }

  /** Long text cut to `max` characters for a terminal table; piped output keeps it whole. */
  fit(text: string, max: number): string {
    return this.stdoutIsTty && text.length > max ? `${text.slice(0, max - 3)}...` : text;
  }

  /** Prompts need a person at both ends and no --no-input. */
  get canPrompt(): boolean {
    return !this.noInput && isTty(this.stdin) && isTty(this.stdout) && !this.env.CI;
  }

  /** A result line on stdout (or kept for --out, see captureResults). */
  out(text = ''): void {
    const line = this.forStdout(text);
    const full = line.endsWith('\n') ? line : `${line}\n`;
    if (this.captured) this.captured.push(full);
    else this.stdout.write(full);
  }

  private captured: string[] | undefined;

  /** From now on results (out, json) are kept instead of printed; the getter returns them. */
  captureResults(): () => string {
    this.captured ??= [];
    return () => this.captured!.join('');
  }

  json(value: unknown): void {
    this.wroteJson = true;
    const text = `${sanitizeJson(JSON.stringify(value, jsonReplacer, 2))}\n`;
    if (this.captured) this.captured.push(text);
    else this.stdout.write(text);
  }

  info(text: string): void {
    if (!this.quiet) this.toStderr(`${message(text)}\n`);
  }

  success(text: string): void {
    if (!this.quiet) this.toStderr(`${this.c.green('✔')} ${message(text)}\n`);
  }

  warn(text: string): void {
    this.toStderr(`${this.c.yellow('warning:')} ${message(text)}\n`);
  }

  error(text: string, hint?: string): void {
    this.toStderr(`${this.c.red('error:')} ${message(text)}\n`);
    if (hint) this.toStderr(`${this.c.dim('hint:')} ${message(hint)}\n`);
  }

  debug(text: string): void {
    if (this.verbose) this.toStderr(`${this.c.dim(message(text))}\n`);
  }

  /** A spinner on a TTY; off a TTY, one plain line at start and one at the end. */
  spinner(text: string): Spinner {
    if (this.quiet) return new SilentSpinner();
    if (!this.animate) return new PlainSpinner(this, text);
    return new OraSpinner(this, text);
  }

  /** A byte progress bar per task on a TTY; nothing off a TTY (the summary tells the story). */
  progress(): Progress {
    if (!this.animate || this.quiet) return new SilentProgress();
    return new BarProgress(this.stderr as NodeJS.WriteStream);
  }

  async confirm(message: string, opts: { flag: string; default?: boolean }): Promise<boolean> {
    if (this.yes) return true;
    if (!this.canPrompt) throw new MissingInputError(`Confirmation ("${message}")`, opts.flag);
    const { confirm } = await import('@inquirer/prompts');
    return confirm({ message, default: opts.default ?? false }, { output: this.stderr as NodeJS.WritableStream } as never);
  }

  async input(message: string, opts: { flag: string; default?: string; required?: boolean }): Promise<string> {
    if (!this.canPrompt) throw new MissingInputError(message, opts.flag);
    const { input } = await import('@inquirer/prompts');
    return input({ message, default: opts.default, required: opts.required });
  }

  async select<T extends string>(
    message: string,
    choices: { value: T; name?: string; description?: string }[],
    opts: { flag: string; default?: T },
  ): Promise<T> {
    if (!this.canPrompt) throw new MissingInputError(message, opts.flag);
    const { select } = await import('@inquirer/prompts');
    return select<T>({ message, choices, default: opts.default });
  }

  /**
   * A long answer: in $VISUAL/$EDITOR when one is set (as `gh issue create` does), otherwise line
   * by line on the terminal until an empty line.
   */
  async longText(message: string, opts: { flag: string; default?: string }): Promise<string> {
    if (!this.canPrompt) throw new MissingInputError(message, opts.flag);
    if (this.env.VISUAL || this.env.EDITOR) {
      const { editor } = await import('@inquirer/prompts');
      return editor({ message: `${message} (opens ${this.env.VISUAL || this.env.EDITOR})`, default: opts.default, waitForUserInput: false });
    }
    const { input } = await import('@inquirer/prompts');
    this.stderr.write(`${this.c.bold(message)} (several lines; an empty line ends)\n`);
    const lines: string[] = [];
    for (;;) {
      const line = await input({ message: `${lines.length + 1}>`, default: lines.length === 0 ? opts.default : undefined });
      if (!line.trim()) break;
      lines.push(line);
    }
    return lines.join('\n');
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  warn(text?: string): void;
  stop(): void;
}

class SilentSpinner implements Spinner {
  update(): void {}
  succeed(): void {}
  fail(): void {}
  warn(): void {}
  stop(): void {}
}

class PlainSpinner implements Spinner {
  constructor(
    private readonly io: Io,
    private text: string,
  ) {
    io.stderr.write(`- ${text}\n`);
  }
  update(text: string): void {
    this.text = text;
  }
  succeed(text?: string): void {
    this.io.stderr.write(`✔ ${text ?? this.text}\n`);
  }
  fail(text?: string): void {
    this.io.stderr.write(`✖ ${text ?? this.text}\n`);
  }
  warn(text?: string): void {
    this.io.stderr.write(`⚠ ${text ?? this.text}\n`);
  }
  stop(): void {}
}

/**
 * ora costs about 20 ms of CPU to load, more than the rest of start-up: it is loaded when the first
 * spinner starts, and the spinner shows once it is there. Ending it before then prints the final
 * line directly, so lines stay in order.
 */
class OraSpinner implements Spinner {
  private s: Ora | undefined;
  private ended = false;

  constructor(
    private readonly io: Io,
    private text: string,
  ) {
    void import('ora').then(
      ({ default: ora }) => {
        if (!this.ended) this.s = ora({ text: this.text, stream: io.stderr as NodeJS.WriteStream, color: 'cyan' }).start();
      },
      () => {
        if (!this.ended) io.stderr.write(`- ${this.text}\n`); // no animation: the plain line instead
      },
    );
  }
  update(text: string): void {
    this.text = text;
    if (this.s) this.s.text = text;
  }
  private end(symbol: string, method: 'succeed' | 'fail' | 'warn', text?: string): void {
    this.ended = true;
    if (this.s) this.s[method](text);
    else this.io.stderr.write(`${symbol} ${text ?? this.text}\n`);
  }
  succeed(text?: string): void {
    this.end(this.io.c.green('✔'), 'succeed', text);
  }
  fail(text?: string): void {
    this.end(this.io.c.red('✖'), 'fail', text);
  }
  warn(text?: string): void {
    this.end(this.io.c.yellow('⚠'), 'warn', text);
  }
  stop(): void {
    this.ended = true;
    this.s?.stop();
  }
}

export interface ProgressTask {
  /** Set the total when it becomes known (bytes). */
  setTotal(total: number): void;
  increment(delta: number): void;
  done(status?: string): void;
}

export interface Progress {
  task(label: string, total: number): ProgressTask;
  stop(): void;
}

class SilentProgress implements Progress {
  task(): ProgressTask {
    return { setTotal() {}, increment() {}, done() {} };
  }
  stop(): void {}
}

class BarProgress implements Progress {
  private readonly multi: cliProgress.MultiBar;
  constructor(stream: NodeJS.WriteStream) {
    this.multi = new cliProgress.MultiBar(
      {
        stream,
        clearOnComplete: false,
        hideCursor: true,
        format: ' {label} |{bar}| {percentage}% {value_h}/{total_h} {rate_h} {eta_h} {status}',
        formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? formatBytes(v) : String(v)),
      },
      cliProgress.Presets.shades_classic,
    );
  }
  task(label: string, total: number): ProgressTask {
    const bar = this.multi.create(Math.max(total, 1), 0, {
      label: label.padEnd(12).slice(0, 12),
      status: '',
      value_h: formatBytes(0),
      total_h: formatBytes(total),
      rate_h: '',
      eta_h: '',
    });
    let value = 0;
    let max = Math.max(total, 1);
    const started = Date.now();
    /** Bytes per second so far, and the time left at that rate (shown once a second has passed). */
    const pace = () => {
      const seconds = (Date.now() - started) / 1000;
      if (seconds < 1 || value <= 0) return { rate_h: '', eta_h: '' };
      const rate = value / seconds;
      const left = Math.max(0, max - value) / rate;
      return { rate_h: `${formatBytes(rate)}/s`, eta_h: value >= max ? '' : `ETA ${formatDuration(left * 1000)}` };
    };
    return {
      setTotal: (t) => {
        max = Math.max(t, 1);
        bar.setTotal(max);
        bar.update(value, { total_h: formatBytes(t) });
      },
      increment: (d) => {
        value += d;
        bar.update(Math.min(value, max), { value_h: formatBytes(value), ...pace() });
      },
      done: (status = 'done') => {
        bar.update(max, { status, value_h: formatBytes(value), ...pace(), eta_h: '' });
        bar.stop();
      },
    };
  }
  stop(): void {
    this.multi.stop();
  }
}
