/**
 * The retriever seam: BM25, dense (any embedder), O1 and fused retrievers. A retriever indexes
 * documents, answers queries with scored hits, and describes itself by a serialisable config that
 * the registry (./registry.ts) can turn back into a retriever. Thinking is orthogonal to the
 * kind: bm25, dense and fused take a `thinker` config, and every hit carries the thoughts its
 * query was searched with.
 */
import type { Document, Hit, Query, Run } from '../data/types.js';
import type { ThoughtStatistics } from '../thinking/query-thinker.js';

/** Options for {@link Retriever.index}. */
export interface IndexOptions {
  /** No progress bar. Default false. */
  quiet?: boolean;
  /** Number of documents, when known in advance, for the progress bar's ETA. */
  total?: number;
  /**
   * Build the retriever's thinker before indexing, so a bad thinker config fails before the
   * corpus is embedded. Default true; a fused retriever that thinks for its members passes false.
   */
  prepareThinker?: boolean;
}

/** Options for {@link Retriever.search}. */
export interface SearchOptions {
  /** How many hits to return. Default 1000. */
  hits?: number;
  /**
   * Never return the document whose id equals the query id (Anserini's `-removeQuery`, BEIR's
   * default); only applies when the query is a {@link Query}. Default false.
   */
  removeQuery?: boolean;
  /** No progress bars. Default false (a single `search` never shows one). */
  quiet?: boolean;
  /** Cancels the search (thinking and embedding stop between batches). */
  signal?: AbortSignal;
  /**
   * Thoughts per query id, thought elsewhere (a fused retriever thinks once for its members):
   * a retriever searches with these instead of asking its own thinker. Default none.
   */
  thoughts?: ReadonlyMap<string, readonly string[]>;
}

/** What a retriever reports about itself: size, where the time went, thought counts. */
export interface RetrieverStatistics {
  /** Indexed documents. */
  documents: number;
  /** Milliseconds, summed over calls (e.g. loadModelMs, embedDocumentsMs, thinkMs, embedQueriesMs, vectorSearchMs). */
  timings: Record<string, number>;
  /** Queries whose thoughts were generated or came from the thought cache (thinking retrievers). */
  thoughts?: ThoughtStatistics;
  /** Documents whose vectors came from the document cache (dense retrievers with one). */
  cachedDocuments?: number;
  /** Retriever-specific counts (BM25: terms, postings). */
  [detail: string]: unknown;
}

/** A serialisable description of a retriever: `{ "retriever": "bm25", "k1": 0.9, "b": 0.4 }`. */
export interface RetrieverConfig {
  retriever: string;
  [setting: string]: unknown;
}

export interface Retriever {
  /** Registry name, e.g. `bm25`. */
  readonly name: string;
  /** Indexes `documents`, replacing whatever was indexed before. */
  index(documents: Iterable<Document> | AsyncIterable<Document>, options?: IndexOptions): Promise<void>;
  /** Hits for one query, best first. */
  search(query: Query | string, options?: SearchOptions): Promise<Hit[]>;
  /** Hits for many queries, by query id (dense encoders and thinkers batch them). */
  searchMany(queries: readonly Query[], options?: SearchOptions): Promise<Map<string, Hit[]>>;
  /** The config that recreates this retriever (without its index). */
  config(): RetrieverConfig;
  /** Size, timings and thought counts. */
  statistics(): RetrieverStatistics;
  /** Releases models, thinkers and sockets. Idempotent. */
  dispose(): Promise<void>;
}

/** Default number of hits per query. */
export const DEFAULT_HITS = 1000;

/**
 * Runs every query and returns a {@link Run}, using `searchMany` when the retriever has it.
 *
 * @example
 * const run = await searchAll(retriever, queries, { hits: 1000, removeQuery: true });
 */
export async function searchAll(retriever: Retriever, queries: readonly Query[], options: SearchOptions = {}): Promise<Run> {
  return runOf(queries, await retriever.searchMany(queries, options));
}

/**
 * `search` in terms of `searchMany`, as every retriever answers one query: a string is a query
 * without an id (so `removeQuery` cannot apply to it).
 *
 * @example
 * async search(query, options) { return searchOne(this, query, options); }
 */
export async function searchOne(retriever: Pick<Retriever, 'searchMany'>, query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
  const asQuery = typeof query === 'string' ? { id: '', text: query } : query;
  const results = await retriever.searchMany([asQuery], { ...options, removeQuery: typeof query !== 'string' && options.removeQuery });
  return results.get(asQuery.id) ?? [];
}

/** Turns hits by query id into a {@link Run} (queries without hits get an empty ranking). */
export function runOf(queries: readonly Query[], results: ReadonlyMap<string, readonly Hit[]>): Run {
  const run: Run = new Map();
  for (const query of queries) run.set(query.id, hitsToScores(results.get(query.id) ?? []));
  return run;
}

function hitsToScores(hits: readonly Hit[]): Map<string, number> {
  const scores = new Map<string, number>();
  for (const hit of hits) scores.set(hit.id, hit.score);
  return scores;
}
