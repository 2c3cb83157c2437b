/**
 * The name the server had before it moved to Fastify: `startOpenAiServer` is
 * {@link startServer}, with the same options (a thinker and an embedder, a port, an API key)
 * and more (search, thinking queries, batching, limits). Kept so existing imports still work.
 */
export { startServer as startOpenAiServer, type RunningServer, type ServerOptions as OpenAiServerOptions, type ServerStats } from './server.js';
