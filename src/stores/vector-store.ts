/**
 * The vector store seam (types only): where an index keeps its document vectors and how it
 * searches them. Three stores are built in (see registry.ts): `flat` (one file, exact search),
 * `hnsw` (usearch's graph, approximate) and `pgvector` (PostgreSQL + pgvector through SQL).
 *
 * The contract every store keeps:
 * - Ids are non-empty strings; a vector is a Float32Array of exactly `dimension` finite values
 *   (anything else: O1Error INDEX_MISMATCH for a wrong length, BAD_ARGUMENT for NaN/Infinity or
 *   an empty id).
 * - `upsert` inserts or replaces by id; within one call a repeated id keeps its last vector.
 * - Scores are INNER PRODUCTS (O1 query vectors are not unit length, so never cosine), computed
 *   in float32 (the exact stores agree with each other to float32 rounding). Results are best
 *   first; equal scores are ordered by id ascending in code-point order (what PostgreSQL's
 *   `COLLATE "C"` gives).
 * - Persistence: `flush()` makes every earlier write durable and atomic (a process killed at
 *   any moment leaves the previous flushed state or the new one, never a torn file); `close()`
 *   flushes unflushed writes and releases the store. pgvector commits each `upsert`/`delete` in
 *   one transaction, so it is durable when the call returns.
 * - Opening a corrupt or truncated file fails with CORRUPT_INDEX naming the file; opening with
 *   another dimension fails with INDEX_MISMATCH; a backend failure is STORE_ERROR.
 */

/** The built-in store names. */
export type BuiltInStoreName = 'flat' | 'hnsw' | 'pgvector';

/**
 * A serialisable store config: `store` names the registered store, the other keys are its
 * settings (each store validates them and rejects unknown keys). Configs hold no secrets once
 * they come back from {@link VectorStore.config}.
 *
 * @example
 * const config: VectorStoreConfig = { store: 'hnsw', dtype: 'f16', connectivity: 16, expansionSearch: 64 };
 */
export interface VectorStoreConfig {
  store: BuiltInStoreName | (string & {});
  [setting: string]: unknown;
}

/**
 * Settings of the `flat` store.
 *
 * @example
 * const config: FlatStoreConfig = { store: 'flat', dtype: 'f16', threads: 2 };
 */
export interface FlatStoreConfig extends VectorStoreConfig {
  store: 'flat';
  /** Storage precision: `f32` (default) or `f16` (half the file; vectors are rounded to half on upsert, scores computed in float32). */
  dtype?: 'f32' | 'f16';
  /** ONNX Runtime intra-op threads for the search kernel. Default: the engine's defaultThreadCount() (1 under CI, else 2). */
  threads?: number;
  /** Compact rows in memory when tombstones exceed this fraction of rows. Default 0.25. */
  compactRatio?: number;
}

/**
 * Settings of the `hnsw` store (usearch).
 *
 * @example
 * const config: HnswStoreConfig = { store: 'hnsw', dtype: 'f16', connectivity: 16, expansionAdd: 128, expansionSearch: 64 };
 */
export interface HnswStoreConfig extends VectorStoreConfig {
  store: 'hnsw';
  /** usearch's scalar kind for the graph's vectors: `f16` (default), `f32` or `i8` (i8 clips values to [-1, 1]); results are rescored from float32 copies either way. */
  dtype?: 'f32' | 'f16' | 'i8';
  /** Graph connectivity M (neighbours per node). Default 16. */
  connectivity?: number;
  /** Candidate list size while inserting (efConstruction). Default 128. */
  expansionAdd?: number;
  /** Candidate list size while searching (ef). Default 64. */
  expansionSearch?: number;
  /** Threads for usearch's add and batched search. Default: the engine's defaultThreadCount(). */
  threads?: number;
  /** Recompute the returned scores from the float32 vectors (exact inner products; the candidates stay the graph's). Default true. */
  rescore?: boolean;
  /** When rescoring, candidates fetched from the graph per requested hit (the best k of them are kept). Default 2 for f16/i8 graphs, 1 for f32. */
  refine?: number;
}

/**
 * Settings of the `pgvector` store.
 *
 * @example
 * const config: PgvectorStoreConfig = { store: 'pgvector', connectionString: 'postgres://me@127.0.0.1:5432/db', table: 'scifact' };
 */
