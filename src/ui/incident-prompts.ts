// Asking a person, on a terminal, for what the farm cannot tell: the incident questions, and the
// explicit confirmation Very High needs. Built on Io's prompts, which refuse when not interactive.
import type { Io } from './io.js';
import type { IncidentAnswers, Question } from '../incident/questions.js';

const YES_NO = [
  { value: 'yes' as const, name: 'yes' },
  { value: 'no' as const, name: 'no' },
];

/** Ask each question in turn; yes/no questions are a choice (never answered by --yes). */
export async function askQuestions(io: Io, questions: readonly Question[], answers: IncidentAnswers, defaults: Partial<Record<keyof IncidentAnswers, string>> = {}): Promise<IncidentAnswers> {
  const out: IncidentAnswers = { ...answers };
  for (const q of questions) {
    if (q.type === 'yesno') {
      const v = await io.select(q.prompt, YES_NO, { flag: q.flag });
      (out as Record<string, unknown>)[q.id] = v === 'yes';
      continue;
    }
    for (;;) {
      const raw = q.long ? await io.longText(q.prompt, { flag: q.flag, default: defaults[q.id] }) : await io.input(q.prompt, { flag: q.flag, default: defaults[q.id], required: q.required });
      const v = raw.trim();
      if (!v && q.required) {
        io.warn('an answer is needed here');
        continue;
      }
      if (!v && !q.required) break;
      if (q.type === 'date' && (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)))) {
        io.warn(`"${v}" is not a date: type it as YYYY-MM-DD`);
        continue;
      }
      if (q.id === 'shortDescription' && v.length > 160) {
        io.warn(`the short description is the subject line: at most 160 characters (this one has ${v.length})`);
        continue;
      }
      (out as Record<string, unknown>)[q.id] = v;
      break;
    }
  }
  return out;
}

/** Very High is processed around the clock: ask for the explicit confirmation of SAP Note 67739's conditions. */
export async function confirmVeryHigh(io: Io, reasons: readonly string[]): Promise<boolean> {
  io.info(io.c.bold('This incident may qualify for priority Very High:'));
  for (const r of reasons) io.info(`  - ${r}`);
  io.info('SAP processes Very High around the clock and needs: remote access, a 24x7 contact, details in English.');
  const v = await io.select(
    'Confirm Very High (production down / go-live blocked / core processes seriously affected, and no workaround)?',
    [
      { value: 'no' as const, name: 'no, keep High' },
      { value: 'yes' as const, name: 'yes, Very High' },
    ],
    { flag: '--confirm-very-high' },
  );
  return v === 'yes';
}
