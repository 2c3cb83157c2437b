/**
 * The retriever seam: BM25 now, dense and O1 retrievers later. A retriever indexes documents,
 * answers queries with scored hits, and describes itself by a serialisable config that the
 * registry (./registry.ts) can turn back into a retriever.
 */
import type { Document, Hit, Query, Run } from '../data/types.js';

/** Options for {@link Retriever.index}. */
export interface IndexOptions {
  /** No progress bar. Default false. */
  quiet?: boolean;
  /** Number of documents, when known in advance, for the progress bar's ETA. */
  total?: number;
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
  search(query: Query | string, options?: SearchOptions): Hit[] | Promise<Hit[]>;
  /** Hits for many queries, by query id; retrievers that batch (dense encoders) implement it. */
  searchMany?(queries: readonly Query[], options?: SearchOptions): Promise<Map<string, Hit[]>>;
  /** The config that recreates this retriever (without its index). */
  config(): RetrieverConfig;
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
  const run: Run = new Map();
  if (retriever.searchMany !== undefined) {
    const results = await retriever.searchMany(queries, options);
    for (const query of queries) run.set(query.id, hitsToScores(results.get(query.id) ?? []));
    return run;
  }
  for (const query of queries) run.set(query.id, hitsToScores(await retriever.search(query, options)));
  return run;
}

function hitsToScores(hits: readonly Hit[]): Map<string, number> {
  const scores = new Map<string, number>();
  for (const hit of hits) scores.set(hit.id, hit.score);
  return scores;
}
