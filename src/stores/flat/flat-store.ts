/**
 * The `flat` vector store, the embedded default: every vector in one matrix, searched exactly
 * by inner product through an ONNX Runtime Gemm over blocks of queries and rows, with the shared
 * top-k heap (util/vectors) per query, keyed by each row's rank in id order so ties go by id; persisted as ONE file (flat/vector-file.ts) replaced atomically by flush().
 *
 * Deletes leave tombstones (rows skipped by search and reused by later inserts); when
 * tombstones pass `compactRatio` of the rows the matrix is compacted in memory. Files are always
 * written compacted and in id order, so the same set of (id, vector) pairs gives the same bytes
 * whatever the history of upserts and deletes.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { O1Error } from '../../errors.js';
import { throwIfCancelled } from '../../util/cancel.js';
import { Settings } from '../../backends/settings.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../model/formats/numeric.js';
import { Semaphore } from '../../util/semaphore.js';
import { TopK } from '../../util/vectors.js';
import { checkDimension, checkSearch, compareIds, uniqueItems } from '../contract.js';
import type { FlatStoreConfig, VectorItem, VectorMatch, VectorSearchOptions, VectorStore, VectorStoreConfig, VectorStoreContext, VectorStoreStatistics, VectorUpsertOptions } from '../vector-store.js';
import { InnerProductKernel, queryBlockFor } from './kernel.js';
import { readVectorFile, writeVectorFile, type VectorFileDtype } from './vector-file.js';

/** The file a flat store keeps in its directory. */
export const FLAT_FILE_NAME = 'vectors.o1v';
/** Rows per kernel run once the store is large; smaller stores run as one block of their (power-of-two) capacity. */
const ROW_BLOCK = 8192;
/** Smallest matrix capacity in rows. */
const MINIMUM_CAPACITY = 64;

/** Resolved settings of a flat store. */
interface FlatSettings {
  dtype: VectorFileDtype;
  threads?: number;
  compactRatio: number;
}

/** Reads a flat config; `dtype` stays undefined when the config leaves it to the file. */
function readSettings(config: VectorStoreConfig): Omit<FlatSettings, 'dtype'> & { dtype?: VectorFileDtype } {
  const settings = new Settings(config, 'flat store');
  settings.oneOf('store', ['flat'], 'flat');
  // optionalString only marks an absent key as read: the file decides the dtype then.
  const dtype = config.dtype === undefined ? (settings.optionalString('dtype') as undefined) : settings.oneOf('dtype', ['f32', 'f16'], 'f32');
  const threads = settings.optionalInteger('threads', 1);
  const compactRatio = settings.number('compactRatio', 0.25, 0);
  if (compactRatio > 1) throw new O1Error('BAD_ARGUMENT', `flat store: 'compactRatio' must be in [0, 1], got ${compactRatio}`, { field: 'compactRatio' });
  settings.rejectUnknown();
  return { dtype, threads, compactRatio };
}

/** Rounds values to IEEE half precision in place (what an f16 store keeps). */
function roundToHalf(values: Float32Array): void {
  for (let index = 0; index < values.length; index++) values[index] = float16BitsToFloat32(float32ToFloat16Bits(values[index]));
}

/** Matrix capacity (rows) for `rows` rows: a power of two up to one row block, then whole row blocks. */
function capacityFor(rows: number): number {
  if (rows <= ROW_BLOCK) {
    let capacity = MINIMUM_CAPACITY;
    while (capacity < rows) capacity *= 2;
    return capacity;
  }
  return Math.ceil(rows / ROW_BLOCK) * ROW_BLOCK;
}

/**
 * Opens a flat store (the `flat` registry entry).
 *
 * @example
 * const store = await openFlatStore({ store: 'flat' }, { directory: 'index/vectors', dimension: 384, mode: 'openOrCreate' });
 */
