/**
 * The `hnsw` vector store: usearch's HNSW graph (inner-product metric; f16 by default, f32 or
 * i8 on request) for approximate search, with the original float32 vectors kept beside it.
 * f16 is the default because, with twice the candidates rescored from the float32 vectors, it
 * keeps f32's recall at a smaller graph and measured 1.04x (SciFact) to 1.7x (100k x 384) f32's
 * queries/s at recall@10 0.99 here (bench:search).
 *
 * On disk (one folder): `hnsw.o1v`, the side table in the flat store's file format (ids, the
 * usearch key of each id, the float32 vectors, and metadata naming the current graph file with
 * its length and CRC-32), and `graph-<generation>.usearch`, usearch's own save. flush() saves a
 * NEW graph file (temporary name, fsync, rename), then replaces the side table atomically, then
 * removes older graphs, so a kill at any point leaves a side table that names a complete graph.
 * The graph's length and CRC are checked before usearch reads it, because usearch crashes the
 * process on a truncated file.
 *
 * Ids map to usearch's 64-bit keys through the side table; a replaced or deleted id's key is
 * removed from the graph (usearch keeps a tombstone), and flush() rebuilds the graph from the
 * stored vectors once removed keys pass a quarter of the live ones. Results are rescored with
 * the float32 vectors by default, so their scores are exact inner products even for f16/i8
 * graphs (the candidate set stays the graph's).
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { BatchMatches, Index, MetricKind, ScalarKind, type Matches } from 'usearch';
import { O1Error } from '../../errors.js';
import { throwIfCancelled } from '../../util/cancel.js';
import { Settings } from '../../backends/settings.js';
import { defaultThreadCount } from '../../engine/session.js';
import { temporaryPath } from '../../util/atomic-write.js';
import { Semaphore } from '../../util/semaphore.js';
import { checkDimension, checkSearch, compareIds, compareMatches, uniqueItems } from '../contract.js';
import { readVectorFile, writeVectorFile } from '../flat/vector-file.js';
import type { HnswStoreConfig, VectorItem, VectorMatch, VectorSearchOptions, VectorStore, VectorStoreConfig, VectorStoreContext, VectorStoreStatistics, VectorUpsertOptions } from '../vector-store.js';

/** The side table's file name. */
export const HNSW_TABLE_NAME = 'hnsw.o1v';
const GRAPH_PATTERN = /^graph-(\d+)\.usearch$/;
const SCALAR_KINDS = { f32: ScalarKind.F32, f16: ScalarKind.F16, i8: ScalarKind.I8 } as const;

/** Resolved settings of an hnsw store. */
interface HnswSettings {
  dtype: keyof typeof SCALAR_KINDS;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  threads: number;
  rescore: boolean;
  /** Candidates fetched from the graph per requested hit when rescoring. */
  refine: number;
}

/** What the side table's metadata records. */
interface HnswMetadata {
  store: 'hnsw';
  dtype: HnswSettings['dtype'];
  connectivity: number;
  expansionAdd: number;
  generation: number;
  graph: string;
  graphBytes: number;
  graphCrc: number;
  nextKey: number;
  removed: number;
}

/** Reads an hnsw config; the settings that shape the graph stay undefined when the config leaves them to the stored graph (or the defaults). */
function readSettings(config: VectorStoreConfig): Partial<HnswSettings> & Pick<HnswSettings, 'threads' | 'rescore'> {
  const settings = new Settings(config, 'hnsw store');
  settings.oneOf('store', ['hnsw'], 'hnsw');
  const result = {
    // optionalString only marks an absent key as read.
    dtype: config.dtype === undefined ? (settings.optionalString('dtype') as undefined) : settings.oneOf('dtype', ['f32', 'f16', 'i8'], 'f16'),
    connectivity: settings.optionalInteger('connectivity', 2),
    expansionAdd: settings.optionalInteger('expansionAdd', 1),
    expansionSearch: settings.optionalInteger('expansionSearch', 1),
    threads: settings.integer('threads', defaultThreadCount(), 1),
    rescore: settings.boolean('rescore', true),
    refine: settings.optionalInteger('refine', 1),
  };
  settings.rejectUnknown();
  return result;
}

