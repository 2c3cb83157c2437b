/**
 * DecoderModel: a Llama / Qwen2 decoder running on this project's engine (ONNX Runtime graphs
 * built in TypeScript) for batched generation with a bucketed KV cache and batched embedding.
 *
 * The KV cache is a set of slots in fixed-capacity buckets (32, 64, 128, ... slots): the prompt's
 * keys/values (left padded) take the first slots, each decode step's new key/value the next one;
 * padded and unused slots are masked out by the attention bias, and position ids are counted per
 * row on the host, so they stay right. The decode graph reads the cache and returns only the new
 * keys/values (no copy of the cache per step); when the bucket is full the cache moves to the
 * next one. One ONNX Runtime session per (batch, length, capacity), cached by the engine's
 * SessionCache.
 */
import ort from 'onnxruntime-node';
import { O1Error } from '../errors.js';
import { SessionCache, defaultThreadCount, type CompiledGraph } from '../engine/session.js';
import { buildDecoderGraph } from '../model/decoder-graph.js';
import type { DecoderConfig, DecoderWeights } from '../model/types.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { buildEmbeddingGraph, buildGenerationStepGraph, MASKED_BIAS } from './graphs.js';
import { loadModelFiles, type LoadModelFilesOptions, type ModelSource } from './load.js';
import type { Pooling } from './pooling.js';
import { checkSamplingOptions, sampleToken, SeededRandom, type SamplingOptions } from './sampling.js';
import { l2NormalizeInPlace } from '../util/vectors.js';

/** Default KV-cache capacity buckets; beyond the last, capacities double. */
export const DEFAULT_CACHE_BUCKETS: readonly number[] = [32, 64, 128, 256, 512];

/** Options for {@link DecoderModel}. */
export interface DecoderModelOptions {
  /** ONNX Runtime intra-op threads. Default the engine's default (1 under CI, else 2). */
  threads?: number;
  /** KV-cache capacities (ascending). Default {@link DEFAULT_CACHE_BUCKETS}. */
  cacheBuckets?: readonly number[];
  /** Prompt lengths are padded up to a multiple of this for the prefill graph. Default 8. */
  promptLengthMultiple?: number;
  /** ONNX Runtime graph optimisation level. Default 'all'. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * ONNX Runtime's per-session CPU memory arena (see CompileOptions.enableCpuMemArena). Default
   * false: every (batch, length) bucket is its own session, and with arenas each keeps its peak
   * activations for good. `npm run bench:embed -- --use-lite off --arena on|off` measured peak
   * resident memory 1,636 MiB with arenas against 518 MiB without, at 111 against 117 texts/s;
   * `npm run bench:serve` ended at 5.9 GiB with arenas and 0.5 GiB without.
   */
  enableCpuMemArena?: boolean;
  /**
   * Pad a short batch to the next row bucket (1, 2, 3, 4, 6, 8, 12, ...; see bucketRows) with
   * finished one-token rows, so a server's ever-changing batch sizes share a few sessions. False
   * compiles, and keeps, one session per batch size. Default true. `bench:generate`'s
   * `row_buckets` times both.
   */
  rowBuckets?: boolean;
}

/** Options for {@link DecoderModel.generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens generated per sample (stop tokens not counted). Default 128. */
  maxNewTokens?: number;
  /** Seed of the per-sample generators (sample k draws from a generator seeded by (seed, k)); the same seed gives the same samples. Default 0. */
  seed?: number;
  /** Samples per prompt (O1 Embedder: n thoughts per query), run in one batch. Default 1. */
  samples?: number;
  /** Stop at the end-of-sequence token. Default true. */
  stopAtEos?: boolean;
  /** More token ids that end a sample. Default none. */
  stopTokens?: readonly number[];
  /** Text prompts only: add the tokenizer's BOS. Default true. */
  addBos?: boolean;
  /** Text prompts only: keep at most this many prompt tokens (the last ones). Default: all. */
  maxPromptLength?: number;
}

/** Why a sample ended. */
export type FinishReason = 'eos' | 'stop' | 'length';

/** One generated sample. */
export interface GeneratedSample {
  /** The new tokens, without the stop token. */
  tokens: number[];
  /** The token that ended the sample (EOS or a stop token), when one did. */
  stopToken?: number;
  finishReason: FinishReason;
  /** Decoded `tokens` (special tokens kept); set by the text API. */
  text?: string;
}

