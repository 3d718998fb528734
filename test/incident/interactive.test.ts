// The interactive flow under a real terminal: tmux gives the CLI a pseudo-terminal, we type the
// answers as a person would and read the screen. Skipped (with a message) where tmux is absent.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { BIN, DEMO_FARM, ROOT, hasTool } from './helpers.js';

const SOCKET = `clk-incident-${process.pid}`;
const SESSION = 'prefill';
const haveTmux = hasTool('tmux');
if (!haveTmux) console.warn('interactive incident test skipped: tmux is not installed');

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function screen(): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', SESSION);
}

async function waitFor(re: RegExp, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    last = screen();
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${re} on the screen:\n${last}`);
}

async function answer(prompt: RegExp, keys: string[]): Promise<void> {
  await waitFor(prompt);
  tmux('send-keys', '-t', SESSION, ...keys);
}

afterAll(() => {
  if (haveTmux) spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
});

describe.skipIf(!haveTmux)('incident prefill on a terminal', () => {
  it('asks only for what the farm cannot tell, confirms Very High explicitly, and prints the filled form', async () => {
    // CI must not be set in the pane, or the CLI would rightly refuse to prompt.
    const cmd = `cd ${JSON.stringify(ROOT)} && env -u CI -u EDITOR -u VISUAL NO_COLOR=1 ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} --farm ${JSON.stringify(DEMO_FARM)} incident prefill --from 2025-06-03T08:00:00Z --to 2025-06-03T12:00:00Z --server APP01; echo "EXIT=$?"; sleep 120`;
    tmux('new-session', '-d', '-s', SESSION, '-x', '200', '-y', '50', cmd);
    tmux('set-option', '-t', SESSION, 'history-limit', '5000');

    await waitFor(/From the farm: XX-PART-CLK, 7 user\(s\) seen in errors/, 30_000);
    await answer(/Short description/, ['Gantt requests time out', 'Enter']);
    await answer(/Steps to reproduce/, ['Move a task in the Gantt', 'Enter']);
    await answer(/2>/, ['Enter']); // a long answer: an empty line ends it
    await answer(/Is the production system down\?/, ['Enter']); // first choice: yes
    await answer(/Which business processes/, ['dispatching', 'Enter']);
    // The count from the logs is offered as the default.
    await answer(/How many users are affected, and how\?.*7 users \(seen in error logs\)/, ['Enter']);
    await answer(/Is there a workaround/, ['none', 'Enter']);
    await answer(/Upcoming deadlines/, ['today 16:00', 'Enter']);
    await answer(/Financial impact/, ['20k EUR per day', 'Enter']);
    await answer(/Is the situation getting worse\?/, ['Down', 'Enter']); // no
    await answer(/Confirm Very High/, ['Down', 'Enter']); // yes, Very High
    await answer(/Contact person/, ['A. Admin', 'Enter']);
    await answer(/Contact phone/, ['+49 30 1234567', 'Enter']);

    const out = await waitFor(/EXIT=\d+/, 30_000);
    expect(out).toMatch(/EXIT=0/);
    expect(out).toMatch(/Priority:\s+Very High/);
    expect(out).toMatch(/Short description:\s+Gantt requests time out/);
    expect(out).toContain('Is the production system down? yes');
    expect(out).toContain('Is the situation getting worse? no');
    expect(out).toContain('As reported: 7 users (seen in error logs)');
    expect(out).toContain('A. Admin, +49 30 1234567');
  }, 120_000);
});