/**
 * Opens an hnsw store (the `hnsw` registry entry). Defaults: an f16 graph, connectivity 16,
 * expansionAdd 128, expansionSearch 64, rescore true, refine 2 (1 for f32); an existing store
 * keeps its dtype and connectivity (a config asking for others fails with INDEX_MISMATCH),
 * while expansionSearch and refine may change on every open.
 *
 * @example
 * const store = await openHnswStore({ store: 'hnsw', expansionSearch: 128 }, { directory: 'index/hnsw', dimension: 384, mode: 'openOrCreate' });
 */
export async function openHnswStore(config: VectorStoreConfig, context: VectorStoreContext): Promise<HnswStore> {
  const given = readSettings(config);
  const tablePath = context.directory === undefined ? undefined : join(context.directory, HNSW_TABLE_NAME);
  const exists = tablePath !== undefined && existsSync(tablePath);
  if (context.mode === 'create' && exists) throw new O1Error('STORE_ERROR', 'an hnsw store already exists here; open it instead of overwriting it', { file: tablePath });
  if (context.mode === 'open' && tablePath === undefined) throw new O1Error('BAD_ARGUMENT', 'opening an hnsw store needs its directory', { field: 'directory' });
  if (context.mode === 'open' && !exists) throw new O1Error('MISSING_FILE', 'no hnsw store here', { file: tablePath });
  if (!exists) {
    const settings: HnswSettings = {
      dtype: given.dtype ?? 'f16',
      connectivity: given.connectivity ?? 16,
      expansionAdd: given.expansionAdd ?? 128,
      expansionSearch: given.expansionSearch ?? 64,
      threads: given.threads,
      rescore: given.rescore,
      refine: given.refine ?? defaultRefine(given.dtype ?? 'f16'),
    };
    const store = new HnswStore(checkDimension(context.dimension), settings, context.directory);
    if (context.directory !== undefined) {
      await mkdir(context.directory, { recursive: true });
      store.markDirty();
      await store.flush();
    }
    return store;
  }
  const table = await readVectorFile(tablePath, context.dimension);
  const metadata = table.metadata as unknown as HnswMetadata;
  if (metadata.store !== 'hnsw' || table.keys === undefined || typeof metadata.graph !== 'string' || !GRAPH_PATTERN.test(metadata.graph)) {
    throw new O1Error('CORRUPT_INDEX', 'not an hnsw side table (no keys or no graph file named)', { file: tablePath });
  }
  for (const key of ['dtype', 'connectivity'] as const) {
    if (given[key] !== undefined && given[key] !== metadata[key]) {
      throw new O1Error('INDEX_MISMATCH', `the store was built with ${key} ${metadata[key]}, the config asks for ${given[key]}`, { file: tablePath, field: key });
    }
  }
  const settings: HnswSettings = {
    dtype: metadata.dtype,
    connectivity: metadata.connectivity,
    expansionAdd: given.expansionAdd ?? metadata.expansionAdd,
    expansionSearch: given.expansionSearch ?? 64,
    threads: given.threads,
    rescore: given.rescore,
    refine: given.refine ?? defaultRefine(metadata.dtype),
  };
  const store = new HnswStore(table.dimension, settings, context.directory);
  await store.load(table, metadata, tablePath);
  return store;
}

/**
 * Default candidates per hit: a quantised graph (f16, i8) orders candidates by approximate
 * distances, so a true top-k vector can arrive just below the cut; fetching twice as many and
 * rescoring them exactly recovers it (the graph walk costs the same while expansionSearch >= 2k).
 */
function defaultRefine(dtype: HnswSettings['dtype']): number {
  return dtype === 'f32' ? 1 : 2;
}

