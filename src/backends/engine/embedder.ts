import { basename, extname } from 'node:path';
import { O1Error } from '../../errors.js';
import type { Embedder, EmbedderConfig } from '../embedder.js';
import { Settings } from '../settings.js';
import { acquireEngineModel, type EngineModelLease } from './runtime.js';

/** What the `engine` embedder's texts are, for an O1 model. */
export type EngineEmbeddingInput = 'document' | 'query' | 'thinking-query';

/** Settings of the `engine` embedder (JSON config keys). */
export interface EngineEmbedderConfig {
  backend: 'engine';
  /** Model path: a Hugging Face folder, a GGUF file or a llama2.c checkpoint. Required. */
  model: string;
  /** ONNX Runtime threads. Default the engine's default. */
  threads?: number;
  /** `auto` (default): `o1` when the tokenizer has the O1 tokens, else `plain`. */
  layout?: 'auto' | 'o1' | 'plain';
  /**
   * O1 models: `document` (default; `{text}<emb>`, 512 tokens), `query` (no thinking:
   * `<query>q</query><thought>{EOS}<emb>`) or `thinking-query` (3 thoughts, seed 0, mean).
   */
  input?: EngineEmbeddingInput;
  /** Plain models: keep at most this many tokens. Default: all. */
  maxLength?: number;
}

/**
 * An embedder on this project's engine. An O1 model embeds in its layout (see `input`); a plain
 * model embeds the text with last-token pooling. Vectors are L2-normalised (thinking queries:
 * the plain mean of normalised vectors, as O1 Embedder).
 *
 * @example
 * const embedder = await EngineEmbedder.create({ backend: 'engine', model: 'models/o1', input: 'document' });
 * const [vector] = await embedder.embed(['Tides are caused by the moon.']);
 */
export class EngineEmbedder implements Embedder {
  readonly backend = 'engine';
  readonly model: string;

  private constructor(private readonly settings: EngineEmbedderConfig, private readonly lease: EngineModelLease) {
    this.model = basename(settings.model, extname(settings.model));
  }

  /** Loads (or shares) the model. */
  static async create(config: EngineEmbedderConfig | EmbedderConfig): Promise<EngineEmbedder> {
    const settings = new Settings(config, 'engine embedder');
    const values: EngineEmbedderConfig = {
      backend: 'engine',
      model: settings.string('model'),
      threads: settings.optionalInteger('threads', 1),
      layout: settings.oneOf('layout', ['auto', 'o1', 'plain'] as const, 'auto'),
      input: settings.oneOf('input', ['document', 'query', 'thinking-query'] as const, 'document'),
      maxLength: settings.optionalInteger('maxLength', 1),
    };
    settings.rejectUnknown();
    const lease = await acquireEngineModel(values.model, values.threads);
    if (values.layout === 'o1' && lease.model.o1 === undefined) {
      await lease.release();
      throw new O1Error('MISSING_SPECIAL_TOKENS', 'layout "o1" needs a model whose tokenizer has <query>, </query>, <thought> and <emb>', { file: values.model });
    }
    return new EngineEmbedder(values, lease);
  }

  async dimension(): Promise<number> {
    return this.lease.model.decoder.config.hiddenSize;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const o1 = this.settings.layout === 'plain' ? undefined : this.lease.model.o1;
    if (o1 === undefined) return this.lease.model.decoder.embed(texts, { pooling: 'last', normalize: true, maxLength: this.settings.maxLength });
    switch (this.settings.input) {
      case 'query':
        return o1.embedQueriesWithoutThinking(texts);
      case 'thinking-query':
        return o1.embedQueries(texts);
      default:
        return o1.embedDocuments(texts);
    }
  }

  config(): EmbedderConfig {
    const config: EmbedderConfig = { backend: 'engine', model: this.settings.model, layout: this.settings.layout, input: this.settings.input };
    if (this.settings.threads !== undefined) config.threads = this.settings.threads;
    if (this.settings.maxLength !== undefined) config.maxLength = this.settings.maxLength;
    return config;
  }

  async close(): Promise<void> {
    await this.lease.release();
  }
}
