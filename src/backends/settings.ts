/**
 * Reading backend configs: typed accessors that fail with O1Error BAD_ARGUMENT naming the
 * field, and a loader for `--thinker CONFIG` arguments (a JSON file or inline JSON).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { O1Error } from '../errors.js';

/**
 * Reads a config given on the command line: inline JSON when it starts with `{`, else a JSON file.
 *
 * @example
 * await loadJsonConfig('{"backend":"openai","baseUrl":"http://127.0.0.1:8080/v1","model":"m"}', 'thinker')
 */
export async function loadJsonConfig(argument: string, option: string): Promise<Record<string, unknown>> {
  const inline = argument.trimStart().startsWith('{');
  if (!inline && !existsSync(argument)) throw new O1Error('MISSING_FILE', `--${option}: config file does not exist`, { file: argument });
  const text = inline ? argument : await readFile(argument, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new O1Error('MALFORMED_JSON', `--${option}: ${(error as Error).message}`, inline ? { field: option } : { file: argument }, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new O1Error('BAD_ARGUMENT', `--${option} must be a JSON object`, inline ? { field: option } : { file: argument });
  }
  return value as Record<string, unknown>;
}

/** Typed, validated access to one config object; `context` (e.g. `openai thinker`) prefixes messages. */
export class Settings {
  private readonly seen = new Set<string>(['backend']);
  private readonly values: Record<string, unknown>;

  constructor(values: object, private readonly context: string) {
    this.values = values as Record<string, unknown>;
  }

  string(key: string, fallback?: string): string {
    const value = this.take(key);
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || value.length === 0) throw this.error(key, 'a non-empty string');
    return value;
  }

  optionalString(key: string): string | undefined {
    const value = this.take(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.error(key, 'a string');
    return value;
  }

  number(key: string, fallback: number, minimum = Number.NEGATIVE_INFINITY): number {
    const value = this.take(key) ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum) throw this.error(key, `a number >= ${minimum}`);
    return value;
  }

  integer(key: string, fallback: number, minimum = 0): number {
    const value = this.number(key, fallback, minimum);
    if (!Number.isInteger(value)) throw this.error(key, `an integer >= ${minimum}`);
    return value;
  }

  optionalInteger(key: string, minimum = 0): number | undefined {
    return this.values[key] === undefined ? (this.seen.add(key), undefined) : this.integer(key, 0, minimum);
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.take(key) ?? fallback;
    if (typeof value !== 'boolean') throw this.error(key, 'true or false');
    return value;
  }

  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const value = this.take(key) ?? fallback;
    if (typeof value !== 'string' || !choices.includes(value as T)) throw this.error(key, `one of ${choices.join(', ')}`);
    return value as T;
  }

  /** Fails on keys nobody read, so typos in configs do not pass silently. */
  rejectUnknown(): void {
    const unknown = Object.keys(this.values).filter((key) => !this.seen.has(key));
    if (unknown.length > 0) throw new O1Error('BAD_ARGUMENT', `${this.context}: unknown setting(s): ${unknown.join(', ')}`, { field: unknown[0] });
  }

  private take(key: string): unknown {
    this.seen.add(key);
    return this.values[key];
  }

  private error(key: string, expected: string): O1Error {
    return new O1Error('BAD_ARGUMENT', `${this.context}: '${key}' must be ${expected}, got ${JSON.stringify(this.values[key])}`, { field: key });
  }
}
