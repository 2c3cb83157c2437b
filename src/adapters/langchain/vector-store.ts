/**
 * `O1VectorStore`: a LangChain `VectorStore` over a vector store of our src/stores seam (flat,
 * hnsw, pgvector, opened by the caller; by default one in memory), scored by INNER PRODUCT as
 * O1 query vectors need (they are means of unit vectors, not unit length). The LangChain
 * documents (page content, metadata) are kept in memory beside the vectors. With
 * {@link O1Embeddings}, searches think, and each result's metadata carries the thoughts.
 */
import { randomUUID } from 'node:crypto';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { VectorStore as LangChainVectorStore } from '@langchain/core/vectorstores';
import { O1Error } from '../../errors.js';
import type { VectorStore } from '../../stores/vector-store.js';
import type { ThinkingQueryEmbedding } from './embeddings.js';
import { MemoryInnerProductStore } from './memory-store.js';

/** Settings of {@link O1VectorStore}. */
export interface O1VectorStoreArgs {
  /**
   * Where the vectors go: one of our stores, already opened (its owner closes it). Default: an
   * in-memory exact store, created by the first add with the vectors' length and closed by
   * {@link O1VectorStore.close}.
   */
  store?: VectorStore;
}

/** Options of {@link O1VectorStore.addVectors} and {@link O1VectorStore.addDocuments}. */
export interface O1AddOptions {
  /** Ids of the documents, replacing what is stored under them. Default: each document's `id`, else a random UUID. */
  ids?: string[];
}

/** A filter on stored documents: only documents it accepts are returned. */
export type O1VectorStoreFilter = (document: DocumentInterface) => boolean;

/** Embeddings that also return the thoughts of a query (our {@link O1Embeddings}). */
interface ThinkingEmbeddingsInterface extends EmbeddingsInterface {
  embedQueryWithThoughts(text: string): Promise<ThinkingQueryEmbedding>;
}

function thinks(embeddings: EmbeddingsInterface): embeddings is ThinkingEmbeddingsInterface {
  return typeof (embeddings as Partial<ThinkingEmbeddingsInterface>).embedQueryWithThoughts === 'function';
}

/**
 * A LangChain vector store over one of ours.
 *
 * @example
 * import { O1Embeddings, O1VectorStore } from 'o1-embedder/langchain';
 *
 * const embeddings = new O1Embeddings({ embedder: { backend: 'engine', model: 'models/o1-small' }, thinker: { backend: 'engine', model: 'models/o1-small' } });
 * const store = await O1VectorStore.fromTexts(['The moon pulls the oceans.', 'Cats sleep a lot.'], [{ source: 'a' }, { source: 'b' }], embeddings);
 * const [[document, score]] = await store.similaritySearchWithScore('what causes tides', 1);
 * console.log(document.metadata.thoughts, score); // an inner product
 * await store.delete({ ids: [document.id!] });
 */
export class O1VectorStore extends LangChainVectorStore {
  declare FilterType: O1VectorStoreFilter;
  private vectorStore?: VectorStore;
  private readonly ownsStore: boolean;
  private readonly documents = new Map<string, Document>();

  _vectorstoreType(): string {
    return 'o1';
  }

  constructor(embeddings: EmbeddingsInterface, args: O1VectorStoreArgs = {}) {
    super(embeddings, {});
    this.vectorStore = args.store;
    this.ownsStore = args.store === undefined;
  }

  /** Our store (undefined until the first add when none was handed in). */
  get store(): VectorStore | undefined {
    return this.vectorStore;
  }

