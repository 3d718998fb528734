// What every command gets: the IO layer, global options, the farm, an abort signal and a way to
// report a non-zero outcome. Commands stay thin; exit codes are decided in src/cli.ts.
import type { Command } from 'commander';
import { Io } from './ui/io.js';
import { loadFarm, type Farm } from './farm/load.js';
import type { ExitCodeValue } from './errors.js';

export interface GlobalOptions {
  farm?: string;
  json: boolean;
  /** false with --no-input */
  input: boolean;
  yes: boolean;
  verbose: boolean;
  quiet: boolean;
  color: boolean;
}

export interface AppStreams {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  stdin?: NodeJS.ReadableStream;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class App {
  /** The outcome a command reported without throwing (3 for a partial bundle, 1 for failed checks...). */
  exitCode: ExitCodeValue = 0;
  private ioInstance: Io | undefined;
  private farmPromise: Promise<Farm> | undefined;

  constructor(
    readonly streams: AppStreams,
    readonly signal: AbortSignal,
  ) {}

  get cwd(): string {
    return this.streams.cwd ?? process.cwd();
  }

  get env(): NodeJS.ProcessEnv {
    return this.streams.env ?? process.env;
  }

  globals(cmd: Command): GlobalOptions {
    return cmd.optsWithGlobals() as GlobalOptions;
  }

  io(cmd: Command): Io {
    if (!this.ioInstance) {
      const g = this.globals(cmd);
      this.ioInstance = new Io({
        stdout: this.streams.stdout,
        stderr: this.streams.stderr,
        stdin: this.streams.stdin,
        env: this.env,
        color: g.color === false ? false : undefined,
        verbose: g.verbose,
        quiet: g.quiet,
        noInput: g.input === false,
        yes: g.yes,
      });
    }
    return this.ioInstance;
  }

  /** An Io for reporting errors before or outside any command. */
  fallbackIo(): Io {
    return this.ioInstance ?? new Io({ stdout: this.streams.stdout, stderr: this.streams.stderr, env: this.env });
  }

  farm(cmd: Command): Promise<Farm> {
    this.farmPromise ??= loadFarm(this.globals(cmd).farm, this.cwd, this.env);
    return this.farmPromise;
  }

  private readonly finishers: (() => Promise<void>)[] = [];

  /** Work to do once the command has succeeded (writing --out files); run by src/cli.ts. */
  onFinish(f: () => Promise<void>): void {
    this.finishers.push(f);
  }

  async finish(): Promise<void> {
    for (const f of this.finishers.splice(0)) await f();
  }

  /** Record an outcome; the worst one wins (partial beats findings beats ok). */
  report(code: ExitCodeValue): void {
    const rank = (c: number) => (c === 0 ? 0 : c === 1 ? 1 : c === 3 ? 2 : 3);
    if (rank(code) > rank(this.exitCode)) this.exitCode = code;
  }
}

/** Append an Examples section to a command's --help. */
export function examples(cmd: Command, lines: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
