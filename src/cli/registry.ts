import type { Command } from './command.js';

/** Every `o1e` verb. Adding a command: one file in `commands/`, one line here. */
export const COMMANDS: Command[] = [];
