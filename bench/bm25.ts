/**
 * BM25 benchmark: our index and search against Orama's full-text (BM25) search on SciFact and
 * NFCorpus test, same documents (title + " " + text), same machine, same run; plus the end-to-end
 * time of `o1e eval` on SciFact (evaluateRetriever: loading, indexing, 300 queries and metrics).
 * Prints one JSON line on stdout.
 *
 *   npm run bench:bm25
 */
import { create, insertMultiple, search as oramaSearch } from '@orama/orama';
import { loadBeir } from '../src/data/beir.js';
import type { Document, Qrels, Query, Run } from '../src/data/types.js';
import { evaluateRetriever } from '../src/evaluation/evaluate-retriever.js';
import { evaluate } from '../src/evaluation/index.js';
import { ENGLISH_STOP_WORDS } from '../src/retrieval/analyzer/index.js';
import { Bm25Retriever } from '../src/retrieval/bm25/index.js';
import { searchAll } from '../src/retrieval/retriever.js';
import { sharedPath } from '../test/helpers/shared.js';

const HITS = 1000;
/** Query passes per engine; the best is reported, to smooth out a shared machine. */
const PASSES = 3;

function ndcgAt10(qrels: Qrels, run: Run): number {
  return round(evaluate(qrels, run, { preset: 'anserini-beir', measures: ['ndcg_cut.10'] }).all.ndcg_cut_10);
}

function round(value: number, digits = 4): number {
  return Number(value.toFixed(digits));
}

/**
 * Wall time of `o1e eval --retriever bm25` on SciFact test without the process start: loading,
 * indexing, its 300 queries and scoring, through `evaluateRetriever` (what the CLI calls).
 */
async function endToEnd(): Promise<{ seconds: number; ndcg_cut_10: number }> {
  const started = performance.now();
  const report = await evaluateRetriever({ retriever: 'bm25' }, sharedPath('datasets', 'scifact'), { split: 'test', hits: HITS, quiet: true });
  return { seconds: round((performance.now() - started) / 1000, 3), ndcg_cut_10: round(report.metrics.ndcg_cut_10) };
}

interface EngineResult {
  indexSeconds: number;
  documentsPerSecond: number;
  queriesPerSecond: number;
  ndcg_cut_10: number;
}

async function benchOurs(corpus: Document[], queries: Query[], qrels: Qrels): Promise<EngineResult> {
  const bm25 = new Bm25Retriever();
  const started = performance.now();
  await bm25.index(corpus, { quiet: true });
  const indexSeconds = (performance.now() - started) / 1000;
  let best = Infinity;
  let run: Run = new Map();
  for (let pass = 0; pass < PASSES; pass++) {
    const passStarted = performance.now();
    run = await searchAll(bm25, queries, { hits: HITS, removeQuery: true });
    best = Math.min(best, (performance.now() - passStarted) / 1000);
  }
  return {
    indexSeconds: round(indexSeconds, 3),
    documentsPerSecond: Math.round(corpus.length / indexSeconds),
    queriesPerSecond: Math.round(queries.length / best),
    ndcg_cut_10: ndcgAt10(qrels, run),
  };
}

async function benchOrama(corpus: Document[], queries: Query[], qrels: Qrels): Promise<EngineResult> {
  const started = performance.now();
  const database = create({
    schema: { content: 'string' } as const,
    components: { tokenizer: { language: 'english', stemming: true, stopWords: [...ENGLISH_STOP_WORDS] } },
  });
  await insertMultiple(database, corpus.map((document) => ({ id: document.id, content: Bm25Retriever.documentText(document) })), 1000);
  const indexSeconds = (performance.now() - started) / 1000;
  let best = Infinity;
  const run: Run = new Map();
  for (let pass = 0; pass < PASSES; pass++) {
    const passStarted = performance.now();
    for (const query of queries) {
      const results = await oramaSearch(database, {
        term: query.text,
        properties: ['content'],
        limit: HITS,
        relevance: { k: 0.9, b: 0.4, d: 0.5 },
      });
      run.set(query.id, new Map(results.hits.map((hit) => [hit.id, hit.score])));
    }
    best = Math.min(best, (performance.now() - passStarted) / 1000);
  }
  return {
    indexSeconds: round(indexSeconds, 3),
    documentsPerSecond: Math.round(corpus.length / indexSeconds),
    queriesPerSecond: Math.round(queries.length / best),
    ndcg_cut_10: ndcgAt10(qrels, run),
  };
}

async function main(): Promise<void> {
  // First, while the JIT is cold, as a user's first run would be.
  const endToEndResult = await endToEnd();
  const datasets: Record<string, unknown> = {};
  for (const dataset of ['scifact', 'nfcorpus']) {
    const { corpus, queries, qrels } = await loadBeir(sharedPath('datasets', dataset), 'test', { quiet: true });
    const ours = await benchOurs(corpus, queries, qrels);
    const orama = await benchOrama(corpus, queries, qrels);
    datasets[dataset] = {
      documents: corpus.length,
      queries: queries.length,
      o1e: ours,
      orama,
      queryThroughputRatio: round(ours.queriesPerSecond / orama.queriesPerSecond, 1),
      indexThroughputRatio: round(ours.documentsPerSecond / orama.documentsPerSecond, 1),
    };
  }
  process.stdout.write(`${JSON.stringify({
    benchmark: 'bm25',
    hits: HITS,
    node: process.version,
    endToEnd: { dataset: 'scifact', ...endToEndResult },
    datasets,
  })}\n`);
}

await main();
