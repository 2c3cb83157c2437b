import { test } from 'node:test';
import assert from 'node:assert/strict';
import { O1Error } from '../src/errors.js';
import type { Qrels, Run } from '../src/data/types.js';
import {
  compareIdsBytewise,
  evaluate,
  formatTrecEvalOutput,
  formatTrecValue,
  parseMeasure,
  rankDocuments,
} from '../src/evaluation/index.js';

function qrelsOf(entries: Record<string, Record<string, number>>): Qrels {
  return new Map(Object.entries(entries).map(([queryId, judgements]) => [queryId, new Map(Object.entries(judgements))]));
}
const runOf = qrelsOf as (entries: Record<string, Record<string, number>>) => Run;

const close = (actual: number | undefined, expected: number) => assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

test('ties are broken by docid descending in strcmp order, not numerically', () => {
  assert.deepEqual(rankDocuments(new Map([['a', 1], ['b', 1], ['c', 2], ['d', 1]])).ids, ['c', 'd', 'b', 'a']);
  assert.deepEqual(rankDocuments(new Map([['10', 1], ['9', 1], ['100', 1]])).ids, ['9', '100', '10']);
  const result = evaluate(qrelsOf({ q: { a: 1 } }), runOf({ q: { a: 1, b: 1, c: 1 } }), { measures: ['recip_rank'] });
  assert.equal(result.all.recip_rank, 1 / 3);
});

test('scores equal in float32 tie, as in trec_eval 9.0.8', () => {
  const high = 0.1 + 1e-10; // a different double, the same float32 as 0.1
  assert.notEqual(high, 0.1);
  assert.equal(Math.fround(high), Math.fround(0.1));
  const run = runOf({ q: { x: high, y: 0.1 } });
  assert.deepEqual(rankDocuments(run.get('q') as Map<string, number>).ids, ['y', 'x']);
  const result = evaluate(qrelsOf({ q: { x: 1 } }), run, { measures: ['recip_rank'] });
  assert.equal(result.all.recip_rank, 0.5);
});

test('bytewise id comparison matches strcmp on UTF-8 beyond the BMP', () => {
  // U+1F600 (surrogates in UTF-16) sorts after U+FFFD in UTF-8 bytes, though not in UTF-16 units.
  assert.ok(compareIdsBytewise('\u{1F600}', '\uFFFD') > 0);
  assert.ok(compareIdsBytewise('\uFFFD', '\u{1F600}') < 0);
  assert.ok(compareIdsBytewise('ab', 'abc') < 0);
  assert.equal(compareIdsBytewise('x', 'x'), 0);
});

// One query: judged a=2, b=1, c=1, d=0; ranking b, x (unjudged), a, d.
const qrels = qrelsOf({ q: { a: 2, b: 1, c: 1, d: 0 } });
const run = runOf({ q: { b: 4, x: 3, a: 2, d: 1 } });

test('hand-checked measures on one query', () => {
  const result = evaluate(qrels, run, {
    measures: ['ndcg_cut.1,3,10', 'ndcg', 'P.3,10', 'recall.1,3', 'map', 'map_cut.2', 'recip_rank'],
  });
  const idcg3 = 2 + 1 / Math.log2(3) + 1 / 2;
  close(result.all.ndcg_cut_1, 1 / 2);
  close(result.all.ndcg_cut_3, (1 + 2 / 2) / idcg3);
  close(result.all.ndcg_cut_10, (1 + 2 / 2) / idcg3); // d has gain 0; c never retrieved but in the ideal
  close(result.all.ndcg, (1 + 2 / 2) / idcg3);
  close(result.all.P_3, 2 / 3);
  close(result.all.P_10, 2 / 10); // divided by the cutoff even with 4 retrieved
  close(result.all.recall_1, 1 / 3);
  close(result.all.recall_3, 2 / 3);
  close(result.all.map, (1 / 1 + 2 / 3) / 3);
  close(result.all.map_cut_2, 1 / 3);
  close(result.all.recip_rank, 1);
  assert.deepEqual(result.measures, ['map', 'recip_rank', 'P_3', 'P_10', 'recall_1', 'recall_3', 'ndcg', 'ndcg_cut_1', 'ndcg_cut_3', 'ndcg_cut_10', 'map_cut_2']);
});

