import { basename } from 'node:path';
import type { LlamaEmbeddingContext, Token } from 'node-llama-cpp';
import { O1Error } from '../../errors.js';
import { GGUF_POOLING_TYPE } from '../../model/formats/gguf.js';
import { modelIdentity } from '../../util/model-identity.js';
import { l2NormalizeInPlace } from '../../util/vectors.js';
import type { DocumentInput, EmbedOptions, Embedder, EmbedderConfig, EmbeddingResult, QueryInput } from '../embedder.js';
import { documentText, embedInBatches, queryText, readTextSettings, splitDocument, splitQuery, textSettingsConfig, type TextSettings } from '../inputs.js';
import { Settings } from '../settings.js';
import { hasLlamaCppO1Tokens, LlamaCppO1Layout } from './o1-layout.js';
import { acquireModel, type ModelLease } from './runtime.js';

/** Settings of the `llama-cpp` embedder (JSON config keys). */
export interface LlamaCppEmbedderConfig extends Partial<TextSettings> {
  backend: 'llama-cpp';
  /** Path of the GGUF file. Required. Pooling follows its `{arch}.pooling_type`. */
  model: string;
  /** Name reported by servers. Default the file name without `.gguf`. */
  name?: string;
  /** CPU threads. Default 1 (llama.cpp's own default oversubscribes small machines badly). */
  threads?: number;
  /** Context window in tokens; longer plain texts keep their first tokens. Default min(2048, the model's training context). */
  contextSize?: number;
  /** L2-normalise vectors, as llama.cpp's server and OpenAI do. Default true. */
  normalize?: boolean;
  /**
   * `o1`: the O1 Embedder layout (documents `{title} {text}<emb>`, queries
   * `<query>q</query><thought>t{EOS}<emb>`, the `<emb>` state). `plain`: prefix + text, pooled as
   * the file says. `auto` (default): `o1` when the vocabulary has the four O1 tokens.
   */
  layout?: 'auto' | 'o1' | 'plain';
  /** Tokens of a text before `<emb>` (O1) or in all (plain). Default: O1 documents 512 and queries 256; plain texts what the context holds. */
  maxLength?: number;
}

/** Texts embedded between two checks of the signal (one: llama.cpp evaluates them one by one anyway). */
const TEXTS_PER_CHECK = 1;

/**
 * An embedder running a GGUF model in-process through node-llama-cpp's embedding context. An O1
 * model (see {@link LlamaCppEmbedderConfig.layout}) embeds exactly as the engine's O1 model does:
 * token ids built by src/o1/layout.ts's rules on llama.cpp's vocabulary, special tokens fed as
 * ids, the last (`<emb>`) state (the file must pool `last`, as `o1e convert` writes it). A plain
 * model embeds `queryPrefix + query [+ thoughtSeparator + thought]` and
 * `documentPrefix + title + titleSeparator + text`. Token usage counts the tokens evaluated.
 *
 * @example
 * const embedder = await LlamaCppEmbedder.create({ backend: 'llama-cpp', model: 'o1-small.gguf', layout: 'o1' });
 * const { vectors: [query] } = await embedder.embedQueries([{ text: 'what causes tides', thought: 'The moon.' }]);
 * const { vectors, usage } = await embedder.embedDocuments([{ title: 'Tides', text: 'The moon pulls the sea.' }]);
 * await embedder.close();
 */
