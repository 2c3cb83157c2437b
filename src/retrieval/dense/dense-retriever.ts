/**
 * Dense retrieval with any {@link Embedder}: documents embedded as documents, queries as queries,
 * exact inner-product search. With a thinker it thinks first and uses O1 Embedder's aggregation
 * (o1-method.md §3): each query + thought embedded and L2-normalised, the query vector their
 * plain mean (not re-normalised unless `renormalize`). `{ "retriever": "dense", "model": PATH }`
 * is shorthand for the engine embedder on that model (an O1 model embeds in its layout).
 */
import type { Embedder, EmbedderConfig } from '../../backends/embedder.js';
import { createEmbedder } from '../../backends/registry.js';
import { Settings } from '../../backends/settings.js';
import type { Thinker, ThinkerConfig } from '../../backends/thinker.js';
import type { Document, Hit, Query } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import { embedQueriesWithThoughts } from '../../thinking/aggregate.js';
import { THINKING_DEFAULTS } from '../../thinking/defaults.js';
import { Progress } from '../../util/progress.js';
import { DEFAULT_HITS, searchOne, type IndexOptions, type Retriever, type RetrieverConfig, type RetrieverStatistics, type SearchOptions } from '../retriever.js';
import { readThinkerConfig, RetrieverThinking } from '../thinking.js';
import { documentKey, EmbeddingCache } from './embedding-cache.js';
import { FlatInnerProductIndex } from './vector-index.js';

/** How the per-thought vectors of a query become one vector. */
export type ThoughtAggregation = 'mean';

/** Settings of a {@link DenseRetriever}; also its registry config (with `retriever: 'dense'`). */
export interface DenseRetrieverOptions {
  /** The embedder. Required unless `model` is given. */
  embedder?: EmbedderConfig;
  /** Shorthand for `embedder: { backend: 'engine', model, threads, maxLength: documentMaxLength }`. */
  model?: string;
  /** With `model`: ONNX Runtime threads. Default the engine's default. */
  threads?: number;
  /** With `model`: document tokens before `<emb>`. Default 512. */
  documentMaxLength?: number;
  /**
   * A JSONL file caching document vectors (keyed by the embedder's identity and the document's
   * title and text), so evaluating several retrievers of one model embeds a corpus once. Default none.
   */
  documentCache?: string;
  /** Think before embedding the query. Default none. */
  thinker?: ThinkerConfig;
  /** Default 'mean'. */
  aggregation?: ThoughtAggregation;
  /** Average the query-only vector in too. Default false. */
  includeQueryOnly?: boolean;
  /** L2-normalise the aggregated query vector. Default false. */
  renormalize?: boolean;
}

/** Search options of the dense retrievers (the shared {@link SearchOptions}). */
export type DenseSearchOptions = SearchOptions;

/** Where the time went, in milliseconds (summed over calls). */
export interface DenseTimings {
  loadModelMs: number;
  embedDocumentsMs: number;
  thinkMs: number;
  embedQueriesMs: number;
  vectorSearchMs: number;
  [name: string]: number;
}

/** Already built parts to use instead of building them from the config (tests, sharing). Their owner closes them. */
export interface DenseParts {
  embedder?: Embedder;
  thinker?: Thinker;
}

/** Reads the settings every dense retriever shares; the caller rejects unknown keys. */
export function readDenseSettings(settings: Settings): DenseRetrieverOptions {
  const embedder = settings.optionalObject('embedder') as EmbedderConfig | undefined;
  if (embedder !== undefined && typeof embedder.backend !== 'string') throw new O1Error('BAD_ARGUMENT', 'embedder must be an embedder config such as {"backend":"engine","model":"models/o1-small"}', { field: 'embedder' });
  return {
    embedder,
    model: settings.optionalString('model'),
    threads: settings.optionalInteger('threads', 1),
    documentMaxLength: settings.optionalInteger('documentMaxLength', 1),
    documentCache: settings.optionalString('documentCache'),
    thinker: readThinkerConfig(settings.take('thinker')),
    aggregation: settings.oneOf('aggregation', ['mean'] as const, 'mean'),
    includeQueryOnly: settings.boolean('includeQueryOnly', THINKING_DEFAULTS.includeQueryOnly),
    renormalize: settings.boolean('renormalize', THINKING_DEFAULTS.renormalize),
  };
}

/** The embedder config a dense config stands for. */
export function denseEmbedderConfig(options: DenseRetrieverOptions, field = 'embedder'): EmbedderConfig {
  if (options.embedder !== undefined && options.model !== undefined) throw new O1Error('BAD_ARGUMENT', 'give "embedder" or "model", not both', { field });
  if (options.embedder !== undefined) {
    if (options.threads !== undefined || options.documentMaxLength !== undefined) throw new O1Error('BAD_ARGUMENT', '"threads" and "documentMaxLength" go with "model"; put them inside "embedder"', { field: 'threads' });
    return options.embedder;
  }
  if (options.model === undefined || options.model.length === 0) throw new O1Error('BAD_ARGUMENT', 'a dense retriever needs an "embedder" config or a "model" path', { field });
  const config: EmbedderConfig = { backend: 'engine', model: options.model };
  if (options.threads !== undefined) config.threads = options.threads;
  if (options.documentMaxLength !== undefined) config.maxLength = options.documentMaxLength;
  return config;
}

