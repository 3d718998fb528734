// Every command group registers itself here; src/cli.ts wires them to the program.
import type { Command } from 'commander';
import type { App } from '../app.js';
import { registerFarmCommands } from './farm.js';

export type Register = (program: Command, app: App) => void;

export const registrations: Register[] = [
  registerFarmCommands,
];
