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