test('-l 2 changes binary measures only, not nDCG gains', () => {
  const result = evaluate(qrels, run, { measures: ['recall.3', 'P.3', 'recip_rank', 'map', 'ndcg_cut.3'], relevanceLevel: 2 });
  close(result.all.recall_3, 1); // only a is relevant, found at rank 3
  close(result.all.P_3, 1 / 3);
  close(result.all.recip_rank, 1 / 3);
  close(result.all.map, 1 / 3);
  close(result.all.ndcg_cut_3, 2 / (2 + 1 / Math.log2(3) + 1 / 2));
});

test('-M cuts the ranking before every measure; a per-measure -M works in the same call', () => {
  const cut = evaluate(qrels, run, { measures: ['recip_rank', 'recall.10', 'P.10'], maxDocuments: 1, relevanceLevel: 2 });
  assert.equal(cut.all.recip_rank, 0);
  assert.equal(cut.all.recall_10, 0);
  const both = evaluate(qrels, run, {
    measures: ['recall.10', { measure: 'recall.10', maxDocuments: 1, name: 'recall_10_at_1' }, { measure: 'recip_rank', relevanceLevel: 2, maxDocuments: 2, name: 'mrr_2' }],
  });
  close(both.all.recall_10, 2 / 3);
  close(both.all.recall_10_at_1, 1 / 3);
  assert.equal(both.all.mrr_2, 0);
});

test('averages over queries in both; -c over all qrels queries; run-only queries ignored', () => {
  const twoQueries = qrelsOf({ q1: { a: 1 }, q2: { b: 1 }, q3: { c: 1 } });
  const partialRun = runOf({ q1: { a: 1 }, q2: { z: 1, b: 0.5 }, extra: { a: 1 } });
  const plain = evaluate(twoQueries, partialRun, { measures: ['recip_rank'] });
  assert.deepEqual(plain.queries, ['q1', 'q2']);
  assert.equal(plain.queryCount, 2);
  close(plain.all.recip_rank, (1 + 0.5) / 2);
  const complete = evaluate(twoQueries, partialRun, { measures: ['recip_rank'], complete: true });
  assert.deepEqual(complete.queries, ['q1', 'q2']);
  assert.equal(complete.queryCount, 3);
  close(complete.all.recip_rank, (1 + 0.5) / 3);
  assert.equal(complete.perQuery.get('recip_rank')?.has('q3'), false);
});

test('a query judged but with nothing relevant scores 0 and still counts in the average', () => {
  const result = evaluate(qrelsOf({ q1: { a: 1 }, q2: { b: 0, c: -1 } }), runOf({ q1: { a: 1 }, q2: { b: 1, c: 0.5 } }), {
    measures: ['recall.10', 'ndcg_cut.10', 'map', 'recip_rank', 'P.1'],
  });
  assert.equal(result.queryCount, 2);
  for (const name of result.measures) assert.equal(result.perQuery.get(name)?.get('q2'), 0, name);
  close(result.all.ndcg_cut_10, 0.5);
  const levelZero = evaluate(qrelsOf({ q2: { b: 0, c: -1 } }), runOf({ q2: { b: 1, c: 0.5 } }), { measures: ['recall.10', 'P.2'], relevanceLevel: 0 });
  close(levelZero.all.recall_10, 1); // b (judged 0) counts at -l 0; c (negative) never does
  close(levelZero.all.P_2, 0.5);
});

