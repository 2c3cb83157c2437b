import { parseArgs, type ParseArgsConfig } from 'node:util';
import { O1Error } from '../errors.js';

/**
 * Parses a command-line integer, with a typed error naming the option.
 *
 * @example
 * parseInteger('1000', 'hits', 1) // 1000
 */
export function parseInteger(text: string, option: string, minimum = Number.MIN_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text)) throw new O1Error('BAD_ARGUMENT', `--${option} must be an integer, got '${text}'`, { field: option });
  const value = Number.parseInt(text, 10);
  if (value < minimum) throw new O1Error('BAD_ARGUMENT', `--${option} must be at least ${minimum}, got ${value}`, { field: option });
  return value;
}

/** The option table of a command, as `node:util` parseArgs takes it. */
export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseCommandLine} returns: typed `values` and the `positionals`. */
export type ParsedCommandLine<T extends OptionTable> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

/**
 * Parses a command's arguments strictly (unknown options are errors; positionals allowed) and
 * turns parse failures into a BAD_ARGUMENT O1Error that carries the command's usage text.
 *
 * @example
 * const { values, positionals } = parseCommandLine(argv, { out: { type: 'string' } }, USAGE)
 */
export function parseCommandLine<T extends OptionTable>(argv: string[], options: T, usage: string): ParsedCommandLine<T> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new O1Error('BAD_ARGUMENT', `${(error as Error).message}\n${usage}`, {}, { cause: error });
  }
}
