/**
 * Opening an index folder for search: {@link openIndex} reads the published version (CURRENT),
 * checks its files (lengths, checksums, the embedder identity and dimension of every dense
 * part) and rebuilds its retriever over the stored parts. A version removed by a writer while
 * it was being read (the writer published a newer one) is retried from CURRENT, so a reader
 * always gets one complete version.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ThinkerConfig } from '../backends/thinker.js';
import type { Document, Hit, Query } from '../data/types.js';
import { O1Error } from '../errors.js';
import { searchOne, type Retriever, type RetrieverConfig, type RetrieverStatistics, type SearchOptions } from '../retrieval/retriever.js';
import { readThinkerConfig, RetrieverThinking } from '../retrieval/thinking.js';
import type { VectorStoreConfig } from '../stores/vector-store.js';
import { Semaphore } from '../util/semaphore.js';
import { DOCUMENT_INDEX_FILE, DocumentTable } from './documents.js';
import { canonicalJson } from './durable.js';
import { BUILD_DIRECTORY, DOCUMENTS_FILE, INTENT_FILE, MANIFEST_FILE, readCurrent, versionPath } from './layout.js';
import { readManifest, type IndexManifest } from './manifest.js';
import type { IndexOperationReport } from './operation.js';
import { refuseIndexing, openStoredRetriever } from './stored-retrievers.js';
import { FusedRetriever, fusedMemberNames } from '../retrieval/fusion/fused-retriever.js';
import { addToIndex, deleteFromIndex } from './update.js';

/** Options of {@link openIndex}. */
export interface OpenIndexOptions {
  /** Think with this thinker instead of the configured ones (thoughts computed once, handed to every part). Default: as configured. */
  thinker?: ThinkerConfig;
  /**
   * The retriever config to search with instead of the manifest's (other threads or fusion
   * weights, another thinker). Its parts must be the index's: same kinds at the same places,
   * and embedders with the identity and dimension the index was built with (INDEX_MISMATCH).
   */
  retriever?: RetrieverConfig;
  /** Settings merged into every dense part's store config: a connection string with its password, expansionSearch, threads. */
  store?: Partial<VectorStoreConfig>;
}

/** Options of {@link PersistentIndex.search}. */
export interface IndexSearchOptions {
  /** Hits per query. Default 10. */
  hits?: number;
  /** Think with this thinker for this call (instead of the index's). */
  thinker?: ThinkerConfig;
  /** Never return the document whose id is the query's id (Query objects only). Default false. */
  removeQuery?: boolean;
  /** No progress bars. Default true. */
  quiet?: boolean;
  signal?: AbortSignal;
}

/** A hit with its stored document. */
export interface IndexHit extends Hit {
  document: Document;
}

/** One query's results. */
export interface IndexSearchResult {
  query: Query;
  hits: IndexHit[];
  /** The thoughts the query was searched with (undefined when nothing thought). */
  thoughts?: string[];
}

/** One opened version: its manifest, documents and retriever (what {@link PersistentIndex.loaded} returns). */
export interface LoadedVersion {
  manifest: IndexManifest;
  documents: DocumentTable;
  root: Retriever;
}

async function disposeVersion(version: LoadedVersion): Promise<void> {
  try {
    await version.root.dispose();
  } finally {
    await version.documents.close();
  }
}

async function loadVersion(path: string, version: number, options: OpenIndexOptions): Promise<LoadedVersion> {
  const directory = versionPath(path, version);
  const manifestPath = join(directory, MANIFEST_FILE);
  const manifest = await readManifest(manifestPath);
  if (manifest.version !== version) throw new O1Error('CORRUPT_INDEX', `the manifest of ${directory} says version ${manifest.version}`, { file: manifestPath });
  const documents = await DocumentTable.open(join(directory, DOCUMENTS_FILE), join(directory, DOCUMENT_INDEX_FILE), manifest.corpus);
  let ids: Set<string> | undefined;
  try {
    const root = await openStoredRetriever(options.retriever ?? manifest.retriever, [], {
      directory,
      manifest,
      manifestPath,
      store: options.store,
      documentIds: () => (ids ??= new Set(documents.ids())),
    });
    return { manifest, documents, root };
  } catch (error) {
    await documents.close();
    throw error;
  }
}

