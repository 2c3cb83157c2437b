import { test } from 'node:test';
import assert from 'node:assert/strict';
import { permutation, SeededRandom } from '../src/util/random.js';
import { argmax, cosineSimilarity, dot, l2Norm, l2Normalized, l2NormalizeInPlace, sumOfSquares, TopK, topKIndices } from '../src/util/vectors.js';

function close(actual: number, expected: number, tolerance = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${actual} != ${expected}`);
}

test('sumOfSquares and l2Norm agree with a plain loop for every tail length', () => {
  const random = new SeededRandom(1);
  for (let length = 0; length <= 9; length++) {
    const values = Float32Array.from({ length }, () => random.uniform() * 2 - 1);
    let plain = 0;
    for (const value of values) plain += value * value;
    close(sumOfSquares(values), plain);
    close(l2Norm(values), Math.sqrt(plain));
  }
  assert.equal(l2Norm([3, 4]), 5);
  assert.equal(sumOfSquares([]), 0);
});

test('l2NormalizeInPlace scales in place to unit length and leaves zero vectors at zero; l2Normalized copies', () => {
  const vector = new Float32Array([3, 4]);
  assert.equal(l2NormalizeInPlace(vector), vector, 'returns its argument');
  assert.deepEqual(vector, new Float32Array([0.6, 0.8]));
  assert.deepEqual(l2NormalizeInPlace(new Float32Array([0, 0])), new Float32Array([0, 0]));
  const doubles = l2NormalizeInPlace(new Float64Array([1, 1, 1, 1]));
  assert.deepEqual([...doubles], [0.5, 0.5, 0.5, 0.5]);

  const input = [0, 5, 12];
  const unit = l2Normalized(input);
  assert.ok(unit instanceof Float32Array);
  assert.deepEqual(input, [0, 5, 12], 'the input is unchanged');
  assert.deepEqual(unit, new Float32Array([0, 5 / 13, 12 / 13]));
  close(l2Norm(unit), 1, 1e-7);
});

test('dot and cosineSimilarity: values, zero vectors, scale invariance and length checks', () => {
  assert.equal(dot([1, 2, 3], [4, 5, 6]), 32);
  assert.equal(dot([], []), 0);
  close(cosineSimilarity([1, 0], [1, 1]), Math.SQRT1_2);
  close(cosineSimilarity([1, 2, 3], [2, 4, 6]), 1);
  close(cosineSimilarity([1, 2], [-1, -2]), -1);
  assert.equal(cosineSimilarity([1, 0], [0, 1]), 0);
  assert.equal(cosineSimilarity([0, 0], [1, 1]), 0, 'a zero vector gives 0, not NaN');
  const random = new SeededRandom(2);
  const left = Float32Array.from({ length: 17 }, () => random.normal());
  const right = Float32Array.from({ length: 17 }, () => random.normal());
  close(cosineSimilarity(left, right), dot(l2Normalized(left), l2Normalized(right)), 1e-6);
  assert.throws(() => dot([1, 2], [1]), RangeError);
  assert.throws(() => cosineSimilarity([1], [1, 2]), RangeError);
});

test('argmax: first index on ties, offset and length are relative, NaN never wins, empty gives 0', () => {
  assert.equal(argmax([0.1, 3, 3, -1]), 1);
  assert.equal(argmax(new Float32Array([9, 0, 4, 7]), 1, 3), 2);
  assert.equal(argmax([NaN, 1, 2]), 2);
  assert.equal(argmax([-Infinity, -Infinity]), 0);
  assert.equal(argmax([]), 0);
  assert.equal(argmax([5]), 0);
});

/** The k best of scores by a full sort: higher score first, ties by lower index. */
function sortedReference(scores: readonly number[], count: number): number[] {
  return scores
    .map((score, index) => ({ score, index }))
    .filter((entry) => !Number.isNaN(entry.score))
    .sort((left, right) => right.score - left.score || left.index - right.index)
    .slice(0, count)
    .map((entry) => entry.index);
}

test('TopK keeps the k best, ties by lower index, whatever the push order', () => {
  const random = new SeededRandom(3);
  // Scores from a small set of values, so ties are everywhere.
  const scores = Array.from({ length: 500 }, () => Math.floor(random.uniform() * 20) / 4);
  for (const count of [0, 1, 2, 7, 100, 499, 500, 800]) {
    const expected = sortedReference(scores, count);
    for (const seed of [1, 2, 3]) {
      const heap = new TopK<number>(count);
      for (const index of permutation(scores.length, seed)) heap.push(index, scores[index]);
      assert.equal(heap.size, Math.min(count, scores.length));
      const entries = heap.sorted();
      assert.deepEqual(entries.map((entry) => entry.key), expected, `k=${count} seed=${seed}`);
      assert.deepEqual(entries.map((entry) => entry.score), expected.map((index) => scores[index]));
    }
  }
});

test('TopK: NaN is never kept, capacity 0 keeps nothing, threshold tracks the worst kept score, sorted() does not consume', () => {
  const heap = new TopK<number>(2);
  assert.equal(heap.threshold(), -Infinity);
  assert.equal(heap.push(0, NaN), false);
  assert.equal(heap.push(1, 0.5), true);
  assert.equal(heap.push(2, 0.7), true);
  assert.equal(heap.threshold(), 0.5);
  assert.equal(heap.push(3, 0.1), false, 'below the worst kept');
  assert.equal(heap.push(4, 0.5), false, 'equal score, higher index: ranks below');
  assert.equal(heap.push(0, 0.5), true, 'equal score, lower index: ranks above');
  assert.equal(heap.push(5, NaN), false);
  assert.deepEqual(heap.sorted(), [{ key: 2, score: 0.7 }, { key: 0, score: 0.5 }]);
  assert.deepEqual(heap.sorted(), [{ key: 2, score: 0.7 }, { key: 0, score: 0.5 }], 'sorted() twice gives the same');

  const none = new TopK<number>(0);
  assert.equal(none.push(1, 1), false);
  assert.equal(none.threshold(), Infinity);
  assert.deepEqual(none.sorted(), []);
  assert.throws(() => new TopK(-1), RangeError);
  assert.throws(() => new TopK(1.5), RangeError);
});

test('TopK over string ids: ascending ids on ties by default, or any order the caller gives', () => {
  const entries: [string, number][] = [['d3', 1], ['d1', 2], ['d10', 2], ['d2', 2], ['d0', 0]];
  const ascending = new TopK<string>(3);
  for (const [id, score] of entries) ascending.push(id, score);
  assert.deepEqual(ascending.sorted().map((entry) => entry.key), ['d1', 'd10', 'd2']);

  // trec_eval's order: equal scores by id descending.
  const descending = new TopK<string>(3, { compareKeys: (left, right) => (left < right ? 1 : left > right ? -1 : 0) });
  for (const [id, score] of [...entries].reverse()) descending.push(id, score);
  assert.deepEqual(descending.sorted(), [{ key: 'd2', score: 2 }, { key: 'd10', score: 2 }, { key: 'd1', score: 2 }]);
});

test('topKIndices: over all indices or a prefix of a candidate buffer', () => {
  const scores = new Float64Array([0.2, 0.9, 0.9, 0.1, 0.95]);
  assert.deepEqual(topKIndices(scores, 2), new Int32Array([4, 1]));
  assert.deepEqual(topKIndices(scores, 10), new Int32Array([4, 1, 2, 0, 3]));
  assert.deepEqual(topKIndices(scores, 0), new Int32Array([]));
  // Only the first three candidates count; index 4 lies beyond the prefix.
  const candidates = new Int32Array([3, 2, 0, 4]);
  assert.deepEqual(topKIndices(scores, 2, candidates, 3), new Int32Array([2, 0]));
  assert.deepEqual(topKIndices(scores, 5, candidates), new Int32Array([4, 2, 0, 3]));
});
