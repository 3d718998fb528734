// The requests that follow an incident, as text for SAP's Customer Interaction Center (CIC):
// a speed-up (priority change, processor assignment, progress feedback) and a formal escalation of
// a critical issue. SAP asks for the business impact in both; an escalation also needs the incident
// at High or Very High first and a contact with availability (SAP escalation procedure, Note 90835;
// CIC numbers in SAP Note 560499).
import type { Farm } from '../farm/load.js';
import { UsageError } from '../errors.js';
import { PRIORITIES, questionsFor, type Environment, type IncidentAnswers, type Priority, type Question } from './questions.js';
import { PRIORITY_LABEL } from './priority.js';

export const FOLLOWUP_SCHEMA = 'clk-support/incident-followup/v1';
export const SPEEDUP_REQUESTS = ['priority', 'processor', 'feedback'] as const;
export type SpeedupRequest = (typeof SPEEDUP_REQUESTS)[number];

const REQUEST_LABEL: Record<SpeedupRequest, string> = {
  priority: 'change of priority',
  processor: 'assignment of a processor',
  feedback: 'feedback on progress',
};

/** "123456/2025" or "002075129500001234562025": what the launchpad shows as the incident number. */
export function checkIncidentNumber(id: string | undefined): string {
  const v = (id ?? '').trim();
  if (!/^\d{3,10}\s*\/\s*\d{4}$/.test(v) && !/^\d{10,24}$/.test(v))
    throw new UsageError(`--incident: "${v}" is not an SAP incident number`, { hint: 'give it as shown in the launchpad, e.g. 123456/2025' });
  return v.replace(/\s+/g, '');
}

/** The business-impact questions (not the description) that SAP asks for with a speed-up or escalation. */
export function impactQuestions(env: Environment): Question[] {
  return questionsFor(env).filter((q) => !['shortDescription', 'steps', 'contactName', 'contactPhone', 'contactEmail'].includes(q.id));
}

export function followupMissing(kind: 'speedup' | 'escalate', env: Environment, a: IncidentAnswers): Question[] {
  const need = impactQuestions(env).filter((q) => q.required);
  if (kind === 'escalate') need.push(...questionsFor(env).filter((q) => q.id === 'contactName' || q.id === 'contactPhone'));
  return need.filter((q) => a[q.id] === undefined || a[q.id] === '');
}

export interface FollowUp {
  schema: typeof FOLLOWUP_SCHEMA;
  kind: 'speedup' | 'escalate';
  incident: string;
  request?: SpeedupRequest;
  newPriority?: Priority;
  currentPriority?: Priority;
  farm: { customerNumber: string; installationNumber: string; systemId: string; environment: Environment; product: string };
  impact: { question: string; answer: string }[];
  contact: { name?: string; phone?: string; email?: string; availability?: string };
  text: string;
}

function impactLines(env: Environment, a: IncidentAnswers): { question: string; answer: string }[] {
  return impactQuestions(env).map((q) => {
    const v = a[q.id];
    return { question: q.prompt.replace(/ \(.*\)$/, ''), answer: v === undefined ? '(not answered)' : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v) };
  });
}

function header(farm: Farm, title: string, incident: string): string[] {
  return [
    title,
    '',
    `Incident:            ${incident}`,
    `Customer number:     ${farm.farm.customerNumber}`,
    `Installation number: ${farm.farm.installationNumber}`,
    `System ID:           ${farm.farm.systemId} (${farm.farm.environment})`,
    `Product:             ${farm.farm.product}`,
  ];
}

export interface SpeedupOptions {
  incident: string;
  request: SpeedupRequest;
  newPriority?: Priority;
  currentPriority?: Priority;
  answers: IncidentAnswers;
  availability?: string;
}

/** A speed-up asks for a higher priority: the same or a lower one is no change to ask SAP for. */
export function checkPriorityRaise(current: Priority | undefined, next: Priority | undefined): void {
  if (!current || !next) return;
  const rank = (p: Priority) => PRIORITIES.indexOf(p);
  if (rank(next) <= rank(current))
    throw new UsageError(
      `--new-priority ${next} is ${rank(next) === rank(current) ? 'the priority the incident already has' : `lower than its current priority (${current})`}: a speed-up asks for a higher priority`,
      {
        code: 'PRIORITY_NOT_HIGHER',
        hint: rank(current) < PRIORITIES.length - 1 ? `ask for ${PRIORITIES.slice(rank(current) + 1).join(' or ')}, or use --request processor / feedback` : 'the incident is already Very High: use --request processor or feedback, or incident escalate',
      },
    );
}

