import type { Command } from './command.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/eval.js';
import { trecEvalCommand } from './commands/trec-eval.js';
import { serveCommand } from './commands/serve.js';
import { synthCommand } from './commands/synth.js';
import { convertCommand } from './commands/convert.js';
import { generateCommand } from './commands/generate.js';
import { embedCommand } from './commands/embed.js';
import { trainCommand } from './commands/train.js';
import { reportCommand } from './commands/report.js';
import { indexCommand } from './commands/index.js';
import { searchCommand } from './commands/search.js';

/** Every `o1e` verb. Adding a command: one file in `commands/`, one line here. */
export const COMMANDS: Command[] = [
  demoCommand,
  evalCommand,
  trecEvalCommand,
  serveCommand,
  synthCommand,
  convertCommand,
  generateCommand,
  embedCommand,
  trainCommand,
  reportCommand,
  indexCommand,
  searchCommand,
];
