/**
 * `o1-embedder/stores`: the vector store seam and its registry; the stores load on first use:
 * `flat` (exact, one file, ONNX Runtime kernel), `hnsw` (`usearch`, an optional peer
 * dependency) and `pgvector` (PostgreSQL through `pg`, an optional peer dependency).
 *
 * @example
 * import { createVectorStore } from 'o1-embedder/stores';
 * const store = await createVectorStore({ store: 'flat' }, { dimension: 384, directory: 'index/vectors', mode: 'create' });
 *
 * @module
 */
export * from '../stores/index.js';
