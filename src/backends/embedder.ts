/**
 * The Embedder seam: anything that turns texts into vectors (an OpenAI-compatible server, a GGUF
 * model through node-llama-cpp, later the O1 model itself). Types only; implementations live in
 * the provider folders and are built from serialisable configs by ./registry.ts.
 */

/**
 * A serialisable description of an embedder: `{ "backend": "llama-cpp", "model": "bge.gguf" }`.
 * `backend` names a registered factory; the other keys are that backend's settings.
 */
export interface EmbedderConfig {
  backend: string;
  [setting: string]: unknown;
}

export interface Embedder {
  /** Registry name of the backend, e.g. `openai`. */
  readonly backend: string;
  /** The model's name, as servers report it (`/v1/models`). */
  readonly model: string;
  /** Vector length (for HTTP backends without a configured `dimension`, one probe request). */
  dimension(): Promise<number>;
  /** One vector per text, in order. Rejects with an O1Error when the backend fails (after its retries). */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** The config that recreates this embedder (secrets left out). */
  config(): EmbedderConfig;
  /** Releases models, contexts and sockets. Idempotent. */
  close(): Promise<void>;
}