/**
 * The retriever of an opened index (what {@link PersistentIndex.retriever} returns): the
 * stored retriever, thinking with the index's thinker override when one was given. Its
 * `index()` refuses (the documents are the index's); `dispose()` closes the index.
 */
class IndexRetriever implements Retriever {
  /** @param member the name of one member of a fused index to search alone (see {@link PersistentIndex.retrieverNames}) */
  constructor(private readonly owner: PersistentIndex, private readonly member?: string) {}

  get name(): string {
    return this.member ?? this.owner.loaded().root.name;
  }

  async index(_documents: Iterable<Document> | AsyncIterable<Document>): Promise<void> {
    refuseIndexing();
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return searchOne(this, query, options);
  }

  searchMany(queries: readonly Query[], options: SearchOptions = {}): Promise<Map<string, Hit[]>> {
    return this.owner.searchHits(queries, options, undefined, this.member);
  }

  config(): RetrieverConfig {
    const config = this.owner.searchConfig();
    if (this.member === undefined) return config;
    const position = memberNames(this.owner.loaded().root).indexOf(this.member);
    return (config.retrievers as RetrieverConfig[])[position];
  }

  statistics(): RetrieverStatistics {
    return this.owner.statistics();
  }

  dispose(): Promise<void> {
    return this.owner.close();
  }
}

/** The names a fused root's members are searched by (none for any other root). */
function memberNames(root: Retriever): string[] {
  return root instanceof FusedRetriever ? fusedMemberNames(root) : [];
}

/**
 * An opened index. Searches use the version it opened; `add` and `delete` publish a new
 * version and move this object to it.
 *
 * @example
 * const index = await openIndex('scifact.index');
 * const [best] = (await index.search('vitamin d and covid', { hits: 3 })).hits;
 * console.log(best.id, best.score, best.document.title);
 * await index.close();
 */
export class PersistentIndex {
  private version: LoadedVersion | undefined;
  private readonly thinkers = new Map<string, RetrieverThinking>();
  private readonly override: RetrieverThinking | undefined;
  private readonly writes = new Semaphore(1);
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly retrieverView: IndexRetriever;
  private readonly memberViews = new Map<string, IndexRetriever>();

  private constructor(readonly path: string, private readonly options: OpenIndexOptions, version: LoadedVersion) {
    this.version = version;
    this.override = options.thinker === undefined ? undefined : new RetrieverThinking(readThinkerConfig(options.thinker));
    this.retrieverView = new IndexRetriever(this);
  }

  /** Opens the published version of `path` (see {@link openIndex}). */
  static async open(path: string, options: OpenIndexOptions = {}): Promise<PersistentIndex> {
    return new PersistentIndex(path, options, await openPublished(path, options));
  }

  /** The opened version, or STORE_ERROR after close(). */
  loaded(): LoadedVersion {
    if (this.version === undefined) throw new O1Error('STORE_ERROR', 'the index is closed', { file: this.path });
    return this.version;
  }

  /** The opened version's manifest. */
  get manifest(): IndexManifest {
    return this.loaded().manifest;
  }

  /** The stored documents: ids in memory, each document read from disk when asked for. */
  get documents(): DocumentTable {
    return this.loaded().documents;
  }

  /** A Retriever over this index (for evaluateRetriever with `{ indexed: true }`, servers, fusion). */
  retriever(member?: string): Retriever {
    if (member === undefined || member === this.loaded().root.name) return this.retrieverView;
    const names = this.retrieverNames();
    if (!names.includes(member)) throw new O1Error('BAD_ARGUMENT', `the index has no retriever '${member}': it has ${names.map((name) => `'${name}'`).join(', ')}`, { file: this.path, field: 'retriever' });
    let view = this.memberViews.get(member);
    if (view === undefined) {
      view = new IndexRetriever(this, member);
      this.memberViews.set(member, view);
    }
    return view;
  }

  /**
   * What {@link retriever} can search: the stored retriever's name first, then, for a fused
   * index, each member's (searched alone, thinking as the fusion does).
   *
   * @example
   * index.retrieverNames() // ['fused', 'bm25', 'o1']
   */
  retrieverNames(): string[] {
    const root = this.loaded().root;
    return [root.name, ...memberNames(root)];
  }

