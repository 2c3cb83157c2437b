/**
 * `O1LangChainRetriever`: any of our retrievers (bm25, dense, o1, fused; thinking or not) as a
 * LangChain `BaseRetriever`, so it drops into chains. Hits become LangChain `Document`s whose
 * metadata carries the score and the thoughts the query was searched with.
 */
import type { CallbackManagerForRetrieverRun } from '@langchain/core/callbacks/manager';
import { Document } from '@langchain/core/documents';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import type { Document as O1Document, Hit } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import { createRetriever } from '../../retrieval/registry.js';
import type { Retriever, RetrieverConfig, SearchOptions } from '../../retrieval/retriever.js';

/** What a hit's LangChain document carries in `metadata` (besides the document's own metadata). */
export interface O1DocumentMetadata {
  id: string;
  title: string;
  /** The retriever's score (inner product for dense and O1, BM25 score, fused score). */
  score: number;
  /** The thoughts the query was searched with ([] when the retriever does not think). */
  thoughts: string[];
  [key: string]: unknown;
}

/** Settings of {@link O1LangChainRetriever}. */
export interface O1LangChainRetrieverInput extends BaseRetrieverInput {
  /**
   * Our retriever, or its config (`{ retriever: 'o1', model: 'models/o1-small' }`), built here
   * and disposed of by {@link O1LangChainRetriever.dispose}. Required.
   */
  retriever: Retriever | RetrieverConfig;
  /**
   * The documents, by which hits become LangChain documents (title, text, metadata). They are
   * indexed into the retriever on the first query unless `indexed` is true. Required.
   */
  documents: Iterable<O1Document> | AsyncIterable<O1Document>;
  /** The retriever was already indexed on these documents: do not index them again. Default false. */
  indexed?: boolean;
  /** Documents per query. Default 4 (LangChain's usual `k`). */
  hits?: number;
  /** Other search options (`removeQuery`, `thoughts`, ...). Default none. */
  searchOptions?: Omit<SearchOptions, 'hits'>;
}

/**
 * `pageContent` of a document: title and text separated by a blank line (the text alone when untitled).
 *
 * @example
 * pageContentOf({ title: 'Tides', text: 'The moon pulls the oceans.' }) // 'Tides\n\nThe moon pulls the oceans.'
 */
export function pageContentOf(document: Pick<O1Document, 'title' | 'text'>): string {
  return document.title === '' ? document.text : `${document.title}\n\n${document.text}`;
}

/**
 * A LangChain document for one hit: the document's own metadata, then id, title, score and
 * thoughts (which win over keys of the same name).
 *
 * @example
 * hitToDocument({ id: 'd1', score: 0.8, thoughts: ['the moon'] }, { id: 'd1', title: 'Tides', text: '...' }).metadata
 * // { id: 'd1', title: 'Tides', score: 0.8, thoughts: ['the moon'] }
 */
export function hitToDocument(hit: Hit, document: O1Document): Document<O1DocumentMetadata> {
  return new Document<O1DocumentMetadata>({
    id: hit.id,
    pageContent: pageContentOf(document),
    metadata: { ...(document.metadata ?? {}), id: hit.id, title: document.title, score: hit.score, thoughts: [...(hit.thoughts ?? [])] },
  });
}

function isRetriever(value: Retriever | RetrieverConfig): value is Retriever {
  return typeof (value as Retriever).search === 'function' && typeof (value as Retriever).index === 'function';
}

/**
 * A LangChain retriever over one of ours.
 *
 * @example
 * import { O1LangChainRetriever } from 'o1-embedder/langchain';
 *
 * const retriever = new O1LangChainRetriever({
 *   retriever: { retriever: 'o1', model: 'models/o1-small' },
 *   documents: corpus, // [{ id, title, text, metadata? }]
 *   hits: 5,
 * });
 * const documents = await retriever.invoke('what causes tides');
 * console.log(documents[0].metadata.score, documents[0].metadata.thoughts);
 * await retriever.dispose();
 */
export class O1LangChainRetriever extends BaseRetriever<O1DocumentMetadata> {
  static override lc_name(): string {
    return 'O1LangChainRetriever';
  }

  lc_namespace = ['o1-embedder', 'retrievers'];
  /** Our retriever. */
  readonly retriever: Retriever;
  readonly hits: number;
  private readonly ownsRetriever: boolean;
  private readonly documentSource: Iterable<O1Document> | AsyncIterable<O1Document>;
  private readonly searchOptions: Omit<SearchOptions, 'hits'>;
  private readonly alreadyIndexed: boolean;
  private prepared?: Promise<Map<string, O1Document>>;

  constructor(fields: O1LangChainRetrieverInput) {
    const { retriever, documents, indexed, hits, searchOptions, ...baseFields } = fields ?? ({} as O1LangChainRetrieverInput);
    super(baseFields);
    if (typeof retriever !== 'object' || retriever === null) throw new O1Error('BAD_ARGUMENT', 'retriever must be a Retriever or a retriever config such as {"retriever":"bm25"}', { field: 'retriever' });
    if (documents === undefined || documents === null) throw new O1Error('BAD_ARGUMENT', 'documents are required: hits are turned into LangChain documents from them', { field: 'documents' });
    const count = hits ?? 4;
    if (!(Number.isInteger(count) && count >= 0)) throw new O1Error('BAD_ARGUMENT', `hits must be a non-negative integer, got ${hits}`, { field: 'hits' });
    this.ownsRetriever = !isRetriever(retriever);
    this.retriever = isRetriever(retriever) ? retriever : createRetriever(retriever);
    this.documentSource = documents;
    this.alreadyIndexed = indexed ?? false;
    this.hits = count;
    this.searchOptions = { quiet: true, ...searchOptions };
  }

  /** Reads the documents (and indexes them unless `indexed`), once; a failure is retried by the next query. */
  private prepare(): Promise<Map<string, O1Document>> {
    if (this.prepared === undefined) {
      this.prepared = (async () => {
        const byId = new Map<string, O1Document>();
        for await (const document of this.documentSource) {
          if (byId.has(document.id)) throw new O1Error('DUPLICATE_ID', `document id ${document.id} appears twice`, { field: 'id' });
          byId.set(document.id, document);
        }
        if (!this.alreadyIndexed) await this.retriever.index(byId.values(), { quiet: true, total: byId.size });
        return byId;
      })();
      this.prepared.catch(() => { this.prepared = undefined; });
    }
    return this.prepared;
  }

  override async _getRelevantDocuments(query: string, _runManager?: CallbackManagerForRetrieverRun): Promise<Document<O1DocumentMetadata>[]> {
    const byId = await this.prepare();
    const hits = await this.retriever.search(query, { ...this.searchOptions, hits: this.hits });
    return hits.map((hit) => {
      const document = byId.get(hit.id);
      if (document === undefined) throw new O1Error('INDEX_MISMATCH', `the retriever returned ${hit.id}, which is not among the documents given`, { field: 'documents' });
      return hitToDocument(hit, document);
    });
  }

  /** Disposes of the retriever when this object built it from a config. */
  async dispose(): Promise<void> {
    if (this.ownsRetriever) await this.retriever.dispose();
  }
}
