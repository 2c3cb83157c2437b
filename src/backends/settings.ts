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

/** Where a {@link Settings} object sits, for error locations (all optional). */
export interface SettingsLocation {
  /** The config file, named in every error (e.g. a training config). */
  file?: string;
  /** Dotted path of this object inside the file, e.g. `optimizer.`; prefixed to field names. */
  path?: string;
  /** Keys that count as read from the start. Default `['backend']`, which the registries read. */
  known?: readonly string[];
}

/** Bounds of a number read by {@link Settings.numberInRange} (all optional). */
export interface NumberRange {
  minimum?: number;
  /** The minimum itself is refused (e.g. a learning rate > 0). */
  exclusiveMinimum?: boolean;
  maximum?: number;
  integer?: boolean;
}

/** "an integer >= 1", "a number > 0", "a number in [0, 1]": what a range accepts, for messages. */
function describeRange(range: NumberRange): string {
  const kind = range.integer === true ? 'an integer' : 'a number';
  const { minimum, maximum } = range;
  const low = range.exclusiveMinimum === true ? '(' : '[';
  if (minimum !== undefined && maximum !== undefined) return `${kind} in ${low}${minimum}, ${maximum}]`;
  if (minimum !== undefined) return `${kind} ${range.exclusiveMinimum === true ? '>' : '>='} ${minimum}`;
  if (maximum !== undefined) return `${kind} <= ${maximum}`;
  return kind;
}