/** One stored id: its usearch key and its float32 vector. */
interface Entry {
  key: number;
  vector: Float32Array;
}

/**
 * The hnsw store; create it through the registry or {@link openHnswStore}. Every method is
 * serialised (one operation at a time).
 *
 * @example
 * const store = await openHnswStore({ store: 'hnsw' }, { dimension: 384, mode: 'create' });
 * await store.upsert(items);
 * const [matches] = await store.search([query], 10);
 */
export class HnswStore implements VectorStore {
  readonly name = 'hnsw';
  private index: Index;
  private readonly entries = new Map<string, Entry>();
  private readonly idOfKey = new Map<number, string>();
  private nextKey = 0;
  /** Keys removed from the graph since it was last built (usearch keeps them as tombstones). */
  private removed = 0;
  private generation = 0;
  private dirty = false;
  private bytes: number | undefined;
  private readonly gate = new Semaphore(1);
  private closed = false;

  constructor(
    readonly dimension: number,
    private readonly settings: HnswSettings,
    private readonly directory: string | undefined,
  ) {
    this.index = this.newIndex();
  }

  private newIndex(): Index {
    return new Index({
      dimensions: this.dimension,
      metric: MetricKind.IP,
      quantization: SCALAR_KINDS[this.settings.dtype],
      connectivity: this.settings.connectivity,
      expansion_add: this.settings.expansionAdd,
      expansion_search: this.settings.expansionSearch,
      multi: false,
    });
  }

  /** Fills a fresh store from its side table and verified graph file. */
  async load(table: Awaited<ReturnType<typeof readVectorFile>>, metadata: HnswMetadata, tablePath: string): Promise<void> {
    const graphPath = join(this.directory as string, metadata.graph);
    let graph: Buffer;
    try {
      graph = await readFile(graphPath);
    } catch (error) {
      throw new O1Error('CORRUPT_INDEX', `the graph file named by ${HNSW_TABLE_NAME} cannot be read: ${(error as Error).message}`, { file: graphPath }, { cause: error });
    }
    if (graph.length !== metadata.graphBytes) throw new O1Error('CORRUPT_INDEX', `the graph file has ${graph.length} bytes, the side table says ${metadata.graphBytes} (truncated?)`, { file: graphPath });
    if ((crc32(graph) >>> 0) !== metadata.graphCrc) throw new O1Error('CORRUPT_INDEX', 'the graph file does not match its checksum', { file: graphPath });
    try {
      this.index.load(graphPath);
    } catch (error) {
      throw new O1Error('CORRUPT_INDEX', `usearch cannot load the graph: ${(error as Error).message}`, { file: graphPath }, { cause: error });
    }
    const keys = table.keys as BigUint64Array;
    table.ids.forEach((id, row) => {
      const key = Number(keys[row]);
      if (this.entries.has(id) || this.idOfKey.has(key)) throw new O1Error('CORRUPT_INDEX', `id ${JSON.stringify(id)} or its key appears twice`, { file: tablePath });
      this.entries.set(id, { key, vector: table.vectors.slice(row * this.dimension, (row + 1) * this.dimension) });
      this.idOfKey.set(key, id);
    });
    if (this.index.size() !== this.entries.size || this.index.dimensions() !== this.dimension) {
      throw new O1Error('CORRUPT_INDEX', `the graph holds ${this.index.size()} vectors of dimension ${this.index.dimensions()}, the side table ${this.entries.size} of ${this.dimension}`, { file: graphPath });
    }
    this.nextKey = metadata.nextKey;
    this.removed = metadata.removed;
    this.generation = metadata.generation;
    this.bytes = table.bytes + graph.length;
  }

  /** Marks the store as changed since the last flush. */
  markDirty(): void {
    this.dirty = true;
  }

  async size(): Promise<number> {
    return this.entries.size;
  }

