// What `license apply` will do, shown before it asks (as terraform shows a plan): per server the
// license installed now, the one that replaces it, what is backed up first, and the servers the
// response does not cover. The same plan is printed by --check and carried in --json.
import type { ApplyReport, ApplyServerRow } from './apply.js';

export interface PlanRow {
  server: string;
  /** The license installed now: "none", "not genuine" (a file we cannot verify), or id #sequence. */
  current: string;
  currentValidUntil?: string;
  /** What the server will carry afterwards. */
  next: string;
  nextValidUntil?: string;
  change: 'install' | 'replace' | 'downgrade' | 'unchanged' | 'skip (unreachable)';
  backup: string;
}

export interface ApplyPlan {
  license: string;
  rows: PlanRow[];
  notCovered: string[];
}

function describeCurrent(row: ApplyServerRow): string {
  if (!row.previous) return row.reachable ? 'none' : '?';
  if (!row.previous.genuine) return 'not genuine';
  return `${row.previous.licenseId} #${row.previous.sequence}`;
}

export function applyPlan(report: ApplyReport): ApplyPlan {
  const l = report.license;
  const next = `${l.licenseId} #${l.sequence}`;
  const rows = report.servers.map((row): PlanRow => {
    const base = { server: row.server, current: describeCurrent(row), currentValidUntil: row.previous?.notAfter };
    if (!row.reachable || row.action === 'skipped-unreachable') return { ...base, next: base.current, change: 'skip (unreachable)', backup: '-' };
    if (row.action === 'unchanged') return { ...base, next, nextValidUntil: l.notAfter, change: 'unchanged', backup: '-' };
    const change = !row.previous ? 'install' : row.previous.sequence !== undefined && row.previous.sequence >= l.sequence ? 'downgrade' : 'replace';
    return {
      ...base,
      next,
      nextValidUntil: l.notAfter,
      change,
      backup: row.backupPath ?? (row.previous ? 'the current file, beside it, before writing' : 'nothing to back up'),
    };
  });
  return { license: `${next}, valid ${l.notBefore} .. ${l.notAfter}`, rows, notCovered: report.notCovered };
}
