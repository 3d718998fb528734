// Shell completion: `clk-support completion bash|zsh|fish|powershell` prints a script that asks
// the CLI itself for candidates (`clk-support __complete --cur=WORD PREVIOUS...`), so commands,
// options, server names of the farm and check ids are always those of the installed version.
import { readdir } from 'node:fs/promises';
import type { Command, Option } from 'commander';
import { examples, type App } from '../app.js';
import { UsageError } from '../errors.js';

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
type Shell = (typeof SHELLS)[number];

export function completionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return `# clk-support completion for bash: add to ~/.bashrc
#   source <(clk-support completion bash)
_clk_support_complete() {
  local IFS=$'\\n'
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  COMPREPLY=( $(clk-support __complete "--cur=$cur" "\${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null) )
}
complete -o default -F _clk_support_complete clk-support
`;
    case 'zsh':
      return `#compdef clk-support
# clk-support completion for zsh: add to ~/.zshrc
#   source <(clk-support completion zsh)
_clk_support_complete() {
  local -a cands
  cands=("\${(@f)$(clk-support __complete "--cur=\${words[CURRENT]}" "\${(@)words[2,CURRENT-1]}" 2>/dev/null)}")
  if [[ -n "\${cands[1]}" ]]; then compadd -- "\${cands[@]}"; else _files; fi
}
compdef _clk_support_complete clk-support
`;
    case 'fish':
      return `# clk-support completion for fish:
#   clk-support completion fish > ~/.config/fish/completions/clk-support.fish
function __clk_support_complete
    set -l prev (commandline -opc)
    clk-support __complete "--cur="(commandline -ct) $prev[2..-1] 2>/dev/null
end
complete -c clk-support -a '(__clk_support_complete)'
`;
    case 'powershell':
      return `# clk-support completion for PowerShell: add to $PROFILE
#   clk-support completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName clk-support, clk-support.exe, clk-support-win-x64.exe -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $prev = @($commandAst.CommandElements | Select-Object -Skip 1 | Where-Object { $_.Extent.EndOffset -lt $cursorPosition -or $_.ToString() -ne $wordToComplete } | ForEach-Object { $_.ToString() })
    & clk-support __complete "--cur=$wordToComplete" @prev 2>$null | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
`;
  }
}

export function registerCompletionCommand(program: Command, _app: App): void {
  examples(
    program
      .command('completion')
      .description('print a shell completion script (bash, zsh, fish, powershell): commands, options, server names and check ids')
      .argument('<shell>', SHELLS.join(' | '))
      .action(function (this: Command, shell: string) {
        if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`no completion for "${shell}": choose ${SHELLS.join(', ')}`);
        const out = _app.streams.stdout ?? process.stdout;
        out.write(completionScript(shell as Shell));
      }),
    [
      'source <(clk-support completion bash)        # bash, in ~/.bashrc',
      'source <(clk-support completion zsh)         # zsh, in ~/.zshrc',
      'clk-support completion fish > ~/.config/fish/completions/clk-support.fish',
      'clk-support completion powershell | Out-String | Invoke-Expression   # in $PROFILE',
    ],
  );
}

/** Values an option takes, by the command path and the option's long name. */
export interface ValueSources {
  servers: () => Promise<string[]>;
  checks: () => Promise<string[]>;
  checkGroups: () => Promise<string[]>;
  collectors: () => Promise<string[]>;
  namedFarms: () => Promise<string[]>;
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

function findOption(cmd: Command, word: string): Option | undefined {
  const name = word.split('=')[0]!;
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.options.find((x) => x.long === name || x.short === name);
    if (o) return o;
  }
  return undefined;
}

function visibleOptions(cmd: Command): string[] {
  const out = new Set<string>();
  for (let c: Command | null = cmd; c; c = c.parent) for (const o of c.options) if (o.long && !o.hidden) out.add(o.long);
  out.add('--help');
  return [...out];
}

/** The candidates for the word being typed, given the words before it. */
export async function completeWords(program: Command, previous: readonly string[], cur: string, values: ValueSources): Promise<string[]> {
  let cmd = program;
  let pending: Option | undefined; // an option whose value comes next (or, variadic, keeps coming)
  for (const w of previous) {
    if (pending && !pending.variadic) {
      pending = undefined;
      continue;
    }
    if (w.startsWith('-')) {
      const o = findOption(cmd, w);
      pending = o && takesValue(o) && !w.includes('=') ? o : undefined;
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (sub) {
      cmd = sub;
      pending = undefined;
    }
  }
  const path = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) path.unshift(c.name());
  const where = path.join(' ');
  let cands: string[] = [];
  if (pending && !cur.startsWith('-')) {
    const long = pending.long ?? '';
    if (long === '--server') cands = await values.servers();
    else if (long === '--farm') cands = await values.namedFarms();
    else if (where === 'check' && (long === '--only' || long === '--skip')) cands = [...(await values.checks()), ...(await values.checkGroups())];
    else if (where === 'check' && long === '--group') cands = await values.checkGroups();
    else if (where === 'collect' && (long === '--only' || long === '--skip')) cands = await values.collectors();
    else if (pending.argChoices) cands = pending.argChoices;
    if (cands.length || !pending.variadic) return cands.filter((c) => c.startsWith(cur));
  }
  if (cur.startsWith('-')) return visibleOptions(cmd).filter((o) => o.startsWith(cur));
  if (where === 'completion') return SHELLS.filter((s) => s.startsWith(cur));
  cands = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => c.name());
  return cands.filter((c) => c.startsWith(cur));
}

/** `__complete --cur=WORD PREVIOUS...`: candidates one per line; never an error on stderr. */
export async function runCompletion(program: Command, args: readonly string[], app: App): Promise<void> {
  const curArg = args.find((a) => a.startsWith('--cur='));
  const cur = curArg ? curArg.slice('--cur='.length) : '';
  const previous = args.filter((a) => a !== curArg);
  const farmFlag = (() => {
    const i = previous.findIndex((w) => w === '--farm' || w.startsWith('--farm='));
    if (i < 0) return undefined;
    return previous[i]!.includes('=') ? previous[i]!.split('=')[1] : previous[i + 1];
  })();
  const quietly = async <T>(f: () => Promise<T[]>): Promise<T[]> => f().catch(() => [] as T[]);
  const values: ValueSources = {
    servers: () =>
      quietly(async () => {
        const { loadFarm } = await import('../farm/load.js');
        return (await loadFarm(farmFlag, app.cwd, app.env)).servers.map((s) => s.name);
      }),
    checks: () => quietly(async () => (await import('../checks/catalog.js')).ALL_CHECKS.map((c) => c.id)),
    checkGroups: () => quietly(async () => [...new Set((await import('../checks/catalog.js')).ALL_CHECKS.map((c) => c.group))]),
    collectors: () => quietly(async () => (await import('../collect/collectors.js')).COLLECTORS.map((c) => c.id)),
    namedFarms: () =>
      quietly(async () => {
        const { userConfigDir, FARM_FILE_NAME } = await import('../farm/discover.js');
        const names = await readdir(userConfigDir(app.env));
        return names.filter((n) => n.endsWith(`.${FARM_FILE_NAME}`)).map((n) => n.slice(0, -(FARM_FILE_NAME.length + 1)));
      }),
  };
  const out = app.streams.stdout ?? process.stdout;
  const cands = await completeWords(program, previous, cur, values).catch(() => []);
  if (cands.length) out.write(`${cands.join('\n')}\n`);
}
