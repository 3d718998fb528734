// Wires commander to the commands, and is the only place where errors become exit codes.
import { Command, CommanderError, Option } from 'commander';
import { App, examples, type AppStreams } from './app.js';
import { registrations } from './commands/index.js';
import { ClkError, ExitCode, InterruptedError, UsageError, errorMessage, isAbortError, type ExitCodeValue } from './errors.js';
import { sanitize } from './ui/sanitize.js';
import { VERSION, versionReport } from './version.js';

export { VERSION };

export function buildProgram(app: App): Command {
  const program = new Command('clk-support')
    .description(
      'Support tooling for ClickSoftware (SAP Field Service / Service Optimization) server farms: ' +
        'incident bundles, combined farm license requests, incident prefill and prerequisite checks.',
    )
    .version(VERSION, '-V, --version')
    .option('--farm <file|name>', 'farm file, or a named farm in the user config folder (default: $CLK_FARM, else clk-farm.json here or in a parent folder, else in the user config folder)')
    .option('--json', 'print the result as JSON on stdout', false)
    .option('--no-input', 'never prompt; a missing answer is an error naming its flag')
    .option('-y, --yes', 'answer yes to confirmations', false)
    .addOption(new Option('-v, --verbose', 'more detail on stderr').default(false).conflicts('quiet'))
    .option('-q, --quiet', 'only errors and results', false)
    .option('--no-color', 'no colour (also NO_COLOR=1)')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void (app.streams.stdout ?? process.stdout).write(s),
      writeErr: (s) => void (app.streams.stderr ?? process.stderr).write(s),
    });
  examples(program, [
    'clk-support --farm fixtures/demo-farm/clk-farm.json farm status',
    'clk-support collect --around "2026-11-20T09:30Z" --span 2h',
    'clk-support license request --allow-partial',
    'clk-support incident prefill --no-input --answers answers.json',
    'clk-support check --junit check.xml',
  ]);
  for (const register of registrations) register(program, app);
  // Subcommands inherit exitOverride and output settings only when set on each.
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.showHelpAfterError('(run with --help for usage)');
    cmd.configureOutput({
      writeOut: (s) => void (app.streams.stdout ?? process.stdout).write(s),
      writeErr: (s) => void (app.streams.stderr ?? process.stderr).write(s),
    });
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

export function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
    // `help` asked for (exit 0) vs. a bare group without its subcommand: help on stderr, a usage error.
    if (err.code === 'commander.help') return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    return ExitCode.usage;
  }
  if (err instanceof ClkError) return err.exitCode;
  if (isAbortError(err)) return ExitCode.interrupted;
  return ExitCode.failed;
}

/** `--version --json` among the global options (before any command): commander's own --version prints text only. */
export function wantsVersionJson(argv: readonly string[]): boolean {
  const globals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--' || !a.startsWith('-')) break;
    globals.push(a);
    if (a === '--farm') i++; // its value
  }
  return globals.includes('--json') && (globals.includes('--version') || globals.includes('-V'));
}

export async function main(argv: string[], streams: AppStreams = {}): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    controller.abort(new InterruptedError('Interrupted by Ctrl-C'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const outputClosed = watchOutput(streams, controller);
  const app = new App(streams, controller.signal);
  const jsonErrors = wantsJson(argv);
  try {
    if (wantsVersionJson(argv)) {
      (streams.stdout ?? process.stdout).write(`${JSON.stringify(versionReport(), null, 2)}\n`);
      return ExitCode.ok;
    }
    const program = buildProgram(app);
    if (argv[0] === '__complete') {
      const { runCompletion } = await import('./commands/completion.js');
      await runCompletion(program, argv.slice(1), app);
      return ExitCode.ok;
    }
    if (argv.length === 0) {
      // Not asked for: the usage goes to stderr and it is a usage error, like a bare group.
      program.outputHelp({ error: true });
      if (jsonErrors) printJsonError(app, new UsageError('no command given', { code: 'MISSING_COMMAND', hint: 'run "clk-support --help" for the commands' }));
      return ExitCode.usage;
    }
    await program.parseAsync(helpAsFlag(program, argv), { from: 'user' });
    await settled(streams.stdout ?? process.stdout);
    if (outputClosed()) return ExitCode.ok;
    if (controller.signal.aborted) throw controller.signal.reason;
    await app.finish();
    return app.exitCode;
  } catch (err) {
    if (outputClosed()) return ExitCode.ok; // the reader (head, less, grep -q) has what it wanted
    const code = exitCodeFor(err);
    if (jsonErrors && code !== ExitCode.ok) printJsonError(app, err);
    if (err instanceof CommanderError) return code; // commander already printed the message
    const io = app.fallbackIo();
    // messages quote servers, files and bundles: shown escaped, never as terminal controls
    const safe = (s: string) => sanitize(s, { keepLines: true });
    if (err instanceof ClkError) io.error(safe(err.message), err.hint && safe(err.hint));
    else if (code === ExitCode.interrupted) io.error('Interrupted');
    else {
      io.error(`unexpected failure: ${safe(errorMessage(err))}`, 'this is a bug in clk-support; run with --verbose and report it');
      if ((err as Error)?.stack) io.debug(safe((err as Error).stack!));
    }
    return code;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

/** Lets the last writes complete or fail, so a closed pipe is known before the exit code is. */
async function settled(stream: NodeJS.WritableStream): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  const w = stream as NodeJS.WritableStream & { writableNeedDrain?: boolean; destroyed?: boolean };
  if (!w.writableNeedDrain || w.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      w.off('drain', done).off('error', done).off('close', done);
      resolve();
    };
    w.once('drain', done).once('error', done).once('close', done);
  });
}

