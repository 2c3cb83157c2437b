/** Thinker and embedder backends: the seams, their registries and the built-in providers. */
export type { ChatMessage, ChatRole, GenerateOptions, Thinker, ThinkerConfig, ThinkerPrompt } from './thinker.js';
export type { Embedder, EmbedderConfig } from './embedder.js';
export {
  createEmbedder, createThinker, embedderBackends, registerBackend, registerEmbedder, registerThinker, thinkerBackends,
  type EmbedderFactory, type ThinkerFactory,
} from './registry.js';
export { OpenAiClient, type OpenAiClientOptions, type RequestEvent } from './openai/client.js';
export { OpenAiThinker, type OpenAiThinkerConfig } from './openai/thinker.js';
export { OpenAiEmbedder, type OpenAiEmbedderConfig } from './openai/embedder.js';
export { LlamaCppThinker, type LlamaCppThinkerConfig } from './llama-cpp/thinker.js';
export { LlamaCppEmbedder, type LlamaCppEmbedderConfig } from './llama-cpp/embedder.js';
export { loadJsonConfig } from './settings.js';
