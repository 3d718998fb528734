// Wires commander to the commands, and is the only place where errors become exit codes.
import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import { App, examples, type AppStreams } from './app.js';
import { registrations } from './commands/index.js';
import { ClkError, ExitCode, InterruptedError, UsageError, errorMessage, isAbortError, type ExitCodeValue } from './errors.js';

const require = createRequire(import.meta.url);
export const VERSION: string = (require('../package.json') as { version: string }).version;

export function buildProgram(app: App): Command {
  const program = new Command('clk-support')
    .description(
      'Support tooling for ClickSoftware (SAP Field Service / Service Optimization) server farms: ' +
        'incident bundles, combined farm license requests, incident prefill and prerequisite checks.',
    )
    .version(VERSION, '-V, --version')
    .option('--farm <file>', 'farm file (default: ./clk-farm.json)')
    .option('--json', 'print the result as JSON on stdout', false)
    .option('--no-input', 'never prompt; a missing answer is an error naming its flag')
    .option('-y, --yes', 'answer yes to confirmations', false)
    .addOption(new Option('-v, --verbose', 'more detail on stderr').default(false).conflicts('quiet'))
    .option('-q, --quiet', 'only errors and results', false)
    .option('--no-color', 'no colour (also NO_COLOR=1)')
    .showHelpAfterError('(run with --help for usage)')
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
  const app = new App(streams, controller.signal);
  const jsonErrors = wantsJson(argv);
  try {
    const program = buildProgram(app);
    if (argv.length === 0) {
      // Not asked for: the usage goes to stderr and it is a usage error, like a bare group.
      program.outputHelp({ error: true });
      if (jsonErrors) printJsonError(app, new UsageError('no command given', { code: 'MISSING_COMMAND', hint: 'run "clk-support --help" for the commands' }));
      return ExitCode.usage;
    }
    await program.parseAsync(helpAsFlag(program, argv), { from: 'user' });
    if (controller.signal.aborted) throw controller.signal.reason;
    return app.exitCode;
  } catch (err) {
    const code = exitCodeFor(err);
    if (jsonErrors && code !== ExitCode.ok) printJsonError(app, err);
    if (err instanceof CommanderError) return code; // commander already printed the message
    const io = app.fallbackIo();
    if (err instanceof ClkError) io.error(err.message, err.hint);
    else if (code === ExitCode.interrupted) io.error('Interrupted');
    else {
      io.error(`unexpected failure: ${errorMessage(err)}`, 'this is a bug in clk-support; run with --verbose and report it');
      if ((err as Error)?.stack) io.debug((err as Error).stack!);
    }
    return code;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
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