export { aggregateThoughtVectors } from '../../thinking/aggregate.js';

/**
 * Dense retrieval: embed, (think,) search by inner product.
 *
 * @example
 * const dense = new DenseRetriever({ embedder: { backend: 'openai', baseUrl: 'http://127.0.0.1:8080/v1', model: 'bge' } });
 * await dense.index(corpus);
 * const hits = await dense.search({ id: 'q1', text: 'what causes tides' }, { hits: 10 });
 * await dense.dispose();
 */
export class DenseRetriever implements Retriever {
  readonly name: string = 'dense';
  readonly options: DenseRetrieverOptions;
  readonly embedderConfig: EmbedderConfig;
  readonly thinking: RetrieverThinking;
  readonly timings: DenseTimings = { loadModelMs: 0, embedDocumentsMs: 0, thinkMs: 0, embedQueriesMs: 0, vectorSearchMs: 0 };
  /** Documents whose vectors came from the document cache (summed over index calls). */
  cachedDocuments = 0;
  private loaded?: Promise<Embedder>;
  private readonly ownsEmbedder: boolean;
  private vectors?: FlatInnerProductIndex;
  private ids: string[] = [];
  private rowOfId = new Map<string, number>();

  constructor(options: DenseRetrieverOptions, parts: DenseParts = {}) {
    this.options = { ...options };
    this.embedderConfig = denseEmbedderConfig(options);
    if ((options.aggregation ?? 'mean') !== 'mean') throw new O1Error('BAD_ARGUMENT', `unknown aggregation '${options.aggregation}' (known: mean)`, { field: 'aggregation' });
    this.ownsEmbedder = parts.embedder === undefined;
    if (parts.embedder !== undefined) this.loaded = Promise.resolve(parts.embedder);
    this.thinking = new RetrieverThinking(options.thinker, parts.thinker);
  }

  /** Builds one from a registry config (`{ "retriever": "dense", "embedder": {...}, "thinker"?: {...} }`). */
  static fromConfig(config: RetrieverConfig): DenseRetriever {
    const settings = new Settings(config, 'dense retriever');
    settings.string('retriever');
    const options = readDenseSettings(settings);
    settings.rejectUnknown();
    return new DenseRetriever(options);
  }

  /** The embedder, built on first use. */
  embedder(): Promise<Embedder> {
    if (this.loaded === undefined) {
      const started = performance.now();
      this.loaded = createEmbedder(this.embedderConfig).then((embedder) => {
        this.timings.loadModelMs += Math.round(performance.now() - started);
        return embedder;
      });
      // Leave the rejection to the awaiting caller, and let a later call retry.
      this.loaded.catch(() => { this.loaded = undefined; });
    }
    return this.loaded;
  }

  /** Number of indexed documents. */
  get size(): number {
    return this.ids.length;
  }

  async index(documents: Iterable<Document> | AsyncIterable<Document>, options: IndexOptions = {}): Promise<void> {
    if (options.prepareThinker !== false) await this.thinking.prepare();
    const embedder = await this.embedder();
    const all: Document[] = [];
    for await (const document of documents) all.push(document);
    const seen = new Set<string>();
    for (const document of all) {
      if (seen.has(document.id)) throw new O1Error('DUPLICATE_ID', `document id ${document.id} appears twice`, { field: 'id' });
      seen.add(document.id);
    }
    const started = performance.now();
    const progress = new Progress({ label: `${this.name} index`, total: all.length, unit: 'docs', quiet: options.quiet });
    const cache = this.options.documentCache === undefined ? undefined : await EmbeddingCache.open(this.options.documentCache);
    const keys = cache === undefined ? [] : all.map((document) => documentKey({ model: embedder.identity, title: document.title, text: document.text }));
    const vectors: (Float32Array | undefined)[] = cache === undefined ? all.map(() => undefined) : keys.map((key) => cache.get(key));
    const missing = all.map((_, row) => row).filter((row) => vectors[row] === undefined);
    this.cachedDocuments += all.length - missing.length;
    progress.tick(all.length - missing.length);
    let reported = 0;
    const fresh = missing.length === 0 ? [] : (await embedder.embedDocuments(missing.map((row) => ({ title: all[row].title, text: all[row].text })), {
      onProgress: (done) => {
        progress.tick(done - reported);
        reported = done;
      },
    })).vectors;
    missing.forEach((row, index) => { vectors[row] = fresh[index]; });
    await cache?.set(missing.map((row, index) => ({ key: keys[row], vector: fresh[index] })));
    progress.finish();
    const dimension = vectors[0]?.length ?? (await embedder.dimension());
    const index = new FlatInnerProductIndex(dimension, all.length);
    index.add(vectors as Float32Array[]);
    this.vectors = index;
    this.ids = all.map((document) => document.id);
    this.rowOfId = new Map(this.ids.map((id, row) => [id, row]));
    this.timings.embedDocumentsMs += Math.round(performance.now() - started);
  }

