// The time-window flags shared by every command that takes one (collect, incident prefill, evtx dump):
// the same names, the same help, one parser (src/logs/window.ts) and one stated time-zone rule.
import type { Command } from 'commander';
import type { Farm } from '../farm/load.js';
import { DEFAULT_ZONE, parseZone, resolveWindow, windowNotice, describeBound, type TimeWindow } from '../logs/window.js';

export interface WindowFlags {
  from?: string;
  to?: string;
  around?: string;
  span?: string;
  tz?: string;
}

export const ZONE_RULE =
  'Times without a zone (2026-11-20T09:30) are read in --tz, else the farm\'s settings.timeZone, else UTC; ' +
  'Z or an offset (+02:00) in the time always wins. Both ends of the window are inclusive, compared at 100 ns.';

/** Adds --from/--to/--around/--span/--tz; `defaults` says what an absent window means for this command. */
export function addWindowOptions(cmd: Command, defaults: { to: string; span: string }): Command {
  return cmd
    .option('--from <time>', 'window start, inclusive: ISO 8601 (2026-11-20T09:30Z), "now", or relative such as -2h')
    .option('--to <time>', `window end, inclusive (default: ${defaults.to})`)
    .option('--around <time>', 'window centred on this time (with --span, default 2h)')
    .option('--span <duration>', `window length, e.g. 2h, 90m (${defaults.span})`)
    .option('--tz <zone>', `zone of times typed without one: IANA name (Europe/Berlin), UTC or +02:00 (default: the farm's settings.timeZone, else ${DEFAULT_ZONE})`)
    .addHelpText('after', `\n${ZONE_RULE}`);
}

/** --tz, else the farm's settings.timeZone, else UTC. */
export function zoneFor(flags: WindowFlags, farm?: Pick<Farm, 'settings'>): string {
  if (flags.tz !== undefined) return parseZone(flags.tz, '--tz');
  const configured = (farm?.settings as { timeZone?: string } | undefined)?.timeZone;
  return configured ? parseZone(configured, 'settings.timeZone') : DEFAULT_ZONE;
}

export function windowFromFlags(flags: WindowFlags, zone: string, now?: Date): TimeWindow {
  return resolveWindow({ from: flags.from, to: flags.to, around: flags.around, span: flags.span, zone }, now);
}

/** The resolved window for --json output (UTC, 7 fraction digits when given that precisely). */
export function windowJson(w: TimeWindow): { from: string; to: string; inclusive: true; assumedZone?: string } {
  return { from: describeBound(w.from, w.fromSub), to: describeBound(w.to, w.toSub), inclusive: true, ...(w.assumedZone ? { assumedZone: w.assumedZone } : {}) };
}

export { windowNotice };
