import { basename, extname } from 'node:path';
import { O1Error } from '../../errors.js';
import { documentIds, querySequenceIds } from '../../o1/layout.js';
import type { DocumentInput, EmbedOptions, Embedder, EmbedderConfig, EmbeddingResult, QueryInput } from '../embedder.js';
import { documentText, embedInBatches, queryText, readTextSettings, splitDocument, splitQuery, textSettingsConfig, type TextSettings } from '../inputs.js';
import { Settings } from '../settings.js';
import { acquireEngineModel, type EngineModelLease } from './runtime.js';

/** Settings of the `engine` embedder (JSON config keys). */
export interface EngineEmbedderConfig extends Partial<TextSettings> {
  backend: 'engine';
  /** Model path: a Hugging Face folder, a GGUF file or a llama2.c checkpoint. Required. */
  model: string;
  /** ONNX Runtime threads. Default the engine's default. */
  threads?: number;
  /** `auto` (default): `o1` when the tokenizer has the O1 tokens, else `plain`. */
  layout?: 'auto' | 'o1' | 'plain';
  /** Plain models: `last` (default) or `mean` pooling of the last hidden states. */
  pooling?: 'last' | 'mean';
  /** Token limit: O1 documents 512 (the O1 default); plain texts all tokens. */
  maxLength?: number;
  /**
   * Texts handed to the decoder at once (it sorts them by length into its own batches); the
   * signal is checked and progress reported between these. Default 256.
   */
  batchSize?: number;
}

/**
 * An embedder on this project's engine. An O1 model embeds in its layout: documents
 * `{title} {text}<emb>`, queries `<query>q</query><thought>t{EOS}<emb>` (an empty thought without
 * thinking). A plain decoder embeds prefix + text with last-token (default) or mean pooling.
 * Vectors are L2-normalised.
 *
 * @example
 * const embedder = await EngineEmbedder.create({ backend: 'engine', model: 'models/o1-small' });
 * const { vectors: [query] } = await embedder.embedQueries([{ text: 'what causes tides', thought: 'The moon.' }]);
 * const { vectors } = await embedder.embedDocuments([{ title: 'Tides', text: 'The moon pulls the sea.' }]);
 * await embedder.close();
 */
export class EngineEmbedder implements Embedder {
  readonly backend = 'engine';
  readonly model: string;
  readonly identity: string;

  private constructor(private readonly settings: Required<Pick<EngineEmbedderConfig, 'model' | 'layout' | 'pooling' | 'batchSize'>> & EngineEmbedderConfig, private readonly text: TextSettings, private readonly lease: EngineModelLease, modelIdentity: string) {
    this.model = basename(settings.model, extname(settings.model));
    const layout = this.o1 === undefined ? `plain:${settings.pooling}:${JSON.stringify(textSettingsConfig(text))}` : 'o1';
    this.identity = `engine:${modelIdentity}:${layout}:${settings.maxLength ?? ''}`;
  }

  /** Loads (or shares) the model. */
  static async create(config: EngineEmbedderConfig | EmbedderConfig): Promise<EngineEmbedder> {
    const settings = new Settings(config, 'engine embedder');
    const values = {
      backend: 'engine' as const,
      model: settings.string('model'),
      threads: settings.optionalInteger('threads', 1),
      layout: settings.oneOf('layout', ['auto', 'o1', 'plain'] as const, 'auto'),
      pooling: settings.oneOf('pooling', ['last', 'mean'] as const, 'last'),
      maxLength: settings.optionalInteger('maxLength', 1),
      batchSize: settings.integer('batchSize', 256, 1),
    };
    const text = readTextSettings(settings);
    settings.rejectUnknown();
    const lease = await acquireEngineModel(values.model, values.threads);
    if (values.layout === 'o1' && lease.model.o1 === undefined) {
      await lease.release();
      throw new O1Error('MISSING_SPECIAL_TOKENS', 'layout "o1" needs a model whose tokenizer has <query>, </query>, <thought> and <emb>', { file: values.model });
    }
    const o1 = values.layout === 'plain' ? undefined : lease.model.o1;
    if (o1 !== undefined && (Object.keys(textSettingsConfig(text)).length > 0 || values.pooling !== 'last')) {
      await lease.release();
      throw new O1Error('BAD_ARGUMENT', 'an O1 model embeds in its own layout (last-token pooling, no prefixes); use layout "plain" to embed it as a plain decoder', { field: 'layout' });
    }
    return new EngineEmbedder(values, text, lease, o1?.identity ?? values.model);
  }

  private get o1() {
    return this.settings.layout === 'plain' ? undefined : this.lease.model.o1;
  }

  async dimension(): Promise<number> {
    return this.lease.model.decoder.config.hiddenSize;
  }

  async embedQueries(queries: readonly QueryInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
    const o1 = this.o1;
    const tokenizer = this.lease.model.decoder.tokenizer;
    const sequences = o1 === undefined
      ? queries.map((query) => this.plainIds(queryText(query, this.text)))
      : queries.map((query) => {
        const { text, thought } = splitQuery(query);
        return querySequenceIds(tokenizer, text, thought);
      });
    return this.embedSequences(sequences, options);
  }

  async embedDocuments(documents: readonly DocumentInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
    const o1 = this.o1;
    const tokenizer = this.lease.model.decoder.tokenizer;
    const sequences = o1 === undefined
      ? documents.map((document) => this.plainIds(documentText(document, this.text)))
      : documents.map((document) => documentIds(tokenizer, splitDocument(document), { maxLength: this.settings.maxLength }));
    return this.embedSequences(sequences, options);
  }

  private plainIds(text: string): number[] {
    const tokens = this.lease.model.decoder.tokenizer.encode(text, { addBos: true });
    return this.settings.maxLength === undefined ? tokens : tokens.slice(0, this.settings.maxLength);
  }

  private embedSequences(sequences: number[][], options: EmbedOptions | undefined): Promise<EmbeddingResult> {
    const pooling = this.o1 === undefined ? this.settings.pooling : 'last';
    return embedInBatches(sequences, this.settings.batchSize, options, 'engine embedder', async (batch) => ({
      vectors: await this.lease.model.decoder.embedTokens(batch, { pooling, normalize: true }),
      usage: { tokens: batch.reduce((sum, sequence) => sum + sequence.length, 0) },
    }));
  }

  config(): EmbedderConfig {
    const config: EmbedderConfig = { backend: 'engine', model: this.settings.model, layout: this.settings.layout, ...textSettingsConfig(this.text) };
    if (this.settings.pooling !== 'last') config.pooling = this.settings.pooling;
    if (this.settings.threads !== undefined) config.threads = this.settings.threads;
    if (this.settings.maxLength !== undefined) config.maxLength = this.settings.maxLength;
    if (this.settings.batchSize !== 256) config.batchSize = this.settings.batchSize;
    return config;
  }

  async close(): Promise<void> {
    await this.lease.release();
  }
}
