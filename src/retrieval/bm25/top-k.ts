import { topKIndices } from '../../util/vectors.js';

/**
 * Selects the `count` best documents from a score array, as Lucene's TopScoreDocCollector does:
 * higher score first, equal scores by lower document number (index order). The bounded heap is
 * the shared one of util/vectors ({@link topKIndices}), whose default tie rule is exactly this.
 *
 * @param scores score per document number
 * @param candidates the document numbers to consider (those a query touched), `candidateCount` of them
 * @returns the selected document numbers, best first
 * @example
 * selectTopK(new Float64Array([0.2, 0.9, 0.9]), new Int32Array([0, 1, 2]), 3, 2) // Int32Array [1, 2]
 */
export function selectTopK(scores: Float64Array, candidates: Int32Array, candidateCount: number, count: number): Int32Array {
  return topKIndices(scores, count, candidates, candidateCount);
}