export async function openFlatStore(config: VectorStoreConfig, context: VectorStoreContext): Promise<FlatStore> {
  const settings = readSettings(config);
  const path = context.directory === undefined ? undefined : join(context.directory, FLAT_FILE_NAME);
  const exists = path !== undefined && existsSync(path);
  if (context.mode === 'create' && exists) throw new O1Error('STORE_ERROR', 'a flat store already exists here; open it instead of overwriting it', { file: path });
  if (context.mode === 'open' && path === undefined) throw new O1Error('BAD_ARGUMENT', 'opening a flat store needs its directory', { field: 'directory' });
  if (context.mode === 'open' && !exists) throw new O1Error('MISSING_FILE', 'no flat store here', { file: path });
  if (exists) {
    const contents = await readVectorFile(path, context.dimension);
    if (settings.dtype !== undefined && settings.dtype !== contents.dtype) {
      throw new O1Error('INDEX_MISMATCH', `the store holds ${contents.dtype} vectors, the config asks for ${settings.dtype}`, { file: path, field: 'dtype' });
    }
    const store = new FlatStore(contents.dimension, { ...settings, dtype: contents.dtype }, path);
    store.load(contents.ids, contents.vectors, contents.bytes);
    return store;
  }
  const dimension = checkDimension(context.dimension);
  const store = new FlatStore(dimension, { ...settings, dtype: settings.dtype ?? 'f32' }, path);
  if (path !== undefined) {
    await mkdir(context.directory as string, { recursive: true });
    // Written at once, so that the store exists (and `open` finds it) before the first flush.
    store.markDirty();
    await store.flush();
  }
  return store;
}

/**
 * The flat store. Create it through the registry (`createVectorStore({ store: 'flat' }, ...)`)
 * or {@link openFlatStore}; every method is serialised (one operation at a time).
 *
 * @example
 * const store = await openFlatStore({ store: 'flat' }, { dimension: 3, mode: 'create' });
 * await store.upsert([{ id: 'a', vector: new Float32Array([1, 0, 0]) }]);
 * const [matches] = await store.search([new Float32Array([2, 0, 0])], 1); // [{ id: 'a', score: 2 }]
 */
export class FlatStore implements VectorStore {
  readonly name = 'flat';
  private matrix: Float32Array;
  private capacity = MINIMUM_CAPACITY;
  /** Rows in use, tombstones included. */
  private rows = 0;
  private rowIds: (string | undefined)[] = [];
  private alive: Uint8Array;
  private readonly rowOf = new Map<string, number>();
  /** Tombstoned rows, reused by inserts. */
  private free: number[] = [];
  /** Each live row's position in id order (ties are broken by it), rebuilt after writes. */
  private ranks: Int32Array | undefined;
  private rowByRank: Int32Array | undefined;
  private dirty = false;
  private fileBytes: number | undefined;
  private kernel: InnerProductKernel | undefined;
  private readonly gate = new Semaphore(1);
  private closed = false;

  constructor(
    readonly dimension: number,
    private readonly settings: FlatSettings,
    private readonly path: string | undefined,
  ) {
    this.matrix = new Float32Array(this.capacity * dimension);
    this.alive = new Uint8Array(this.capacity);
  }

  /** Fills a fresh store from a file's contents (no rounding: f16 files hold half values already). */
  load(ids: readonly string[], vectors: Float32Array, bytes: number): void {
    this.ensureCapacity(ids.length);
    this.matrix.set(vectors.subarray(0, ids.length * this.dimension));
    ids.forEach((id, row) => {
      if (this.rowOf.has(id)) throw new O1Error('CORRUPT_INDEX', `id ${JSON.stringify(id)} appears twice`, { file: this.path });
      this.rowIds[row] = id;
      this.alive[row] = 1;
      this.rowOf.set(id, row);
    });
    this.rows = ids.length;
    this.fileBytes = bytes;
  }

  /** Marks the store as changed since the last flush. */
  markDirty(): void {
    this.dirty = true;
  }

  async size(): Promise<number> {
    return this.rowOf.size;
  }

  async upsert(items: readonly VectorItem[], options: VectorUpsertOptions = {}): Promise<void> {
    const unique = uniqueItems(items, this.dimension);
    await this.exclusive(async () => {
      throwIfCancelled(options.signal, 'flat upsert');
      const added = unique.filter((item) => !this.rowOf.has(item.id)).length;
      this.ensureCapacity(this.rows + Math.max(0, added - this.free.length));
      for (const { id, vector } of unique) {
        let row = this.rowOf.get(id);
        if (row === undefined) {
          row = this.free.pop() ?? this.rows++;
          this.rowIds[row] = id;
          this.alive[row] = 1;
          this.rowOf.set(id, row);
        }
        const target = this.matrix.subarray(row * this.dimension, (row + 1) * this.dimension);
        target.set(vector);
        if (this.settings.dtype === 'f16') roundToHalf(target);
      }
      if (unique.length > 0) this.changed();
    });
  }

