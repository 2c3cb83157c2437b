/**
 * The O1 model: ONE decoder that both thinks (samples thoughts for a query) and embeds (the
 * hidden state at `<emb>`), on this project's engine ({@link DecoderModel}). Sequences come from
 * ./layout.ts; o1-method.md §3 fixes the defaults: 3 thoughts, temperature 0.1, top-p 0.9, at
 * most 128 new tokens, EOS appended, each query+thought vector L2-normalised, and the query
 * vector their plain mean (not re-normalised).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Document } from '../data/types.js';
import { O1Error } from '../errors.js';
import type { LoadModelFilesOptions } from '../inference/load.js';
import { loadModelFiles } from '../inference/load.js';
import { DecoderModel, type DecoderModelOptions } from '../inference/model.js';
import { meanVector } from '../util/vectors.js';
import { writeGguf } from '../model/formats/gguf.js';
import { saveHuggingFaceModel } from '../model/formats/safetensors.js';
import { addSpecialTokens } from '../model/special-tokens.js';
import { modelIdentity } from '../util/model-identity.js';
import type { DecoderWeights } from '../model/types.js';
import { HuggingFaceTokenizer, loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { cleanThought, documentIds, o1TokenIds, O1_LIMITS, O1_SPECIAL_TOKENS, queryPromptIds, querySequenceIds, type O1TokenIds } from './layout.js';
import type { ThoughtCache, ThoughtKey } from '../util/thought-cache.js';

/** How the per-thought vectors of a query become one vector. */
export type ThoughtAggregation = 'mean';

/** Thought sampling settings (o1-method.md §3 defaults). */
export interface ThinkingOptions {
  /** Thoughts per query. Default 3 (BEIR and MS MARCO; their MTEB runs use 7). */
  thoughts?: number;
  /** Default 0.1; 0 is greedy. */
  temperature?: number;
  /** Default 0.9. */
  topP?: number;
  /** Most new tokens per thought (EOS appended after). Default 128. */
  maxNewTokens?: number;
  /** Thought k of every query draws from a generator seeded by (seed, k): batch-independent. Default 0. */
  seed?: number;
  /** Queries generated together (each with its n samples). Default 16. */
  queryBatchSize?: number;
  /** Thought cache: hits skip generation, misses are stored. Default none. */
  cache?: ThoughtCache;
  /** Called with (queries done, total) while thinking. */
  onProgress?: (done: number, total: number) => void;
}

/** Options of {@link O1Model.embedQueries}. */
export interface QueryEmbeddingOptions extends ThinkingOptions {
  /** Default 'mean': the plain mean of the L2-normalised per-thought vectors, as the official code. */
  aggregation?: ThoughtAggregation;
  /** Also average in the query-only (no-thinking) vector. Default false. */
  includeQueryOnly?: boolean;
  /** L2-normalise the mean (the official code does not). Default false. */
  renormalize?: boolean;
}

/** A query's thoughts and vectors. */
export interface ThoughtfulEmbedding {
  /** The aggregated query vector. */
  embedding: Float32Array;
  /** The thoughts, cleaned (no trailing EOS), in sample order. */
  thoughts: string[];
  /** The L2-normalised vector of each query + thought sequence. */
  thoughtEmbeddings: Float32Array[];
  /** Whether the thoughts came from the cache. */
  cached: boolean;
}

