/**
 * What the framework adapters (src/adapters/langchain, src/adapters/ai-sdk) and the server share: an {@link Embedder} and an
 * optional thinker, turned into "thinking embeddings". A query is thought about first (through
 * the thought cache), each query + thought is embedded, and the query vector is O1 Embedder's
 * aggregation of them (the mean of the L2-normalised vectors, `aggregateThoughtVectors`); a
 * query without thoughts gets its plain embedding, and documents are never thought about.
 */
import type { DocumentInput, Embedder, EmbedderConfig, EmbeddingResult, EmbeddingUsage } from '../backends/embedder.js';
import { createEmbedder } from '../backends/registry.js';
import type { ThinkerConfig } from '../backends/thinker.js';
import { O1Error } from '../errors.js';
import { embedQueriesWithThoughts } from './aggregate.js';
import { THINKING_DEFAULTS } from './defaults.js';
import { QueryThinker } from './query-thinker.js';
import { ThoughtCache } from '../util/thought-cache.js';

/** Settings of a {@link ThinkingEmbedder} (and of the adapters built on it). */
export interface ThinkingEmbedderOptions {
  /**
   * The embedder: a config (`{ backend: 'engine', model: 'models/o1-small' }`), built on first
   * use and closed by {@link ThinkingEmbedder.close}, or an embedder already built (its owner
   * closes it). Required.
   */
  embedder: EmbedderConfig | Embedder;
  /**
   * Think before embedding queries: a thinker config (`{ backend: 'engine', model:
   * 'models/o1-small', thoughts: 3 }`, `{ backend: 'file', path: 'thoughts.jsonl' }`, ...), built
   * on first use and closed by {@link ThinkingEmbedder.close}, or a {@link QueryThinker} already
   * built (its owner closes it). Default none: queries are embedded as they are.
   */
  thinker?: ThinkerConfig | QueryThinker;
  /** Average the query-only vector in with the query + thought vectors. Default false (O1 Embedder's aggregation). */
  includeQueryOnly?: boolean;
  /** L2-normalise the aggregated query vector. Default false (O1 Embedder's aggregation). */
  renormalize?: boolean;
}

/** Options of {@link ThinkingEmbedder.embedQueries}. */
export interface ThinkingQueryOptions {
  /** Cancels thinking and embedding (O1Error CANCELLED). */
  signal?: AbortSignal;
  /**
   * Thoughts per query for this call, overriding the thinker's `thoughts` setting; 0 embeds the
   * queries without thinking. Default: the thinker's setting (none without a thinker).
   */
  thoughts?: number;
}

/** What {@link ThinkingEmbedder.embedQueries} returns. */
export interface ThinkingEmbeddings {
  /** One vector per query, in order. */
  vectors: Float32Array[];
  /** The thoughts each query was embedded with ([] when it was embedded alone). */
  thoughts: string[][];
  /** Tokens the embedder consumed (thinking's tokens are not counted). */
  usage: EmbeddingUsage;
}

/** Whether `value` is a built embedder rather than a config (both carry `backend`). */
function isEmbedder(value: EmbedderConfig | Embedder): value is Embedder {
  return typeof (value as Embedder).embedQueries === 'function' && typeof (value as Embedder).embedDocuments === 'function';
}

/** Whether `value` is a built QueryThinker rather than a config. */
function isQueryThinker(value: ThinkerConfig | QueryThinker): value is QueryThinker {
  if (value instanceof QueryThinker) return true;
  // A QueryThinker from another copy of this package (a second install) fails instanceof.
  const candidate = value as unknown as Partial<QueryThinker>;
  return typeof candidate.think === 'function' && typeof candidate.settings === 'object';
}

/**
 * An embedder whose queries think. Parts given as configs are built on first use (so
 * construction is cheap and validates only the shapes) and closed by {@link close}.
 *
 * @example
 * const encoder = new ThinkingEmbedder({
 *   embedder: { backend: 'engine', model: 'models/o1-small' },
 *   thinker: { backend: 'engine', model: 'models/o1-small', thoughts: 3 },
 * });
 * const { vectors: [query], thoughts: [thoughts] } = await encoder.embedQueries(['what causes tides']);
 * const { vectors } = await encoder.embedDocuments([{ title: 'Tides', text: 'The moon ...' }]);
 * await encoder.close();
 */
export class ThinkingEmbedder {
  readonly includeQueryOnly: boolean;
  readonly renormalize: boolean;
  private readonly embedderInput: EmbedderConfig | Embedder;
  private readonly thinkerInput?: ThinkerConfig | QueryThinker;
  private loadedEmbedder?: Promise<Embedder>;
  private loadedThinker?: Promise<QueryThinker>;
  /** Thinkers for per-call thought counts, sharing the base thinker's backend and one memory cache. */
  private readonly thinkersByCount = new Map<number, Promise<QueryThinker>>();
  private readonly overrideCache = new ThoughtCache();

