/**
 * Evaluation as a library call: what `o1e eval --json` prints, for a retriever config (or a
 * built retriever) on a BEIR split. The CLI, the recipe and the benchmarks call this instead of
 * spawning `o1e`.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadBeir } from '../data/beir.js';
import { writeRun } from '../data/trec.js';
import type { Document, Hit, Qrels, Query, Run } from '../data/types.js';
import { O1Error } from '../errors.js';
import { createRetriever } from '../retrieval/registry.js';
import { DEFAULT_HITS, runOf, type Retriever, type RetrieverConfig } from '../retrieval/retriever.js';
import { evaluate } from './evaluate.js';
import { EVALUATION_PRESETS, type EvaluationPresetName } from './presets.js';
import { REPORTED_MEASURES, REPORTED_MEASURE_REQUESTS } from './reported.js';

export { REPORTED_MEASURES } from './reported.js';

/** Options of {@link evaluateRetriever}. */
export interface EvaluateRetrieverOptions {
  /** Qrels split. Default 'test'. */
  split?: string;
  /** Hits per query. Default 1000. */
  hits?: number;
  /** trec_eval | anserini-beir | beir | mteb. Default 'anserini-beir' (trec_eval -c, query id removed). */
  preset?: EvaluationPresetName;
  /** No progress output. Default false. */
  quiet?: boolean;
  /** Also write the TREC run file here (tag: the retriever name). */
  run?: string;
  /** Only the first N judged queries (quick looks). Default all. */
  queryLimit?: number;
  /** Cancels the work. */
  signal?: AbortSignal;
  /**
   * The retriever has already indexed the corpus (a persistent index: openIndex(...).retriever()):
   * `index()` is skipped and `documents` reports the retriever's count. Default false.
   */
  indexed?: boolean;
  /** Called with everything retrieved, before the retriever is disposed (reports, hit inspection). */
  onResults?: (results: EvaluationResults) => void | Promise<void>;
}

/** What {@link EvaluateRetrieverOptions.onResults} receives. */
export interface EvaluationResults {
  corpus: readonly Document[];
  queries: readonly Query[];
  qrels: Qrels;
  run: Run;
  hits: ReadonlyMap<string, readonly Hit[]>;
  /** measure name (trec_eval's) -> query id -> value. */
  perQuery: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/** What `o1e eval --json` prints. */
export interface EvaluationReport {
  dataset: string;
  split: string;
  /** The full retriever config. */
  retriever: RetrieverConfig;
  preset: EvaluationPresetName;
  hits: number;
  queries: number;
  documents: number;
  /** trec_eval names: ndcg_cut_10, recall_100, recall_1000, recip_rank (MRR@10). */
  metrics: Record<string, number>;
  /** Milliseconds: loadMs, indexMs, searchMs, evaluateMs, writeRunMs?, the retriever's own, totalMs. */
  timings: Record<string, number>;
  thoughts?: { generatedQueries: number; cachedQueries: number };
  cachedDocuments?: number;
}

/**
 * Indexes a BEIR split's corpus with the retriever, retrieves `hits` documents for every judged
 * query and evaluates nDCG@10, R@100, R@1000 and MRR@10 under the preset. Every option is
 * validated before any work.
 *
 * @example
 * const report = await evaluateRetriever({ retriever: 'bm25', thinker: { backend: 'file', path: 'thoughts.jsonl' } }, '../shared/datasets/scifact');
 * report.metrics.ndcg_cut_10 // 0.72...
 */
export async function evaluateRetriever(retriever: RetrieverConfig | Retriever, beirDirectory: string, options: EvaluateRetrieverOptions = {}): Promise<EvaluationReport> {
  const split = options.split ?? 'test';
  const hits = options.hits ?? DEFAULT_HITS;
  const preset = options.preset ?? 'anserini-beir';
  const quiet = options.quiet ?? false;
  if (!Object.hasOwn(EVALUATION_PRESETS, preset)) throw new O1Error('BAD_ARGUMENT', `unknown preset '${preset}'; known: ${Object.keys(EVALUATION_PRESETS).join(', ')}`, { field: 'preset' });
  if (!(Number.isInteger(hits) && hits >= 1)) throw new O1Error('BAD_ARGUMENT', `hits must be a positive integer, got ${hits}`, { field: 'hits' });
  if (options.queryLimit !== undefined && !(Number.isInteger(options.queryLimit) && options.queryLimit >= 1)) throw new O1Error('BAD_ARGUMENT', `queryLimit must be a positive integer, got ${options.queryLimit}`, { field: 'queryLimit' });
  if (!existsSync(beirDirectory)) throw new O1Error('MISSING_FILE', 'the BEIR folder does not exist', { file: beirDirectory });
  for (const file of ['corpus.jsonl', 'queries.jsonl', join('qrels', `${split}.tsv`)]) {
    if (!existsSync(join(beirDirectory, file))) throw new O1Error('MISSING_FILE', file.startsWith('qrels') ? `split '${split}' has no qrels file` : `the BEIR folder has no ${file}`, { file: join(beirDirectory, file) });
  }
  // Builds (and so validates) the retriever before reading any data.
  const built = typeof (retriever as Retriever).searchMany === 'function' ? (retriever as Retriever) : createRetriever(retriever as RetrieverConfig);
  const owned = built !== retriever;
  const timings: Record<string, number> = {};
  const started = performance.now();
  let mark = started;
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = Math.round(now - mark);
    mark = now;
  };
  try {
    const { corpus, queries: allQueries, qrels } = await loadBeir(beirDirectory, split, { quiet });
    const queries = options.queryLimit === undefined ? allQueries : allQueries.slice(0, options.queryLimit);
    const judged = options.queryLimit === undefined ? qrels : new Map(queries.map((query) => [query.id, qrels.get(query.id) ?? new Map()]));
    lap('loadMs');
    if (options.indexed !== true) await built.index(corpus, { quiet, total: corpus.length });
    lap('indexMs');
    const removeQuery = EVALUATION_PRESETS[preset].dropIdenticalIds;
    const found = await built.searchMany(queries, { hits, removeQuery, quiet, signal: options.signal });
    const run = runOf(queries, found);
    lap('searchMs');
    const result = evaluate(judged, run, { preset, measures: [...REPORTED_MEASURE_REQUESTS] });
    lap('evaluateMs');
    if (options.run !== undefined) {
      await writeRun(options.run, run, { tag: built.name, maxHits: hits });
      lap('writeRunMs');
    }
    await options.onResults?.({ corpus, queries, qrels: judged, run, hits: found, perQuery: result.perQuery });
    const statistics = built.statistics();
    for (const [name, value] of Object.entries(statistics.timings)) if (value > 0 || !(name in timings)) timings[name] = value;
    timings.totalMs = Math.round(performance.now() - started);
    const metrics = Object.fromEntries(REPORTED_MEASURES.map(({ name }) => [name, result.all[name] ?? 0]));
    return {
      dataset: basename(resolve(beirDirectory)),
      split,
      retriever: built.config(),
      preset,
      hits,
      queries: result.queryCount,
      documents: options.indexed === true ? statistics.documents : corpus.length,
      metrics,
      timings,
      ...(statistics.thoughts === undefined ? {} : { thoughts: statistics.thoughts }),
      ...(statistics.cachedDocuments === undefined ? {} : { cachedDocuments: statistics.cachedDocuments }),
    };
  } finally {
    if (owned) await built.dispose();
  }
}