/** Options of {@link O1Model.embedDocuments}. */
export interface DocumentEmbeddingOptions {
  /** Document tokens before `<emb>`. Default 512 (inference). */
  maxLength?: number;
  /** Called after each batch with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** Options of {@link O1Model.load}. */
export interface O1ModelOptions extends DecoderModelOptions, LoadModelFilesOptions {
  /** Identity for the thought cache. Default: from the files (path + size + mtime) or a hash of the weights. */
  identity?: string;
}

/** Counters, for logs and tests. */
export interface O1ModelStats {
  /** Calls of the decoder's generation. */
  generateCalls: number;
  /** Queries whose thoughts were generated, and those answered by the cache. */
  generatedQueries: number;
  cachedQueries: number;
}

// Moved to src/util (no heavy imports), so backends that do not load the engine can use them too.
export { isModelFile, modelIdentity } from '../util/model-identity.js';

/** A hash of weights and vocabulary, for models built in memory. */
function weightsIdentity(weights: DecoderWeights, tokenizer: Tokenizer): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(weights.config));
  for (const [name, tensor] of [...weights.weights].sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(name);
    hash.update(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  }
  for (let id = 0; id < tokenizer.vocabSize; id++) hash.update(`${tokenizer.idToToken(id) ?? ''}\n`);
  return `memory#${hash.digest('hex').slice(0, 16)}`;
}

/**
 * The plain mean of per-thought vectors (each already L2-normalised), not re-normalised unless
 * `renormalize` (default false), optionally with the query-only vector averaged in.
 *
 * @example
 * aggregateThoughtEmbeddings([a, b, c]) // (a + b + c) / 3, norm <= 1
 */
export function aggregateThoughtEmbeddings(vectors: readonly Float32Array[], options: { queryOnly?: Float32Array; renormalize?: boolean } = {}): Float32Array {
  const all = options.queryOnly === undefined ? vectors : [...vectors, options.queryOnly];
  if (all.length === 0) throw new O1Error('BAD_ARGUMENT', 'no thought vectors to aggregate');
  return meanVector(all, { renormalize: options.renormalize });
}

function positiveInteger(value: number, field: string): number {
  if (!(Number.isInteger(value) && value >= 1)) throw new O1Error('BAD_ARGUMENT', `${field} must be a positive integer, got ${value}`, { field });
  return value;
}

function checkQueries(queries: readonly string[]): void {
  queries.forEach((query, index) => {
    if (typeof query !== 'string' || query.trim() === '') throw new O1Error('BAD_ARGUMENT', `query ${index} is empty: there is nothing to think about or embed`, { field: 'query' });
  });
}

/**
 * An O1 Embedder model: thinks with the decoder's LM head, embeds at `<emb>`.
 *
 * @example
 * const model = await O1Model.load('models/o1-embedder-qwen', { threads: 2 });
 * const [query] = await model.thinkAndEmbed(['what causes tides'], { thoughts: 3, seed: 0 });
 * const documents = await model.embedDocuments([{ title: 'Tides', text: 'Tides are caused by ...' }]);
 * await model.dispose();
 */
export class O1Model {
  readonly decoder: DecoderModel;
  readonly tokenIds: O1TokenIds;
  /** Identity of the weights, for the thought cache. */
  readonly identity: string;
  readonly stats: O1ModelStats = { generateCalls: 0, generatedQueries: 0, cachedQueries: 0 };

  /** Wraps a decoder whose tokenizer has the O1 tokens (else O1Error MISSING_SPECIAL_TOKENS). */
  constructor(decoder: DecoderModel, identity: string, source?: string) {
    this.tokenIds = o1TokenIds(decoder.tokenizer, source);
    for (const [name, id] of Object.entries(this.tokenIds)) {
      if (id !== undefined && id >= decoder.config.vocabSize) {
        throw new O1Error('SHAPE_MISMATCH', `token ${name} has id ${id} but the embedding has ${decoder.config.vocabSize} rows`, source === undefined ? {} : { file: source });
      }
    }
    this.decoder = decoder;
    this.identity = identity;
  }

  /**
   * Loads an O1 model: a Hugging Face folder (safetensors + tokenizer.json + config.json) or a
   * GGUF file (any layout {@link DecoderModel.load} reads). A model without the four O1 tokens is
   * refused with O1Error MISSING_SPECIAL_TOKENS before its weights are read when its tokenizer
   * can be read alone.
   *
   * @example
   * const model = await O1Model.load('o1-model.gguf', { threads: 1 });
   */
  static async load(path: string, options: O1ModelOptions = {}): Promise<O1Model> {
    if (!existsSync(path)) throw new O1Error('MISSING_FILE', 'the model path does not exist', { file: path });
    const tokenizerPath = options.tokenizerPath ?? path;
    const tokenizer = await loadTokenizer(tokenizerPath).catch(() => undefined);
    if (tokenizer !== undefined) o1TokenIds(tokenizer, tokenizerPath);
    const decoder = await DecoderModel.load(path, options);
    return new O1Model(decoder, options.identity ?? (await modelIdentity(path)), path);
  }

