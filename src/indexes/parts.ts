/**
 * The parts of an index: the leaves of its retriever config. A `bm25` leaf stores a BM25 index
 * file; a `dense` or `o1` leaf stores document vectors in a vector store; `fused` only combines
 * its members at search time and stores nothing of its own.
 */
import { O1Error } from '../errors.js';
import { createRetriever } from '../retrieval/registry.js';
import type { RetrieverConfig } from '../retrieval/retriever.js';
import { createVectorStore } from '../stores/registry.js';
import type { VectorStoreConfig } from '../stores/vector-store.js';

/** Retriever names an index can hold. */
export const INDEXABLE_RETRIEVERS = ['bm25', 'dense', 'o1', 'fused'] as const;

/** One leaf of a retriever config, as the index stores it. */
export interface PartPlan {
  /** `bm25-N` or `dense-N`: N is the leaf's position among the leaves, depth first. */
  name: string;
  kind: 'bm25' | 'dense';
  /** The leaf's retriever name (`bm25`, `dense`, `o1`). */
  retriever: string;
  /** Member indexes from the root down to the leaf (`[]` when the root is the leaf). */
  path: number[];
  /** The leaf's config. */
  config: RetrieverConfig;
}

/**
 * The parts of a retriever config, validated (the whole config is built once, which loads no
 * model: dense retrievers load theirs on first use). Retrievers other than bm25, dense, o1 and
 * fused are BAD_ARGUMENT.
 *
 * @example
 * planParts({ retriever: 'fused', retrievers: [{ retriever: 'bm25' }, { retriever: 'o1', model: 'models/o1-small' }] })
 * // [{ name: 'bm25-0', kind: 'bm25', path: [0], ... }, { name: 'dense-1', kind: 'dense', retriever: 'o1', path: [1], ... }]
 */
export async function planParts(config: RetrieverConfig): Promise<PartPlan[]> {
  const parts: PartPlan[] = [];
  const walk = (node: RetrieverConfig, path: number[]): void => {
    const field = path.length === 0 ? 'retriever' : `retrievers[${path.join('].retrievers[')}].retriever`;
    if (!(INDEXABLE_RETRIEVERS as readonly string[]).includes(node.retriever)) {
      throw new O1Error('BAD_ARGUMENT', `an index holds ${INDEXABLE_RETRIEVERS.join(', ')} retrievers, not "${node.retriever}"`, { field });
    }
    if (node.retriever === 'fused') {
      (node.retrievers as RetrieverConfig[]).forEach((member, index) => walk(member, [...path, index]));
      return;
    }
    const kind = node.retriever === 'bm25' ? 'bm25' : 'dense';
    parts.push({ name: `${kind}-${parts.length}`, kind, retriever: node.retriever, path, config: node });
  };
  // Validates every setting first (unknown keys, bad values), with the registry's messages.
  await createRetriever(config).dispose();
  walk(config, []);
  return parts;
}

/**
 * The store config of one dense part: the index's store config, with a table per part for a
 * database store when the index has several dense parts (`o1_vectors_1`, ...).
 *
 * @example
 * partStoreConfig({ store: 'pgvector', table: 'scifact' }, 'dense-1', 2) // { store: 'pgvector', table: 'scifact_1' }
 */
export function partStoreConfig(store: VectorStoreConfig, part: string, denseParts: number): VectorStoreConfig {
  if (!isDatabaseStore(store) || denseParts === 1) return { ...store };
  const table = typeof store.table === 'string' ? store.table : 'o1_vectors';
  return { ...store, table: `${table}_${part.slice(part.indexOf('-') + 1)}` };
}

/**
 * Whether a store keeps its vectors outside the index folder (pgvector): then every version
 * shares them, instead of each version holding its own copy.
 */
export function isDatabaseStore(store: VectorStoreConfig): boolean {
  return store.store === 'pgvector';
}

/** The leaf config at `path` inside a retriever config. */
export function leafAt(config: RetrieverConfig, path: readonly number[]): RetrieverConfig {
  let node = config;
  for (const index of path) node = (node.retrievers as RetrieverConfig[])[index];
  return node;
}

/**
 * Checks a store config before any work: its name, and (for stores in the index folder) its
 * settings, by opening a throw-away in-memory store. A database store is checked when it is
 * first opened, after the embedding, which a re-run then resumes.
 *
 * @example
 * await checkStoreConfig({ store: 'hnsw', connectivity: 16 });
 */
export async function checkStoreConfig(store: VectorStoreConfig): Promise<void> {
  if (typeof store?.store !== 'string') throw new O1Error('BAD_ARGUMENT', 'a store config needs a "store" name, e.g. {"store":"flat"}', { field: 'store' });
  if (isDatabaseStore(store)) return;
  await (await createVectorStore(store, { dimension: 1 })).close();
}
