/**
 * Thinking about queries with any thinker: the thinker's native thinking (the O1 model, a
 * thoughts file) or a prompt (src/thinking/prompt.ts) sent to any text generator, with sampling
 * settings from one table (./defaults.ts), and every thought going through the thought cache.
 * A thinker config holds the backend's settings and the thinking settings side by side:
 * `{ "backend": "openai", "baseUrl": "...", "model": "qwen2.5-7b-instruct", "thoughts": 3,
 *    "temperature": 0.7, "examples": "train.records.jsonl" }`.
 */
import { createThinker } from '../backends/registry.js';
import { Settings } from '../backends/settings.js';
import type { Thinker, ThinkerConfig, ThinkerQuery } from '../backends/thinker.js';
import { O1Error } from '../errors.js';
import { readTrainingRecords, type TrainingRecord } from '../synth/records.js';
import { THINKING_DEFAULTS } from './defaults.js';
import { buildThinkingPrompt, promptIdentity, readPromptTemplate, type PromptSettings } from './prompt.js';
import { throwIfCancelled } from '../util/cancel.js';
import { ThoughtCache, type ThoughtKey } from '../util/thought-cache.js';

/** The thinking settings of a thinker config (besides the backend's own keys). */
export interface ThinkingSettings {
  /** Thoughts per query. Default 3. */
  thoughts: number;
  /** Default 0.1. */
  temperature: number;
  /** Default 0.9. */
  topP: number;
  /** Most new tokens per thought. Default 128. */
  maxTokens: number;
  /** Default 0. */
  seed: number;
  /** Queries per thinker call. Default 16. */
  batchSize: number;
  /** JSONL thought cache file (read, then appended to). Default: memory only. */
  thoughtCache?: string;
}

/** Keys of a thinker config that belong to thinking, not to the backend. */
const THINKING_KEYS = ['thoughts', 'temperature', 'topP', 'maxTokens', 'seed', 'batchSize', 'thoughtCache', 'prompt', 'format', 'examples', 'exampleCount'] as const;

/** Options of {@link QueryThinker.think}. */
export interface ThinkOptions {
  signal?: AbortSignal;
  /** Called with (queries done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** Thought counts, for reports. */
export interface ThoughtStatistics {
  generatedQueries: number;
  cachedQueries: number;
}

/**
 * A thinker with its thinking settings, prompt and cache: `think(queries)` returns the thoughts
 * of each query.
 *
 * @example
 * const thinker = await QueryThinker.create({ backend: 'file', path: '../shared/thoughts/scifact.test.gemini-2.0-flash-250.jsonl' });
 * const [thoughts] = await thinker.think([{ id: '1', text: '0-dimensional biomaterials show inductive properties.' }]);
 * await thinker.close();
 */
export class QueryThinker {
  readonly statistics: ThoughtStatistics = { generatedQueries: 0, cachedQueries: 0 };

  private constructor(
    readonly thinker: Thinker,
    readonly settings: ThinkingSettings,
    private readonly prompt: PromptSettings & { examplesPath?: string },
    private readonly cache: ThoughtCache,
    private readonly ownsThinker: boolean,
  ) {}

  /**
   * Builds the backend from the config's other keys (or takes `thinker`, already built) and
   * validates the thinking settings before any work.
   */
  static async create(config: ThinkerConfig, options: { thinker?: Thinker; cache?: ThoughtCache } = {}): Promise<QueryThinker> {
    if (typeof config !== 'object' || config === null || typeof config.backend !== 'string') {
      throw new O1Error('BAD_ARGUMENT', 'a thinker config needs a "backend", e.g. {"backend":"file","path":"thoughts.jsonl"}', { field: 'thinker' });
    }
    const backendConfig: ThinkerConfig = { backend: config.backend };
    const thinkingValues: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
      if ((THINKING_KEYS as readonly string[]).includes(key)) thinkingValues[key] = value;
      else backendConfig[key] = value;
    }
    const settings = new Settings(thinkingValues, 'thinker');
    const thinking: ThinkingSettings = {
      thoughts: settings.integer('thoughts', THINKING_DEFAULTS.thoughts, 1),
      temperature: settings.number('temperature', THINKING_DEFAULTS.temperature, 0),
      topP: settings.number('topP', THINKING_DEFAULTS.topP, Number.MIN_VALUE),
      maxTokens: settings.integer('maxTokens', THINKING_DEFAULTS.maxTokens, 0),
      seed: settings.integer('seed', THINKING_DEFAULTS.seed, Number.MIN_SAFE_INTEGER),
      batchSize: settings.integer('batchSize', THINKING_DEFAULTS.batchSize, 1),
      thoughtCache: settings.optionalString('thoughtCache'),
    };
    const examplesPath = settings.optionalString('examples');
    const prompt = {
      prompt: readPromptTemplate(thinkingValues.prompt),
      format: settings.oneOf('format', ['chat', 'text'] as const, 'chat'),
      exampleCount: settings.integer('exampleCount', THINKING_DEFAULTS.exampleCount, 1),
      seed: thinking.seed,
      examples: [] as TrainingRecord[],
      examplesPath,
    };
    settings.take('prompt');
    settings.rejectUnknown();
    if (examplesPath !== undefined) prompt.examples = (await readTrainingRecords(examplesPath)).map((entry) => entry.record);
    const cache = options.cache ?? (thinking.thoughtCache === undefined ? new ThoughtCache() : await ThoughtCache.open(thinking.thoughtCache));
    const thinker = options.thinker ?? (await createThinker(backendConfig));
    return new QueryThinker(thinker, thinking, prompt, cache, options.thinker === undefined);
  }