  /**
   * An O1 model from weights in memory (identity: a hash of the weights unless given).
   *
   * @example
   * const { weights, tokenizer } = prepareO1Model({ weights: base, tokenizer });
   * const model = O1Model.fromWeights(weights, tokenizer, { threads: 1 });
   */
  static fromWeights(weights: DecoderWeights, tokenizer: Tokenizer, options: DecoderModelOptions & { identity?: string } = {}): O1Model {
    o1TokenIds(tokenizer);
    return new O1Model(new DecoderModel(weights, tokenizer, options), options.identity ?? weightsIdentity(weights, tokenizer));
  }

  get tokenizer(): Tokenizer {
    return this.decoder.tokenizer;
  }

  /** Vector length (the hidden size). */
  get dimension(): number {
    return this.decoder.config.hiddenSize;
  }

  /** Releases the decoder's sessions. */
  async dispose(): Promise<void> {
    await this.decoder.dispose();
  }

  private thinkingSettings(options: ThinkingOptions) {
    const settings = {
      thoughts: positiveInteger(options.thoughts ?? 3, 'thoughts'),
      temperature: options.temperature ?? 0.1,
      topP: options.topP ?? 0.9,
      maxNewTokens: options.maxNewTokens ?? 128,
      seed: options.seed ?? 0,
    };
    if (!(Number.isInteger(settings.maxNewTokens) && settings.maxNewTokens >= 0)) {
      throw new O1Error('BAD_ARGUMENT', `maxNewTokens must be a non-negative integer, got ${settings.maxNewTokens}`, { field: 'maxNewTokens' });
    }
    if (!Number.isInteger(settings.seed)) throw new O1Error('BAD_ARGUMENT', `seed must be an integer, got ${settings.seed}`, { field: 'seed' });
    return settings;
  }

  /**
   * Samples `thoughts` thoughts per query (defaults in {@link ThinkingOptions}) from the prompt
   * `<query>q</query><thought>`: queries in batches of `queryBatchSize`, each query's samples in
   * the same batch, stopping at EOS. Thoughts are decoded with special tokens kept, then
   * cleaned (trailing EOS / `<emb>` removed; the layout appends EOS). Cached thoughts are reused.
   *
   * @example
   * const [[first, second, third]] = await model.generateThoughts(['what is dna'], { seed: 1 });
   */
  async generateThoughts(queries: readonly string[], options: ThinkingOptions = {}): Promise<string[][]> {
    return (await this.thoughtsWithOrigin(queries, options)).map((entry) => entry.thoughts);
  }

