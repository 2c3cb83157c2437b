import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Hit, Query } from '../src/data/types.js';
import { createRetriever } from '../src/retrieval/registry.js';
import { FusedRetriever, fuseRankings } from '../src/retrieval/fusion/fused-retriever.js';
import type { Retriever } from '../src/retrieval/retriever.js';

const sparse: Hit[] = [{ id: 'a', score: 12 }, { id: 'b', score: 8 }, { id: 'c', score: 2 }];
const dense: Hit[] = [{ id: 'c', score: 0.9, thoughts: ['t'] }, { id: 'a', score: 0.5, thoughts: ['t'] }, { id: 'd', score: 0.1, thoughts: ['t'] }];

test('reciprocal-rank fusion, hand-checked (k = 60)', () => {
  const fused = fuseRankings([sparse, dense]);
  // a: 1/61 + 1/62; c: 1/63 + 1/61; b: 1/62; d: 1/63.
  assert.deepEqual(fused.map((hit) => hit.id), ['a', 'c', 'b', 'd']);
  assert.ok(Math.abs(fused[0].score - (1 / 61 + 1 / 62)) < 1e-15);
  assert.ok(Math.abs(fused[1].score - (1 / 63 + 1 / 61)) < 1e-15);
  assert.ok(Math.abs(fused[3].score - 1 / 63) < 1e-15);
  assert.deepEqual(fused[2].thoughts, ['t'], 'the O1 thoughts travel with every fused hit');
  // k = 0 and weights [1, 2]: a: 1/1 + 2 * 1/2 = 2; c: 1/3 + 2 * 1/1 = 2.33...
  const weighted = fuseRankings([sparse, dense], { k: 0, weights: [1, 2], hits: 2 });
  assert.deepEqual(weighted.map((hit) => [hit.id, hit.score]), [['c', 1 / 3 + 2], ['a', 2]]);
  // Equal scores go by id.
  assert.deepEqual(fuseRankings([[{ id: 'y', score: 1 }], [{ id: 'x', score: 1 }]]).map((hit) => hit.id), ['x', 'y']);
});

test('normalised score fusion: min-max per ranking, weighted sum, missing = 0', () => {
  const fused = fuseRankings([sparse, dense], { method: 'score', weights: [0.5, 0.5] });
  // sparse: a 1, b 0.6, c 0; dense: c 1, a 0.5, d 0.
  const expected = new Map([['a', 0.75], ['c', 0.5], ['b', 0.3], ['d', 0]]);
  assert.deepEqual(fused.map((hit) => hit.id), ['a', 'c', 'b', 'd']);
  for (const hit of fused) assert.ok(Math.abs(hit.score - (expected.get(hit.id) as number)) < 1e-12, hit.id);
  assert.throws(() => fuseRankings([sparse], { weights: [1, 2] }), /one finite weight per ranking/);
  assert.throws(() => fuseRankings([sparse], { method: 'max' as never }), /rrf or score/);
});

test('FusedRetriever runs its members and fuses per query; the registry builds it from JSON', async () => {
  const fixed = (name: string, hits: Hit[]): Retriever => ({
    name,
    async index() {},
    search: async () => hits,
    searchMany: async (queries) => new Map(queries.map((query) => [query.id, hits])),
    config: () => ({ retriever: name }),
    statistics: () => ({ documents: 4, timings: { searchMs: 1 } }),
    dispose: async () => {},
  });
  const fused = new FusedRetriever([fixed('one', sparse), fixed('two', dense)], { fusion: 'rrf' });
  const queries: Query[] = [{ id: 'q1', text: 'x' }, { id: 'q2', text: 'y' }];
  const results = await fused.searchMany(queries, { hits: 3 });
  assert.deepEqual(results.get('q1')?.map((hit) => hit.id), ['a', 'c', 'b']);
  assert.deepEqual(await fused.search('x', { hits: 3 }), results.get('q2'));
  assert.deepEqual(fused.config(), { retriever: 'fused', fusion: 'rrf', k: 60, retrievers: [{ retriever: 'one' }, { retriever: 'two' }] });
  // Statistics: the members' timings summed, documents the largest member's.
  const statistics = fused.statistics();
  assert.equal(statistics.documents, 4);
  assert.equal(statistics.timings.searchMs, 2);
  const built = createRetriever({ retriever: 'fused', fusion: 'score', retrievers: [{ retriever: 'bm25' }, { retriever: 'o1', model: 'models/o1', thoughts: 5 }] });
  assert.deepEqual(built.config(), {
    retriever: 'fused', fusion: 'score', k: 60,
    retrievers: [{ retriever: 'bm25', k1: 0.9, b: 0.4, analyzer: 'english' }, { retriever: 'o1', model: 'models/o1', thoughts: 5, temperature: 0.1, topP: 0.9, maxNewTokens: 128, seed: 0, aggregation: 'mean', includeQueryOnly: false, renormalize: false, queryBatchSize: 16 }],
  });
  assert.throws(() => createRetriever({ retriever: 'fused', retrievers: [{ retriever: 'bm25' }] }), /at least two/);
  assert.throws(() => createRetriever({ retriever: 'o1', model: 'm', thougths: 3 }), /unknown setting\(s\): thougths/);
  assert.throws(() => createRetriever({ retriever: 'dense' }), /a dense retriever needs an "embedder" config or a "model" path/);
});
