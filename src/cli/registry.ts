import type { Command } from './command.js';
import { evalCommand } from './commands/eval.js';
import { trecEvalCommand } from './commands/trec-eval.js';
import { serveCommand } from './commands/serve.js';
import { synthCommand } from './commands/synth.js';

/** Every `o1e` verb. Adding a command: one file in `commands/`, one line here. */
export const COMMANDS: Command[] = [
  evalCommand,
  trecEvalCommand,
  serveCommand,
  synthCommand,
];
