/**
 * Vector helpers shared by inference, retrieval, synthesis and training: sums of squares, L2
 * norms and normalisation, dot products, cosine similarity, argmax and a bounded top-k heap.
 * One implementation each, so every caller rounds and breaks ties the same way. All sums are
 * accumulated in float64 (JavaScript numbers) whatever the array type.
 */
import { O1Error } from '../errors.js';

/** Anything indexable by position: plain arrays and typed arrays. */
export type NumericVector = ArrayLike<number>;

/**
 * The sum of squares of `values`, with four accumulators (fewer dependent additions per
 * iteration, which matters for the optimizer's global gradient norm over millions of values).
 *
 * @example
 * sumOfSquares(new Float32Array([3, 4])) // 25
 */
export function sumOfSquares(values: NumericVector): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const length = values.length;
  let index = 0;
  for (; index + 3 < length; index += 4) {
    a += values[index] * values[index];
    b += values[index + 1] * values[index + 1];
    c += values[index + 2] * values[index + 2];
    d += values[index + 3] * values[index + 3];
  }
  for (; index < length; index++) a += values[index] * values[index];
  return a + b + c + d;
}

/**
 * The Euclidean (L2) norm of a vector.
 *
 * @example
 * l2Norm([3, 4]) // 5
 */
export function l2Norm(vector: NumericVector): number {
  return Math.sqrt(sumOfSquares(vector));
}

/** The smallest norm divided by, as torch.nn.functional.normalize's default eps. */
export const L2_NORMALIZE_EPSILON = 1e-12;

/**
 * Divides a vector by its L2 norm in place, x / max(‖x‖, 1e-12) as torch's `normalize` does (so
 * a zero vector stays zero), and returns it.
 *
 * @example
 * l2NormalizeInPlace(new Float32Array([3, 4])) // Float32Array [0.6, 0.8]
 */
export function l2NormalizeInPlace<Vector extends Float32Array | Float64Array | number[]>(vector: Vector): Vector {
  const scale = 1 / Math.max(l2Norm(vector), L2_NORMALIZE_EPSILON);
  for (let index = 0; index < vector.length; index++) vector[index] *= scale;
  return vector;
}

/**
 * A unit-length copy of a vector ({@link l2NormalizeInPlace} on a copy); the input is unchanged.
 *
 * @example
 * l2Normalized([3, 4]) // Float32Array [0.6, 0.8]
 */
export function l2Normalized(vector: NumericVector): Float32Array {
  return l2NormalizeInPlace(Float32Array.from(vector));
}

/**
 * The dot (inner) product of two vectors of the same length.
 *
 * @throws RangeError when the lengths differ (a programming error, not a user one)
 * @example
 * dot([1, 2, 3], [4, 5, 6]) // 32
 */
export function dot(left: NumericVector, right: NumericVector): number {
  if (left.length !== right.length) throw new RangeError(`dot: vectors of length ${left.length} and ${right.length}`);
  let sum = 0;
  for (let index = 0; index < left.length; index++) sum += left[index] * right[index];
  return sum;
}

/**
 * Cosine similarity of two vectors of the same length; 0 when either is all zeros (rather than
 * NaN, so a degenerate embedding ranks last instead of poisoning a sort).
 *
 * @throws RangeError when the lengths differ
 * @example
 * cosineSimilarity([1, 0], [1, 1]) // 0.7071...
 */
export function cosineSimilarity(left: NumericVector, right: NumericVector): number {
  if (left.length !== right.length) throw new RangeError(`cosineSimilarity: vectors of length ${left.length} and ${right.length}`);
  let product = 0;
  let leftSquares = 0;
  let rightSquares = 0;
  for (let index = 0; index < left.length; index++) {
    product += left[index] * right[index];
    leftSquares += left[index] * left[index];
    rightSquares += right[index] * right[index];
  }
  return leftSquares === 0 || rightSquares === 0 ? 0 : product / Math.sqrt(leftSquares * rightSquares);
}