const watched = new WeakSet<object>();
let onOutputError: ((err: NodeJS.ErrnoException) => void) | undefined;

/**
 * A closed stdout (`| head -1`) ends the run quietly: the write error (EPIPE) is caught here for
 * every command, the work in progress is aborted, and main() returns 0 with nothing on stderr. A
 * closed stderr is ignored (nobody is left to read a message). The listeners stay for the life of
 * the process: a late EPIPE after main() returned must not become an uncaught exception.
 */
function watchOutput(streams: AppStreams, controller: AbortController): () => boolean {
  let closed = false;
  onOutputError = (err) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
      closed = true;
      if (!controller.signal.aborted) controller.abort(new InterruptedError('stdout closed'));
    } else if (!controller.signal.aborted) {
      controller.abort(new ClkError(`cannot write the output: ${err.code ?? err.message}`, { hint: 'check the disk or the pipe stdout goes to' }));
    }
  };
  const stdout = streams.stdout ?? process.stdout;
  const stderr = streams.stderr ?? process.stderr;
  if (!watched.has(stdout)) {
    watched.add(stdout);
    stdout.on('error', (err: NodeJS.ErrnoException) => onOutputError?.(err));
  }
  if (!watched.has(stderr) && stderr !== stdout) {
    watched.add(stderr);
    stderr.on('error', () => {});
  }
  return () => closed;
}

export const ERROR_SCHEMA = 'clk-support/error/v1';

/** --json anywhere before a `--`: errors are then a JSON document too (parsing may not have got that far). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** The error object of a failed command under --json, for scripts that must never parse prose. */
export function errorJson(err: unknown): { schema: string; error: { code: string; message: string; hint?: string; exitCode: number } } {
  const exitCode = exitCodeFor(err);
  let code: string;
  let message = errorMessage(err);
  let hint: string | undefined;
  if (err instanceof CommanderError) {
    // commander.unknownOption -> UNKNOWN_OPTION; a bare group (help shown on stderr) -> MISSING_COMMAND.
    code = err.code === 'commander.help' ? 'MISSING_COMMAND' : err.code.replace(/^commander\./, '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
    message = err.code === 'commander.help' ? 'a subcommand is required (the usage is on stderr)' : message.replace(/^error: /, '');
    hint = 'run the command with --help for its usage';
  } else if (err instanceof ClkError) {
    code = err.code;
    hint = err.hint;
  } else if (exitCode === ExitCode.interrupted) code = 'INTERRUPTED';
  else {
    code = 'INTERNAL';
    hint = 'this is a bug in clk-support; run with --verbose and report it';
  }
  return { schema: ERROR_SCHEMA, error: { code, message, ...(hint ? { hint } : {}), exitCode } };
}

/**
 * On stdout, as the command's one JSON document; a command that already printed its result document
 * (which then carries the outcome) gets no second one. The prose message still goes to stderr.
 */
function printJsonError(app: App, err: unknown): void {
  const io = app.fallbackIo();
  if (io.wroteJson) return;
  io.json(errorJson(err));
}

/** `help farm status` shows the help of `farm status` (commander alone would show the group's). */
function helpAsFlag(program: Command, argv: string[]): string[] {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return argv;
    if (a.startsWith('-')) {
      if (takesValue.has(a)) i++;
      continue;
    }
    if (a !== 'help' || i === argv.length - 1) return argv;
    return [...argv.slice(0, i), ...argv.slice(i + 1), '--help'];
  }
  return argv;
}
