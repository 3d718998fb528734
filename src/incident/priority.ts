// A suggested priority by SAP's definitions (SAP Note 67739), with the reasons shown to the admin.
// Very High is never suggested on its own: it needs an explicit confirmation that the Note's
// conditions hold (production down / go-live blocked / core processes seriously affected, no
// workaround) and a 24x7 contact, because SAP processes it around the clock.
import { hasWorkaround, type Environment, type IncidentAnswers, type Priority } from './questions.js';

export interface PrioritySuggestion {
  suggested: Priority;
  /** What would be suggested if Very High were confirmed. */
  eligibleForVeryHigh: boolean;
  reasons: string[];
  /** Why Very High was not taken although eligible, or what it still needs. */
  veryHighNeeds: string[];
}

export const PRIORITY_LABEL: Record<Priority, string> = { low: 'Low', medium: 'Medium', high: 'High', 'very-high': 'Very High' };

export function suggestPriority(env: Environment, a: IncidentAnswers, affectedUsers: number, today = new Date()): PrioritySuggestion {
  const reasons: string[] = [];
  const workaround = hasWorkaround(a.workaround);
  let base: Priority = 'medium';
  let eligible = false;

  if (env === 'production') {
    if (a.systemDown) {
      reasons.push('the production system is down');
      if (workaround === false) {
        eligible = true;
        reasons.push('there is no workaround');
      }
      base = 'high';
    } else if (workaround === false && (affectedUsers > 0 || a.gettingWorse)) {
      base = 'high';
      reasons.push(`production users cannot work (${affectedUsers} seen in error logs) and there is no workaround`);
    } else if (workaround === true) {
      base = 'medium';
      reasons.push('a workaround exists');
    } else if (workaround === false) {
      // No workaround but nobody seen failing and not spreading: a production problem, not yet a High one.
      reasons.push('production system, no user seen affected in the logs and not getting worse');
    }
    if (a.gettingWorse) reasons.push('the situation is getting worse');
  } else {
    const goLive = a.goLiveDate ? Date.parse(`${a.goLiveDate}T00:00:00Z`) : undefined;
    const daysToGoLive = goLive === undefined ? undefined : Math.ceil((goLive - today.getTime()) / 86_400_000);
    if (a.showstopper) {
      base = 'high';
      reasons.push('it is a showstopper for the project');
      if (workaround === false && daysToGoLive !== undefined && daysToGoLive >= 0 && daysToGoLive <= 14) {
        eligible = true;
        reasons.push(`go-live in ${daysToGoLive} day(s) cannot complete and there is no workaround`);
      }
    } else if (workaround === true) {
      base = 'low';
      reasons.push('a test system with a workaround');
    } else {
      base = 'medium';
      reasons.push('a test system, not a showstopper');
    }
  }

  const veryHighNeeds: string[] = [];
  if (eligible) {
    if (!a.confirmVeryHigh) veryHighNeeds.push('explicit confirmation (--confirm-very-high) that SAP Note 67739 conditions hold');
    if (!a.contactName || !a.contactPhone) veryHighNeeds.push('a 24x7 contact person with phone (--contact-name, --contact-phone)');
  }
  let suggested: Priority = eligible && veryHighNeeds.length === 0 ? 'very-high' : base;
  if (a.priority) {
    if (a.priority === 'very-high' && !(eligible && veryHighNeeds.length === 0)) {
      reasons.push('Very High was asked for, but its conditions are not confirmed: kept at ' + PRIORITY_LABEL[suggested]);
    } else {
      if (a.priority !== suggested) reasons.push(`set to ${PRIORITY_LABEL[a.priority]} by the admin (suggested ${PRIORITY_LABEL[suggested]})`);
      suggested = a.priority;
    }
  }
  return { suggested, eligibleForVeryHigh: eligible, reasons, veryHighNeeds };
}
