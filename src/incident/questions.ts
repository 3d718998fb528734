// What only a person can tell SAP: the short description, the steps, and the business impact
// (the questions of SAP Note 1281633, one set for production and one for test/QA systems). The
// questions are data, so the prompts, the flags, the answers file and the "missing" errors agree.
import type { z } from 'zod';
import type { answersSchema } from './answers-schema.js';
import { MissingInputError, UsageError } from '../errors.js';

export type Environment = 'production' | 'test';
export type AnswerType = 'text' | 'yesno' | 'date';

export interface Question {
  id: keyof IncidentAnswers;
  flag: string;
  prompt: string;
  type: AnswerType;
  /** Which systems SAP asks this for. */
  appliesTo: Environment | 'both';
  required: boolean;
  help?: string;
  /** Several lines: asked in $EDITOR when set, else line by line. */
  long?: boolean;
}

export const QUESTIONS: readonly Question[] = [
  { id: 'shortDescription', flag: '--short-description', prompt: 'Short description (one line, the incident subject)', type: 'text', appliesTo: 'both', required: true },
  { id: 'steps', flag: '--steps', prompt: 'Steps to reproduce, and what you expected instead', type: 'text', appliesTo: 'both', required: true, long: true },
  { id: 'systemDown', flag: '--impact-system-down', prompt: 'Is the production system down?', type: 'yesno', appliesTo: 'production', required: true },
  { id: 'processes', flag: '--impact-processes', prompt: 'Which business processes are affected?', type: 'text', appliesTo: 'both', required: true },
  { id: 'usersAffected', flag: '--impact-users', prompt: 'How many users are affected, and how?', type: 'text', appliesTo: 'both', required: true, help: 'the logs show a count; say how they are affected' },
  { id: 'workaround', flag: '--impact-workaround', prompt: 'Is there a workaround, and how effective is it? ("none" if there is none)', type: 'text', appliesTo: 'both', required: true },
  { id: 'deadlines', flag: '--impact-deadlines', prompt: 'Upcoming deadlines, and what happens if they are missed?', type: 'text', appliesTo: 'both', required: true },
  { id: 'financialImpact', flag: '--impact-financial', prompt: 'Financial impact (quantified if possible)?', type: 'text', appliesTo: 'both', required: true },
  { id: 'gettingWorse', flag: '--impact-worse', prompt: 'Is the situation getting worse?', type: 'yesno', appliesTo: 'production', required: true },
  { id: 'goLiveDate', flag: '--impact-go-live', prompt: 'Planned go-live date (YYYY-MM-DD)?', type: 'date', appliesTo: 'test', required: true },
  { id: 'showstopper', flag: '--impact-showstopper', prompt: 'Is it a showstopper for the project?', type: 'yesno', appliesTo: 'test', required: true },
  { id: 'contactName', flag: '--contact-name', prompt: 'Contact person', type: 'text', appliesTo: 'both', required: false },
  { id: 'contactPhone', flag: '--contact-phone', prompt: 'Contact phone (with country code)', type: 'text', appliesTo: 'both', required: false },
  { id: 'contactEmail', flag: '--contact-email', prompt: 'Contact email', type: 'text', appliesTo: 'both', required: false },
];

export const PRIORITIES = ['low', 'medium', 'high', 'very-high'] as const;
export type Priority = (typeof PRIORITIES)[number];

export type IncidentAnswers = z.infer<typeof answersSchema>;

/** Parse answers from a file or flags; errors name the field and where it came from. */
export async function parseAnswers(raw: unknown, source: string): Promise<IncidentAnswers> {
  // zod is large: loaded when answers are parsed, not when the CLI starts.
  const { answersSchema } = await import('./answers-schema.js');
  const r = answersSchema.safeParse(raw);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}`;
    return `${i.path.join('.') || '(top level)'}: ${i.message}`;
  });
  throw new UsageError(`${source}: ${issues.join('; ')}`, {
    code: 'ANSWERS_INVALID',
    hint: `answer keys: ${QUESTIONS.map((q) => q.id).join(', ')}, priority, confirmVeryHigh`,
  });
}

export function questionsFor(env: Environment): Question[] {
  return QUESTIONS.filter((q) => q.appliesTo === 'both' || q.appliesTo === env);
}

/** Required questions still unanswered. */
export function missingAnswers(answers: IncidentAnswers, env: Environment): Question[] {
  return questionsFor(env).filter((q) => q.required && (answers[q.id] === undefined || answers[q.id] === ''));
}

/** "none", "no", "n/a" and the like mean there is no workaround. */
export function hasWorkaround(workaround: string | undefined): boolean | undefined {
  if (workaround === undefined) return undefined;
  return !/^\s*(none|no|n\/a|na|nothing|-|no workaround.*)\s*\.?\s*$/i.test(workaround);
}

/** A non-interactive run without some required answers: names every missing flag. */
export class MissingAnswersError extends MissingInputError {
  constructor(missing: readonly Pick<Question, 'flag' | 'prompt'>[]) {
    super(`${missing.length} answer(s)`, missing.map((m) => m.flag).join(', '));
    this.message =
      `${missing.length} answer${missing.length === 1 ? ' is' : 's are'} missing in non-interactive mode:\n` +
      missing.map((m) => `  ${m.flag.padEnd(22)} ${m.prompt}`).join('\n');
  }
}
