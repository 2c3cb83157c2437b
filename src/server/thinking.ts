/**
 * The server's thinking: the queries of concurrent requests are thought about together (one
 * dynamic batcher per combination of thinking settings, as a batch of generations shares its
 * sampling settings), through a {@link QueryThinker} and so through the thought cache. The
 * configured settings use the configured thinker (and its cache file, when it has one);
 * requests that ask for other settings get thinkers derived from it that share its backend and
 * one memory cache (the cache key holds every setting, so they cannot collide). Thoughts given
 * recently are also remembered here, so a query thought about before is answered at once
 * instead of queueing behind a generation batch that is running (the thought cache would
 * answer it too, but only when that batch is done).
 */
import type { ThinkerQuery } from '../backends/thinker.js';
import { QueryThinker } from '../thinking/query-thinker.js';
import { ThoughtCache } from '../util/thought-cache.js';
import { Batcher } from './batcher.js';
import { HttpProblem } from './problems.js';

/** The thinking settings of one request. */
export interface ThinkingRequest {
  /** Thoughts per query; 0 embeds or searches with the query alone. */
  thoughts: number;
  temperature: number;
  topP: number;
  /** Most new tokens per thought. */
  maxTokens: number;
  seed: number;
}

/** Limits and batching of {@link ServerThinking}. */
export interface ServerThinkingOptions {
  /** Longest a query waits for others before its batch leaves, in milliseconds. Default 5. */
  maxWaitMs?: number;
  /** Most queries waiting per settings combination (then 429). Default unlimited. */
  maxQueue?: number;
  /** Most thoughts a request may ask for. Default 16. */
  maxThoughts?: number;
  /** Most new tokens per thought a request may ask for. Default 512. */
  maxThoughtTokens?: number;
  /** Called with each thinking batch's size (metrics). */
  onBatch?: (size: number) => void;
}

/** Settings combinations kept at once; idle ones beyond this are dropped (rebuilt on demand). */
const MAX_COMBINATIONS = 32;
/** Queries whose thoughts are remembered (least recently used dropped first). */
const MAX_REMEMBERED = 20_000;

interface Combination {
  key: string;
  thinker: Promise<QueryThinker>;
  batcher: Batcher<ThinkerQuery, string[]>;
}

/**
 * Batched thinking with per-request settings.
 *
 * @example
 * const thinking = new ServerThinking(await QueryThinker.create({ backend: 'engine', model: 'models/o1-small' }));
 * const request = thinking.parse({ thoughts: 2, seed: 7 });
 * const [thoughts] = await thinking.think(['what causes tides'], request);
 * await thinking.close();
 */
export class ServerThinking {
  readonly maxThoughts: number;
  readonly maxThoughtTokens: number;
  private readonly combinations = new Map<string, Combination>();
  private readonly derivedCache = new ThoughtCache();
  private readonly remembered = new Map<string, string[]>();

  constructor(readonly base: QueryThinker, private readonly options: ServerThinkingOptions = {}) {
    this.maxThoughts = options.maxThoughts ?? 16;
    this.maxThoughtTokens = options.maxThoughtTokens ?? 512;
  }

  /** The configured settings (what a request that names none gets). */
  defaults(): ThinkingRequest {
    const { thoughts, temperature, topP, maxTokens, seed } = this.base.settings;
    return { thoughts, temperature, topP, maxTokens, seed };
  }

