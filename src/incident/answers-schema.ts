// The schema of incident answers (file or flags), kept apart from the questions so that zod is
// loaded only when answers are parsed (see parseAnswers in questions.ts).
import { z } from 'zod';
import { PRIORITIES } from './questions.js';

const yesNo = z.union([z.boolean(), z.enum(['yes', 'no', 'true', 'false', 'y', 'n'])], { error: 'must be yes or no' }).transform((v) => (typeof v === 'boolean' ? v : v === 'yes' || v === 'true' || v === 'y'));
const text = z.string().trim().min(1, 'must not be empty');
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), 'is not a real date');

export const answersSchema = z.strictObject({
  shortDescription: text.max(160, 'must be at most 160 characters (the subject line)').optional(),
  steps: text.optional(),
  systemDown: yesNo.optional(),
  processes: text.optional(),
  usersAffected: text.optional(),
  workaround: text.optional(),
  deadlines: text.optional(),
  financialImpact: text.optional(),
  gettingWorse: yesNo.optional(),
  goLiveDate: date.optional(),
  showstopper: yesNo.optional(),
  contactName: text.optional(),
  contactPhone: text.optional(),
  contactEmail: z.string().trim().email('must be an email address').optional(),
  /** Override the suggested priority. */
  priority: z.enum(PRIORITIES).optional(),
  /** The explicit confirmation Very High needs (SAP Note 67739 conditions). */
  confirmVeryHigh: yesNo.optional(),
});
