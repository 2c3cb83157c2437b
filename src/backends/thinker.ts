/**
 * The Thinker seam: anything that writes text (an OpenAI-compatible server, a GGUF model through
 * node-llama-cpp, later the O1 model itself). Types only; implementations live in the provider
 * folders and are built from serialisable configs by ./registry.ts.
 */

/** Who said a chat message. `assistant` is the model. */
export type ChatRole = 'system' | 'user' | 'assistant';

/** One chat message, as in OpenAI's chat API. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** A prompt: plain text (completion) or a conversation (chat). */
export type ThinkerPrompt = string | readonly ChatMessage[];

/** Sampling settings of {@link Thinker.generate}. Unset values take the backend's defaults. */
export interface GenerateOptions {
  /** Completions per prompt. Default 1. */
  n?: number;
  /** Sampling temperature; 0 is greedy. Default: the backend's (llama-cpp: 0.8). */
  temperature?: number;
  /** Nucleus sampling threshold. Default: the backend's (llama-cpp: 0.95). */
  topP?: number;
  /** Most new tokens per completion. Default: the backend's (llama-cpp: 256). */
  maxTokens?: number;
  /** Seed for reproducible sampling; completion i of a prompt uses `seed + i`. Default: random. */
  seed?: number;
  /** Strings that end a completion (not included in it). */
  stop?: readonly string[];
  /** Cancels the generation. */
  signal?: AbortSignal;
}

/**
 * A serialisable description of a thinker: `{ "backend": "openai", "baseUrl": "...", "model": "..." }`.
 * `backend` names a registered factory; the other keys are that backend's settings.
 */
export interface ThinkerConfig {
  backend: string;
  [setting: string]: unknown;
}

/** A query to think about: its text, and its id when it has one (the `file` thinker matches by id). */
export interface ThinkerQuery {
  id?: string;
  text: string;
}

export interface Thinker {
  /** Registry name of the backend, e.g. `openai`. */
  readonly backend: string;
  /** The model's name, as servers report it (`/v1/models`). */
  readonly model: string;
  /**
   * A stable identity of what decides the text (weights or server + model), for the thought
   * cache; sampling settings and prompts are added to the cache key by the caller.
   */
  readonly identity: string;
  /**
   * Native thinking, for backends that think about a query without a prompt of ours: the O1
   * model (`<query>q</query><thought>`) and the `file` backend (thoughts written earlier).
   * result[q][i] is thought i of query q. Backends without it are prompted through
   * {@link Thinker.generate} (src/thinking/ builds the prompt).
   */
  think?(queries: readonly ThinkerQuery[], options?: GenerateOptions): Promise<string[][]>;
  /** True when thoughts depend on the query's id, not only its text (the `file` backend). */
  readonly keyedById?: boolean;
  /**
   * Generates `n` completions for every prompt: result[p][i] is completion i of prompt p.
   * Rejects with an O1Error when the backend fails (after its retries); backends that only
   * think (the `file` backend) reject with UNSUPPORTED_OP.
   */
  generate(prompts: readonly ThinkerPrompt[], options?: GenerateOptions): Promise<string[][]>;
  /** The config that recreates this thinker (secrets left out). */
  config(): ThinkerConfig;
  /** Releases models, contexts and sockets. Idempotent. */
  close(): Promise<void>;
}