  async upsert(items: readonly VectorItem[], options: VectorUpsertOptions = {}): Promise<void> {
    const unique = uniqueItems(items, this.dimension);
    await this.exclusive(async () => {
      throwIfCancelled(options.signal, 'hnsw upsert');
      if (unique.length === 0) return;
      const keys = new BigUint64Array(unique.length);
      const vectors = new Float32Array(unique.length * this.dimension);
      unique.forEach(({ id, vector }, index) => {
        const previous = this.entries.get(id);
        if (previous !== undefined) {
          this.index.remove(BigInt(previous.key));
          this.idOfKey.delete(previous.key);
          this.removed++;
        }
        const key = this.nextKey++;
        this.entries.set(id, { key, vector: vector.slice() });
        this.idOfKey.set(key, id);
        keys[index] = BigInt(key);
        vectors.set(vector, index * this.dimension);
      });
      this.wrap('add', () => this.index.add(keys, vectors, this.settings.threads));
      this.dirty = true;
    });
  }

  async delete(ids: readonly string[]): Promise<number> {
    return this.exclusive(async () => {
      let deleted = 0;
      for (const id of new Set(ids)) {
        const entry = this.entries.get(id);
        if (entry === undefined) continue;
        this.wrap('remove', () => this.index.remove(BigInt(entry.key)));
        this.entries.delete(id);
        this.idOfKey.delete(entry.key);
        this.removed++;
        deleted++;
      }
      if (deleted > 0) this.dirty = true;
      return deleted;
    });
  }

  async get(ids: readonly string[]): Promise<(Float32Array | undefined)[]> {
    return ids.map((id) => this.entries.get(id)?.vector.slice());
  }

  async ids(): Promise<string[]> {
    return [...this.entries.keys()].sort(compareIds);
  }

  /**
   * Approximate top-k: usearch's batched search (expansionSearch candidates), `refine` x k of
   * them rescored with the float32 vectors (unless `rescore` is off) and the best k kept.
   */
  async search(queries: readonly Float32Array[], k: number, options: VectorSearchOptions = {}): Promise<VectorMatch[][]> {
    checkSearch(queries, k, this.dimension, options.exclude);
    return this.exclusive(async () => {
      throwIfCancelled(options.signal, 'hnsw search');
      const live = this.entries.size;
      if (queries.length === 0) return [];
      if (k === 0 || live === 0) return queries.map(() => []);
      // `refine` candidates per hit when rescoring, and one more when a query excludes an id, so that k remain after removing it.
      const wanted = Math.min(live, k * (this.settings.rescore ? this.settings.refine : 1) + (options.exclude?.some((id) => id !== undefined) === true ? 1 : 0));
      const flat = new Float32Array(queries.length * this.dimension);
      queries.forEach((query, index) => flat.set(query, index * this.dimension));
      const found = this.wrap('search', () => this.index.search(flat, wanted, this.settings.threads));
      return queries.map((query, index) => {
        const matches: Matches = found instanceof BatchMatches ? found.get(index) : found;
        const excluded = options.exclude?.[index];
        const results: VectorMatch[] = [];
        for (let position = 0; position < matches.keys.length; position++) {
          const id = this.idOfKey.get(Number(matches.keys[position]));
          if (id === undefined || id === excluded) continue;
          // usearch's inner-product distance is 1 - <q, v>.
          const score = this.settings.rescore ? innerProduct(query, (this.entries.get(id) as Entry).vector) : 1 - matches.distances[position];
          results.push({ id, score });
        }
        return results.sort(compareMatches).slice(0, k);
      });
    });
  }

  async flush(): Promise<void> {
    await this.exclusive(() => this.flushNow());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(async () => {
      await this.flushNow();
      this.closed = true;
    });
  }

  config(): HnswStoreConfig {
    const { dtype, connectivity, expansionAdd, expansionSearch, rescore, refine } = this.settings;
    return { store: 'hnsw', dtype, connectivity, expansionAdd, expansionSearch, rescore, refine };
  }