  /** Whether the backend thinks natively (no prompt of ours). */
  get native(): boolean {
    return this.thinker.think !== undefined;
  }

  private keyOf(query: ThinkerQuery): ThoughtKey {
    const model = this.native ? this.thinker.identity : `${this.thinker.identity}|prompt:${promptIdentity(this.prompt)}`;
    const text = this.thinker.keyedById === true && query.id !== undefined ? `${query.id}\n${query.text}` : query.text;
    return { model, query: text, thoughts: this.settings.thoughts, temperature: this.settings.temperature, topP: this.settings.topP, maxNewTokens: this.settings.maxTokens, seed: this.settings.seed };
  }

  /**
   * The thoughts of each query (result[q] in sample order): cached ones reused, the rest
   * generated `batchSize` queries at a time and stored. Equal queries are thought about once.
   */
  async think(queries: readonly ThinkerQuery[], options: ThinkOptions = {}): Promise<string[][]> {
    const keys = queries.map((query) => this.keyOf(query));
    const names = keys.map((key) => JSON.stringify(key));
    const found = new Map<string, string[]>();
    const missing: number[] = [];
    const pending = new Set<string>();
    names.forEach((name, index) => {
      if (found.has(name) || pending.has(name)) return;
      const cached = this.cache.get(keys[index]);
      if (cached !== undefined) found.set(name, cached);
      else {
        pending.add(name);
        missing.push(index);
      }
    });
    this.statistics.cachedQueries += queries.length - missing.length;
    let done = queries.length - missing.length;
    options.onProgress?.(done, queries.length);
    for (let start = 0; start < missing.length; start += this.settings.batchSize) {
      throwIfCancelled(options.signal, 'thinking');
      const batch = missing.slice(start, start + this.settings.batchSize);
      const generation = { n: this.settings.thoughts, temperature: this.settings.temperature, topP: this.settings.topP, maxTokens: this.settings.maxTokens, seed: this.settings.seed, signal: options.signal };
      const thoughts = this.thinker.think !== undefined
        ? await this.thinker.think(batch.map((index) => queries[index]), generation)
        : await this.thinker.generate(batch.map((index) => buildThinkingPrompt(queries[index].text, this.prompt)), generation);
      // Native thoughts are kept as written (the O1 layout embeds them verbatim); an LLM's
      // completions lose surrounding white space, and empty ones are dropped.
      const tidy = (list: string[]): string[] => (this.native ? list : list.map((thought) => thought.trim()).filter((thought) => thought !== ''));
      const entries = batch.map((index, position) => ({ key: keys[index], thoughts: tidy(thoughts[position]) }));
      for (const [position, entry] of entries.entries()) found.set(names[batch[position]], entry.thoughts);
      await this.cache.set(entries);
      this.statistics.generatedQueries += batch.length;
      done += batch.length;
      options.onProgress?.(done, queries.length);
    }
    return names.map((name) => [...(found.get(name) as string[])]);
  }

  /** The config that recreates this thinker: the backend's keys and the thinking settings. */
  config(): ThinkerConfig {
    const config: ThinkerConfig = { ...this.thinker.config(), thoughts: this.settings.thoughts, temperature: this.settings.temperature, topP: this.settings.topP, maxTokens: this.settings.maxTokens, seed: this.settings.seed };
    if (this.settings.batchSize !== THINKING_DEFAULTS.batchSize) config.batchSize = this.settings.batchSize;
    if (this.settings.thoughtCache !== undefined) config.thoughtCache = this.settings.thoughtCache;
    if (!this.native) {
      if (this.prompt.prompt !== 'o1') config.prompt = this.prompt.prompt;
      if (this.prompt.format !== 'chat') config.format = this.prompt.format;
      if (this.prompt.examplesPath !== undefined) config.examples = this.prompt.examplesPath;
      if (this.prompt.exampleCount !== THINKING_DEFAULTS.exampleCount) config.exampleCount = this.prompt.exampleCount;
    }
    return config;
  }

  /** Closes the backend when this thinker built it. */
  async close(): Promise<void> {
    if (this.ownsThinker) await this.thinker.close();
  }
}
