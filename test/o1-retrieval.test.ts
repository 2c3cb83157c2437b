import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadBeir } from '../src/data/beir.js';
import type { Hit } from '../src/data/types.js';
import { acquireEngineModel } from '../src/backends/engine/runtime.js';
import { O1Model } from '../src/o1/model.js';
import { FusedRetriever, fuseRankings } from '../src/retrieval/fusion/fused-retriever.js';
import { O1Retriever } from '../src/retrieval/o1/o1-retriever.js';
import { createRetriever } from '../src/retrieval/registry.js';
import { Bm25Retriever } from '../src/retrieval/bm25/bm25-retriever.js';
import { tinyO1Model, writeTinyBeir } from './helpers/o1-fixtures.js';

const SETTINGS = { thoughts: 2, maxNewTokens: 5, temperature: 1, topP: 0.95, seed: 3, threads: 1 };

describe('O1 retriever end to end on a tiny BEIR folder', () => {
  let directory: string;
  let modelPath: string;

  before(async () => {
    directory = await writeTinyBeir();
    modelPath = join(directory, 'o1-model');
    await tinyO1Model({ output: modelPath });
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test('think, embed, aggregate, search: hits carry the thoughts, results are deterministic, the cache file spares regeneration', async () => {
    const { corpus, queries } = await loadBeir(directory, 'test', { quiet: true });
    const cachePath = join(directory, 'thoughts.jsonl');
    const config = { retriever: 'o1', model: modelPath, ...SETTINGS, thoughtCache: cachePath };
    const first = createRetriever(config) as O1Retriever;
    const model = await O1Model.load(modelPath, { threads: 1 });
    let results: Map<string, Hit[]>;
    try {
      await first.index(corpus, { quiet: true });
      results = await first.searchMany(queries, { hits: 3, removeQuery: true });
      const statistics = first.statistics();
      assert.deepEqual(statistics.thoughts, { generatedQueries: 3, cachedQueries: 0 });
      assert.equal(statistics.documents, 5);
      assert.ok(statistics.timings.thinkMs >= 0 && statistics.timings.embedDocumentsMs >= 0);
      for (const query of queries) {
        const hits = results.get(query.id) ?? [];
        assert.equal(hits.length, 3);
        // The thoughts are this query's, and the score is the mean query vector against the document's.
        const [expected] = await model.thinkAndEmbed([query.text], SETTINGS);
        assert.ok(hits.every((hit) => JSON.stringify(hit.thoughts) === JSON.stringify(expected.thoughts)));
        const documentVector = (await model.embedDocuments([corpus.find((document) => document.id === hits[0].id)!]))[0];
        const score = documentVector.reduce((sum, value, index) => sum + value * expected.embedding[index], 0);
        assert.ok(Math.abs(hits[0].score - score) < 1e-5);
      }
      assert.ok(!(results.get('q2') ?? []).some((hit) => hit.id === 'q2'));
      assert.deepEqual(first.config(), { ...config, aggregation: 'mean', includeQueryOnly: false, renormalize: false, queryBatchSize: 16 });
    } finally {
      await first.dispose();
    }
    assert.equal((await readFile(cachePath, 'utf8')).trim().split('\n').length, 3);
    // A re-run reads the thoughts from the file and generates nothing; the ranking is the same.
    // The engine backend shares one loaded copy per (path, threads): this lease is the copy the
    // second retriever thinks with, so its generate calls can be counted.
    const lease = await acquireEngineModel(modelPath, 1);
    const second = new O1Retriever({ model: modelPath, ...SETTINGS, thoughtCache: cachePath });
    try {
      await second.index(corpus, { quiet: true });
      const calls = lease.model.o1!.stats.generateCalls;
      const again = await second.searchMany(queries, { hits: 3, removeQuery: true });
      assert.equal(lease.model.o1!.stats.generateCalls, calls, 'no generate call on a cache hit');
      assert.deepEqual(second.statistics().thoughts, { generatedQueries: 0, cachedQueries: 3 });
      assert.deepEqual(again, results);
    } finally {
      await second.dispose();
      await lease.release();
      await model.dispose();
    }
  });

  test('fused bm25 + o1 (rrf) equals fusing the two rankings by hand, and keeps the thoughts', async () => {
    const { corpus, queries } = await loadBeir(directory, 'test', { quiet: true });
    const bm25 = new Bm25Retriever();
    const o1 = new O1Retriever({ model: modelPath, ...SETTINGS });
    const fused = new FusedRetriever([bm25, o1], { fusion: 'rrf' });
    try {
      await fused.index(corpus, { quiet: true });
      const results = await fused.searchMany(queries, { hits: 4, removeQuery: true });
      for (const query of queries) {
        const expected = fuseRankings([await bm25.search(query, { hits: 1000, removeQuery: true }), await o1.search(query, { hits: 1000, removeQuery: true })], { hits: 4 });
        assert.deepEqual(results.get(query.id), expected);
        assert.ok((results.get(query.id) ?? []).every((hit) => hit.thoughts?.length === 2));
      }
      // q1 ("Do cats purr?") has d1 first in BM25; RRF keeps it at the top unless O1 ranks it last.
      assert.equal(results.get('q1')?.length, 4);
    } finally {
      await fused.dispose();
    }
  });
});
