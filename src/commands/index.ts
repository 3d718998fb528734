// Every command group registers itself here; src/cli.ts wires them to the program.
import type { Command } from 'commander';
import type { App } from '../app.js';
import { registerFarmCommands } from './farm.js';
import { registerBundleCommands } from './bundle.js';
import { registerCollectCommand } from './collect.js';
import { registerLicenseCommands } from './license.js';
import { registerCheckCommand } from './check.js';
import { registerIncidentCommands } from './incident.js';
import { registerEvtxCommands } from './evtx.js';
import { registerCompletionCommand } from './completion.js';

export type Register = (program: Command, app: App) => void;

export const registrations: Register[] = [
  registerFarmCommands,
  registerBundleCommands,
  registerCollectCommand,
  registerLicenseCommands,
  registerCheckCommand,
  registerIncidentCommands,
  registerEvtxCommands,
  registerCompletionCommand,
];