/**
 * Index of the largest value in `values[offset, offset + length)`, relative to `offset`. Ties
 * go to the lowest index (numpy's argmax); NaN never wins; an empty range (or one of only NaN
 * and -Infinity) gives 0, so callers indexing with the result stay in bounds.
 *
 * @example
 * argmax([0.1, 3, 3, -1]) // 1
 * argmax(new Float32Array([9, 0, 4, 7]), 1, 3) // 2 (the 7, relative to offset 1)
 */
export function argmax(values: NumericVector, offset = 0, length = values.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let index = 0; index < length; index++) {
    const value = values[offset + index];
    if (value > bestValue) {
      bestValue = value;
      best = index;
    }
  }
  return best;
}

/** One entry kept by {@link TopK}. */
export interface ScoredKey<Key> {
  key: Key;
  score: number;
}

/** Options of {@link TopK}. */
export interface TopKOptions<Key> {
  /**
   * Order of keys with equal scores: negative when `left` ranks first. Default ascending: the
   * lower index first (Lucene's and FAISS's tie rule) or, for string ids, the lower id in
   * UTF-16 code-unit order.
   */
  compareKeys?: (left: Key, right: Key) => number;
}

function ascending<Key extends number | string>(left: Key, right: Key): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * Keeps the `capacity` best (key, score) pairs seen: a bounded binary min-heap whose root is the
 * worst kept entry, so a push that does not beat it costs one comparison. Higher scores rank
 * first; equal scores are ordered by key ({@link TopKOptions.compareKeys}), which makes the
 * result independent of push order. NaN scores are never kept. O(n log k) for n pushes.
 *
 * @example
 * const best = new TopK<number>(2);
 * [0.1, 0.9, 0.5, 0.9].forEach((score, index) => best.push(index, score));
 * best.sorted() // [{ key: 1, score: 0.9 }, { key: 3, score: 0.9 }]
 *
 * const byId = new TopK<string>(1);
 * byId.push('b', 1); byId.push('a', 1);
 * byId.sorted() // [{ key: 'a', score: 1 }]
 */
export class TopK<Key extends number | string = number> {
  private readonly scores: Float64Array;
  private readonly keys: Key[] = [];
  private readonly compareKeys: (left: Key, right: Key) => number;
  private count = 0;

  /** @param capacity how many entries to keep (0 keeps none) */
  constructor(
    readonly capacity: number,
    options: TopKOptions<Key> = {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`TopK capacity must be an integer >= 0, got ${capacity}`);
    this.scores = new Float64Array(capacity);
    this.compareKeys = options.compareKeys ?? ascending;
  }

  /** Entries kept so far (at most `capacity`). */
  get size(): number {
    return this.count;
  }

  /**
   * The score a new entry must reach to be considered: the worst kept score once full,
   * -Infinity before (Infinity when the capacity is 0). Lets callers skip work for candidates
   * that cannot enter.
   */
  threshold(): number {
    if (this.capacity === 0) return Infinity;
    return this.count < this.capacity ? -Infinity : this.scores[0];
  }

  /** Whether (scoreA, keyA) ranks below (scoreB, keyB). */
  private worse(scoreA: number, keyA: Key, scoreB: number, keyB: Key): boolean {
    return scoreA < scoreB || (scoreA === scoreB && this.compareKeys(keyA, keyB) > 0);
  }

