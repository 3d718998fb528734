// Every regular expression a user configures (the farm file's version pattern, --user-pattern) runs
// on RE2 (re2js): matching time is linear in the input whatever the pattern, so a crafted file from a
// server cannot keep a command busy. Patterns RE2 cannot run (backreferences, lookarounds) are refused.
import { RE2JS } from 're2js';

export interface LinearMatch {
  /** The whole match, then the numbered groups (undefined when a group did not take part). */
  readonly [index: number]: string | undefined;
  readonly index: number;
  readonly groups?: Record<string, string | undefined>;
}

export interface LinearPattern {
  readonly source: string;
  /** Named groups of the pattern. */
  readonly groupNames: readonly string[];
  readonly groupCount: number;
  exec(text: string): LinearMatch | null;
}

export class UnsupportedPatternError extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`${JSON.stringify(pattern)} is not a valid regular expression: ${reason}`);
    this.name = 'UnsupportedPatternError';
  }
}

/** Patterns longer than this are refused: a configured pattern is a line, not a program. */
export const MAX_PATTERN_LENGTH = 1000;

export function compileLinear(pattern: string, opts: { ignoreCase?: boolean; multiline?: boolean } = {}): LinearPattern {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new UnsupportedPatternError(pattern.slice(0, 60) + '...', `longer than ${MAX_PATTERN_LENGTH} characters`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, (opts.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0) | (opts.multiline ? RE2JS.MULTILINE : 0));
  } catch (err) {
    const msg = (err as Error).message.replace(/^error parsing regexp:\s*/, '');
    throw new UnsupportedPatternError(pattern, `${msg} (patterns run on RE2: no backreferences or lookarounds)`);
  }
  const named = re.namedGroups() as Record<string, number>;
  return {
    source: pattern,
    groupNames: Object.keys(named),
    groupCount: re.groupCount(),
    // test() runs on RE2's DFA without captures (several times faster): most lines do not match.
    exec: (text) => (re.test(text) ? (re.exec(text) as LinearMatch | null) : null),
  };
}

/** One of the project's own reviewed patterns (no nested quantifiers): V8 runs it, faster than RE2 in JavaScript. */
export function trustedPattern(pattern: string, flags = ''): LinearPattern {
  const re = new RegExp(pattern, flags);
  const named = [...pattern.matchAll(/\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]);
  return { source: pattern, groupNames: named, groupCount: new RegExp(`${pattern}|`).exec('')!.length - 1, exec: (text) => re.exec(text) };
}
