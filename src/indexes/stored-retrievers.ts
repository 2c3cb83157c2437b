/**
 * Retrievers over a stored index version: the retriever config's tree rebuilt with each leaf
 * answering from the index instead of from an in-memory index. A BM25 leaf is
 * `Bm25Retriever.load` of its file (with the leaf's thinking settings); a dense or o1 leaf is
 * {@link StoredDenseRetriever}: the leaf's own DenseRetriever encodes (and thinks about) the
 * queries, the vector store ranks the documents; a fused node is a FusedRetriever over them.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Document, Hit, Query } from '../data/types.js';
import { O1Error } from '../errors.js';
import { Bm25Retriever } from '../retrieval/bm25/bm25-retriever.js';
import { DenseRetriever } from '../retrieval/dense/dense-retriever.js';
import { FusedRetriever } from '../retrieval/fusion/fused-retriever.js';
import { createRetriever } from '../retrieval/registry.js';
import { DEFAULT_HITS, searchOne, type Retriever, type RetrieverConfig, type RetrieverStatistics, type SearchOptions } from '../retrieval/retriever.js';
import { openVectorStore } from '../stores/registry.js';
import type { VectorStore, VectorStoreConfig } from '../stores/vector-store.js';
import type { Bm25PartManifest, DensePartManifest, IndexManifest, PartManifest } from './manifest.js';

/** Refuses `index()` on a retriever whose documents live in an index folder. */
export function refuseIndexing(): never {
  throw new O1Error('BAD_ARGUMENT', 'this retriever searches a stored index: change its documents with add()/delete() (o1e index add/delete); evaluateRetriever takes it with { indexed: true }');
}

/**
 * A dense (or o1) leaf over a vector store: queries are encoded by `encoder` (the leaf's
 * DenseRetriever, thinking as configured, or with thoughts handed in), documents ranked by the
 * store's inner-product search.
 *
 * @example
 * const stored = new StoredDenseRetriever(createRetriever({ retriever: 'o1', model: 'models/o1-small' }) as DenseRetriever, store, 5183);
 * const hits = await stored.search('vitamin d and covid', { hits: 10 });
 */
export class StoredDenseRetriever implements Retriever {
  readonly name: string;
  private vectorSearchMs = 0;

  /**
   * @param allowed the version's document ids, when the store is shared by several versions
   * (a database): ids outside it (written by an update in progress) are never returned.
   */
  constructor(
    readonly encoder: DenseRetriever,
    readonly store: VectorStore,
    private readonly documentCount: number,
    private readonly allowed?: () => ReadonlySet<string>,
  ) {
    this.name = encoder.name;
  }

  async index(_documents: Iterable<Document> | AsyncIterable<Document>): Promise<void> {
    refuseIndexing();
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return searchOne(this, query, options);
  }

  async searchMany(queries: readonly Query[], options: SearchOptions = {}): Promise<Map<string, Hit[]>> {
    const hits = options.hits ?? DEFAULT_HITS;
    if (!(Number.isInteger(hits) && hits >= 0)) throw new O1Error('BAD_ARGUMENT', `hits must be a non-negative integer, got ${hits}`, { field: 'hits' });
    if (queries.length === 0) return new Map();
    queries.forEach((query, index) => {
      if (typeof query.text !== 'string' || query.text.trim() === '') throw new O1Error('BAD_ARGUMENT', `query ${query.id || index} is empty: there is nothing to embed`, { field: 'text' });
    });
    const encoded = await this.encoder.encodeQueries(queries, options);
    const started = performance.now();
    const exclude = queries.map((query) => (options.removeQuery === true ? query.id : undefined));
    const found = await this.rank(encoded.vectors, hits, exclude, options.signal);
    this.vectorSearchMs += Math.round(performance.now() - started);
    return new Map(queries.map((query, index) => {
      const thoughts = encoded.thoughts[index];
      return [query.id, found[index].map(({ id, score }) => (thoughts === undefined ? { id, score } : { id, score, thoughts: [...thoughts] }))];
    }));
  }

  /** The store's matches, without ids outside `allowed` (asking for more while some were dropped). */
  private async rank(vectors: Float32Array[], hits: number, exclude: (string | undefined)[], signal: AbortSignal | undefined): Promise<{ id: string; score: number }[][]> {
    if (this.allowed === undefined) return this.store.search(vectors, hits, { exclude, signal });
    const allowed = this.allowed();
    let depth = hits;
    for (;;) {
      const found = await this.store.search(vectors, depth, { exclude, signal });
      const kept = found.map((matches) => matches.filter((match) => allowed.has(match.id)).slice(0, hits));
      const short = found.some((matches, index) => matches.length === depth && kept[index].length < hits);
      if (!short) return kept;
      depth *= 2;
    }
  }

  config(): RetrieverConfig {
    return this.encoder.config();
  }

  statistics(): RetrieverStatistics {
    const own = this.encoder.statistics();
    return { ...own, documents: this.documentCount, timings: { ...own.timings, vectorSearchMs: this.vectorSearchMs } };
  }

  /** Releases the encoder's model and thinker and closes the store. */
  async dispose(): Promise<void> {
    await this.encoder.dispose();
    await this.store.close();
  }
}