  async statistics(): Promise<VectorStoreStatistics> {
    return {
      store: 'hnsw',
      dimension: this.dimension,
      count: this.entries.size,
      ...(this.bytes === undefined ? {} : { bytes: this.bytes }),
      details: { ...this.settings, removedKeys: this.removed, graphSize: this.index.size(), generation: this.generation, unflushed: this.dirty },
    };
  }

  private async flushNow(): Promise<void> {
    if (!this.dirty || this.directory === undefined) return;
    if (this.removed > 0 && this.removed > this.entries.size / 4) this.rebuild();
    const generation = this.generation + 1;
    const graph = `graph-${generation}.usearch`;
    const graphPath = join(this.directory, graph);
    const temporary = temporaryPath(graphPath);
    try {
      this.wrap('save', () => this.index.save(temporary));
      const handle = await open(temporary, 'r+');
      await handle.sync().finally(() => handle.close());
      await rename(temporary, graphPath);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error instanceof O1Error ? error : new O1Error('STORE_ERROR', `saving the graph failed: ${(error as Error).message}`, { file: graphPath }, { cause: error });
    }
    const graphBytes = await readFile(graphPath);
    const ordered = [...this.entries.entries()].sort((left, right) => compareIds(left[0], right[0]));
    const vectors = new Float32Array(ordered.length * this.dimension);
    const keys = new BigUint64Array(ordered.length);
    ordered.forEach(([, entry], row) => {
      vectors.set(entry.vector, row * this.dimension);
      keys[row] = BigInt(entry.key);
    });
    const metadata: HnswMetadata = {
      store: 'hnsw',
      dtype: this.settings.dtype,
      connectivity: this.settings.connectivity,
      expansionAdd: this.settings.expansionAdd,
      generation,
      graph,
      graphBytes: graphBytes.length,
      graphCrc: crc32(graphBytes) >>> 0,
      nextKey: this.nextKey,
      removed: this.removed,
    };
    const tableBytes = await writeVectorFile(join(this.directory, HNSW_TABLE_NAME), {
      dtype: 'f32', dimension: this.dimension, ids: ordered.map(([id]) => id), keys, vectors, metadata: metadata as unknown as Record<string, unknown>,
    });
    this.generation = generation;
    this.bytes = tableBytes + graphBytes.length;
    this.dirty = false;
    // Only now are older graphs unreferenced; a kill before this line leaves them as litter that the next flush removes.
    for (const name of await readdir(this.directory)) {
      if ((GRAPH_PATTERN.test(name) && name !== graph) || (name.startsWith('graph-') && name.includes('.usearch.tmp-'))) await rm(join(this.directory, name), { force: true });
    }
  }

  /** A fresh graph of the live vectors (drops usearch's tombstones). */
  private rebuild(): void {
    this.index = this.newIndex();
    const ordered = [...this.entries.values()];
    if (ordered.length > 0) {
      const keys = BigUint64Array.from(ordered, (entry) => BigInt(entry.key));
      const vectors = new Float32Array(ordered.length * this.dimension);
      ordered.forEach((entry, row) => vectors.set(entry.vector, row * this.dimension));
      this.wrap('add', () => this.index.add(keys, vectors, this.settings.threads));
    }
    this.removed = 0;
  }

  private wrap<T>(what: string, task: () => T): T {
    try {
      return task();
    } catch (error) {
      throw new O1Error('STORE_ERROR', `usearch ${what} failed: ${(error as Error).message}`, { file: this.directory }, { cause: error });
    }
  }

  private async exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) throw new O1Error('STORE_ERROR', 'the hnsw store is closed', { file: this.directory });
    return this.gate.run(task);
  }
}

/** The inner product of two float32 vectors, rounded to float32 (the precision every store reports). */
function innerProduct(left: Float32Array, right: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < left.length; index++) sum += left[index] * right[index];
  return Math.fround(sum);
}