  async delete(ids: readonly string[]): Promise<number> {
    return this.exclusive(async () => {
      let deleted = 0;
      for (const id of new Set(ids)) {
        const row = this.rowOf.get(id);
        if (row === undefined) continue;
        this.rowOf.delete(id);
        this.rowIds[row] = undefined;
        this.alive[row] = 0;
        this.matrix.fill(0, row * this.dimension, (row + 1) * this.dimension);
        this.free.push(row);
        deleted++;
      }
      if (deleted > 0) {
        this.changed();
        if (this.free.length > this.settings.compactRatio * this.rows) this.compact();
      }
      return deleted;
    });
  }

  async get(ids: readonly string[]): Promise<(Float32Array | undefined)[]> {
    return ids.map((id) => {
      const row = this.rowOf.get(id);
      return row === undefined ? undefined : this.matrix.slice(row * this.dimension, (row + 1) * this.dimension);
    });
  }

  async ids(): Promise<string[]> {
    return [...this.rowOf.keys()].sort(compareIds);
  }

  /**
   * Exact top-k by inner product. Queries run in blocks of up to 128 (padded to 1, 8, 32 or
   * 128), each block against the rows in blocks of up to 8,192; scores below a heap's current
   * worst are skipped before any bookkeeping.
   */
  async search(queries: readonly Float32Array[], k: number, options: VectorSearchOptions = {}): Promise<VectorMatch[][]> {
    checkSearch(queries, k, this.dimension, options.exclude);
    return this.exclusive(async () => {
      const results: VectorMatch[][] = [];
      const live = this.rowOf.size;
      if (queries.length === 0) return results;
      if (k === 0 || live === 0) return queries.map(() => []);
      this.kernel ??= new InnerProductKernel(this.dimension, this.settings.threads);
      const { ranks, rowByRank } = this.rankTables();
      const dimension = this.dimension;
      const rowBlock = Math.min(this.capacity, ROW_BLOCK);
      for (let first = 0; first < queries.length; ) {
        throwIfCancelled(options.signal, 'flat search');
        const batch = queryBlockFor(queries.length - first);
        const count = Math.min(batch, queries.length - first);
        const block = new Float32Array(batch * dimension);
        for (let query = 0; query < count; query++) block.set(queries[first + query], query * dimension);
        const excluded = new Int32Array(count).fill(-1);
        for (let query = 0; query < count; query++) {
          const id = options.exclude?.[first + query];
          if (id !== undefined) excluded[query] = this.rowOf.get(id) ?? -1;
        }
        const heaps = Array.from({ length: count }, (_, query) => new TopK<number>(Math.min(k, live - (excluded[query] >= 0 ? 1 : 0))));
        for (let start = 0; start < this.rows; start += rowBlock) {
          const rows = this.matrix.subarray(start * dimension, (start + rowBlock) * dimension);
          const scores = await this.kernel.scores(block, batch, rows, rowBlock);
          const valid = Math.min(rowBlock, this.rows - start);
          for (let query = 0; query < count; query++) collect(scores, query * rowBlock, valid, start, heaps[query], this.alive, ranks, excluded[query]);
        }
        for (const heap of heaps) results.push(heap.sorted().map(({ key, score }) => ({ id: this.rowIds[rowByRank[key]] as string, score })));
        first += count;
      }
      return results;
    });
  }

  async flush(): Promise<void> {
    await this.exclusive(() => this.flushNow());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(async () => {
      await this.flushNow();
      await this.kernel?.dispose();
      this.kernel = undefined;
      this.closed = true;
    });
  }

  config(): FlatStoreConfig {
    return {
      store: 'flat',
      dtype: this.settings.dtype,
      compactRatio: this.settings.compactRatio,
      ...(this.settings.threads !== undefined ? { threads: this.settings.threads } : {}),
    };
  }

