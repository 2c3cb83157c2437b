/**
 * The one table of thinking defaults. Sampling follows O1 Embedder's inference
 * (o1-method.md §3: 3 thoughts, temperature 0.1, top-p 0.9, at most 128 new tokens, seed 0 so
 * runs are reproducible). The retrieval-side defaults were fixed without looking at test data:
 * BM25 gives the query its own weight once (plain query + thoughts, the measurement the project
 * started from) and does not fuse in the query-only ranking; dense thinking averages the
 * L2-normalised query+thought vectors without the query-only vector and without re-normalising,
 * as the official code does.
 */
export const THINKING_DEFAULTS = {
  /** Thoughts per query. */
  thoughts: 3,
  temperature: 0.1,
  topP: 0.9,
  /** Most new tokens per thought. */
  maxTokens: 128,
  seed: 0,
  /** Queries sent to the thinker at once. */
  batchSize: 16,
  /** Prompt style for thinkers without native thinking: the official O1 exploration prompt. */
  prompt: 'o1',
  /** Few-shot examples per prompt when an examples file is given (the official script's 3). */
  exampleCount: 3,
  /** BM25: times the query text is repeated before the thoughts (query2doc repeats it 5 times). */
  queryWeight: 1,
  /** BM25: weight of the query-only ranking fused (RRF) with the thinking ranking; 0 is off. */
  queryOnlyWeight: 0,
  /** Dense: average the query-only vector in with the query+thought vectors. */
  includeQueryOnly: false,
  /** Dense: L2-normalise the averaged query vector. */
  renormalize: false,
} as const;
