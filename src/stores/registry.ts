/**
 * The vector store registry: store name -> factory, so an index can name its store in a
 * serialisable config (`{ "store": "hnsw", "expansionSearch": 128 }`). Built in: `flat`,
 * `hnsw` and `pgvector`. Each factory imports its module on first use, so importing this file
 * loads neither ONNX Runtime, usearch nor pg.
 */
import { O1Error } from '../errors.js';
import type { VectorStore, VectorStoreConfig, VectorStoreContext, VectorStoreFactory } from './vector-store.js';

const factories = new Map<string, VectorStoreFactory>();

/**
 * Registers (or replaces) a store factory under `name`.
 *
 * @example
 * registerVectorStore('flat', async (config, context) => (await import('./flat/flat-store.js')).openFlatStore(config, context));
 */
export function registerVectorStore(name: string, factory: VectorStoreFactory): void {
  factories.set(name, factory);
}

/**
 * Registered store names, sorted.
 *
 * @example
 * vectorStoreNames() // ['flat', 'hnsw', 'pgvector']
 */
export function vectorStoreNames(): string[] {
  return [...factories.keys()].sort();
}

function factoryFor(config: VectorStoreConfig): VectorStoreFactory {
  if (typeof config?.store !== 'string') throw new O1Error('BAD_ARGUMENT', 'a vector store config needs a "store" name', { field: 'store' });
  const factory = factories.get(config.store);
  if (factory === undefined) throw new O1Error('BAD_ARGUMENT', `unknown vector store "${config.store}"; known: ${vectorStoreNames().join(', ')}`, { field: 'store' });
  return factory;
}

/**
 * Creates a new, empty store: in `directory` for file stores (absent: in memory), or the
 * config's table for pgvector. Rejects with STORE_ERROR when a store already exists there, so
 * nothing is overwritten; `ifExists: 'open'` opens it instead (checking the dimension), which
 * is what a resumed build wants.
 *
 * @example
 * const store = await createVectorStore({ store: 'flat', dtype: 'f16' }, { dimension: 384, directory: 'index/vectors' });
 */
export async function createVectorStore(config: VectorStoreConfig, options: { dimension: number; directory?: string; ifExists?: 'fail' | 'open' }): Promise<VectorStore> {
  const mode: VectorStoreContext['mode'] = options.ifExists === 'open' ? 'openOrCreate' : 'create';
  return factoryFor(config)(config, { dimension: options.dimension, directory: options.directory, mode });
}

/**
 * Opens an existing store. `dimension`, when given, must equal the stored one
 * (INDEX_MISMATCH); a missing store is MISSING_FILE (files) or STORE_ERROR (a table), a corrupt
 * one CORRUPT_INDEX naming the file.
 *
 * @example
 * const store = await openVectorStore({ store: 'hnsw', expansionSearch: 128 }, { directory: 'index/hnsw' });
 */
export async function openVectorStore(config: VectorStoreConfig, options: { directory?: string; dimension?: number } = {}): Promise<VectorStore> {
  return factoryFor(config)(config, { dimension: options.dimension, directory: options.directory, mode: 'open' });
}

registerVectorStore('flat', async (config, context) => (await import('./flat/flat-store.js')).openFlatStore(config, context));
registerVectorStore('hnsw', async (config, context) => (await import('./hnsw/hnsw-store.js')).openHnswStore(config, context));
registerVectorStore('pgvector', async (config, context) => (await import('./pgvector/pgvector-store.js')).openPgvectorStore(config, context));
