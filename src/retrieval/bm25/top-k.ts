/**
 * Selects the `count` best documents from a score array, as Lucene's TopScoreDocCollector does:
 * higher score first, equal scores by lower document number (index order). A binary min-heap of
 * size `count` keeps it O(n log k).
 *
 * @param scores score per document number
 * @param candidates the document numbers to consider (those a query touched), `candidateCount` of them
 * @returns the selected document numbers, best first
 */
export function selectTopK(scores: Float64Array, candidates: Int32Array, candidateCount: number, count: number): Int32Array {
  if (count <= 0 || candidateCount === 0) return new Int32Array(0);
  // Worse = lower score, or equal score and higher document number.
  const worse = (left: number, right: number): boolean =>
    scores[left] < scores[right] || (scores[left] === scores[right] && left > right);
  if (candidateCount <= count) {
    const all = candidates.slice(0, candidateCount);
    all.sort((left, right) => (worse(left, right) ? 1 : worse(right, left) ? -1 : 0));
    return all;
  }
  // heap[0] is the worst of the kept documents.
  const heap = new Int32Array(count);
  let size = 0;
  const siftDown = (start: number): void => {
    let parent = start;
    const item = heap[parent];
    for (;;) {
      let child = 2 * parent + 1;
      if (child >= size) break;
      if (child + 1 < size && worse(heap[child + 1], heap[child])) child++;
      if (!worse(heap[child], item)) break;
      heap[parent] = heap[child];
      parent = child;
    }
    heap[parent] = item;
  };
  for (let index = 0; index < candidateCount; index++) {
    const document = candidates[index];
    if (size < count) {
      // Sift up.
      let child = size++;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!worse(document, heap[parent])) break;
        heap[child] = heap[parent];
        child = parent;
      }
      heap[child] = document;
    } else if (worse(heap[0], document)) {
      heap[0] = document;
      siftDown(0);
    }
  }
  // Pop the worst first, filling from the back.
  const result = new Int32Array(size);
  for (let index = size - 1; index >= 0; index--) {
    result[index] = heap[0];
    heap[0] = heap[--size];
    siftDown(0);
  }
  return result;
}
