/**
 * Host-side pooling of hidden states and L2 normalisation. The model pools inside its graph;
 * these functions do the same on host arrays (tests, custom poolings, query-vector averaging).
 */
import { O1Error } from '../errors.js';

// L2 normalisation and cosine similarity live in util/vectors; re-exported for pooling's users.
export { cosineSimilarity, l2NormalizeInPlace, meanVector } from '../util/vectors.js';

/** How a sequence's hidden states become one vector. */
export type Pooling = 'last' | 'mean';

/**
 * Pools hidden states [batch, length, width] (row-major) with a left-padded attention mask
 * [batch, length]: `last` takes position length − 1 of each row (the last real token under left
 * padding, O1 Embedder's `<emb>`); `mean` averages the positions whose mask is 1.
 *
 * @example
 * poolHiddenStates(new Float32Array([1, 2, 3, 4]), [[0, 1]], 'last', 2) // [Float32Array [3, 4]]
 */
export function poolHiddenStates(hidden: ArrayLike<number>, attentionMask: readonly (readonly number[])[], pooling: Pooling, width: number): Float32Array[] {
  const batch = attentionMask.length;
  if (batch === 0) return [];
  const length = attentionMask[0].length;
  if (hidden.length !== batch * length * width) {
    throw new O1Error('SHAPE_MISMATCH', `hidden states have ${hidden.length} values, expected ${batch} x ${length} x ${width}`);
  }
  return attentionMask.map((mask, row) => {
    const vector = new Float32Array(width);
    if (pooling === 'last') {
      const offset = (row * length + length - 1) * width;
      for (let index = 0; index < width; index++) vector[index] = hidden[offset + index];
      return vector;
    }
    let count = 0;
    const sums = new Float64Array(width);
    for (let position = 0; position < length; position++) {
      if (mask[position] === 0) continue;
      count++;
      const offset = (row * length + position) * width;
      for (let index = 0; index < width; index++) sums[index] += hidden[offset + index];
    }
    for (let index = 0; index < width; index++) vector[index] = sums[index] / Math.max(count, 1);
    return vector;
  });
}
