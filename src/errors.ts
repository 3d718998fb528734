// Typed errors. Core modules throw these; src/cli.ts alone turns them into exit codes.

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  partial: 3,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  /** What the user can do about it. */
  hint?: string;
  /** A stable machine-readable code, e.g. LICENSE_SIGNATURE_INVALID. */
  code?: string;
  cause?: unknown;
}

export class ClkError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.failed;
  readonly hint?: string;
  readonly code: string;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
    this.code = details.code ?? 'FAILED';
  }
}

/** Bad flags or arguments. */
export class UsageError extends ClkError {
  override readonly exitCode = ExitCode.usage;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'USAGE', ...details });
  }
}

/** A farm file, key file or other configuration that cannot be used. */
export class ConfigError extends ClkError {
  override readonly exitCode = ExitCode.usage;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'CONFIG', ...details });
  }
}

/** The operation ran and failed (a check failed, a license was refused, ...). */
export class FailedError extends ClkError {}

/** The command did part of its work; what is missing has been reported. */
export class PartialError extends ClkError {
  override readonly exitCode = ExitCode.partial;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'PARTIAL', ...details });
  }
}

/** Ctrl-C or an abort signal. */
export class InterruptedError extends ClkError {
  override readonly exitCode = ExitCode.interrupted;
  constructor(message = 'Interrupted', details: ErrorDetails = {}) {
    super(message, { code: 'INTERRUPTED', ...details });
  }
}

/** Non-interactive run needs an answer that only a flag can give. */
export class MissingInputError extends UsageError {
  constructor(what: string, flag: string) {
    super(`${what} is required in non-interactive mode`, { code: 'MISSING_INPUT', hint: `pass ${flag}` });
  }
}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof InterruptedError ||
    (err instanceof Error && (err.name === 'AbortError' || err.name === 'ExitPromptError'))
  );
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