export class LlamaCppEmbedder implements Embedder {
  readonly backend = 'llama-cpp';
  private closed = false;
  // One evaluation at a time: the embedding context has a single sequence.
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly model: string,
    readonly identity: string,
    private readonly lease: ModelLease,
    private readonly context: LlamaEmbeddingContext,
    private readonly contextSize: number,
    private readonly normalize: boolean,
    private readonly text: TextSettings,
    private readonly o1: LlamaCppO1Layout | undefined,
    private readonly maxLength: number | undefined,
    private readonly settings: EmbedderConfig,
  ) {}

  /**
   * Loads the model (shared with any thinker on the same file) and creates its embedding context.
   * Rejects with O1Error BAD_ARGUMENT for bad settings, MISSING_FILE, MISSING_SPECIAL_TOKENS for
   * `layout: "o1"` on a model without the O1 tokens, UNSUPPORTED_OP when an O1 model's file pools
   * other than by the last token.
   */
  static async create(config: LlamaCppEmbedderConfig | EmbedderConfig): Promise<LlamaCppEmbedder> {
    const settings = new Settings(config, 'llama-cpp embedder');
    const path = settings.string('model');
    const name = settings.string('name', basename(path).replace(/\.gguf$/i, ''));
    const threads = settings.integer('threads', 1, 1);
    const requestedContext = settings.optionalInteger('contextSize', 8);
    const normalize = settings.boolean('normalize', true);
    const layoutSetting = settings.oneOf('layout', ['auto', 'o1', 'plain'] as const, 'auto');
    const maxLength = settings.optionalInteger('maxLength', 1);
    const text = readTextSettings(settings);
    settings.rejectUnknown();
    const lease = await acquireModel(path);
    try {
      const model = lease.model;
      const o1 = layoutSetting === 'o1' || (layoutSetting === 'auto' && hasLlamaCppO1Tokens(model)) ? new LlamaCppO1Layout(model, path) : undefined;
      const pooling = poolingOf(model.fileInfo.metadata as Record<string, unknown>, model.fileInfo.metadata.general.architecture);
      if (o1 !== undefined) {
        if (Object.keys(textSettingsConfig(text)).length > 0) {
          throw new O1Error('BAD_ARGUMENT', 'an O1 model embeds in its own layout (no prefixes or separators); use layout "plain" to embed it as a plain decoder', { field: 'layout' });
        }
        // Without the key (or with none) llama.cpp returns the last token's state, which is the O1 embedding too.
        if (pooling !== undefined && pooling !== GGUF_POOLING_TYPE.none && pooling !== GGUF_POOLING_TYPE.last) {
          throw new O1Error('UNSUPPORTED_OP', `the GGUF pools type ${pooling}, but an O1 model embeds at its last token (<emb>): convert it with --pooling last`, { file: path, field: 'pooling_type' });
        }
      }
      const contextSize = requestedContext ?? Math.min(2048, model.trainContextSize);
      const context = await model.createEmbeddingContext({ threads, contextSize });
      const layout = o1 === undefined ? `plain:${pooling ?? ''}:${JSON.stringify(textSettingsConfig(text))}:${contextSize}` : 'o1';
      const identity = `llama-cpp:${await modelIdentity(path)}:${layout}:${maxLength ?? ''}:${normalize ? 'normalized' : 'raw'}`;
      const publicSettings: EmbedderConfig = { backend: 'llama-cpp', model: path, name, threads, contextSize, normalize, layout: layoutSetting, ...textSettingsConfig(text) };
      if (maxLength !== undefined) publicSettings.maxLength = maxLength;
      return new LlamaCppEmbedder(name, identity, lease, context, contextSize, normalize, text, o1, maxLength, publicSettings);
    } catch (error) {
      await lease.release();
      throw error;
    }
  }

  /** Whether this embedder uses the O1 layout. */
  get embedsAsO1(): boolean {
    return this.o1 !== undefined;
  }

  async dimension(): Promise<number> {
    return this.lease.model.embeddingVectorSize;
  }

  embedQueries(queries: readonly QueryInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
    const o1 = this.o1;
    const sequences = queries.map((query, index) => {
      if (o1 === undefined) return this.plainIds(queryText(query, this.text), `query ${index}`);
      const { text, thought } = splitQuery(query);
      return o1.querySequenceIds(text, thought, { maxLength: this.maxLength });
    });
    return this.embedSequences(sequences, options);
  }

  embedDocuments(documents: readonly DocumentInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
    const o1 = this.o1;
    const sequences = documents.map((document, index) => o1 === undefined
      ? this.plainIds(documentText(document, this.text), `document ${index}`)
      : o1.documentIds(splitDocument(document), { maxLength: this.maxLength }));
    return this.embedSequences(sequences, options);
  }

  config(): EmbedderConfig {
    return { ...this.settings };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.context.dispose();
    await this.lease.release();
  }

  /** A plain text's tokens (no special tokens parsed), cut so that BOS/EOS added by llama.cpp still fit. */
  private plainIds(text: string, what: string): Token[] {
    const model = this.lease.model;
    const added = (model.tokens.shouldPrependBosToken ? 1 : 0) + (model.tokens.shouldAppendEosToken ? 1 : 0);
    const limit = Math.min(this.maxLength ?? Number.POSITIVE_INFINITY, this.contextSize - 1 - added);
    const tokens = model.tokenize(text).slice(0, limit);
    if (tokens.length + added === 0) throw new O1Error('BAD_ARGUMENT', `llama-cpp embedder: ${what} is empty and the model adds no BOS: there is nothing to embed`, { field: 'text' });
    return tokens;
  }

  /** How many tokens llama.cpp evaluates for `tokens` (node-llama-cpp adds BOS/EOS when the file asks and they are missing). */
  private evaluatedLength(tokens: readonly Token[]): number {
    const model = this.lease.model;
    const bos = model.tokens.shouldPrependBosToken && tokens[0] !== model.tokens.bos ? 1 : 0;
    const eos = model.tokens.shouldAppendEosToken && tokens.at(-1) !== model.tokens.eos ? 1 : 0;
    return tokens.length + bos + eos;
  }

  private embedSequences(sequences: Token[][], options: EmbedOptions | undefined): Promise<EmbeddingResult> {
    for (const sequence of sequences) {
      if (this.evaluatedLength(sequence) >= this.contextSize) {
        throw new O1Error('BAD_ARGUMENT', `llama-cpp embedder: a sequence of ${this.evaluatedLength(sequence)} tokens does not fit the context of ${this.contextSize}; raise contextSize`, { field: 'contextSize' });
      }
    }
    const run = this.queue.then(() => {
      if (this.closed) throw new O1Error('BAD_ARGUMENT', 'llama-cpp embedder: used after close()');
      return embedInBatches(sequences, TEXTS_PER_CHECK, options, 'llama-cpp embedder', async (batch) => {
        const vectors: Float32Array[] = [];
        let tokens = 0;
        for (const sequence of batch) {
          const embedding = await this.context.getEmbeddingFor(sequence);
          const vector = Float32Array.from(embedding.vector);
          vectors.push(this.normalize ? l2NormalizeInPlace(vector) : vector);
          tokens += this.evaluatedLength(sequence);
        }
        return { vectors, usage: { tokens } };
      });
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** `{arch}.pooling_type` from node-llama-cpp's parsed metadata (undefined when the file has none). */
function poolingOf(metadata: Record<string, unknown>, architecture: string): number | undefined {
  const section = metadata[architecture];
  if (typeof section !== 'object' || section === null) return undefined;
  const value = (section as Record<string, unknown>).pooling_type;
  return typeof value === 'number' ? value : undefined;
}
