/**
 * `o1-embedder/langchain`: LangChain.js adapters (`@langchain/core` >= 1.2.8 < 2 is a peer
 * dependency; the root `o1-embedder` import never loads it).
 *
 * - {@link O1Embeddings}: `Embeddings` whose `embedQuery` thinks (O1 aggregation of the query +
 *   thought vectors) and whose `embedDocuments` does not, so every LangChain vector store
 *   searches with thinking queries.
 * - {@link O1LangChainRetriever}: any of our retrievers as a `BaseRetriever`; documents carry
 *   `metadata.score` and `metadata.thoughts`.
 * - {@link O1VectorStore}: a `VectorStore` over our vector-store seam, scored by inner product.
 *
 * @example
 * import { O1Embeddings, O1VectorStore } from 'o1-embedder/langchain';
 *
 * const embeddings = new O1Embeddings({
 *   embedder: { backend: 'engine', model: 'models/o1-small' },
 *   thinker: { backend: 'engine', model: 'models/o1-small', thoughts: 3 },
 * });
 * const store = await O1VectorStore.fromTexts(['The moon pulls the oceans.'], {}, embeddings);
 * const results = await store.similaritySearchWithScore('what causes tides', 1);
 *
 * @module
 */
export { O1Embeddings, type O1EmbeddingsParams, type ThinkingQueryEmbedding } from './embeddings.js';
export { O1LangChainRetriever, hitToDocument, pageContentOf, type O1DocumentMetadata, type O1LangChainRetrieverInput } from './retriever.js';
export { O1VectorStore, type O1AddOptions, type O1VectorStoreArgs, type O1VectorStoreFilter } from './vector-store.js';
export { MemoryInnerProductStore } from './memory-store.js';
export { ThinkingEmbedder, type ThinkingEmbedderOptions, type ThinkingEmbeddings, type ThinkingQueryOptions } from '../../thinking/thinking-embedder.js';
