export { startServer, estimateTokens, type RunningServer, type ServerOptions, type ServerStats } from './server.js';
export { Batcher, type BatcherOptions, type BatchRunner, type SubmitOptions } from './batcher.js';
export { EmbeddingService, apportion, type EmbeddingServiceOptions } from './embedding-service.js';
export { ServerThinking, type ServerThinkingOptions, type ThinkingRequest } from './thinking.js';
export { buildSearchSource, documentsInMemory, type BuildSearchSourceOptions, type SearchSource } from './search.js';
export { snippet, type SnippetOptions } from './snippet.js';
export { ApiKeys, apiKeysFromEnvironment, corsHeaders } from './security.js';
export { HttpProblem, problemOf, type OpenAiErrorBody } from './problems.js';
export { MetricsRegistry, Counter, Gauge, Histogram } from './metrics.js';
