/**
 * `o1-embedder/server`: the HTTP server over any Thinker and Embedder, `startServer` (on
 * Fastify): OpenAI-compatible embeddings with thinking queries, search, the
 * completions proxy, health, Prometheus metrics, dynamic batching; plus its building blocks.
 * Loads Fastify; no native runtime.
 *
 * @example
 * import { createEmbedder, createThinker } from 'o1-embedder';
 * import { startServer } from 'o1-embedder/server';
 * const model = 'node_modules/o1-embedder/models/o1-small';
 * const server = await startServer({
 *   thinker: await createThinker({ backend: 'engine', model }),
 *   embedder: await createEmbedder({ backend: 'engine', model }),
 *   port: 8080,
 * });
 * // ... later: await server.close();
 *
 * @module
 */
export * from '../server/index.js';
