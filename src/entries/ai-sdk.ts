/**
 * `o1-embedder/ai-sdk`: a Vercel AI SDK embedding-model provider (specification v3, what `ai` 6
 * uses; `ai` 7 accepts it too) usable by `embed`, `embedMany` and `cosineSimilarity`; queries
 * think through `providerOptions: { o1: { inputType: 'query' } }`.
 *
 * @example
 * import { embed } from 'ai';
 * import { createO1Embedder } from 'o1-embedder/ai-sdk';
 * const o1 = createO1Embedder({ embedder: { backend: 'engine', model: 'models/o1-small' } });
 * const { embedding } = await embed({ model: o1.embedding(), value: 'what causes tides', providerOptions: { o1: { inputType: 'query' } } });
 *
 * @module
 */
export * from '../adapters/ai-sdk/index.js';
