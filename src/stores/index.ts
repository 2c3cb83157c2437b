/**
 * Vector stores: the seam (vector-store.ts), the registry and the checks all stores share.
 * The stores themselves (flat/, hnsw/, pgvector/) load through the registry on first use.
 *
 * @example
 * import { createVectorStore } from './stores/index.js';
 * const store = await createVectorStore({ store: 'flat' }, { dimension: 384, directory: 'index/vectors' });
 */
export * from './vector-store.js';
export * from './registry.js';
export { compareIds, compareMatches } from './contract.js';