  private async thoughtsWithOrigin(queries: readonly string[], options: ThinkingOptions): Promise<{ thoughts: string[]; cached: boolean }[]> {
    checkQueries(queries);
    const settings = this.thinkingSettings(options);
    const batchSize = positiveInteger(options.queryBatchSize ?? 16, 'queryBatchSize');
    const keyOf = (query: string): ThoughtKey => ({ model: this.identity, query, ...settings });
    const results = new Map<string, { thoughts: string[]; cached: boolean }>();
    const missing: string[] = [];
    for (const query of new Set(queries)) {
      const hit = options.cache?.get(keyOf(query));
      if (hit !== undefined && hit.length === settings.thoughts) results.set(query, { thoughts: hit, cached: true });
      else missing.push(query);
    }
    this.stats.cachedQueries += queries.length - missing.length;
    let done = queries.length - missing.length;
    options.onProgress?.(done, queries.length);
    for (let start = 0; start < missing.length; start += batchSize) {
      const batch = missing.slice(start, start + batchSize);
      const prompts = batch.map((query) => queryPromptIds(this.tokenizer, query, { maxLength: O1_LIMITS.queryTokens }));
      this.stats.generateCalls++;
      const samples = await this.decoder.generateTokens(prompts, {
        samples: settings.thoughts,
        temperature: settings.temperature,
        topP: settings.topP,
        greedy: settings.temperature === 0,
        maxNewTokens: settings.maxNewTokens,
        seed: settings.seed,
        stopAtEos: true,
      });
      const fresh = batch.map((query, index) => ({
        key: keyOf(query),
        thoughts: samples[index].map((sample) => cleanThought(this.tokenizer, this.tokenizer.decode(sample.tokens))),
      }));
      for (const entry of fresh) results.set(entry.key.query, { thoughts: entry.thoughts, cached: false });
      this.stats.generatedQueries += batch.length;
      await options.cache?.set(fresh);
      done += batch.length;
      options.onProgress?.(done, queries.length);
    }
    return queries.map((query) => results.get(query) as { thoughts: string[]; cached: boolean });
  }

  /**
   * Thinks, then embeds: for each query, n thoughts, each `<query>q</query><thought>t{EOS}<emb>`
   * embedded (last-token pooling, L2-normalised), and the query vector aggregated (default: the
   * plain mean, not re-normalised).
   *
   * @example
   * const [{ embedding, thoughts }] = await model.thinkAndEmbed(['what is dna'], { thoughts: 3 });
   */
  async thinkAndEmbed(queries: readonly string[], options: QueryEmbeddingOptions = {}): Promise<ThoughtfulEmbedding[]> {
    const thoughts = await this.thoughtsWithOrigin(queries, options);
    const embedded = await this.embedThoughts(queries, thoughts.map((entry) => entry.thoughts), options);
    return embedded.map((result, index) => ({ ...result, cached: thoughts[index].cached }));
  }

  /**
   * Embeds queries with given thoughts (e.g. generated earlier, or by another thinker): each
   * `<query>q</query><thought>t{EOS}<emb>` embedded and L2-normalised, then aggregated per query
   * as {@link thinkAndEmbed} does. `cached` is false in the results.
   *
   * @example
   * const [{ embedding }] = await model.embedThoughts(['what is dna'], [['DNA is the molecule ...']]);
   */
  async embedThoughts(queries: readonly string[], thoughts: readonly (readonly string[])[], options: Pick<QueryEmbeddingOptions, 'aggregation' | 'includeQueryOnly' | 'renormalize'> = {}): Promise<ThoughtfulEmbedding[]> {
    if ((options.aggregation ?? 'mean') !== 'mean') throw new O1Error('BAD_ARGUMENT', `unknown aggregation '${options.aggregation}' (known: mean)`, { field: 'aggregation' });
    checkQueries(queries);
    if (thoughts.length !== queries.length || thoughts.some((list) => list.length === 0)) {
      throw new O1Error('BAD_ARGUMENT', 'give a non-empty list of thoughts for every query', { field: 'thoughts' });
    }
    const sequences = queries.flatMap((query, index) => thoughts[index].map((thought) => querySequenceIds(this.tokenizer, query, thought)));
    const vectors = await this.decoder.embedTokens(sequences, { pooling: 'last', normalize: true });
    const queryOnly = options.includeQueryOnly === true ? await this.embedQueriesWithoutThinking(queries) : undefined;
    let offset = 0;
    return queries.map((_, index) => {
      const count = thoughts[index].length;
      const thoughtEmbeddings = vectors.slice(offset, offset + count);
      offset += count;
      return {
        embedding: aggregateThoughtEmbeddings(thoughtEmbeddings, { queryOnly: queryOnly?.[index], renormalize: options.renormalize }),
        thoughts: [...thoughts[index]],
        thoughtEmbeddings,
        cached: false,
      };
    });
  }