/** Options for {@link DecoderModel.embed}. */
export interface EmbedOptions {
  /** Pooling. Default 'last' (O1 Embedder). */
  pooling?: Pooling;
  /** L2-normalise each vector. Default true. */
  normalize?: boolean;
  /** Keep at most this many tokens per text (the first ones). Default: all. */
  maxLength?: number;
  /** Text inputs only: add the tokenizer's BOS. Default true. */
  addBos?: boolean;
  /** Most rows per batch. Default 32. */
  maxBatchSize?: number;
  /** Most padded tokens per batch (rows = budget / length). Default 4096. */
  tokensPerBatch?: number;
  /** Padded lengths are multiples of this. Default 16. */
  lengthMultiple?: number;
  /** Called after each batch with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

type Feeds = Record<string, ort.Tensor>;


function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/** A 32-bit mix of integers, for per-sample seeds. */
function mixSeed(...values: number[]): number {
  let hash = 0x811c9dc5;
  for (const value of values) {
    hash = Math.imul(hash ^ (value >>> 0), 0x01000193);
    hash = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return hash >>> 0;
}

/**
 * A decoder (Llama or Qwen2 layout) on the engine, with its tokenizer. Weights are wrapped once
 * as ONNX Runtime tensors over the loaded Float32Arrays and fed to every session.
 *
 * @example
 * const model = await DecoderModel.load('../shared/models/tinystories-260k', { threads: 1 });
 * const [result] = await model.generate(['Once upon a time'], { greedy: true, maxNewTokens: 32 });
 * const [vector] = await model.embed(['a document<emb>']);
 * await model.dispose();
 */
export class DecoderModel {
  readonly config: DecoderConfig;
  readonly tokenizer: Tokenizer;
  readonly threads: number;
  private readonly rowBuckets: boolean;
  /** Where the weights came from, when loaded with {@link DecoderModel.load}. */
  source?: ModelSource;
  private readonly parameters: Feeds = {};
  private readonly cacheBuckets: readonly number[];
  private readonly promptLengthMultiple: number;
  private readonly prefillSessions: SessionCache;
  private readonly decodeSessions: SessionCache;
  private readonly embeddingSessions: SessionCache;
  private readonly logitSessions: SessionCache;

  constructor(model: DecoderWeights, tokenizer: Tokenizer, options: DecoderModelOptions = {}) {
    this.config = model.config;
    this.tokenizer = tokenizer;
    this.threads = options.threads ?? defaultThreadCount();
    this.rowBuckets = options.rowBuckets ?? true;
    this.cacheBuckets = [...(options.cacheBuckets ?? DEFAULT_CACHE_BUCKETS)].sort((a, b) => a - b);
    if (this.cacheBuckets.length === 0 || this.cacheBuckets.some((size) => !(Number.isInteger(size) && size > 0))) {
      throw new O1Error('BAD_ARGUMENT', `cache buckets must be positive integers, got [${this.cacheBuckets.join(', ')}]`, { field: 'cacheBuckets' });
    }
    this.promptLengthMultiple = options.promptLengthMultiple ?? 8;
    if (tokenizer.vocabSize > model.config.vocabSize) {
      throw new O1Error('SHAPE_MISMATCH', `the tokenizer has ${tokenizer.vocabSize} tokens but the embedding only ${model.config.vocabSize} rows`);
    }
    for (const [name, tensor] of model.weights) this.parameters[name] = new ort.Tensor('float32', tensor.data, tensor.shape);
    const compile = { threads: this.threads, optimization: options.optimization ?? 'all', enableCpuMemArena: options.enableCpuMemArena ?? false } as const;
    const config = this.config;
    this.prefillSessions = new SessionCache((key) => buildGenerationStepGraph(config, { batch: key.batch, length: key.length }), compile);
    this.decodeSessions = new SessionCache((key) => buildGenerationStepGraph(config, { batch: key.batch, length: 1, pastLength: Number(key.extra) }), compile);
    this.embeddingSessions = new SessionCache((key) => buildEmbeddingGraph(config, { batch: key.batch, length: key.length, pooling: key.extra as Pooling }), compile);
    this.logitSessions = new SessionCache((key) => buildDecoderGraph(config, { batch: key.batch, length: key.length, logits: 'all' }), compile);
  }

  /**
   * Loads a model from a Hugging Face folder, a llama2.c checkpoint (folder or file, with its
   * tok*.bin) or a GGUF file (see {@link loadModelFiles}).
   *
   * @example
   * const model = await DecoderModel.load('model.gguf', { threads: 2 });
   */
  static async load(path: string, options: DecoderModelOptions & LoadModelFilesOptions = {}): Promise<DecoderModel> {
    const loaded = await loadModelFiles(path, options);
    const model = new DecoderModel(loaded.model, loaded.tokenizer, options);
    model.source = loaded.source;
    return model;
  }

  /** The end-of-sequence id: the tokenizer's, else the config's. */
  get eosTokenId(): number | undefined {
    return this.tokenizer.eosTokenId ?? this.config.eosTokenId;
  }

  /** Number of compiled (or compiling) sessions, all kinds together. */
  get sessionCount(): number {
    return this.prefillSessions.size + this.decodeSessions.size + this.embeddingSessions.size + this.logitSessions.size;
  }

  /** Releases every ONNX Runtime session. */
  async dispose(): Promise<void> {
    await Promise.all([this.prefillSessions, this.decodeSessions, this.embeddingSessions, this.logitSessions].map((cache) => cache.dispose()));
  }

  /** Left-pads token rows to `length` into int64 ids and mask. */
  private pack(rows: readonly (readonly number[])[], length: number): { inputIds: BigInt64Array; attentionMask: BigInt64Array } {
    const inputIds = new BigInt64Array(rows.length * length).fill(BigInt(this.tokenizer.padTokenId));
    const attentionMask = new BigInt64Array(rows.length * length);
    rows.forEach((row, index) => {
      const offset = index * length + length - row.length;
      for (let position = 0; position < row.length; position++) {
        inputIds[offset + position] = BigInt(row[position]);
        attentionMask[offset + position] = 1n;
      }
    });
    return { inputIds, attentionMask };
  }

  private checkTokens(rows: readonly (readonly number[])[]): void {
    for (const row of rows) {
      if (row.length === 0) throw new O1Error('BAD_ARGUMENT', 'a token sequence is empty');
      for (const token of row) {
        if (!(Number.isInteger(token) && token >= 0 && token < this.config.vocabSize)) {
          throw new O1Error('BAD_ARGUMENT', `token id ${token} is outside the vocabulary [0, ${this.config.vocabSize})`);
        }
      }
    }
  }

  /**
   * Logits at every position, without a cache: for each row a Float32Array [row length, vocab]
   * (rows are left padded together; padded positions are not returned).
   *
   * @example
   * const [logits] = await model.logits([[1, 403, 407]]); // logits.length === 3 * vocabSize
   */
  async logits(rows: readonly (readonly number[])[]): Promise<Float32Array[]> {
    this.checkTokens(rows);
    const length = Math.max(...rows.map((row) => row.length));
    const compiled = await this.logitSessions.get({ batch: rows.length, length });
    const { inputIds, attentionMask } = this.pack(rows, length);
    const output = await compiled.run({ input_ids: inputIds, attention_mask: attentionMask, ...this.parameters });
    const data = output['logits'].data as Float32Array;
    const vocab = this.config.vocabSize;
    return rows.map((row, index) => data.slice((index * length + length - row.length) * vocab, (index + 1) * length * vocab));
  }

  /** The cache capacity for more than `used` slots: the smallest bucket > used (doubling past the last). */
  private capacityFor(used: number): number {
    for (const size of this.cacheBuckets) if (size > used) return size;
    let size = this.cacheBuckets[this.cacheBuckets.length - 1];
    while (size <= used) size *= 2;
    return size;
  }

  /** A zeroed slot cache [rows, kvHeads, capacity, headDim] per layer, keyed `past.{i}.key|value`. */
  private allocateCache(rows: number, capacity: number): Feeds {
    const { numKeyValueHeads, headDim } = this.config;
    const feeds: Feeds = {};
    const dims = [rows, numKeyValueHeads, capacity, headDim];
    for (let layer = 0; layer < this.config.numHiddenLayers; layer++) {
      for (const part of ['key', 'value']) feeds[`past.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(rows * numKeyValueHeads * capacity * headDim), dims);
    }
    return feeds;
  }

  /**
   * Writes `count` slots of new keys/values (`new.{i}.key|value` [sourceRows, kv, count, d]) into
   * the cache [rows, kv, capacity, d] at slots [slot, slot + count), row r from source row
   * sourceRow(r).
   */
  private writeSlots(cache: Feeds, capacity: number, outputs: Record<string, ort.Tensor>, count: number, slot: number, rows: number, sourceRow: (row: number) => number): void {
    const { numKeyValueHeads: heads, headDim } = this.config;
    const width = count * headDim;
    for (const [name, tensor] of Object.entries(cache)) {
      const from = outputs[`new.${name.slice('past.'.length)}`].data as Float32Array;
      const to = tensor.data as Float32Array;
      for (let row = 0; row < rows; row++) {
        for (let head = 0; head < heads; head++) {
          const fromOffset = (sourceRow(row) * heads + head) * width;
          to.set(from.subarray(fromOffset, fromOffset + width), ((row * heads + head) * capacity + slot) * headDim);
        }
      }
    }
  }

  /**
   * Generates from token prompts. Returns, per prompt, `samples` samples. Prompts are prefilled
   * together in one call (left padded); the samples of every prompt then decode as one batch.
   * Greedy when `greedy` or temperature 0; else temperature (default 0.1) then top-p (default
   * 0.9), sample k of every prompt with its own generator seeded from (seed, k), so a prompt's
   * samples do not depend on which other prompts share its batch.
   *
   * The KV cache is a set of slots in a capacity bucket; padded and unused slots are masked by
   * the attention bias, so slot order does not matter (RoPE is applied before caching). It moves
   * to the next bucket when full.
   *
   * @example
   * const [[sample]] = await model.generateTokens([[1]], { greedy: true, maxNewTokens: 100 });
   */
  async generateTokens(requested: readonly (readonly number[])[], options: GenerateOptions = {}): Promise<GeneratedSample[][]> {
    if (requested.length === 0) return [];
    checkSamplingOptions(options);
    this.checkTokens(requested);
    // One-token dummy prompts pad the batch to the next row bucket (their rows finished from the
    // start): a server's ever-changing batch sizes then reuse a few sessions instead of
    // compiling, and keeping, one per size.
    const prompts = padRows(requested, this.rowBuckets ? bucketRows(requested.length) : requested.length, [this.tokenizer.padTokenId]);
    const maxNewTokens = options.maxNewTokens ?? 128;
    const samples = options.samples ?? 1;
    if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0)) throw new O1Error('BAD_ARGUMENT', `maxNewTokens must be a non-negative integer, got ${maxNewTokens}`, { field: 'maxNewTokens' });
    if (!(Number.isInteger(samples) && samples >= 1)) throw new O1Error('BAD_ARGUMENT', `samples must be a positive integer, got ${samples}`, { field: 'samples' });
    const seed = options.seed ?? 0;
    const eos = this.eosTokenId;
    const stops = new Set(options.stopTokens ?? []);
    const isEos = (token: number) => options.stopAtEos !== false && token === eos;
    const rows = prompts.length * samples;
    const promptOf = (row: number) => Math.floor(row / samples);
    const results: GeneratedSample[] = Array.from({ length: rows }, () => ({ tokens: [], finishReason: 'length' as FinishReason }));
    const grouped = () => requested.map((_, prompt) => results.slice(prompt * samples, (prompt + 1) * samples));
    if (maxNewTokens === 0) return grouped();
    const randoms = Array.from({ length: rows }, (_, row) => new SeededRandom(mixSeed(seed, row % samples)));
    const vocab = this.config.vocabSize;
    const finished = new Uint8Array(rows).fill(1, requested.length * samples);
    let active = requested.length * samples;
    const last = new Int32Array(rows);
    const accept = (row: number, logits: Float32Array, offset: number) => {
      const token = sampleToken(logits, options, randoms[row], offset, vocab);
      last[row] = token;
      if (isEos(token) || stops.has(token)) {
        results[row].stopToken = token;
        results[row].finishReason = isEos(token) ? 'eos' : 'stop';
        finished[row] = 1;
        active--;
      } else {
        results[row].tokens.push(token);
        if (results[row].tokens.length >= maxNewTokens) {
          finished[row] = 1;
          active--;
        }
      }
    };

    // Prefill: each distinct prompt once.
    const promptLength = roundUp(Math.max(...prompts.map((prompt) => prompt.length)), this.promptLengthMultiple);
    const prefill = await this.prefillSessions.get({ batch: prompts.length, length: promptLength });
    const prefillFeeds = this.pack(prompts, promptLength);
    const prefillOutput = await prefill.run({ input_ids: prefillFeeds.inputIds, attention_mask: prefillFeeds.attentionMask, ...this.parameters });
    const prefillLogits = prefillOutput['logits'].data as Float32Array;
    for (let row = 0; row < rows; row++) if (finished[row] === 0) accept(row, prefillLogits, promptOf(row) * vocab);
    if (active === 0) return grouped();

    // The prompt's keys/values fill slots [0, promptLength) of the first bucket, each prompt repeated for its samples.
    let used = promptLength;
    let capacity = this.capacityFor(used);
    let cache = this.allocateCache(rows, capacity);
    this.writeSlots(cache, capacity, prefillOutput, promptLength, 0, rows, promptOf);
    let slotBias = new Float32Array(rows * capacity).fill(MASKED_BIAS);
    const positions = new Int32Array(rows);
    for (let row = 0; row < rows; row++) {
      const length = prompts[promptOf(row)].length;
      slotBias.fill(0, row * capacity + promptLength - length, row * capacity + promptLength);
      positions[row] = length;
    }

    const inputIds = new BigInt64Array(rows);
    const positionIds = new BigInt64Array(rows);
    let bias = new Float32Array(rows * (capacity + 1));
    let decode: CompiledGraph = await this.decodeSessions.get({ batch: rows, length: 1, extra: String(capacity) });
    while (active > 0) {
      if (used >= capacity) {
        const grown = this.capacityFor(used);
        const next = this.allocateCache(rows, grown);
        const { numKeyValueHeads: heads, headDim } = this.config;
        for (const [name, tensor] of Object.entries(cache)) {
          const from = tensor.data as Float32Array;
          const to = next[name].data as Float32Array;
          for (let block = 0; block < rows * heads; block++) to.set(from.subarray(block * capacity * headDim, (block + 1) * capacity * headDim), block * grown * headDim);
        }
        const nextBias = new Float32Array(rows * grown).fill(MASKED_BIAS);
        for (let row = 0; row < rows; row++) nextBias.set(slotBias.subarray(row * capacity, (row + 1) * capacity), row * grown);
        cache = next;
        slotBias = nextBias;
        capacity = grown;
        bias = new Float32Array(rows * (capacity + 1));
        decode = await this.decodeSessions.get({ batch: rows, length: 1, extra: String(capacity) });
      }
      for (let row = 0; row < rows; row++) {
        inputIds[row] = BigInt(finished[row] === 1 ? this.tokenizer.padTokenId : last[row]);
        positionIds[row] = BigInt(positions[row]);
        bias.set(slotBias.subarray(row * capacity, (row + 1) * capacity), row * (capacity + 1));
      }
      const output = await decode.run({ ...this.parameters, ...cache, input_ids: inputIds, position_ids: positionIds, attention_bias: bias });
      this.writeSlots(cache, capacity, output, 1, used, rows, (row) => row);
      for (let row = 0; row < rows; row++) {
        slotBias[row * capacity + used] = 0;
        positions[row]++;
      }
      used++;
      const logits = output['logits'].data as Float32Array;
      for (let row = 0; row < rows; row++) if (finished[row] === 0) accept(row, logits, row * vocab);
    }
    return grouped();
  }

  /**
   * Generates from text prompts (tokenised with the model's tokenizer; BOS as `addBos`, default
   * true) and decodes each sample's tokens (special tokens kept).
   *
   * @example
   * const [samples] = await model.generate(['<query>what is dna</query><thought>'], { samples: 3, seed: 1 });
   */
  async generate(prompts: readonly string[], options: GenerateOptions = {}): Promise<GeneratedSample[][]> {
    const tokenized = prompts.map((prompt) => {
      let tokens = this.tokenizer.encode(prompt, { addBos: options.addBos ?? true });
      if (options.maxPromptLength !== undefined && tokens.length > options.maxPromptLength) tokens = tokens.slice(tokens.length - options.maxPromptLength);
      if (tokens.length === 0) {
        const bos = this.tokenizer.bosTokenId ?? this.config.bosTokenId;
        if (bos === undefined) throw new O1Error('BAD_ARGUMENT', 'an empty prompt needs a BOS token, and the tokenizer has none');
        tokens = [bos];
      }
      return tokens;
    });
    const results = await this.generateTokens(tokenized, options);
    for (const group of results) for (const sample of group) sample.text = this.tokenizer.decode(sample.tokens);
    return results;
  }

  /**
   * Embeds token sequences: sorted by length, batched (up to `maxBatchSize` rows and
   * `tokensPerBatch` padded tokens, lengths padded to multiples of `lengthMultiple`), pooled in
   * the graph (`last` by default), L2-normalised unless `normalize: false`, and returned in the
   * input order.
   *
   * @example
   * const vectors = await model.embedTokens([[1, 5, 9], [1, 7]], { pooling: 'mean' });
   */
  async embedTokens(sequences: readonly (readonly number[])[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const pooling = options.pooling ?? 'last';
    const maxBatchSize = options.maxBatchSize ?? 32;
    const tokensPerBatch = options.tokensPerBatch ?? 4096;
    const lengthMultiple = options.lengthMultiple ?? 16;
    const rows = options.maxLength === undefined ? sequences : sequences.map((sequence) => sequence.slice(0, options.maxLength));
    this.checkTokens(rows);
    const order = rows.map((_, index) => index).sort((a, b) => rows[b].length - rows[a].length || a - b);
    const vectors: Float32Array[] = new Array(rows.length);
    const width = this.config.hiddenSize;
    let done = 0;
    while (done < order.length) {
      const length = roundUp(rows[order[done]].length, lengthMultiple);
      const batch = Math.max(1, Math.min(maxBatchSize, Math.floor(tokensPerBatch / length)));
      const members = order.slice(done, done + batch);
      // A short batch is filled with one-token rows: to the full batch when there are more rows
      // than one batch, else to the next row bucket, so every length keeps a few sessions however
      // many texts a server's batch happens to hold.
      const target = order.length > batch ? batch : this.rowBuckets ? Math.min(batch, bucketRows(members.length)) : members.length;
      const batchRows = padRows(members.map((index) => rows[index]), target, [this.tokenizer.padTokenId]);
      const compiled = await this.embeddingSessions.get({ batch: batchRows.length, length, extra: pooling });
      const { inputIds, attentionMask } = this.pack(batchRows, length);
      const output = await compiled.run({ input_ids: inputIds, attention_mask: attentionMask, ...this.parameters });
      const pooled = output['pooled'].data as Float32Array;
      members.forEach((index, row) => {
        const vector = pooled.slice(row * width, (row + 1) * width);
        vectors[index] = options.normalize === false ? vector : l2NormalizeInPlace(vector);
      });
      done += members.length;
      options.onProgress?.(done, order.length);
    }
    return vectors;
  }

  /**
   * Embeds texts (BOS as `addBos`, default true; truncated to `maxLength` tokens when given):
   * see {@link embedTokens}.
   *
   * @example
   * const [document] = await model.embed(['Title text of the document<emb>'], { maxLength: 512 });
   */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const sequences = texts.map((text) => {
      const tokens = this.tokenizer.encode(text, { addBos: options.addBos ?? true });
      if (tokens.length > 0) return tokens;
      const fallback = this.tokenizer.bosTokenId ?? this.eosTokenId;
      if (fallback === undefined) throw new O1Error('BAD_ARGUMENT', 'an empty text has no tokens to embed');
      return [fallback];
    });
    return this.embedTokens(sequences, options);
  }
}

/**
 * The row count a batch of `count` rows is padded to: the next of 1, 2, 3, 4, 6, 8, 12, 16, 24, ...
 * (powers of two and their halfway points): two sessions per octave of batch sizes, and a padded
 * batch runs at most a third more rows (powers of two alone pad up to twice the rows).
 * `npm run bench:generate`'s `row_buckets` times padded against unpadded generation.
 */
function bucketRows(count: number): number {
  const power = 2 ** Math.floor(Math.log2(Math.max(1, count)));
  if (count <= power) return power;
  return count <= power * 1.5 ? power * 1.5 : power * 2;
}

/** `rows` followed by copies of `filler` up to `count` rows. */
function padRows(rows: readonly (readonly number[])[], count: number, filler: readonly number[]): (readonly number[])[] {
  const padded: (readonly number[])[] = [...rows];
  while (padded.length < count) padded.push(filler);
  return padded;
}
