/**
 * The O1 model thinking and embedding by itself (O1 Embedder, o1-method.md §3): a dense
 * retriever whose embedder and thinker are the same O1 model on this project's engine (loaded
 * once and shared: src/backends/engine/runtime.ts). For each query the model samples n thoughts,
 * embeds each query + thought sequence, and averages them; documents are embedded without
 * thoughts. Thoughts go through the thought cache (memory, and a JSONL file with `thoughtCache`).
 */
import { Settings } from '../../backends/settings.js';
import type { ThinkerConfig } from '../../backends/thinker.js';
import { O1Error } from '../../errors.js';
import { THINKING_DEFAULTS } from '../../thinking/defaults.js';
import { DenseRetriever, type DenseParts, type ThoughtAggregation } from '../dense/dense-retriever.js';
import type { RetrieverConfig } from '../retriever.js';

/** Settings of an {@link O1Retriever}; also its registry config (with `retriever: 'o1'`). */
export interface O1RetrieverOptions {
  /** The O1 model: a Hugging Face folder or a GGUF file. Required. */
  model: string;
  /**
   * Where the model runs: `engine` (default: this project's engine on ONNX Runtime; reads Hugging
   * Face folders and GGUF files) or `llama-cpp` (node-llama-cpp; a GGUF file converted with
   * `o1e convert MODEL --to gguf`). Greedy thoughts and vectors agree across the two; sampled
   * thoughts differ (different random streams).
   */
  runtime?: 'engine' | 'llama-cpp';
  /** CPU threads. Default the runtime's default. */
  threads?: number;
  /** Document tokens before `<emb>`. Default 512. */
  documentMaxLength?: number;
  /** JSONL cache of document vectors. Default none. */
  documentCache?: string;
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

/**
 * O1 Embedder retrieval: think, embed, aggregate, search.
 *
 * @example
 * const o1 = new O1Retriever({ model: 'models/o1-small', thoughts: 3, seed: 0, thoughtCache: 'scifact.thoughts.jsonl' });
 * await o1.index(corpus);
 * const [best] = await o1.search({ id: 'q1', text: 'what causes tides' }, { hits: 10 });
 * best.thoughts // the 3 thoughts behind the query vector
 */
export class O1Retriever extends DenseRetriever {
  override readonly name: string = 'o1';
  readonly o1Options: O1RetrieverOptions;

  constructor(options: O1RetrieverOptions, parts: DenseParts = {}) {
    if (typeof options?.model !== 'string' || options.model.length === 0) throw new O1Error('BAD_ARGUMENT', 'an o1 retriever needs a "model" path', { field: 'model' });
    const runtime = options.runtime ?? 'engine';
    if (runtime !== 'engine' && runtime !== 'llama-cpp') throw new O1Error('BAD_ARGUMENT', `runtime must be engine or llama-cpp, got ${JSON.stringify(runtime)}`, { field: 'runtime' });
    const thinker: ThinkerConfig = {
      backend: runtime,
      model: options.model,
      layout: 'o1',
      thoughts: options.thoughts ?? THINKING_DEFAULTS.thoughts,
      temperature: options.temperature ?? THINKING_DEFAULTS.temperature,
      topP: options.topP ?? THINKING_DEFAULTS.topP,
      maxTokens: options.maxNewTokens ?? THINKING_DEFAULTS.maxTokens,
      seed: options.seed ?? THINKING_DEFAULTS.seed,
      batchSize: options.queryBatchSize ?? THINKING_DEFAULTS.batchSize,
    };
    if (options.threads !== undefined) thinker.threads = options.threads;
    if (options.thoughtCache !== undefined) thinker.thoughtCache = options.thoughtCache;
    const embedder = runtime === 'engine' ? undefined : { backend: runtime, model: options.model, layout: 'o1', ...(options.threads === undefined ? {} : { threads: options.threads }), ...(options.documentMaxLength === undefined ? {} : { maxLength: options.documentMaxLength }) };
    super({
      ...(embedder === undefined ? { model: options.model, threads: options.threads, documentMaxLength: options.documentMaxLength } : { embedder }),
      documentCache: options.documentCache,
      thinker,
      aggregation: options.aggregation,
      includeQueryOnly: options.includeQueryOnly,
      renormalize: options.renormalize,
    }, parts);
    this.o1Options = { ...options };
  }

  /** Builds one from a registry config (`{ "retriever": "o1", "model": PATH, "thoughts": 3, ... }`). */
  static override fromConfig(config: RetrieverConfig): O1Retriever {
    const settings = new Settings(config, 'o1 retriever');
    settings.string('retriever');
    const options: O1RetrieverOptions = {
      model: settings.string('model'),
      runtime: settings.oneOf('runtime', ['engine', 'llama-cpp'] as const, 'engine'),
      threads: settings.optionalInteger('threads', 1),
      documentMaxLength: settings.optionalInteger('documentMaxLength', 1),
      documentCache: settings.optionalString('documentCache'),
      thoughts: settings.integer('thoughts', THINKING_DEFAULTS.thoughts, 1),
      temperature: settings.number('temperature', THINKING_DEFAULTS.temperature, 0),
      topP: settings.number('topP', THINKING_DEFAULTS.topP, Number.MIN_VALUE),
      maxNewTokens: settings.integer('maxNewTokens', THINKING_DEFAULTS.maxTokens, 0),
      seed: settings.integer('seed', THINKING_DEFAULTS.seed, Number.MIN_SAFE_INTEGER),
      aggregation: settings.oneOf('aggregation', ['mean'] as const, 'mean'),
      includeQueryOnly: settings.boolean('includeQueryOnly', THINKING_DEFAULTS.includeQueryOnly),
      renormalize: settings.boolean('renormalize', THINKING_DEFAULTS.renormalize),
      queryBatchSize: settings.integer('queryBatchSize', THINKING_DEFAULTS.batchSize, 1),
      thoughtCache: settings.optionalString('thoughtCache'),
    };
    settings.rejectUnknown();
    return new O1Retriever(options);
  }

  override config(): RetrieverConfig {
    const options = this.o1Options;
    const config: RetrieverConfig = {
      retriever: this.name,
      model: options.model,
      thoughts: options.thoughts ?? THINKING_DEFAULTS.thoughts,
      temperature: options.temperature ?? THINKING_DEFAULTS.temperature,
      topP: options.topP ?? THINKING_DEFAULTS.topP,
      maxNewTokens: options.maxNewTokens ?? THINKING_DEFAULTS.maxTokens,
      seed: options.seed ?? THINKING_DEFAULTS.seed,
      aggregation: options.aggregation ?? 'mean',
      includeQueryOnly: options.includeQueryOnly ?? THINKING_DEFAULTS.includeQueryOnly,
      renormalize: options.renormalize ?? THINKING_DEFAULTS.renormalize,
      queryBatchSize: options.queryBatchSize ?? THINKING_DEFAULTS.batchSize,
    };
    if ((options.runtime ?? 'engine') !== 'engine') config.runtime = options.runtime;
    for (const key of ['threads', 'documentMaxLength', 'documentCache', 'thoughtCache'] as const) {
      if (options[key] !== undefined) config[key] = options[key];
    }
    return config;
  }
}