  /** Stores precomputed vectors with their documents; returns the ids. */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options: O1AddOptions = {}): Promise<string[]> {
    if (vectors.length !== documents.length) throw new O1Error('BAD_ARGUMENT', `${vectors.length} vectors for ${documents.length} documents`, { field: 'vectors' });
    if (options.ids !== undefined && options.ids.length !== documents.length) throw new O1Error('BAD_ARGUMENT', `${options.ids.length} ids for ${documents.length} documents`, { field: 'ids' });
    if (vectors.length === 0) return [];
    const ids = documents.map((document, index) => options.ids?.[index] ?? document.id ?? randomUUID());
    this.vectorStore ??= new MemoryInnerProductStore(vectors[0].length);
    await this.vectorStore.upsert(ids.map((id, index) => ({ id, vector: Float32Array.from(vectors[index]) })));
    ids.forEach((id, index) => {
      const { pageContent, metadata } = documents[index];
      this.documents.set(id, new Document({ id, pageContent, metadata: { ...metadata } }));
    });
    return ids;
  }

  /** Embeds the documents' page contents as documents (no thinking) and stores them; returns the ids. */
  async addDocuments(documents: DocumentInterface[], options: O1AddOptions = {}): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((document) => document.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /** The `k` documents with the highest inner product with `query`, best first (ties by id), that pass `filter`. */
  async similaritySearchVectorWithScore(query: number[], k: number, filter?: this['FilterType']): Promise<[Document, number][]> {
    if (!(Number.isInteger(k) && k >= 0)) throw new O1Error('BAD_ARGUMENT', `k must be a non-negative integer, got ${k}`, { field: 'k' });
    const store = this.vectorStore;
    if (store === undefined || k === 0) return [];
    const vector = Float32Array.from(query);
    const size = await store.size();
    // Without a filter the store's top k is the answer; with one, widen the search until k
    // documents pass or the store is exhausted (exact whatever the filter's selectivity).
    let depth = filter === undefined ? k : Math.min(size, k * 4);
    for (;;) {
      const [matches] = await store.search([vector], depth);
      const results: [Document, number][] = [];
      for (const match of matches) {
        const document = this.documents.get(match.id);
        if (document === undefined) throw new O1Error('INDEX_MISMATCH', `the store holds ${match.id}, which was not added through this vector store`, { field: 'store' });
        if (filter !== undefined && !filter(document)) continue;
        results.push([new Document({ id: match.id, pageContent: document.pageContent, metadata: { ...document.metadata } }), match.score]);
        if (results.length === k) return results;
      }
      if (filter === undefined || matches.length < depth || depth >= size) return results;
      depth = Math.min(size, depth * 4);
    }
  }

  /** Embeds the query (with O1Embeddings: thinks; the thoughts go into each result's metadata) and searches. */
  override async similaritySearchWithScore(query: string, k = 4, filter?: this['FilterType']): Promise<[Document, number][]> {
    if (!thinks(this.embeddings)) return this.similaritySearchVectorWithScore(await this.embeddings.embedQuery(query), k, filter);
    const { vector, thoughts } = await this.embeddings.embedQueryWithThoughts(query);
    const results = await this.similaritySearchVectorWithScore(vector, k, filter);
    for (const [document] of results) document.metadata.thoughts = [...thoughts];
    return results;
  }

  override async similaritySearch(query: string, k = 4, filter?: this['FilterType']): Promise<Document[]> {
    return (await this.similaritySearchWithScore(query, k, filter)).map(([document]) => document);
  }

  /** Deletes documents by id (absent ids are ignored). */
  override async delete(params: { ids?: string[] } = {}): Promise<void> {
    if (!Array.isArray(params.ids)) throw new O1Error('BAD_ARGUMENT', 'delete needs { ids: [...] }', { field: 'ids' });
    if (this.vectorStore !== undefined) await this.vectorStore.delete(params.ids);
    for (const id of params.ids) this.documents.delete(id);
  }

  /** Number of stored documents. */
  get size(): number {
    return this.documents.size;
  }

  /** Closes the store when this object created it (an in-memory one). */
  async close(): Promise<void> {
    if (this.ownsStore) await this.vectorStore?.close();
  }

  /**
   * A store holding `texts`, with `metadatas` per text (or one object for all).
   *
   * @example
   * const store = await O1VectorStore.fromTexts(['a text', 'another'], { source: 'notes' }, embeddings);
   */
  static override async fromTexts(texts: string[], metadatas: object[] | object, embeddings: EmbeddingsInterface, args: O1VectorStoreArgs = {}): Promise<O1VectorStore> {
    const documents = texts.map((pageContent, index) => new Document({ pageContent, metadata: { ...(Array.isArray(metadatas) ? metadatas[index] : metadatas) } }));
    return O1VectorStore.fromDocuments(documents, embeddings, args);
  }

  /**
   * A store holding `documents`.
   *
   * @example
   * const store = await O1VectorStore.fromDocuments([new Document({ id: 'd1', pageContent: 'a text' })], embeddings);
   */
  static override async fromDocuments(documents: DocumentInterface[], embeddings: EmbeddingsInterface, args: O1VectorStoreArgs = {}): Promise<O1VectorStore> {
    const store = new O1VectorStore(embeddings, args);
    await store.addDocuments(documents);
    return store;
  }
}