  /**
   * Ranked hits with their documents, for one query or many (then one result per query, in
   * order). Thinks as the index is configured, unless `thinker` (here or at open) says otherwise.
   *
   * @example
   * const { hits, thoughts } = await index.search('what causes tides', { hits: 5 });
   * const results = await index.search([{ id: 'q1', text: 'tides' }], { removeQuery: true });
   */
  search(query: string | Query, options?: IndexSearchOptions): Promise<IndexSearchResult>;
  search(queries: readonly (string | Query)[], options?: IndexSearchOptions): Promise<IndexSearchResult[]>;
  async search(input: string | Query | readonly (string | Query)[], options: IndexSearchOptions = {}): Promise<IndexSearchResult | IndexSearchResult[]> {
    const many = Array.isArray(input);
    const given: readonly (string | Query)[] = many ? input : [input];
    // Plain strings get ids no real query has ('' alone, as retrievers do), so a thinker matches them by text.
    const queries = given.map((query, index) => (typeof query === 'string' ? { id: many ? `\u0000${index}` : '', text: query } : query));
    const hits = options.hits ?? 10;
    const results = await this.track(async (version) => {
      const found = await this.searchVersion(version, queries, { hits, removeQuery: options.removeQuery, quiet: options.quiet ?? true, signal: options.signal }, options.thinker);
      return Promise.all(queries.map(async (query, position) => {
        const ranked = found.get(query.id) ?? [];
        const thoughts = ranked[0]?.thoughts;
        const original = given[position];
        const stored = await version.documents.get(ranked.map((hit) => hit.id));
        return {
          query: typeof original === 'string' ? { id: '', text: original } : original,
          hits: ranked.flatMap((hit, rank) => (stored[rank] === undefined ? [] : [{ ...hit, document: stored[rank] as Document }])),
          ...(thoughts === undefined ? {} : { thoughts }),
        };
      }));
    });
    return many ? results : results[0];
  }

  /** Hits by query id, thinking with `thinker`, else the open-time override, else as configured. */
  searchHits(queries: readonly Query[], options: SearchOptions, thinker: ThinkerConfig | undefined, member?: string): Promise<Map<string, Hit[]>> {
    return this.track((version) => this.searchVersion(version, queries, options, thinker, member));
  }

  /** Runs `task` on the current version; reload() waits for such tasks before releasing the version they use. */
  private async track<T>(task: (version: LoadedVersion) => Promise<T>): Promise<T> {
    const running = task(this.loaded());
    this.inflight.add(running);
    try {
      return await running;
    } finally {
      this.inflight.delete(running);
    }
  }

  private async searchVersion({ root }: LoadedVersion, queries: readonly Query[], options: SearchOptions, thinker: ThinkerConfig | undefined, member?: string): Promise<Map<string, Hit[]>> {
    const position = member === undefined ? -1 : memberNames(root).indexOf(member);
    if (member !== undefined && position < 0) throw new O1Error('BAD_ARGUMENT', `this version of the index has no retriever '${member}'`, { file: this.path, field: 'retriever' });
    const run = (searchOptions: SearchOptions) => (position < 0 ? root.searchMany(queries, searchOptions) : (root as FusedRetriever).searchMember(position, queries, searchOptions));
    const thinking = thinker === undefined ? this.override : this.thinkerFor(thinker);
    if (thinking === undefined || options.thoughts !== undefined) return run(options);
    const thoughts = await thinking.thoughtsFor(queries, options, 'think');
    return run({ ...options, thoughts: new Map(queries.map((query, index) => [query.id, thoughts[index] ?? []])) });
  }

  private thinkerFor(config: ThinkerConfig): RetrieverThinking {
    const key = canonicalJson(config);
    let thinking = this.thinkers.get(key);
    if (thinking === undefined) {
      thinking = new RetrieverThinking(readThinkerConfig(config));
      this.thinkers.set(key, thinking);
    }
    return thinking;
  }

