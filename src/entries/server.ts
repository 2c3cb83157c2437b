/**
 * `o1-embedder/server`: the OpenAI-compatible HTTP server (`/v1/chat/completions`,
 * `/v1/completions`, `/v1/embeddings`, `/v1/models`) over any Thinker and Embedder.
 *
 * @example
 * import { createEmbedder, createThinker } from 'o1-embedder';
 * import { startOpenAiServer } from 'o1-embedder/server';
 * const model = 'node_modules/o1-embedder/models/o1-small';
 * const server = await startOpenAiServer({
 *   thinker: await createThinker({ backend: 'engine', model }),
 *   embedder: await createEmbedder({ backend: 'engine', model }),
 *   port: 8080,
 * });
 * // ... later: await server.close();
 *
 * @module
 */
export * from '../server/index.js';
