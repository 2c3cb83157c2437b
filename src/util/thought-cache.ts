/**
 * A cache of generated thoughts, so re-running an evaluation does not regenerate them. Keyed by
 * everything that decides the thoughts: the model's identity (path + size + mtime, or a hash),
 * the query text, the number of thoughts and the sampling settings with their seed. In memory,
 * optionally backed by a JSONL file that is appended to (one whole line per entry, one write per
 * batch) and repaired atomically on open if a crash left a torn last line.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { O1Error } from '../errors.js';
import { readAppendedJsonl } from './jsonl-log.js';

/** What decides a query's thoughts. */
export interface ThoughtKey {
  /** Model identity (see `modelIdentity`). */
  model: string;
  query: string;
  /** Thoughts per query. */
  thoughts: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
}

/** One line of the cache file. */
interface ThoughtLine {
  key: ThoughtKey;
  thoughts: string[];
}

function keyString(key: ThoughtKey): string {
  return JSON.stringify([key.model, key.query, key.thoughts, key.temperature, key.topP, key.maxNewTokens, key.seed]);
}

function isLine(value: unknown): value is ThoughtLine {
  const line = value as ThoughtLine | null;
  return typeof line === 'object' && line !== null && typeof line.key === 'object' && line.key !== null && typeof line.key.query === 'string' &&
    Array.isArray(line.thoughts) && line.thoughts.every((thought) => typeof thought === 'string');
}

/**
 * Thoughts by {@link ThoughtKey}.
 *
 * @example
 * const cache = await ThoughtCache.open('scifact.thoughts.jsonl'); // or new ThoughtCache() for memory only
 * const thoughts = await model.generateThoughts(['what is dna'], { cache });
 */
export class ThoughtCache {
  private readonly entries = new Map<string, string[]>();
  /** Lookups answered from the cache and lookups that missed, for logs and tests. */
  readonly stats = { hits: 0, misses: 0 };

  /** @param path the JSONL file to append to; none keeps the cache in memory only. */
  constructor(readonly path?: string) {}

  /**
   * Opens a cache backed by `path` (created on the first write), loading its entries. A torn last
   * line (a crash mid-append) is dropped and the file rewritten atomically; any other bad line is
   * an O1Error MALFORMED_JSON naming the line.
   *
   * @example
   * const cache = await ThoughtCache.open('thoughts.jsonl');
   */
  static async open(path: string): Promise<ThoughtCache> {
    const cache = new ThoughtCache(path);
    for (const { value, line } of await readAppendedJsonl(path, 'thought cache')) {
      if (!isLine(value)) throw new O1Error('MISSING_FIELD', 'thought cache line needs "key" and "thoughts"', { file: path, line });
      cache.entries.set(keyString(value.key), value.thoughts);
    }
    return cache;
  }

  /** Number of cached queries. */
  get size(): number {
    return this.entries.size;
  }

  /** The cached thoughts for `key`, or undefined (counted in {@link stats}). */
  get(key: ThoughtKey): string[] | undefined {
    const thoughts = this.entries.get(keyString(key));
    if (thoughts === undefined) this.stats.misses++;
    else this.stats.hits++;
    return thoughts === undefined ? undefined : [...thoughts];
  }

  /** Stores entries in memory and appends them to the file, if any, in one write. */
  async set(entries: readonly { key: ThoughtKey; thoughts: readonly string[] }[]): Promise<void> {
    const lines: string[] = [];
    for (const { key, thoughts } of entries) {
      const name = keyString(key);
      if (this.entries.has(name)) continue;
      this.entries.set(name, [...thoughts]);
      lines.push(`${JSON.stringify({ key, thoughts })}\n`);
    }
    if (this.path === undefined || lines.length === 0) return;
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, lines.join(''), 'utf8');
  }
}
