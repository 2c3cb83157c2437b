/**
 * `o1-embedder/ai-sdk`: a Vercel AI SDK provider (embedding-model specification v3, what `ai` 6
 * uses and `ai` 7 accepts). It imports only types from `@ai-sdk/provider`; the root
 * `o1-embedder` import never loads it.
 *
 * @example
 * import { embed } from 'ai';
 * import { createO1Embedder } from 'o1-embedder/ai-sdk';
 *
 * const o1 = createO1Embedder({ embedder: { backend: 'engine', model: 'models/o1-small' }, thinker: { backend: 'engine', model: 'models/o1-small' } });
 * const { embedding } = await embed({ model: o1.embedding(), value: 'what causes tides', providerOptions: { o1: { inputType: 'query' } } });
 *
 * @module
 */
export { createO1Embedder, readO1ProviderOptions, O1_PROVIDER_KEY, type O1EmbedderProvider, type O1EmbedderProviderSettings, type O1EmbeddingModel, type O1EmbeddingProviderOptions } from './provider.js';
export { ThinkingEmbedder, type ThinkingEmbedderOptions, type ThinkingEmbeddings, type ThinkingQueryOptions } from '../../thinking/thinking-embedder.js';
