/**
 * The thinking retriever (O1 Embedder, o1-method.md §3): for each query the model samples n
 * thoughts, embeds each query + thought sequence, and averages them; documents are embedded
 * without thoughts; search is exact inner product. Hits carry the thoughts used. Thoughts are
 * cached (memory, and a JSONL file when `thoughtCache` is set), so re-running an evaluation does
 * not regenerate them.
 */
import { Settings } from '../../backends/settings.js';
import { O1Error } from '../../errors.js';
import type { O1Model, ThoughtAggregation } from '../../o1/model.js';
import { ThoughtCache } from '../../o1/thought-cache.js';
import { Progress } from '../../util/progress.js';
import { DenseRetriever, readDenseSettings, type DenseRetrieverOptions, type DenseSearchOptions, type EncodedQueries } from '../dense/dense-retriever.js';
import type { RetrieverConfig } from '../retriever.js';

/** Settings of an {@link O1Retriever}; also its registry config (with `retriever: 'o1'`). */
export interface O1RetrieverOptions extends DenseRetrieverOptions {
  /** Thoughts per query. Default 3. */
  thoughts?: number;
  /** Default 0.1. */
  temperature?: number;
  /** Default 0.9. */
  topP?: number;
  /** Default 128. */
  maxNewTokens?: number;
  /** Default 0. */
  seed?: number;
  /** Default 'mean' (not re-normalised). */
  aggregation?: ThoughtAggregation;
  /** Average the query-only vector in too. Default false. */
  includeQueryOnly?: boolean;
  /** L2-normalise the aggregated query vector. Default false. */
  renormalize?: boolean;
  /** Queries generated together. Default 16. */
  queryBatchSize?: number;
  /** JSONL file of cached thoughts (read, then appended to). Default: memory only. */
  thoughtCache?: string;
}

/** Thought counts of an {@link O1Retriever}. */
export interface ThoughtStatistics {
  generatedQueries: number;
  cachedQueries: number;
}

/**
 * O1 Embedder retrieval: think, embed, aggregate, search.
 *
 * @example
 * const o1 = new O1Retriever({ model: 'models/o1-qwen', thoughts: 3, seed: 0, thoughtCache: 'scifact.thoughts.jsonl' });
 * await o1.index(corpus);
 * const [best] = await o1.search({ id: 'q1', text: 'what causes tides' }, { hits: 10 });
 * best.thoughts // the 3 thoughts behind the query vector
 */
export class O1Retriever extends DenseRetriever {
  override readonly name: string = 'o1';
  readonly thinking: Required<Pick<O1RetrieverOptions, 'thoughts' | 'temperature' | 'topP' | 'maxNewTokens' | 'seed' | 'aggregation' | 'includeQueryOnly' | 'renormalize' | 'queryBatchSize'>> & { thoughtCache?: string };
  readonly thoughtStatistics: ThoughtStatistics = { generatedQueries: 0, cachedQueries: 0 };
  private cache?: Promise<ThoughtCache>;

  constructor(options: O1RetrieverOptions, model?: O1Model) {
    super(options, model);
    this.thinking = {
      thoughts: options.thoughts ?? 3,
      temperature: options.temperature ?? 0.1,
      topP: options.topP ?? 0.9,
      maxNewTokens: options.maxNewTokens ?? 128,
      seed: options.seed ?? 0,
      aggregation: options.aggregation ?? 'mean',
      includeQueryOnly: options.includeQueryOnly ?? false,
      renormalize: options.renormalize ?? false,
      queryBatchSize: options.queryBatchSize ?? 16,
      thoughtCache: options.thoughtCache,
    };
    if (!(Number.isInteger(this.thinking.thoughts) && this.thinking.thoughts >= 1)) throw new O1Error('BAD_ARGUMENT', `thoughts must be a positive integer, got ${this.thinking.thoughts}`, { field: 'thoughts' });
    if (this.thinking.aggregation !== 'mean') throw new O1Error('BAD_ARGUMENT', `unknown aggregation '${this.thinking.aggregation}' (known: mean)`, { field: 'aggregation' });
  }

  /** Builds one from a registry config (`{ "retriever": "o1", "model": PATH, "thoughts": 3, ... }`). */
  static override fromConfig(config: RetrieverConfig): O1Retriever {
    const settings = new Settings(config, 'o1 retriever');
    settings.string('retriever');
    const options: O1RetrieverOptions = {
      ...readDenseSettings(settings),
      thoughts: settings.integer('thoughts', 3, 1),
      temperature: settings.number('temperature', 0.1, 0),
      topP: settings.number('topP', 0.9, Number.MIN_VALUE),
      maxNewTokens: settings.integer('maxNewTokens', 128, 0),
      seed: settings.integer('seed', 0, Number.MIN_SAFE_INTEGER),
      aggregation: settings.oneOf('aggregation', ['mean'] as const, 'mean'),
      includeQueryOnly: settings.boolean('includeQueryOnly', false),
      renormalize: settings.boolean('renormalize', false),
      queryBatchSize: settings.integer('queryBatchSize', 16, 1),
      thoughtCache: settings.optionalString('thoughtCache'),
    };
    settings.rejectUnknown();
    return new O1Retriever(options);
  }

  /** The thought cache (opened on first use). */
  thoughtCache(): Promise<ThoughtCache> {
    this.cache ??= this.thinking.thoughtCache === undefined ? Promise.resolve(new ThoughtCache()) : ThoughtCache.open(this.thinking.thoughtCache);
    return this.cache;
  }

  protected override async encodeQueries(model: O1Model, texts: string[], options: DenseSearchOptions): Promise<EncodedQueries> {
    const cache = await this.thoughtCache();
    const { thoughtCache: _path, aggregation, includeQueryOnly, renormalize, ...sampling } = this.thinking;
    const thinkStarted = performance.now();
    const progress = new Progress({ label: 'o1 think', total: texts.length, unit: 'queries', quiet: options.quiet });
    let reported = 0;
    const before = { ...model.stats };
    const thoughts = await model.generateThoughts(texts, {
      ...sampling,
      cache,
      onProgress: (done) => {
        progress.tick(done - reported);
        reported = done;
      },
    });
    progress.finish();
    this.thoughtStatistics.generatedQueries += model.stats.generatedQueries - before.generatedQueries;
    this.thoughtStatistics.cachedQueries += model.stats.cachedQueries - before.cachedQueries;
    const embedStarted = performance.now();
    this.timings.thinkMs += Math.round(embedStarted - thinkStarted);
    const results = await model.embedThoughts(texts, thoughts, { aggregation, includeQueryOnly, renormalize });
    this.timings.embedQueriesMs += Math.round(performance.now() - embedStarted);
    return { vectors: results.map((result) => result.embedding), thoughts: results.map((result) => result.thoughts) };
  }

  override config(): RetrieverConfig {
    const { thoughtCache, ...thinking } = this.thinking;
    const config: RetrieverConfig = { ...super.config(), ...thinking };
    if (thoughtCache !== undefined) config.thoughtCache = thoughtCache;
    return config;
  }
}