  /** The config searches run with (the open-time thinker override shown as `thinker`). */
  searchConfig(): RetrieverConfig {
    const config = this.loaded().root.config();
    return this.options.thinker === undefined ? config : { ...config, thinker: { ...this.options.thinker } };
  }

  /** The retriever's statistics, with the documents of this version. */
  statistics(): RetrieverStatistics {
    const { root, manifest } = this.loaded();
    const statistics = root.statistics();
    const thoughts = this.override?.statistics();
    return {
      ...statistics,
      documents: manifest.corpus.documents,
      timings: { ...statistics.timings, ...(this.override === undefined ? {} : { thinkMs: (statistics.timings.thinkMs ?? 0) + this.override.thinkMs }) },
      ...(thoughts === undefined ? {} : { thoughts }),
    };
  }

  /**
   * Adds documents (a new version: embedded, BM25 rebuilt, vectors upserted), then moves this
   * object to it. Ids already in the index are DUPLICATE_ID, and nothing is written.
   *
   * @example
   * await index.add([{ id: 'n1', title: 'Tides', text: 'The moon pulls the oceans.' }]);
   */
  async add(documents: readonly Document[], options: { batchSize?: number; quiet?: boolean } = {}): Promise<IndexOperationReport> {
    return this.writes.run(async () => {
      const report = await addToIndex(this.path, { documents, store: this.options.store, quiet: options.quiet ?? true, batchSize: options.batchSize });
      await this.reload();
      return report;
    });
  }

  /**
   * Deletes documents by id (a new version without them in BM25 and in the vectors), then
   * moves this object to it. Absent ids are counted in the report's `missing`.
   *
   * @example
   * await index.delete(['n1']);
   */
  async delete(ids: readonly string[], options: { quiet?: boolean } = {}): Promise<IndexOperationReport> {
    return this.writes.run(async () => {
      const report = await deleteFromIndex(this.path, { ids, store: this.options.store, quiet: options.quiet ?? true });
      await this.reload();
      return report;
    });
  }

  /** Opens the published version again (after an update by this or another process). */
  async reload(): Promise<void> {
    const next = await openPublished(this.path, this.options);
    const previous = this.loaded();
    this.version = next;
    await Promise.allSettled([...this.inflight]);
    await disposeVersion(previous);
  }

  /** Releases models, thinkers, stores and connections. Idempotent. */
  async close(): Promise<void> {
    const version = this.version;
    this.version = undefined;
    if (version !== undefined) await disposeVersion(version);
    for (const thinking of this.thinkers.values()) await thinking.dispose();
    this.thinkers.clear();
    await this.override?.dispose();
  }
}

/** Opens the version CURRENT names, starting again when a writer replaced it meanwhile. */
async function openPublished(path: string, options: OpenIndexOptions): Promise<LoadedVersion> {
  for (let attempt = 0; ; attempt++) {
    const version = await readCurrent(path);
    if (version === undefined) {
      if (existsSync(join(path, BUILD_DIRECTORY, INTENT_FILE))) throw new O1Error('MISSING_FILE', 'the index has not been published yet: its build was interrupted or is running (re-run the o1e index command that builds it)', { file: path });
      throw new O1Error('MISSING_FILE', existsSync(path) ? 'not an index folder (no CURRENT file)' : 'the index folder does not exist', { file: path });
    }
    try {
      return await loadVersion(path, version, options);
    } catch (error) {
      // Older versions are removed once a newer one is published: read the newer one.
      if (attempt < 20 && (await readCurrent(path).catch(() => version)) !== version) continue;
      throw error;
    }
  }
}

/**
 * Opens an index folder built by {@link buildIndex} (`o1e index`). Errors name the file:
 * MISSING_FILE (not an index, or not yet published), CORRUPT_INDEX (a truncated or altered
 * file), INDEX_MISMATCH (another format version, or a dense part whose embedder now has another
 * identity or dimension).
 *
 * @example
 * const index = await openIndex('scifact.index');
 * const report = await evaluateRetriever(index.retriever(), '../shared/datasets/scifact', { indexed: true });
 * await index.close();
 */
export function openIndex(path: string, options: OpenIndexOptions = {}): Promise<PersistentIndex> {
  return PersistentIndex.open(path, options);
}