function inRange(value: unknown, range: NumberRange): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (range.integer === true && !Number.isInteger(value)) return false;
  if (range.minimum !== undefined && (range.exclusiveMinimum === true ? value <= range.minimum : value < range.minimum)) return false;
  return range.maximum === undefined || value <= range.maximum;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Typed, validated access to one config object; `context` (e.g. `openai thinker`) prefixes
 * messages, and `location` (a file, the object's dotted path in it) goes into every error. Read
 * each key through an accessor, then call {@link rejectUnknown}; nested objects and arrays of
 * objects get their own Settings through {@link section} and {@link sections}.
 *
 * @example
 * const settings = new Settings(json, 'training config', { file: 'train.json', known: [] });
 * const optimizer = settings.section('optimizer');
 * const learningRate = optimizer.numberInRange('learningRate', 1e-4, { minimum: 0, exclusiveMinimum: true });
 * optimizer.rejectUnknown();
 * settings.rejectUnknown();
 */
export class Settings {
  private readonly seen = new Set<string>();
  private readonly values: Record<string, unknown>;

  constructor(values: object, private readonly context: string, private readonly location: SettingsLocation = {}) {
    this.values = values as Record<string, unknown>;
    for (const key of location.known ?? ['backend']) this.seen.add(key);
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

  /** A list of finite numbers, or undefined when absent. */
  optionalNumbers(key: string): number[] | undefined {
    const value = this.take(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'number' && Number.isFinite(item))) throw this.error(key, 'a list of numbers');
    return [...value] as number[];
  }

  /** A plain JSON object (not an array), or undefined when absent. */
  optionalObject(key: string): Record<string, unknown> | undefined {
    const value = this.take(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.error(key, 'a JSON object');
    return value as Record<string, unknown>;
  }

  /**
   * A number checked against `range` (integer, minimum, exclusive minimum, maximum), `fallback`
   * when absent or null.
   *
   * @example
   * settings.numberInRange('thoughtDropout', 0.1, { minimum: 0, maximum: 1 })
   */
  numberInRange(key: string, fallback: number, range: NumberRange = {}): number {
    const value = this.take(key) ?? fallback;
    if (!inRange(value, range)) throw this.error(key, describeRange(range));
    return value;
  }

  /**
   * A number checked against `range`, or undefined when absent or null.
   *
   * @example
   * settings.optionalNumber('maxSteps', { integer: true, minimum: 1 })
   */
  optionalNumber(key: string, range: NumberRange = {}): number | undefined {
    const value = this.take(key);
    if (value === undefined || value === null) return undefined;
    if (!inRange(value, range)) throw this.error(key, describeRange(range));
    return value;
  }

  /**
   * A list of numbers each checked against `range`; `fallback` when absent or null.
   *
   * @example
   * settings.numbers('lengthBuckets', [16, 32], { integer: true, minimum: 1 })
   */
  numbers(key: string, fallback: readonly number[], range: NumberRange = {}): number[] {
    const value = this.take(key) ?? fallback;
    if (!Array.isArray(value) || !value.every((item) => inRange(item, range))) throw this.error(key, `a list of numbers, each ${describeRange(range)}`);
    return [...value] as number[];
  }

  /**
   * A list of non-empty strings; `fallback` when absent or null. With `single`, one string
   * stands for a list of one (`"a.jsonl"` = `["a.jsonl"]`).
   *
   * @example
   * settings.strings('records', [], { single: true })
   */
  strings(key: string, fallback: readonly string[] = [], options: { single?: boolean } = {}): string[] {
    let value = this.take(key) ?? fallback;
    if (options.single === true && typeof value === 'string') value = [value];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
      throw this.error(key, options.single === true ? 'a non-empty string or a list of them' : 'a list of non-empty strings');
    }
    return [...value] as string[];
  }

  /** Whether `key` is present and not null (does not mark it read). */
  has(key: string): boolean {
    return this.values[key] !== undefined && this.values[key] !== null;
  }

  /**
   * The nested object at `key` as its own Settings (an empty one when absent or null), whose
   * errors name `key.field`; call its {@link rejectUnknown} too.
   *
   * @example
   * const schedule = settings.section('schedule')
   */
  section(key: string): Settings {
    const value = this.take(key) ?? {};
    if (!isPlainObject(value)) throw this.error(key, 'a JSON object');
    return new Settings(value, this.context, { file: this.location.file, path: `${this.fieldName(key)}.`, known: [] });
  }

  /**
   * The array of objects at `key`, each as its own Settings whose errors name `key[i].field`;
   * an empty list when absent or null.
   *
   * @example
   * const members = settings.sections('members')
   */
  sections(key: string): Settings[] {
    const value = this.take(key) ?? [];
    if (!Array.isArray(value) || !value.every(isPlainObject)) throw this.error(key, 'a list of JSON objects');
    return value.map((item, index) => new Settings(item, this.context, { file: this.location.file, path: `${this.fieldName(key)}[${index}].`, known: [] }));
  }

  /**
   * Throws the standard BAD_ARGUMENT for `key` ("'key' must be EXPECTED, got VALUE"), for checks
   * the accessors do not make (cross-field rules, membership in a table).
   *
   * @example
   * if (hiddenSize % heads !== 0) init.reject('numAttentionHeads', `a divisor of hiddenSize (${hiddenSize})`)
   */
  reject(key: string, expected: string): never {
    throw this.error(key, expected);
  }

  /**
   * Declares every key this object may have and fails now on any other: for configs where a
   * later error (a required field "missing") would otherwise hide the typo that caused it.
   *
   * @example
   * settings.allowOnly(['path', 'init', 'tokenizer'])
   */
  allowOnly(keys: readonly string[]): void {
    for (const key of keys) this.seen.add(key);
    this.rejectUnknown();
  }

  /** Fails on keys nobody read, so typos in configs do not pass silently. */
  rejectUnknown(): void {
    const unknown = Object.keys(this.values).filter((key) => !this.seen.has(key));
    if (unknown.length > 0) {
      // Listing the keys that were read tells the user what the likely intended spelling is.
      const known = [...this.seen].sort().join(', ');
      throw new O1Error('BAD_ARGUMENT', `${this.context}: unknown setting(s): ${unknown.map((key) => this.fieldName(key)).join(', ')} (known: ${known})`, this.where(unknown[0]));
    }
  }

  /** `key` with this object's path in the file, e.g. `optimizer.learningRate`. */
  private fieldName(key: string): string {
    return `${this.location.path ?? ''}${key}`;
  }

  /** The error location of `key`: the field's full name, and the file when there is one. */
  private where(key: string): { file?: string; field: string } {
    const field = this.fieldName(key);
    return this.location.file === undefined ? { field } : { file: this.location.file, field };
  }

  /** Marks `key` as read (a caller validates it itself) and returns its raw value. */
  take(key: string): unknown {
    this.seen.add(key);
    return this.values[key];
  }

  private error(key: string, expected: string): O1Error {
    return new O1Error('BAD_ARGUMENT', `${this.context}: '${this.fieldName(key)}' must be ${expected}, got ${JSON.stringify(this.values[key])}`, this.where(key));
  }
}
