// Every check, in the order results are reported: this machine, the farm, each server, then the
// slower checks (logs, network, services, perf) last, as brew doctor does.
import type { CheckDef } from './types.js';
import { adminCheck, diskCheck, nodeVersionCheck, toolsCheck } from './defs/environment.js';
import { clockCheck, farmValidCheck, reachableCheck, versionsCheck } from './defs/farm.js';
import { eventLogChannelsCheck, logLocationsCheck, tracerActiveCheck } from './defs/logs.js';
import { endpointsCheck } from './defs/network.js';
import { servicesCheck } from './defs/services.js';
import { licenseChecks } from './defs/license.js';
import { perfChecks } from './defs/perf.js';

export const ALL_CHECKS: readonly CheckDef[] = [
  nodeVersionCheck,
  toolsCheck,
  farmValidCheck,
  adminCheck,
  reachableCheck,
  clockCheck,
  versionsCheck,
  ...licenseChecks,
  logLocationsCheck,
  tracerActiveCheck,
  eventLogChannelsCheck,
  diskCheck,
  endpointsCheck,
  servicesCheck,
  ...perfChecks,
];