test('dropIdenticalIds and presets', () => {
  const judged = qrelsOf({ q1: { q1: 1, d: 1 }, q2: { e: 1 } });
  const ranking = runOf({ q1: { q1: 2, d: 1 } });
  assert.equal(evaluate(judged, ranking, { measures: ['recip_rank'] }).all.recip_rank, 1);
  assert.equal(evaluate(judged, ranking, { measures: ['recip_rank'], preset: 'mteb' }).all.recip_rank, 1);
  const beir = evaluate(judged, ranking, { measures: ['recip_rank', 'recall.10'], preset: 'beir' });
  assert.equal(beir.all.recip_rank, 1);
  assert.equal(beir.all.recall_10, 0.5);
  const anserini = evaluate(judged, ranking, { measures: ['recip_rank'], preset: 'anserini-beir' });
  assert.equal(anserini.all.recip_rank, 0.5); // -c: q2 counts 0
  assert.equal(evaluate(judged, ranking, { measures: ['recip_rank'], preset: 'anserini-beir', complete: false }).all.recip_rank, 1);
  // A query whose only document is dropped disappears, as if its line were never written.
  const only = evaluate(qrelsOf({ q1: { d: 1 } }), runOf({ q1: { q1: 1 } }), { measures: ['recip_rank'], dropIdenticalIds: true });
  assert.deepEqual(only.queries, []);
  assert.throws(() => evaluate(judged, ranking, { measures: ['map'], preset: 'nope' as 'beir' }), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT');
});

test('measure parsing: defaults, sorting, merging and errors', () => {
  assert.deepEqual(parseMeasure('P').cutoffs, [5, 10, 15, 20, 30, 100, 200, 500, 1000]);
  assert.deepEqual(parseMeasure('ndcg_cut.100,10,10').cutoffs, [10, 100]);
  const isError = (code: string) => (error: unknown) => error instanceof O1Error && error.code === code;
  assert.throws(() => parseMeasure('ndcg_cut.0'), isError('BAD_ARGUMENT'));
  assert.throws(() => parseMeasure('map.10'), isError('BAD_ARGUMENT'));
  assert.throws(() => parseMeasure('bpref'), isError('UNKNOWN_MEASURE'));
  assert.throws(() => evaluate(qrels, run, { measures: [] }), isError('BAD_ARGUMENT'));
  assert.throws(() => evaluate(qrels, run, { measures: ['P.10', { measure: 'P.10', maxDocuments: 5 }] }), isError('BAD_ARGUMENT'));
  assert.throws(() => evaluate(qrels, run, { measures: [{ measure: 'P.5,10', name: 'p' }] }), isError('BAD_ARGUMENT'));
  assert.throws(() => evaluate(qrels, run, { measures: ['map'], maxDocuments: 0 }), isError('BAD_ARGUMENT'));
  const merged = evaluate(qrels, run, { measures: ['P.10', 'P.3,10'] });
  assert.deepEqual(merged.measures, ['P_3', 'P_10']);
});

test('values print like printf("%6.4f"): exact halves round to even', () => {
  assert.equal(formatTrecValue(1 / 32), '0.0312');
  assert.equal(formatTrecValue(3 / 32), '0.0938');
  assert.equal(formatTrecValue(5 / 32), '0.1562');
  assert.equal(formatTrecValue(2 / 3), '0.6667');
  assert.equal(formatTrecValue(0), '0.0000');
  assert.equal(formatTrecValue(1), '1.0000');
  const lines = formatTrecEvalOutput(evaluate(qrels, run, { measures: ['P.3', 'recip_rank'] }), { perQuery: true });
  assert.deepEqual(lines, [
    'recip_rank            \tq\t1.0000',
    'P_3                   \tq\t0.6667',
    'recip_rank            \tall\t1.0000',
    'P_3                   \tall\t0.6667',
  ]);
});

test('300 queries x 1000 hits evaluate: every query gets every measure', () => {
  const bigQrels: Qrels = new Map();
  const bigRun: Run = new Map();
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let query = 0; query < 300; query++) {
    const judgements = new Map<string, number>();
    for (let index = 0; index < 20; index++) judgements.set(`d${Math.floor(random() * 2000)}`, Math.floor(random() * 3));
    bigQrels.set(`q${query}`, judgements);
    const scores = new Map<string, number>();
    for (let index = 0; index < 1000; index++) scores.set(`d${index}`, Math.round(random() * 100) / 10);
    bigRun.set(`q${query}`, scores);
  }
  const measures = ['ndcg_cut.10,100', 'recall.100,1000', 'map', 'P.10', { measure: 'recip_rank', maxDocuments: 10 }];
  // Speed is measured by bench scripts, not asserted here (a loaded CI machine would flake).
  const result = evaluate(bigQrels, bigRun, { measures });
  assert.equal(result.queries.length, 300);
  assert.ok(result.queries.every((query) => (result.perQuery.get('ndcg_cut_10')?.get(query) ?? -1) >= 0));
});
