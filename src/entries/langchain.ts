/**
 * `o1-embedder/langchain`: LangChain.js adapters (`@langchain/core` >= 1.2.8 as an optional peer
 * dependency): `O1Embeddings` (embedQuery thinks, embedDocuments does not), a BaseRetriever over
 * any of our retrievers, and a VectorStore over our vector stores.
 *
 * @example
 * import { O1Embeddings } from 'o1-embedder/langchain';
 * const embeddings = new O1Embeddings({ embedder: { backend: 'use-lite' }, thinker: { backend: 'file', path: 'thoughts.jsonl' } });
 * const vector = await embeddings.embedQuery('what causes tides');
 *
 * @module
 */
export * from '../adapters/langchain/index.js';