/** Where and how {@link openStoredRetriever} reads a version. */
export interface StoredRetrieverContext {
  /** The version's folder. */
  directory: string;
  manifest: IndexManifest;
  /** The manifest file, named in INDEX_MISMATCH errors. */
  manifestPath: string;
  /** Settings merged into every part's store config (secrets, expansionSearch, threads). */
  store?: Partial<VectorStoreConfig>;
  /** The version's document ids (for stores shared by versions). */
  documentIds: () => ReadonlySet<string>;
}

function partAt(manifest: IndexManifest, path: readonly number[], kind: PartManifest['kind'], context: StoredRetrieverContext): PartManifest {
  const part = manifest.parts.find((candidate) => candidate.kind === kind && JSON.stringify(candidate.path) === JSON.stringify(path));
  if (part === undefined) {
    throw new O1Error('INDEX_MISMATCH', `the retriever config has a ${kind} retriever at [${path.join(', ')}], the index has no such part (built with another config?)`, { file: context.manifestPath, field: 'retriever' });
  }
  return part;
}

async function openBm25(config: RetrieverConfig, part: Bm25PartManifest, context: StoredRetrieverContext): Promise<Bm25Retriever> {
  const template = createRetriever(config) as Bm25Retriever;
  await template.dispose();
  if (template.analyzerName !== part.analyzer) throw new O1Error('INDEX_MISMATCH', `the retriever analyzes with ${template.analyzerName}, the index with ${part.analyzer}`, { file: context.manifestPath, field: 'analyzer' });
  const path = join(context.directory, part.index.file);
  const info = await stat(path).catch((error: unknown) => {
    throw new O1Error('MISSING_FILE', `the BM25 index of part ${part.name} is missing`, { file: path }, { cause: error });
  });
  if (info.size !== part.index.bytes) throw new O1Error('CORRUPT_INDEX', `${info.size} bytes, the manifest says ${part.index.bytes} (truncated?)`, { file: path });
  return Bm25Retriever.load(path, {
    k1: template.parameters.k1,
    b: template.parameters.b,
    thinker: template.thinking.thinkerConfig,
    queryWeight: template.queryWeight,
    queryOnlyWeight: template.queryOnlyWeight,
  });
}

async function openDense(config: RetrieverConfig, part: DensePartManifest, context: StoredRetrieverContext): Promise<StoredDenseRetriever> {
  const encoder = createRetriever(config);
  if (!(encoder instanceof DenseRetriever)) throw new O1Error('INDEX_MISMATCH', `part ${part.name} holds vectors; the retriever config has ${config.retriever} there`, { file: context.manifestPath });
  let store: VectorStore | undefined;
  try {
    // The embedder is loaded now (not on the first query), so a mismatch fails the open.
    const embedder = await encoder.embedder();
    const dimension = await embedder.dimension();
    if (embedder.identity !== part.embedder.identity) {
      throw new O1Error('INDEX_MISMATCH', `part ${part.name} was embedded by ${part.embedder.identity}, the retriever's embedder is ${embedder.identity} (another model, or the model's files changed)`, { file: context.manifestPath, field: `${part.name}.embedder.identity` });
    }
    if (dimension !== part.embedder.dimension) {
      throw new O1Error('INDEX_MISMATCH', `part ${part.name} holds vectors of dimension ${part.embedder.dimension}, the embedder makes ${dimension}`, { file: context.manifestPath, field: `${part.name}.embedder.dimension` });
    }
    const directory = part.directory === undefined ? undefined : join(context.directory, part.directory);
    store = await openVectorStore({ ...part.store, ...context.store } as VectorStoreConfig, { directory, dimension: part.embedder.dimension });
    const count = await store.size();
    if (directory !== undefined && count !== part.count) throw new O1Error('CORRUPT_INDEX', `the store holds ${count} vectors, the manifest says ${part.count}`, { file: directory });
    return new StoredDenseRetriever(encoder, store, context.manifest.corpus.documents, directory === undefined ? context.documentIds : undefined);
  } catch (error) {
    await store?.close().catch(() => undefined);
    await encoder.dispose();
    throw error;
  }
}

/**
 * The retriever `config` describes, over the stored parts of a version. Each leaf must match
 * a part of the manifest (same kind at the same position), and each dense leaf's embedder must
 * have the identity and dimension the part was built with (INDEX_MISMATCH otherwise).
 *
 * @example
 * const retriever = await openStoredRetriever(manifest.retriever, [], { directory, manifest, manifestPath, documentIds });
 */
export async function openStoredRetriever(config: RetrieverConfig, path: readonly number[], context: StoredRetrieverContext): Promise<Retriever> {
  if (config.retriever === 'fused') {
    const template = createRetriever(config) as FusedRetriever;
    await template.dispose();
    const members: Retriever[] = [];
    try {
      for (const [index, member] of (config.retrievers as RetrieverConfig[]).entries()) members.push(await openStoredRetriever(member, [...path, index], context));
    } catch (error) {
      for (const member of members) await member.dispose();
      throw error;
    }
    const { fusion, k, weights, depth } = template.options;
    return new FusedRetriever(members, { fusion, k, weights, depth, thinker: template.thinking.thinkerConfig });
  }
  if (config.retriever === 'bm25') return openBm25(config, partAt(context.manifest, path, 'bm25', context) as Bm25PartManifest, context);
  return openDense(config, partAt(context.manifest, path, 'dense', context) as DensePartManifest, context);
}
