/**
 * Persistent indexes: an index folder holds a retriever's stored parts (BM25 index files,
 * document vectors in a vector store), the documents and a manifest, published version by
 * version (layout.ts). Build with {@link buildIndex} (`o1e index`), change with
 * {@link addToIndex} / {@link deleteFromIndex} (`o1e index add|delete`), search with
 * {@link openIndex} (`o1e search`).
 *
 * @example
 * import { buildIndex, openIndex } from './indexes/index.js';
 * await buildIndex({ corpus: 'corpus.jsonl', retriever: { retriever: 'bm25' }, out: 'my.index' });
 * const index = await openIndex('my.index');
 * const { hits } = await index.search('what causes tides');
 * await index.close();
 */
export { buildIndex, type BuildIndexOptions } from './build.js';
export { addToIndex, deleteFromIndex, type AddToIndexOptions, type DeleteFromIndexOptions, type UpdateOptions } from './update.js';
export { openIndex, PersistentIndex, type IndexHit, type IndexSearchOptions, type IndexSearchResult, type OpenIndexOptions } from './open-index.js';
export { type IndexOperationReport, type PartReport, DEFAULT_BATCH_SIZE } from './operation.js';
export { INDEX_FORMAT, INDEX_FORMAT_VERSION, readManifest, type IndexManifest, type PartManifest, type Bm25PartManifest, type DensePartManifest } from './manifest.js';
export { markedSnippet, formatSnippet, type Snippet, type SnippetOptions } from './snippet.js';
export { StoredDenseRetriever } from './stored-retrievers.js';
