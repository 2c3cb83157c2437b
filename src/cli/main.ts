import { O1Error } from '../errors.js';
import type { Command } from './command.js';
import { COMMANDS } from './registry.js';

/**
 * Entry point of the `o1e` CLI.
 *
 * @example
 * // o1e eval --data ../shared/datasets/scifact --split test --retriever bm25 --json
 */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(globalUsage());
    return verb === undefined ? 1 : 0;
  }
  const command: Command | undefined = COMMANDS.find((candidate) => candidate.name === verb);
  if (command === undefined) {
    process.stderr.write(`o1e: unknown command '${verb}'\n\n${globalUsage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof O1Error) {
      process.stderr.write(`o1e ${verb}: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function globalUsage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `usage: o1e COMMAND [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'o1e COMMAND --help' for a command's options.\n`;
}

const invokedDirectly = process.argv[1] !== undefined && /main\.[cm]?[jt]s$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error: unknown) => { console.error(error); process.exitCode = 1; },
  );
}