  /**
   * Reads a request's thinking settings (`thoughts`, `temperature`, `top_p`, `seed`,
   * `max_thought_tokens`; unset ones take the configured values) and checks them against the
   * limits; throws HttpProblem 400 naming `prefix + field`.
   */
  parse(fields: Record<string, unknown>, prefix = ''): ThinkingRequest {
    const request = this.defaults();
    const read = (key: string, check: (value: number) => boolean, expected: string): number | undefined => {
      const value = fields[key];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) throw new HttpProblem(400, `'${prefix}${key}' must be ${expected}`, { param: `${prefix}${key}` });
      return value;
    };
    request.thoughts = read('thoughts', (value) => Number.isInteger(value) && value >= 0 && value <= this.maxThoughts, `an integer from 0 to ${this.maxThoughts}`) ?? request.thoughts;
    request.temperature = read('temperature', (value) => value >= 0 && value <= 2, 'a number from 0 to 2') ?? request.temperature;
    request.topP = read('top_p', (value) => value > 0 && value <= 1, 'a number in (0, 1]') ?? request.topP;
    request.seed = read('seed', (value) => Number.isSafeInteger(value), 'an integer') ?? request.seed;
    request.maxTokens = read('max_thought_tokens', (value) => Number.isInteger(value) && value >= 1 && value <= this.maxThoughtTokens, `an integer from 1 to ${this.maxThoughtTokens}`) ?? request.maxTokens;
    return request;
  }

  /** Queries waiting to be thought about, over every settings combination. */
  get depth(): number {
    let depth = 0;
    for (const combination of this.combinations.values()) depth += combination.batcher.depth;
    return depth;
  }

  /** Queries in the thinking batches running now. */
  get inFlight(): number {
    let running = 0;
    for (const combination of this.combinations.values()) running += combination.batcher.inFlight;
    return running;
  }

  /**
   * The thoughts of each query under `request`'s settings (`[]` each for 0 thoughts), batched
   * with other requests' queries of the same settings. Rejects with CANCELLED when `signal`
   * fires, OVERLOADED when the queue is full.
   */
  async think(texts: readonly string[], request: ThinkingRequest, signal?: AbortSignal): Promise<string[][]> {
    if (request.thoughts === 0 || texts.length === 0) return texts.map(() => []);
    const combination = this.combination(request);
    const keys = texts.map((text) => `${combination.key}\n${text}`);
    const found = keys.map((key) => this.recall(key));
    const missing = [...new Set(texts.filter((_, index) => found[index] === undefined))];
    if (missing.length > 0) {
      const thoughts = await combination.batcher.submit(missing.map((text) => ({ text })), { signal });
      const byText = new Map(missing.map((text, index) => [text, thoughts[index]]));
      texts.forEach((text, index) => {
        if (found[index] !== undefined) return;
        found[index] = byText.get(text);
        this.remember(keys[index], found[index] as string[]);
      });
    }
    return found.map((thoughts) => [...(thoughts as string[])]);
  }

  private recall(key: string): string[] | undefined {
    const thoughts = this.remembered.get(key);
    if (thoughts !== undefined) {
      // Most recently used last, so the oldest entry is the first in the map.
      this.remembered.delete(key);
      this.remembered.set(key, thoughts);
    }
    return thoughts;
  }

  private remember(key: string, thoughts: string[]): void {
    this.remembered.set(key, thoughts);
    if (this.remembered.size > MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value as string);
  }

  private combination(request: ThinkingRequest): Combination {
    const key = JSON.stringify([request.thoughts, request.temperature, request.topP, request.maxTokens, request.seed]);
    const found = this.combinations.get(key);
    if (found !== undefined) return found;
    if (this.combinations.size >= MAX_COMBINATIONS) {
      for (const [name, combination] of this.combinations) {
        if (combination.batcher.depth === 0 && combination.batcher.inFlight === 0 && this.combinations.size >= MAX_COMBINATIONS) this.combinations.delete(name);
      }
    }
    const defaults = this.defaults();
    const isDefault = JSON.stringify([defaults.thoughts, defaults.temperature, defaults.topP, defaults.maxTokens, defaults.seed]) === key;
    let thinker: Promise<QueryThinker>;
    if (isDefault) thinker = Promise.resolve(this.base);
    else {
      // The base config without its cache file: two writers appending to one file would race.
      const { thoughtCache: _file, ...config } = this.base.config();
      thinker = QueryThinker.create({ ...config, thoughts: request.thoughts, temperature: request.temperature, topP: request.topP, maxTokens: request.maxTokens, seed: request.seed }, { thinker: this.base.thinker, cache: this.derivedCache });
      thinker.catch(() => this.combinations.delete(key));
    }
    const batcher = new Batcher<ThinkerQuery, string[]>(
      async (queries, signal) => (await thinker).think(queries, { signal }),
      { maxBatch: this.base.settings.batchSize, maxWaitMs: this.options.maxWaitMs, maxQueue: this.options.maxQueue, name: 'thinking', onBatch: this.options.onBatch },
    );
    const combination = { key, thinker, batcher };
    this.combinations.set(key, combination);
    return combination;
  }

  /** Waits for queued thinking to finish; does not close the base thinker (its owner does). */
  async close(): Promise<void> {
    await Promise.all([...this.combinations.values()].map((combination) => combination.batcher.close()));
  }
}
