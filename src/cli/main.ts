import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { O1Error } from '../errors.js';
import { usageSynopsis } from './arguments.js';
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
    if (isUsageError(error)) {
      // A user's mistake on the command line: the error on one line, then the synopsis, no stack.
      const message = (error as Error).message.split(command.usage).join('').trim();
      process.stderr.write(`o1e ${verb}: BAD_ARGUMENT: ${message}\n${usageSynopsis(command.usage)}\nRun 'o1e ${verb} --help' for all options.\n`);
      return 2;
    }
    if (error instanceof O1Error) {
      process.stderr.write(`o1e ${verb}: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/**
 * BAD_ARGUMENT, or node:util parseArgs's own TypeError (code ERR_PARSE_ARGS_*) from a command
 * that calls it directly instead of {@link parseCommandLine}: both are usage errors.
 */
function isUsageError(error: unknown): boolean {
  if (error instanceof O1Error) return error.code === 'BAD_ARGUMENT';
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function globalUsage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `usage: o1e COMMAND [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'o1e COMMAND --help' for a command's options.\n`;
}

// Runs when this file is the process's entry (`tsx src/cli/main.ts`, `node dist/cli/main.js`, the
// tests' `node --import tsx src/cli/main.ts`), never when imported (bin/o1e.js, `o1-embedder/cli`):
// comparing real paths, not a file-name pattern, so a consumer's own main.js importing us stays inert.
if (isProcessEntry(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error: unknown) => { console.error(error); process.exitCode = 1; },
  );
}

function isProcessEntry(entry: string | undefined): boolean {
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