  async statistics(): Promise<VectorStoreStatistics> {
    return {
      store: 'flat',
      dimension: this.dimension,
      count: this.rowOf.size,
      ...(this.fileBytes === undefined ? {} : { bytes: this.fileBytes }),
      details: { dtype: this.settings.dtype, rows: this.rows, tombstones: this.free.length, capacity: this.capacity, sessions: this.kernel?.sessionCount ?? 0, unflushed: this.dirty },
    };
  }

  private async flushNow(): Promise<void> {
    if (!this.dirty || this.path === undefined) return;
    const { rowByRank } = this.rankTables();
    const ids = new Array<string>(rowByRank.length);
    const vectors = new Float32Array(rowByRank.length * this.dimension);
    rowByRank.forEach((row, rank) => {
      ids[rank] = this.rowIds[row] as string;
      vectors.set(this.matrix.subarray(row * this.dimension, (row + 1) * this.dimension), rank * this.dimension);
    });
    this.fileBytes = await writeVectorFile(this.path, { dtype: this.settings.dtype, dimension: this.dimension, ids, vectors, metadata: { store: 'flat' } });
    this.dirty = false;
  }

  private async exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) throw new O1Error('STORE_ERROR', 'the flat store is closed', { file: this.path });
    return this.gate.run(task);
  }

  private changed(): void {
    this.dirty = true;
    this.ranks = undefined;
    this.rowByRank = undefined;
  }

  /** Rank of each live row in id order, and its inverse. */
  private rankTables(): { ranks: Int32Array; rowByRank: Int32Array } {
    if (this.ranks === undefined || this.rowByRank === undefined) {
      const order = [...this.rowOf.entries()].sort((left, right) => compareIds(left[0], right[0]));
      this.ranks = new Int32Array(this.capacity);
      this.rowByRank = new Int32Array(order.length);
      order.forEach(([, row], rank) => {
        (this.ranks as Int32Array)[row] = rank;
        (this.rowByRank as Int32Array)[rank] = row;
      });
    }
    return { ranks: this.ranks, rowByRank: this.rowByRank };
  }

  private ensureCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    this.resize(capacityFor(rows));
  }

  private resize(capacity: number): void {
    const matrix = new Float32Array(capacity * this.dimension);
    matrix.set(this.matrix.subarray(0, Math.min(this.rows, capacity) * this.dimension));
    const alive = new Uint8Array(capacity);
    alive.set(this.alive.subarray(0, Math.min(this.rows, capacity)));
    this.matrix = matrix;
    this.alive = alive;
    this.capacity = capacity;
    this.ranks = undefined;
  }

  /** Moves live rows down over the tombstones, then shrinks the matrix to fit. */
  private compact(): void {
    let next = 0;
    for (let row = 0; row < this.rows; row++) {
      const id = this.rowIds[row];
      if (id === undefined) continue;
      if (row !== next) {
        this.matrix.copyWithin(next * this.dimension, row * this.dimension, (row + 1) * this.dimension);
        this.rowIds[next] = id;
        this.alive[next] = 1;
        this.rowOf.set(id, next);
      }
      next++;
    }
    this.matrix.fill(0, next * this.dimension, this.rows * this.dimension);
    this.alive.fill(0, next, this.rows);
    this.rowIds.length = next;
    this.rows = next;
    this.free = [];
    this.ranks = undefined;
    this.rowByRank = undefined;
    const capacity = capacityFor(next);
    if (capacity < this.capacity) this.resize(capacity);
  }
}

/**
 * Offers one query's scores for rows [start, start + valid) to its heap, skipping tombstones,
 * the excluded row and scores below the heap's threshold (the hot loop, kept monomorphic).
 */
function collect(scores: Float32Array, offset: number, valid: number, start: number, heap: TopK<number>, alive: Uint8Array, ranks: Int32Array, excluded: number): void {
  let threshold = heap.threshold();
  for (let index = 0; index < valid; index++) {
    const score = scores[offset + index];
    // Equal scores may still win on id order, so only strictly lower ones are skipped.
    if (score < threshold) continue;
    const row = start + index;
    if (alive[row] === 0 || row === excluded) continue;
    if (heap.push(ranks[row], score)) threshold = heap.threshold();
  }
}
