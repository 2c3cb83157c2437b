/**
 * A vector store of the src/stores seam kept in memory, exact by inner product: the default
 * of {@link O1VectorStore} when no store is handed in. It keeps the seam's contract (checks,
 * last-write-wins upserts, scores as float32 inner products, ties by id in code-point order)
 * through the shared helpers of src/stores/contract.ts; `flush` persists nothing.
 */
import { O1Error } from '../../errors.js';
import { checkDimension, checkSearch, compareIds, compareMatches, uniqueItems } from '../../stores/contract.js';
import { throwIfCancelled } from '../../util/cancel.js';
import type { VectorItem, VectorMatch, VectorSearchOptions, VectorStore, VectorStoreConfig, VectorStoreStatistics, VectorUpsertOptions } from '../../stores/vector-store.js';

/**
 * An in-memory inner-product store.
 *
 * @example
 * const store = new MemoryInnerProductStore(384);
 * await store.upsert([{ id: 'd1', vector }]);
 * const [matches] = await store.search([query], 10); // [{ id: 'd1', score: 0.83 }]
 */
export class MemoryInnerProductStore implements VectorStore {
  readonly name = 'memory';
  readonly dimension: number;
  private readonly vectors = new Map<string, Float32Array>();
  private closed = false;

  constructor(dimension: number) {
    this.dimension = checkDimension(dimension);
  }

  private checkOpen(): void {
    if (this.closed) throw new O1Error('STORE_ERROR', 'the memory store is closed');
  }

  async size(): Promise<number> {
    return this.vectors.size;
  }

  async upsert(items: readonly VectorItem[], options: VectorUpsertOptions = {}): Promise<void> {
    this.checkOpen();
    throwIfCancelled(options.signal, 'memory upsert');
    // Copies, so a caller reusing its arrays cannot change what is stored.
    for (const item of uniqueItems(items, this.dimension)) this.vectors.set(item.id, Float32Array.from(item.vector));
  }

  async delete(ids: readonly string[]): Promise<number> {
    this.checkOpen();
    let removed = 0;
    for (const id of new Set(ids)) if (this.vectors.delete(id)) removed++;
    return removed;
  }

  async get(ids: readonly string[]): Promise<(Float32Array | undefined)[]> {
    this.checkOpen();
    return ids.map((id) => {
      const vector = this.vectors.get(id);
      return vector === undefined ? undefined : Float32Array.from(vector);
    });
  }

  async ids(): Promise<string[]> {
    this.checkOpen();
    return [...this.vectors.keys()].sort(compareIds);
  }

  async search(queries: readonly Float32Array[], k: number, options: VectorSearchOptions = {}): Promise<VectorMatch[][]> {
    this.checkOpen();
    checkSearch(queries, k, this.dimension, options.exclude);
    return queries.map((query, queryIndex) => {
      throwIfCancelled(options.signal, 'memory search');
      const excluded = options.exclude?.[queryIndex];
      const matches: VectorMatch[] = [];
      for (const [id, vector] of this.vectors) {
        if (id === excluded) continue;
        let score = 0;
        for (let index = 0; index < vector.length; index++) score = Math.fround(score + Math.fround(vector[index] * query[index]));
        matches.push({ id, score });
      }
      return matches.sort(compareMatches).slice(0, k);
    });
  }

  async flush(): Promise<void> {
    this.checkOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  config(): VectorStoreConfig {
    return { store: 'memory' };
  }

  async statistics(): Promise<VectorStoreStatistics> {
    return { store: this.name, dimension: this.dimension, count: this.vectors.size, details: {} };
  }
}