export interface PgvectorStoreConfig extends VectorStoreConfig {
  store: 'pgvector';
  /** A libpq connection string or URL. The password is never returned by config(); pg's PG* environment variables fill in what is absent. */
  connectionString?: string;
  /** Table name (lower case letters, digits, `_`). Default `o1_vectors`. */
  table?: string;
  /** Search by sequential scan (exact, for equality checks) instead of the HNSW index. Default false. */
  exact?: boolean;
  /** HNSW `m`. Default 16. */
  m?: number;
  /** HNSW `ef_construction`. Default 64. */
  efConstruction?: number;
  /** `SET hnsw.ef_search`. Default 100. */
  efSearch?: number;
  /** Rows per INSERT statement. Default 250. */
  batchSize?: number;
  /** Connections in the pool (searches of one call run on all of them). Default 1. */
  connections?: number;
  /** How vectors travel in bound parameters: `text` literals (default) or pgvector's `binary` format (much faster to parse, notably on PGlite). */
  vectorFormat?: 'text' | 'binary';
  /** `SET LOCAL maintenance_work_mem` for the index build (e.g. `1GB`); default: the server's. */
  maintenanceWorkMemory?: string;
}

/** One vector to store. */
export interface VectorItem {
  id: string;
  vector: Float32Array;
}

/** One search result: a stored id and its inner product with the query. */
export interface VectorMatch {
  id: string;
  score: number;
}

/** Options of {@link VectorStore.search}. */
export interface VectorSearchOptions {
  /** Per query, an id never returned for it (BEIR's "document id equals query id" rule). */
  exclude?: readonly (string | undefined)[];
  /** Cancels the search between query blocks (O1Error CANCELLED). */
  signal?: AbortSignal;
}

/** Options of {@link VectorStore.upsert}. */
export interface VectorUpsertOptions {
  /** Cancels the call (O1Error CANCELLED). An upsert is all or nothing: a cancelled or failed call writes none of its items (pgvector rolls its transaction back). */
  signal?: AbortSignal;
}

/** What {@link VectorStore.statistics} reports. */
export interface VectorStoreStatistics {
  store: string;
  dimension: number;
  /** Stored vectors. */
  count: number;
  /** Bytes on disk of the last flush (files) or of the table and its indexes (PostgreSQL), when known. */
  bytes?: number;
  /** Store-specific numbers: tombstones, graph size, index name, ... */
  details: Record<string, number | string | boolean>;
}

/**
 * A store of (id, vector) pairs searched by inner product. See the file comment for the
 * contract all stores keep.
 *
 * @example
 * const store = await createVectorStore({ store: 'flat' }, { dimension: 384, directory: 'index/vectors' });
 * await store.upsert([{ id: 'd1', vector }]);
 * const [matches] = await store.search([query], 10); // [{ id: 'd1', score: 0.83 }]
 * await store.close();
 */
export interface VectorStore {
  /** The registered store name (`flat`, `hnsw`, `pgvector`, ...). */
  readonly name: string;
  /** Length of every vector. */
  readonly dimension: number;
  /** Number of stored vectors. */
  size(): Promise<number>;
  /** Inserts or replaces vectors by id. */
  upsert(items: readonly VectorItem[], options?: VectorUpsertOptions): Promise<void>;
  /** Deletes by id; returns how many were present. Absent ids are ignored. */
  delete(ids: readonly string[]): Promise<number>;
  /** Stored vectors by id (undefined for absent ids), as the store holds them (f16 stores: rounded). */
  get(ids: readonly string[]): Promise<(Float32Array | undefined)[]>;
  /** Every stored id, sorted ascending (code-point order). */
  ids(): Promise<string[]>;
  /** The `k` best matches per query by inner product, best first, ties by id. */
  search(queries: readonly Float32Array[], k: number, options?: VectorSearchOptions): Promise<VectorMatch[][]>;
  /** Makes every earlier write durable (atomic file replacement or a committed transaction). */
  flush(): Promise<void>;
  /** Flushes unflushed writes and releases files, native memory and connections. */
  close(): Promise<void>;
  /** The serialisable config that reopens this store (secrets left out). */
  config(): VectorStoreConfig;
  /** Counts and sizes. */
  statistics(): Promise<VectorStoreStatistics>;
}

/** Where and how a store is opened (the second argument of a {@link VectorStoreFactory}). */
export interface VectorStoreContext {
  /** The folder of a file-backed store; absent: an in-memory store that flush() does not persist. pgvector ignores it. */
  directory?: string;
  /** Vector length: required to create; when opening, checked against the stored one (INDEX_MISMATCH). */
  dimension?: number;
  /**
   * `create`: a new, empty store (STORE_ERROR if one exists there, so nothing is overwritten);
   * `open`: an existing one (MISSING_FILE or STORE_ERROR if absent);
   * `openOrCreate`: the existing one, else a new one (what a resumed build wants).
   */
  mode: 'create' | 'open' | 'openOrCreate';
}

/** Opens a store from its config; registered with registerVectorStore. */
export type VectorStoreFactory = (config: VectorStoreConfig, context: VectorStoreContext) => Promise<VectorStore>;
