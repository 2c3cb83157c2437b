/**
 * Seeded vectors and the brute-force reference for the vector store tests and bench:search.
 */
import { compareMatches } from '../../src/stores/contract.js';
import type { VectorItem, VectorMatch } from '../../src/stores/vector-store.js';
import { SeededRandom } from '../../src/util/random.js';

/**
 * `count` unit vectors around `clusters` random centres (noise `spread` per coordinate before
 * normalising), row-major in one Float32Array: the shape of real embedding sets, where
 * neighbours are close and HNSW has structure to exploit.
 *
 * @example
 * const base = clusteredUnitVectors(1000, 384, 1); // 1000 rows of 384
 */
export function clusteredUnitVectors(count: number, dimension: number, seed: number, clusters = 100, spread = 0.6): Float32Array {
  const random = new SeededRandom(seed);
  const centres = random.normalArray(clusters * dimension);
  const values = new Float32Array(count * dimension);
  const scale = spread / Math.sqrt(dimension);
  const centreScale = 1 / Math.sqrt(dimension);
  for (let row = 0; row < count; row++) {
    const centre = random.integer(clusters);
    let norm = 0;
    for (let index = 0; index < dimension; index++) {
      const value = centres[centre * dimension + index] * centreScale + random.normal() * scale;
      values[row * dimension + index] = value;
      norm += value * value;
    }
    const inverse = 1 / Math.sqrt(norm);
    for (let index = 0; index < dimension; index++) values[row * dimension + index] *= inverse;
  }
  return values;
}

/**
 * Row `row` of a row-major matrix (a view).
 *
 * @example
 * rowOf(matrix, 384, 2) // the third row
 */
export function rowOf(matrix: Float32Array, dimension: number, row: number): Float32Array {
  return matrix.subarray(row * dimension, (row + 1) * dimension);
}

/**
 * Items `prefix0..prefixN-1` for every row of a row-major matrix.
 *
 * @example
 * itemsOf(matrix, 384)[0].id // 'd0'
 */
export function itemsOf(matrix: Float32Array, dimension: number, prefix = 'd'): VectorItem[] {
  return Array.from({ length: matrix.length / dimension }, (_, row) => ({ id: `${prefix}${row}`, vector: rowOf(matrix, dimension, row) }));
}

/**
 * Seeded normal vectors (not unit length, like O1 query vectors), one Float32Array each.
 *
 * @example
 * const queries = randomVectors(20, 384, 7);
 */
export function randomVectors(count: number, dimension: number, seed: number, scale = 1): Float32Array[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => random.normalArray(dimension, scale));
}

/**
 * Exact top-k by inner product in float64, ties by id: the reference every store is checked
 * against.
 *
 * @example
 * const [best] = bruteForce(items, [query], 10);
 */
export function bruteForce(items: readonly VectorItem[], queries: readonly Float32Array[], k: number, exclude: readonly (string | undefined)[] = []): VectorMatch[][] {
  return queries.map((query, index) => {
    const all: VectorMatch[] = [];
    for (const { id, vector } of items) {
      if (id === exclude[index]) continue;
      let sum = 0;
      for (let position = 0; position < query.length; position++) sum += query[position] * vector[position];
      all.push({ id, score: sum });
    }
    return all.sort(compareMatches).slice(0, k);
  });
}

/**
 * Mean fraction of each reference list's ids found in the corresponding result (recall@k).
 *
 * @example
 * recallAt(await store.search(queries, 10), bruteForce(items, queries, 10)) // e.g. 0.996
 */
export function recallAt(results: readonly VectorMatch[][], reference: readonly VectorMatch[][]): number {
  let found = 0;
  let total = 0;
  reference.forEach((expected, index) => {
    const got = new Set(results[index].map((match) => match.id));
    for (const match of expected) if (got.has(match.id)) found++;
    total += expected.length;
  });
  return total === 0 ? 1 : found / total;
}
