/**
 * The dense retriever of an O1 model WITHOUT thinking (the query-only ablation, which thought
 * dropout trains): documents `{title} {text}<emb>`, queries `<query>q</query><thought>{EOS}<emb>`,
 * exact inner-product search. {@link O1Retriever} (../o1/) extends it with thoughts.
 */
import type { Document, Hit, Query } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import type { O1Model } from '../../o1/model.js';
import { Progress } from '../../util/progress.js';
import { Settings } from '../../backends/settings.js';
import { DEFAULT_HITS, type IndexOptions, type Retriever, type RetrieverConfig, type SearchOptions } from '../retriever.js';
import { documentKey, EmbeddingCache } from './embedding-cache.js';
import { FlatInnerProductIndex } from './vector-index.js';

/** Settings of a {@link DenseRetriever}; also its registry config (with `retriever: 'dense'`). */
export interface DenseRetrieverOptions {
  /** The O1 model: a Hugging Face folder or a GGUF file. Required. */
  model: string;
  /** ONNX Runtime threads. Default the engine's default. */
  threads?: number;
  /** Document tokens before `<emb>`. Default 512. */
  documentMaxLength?: number;
  /**
   * A JSONL file caching document vectors (keyed by model identity, token limit and document
   * text), so evaluating dense, o1 and fused with one model embeds a corpus once. Default none.
   */
  documentCache?: string;
}

/** Search options of the dense and O1 retrievers. */
export interface DenseSearchOptions extends SearchOptions {
  /** No progress bar. Default false. */
  quiet?: boolean;
}

/** Where the time went, in milliseconds (summed over calls). */
export interface DenseTimings {
  loadModelMs: number;
  embedDocumentsMs: number;
  thinkMs: number;
  embedQueriesMs: number;
  vectorSearchMs: number;
}

/** Encoded queries: one vector each, and the thoughts behind it when the retriever thinks. */
export interface EncodedQueries {
  vectors: Float32Array[];
  thoughts?: string[][];
}

/** Loads an O1 model on first use (the engine, and ONNX Runtime, load only when a dense retriever runs). */
async function loadO1Model(path: string, threads: number | undefined): Promise<O1Model> {
  const { O1Model: Model } = await import('../../o1/model.js');
  return Model.load(path, { threads });
}

/** Reads the settings every dense retriever shares; the caller rejects unknown keys. */
export function readDenseSettings(settings: Settings): DenseRetrieverOptions {
  return {
    model: settings.string('model'),
    threads: settings.optionalInteger('threads', 1),
    documentMaxLength: settings.optionalInteger('documentMaxLength', 1),
    documentCache: settings.optionalString('documentCache'),
  };
}

/**
 * Dense retrieval with an O1 model's query-only embedding.
 *
 * @example
 * const dense = new DenseRetriever({ model: 'models/o1-qwen' });
 * await dense.index(corpus);
 * const hits = await dense.search({ id: 'q1', text: 'what causes tides' }, { hits: 10 });
 * await dense.dispose();
 */
export class DenseRetriever implements Retriever {
  readonly name: string = 'dense';
  readonly options: DenseRetrieverOptions;
  readonly timings: DenseTimings = { loadModelMs: 0, embedDocumentsMs: 0, thinkMs: 0, embedQueriesMs: 0, vectorSearchMs: 0 };
  /** Documents whose vectors came from the document cache (summed over index calls). */
  cachedDocuments = 0;
  protected loaded?: Promise<O1Model>;
  /** False when the model was handed in: its owner disposes it. */
  private readonly ownsModel: boolean;
  private vectors?: FlatInnerProductIndex;
  private ids: string[] = [];
  private rowOfId = new Map<string, number>();

  /** @param model an already loaded model to use instead of loading `options.model` (tests, sharing). */
  constructor(options: DenseRetrieverOptions, model?: O1Model) {
    if (typeof options?.model !== 'string' || options.model.length === 0) throw new O1Error('BAD_ARGUMENT', `a ${this.name} retriever needs a "model" path`, { field: 'model' });
    this.options = { ...options };
    this.ownsModel = model === undefined;
    if (model !== undefined) this.loaded = Promise.resolve(model);
  }

  /** Builds one from a registry config (`{ "retriever": "dense", "model": PATH }`). */
  static fromConfig(config: RetrieverConfig): DenseRetriever {
    const settings = new Settings(config, 'dense retriever');
    settings.string('retriever');
    const options = readDenseSettings(settings);
    settings.rejectUnknown();
    return new DenseRetriever(options);
  }

