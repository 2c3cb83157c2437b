/**
 * o1-embedder: O1 Embedder in TypeScript, a dense retriever that thinks before it embeds.
 *
 * The root export is everything that loads without a native runtime: errors, BEIR and TREC
 * data, trec_eval-exact evaluation, the retriever seam with BM25, dense, O1 and fused
 * retrievers, and the Thinker/Embedder backend seams. Importing it never loads
 * onnxruntime-node or node-llama-cpp (test/package.test.ts checks this on the installed
 * package): the dense and O1 retrievers and the `engine` and `llama-cpp` backends load theirs on
 * first use. What needs a runtime up front lives behind subpaths (src/entries/, one file each):
 * `o1-embedder/engine` (the graph engine, DecoderModel, O1Model, tokenizers, model formats,
 * training; ONNX Runtime), `o1-embedder/llama-cpp` (node-llama-cpp backends),
 * `o1-embedder/server` (the OpenAI-compatible HTTP server) and `o1-embedder/cli` (`main`).
 *
 * @example
 * import { createRetriever, evaluate, loadBeir, searchAll, O1Error } from 'o1-embedder';
 *
 * const { corpus, queries, qrels } = await loadBeir('../shared/datasets/scifact', 'test');
 * // 'bm25' needs no model; { retriever: 'o1', model: 'models/o1-small' } thinks, then embeds.
 * const retriever = createRetriever({ retriever: 'bm25' });
 * await retriever.index(corpus);
 * const run = await searchAll(retriever, queries, { hits: 1000, removeQuery: true });
 * const result = evaluate(qrels, run, { preset: 'anserini', measures: ['ndcg_cut.10', 'recall.1000'] });
 * console.log(result.aggregate);
 * const [top] = await retriever.search('vitamin D and covid-19', { hits: 1 });
 * console.log(top.id, top.score);
 * try { await loadBeir('missing/folder') } catch (error) {
 *   if (error instanceof O1Error) console.error(error.code, error.location); // MISSING_FILE { file }
 * }
 *
 * @module
 */

// Whole modules are re-exported where every export is public, so names added there appear
// here; modules that also hold internals list their public names. Nothing here may import,
// even transitively and statically, a module that imports onnxruntime-node or node-llama-cpp.

// Errors: O1Error, ERROR_CODES, ErrorCode, ErrorLocation.
export * from './errors.js';

// Data: Document, Query, Qrels, Run, Hit; BEIR corpus/queries/qrels and TREC qrels/run files.
export type * from './data/types.js';
export * from './data/beir.js';
export * from './data/trec.js';

// Evaluation: trec_eval 9.0.8 measures, presets (anserini, beir, mteb), trec_eval output.
export * from './evaluation/index.js';

// Retrieval: the seam (Retriever, RetrieverConfig, SearchOptions, DEFAULT_HITS, searchAll),
// the registry (createRetriever, registerRetriever, retrieverNames) and the built-in retrievers.
export * from './retrieval/retriever.js';
export * from './retrieval/registry.js';
export { Bm25Retriever, type Bm25Options, type Bm25SearchOptions, type Bm25Statistics } from './retrieval/bm25/bm25-retriever.js';
export { createAnalyzer, ANALYZER_NAMES, type Analyzer } from './retrieval/analyzer/index.js';
export { DenseRetriever, type DenseRetrieverOptions, type DenseSearchOptions, type DenseTimings } from './retrieval/dense/dense-retriever.js';
export { O1Retriever, type O1RetrieverOptions } from './retrieval/o1/o1-retriever.js';
export * from './retrieval/fusion/fused-retriever.js';

// Backends: the Thinker and Embedder seams (types only), their registries, JSON configs.
export type * from './backends/thinker.js';
export type * from './backends/embedder.js';
export * from './backends/registry.js';
export { loadJsonConfig, Settings } from './backends/settings.js';
export { documentText, queryText, readTextSettings, type TextSettings } from './backends/inputs.js';
export { FileThinker, type FileThinkerConfig } from './backends/file/thinker.js';

// Thinking with any thinker: settings split from the backend's, prompts, the thought cache, and
// O1 Embedder's aggregation of query + thought vectors for any embedder.
export { THINKING_DEFAULTS } from './thinking/defaults.js';
export { QueryThinker, type ThinkingSettings, type ThinkOptions, type ThoughtStatistics } from './thinking/query-thinker.js';
export { buildThinkingPrompt, type PromptSettings, type PromptTemplate } from './thinking/prompt.js';
export { aggregateThoughtVectors, embedQueriesWithThoughts, type AggregationOptions } from './thinking/aggregate.js';
export { ThinkingEmbedder, type ThinkingEmbedderOptions, type ThinkingEmbeddings, type ThinkingQueryOptions } from './thinking/thinking-embedder.js';

// Persistent indexes: buildIndex, addToIndex, deleteFromIndex, openIndex (o1e index, o1e search).
export * from './indexes/index.js';

// The thought cache (JSONL, shared by the O1 retriever and synthesis) and progress reporting.
export { ThoughtCache, type ThoughtKey } from './util/thought-cache.js';
export { Progress, type ProgressOptions } from './util/progress.js';
