// Quoting arguments for a remote shell. Pure functions: the command lines they build are tested
// here even though they run on Windows servers.
/** The shell family a command line is built for. */
export type Platform = 'windows' | 'linux';

/** POSIX sh: single quotes protect everything but a single quote itself. */
export function quotePosixArg(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Windows: the rules of CommandLineToArgvW / the MSVC runtime (backslashes are literal unless they
 * precede a double quote). cmd.exe metacharacters inside quotes are inert.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[\s"&|<>^%!()]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    if (ch === '"') {
      out += '\\'.repeat(backslashes * 2 + 1) + '"';
    } else {
      out += '\\'.repeat(backslashes) + ch;
    }
    backslashes = 0;
  }
  out += '\\'.repeat(backslashes * 2) + '"';
  return out;
}

export function buildCommandLine(platform: Platform, command: string, args: readonly string[]): string {
  const q = platform === 'windows' ? quoteWindowsArg : quotePosixArg;
  return [command, ...args].map(q).join(' ');
}