  /**
   * Offers one entry; returns whether it was kept (it may be evicted by later pushes).
   *
   * @example
   * heap.push(documentIndex, score)
   */
  push(key: Key, score: number): boolean {
    const { scores, keys } = this;
    if (this.count < this.capacity) {
      if (Number.isNaN(score)) return false;
      // Sift up from the new leaf.
      let child = this.count++;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!this.worse(score, key, scores[parent], keys[parent])) break;
        scores[child] = scores[parent];
        keys[child] = keys[parent];
        child = parent;
      }
      scores[child] = score;
      keys[child] = key;
      return true;
    }
    // The common case, a score below the worst kept one, costs one comparison (NaN fails it
    // too, and so does any score when the capacity is 0: scores[0] is then undefined).
    const worst = scores[0];
    if (!(score >= worst)) return false;
    if (score === worst && this.compareKeys(key, keys[0]) >= 0) return false;
    this.replaceRoot(score, key);
    return true;
  }

  /** Puts (score, key) at the root and sifts it down. */
  private replaceRoot(score: number, key: Key): void {
    const { scores, keys } = this;
    let parent = 0;
    for (;;) {
      let child = 2 * parent + 1;
      if (child >= this.count) break;
      if (child + 1 < this.count && this.worse(scores[child + 1], keys[child + 1], scores[child], keys[child])) child++;
      if (!this.worse(scores[child], keys[child], score, key)) break;
      scores[parent] = scores[child];
      keys[parent] = keys[child];
      parent = child;
    }
    scores[parent] = score;
    keys[parent] = key;
  }

  /**
   * The kept entries, best first. Does not change the heap.
   *
   * @example
   * heap.sorted().map((entry) => entry.key)
   */
  sorted(): ScoredKey<Key>[] {
    const entries: ScoredKey<Key>[] = new Array(this.count);
    for (let index = 0; index < this.count; index++) entries[index] = { key: this.keys[index], score: this.scores[index] };
    return entries.sort((left, right) => (this.worse(left.score, left.key, right.score, right.key) ? 1 : this.worse(right.score, right.key, left.score, left.key) ? -1 : 0));
  }
}

/**
 * The `count` best indices of a score array, best first, ties by lower index ({@link TopK}).
 * `candidates` (default: every index) restricts the search, e.g. to the documents a query
 * touched; `candidateCount` (default: all of `candidates`) uses a prefix of a reused buffer.
 *
 * @example
 * topKIndices(new Float64Array([0.2, 0.9, 0.9, 0.1]), 2) // Int32Array [1, 2]
 * topKIndices(scores, 10, touched, touchedCount)
 */
export function topKIndices(scores: NumericVector, count: number, candidates?: ArrayLike<number>, candidateCount = candidates?.length ?? scores.length): Int32Array {
  const heap = new TopK<number>(Math.max(0, Math.min(count, candidateCount)));
  if (candidates === undefined) {
    for (let index = 0; index < candidateCount; index++) heap.push(index, scores[index]);
  } else {
    for (let index = 0; index < candidateCount; index++) heap.push(candidates[index], scores[candidates[index]]);
  }
  return Int32Array.from(heap.sorted(), (entry) => entry.key);
}

/**
 * The mean of vectors, summed in float64; L2-normalised only with `renormalize` (O1 Embedder's
 * query vector is the plain mean of its normalised query + thought vectors).
 *
 * @example
 * meanVector([new Float32Array([1, 0]), new Float32Array([0, 1])]) // Float32Array [0.5, 0.5]
 */
export function meanVector(vectors: readonly Float32Array[], options: { renormalize?: boolean } = {}): Float32Array {
  if (vectors.length === 0) throw new O1Error('BAD_ARGUMENT', 'the mean of no vectors is undefined');
  const sums = new Float64Array(vectors[0].length);
  for (const vector of vectors) {
    if (vector.length !== sums.length) throw new O1Error('SHAPE_MISMATCH', `vectors of lengths ${sums.length} and ${vector.length}`);
    for (let index = 0; index < sums.length; index++) sums[index] += vector[index];
  }
  const mean = new Float32Array(sums.length);
  for (let index = 0; index < sums.length; index++) mean[index] = sums[index] / vectors.length;
  return options.renormalize === true ? l2NormalizeInPlace(mean) : mean;
}
