import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBeir } from '../src/data/beir.js';
import { evaluate } from '../src/evaluation/index.js';
import { Bm25Retriever } from '../src/retrieval/bm25/index.js';
import { searchAll } from '../src/retrieval/retriever.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';

// Anserini's BEIR regressions (flat index, -bm25 k1 0.9 b 0.4, -removeQuery, trec_eval -c, 1000 hits).
const targets = {
  scifact: { ndcg_cut_10: 0.6789, recall_100: 0.9253, recall_1000: 0.9767 },
  nfcorpus: { ndcg_cut_10: 0.3218, recall_100: 0.2457, recall_1000: 0.3704 },
} as const;
const tolerance = { ndcg_cut_10: 0.003, recall_100: 0.005, recall_1000: 0.005 } as const;

for (const [dataset, target] of Object.entries(targets)) {
  test(`BM25 on ${dataset} test matches Anserini`, sharedTestOptions('datasets', dataset), async (context) => {
    const { corpus, queries, qrels } = await loadBeir(sharedPath('datasets', dataset), 'test', { quiet: true });
    const bm25 = new Bm25Retriever();
    await bm25.index(corpus, { quiet: true });
    const statistics = bm25.statistics();
    context.diagnostic(`${dataset}: ${statistics.totalTermCount} terms, ${statistics.termCount} unique` +
      (dataset === 'scifact' ? ' (Anserini: 838,128 and 28,865)' : ''));
    if (dataset === 'scifact') {
      assert.equal(statistics.totalTermCount, 838_128);
      assert.equal(statistics.termCount, 28_865);
    }
    const run = await searchAll(bm25, queries, { hits: 1000, removeQuery: true });
    const result = evaluate(qrels, run, { preset: 'anserini-beir', measures: ['ndcg_cut.10', 'recall.100,1000'] });
    context.diagnostic(`${dataset}: ${JSON.stringify(result.all)}`);
    for (const [measure, expected] of Object.entries(target)) {
      const measured = result.all[measure];
      assert.ok(Math.abs(measured - expected) <= tolerance[measure as keyof typeof tolerance],
        `${measure} ${measured.toFixed(4)}, Anserini ${expected}`);
    }
  });
}
