/**
 * The order trec_eval 9.0.8 gives a query's documents: score descending, compared as 32-bit
 * floats, ties broken by document id descending in byte (`strcmp`) order. Writers and the
 * evaluator share it so a written run is read back in the order it was evaluated in.
 */
import type { Hit } from './types.js';

/**
 * Compares two ids in UTF-8 byte order, which is what C `strcmp` does and equals Unicode code
 * point order. JavaScript's `<` compares UTF-16 code units, which disagrees only when a surrogate
 * (a character above U+FFFF) meets a character in U+E000..U+FFFF.
 *
 * @example
 * compareIdsBytewise('10', '9') // < 0, as strcmp
 */
export function compareIdsBytewise(left: string, right: string): number {
  if (left === right) return 0;
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    const leftUnit = left.charCodeAt(index);
    const rightUnit = right.charCodeAt(index);
    if (leftUnit === rightUnit) continue;
    const leftSurrogate = leftUnit >= 0xd800 && leftUnit <= 0xdfff;
    const rightSurrogate = rightUnit >= 0xd800 && rightUnit <= 0xdfff;
    if (leftSurrogate && !rightSurrogate && rightUnit >= 0xe000) return 1;
    if (rightSurrogate && !leftSurrogate && leftUnit >= 0xe000) return -1;
    return leftUnit - rightUnit;
  }
  return left.length - right.length;
}

/** One query's documents in trec_eval order, as parallel arrays (cheap to slice and scan). */
export interface RankedList {
  /** Document ids, best first. */
  ids: string[];
  /** Scores as trec_eval 9.0.8 sees them (rounded to float32), aligned with `ids`. */
  scores: Float32Array;
}

/**
 * Ranks one query's `docid -> score` map the way trec_eval 9.0.8 does: scores rounded to float32
 * (so 0.1 and 0.10000000001 tie), higher first, ties by docid descending (strcmp).
 * `excludeId` drops one document (BEIR's and Anserini's "drop the doc whose id is the query id").
 *
 * @example
 * rankDocuments(new Map([['a', 1], ['b', 1], ['c', 2]])).ids // ['c', 'b', 'a']
 */
export function rankDocuments(scores: ReadonlyMap<string, number>, excludeId?: string): RankedList {
  const ids: string[] = [];
  const rounded: number[] = [];
  for (const [id, score] of scores) {
    if (id === excludeId) continue;
    ids.push(id);
    rounded.push(Math.fround(score));
  }
  const order = new Array<number>(ids.length);
  for (let index = 0; index < order.length; index++) order[index] = index;
  order.sort((left, right) => {
    const difference = rounded[right] - rounded[left];
    if (difference !== 0) return difference;
    return compareIdsBytewise(ids[right], ids[left]);
  });
  const rankedIds = new Array<string>(order.length);
  const rankedScores = new Float32Array(order.length);
  for (let rank = 0; rank < order.length; rank++) {
    rankedIds[rank] = ids[order[rank]];
    rankedScores[rank] = rounded[order[rank]];
  }
  return { ids: rankedIds, scores: rankedScores };
}

/**
 * {@link rankDocuments} returned as hits; `maxHits` (default: all) keeps the best ones. The
 * scores in the hits are the original (double) scores, so writing them loses nothing.
 *
 * @example
 * rankHits(new Map([['a', 0.5], ['b', 0.7]]), 1) // [{ id: 'b', score: 0.7 }]
 */
export function rankHits(scores: ReadonlyMap<string, number>, maxHits = Infinity): Hit[] {
  const ranked = rankDocuments(scores);
  const count = Math.min(maxHits, ranked.ids.length);
  const hits: Hit[] = new Array(count);
  for (let rank = 0; rank < count; rank++) {
    const id = ranked.ids[rank];
    hits[rank] = { id, score: scores.get(id) as number };
  }
  return hits;
}
