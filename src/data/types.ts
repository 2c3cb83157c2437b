/** Spec types for retrieval data, shared by readers, retrievers and evaluation. */

/** A BEIR corpus line: `{"_id", "title", "text", "metadata"?}`. `title` is '' when absent. */
export interface Document {
  id: string;
  title: string;
  text: string;
  metadata?: Record<string, unknown>;
}

/** A BEIR queries line: `{"_id", "text", "metadata"?}`. */
export interface Query {
  id: string;
  text: string;
  metadata?: Record<string, unknown>;
}

/** Relevance judgements: query id -> document id -> integer relevance (may be 0 or negative). */
export type Qrels = Map<string, Map<string, number>>;

/** A ranking: query id -> document id -> score. Order inside a query is derived from scores. */
export type Run = Map<string, Map<string, number>>;

/** One retrieved document. */
export interface Hit {
  id: string;
  score: number;
  /** The thoughts the query was embedded with (O1 retrievers); the same array for every hit of a query. */
  thoughts?: string[];
}