  /**
   * Query vectors and the thoughts behind them: without thoughts, the query embedded alone;
   * with thoughts, O1's aggregation of the query + thought vectors.
   *
   * @example
   * const { vectors, thoughts } = await dense.encodeQueries([{ id: '1', text: 'what causes tides' }]);
   */
  async encodeQueries(queries: readonly Query[], options: SearchOptions = {}): Promise<{ vectors: Float32Array[]; thoughts: (readonly string[] | undefined)[] }> {
    const embedder = await this.embedder();
    const thoughts = await this.thinking.thoughtsFor(queries, options, `${this.name} think`);
    const started = performance.now();
    const total = queries.reduce((sum, _query, index) => {
      const count = thoughts[index]?.length ?? 0;
      return sum + count + (count === 0 || this.options.includeQueryOnly === true ? 1 : 0);
    }, 0);
    const progress = new Progress({ label: `${this.name} queries`, total, unit: 'texts', quiet: options.quiet ?? queries.length === 1 });
    let reported = 0;
    const { vectors } = await embedQueriesWithThoughts(embedder, queries.map((query) => query.text), thoughts, {
      includeQueryOnly: this.options.includeQueryOnly,
      renormalize: this.options.renormalize,
      signal: options.signal,
      onProgress: (done) => {
        progress.tick(done - reported);
        reported = done;
      },
    });
    progress.finish();
    this.timings.embedQueriesMs += Math.round(performance.now() - started);
    return { vectors, thoughts };
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return searchOne(this, query, options);
  }

  async searchMany(queries: readonly Query[], options: SearchOptions = {}): Promise<Map<string, Hit[]>> {
    if (this.vectors === undefined) throw new O1Error('BAD_ARGUMENT', `the ${this.name} retriever has no index: call index() first`);
    const hits = options.hits ?? DEFAULT_HITS;
    if (!(Number.isInteger(hits) && hits >= 0)) throw new O1Error('BAD_ARGUMENT', `hits must be a non-negative integer, got ${hits}`, { field: 'hits' });
    if (queries.length === 0) return new Map();
    queries.forEach((query, index) => {
      if (typeof query.text !== 'string' || query.text.trim() === '') throw new O1Error('BAD_ARGUMENT', `query ${query.id || index} is empty: there is nothing to embed`, { field: 'text' });
    });
    const encoded = await this.encodeQueries(queries, options);
    const started = performance.now();
    const exclude = queries.map((query) => (options.removeQuery === true ? this.rowOfId.get(query.id) : undefined));
    const found = this.vectors.search(encoded.vectors, hits, exclude);
    this.timings.vectorSearchMs += Math.round(performance.now() - started);
    return new Map(queries.map((query, index) => {
      const thoughts = encoded.thoughts[index];
      return [query.id, found[index].map(({ index: row, score }) => (thoughts === undefined ? { id: this.ids[row], score } : { id: this.ids[row], score, thoughts: [...thoughts] }))];
    }));
  }

  config(): RetrieverConfig {
    const config: RetrieverConfig = { retriever: this.name };
    if (this.options.model !== undefined) {
      config.model = this.options.model;
      if (this.options.threads !== undefined) config.threads = this.options.threads;
      if (this.options.documentMaxLength !== undefined) config.documentMaxLength = this.options.documentMaxLength;
    } else {
      config.embedder = { ...this.embedderConfig };
    }
    if (this.options.documentCache !== undefined) config.documentCache = this.options.documentCache;
    if (this.thinking.thinkerConfig !== undefined) {
      config.thinker = { ...this.thinking.thinkerConfig };
      config.aggregation = this.options.aggregation ?? 'mean';
      config.includeQueryOnly = this.options.includeQueryOnly ?? THINKING_DEFAULTS.includeQueryOnly;
      config.renormalize = this.options.renormalize ?? THINKING_DEFAULTS.renormalize;
    }
    return config;
  }

  statistics(): RetrieverStatistics {
    const thoughts = this.thinking.statistics();
    return {
      documents: this.ids.length,
      timings: { ...this.timings, thinkMs: this.thinking.thinkMs },
      ...(thoughts === undefined ? {} : { thoughts }),
      ...(this.options.documentCache === undefined ? {} : { cachedDocuments: this.cachedDocuments }),
    };
  }

  /** Releases the embedder (when this retriever built it) and the thinker. */
  async dispose(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded !== undefined && this.ownsEmbedder) await (await loaded.catch(() => undefined))?.close();
    await this.thinking.dispose();
  }
}
