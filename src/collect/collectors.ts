// The collectors, in the order they run on each server (facts first: quick, and useful even when a
// log collector later times out).
import { UsageError } from '../errors.js';
import { configCollector } from './config.js';
import { eventLogsCollector } from './eventlogs.js';
import { factsCollector } from './facts.js';
import { perfmonCollector } from './perfmon.js';
import { tracerCollector } from './tracer.js';
import { COLLECTOR_IDS, type Collector, type CollectorId } from './types.js';

export * from './types.js';

export const COLLECTORS: readonly Collector[] = [factsCollector, eventLogsCollector, perfmonCollector, tracerCollector, configCollector];

/** The collectors --only/--skip leave, in run order; unknown ids are a usage error naming the valid ones. */
export function selectCollectors(only?: readonly string[], skip?: readonly string[]): Collector[] {
  const check = (ids: readonly string[] | undefined, flag: string) => {
    for (const id of ids ?? [])
      if (!(COLLECTOR_IDS as readonly string[]).includes(id))
        throw new UsageError(`${flag}: unknown collector "${id}"`, { hint: `collectors: ${COLLECTOR_IDS.join(', ')} (see collect --list)` });
  };
  check(only, '--only');
  check(skip, '--skip');
  const chosen = COLLECTORS.filter((c) => (!only || only.length === 0 || only.includes(c.id)) && !(skip ?? []).includes(c.id));
  if (chosen.length === 0) throw new UsageError('no collector left to run', { hint: '--only and --skip exclude every collector' });
  return chosen;
}

export function isCollectorId(id: string): id is CollectorId {
  return (COLLECTOR_IDS as readonly string[]).includes(id);
}
