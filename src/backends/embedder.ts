/**
 * The Embedder seam: anything that turns queries and documents into vectors (our engine, a GGUF
 * model through node-llama-cpp, an OpenAI-compatible server, USE-Lite). It is asymmetric, as
 * retrieval models are: queries (optionally with a thought, for thinking retrieval) and documents
 * (title and text) may be embedded differently (prefixes such as `query: ` / `passage: `, or the
 * O1 layout). Types only; implementations live in the provider folders and are built from
 * serialisable configs by ./registry.ts.
 */

/**
 * A serialisable description of an embedder: `{ "backend": "llama-cpp", "model": "bge.gguf" }`.
 * `backend` names a registered factory; the other keys are that backend's settings.
 */
export interface EmbedderConfig {
  backend: string;
  [setting: string]: unknown;
}

/** A document to embed: a plain string is the text of an untitled document. */
export type DocumentInput = string | { title?: string; text: string };

/**
 * A query to embed: a plain string, or a query with one thought (thinking retrieval). Backends
 * without a layout of their own embed `text + thoughtSeparator + thought` (default separator one
 * space); an O1 model embeds `<query>text</query><thought>thought{EOS}<emb>`.
 */
export type QueryInput = string | { text: string; thought?: string };

/** Options of {@link Embedder.embedQueries} and {@link Embedder.embedDocuments}. */
export interface EmbedOptions {
  /** Cancels the work; the promise rejects with an O1Error CANCELLED. */
  signal?: AbortSignal;
  /** Called with (texts done, total) as batches finish. */
  onProgress?: (done: number, total: number) => void;
}

/** Tokens consumed by one call (what OpenAI reports as `usage.prompt_tokens`). */
export interface EmbeddingUsage {
  tokens: number;
}

/** What an embedding call returns: one vector per input, in order, and the tokens used. */
export interface EmbeddingResult {
  vectors: Float32Array[];
  usage: EmbeddingUsage;
}

/**
 * An embedder. Vectors are L2-normalised unless the backend's config says otherwise
 * (`normalize: false`).
 *
 * @example
 * const embedder = await createEmbedder({ backend: 'openai', baseUrl: 'http://127.0.0.1:8080/v1', model: 'bge' });
 * const { vectors: [query] } = await embedder.embedQueries(['what causes tides']);
 * const { vectors } = await embedder.embedDocuments([{ title: 'Tides', text: 'The moon ...' }]);
 * await embedder.close();
 */
export interface Embedder {
  /** Registry name of the backend, e.g. `openai`. */
  readonly backend: string;
  /** The model's name, as servers report it (`/v1/models`). */
  readonly model: string;
  /**
   * A stable identity of everything that decides the vectors (weights, layout, prefixes, pooling),
   * used to key document-vector caches and persistent indexes.
   */
  readonly identity: string;
  /** Vector length (for HTTP backends without a configured `dimension`, one probe request). */
  dimension(): Promise<number>;
  /** One vector per query, in order. Rejects with an O1Error when the backend fails (after its retries). */
  embedQueries(queries: readonly QueryInput[], options?: EmbedOptions): Promise<EmbeddingResult>;
  /** One vector per document, in order. Rejects with an O1Error when the backend fails (after its retries). */
  embedDocuments(documents: readonly DocumentInput[], options?: EmbedOptions): Promise<EmbeddingResult>;
  /** The config that recreates this embedder (secrets left out). */
  config(): EmbedderConfig;
  /** Releases models, contexts and sockets. Idempotent. */
  close(): Promise<void>;
}