  /** The model, loaded on first use. */
  model(): Promise<O1Model> {
    if (this.loaded === undefined) {
      const started = performance.now();
      this.loaded = loadO1Model(this.options.model, this.options.threads).then((model) => {
        this.timings.loadModelMs += Math.round(performance.now() - started);
        return model;
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
    const model = await this.model();
    const all: Document[] = [];
    for await (const document of documents) all.push(document);
    const seen = new Set<string>();
    for (const document of all) {
      if (seen.has(document.id)) throw new O1Error('DUPLICATE_ID', `document id ${document.id} appears twice`, { field: 'id' });
      seen.add(document.id);
    }
    const started = performance.now();
    const progress = new Progress({ label: `${this.name} index`, total: all.length, unit: 'docs', quiet: options.quiet });
    let reported = 0;
    const cache = this.options.documentCache === undefined ? undefined : await EmbeddingCache.open(this.options.documentCache);
    const keys = cache === undefined ? [] : all.map((document) => documentKey({ model: model.identity, maxLength: this.options.documentMaxLength, title: document.title, text: document.text }));
    const vectors: (Float32Array | undefined)[] = cache === undefined ? all.map(() => undefined) : keys.map((key) => cache.get(key));
    const missing = all.map((_, row) => row).filter((row) => vectors[row] === undefined);
    this.cachedDocuments += all.length - missing.length;
    progress.tick(all.length - missing.length);
    const fresh = missing.length === 0 ? [] : await model.embedDocuments(missing.map((row) => all[row]), {
      maxLength: this.options.documentMaxLength,
      onProgress: (done) => {
        progress.tick(done - reported);
        reported = done;
      },
    });
    missing.forEach((row, index) => { vectors[row] = fresh[index]; });
    await cache?.set(missing.map((row, index) => ({ key: keys[row], vector: fresh[index] })));
    progress.finish();
    const index = new FlatInnerProductIndex(model.dimension, all.length);
    index.add(vectors as Float32Array[]);
    this.vectors = index;
    this.ids = all.map((document) => document.id);
    this.rowOfId = new Map(this.ids.map((id, row) => [id, row]));
    this.timings.embedDocumentsMs += Math.round(performance.now() - started);
  }

  /** Query vectors (here without thinking). Subclasses think first. */
  protected async encodeQueries(model: O1Model, texts: string[], options: DenseSearchOptions): Promise<EncodedQueries> {
    const started = performance.now();
    const progress = new Progress({ label: `${this.name} queries`, total: texts.length, unit: 'queries', quiet: options.quiet });
    let reported = 0;
    const vectors = await model.embedQueriesWithoutThinking(texts, {
      onProgress: (done) => {
        progress.tick(done - reported);
        reported = done;
      },
    });
    progress.finish();
    this.timings.embedQueriesMs += Math.round(performance.now() - started);
    return { vectors };
  }

  async search(query: Query | string, options: DenseSearchOptions = {}): Promise<Hit[]> {
    const asQuery = typeof query === 'string' ? { id: '', text: query } : query;
    const results = await this.searchQueries([asQuery], { ...options, removeQuery: typeof query !== 'string' && options.removeQuery }, true);
    return results[0];
  }

  async searchMany(queries: readonly Query[], options: DenseSearchOptions = {}): Promise<Map<string, Hit[]>> {
    const results = await this.searchQueries(queries, options, false);
    return new Map(queries.map((query, index) => [query.id, results[index]]));
  }

  private async searchQueries(queries: readonly Query[], options: DenseSearchOptions, single: boolean): Promise<Hit[][]> {
    if (this.vectors === undefined) throw new O1Error('BAD_ARGUMENT', `the ${this.name} retriever has no index: call index() first`);
    const hits = options.hits ?? DEFAULT_HITS;
    if (!(Number.isInteger(hits) && hits >= 0)) throw new O1Error('BAD_ARGUMENT', `hits must be a non-negative integer, got ${hits}`, { field: 'hits' });
    if (queries.length === 0) return [];
    const model = await this.model();
    const encoded = await this.encodeQueries(model, queries.map((query) => query.text), { ...options, quiet: options.quiet ?? single });
    const started = performance.now();
    const exclude = queries.map((query) => (options.removeQuery === true ? this.rowOfId.get(query.id) : undefined));
    const found = this.vectors.search(encoded.vectors, hits, exclude);
    this.timings.vectorSearchMs += Math.round(performance.now() - started);
    return found.map((rows, index) => {
      const thoughts = encoded.thoughts?.[index];
      return rows.map(({ index: row, score }) => (thoughts === undefined ? { id: this.ids[row], score } : { id: this.ids[row], score, thoughts }));
    });
  }

  config(): RetrieverConfig {
    const config: RetrieverConfig = { retriever: this.name, model: this.options.model };
    if (this.options.threads !== undefined) config.threads = this.options.threads;
    if (this.options.documentMaxLength !== undefined) config.documentMaxLength = this.options.documentMaxLength;
    if (this.options.documentCache !== undefined) config.documentCache = this.options.documentCache;
    return config;
  }

  /** Releases the model (when this retriever loaded it). */
  async dispose(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded !== undefined && this.ownsModel) await (await loaded).dispose();
  }
}