  /**
   * Query vectors with thinking (see {@link thinkAndEmbed}); norms are at most 1 unless `renormalize`.
   *
   * @example
   * const vectors = await model.embedQueries(['what is dna'], { thoughts: 3, temperature: 0.1, topP: 0.9, seed: 0 });
   */
  async embedQueries(queries: readonly string[], options: QueryEmbeddingOptions = {}): Promise<Float32Array[]> {
    return (await this.thinkAndEmbed(queries, options)).map((result) => result.embedding);
  }

  /**
   * Query vectors without thinking: `<query>q</query><thought>{EOS}<emb>`, the training layout
   * with the empty thought that thought dropout teaches (o1-method.md §4). L2-normalised.
   *
   * @example
   * const [vector] = await model.embedQueriesWithoutThinking(['what is dna']);
   */
  async embedQueriesWithoutThinking(queries: readonly string[], options: { onProgress?: (done: number, total: number) => void } = {}): Promise<Float32Array[]> {
    checkQueries(queries);
    const sequences = queries.map((query) => querySequenceIds(this.tokenizer, query, ''));
    return this.decoder.embedTokens(sequences, { pooling: 'last', normalize: true, onProgress: options.onProgress });
  }

  /**
   * Document vectors: `{title} {text}` cut to 512 tokens, then `<emb>`; no thought, no prefix.
   * Strings are taken as the text of an untitled document. L2-normalised, in input order.
   *
   * @example
   * const [vector] = await model.embedDocuments([{ title: 'DNA', text: 'Deoxyribonucleic acid is ...' }]);
   */
  async embedDocuments(documents: readonly (Pick<Document, 'title' | 'text'> | string)[], options: DocumentEmbeddingOptions = {}): Promise<Float32Array[]> {
    const sequences = documents.map((document) => documentIds(this.tokenizer, typeof document === 'string' ? { title: '', text: document } : document, { maxLength: options.maxLength }));
    return this.decoder.embedTokens(sequences, { pooling: 'last', normalize: true, onProgress: options.onProgress });
  }
}

/** What {@link prepareO1Model} returns. */
export interface PreparedO1Model {
  weights: DecoderWeights;
  tokenizer: Tokenizer;
  tokenIds: O1TokenIds;
}

/**
 * Turns a base model into an (untrained) O1 model: adds `<query>`, `</query>`, `<thought>` and
 * `<emb>` to the tokenizer (atomic special tokens) and grows the embedding (and untied LM head),
 * new rows the mean of the old ones (src/model/special-tokens.ts). Idempotent. With `output`,
 * saves the result: a path ending in `.gguf` as GGUF, else a Hugging Face folder (needs a
 * tokenizer.json tokenizer).
 *
 * @example
 * const prepared = await prepareO1Model('models/qwen2.5-0.5b', { output: 'models/o1-qwen-untrained' });
 */
export async function prepareO1Model(
  base: string | { weights: DecoderWeights; tokenizer: Tokenizer },
  options: { output?: string } = {},
): Promise<PreparedO1Model> {
  const loaded = typeof base === 'string' ? await loadModelFiles(base) : undefined;
  const weights = loaded?.model ?? (base as { weights: DecoderWeights }).weights;
  const tokenizer = loaded?.tokenizer ?? (base as { tokenizer: Tokenizer }).tokenizer;
  const { model } = addSpecialTokens(tokenizer, weights, O1_SPECIAL_TOKENS);
  const tokenIds = o1TokenIds(tokenizer);
  if (options.output !== undefined) {
    if (options.output.endsWith('.gguf')) {
      await writeGguf(options.output, model, tokenizer.ggufMetadata(), { dtype: 'f32' });
    } else {
      if (!(tokenizer instanceof HuggingFaceTokenizer)) {
        throw new O1Error('BAD_ARGUMENT', 'a Hugging Face folder needs a tokenizer.json tokenizer; save as .gguf instead', { file: options.output });
      }
      await saveHuggingFaceModel(options.output, model);
      await tokenizer.save(options.output);
    }
  }
  return { weights: model, tokenizer, tokenIds };
}
