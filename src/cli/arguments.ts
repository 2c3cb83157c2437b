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

/**
 * Parses a command-line number (finite; `minimum` inclusive), with a typed error naming the
 * option; undefined stays undefined, for options without a default.
 *
 * @example
 * parseNumber('0.7', 'temperature', 0) // 0.7
 * parseNumber(values['top-p'], 'top-p') // number | undefined
 */
export function parseNumber(text: string, option: string, minimum?: number): number;
export function parseNumber(text: string | undefined, option: string, minimum?: number): number | undefined;
export function parseNumber(text: string | undefined, option: string, minimum = -Infinity): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new O1Error('BAD_ARGUMENT', `--${option} must be a number, got '${text}'`, { field: option });
  if (value < minimum) throw new O1Error('BAD_ARGUMENT', `--${option} must be at least ${minimum}, got ${value}`, { field: option });
  return value;
}

/**
 * Refuses positional arguments, for commands that take options only (`hint` is appended to the
 * message, e.g. where the text should go instead).
 *
 * @example
 * rejectPositionals(positionals, ' (the prompt goes in --prompt)')
 */
export function rejectPositionals(positionals: readonly string[], hint = ''): void {
  if (positionals.length > 0) throw new O1Error('BAD_ARGUMENT', `unexpected argument '${positionals[0]}'${hint}`);
}

/**
 * The synopsis of a usage text: its lines up to the first blank one (`usage: o1e VERB ...` and
 * its continuation lines), for error messages that should not repeat every option.
 *
 * @example
 * usageSynopsis('usage: o1e train --config FILE\n\nTrains.\n') // 'usage: o1e train --config FILE'
 */
export function usageSynopsis(usage: string): string {
  const lines = usage.split('\n');
  const end = lines.findIndex((line) => line.trim() === '');
  return lines.slice(0, end === -1 ? lines.length : end).join('\n');
}

/** The option table of a command, as `node:util` parseArgs takes it. */
export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseCommandLine} returns: typed `values` and the `positionals`. */
export type ParsedCommandLine<T extends OptionTable> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

/**
 * Parses a command's arguments strictly (unknown options are errors; positionals allowed) and
 * turns parse failures into a BAD_ARGUMENT O1Error that carries the command's usage text (which
 * `o1e`'s main prints once, as a synopsis, after the one-line error). Every command parses
 * through this, so an unknown option is never a TypeError with a stack.
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
