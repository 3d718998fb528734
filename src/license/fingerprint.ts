// Does a server still look like the machine the license was issued for? At least minMatches of the
// components recorded in the grant must match the live ones (a VM move changes one, not all).
import type { FingerprintComponent } from '../farm/identity.js';
import type { CoveredServer } from './formats.js';

export interface FingerprintMatch {
  match: boolean;
  required: number;
  matched: string[];
  /** Recorded and readable now, but different. */
  differing: string[];
  /** Recorded, but not readable now. */
  missing: string[];
}

export function matchFingerprint(covered: CoveredServer, live: readonly FingerprintComponent[]): FingerprintMatch {
  const liveByKind = new Map(live.map((c) => [c.kind as string, c.hash.toLowerCase()]));
  const matched: string[] = [];
  const differing: string[] = [];
  const missing: string[] = [];
  for (const c of covered.components) {
    const now = liveByKind.get(c.kind);
    if (now === undefined) missing.push(c.kind);
    else if (now === c.hash.toLowerCase()) matched.push(c.kind);
    else differing.push(c.kind);
  }
  const required = Math.min(covered.minMatches, covered.components.length);
  return { match: matched.length >= required, required, matched, differing, missing };
}

/** What the admin should suspect, after the Sentinel clone/VM-move lessons. */
export function explainMismatch(m: FingerprintMatch): string {
  const parts = [`${m.matched.length} of ${m.required} required components match`];
  if (m.differing.length) parts.push(`differ: ${m.differing.join(', ')}`);
  if (m.missing.length) parts.push(`not readable now: ${m.missing.join(', ')}`);
  if (m.differing.includes('machine-id') && m.matched.includes('hostname')) parts.push('same host name on a different machine: re-installed, cloned or replaced');
  else if (m.differing.includes('hostname') && m.matched.includes('machine-id')) parts.push('the machine was renamed');
  return parts.join('; ');
}
