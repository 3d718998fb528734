// --out FILE and --save-answers for the texts that go into SAP's forms (incident prefill, speedup,
// escalate, service request): an interactive run can be kept, and answers typed once are reused
// with --answers by the follow-ups.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { App } from '../app.js';
import type { Io } from '../ui/io.js';
import { writeFileAtomic } from '../atomic-file.js';
import { QUESTIONS, type IncidentAnswers } from '../incident/questions.js';

export interface SaveOptions {
  out?: string;
  force?: boolean;
  saveAnswers?: string | boolean;
}

export function addSaveOptions(cmd: Command, answers = true): Command {
  cmd.option('-o, --out <file>', 'write the result to this file instead of stdout (complete or not at all)');
  cmd.option('--force', 'with --out: replace an existing file (kept as <file>.bak)');
  if (answers) cmd.option('--save-answers [file]', 'save the answers (flags, --answers and what you typed) as JSON for --answers next time (default: beside --out as <out>.answers.json, else ./incident-answers.json)');
  return cmd;
}

/** With --out, results are kept and written to the file once the command has succeeded. */
export function saveResults(app: App, io: Io, opts: SaveOptions): void {
  if (!opts.out) return;
  const file = resolve(app.cwd, opts.out);
  const take = io.captureResults();
  app.onFinish(async () => {
    const { backup } = await writeFileAtomic(file, take(), { replace: Boolean(opts.force), replaceFlag: '--force' });
    io.info(`wrote ${file}${backup ? ` (the previous file is kept as ${backup})` : ''}`);
  });
}

/** Only the answer keys (never the farm's findings), in the order of the questions. */
export function answersDocument(answers: IncidentAnswers): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const q of QUESTIONS) if (answers[q.id] !== undefined) doc[q.id] = answers[q.id];
  if (answers.confirmVeryHigh) doc.confirmVeryHigh = true;
  return doc;
}

export function saveAnswersLater(app: App, io: Io, opts: SaveOptions, answers: () => IncidentAnswers): void {
  if (!opts.saveAnswers) return;
  const file = resolve(app.cwd, typeof opts.saveAnswers === 'string' ? opts.saveAnswers : opts.out ? `${opts.out}.answers.json` : 'incident-answers.json');
  app.onFinish(async () => {
    await writeFileAtomic(file, `${JSON.stringify(answersDocument(answers()), null, 2)}\n`, { replace: true });
    io.info(`answers saved to ${file}: reuse them with --answers ${file}`);
  });
}
