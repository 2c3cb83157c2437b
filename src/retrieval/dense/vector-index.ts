/**
 * Exact inner-product search over a flat Float32Array matrix (FAISS's IndexFlatIP, as the
 * official harness uses): blocked matrix products (a block of queries against a block of
 * document rows, so each row is read once per query block) and a bounded heap per query.
 */
import { TopK } from '../../util/vectors.js';
import { O1Error } from '../../errors.js';

/** One result of {@link FlatInnerProductIndex.search}: a row number and its score. */
export interface VectorHit {
  index: number;
  score: number;
}

/** Queries per block: each document row is loaded once for this many queries. */
const QUERY_BLOCK = 16;
/** Document rows per block: a block of scores [QUERY_BLOCK x ROW_BLOCK] stays in cache. */
const ROW_BLOCK = 256;

/**
 * Rows of `dimension` floats in one growing matrix, searched exactly by inner product.
 *
 * @example
 * const index = new FlatInnerProductIndex(896);
 * index.add(documentVectors);
 * const [hits] = index.search([queryVector], 10); // [{ index: 3, score: 0.71 }, ...]
 */
export class FlatInnerProductIndex {
  private matrix: Float32Array;
  private rows = 0;

  constructor(readonly dimension: number, capacity = 1024) {
    if (!(Number.isInteger(dimension) && dimension > 0)) throw new O1Error('BAD_ARGUMENT', `dimension must be a positive integer, got ${dimension}`, { field: 'dimension' });
    this.matrix = new Float32Array(dimension * Math.max(1, capacity));
  }

  /** Number of rows. */
  get size(): number {
    return this.rows;
  }

  /** Appends rows (each `dimension` long); returns the row number of the first. */
  add(vectors: readonly Float32Array[]): number {
    const first = this.rows;
    const needed = (this.rows + vectors.length) * this.dimension;
    if (needed > this.matrix.length) {
      const grown = new Float32Array(Math.max(needed, this.matrix.length * 2));
      grown.set(this.matrix.subarray(0, this.rows * this.dimension));
      this.matrix = grown;
    }
    for (const vector of vectors) {
      if (vector.length !== this.dimension) throw new O1Error('SHAPE_MISMATCH', `a vector has ${vector.length} values, the index ${this.dimension}`);
      this.matrix.set(vector, this.rows * this.dimension);
      this.rows++;
    }
    return first;
  }

  /** Row `index` (a view, not a copy). */
  row(index: number): Float32Array {
    return this.matrix.subarray(index * this.dimension, (index + 1) * this.dimension);
  }

  /**
   * The `count` rows with the highest inner product for each query, best first (equal scores:
   * lower row first). `exclude[q]`, when given, is a row never returned for query q (BEIR's
   * "document id equals query id" rule).
   *
   * @example
   * const [hits] = index.search([query], 1000, [rowOfQueryId]);
   */
  search(queries: readonly Float32Array[], count: number, exclude: readonly (number | undefined)[] = []): VectorHit[][] {
    const dimension = this.dimension;
    for (const query of queries) {
      if (query.length !== dimension) throw new O1Error('SHAPE_MISMATCH', `a query vector has ${query.length} values, the index ${dimension}`);
    }
    const results: VectorHit[][] = [];
    const matrix = this.matrix;
    const scores = new Float64Array(QUERY_BLOCK * ROW_BLOCK);
    for (let queryStart = 0; queryStart < queries.length; queryStart += QUERY_BLOCK) {
      const block = queries.slice(queryStart, queryStart + QUERY_BLOCK);
      // Equal scores keep the lower row first (input order), so results are deterministic.
      const heaps = block.map(() => new TopK<number>(Math.max(0, Math.min(count, this.rows))));
      for (let rowStart = 0; rowStart < this.rows; rowStart += ROW_BLOCK) {
        const rowEnd = Math.min(this.rows, rowStart + ROW_BLOCK);
        for (let row = rowStart; row < rowEnd; row++) {
          const offset = row * dimension;
          for (let query = 0; query < block.length; query++) {
            const vector = block[query];
            let sum = 0;
            for (let index = 0; index < dimension; index++) sum += vector[index] * matrix[offset + index];
            scores[query * ROW_BLOCK + row - rowStart] = sum;
          }
        }
        for (let query = 0; query < block.length; query++) {
          const excluded = exclude[queryStart + query];
          const heap = heaps[query];
          for (let row = rowStart; row < rowEnd; row++) if (row !== excluded) heap.push(row, scores[query * ROW_BLOCK + row - rowStart]);
        }
      }
      for (const heap of heaps) results.push(heap.sorted().map(({ key, score }) => ({ index: key, score })));
    }
    return results;
  }
}
