// Wires commander to the commands, and is the only place where errors become exit codes.
import { Command, CommanderError, Option } from 'commander';
import { App, examples, type AppStreams } from './app.js';
import { registrations } from './commands/index.js';
import { ClkError, ExitCode, InterruptedError, errorMessage, isAbortError, type ExitCodeValue } from './errors.js';
import { VERSION, versionReport } from './version.js';

export { VERSION };

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
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
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
  const app = new App(streams, controller.signal);
  try {
    if (wantsVersionJson(argv)) {
      (streams.stdout ?? process.stdout).write(`${JSON.stringify(versionReport(), null, 2)}\n`);
      return ExitCode.ok;
    }
    const program = buildProgram(app);
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.usage;
    }
    await program.parseAsync(argv, { from: 'user' });
    if (controller.signal.aborted) throw controller.signal.reason;
    return app.exitCode;
  } catch (err) {
    const code = exitCodeFor(err);
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