export function buildSpeedup(farm: Farm, o: SpeedupOptions): FollowUp {
  const incident = checkIncidentNumber(o.incident);
  if (o.request === 'priority' && !o.newPriority)
    throw new UsageError('a priority change needs the priority asked for', { hint: 'pass --new-priority high (or very-high, medium, low)' });
  if (o.request === 'priority') checkPriorityRaise(o.currentPriority, o.newPriority);
  if (o.request === 'priority' && o.newPriority === 'very-high' && !o.answers.confirmVeryHigh)
    throw new UsageError('Very High needs explicit confirmation that SAP Note 67739 conditions hold (production down, go-live blocked or core processes seriously affected, no workaround)', {
      hint: 'pass --confirm-very-high if they hold, or ask for High',
    });
  const env = farm.farm.environment;
  const a = o.answers;
  const lines = header(farm, `Speed-up request for SAP incident ${incident}: ${REQUEST_LABEL[o.request]}`, incident);
  lines.push(`Request:             ${REQUEST_LABEL[o.request]}${o.request === 'priority' ? ` from ${o.currentPriority ? PRIORITY_LABEL[o.currentPriority] : 'the current priority'} to ${PRIORITY_LABEL[o.newPriority!]}` : ''}`);
  lines.push('', 'Business impact (SAP Note 1281633):');
  const impact = impactLines(env, a);
  for (const i of impact) lines.push(`  ${i.question} ${i.answer}`);
  lines.push('', `Contact: ${[a.contactName, a.contactPhone, a.contactEmail].filter(Boolean).join(', ') || '(as in the incident)'}${o.availability ? `, available ${o.availability}` : ''}`);
  lines.push('', 'Send this as a reply in the incident, or give it to the Customer Interaction Center (numbers in SAP Note 560499).');
  return {
    schema: FOLLOWUP_SCHEMA,
    kind: 'speedup',
    incident,
    request: o.request,
    newPriority: o.newPriority,
    currentPriority: o.currentPriority,
    farm: { ...farm.farm },
    impact,
    contact: { name: a.contactName, phone: a.contactPhone, email: a.contactEmail, availability: o.availability },
    text: `${lines.join('\n')}\n`,
  };
}

export interface EscalateOptions {
  incident: string;
  currentPriority: Priority;
  answers: IncidentAnswers;
  availability?: string;
  /** Why the normal process is not enough (what has happened so far). */
  reason?: string;
}

export function buildEscalation(farm: Farm, o: EscalateOptions): FollowUp {
  const incident = checkIncidentNumber(o.incident);
  if (o.currentPriority !== 'high' && o.currentPriority !== 'very-high')
    throw new UsageError(`an escalation is for critical incidents: ${incident} is at ${PRIORITY_LABEL[o.currentPriority]}`, {
      code: 'ESCALATION_PRIORITY',
      hint: `raise it to High first: clk-support incident speedup --incident ${incident} --request priority --new-priority high ...`,
    });
  const env = farm.farm.environment;
  const a = o.answers;
  const lines = header(farm, `Escalation request for SAP incident ${incident} (critical business situation)`, incident);
  lines.push(`Current priority:    ${PRIORITY_LABEL[o.currentPriority]}`);
  if (o.reason) lines.push(`Why escalate:        ${o.reason}`);
  lines.push('', 'Business impact (SAP Note 1281633):');
  const impact = impactLines(env, a);
  for (const i of impact) lines.push(`  ${i.question} ${i.answer}`);
  lines.push('', `Contact: ${[a.contactName, a.contactPhone, a.contactEmail].filter(Boolean).join(', ')}${o.availability ? `, available ${o.availability}` : ''}`);
  lines.push('', 'Call the Customer Interaction Center (numbers in SAP Note 560499) and ask for the escalation; keep this text at hand.');
  return {
    schema: FOLLOWUP_SCHEMA,
    kind: 'escalate',
    incident,
    currentPriority: o.currentPriority,
    farm: { ...farm.farm },
    impact,
    contact: { name: a.contactName, phone: a.contactPhone, email: a.contactEmail, availability: o.availability },
    text: `${lines.join('\n')}\n`,
  };
}
