/**
 * `o1-embedder/llama-cpp`: the node-llama-cpp Thinker and Embedder backends (GGUF files run
 * in-process by llama.cpp), which load node-llama-cpp on import (about 2 s). The root export's
 * `createThinker({ backend: 'llama-cpp', model })` reaches the same classes lazily; import
 * this subpath to construct them directly or to use their config types.
 *
 * @example
 * import { LlamaCppEmbedder } from 'o1-embedder/llama-cpp';
 * const embedder = await LlamaCppEmbedder.create({ backend: 'llama-cpp', model: 'bge-small-en-v1.5-q8_0.gguf' });
 *
 * @module
 */
export { LlamaCppThinker, type LlamaCppThinkerConfig } from '../backends/llama-cpp/thinker.js';
export { LlamaCppEmbedder, type LlamaCppEmbedderConfig } from '../backends/llama-cpp/embedder.js';