  constructor(options: ThinkingEmbedderOptions) {
    if (typeof options !== 'object' || options === null) throw new O1Error('BAD_ARGUMENT', 'options must be an object with an "embedder"', { field: 'options' });
    const { embedder, thinker } = options;
    if (typeof embedder !== 'object' || embedder === null || (!isEmbedder(embedder) && typeof embedder.backend !== 'string')) {
      throw new O1Error('BAD_ARGUMENT', 'embedder must be an Embedder or an embedder config such as {"backend":"engine","model":"models/o1-small"}', { field: 'embedder' });
    }
    if (thinker !== undefined && (typeof thinker !== 'object' || thinker === null || (!isQueryThinker(thinker) && typeof thinker.backend !== 'string'))) {
      throw new O1Error('BAD_ARGUMENT', 'thinker must be a QueryThinker or a thinker config such as {"backend":"file","path":"thoughts.jsonl"}', { field: 'thinker' });
    }
    for (const key of ['includeQueryOnly', 'renormalize'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new O1Error('BAD_ARGUMENT', `${key} must be a boolean, got ${JSON.stringify(options[key])}`, { field: key });
    }
    this.embedderInput = embedder;
    this.thinkerInput = thinker;
    this.includeQueryOnly = options.includeQueryOnly ?? THINKING_DEFAULTS.includeQueryOnly;
    this.renormalize = options.renormalize ?? THINKING_DEFAULTS.renormalize;
  }

  /** Whether queries think (a thinker was given). */
  get thinks(): boolean {
    return this.thinkerInput !== undefined;
  }

  /** The embedder, built on first use (a failed build is retried by the next call). */
  embedder(): Promise<Embedder> {
    if (this.loadedEmbedder === undefined) {
      const input = this.embedderInput;
      this.loadedEmbedder = isEmbedder(input) ? Promise.resolve(input) : createEmbedder(input);
      this.loadedEmbedder.catch(() => { this.loadedEmbedder = undefined; });
    }
    return this.loadedEmbedder;
  }

  /** The thinker with its configured settings, built on first use; undefined without one. */
  async thinker(): Promise<QueryThinker | undefined> {
    const input = this.thinkerInput;
    if (input === undefined) return undefined;
    if (this.loadedThinker === undefined) {
      this.loadedThinker = isQueryThinker(input) ? Promise.resolve(input) : QueryThinker.create(input);
      this.loadedThinker.catch(() => { this.loadedThinker = undefined; });
    }
    return this.loadedThinker;
  }

  /** The thinker for `count` thoughts per query: the base one, or one sharing its backend and settings. */
  private async thinkerFor(count: number | undefined): Promise<QueryThinker | undefined> {
    if (count !== undefined && !(Number.isInteger(count) && count >= 0)) throw new O1Error('BAD_ARGUMENT', `thoughts must be a non-negative integer, got ${JSON.stringify(count)}`, { field: 'thoughts' });
    if (count === 0) return undefined;
    const base = await this.thinker();
    if (base === undefined) {
      if (count !== undefined) throw new O1Error('BAD_ARGUMENT', `${count} thoughts were asked for, but no thinker was configured`, { field: 'thoughts' });
      return undefined;
    }
    if (count === undefined || count === base.settings.thoughts) return base;
    let derived = this.thinkersByCount.get(count);
    if (derived === undefined) {
      // The base thinker's config without its cache file: two caches appending to one file
      // would race, and the thought cache keys include the count, so a memory cache suffices.
      const { thoughtCache: _file, ...config } = base.config();
      derived = QueryThinker.create({ ...config, thoughts: count }, { thinker: base.thinker, cache: this.overrideCache });
      this.thinkersByCount.set(count, derived);
      derived.catch(() => this.thinkersByCount.delete(count));
    }
    return derived;
  }

  /**
   * Thinking query vectors: the thoughts of each query, then O1 aggregation of the query +
   * thought vectors; a query without thoughts (no thinker, `thoughts: 0`, or a thinker that
   * wrote none) gets its plain query embedding. Rejects empty queries (BAD_ARGUMENT).
   */
  async embedQueries(texts: readonly string[], options: ThinkingQueryOptions = {}): Promise<ThinkingEmbeddings> {
    texts.forEach((text, index) => {
      if (typeof text !== 'string' || text.trim() === '') throw new O1Error('BAD_ARGUMENT', `query ${index} is empty: there is nothing to embed`, { field: 'text' });
    });
    if (texts.length === 0) return { vectors: [], thoughts: [], usage: { tokens: 0 } };
    const [embedder, thinker] = await Promise.all([this.embedder(), this.thinkerFor(options.thoughts)]);
    const thoughts = thinker === undefined ? texts.map(() => []) : await thinker.think(texts.map((text) => ({ text })), { signal: options.signal });
    const { vectors, usage } = await embedQueriesWithThoughts(embedder, texts, thoughts, { includeQueryOnly: this.includeQueryOnly, renormalize: this.renormalize, signal: options.signal });
    return { vectors, thoughts, usage };
  }

  /** Document vectors (no thinking), in order. */
  async embedDocuments(documents: readonly DocumentInput[], options: { signal?: AbortSignal } = {}): Promise<EmbeddingResult> {
    if (documents.length === 0) return { vectors: [], usage: { tokens: 0 } };
    const embedder = await this.embedder();
    return embedder.embedDocuments(documents, { signal: options.signal });
  }

  /** Closes the embedder and thinker this object built (not those handed in). Idempotent. */
  async close(): Promise<void> {
    const embedder = this.loadedEmbedder;
    const thinker = this.loadedThinker;
    const derived = [...this.thinkersByCount.values()];
    this.loadedEmbedder = undefined;
    this.loadedThinker = undefined;
    this.thinkersByCount.clear();
    // Derived thinkers do not own the backend; closing them is bookkeeping only.
    for (const entry of derived) await (await entry.catch(() => undefined))?.close();
    if (embedder !== undefined && !isEmbedder(this.embedderInput)) await (await embedder.catch(() => undefined))?.close();
    if (thinker !== undefined && this.thinkerInput !== undefined && !isQueryThinker(this.thinkerInput)) await (await thinker.catch(() => undefined))?.close();
  }
}
