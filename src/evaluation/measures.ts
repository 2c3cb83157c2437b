/**
 * trec_eval 9.0.8 measures on one query, transcribed from its `m_*.c` files so the floating point
 * operations happen in the same order: `map`, `recip_rank`, `P`, `recall`, `ndcg`, `ndcg_cut`,
 * `map_cut`.
 */
import { O1Error } from '../errors.js';

/** Measure families, in the order trec_eval's measure table lists (and prints) them. */
export const MEASURE_FAMILIES = ['map', 'recip_rank', 'P', 'recall', 'ndcg', 'ndcg_cut', 'map_cut'] as const;

export type MeasureFamily = (typeof MEASURE_FAMILIES)[number];

/** Families that take cutoffs (`P.10`), with trec_eval's default cutoffs when none are given. */
const DEFAULT_CUTOFFS: Partial<Record<MeasureFamily, readonly number[]>> = {
  P: [5, 10, 15, 20, 30, 100, 200, 500, 1000],
  recall: [5, 10, 15, 20, 30, 100, 200, 500, 1000],
  ndcg_cut: [5, 10, 15, 20, 30, 100, 200, 500, 1000],
  map_cut: [5, 10, 15, 20, 30, 100, 200, 500, 1000],
};

/** Relevance code trec_eval gives a retrieved document absent from the qrels. */
export const RELEVANCE_NOT_JUDGED = -1;
/** Relevance code trec_eval gives a retrieved document judged with a negative value ("in pool, unjudged"). */
export const RELEVANCE_NEGATIVE = -2;

/** A parsed `-m` argument. */
export interface MeasureSpec {
  family: MeasureFamily;
  /** Ascending, distinct, positive; empty for families without cutoffs. */
  cutoffs: number[];
}

/**
 * Parses a trec_eval measure argument: `map`, `recip_rank`, `ndcg`, or a cutoff family with
 * optional comma-separated cutoffs (`P.10`, `ndcg_cut.10,100`; without cutoffs trec_eval's
 * defaults 5,10,15,20,30,100,200,500,1000). Cutoffs are sorted and de-duplicated, as trec_eval
 * requires. Throws `UNKNOWN_MEASURE` or `BAD_ARGUMENT`.
 *
 * @example
 * parseMeasure('ndcg_cut.100,10') // { family: 'ndcg_cut', cutoffs: [10, 100] }
 */
export function parseMeasure(text: string): MeasureSpec {
  const dot = text.indexOf('.');
  const familyName = dot === -1 ? text : text.slice(0, dot);
  if (!(MEASURE_FAMILIES as readonly string[]).includes(familyName)) {
    throw new O1Error('UNKNOWN_MEASURE', `unknown measure '${text}'; supported: ${MEASURE_FAMILIES.join(', ')}`, { field: text });
  }
  const family = familyName as MeasureFamily;
  const defaults = DEFAULT_CUTOFFS[family];
  if (defaults === undefined) {
    if (dot !== -1) throw new O1Error('BAD_ARGUMENT', `measure '${family}' takes no parameters`, { field: text });
    return { family, cutoffs: [] };
  }
  if (dot === -1) return { family, cutoffs: [...defaults] };
  const cutoffs = text.slice(dot + 1).split(',').map((part) => {
    if (!/^\d+$/.test(part) || Number(part) <= 0) {
      throw new O1Error('BAD_ARGUMENT', `cutoff '${part}' of '${text}' is not a positive integer`, { field: text });
    }
    return Number(part);
  });
  return { family, cutoffs: [...new Set(cutoffs)].sort((left, right) => left - right) };
}

/**
 * The names trec_eval prints for a measure: `map`, `recip_rank`, `ndcg`, `P_10`, `ndcg_cut_100`...
 *
 * @example
 * measureOutputNames({ family: 'recall', cutoffs: [100, 1000] }) // ['recall_100', 'recall_1000']
 */
export function measureOutputNames(spec: MeasureSpec): string[] {
  return DEFAULT_CUTOFFS[spec.family] === undefined ? [spec.family] : spec.cutoffs.map((cutoff) => `${spec.family}_${cutoff}`);
}

/** One query as the measures see it (trec_eval's `RES_RELS`). */
export interface QueryRelevance {
  /**
   * Relevance of each retrieved document in rank order (already cut to `-M`): the judged value
   * when >= 0, {@link RELEVANCE_NOT_JUDGED} or {@link RELEVANCE_NEGATIVE} otherwise.
   */
  ranked: Int32Array;
  /** `levelCounts[level]`: judged documents of the query at each relevance level >= 0. */
  levelCounts: readonly number[];
}

/** Number of judged documents with relevance >= `relevanceLevel` (trec_eval's `num_rel`). */
export function countRelevant(query: QueryRelevance, relevanceLevel: number): number {
  let count = 0;
  for (let level = Math.max(relevanceLevel, 0); level < query.levelCounts.length; level++) count += query.levelCounts[level];
  return count;
}

/**
 * Values of one measure on one query, one per cutoff (one value for families without cutoffs).
 * `relevanceLevel` (trec_eval `-l`, default 1) applies to the binary measures only; nDCG gains
 * are the judged relevance values whatever the level.
 *
 * @example
 * computeMeasure({ family: 'P', cutoffs: [2] }, { ranked: Int32Array.of(1, 0), levelCounts: [1, 1] }) // [0.5]
 */
export function computeMeasure(spec: MeasureSpec, query: QueryRelevance, relevanceLevel = 1): number[] {
  switch (spec.family) {
    case 'map': return [averagePrecision(query, relevanceLevel, [Infinity])[0]];
    case 'recip_rank': return [reciprocalRank(query, relevanceLevel)];
    case 'P': return precision(query, relevanceLevel, spec.cutoffs);
    case 'recall': return recall(query, relevanceLevel, spec.cutoffs);
    case 'ndcg': return [ndcg(query)];
    case 'ndcg_cut': return ndcgCut(query, spec.cutoffs);
    case 'map_cut': return averagePrecision(query, relevanceLevel, spec.cutoffs);
  }
}

/** Relevant documents (>= level) among the first `cutoff` retrieved, for each cutoff. */
function relevantRetrieved(query: QueryRelevance, relevanceLevel: number, cutoffs: readonly number[]): number[] {
  const { ranked } = query;
  const counts: number[] = [];
  let found = 0;
  let rank = 0;
  for (const cutoff of cutoffs) {
    const end = Math.min(cutoff, ranked.length);
    for (; rank < end; rank++) if (ranked[rank] >= relevanceLevel) found++;
    counts.push(found);
  }
  return counts;
}

/** m_P.c: relevant in the top k divided by k, even when fewer than k were retrieved. */
function precision(query: QueryRelevance, relevanceLevel: number, cutoffs: readonly number[]): number[] {
  const counts = relevantRetrieved(query, relevanceLevel, cutoffs);
  return cutoffs.map((cutoff, index) => counts[index] / cutoff);
}

/** m_recall.c: relevant in the top k divided by all relevant; 0 without relevant documents. */
function recall(query: QueryRelevance, relevanceLevel: number, cutoffs: readonly number[]): number[] {
  const relevant = countRelevant(query, relevanceLevel);
  if (relevant === 0) return cutoffs.map(() => 0);
  const counts = relevantRetrieved(query, relevanceLevel, cutoffs);
  return counts.map((count) => count / relevant);
}

/** m_map.c / m_map_cut.c: summed precision at each relevant rank <= k, over all relevant. */
function averagePrecision(query: QueryRelevance, relevanceLevel: number, cutoffs: readonly number[]): number[] {
  const relevant = countRelevant(query, relevanceLevel);
  if (relevant === 0) return cutoffs.map(() => 0);
  const { ranked } = query;
  const values: number[] = [];
  let sum = 0;
  let found = 0;
  let rank = 0;
  for (const cutoff of cutoffs) {
    const end = Math.min(cutoff, ranked.length);
    for (; rank < end; rank++) {
      if (ranked[rank] >= relevanceLevel) {
        found++;
        sum += found / (rank + 1);
      }
    }
    values.push(sum / relevant);
  }
  return values;
}

/** m_recip_rank.c: 1 / rank of the first relevant document, 0 when none is retrieved. */
function reciprocalRank(query: QueryRelevance, relevanceLevel: number): number {
  const { ranked } = query;
  for (let rank = 0; rank < ranked.length; rank++) if (ranked[rank] >= relevanceLevel) return 1 / (rank + 1);
  return 0;
}

/** Highest relevance level with judged documents, 0 when there is none above 0. */
function topLevel(query: QueryRelevance): number {
  let level = query.levelCounts.length - 1;
  while (level > 0 && query.levelCounts[level] === 0) level--;
  return Math.max(level, 0);
}

/**
 * m_ndcg_cut.c: DCG@k with linear gain (relevance > 0) and discount log2(rank + 1), divided by
 * the ideal DCG@k of all judged relevant documents, retrieved or not; 0 when nothing is relevant.
 */
function ndcgCut(query: QueryRelevance, cutoffs: readonly number[]): number[] {
  const { ranked, levelCounts } = query;
  const values: number[] = [];
  let sum = 0;
  let rank = 0;
  for (const cutoff of cutoffs) {
    const end = Math.min(cutoff, ranked.length);
    for (; rank < end; rank++) {
      const gain = ranked[rank];
      if (gain > 0) sum += gain / Math.log2(rank + 2);
    }
    values.push(sum);
  }
  // Ideal ranking: levelCounts[level] documents of gain `level`, highest level first.
  let level = topLevel(query);
  let leftAtLevel = level > 0 ? levelCounts[level] : 0;
  let ideal = 0;
  rank = 0;
  for (let index = 0; index < cutoffs.length; index++) {
    const cutoff = cutoffs[index];
    while (level > 0 && rank < cutoff) {
      ideal += level / Math.log2(rank + 2);
      rank++;
      if (--leftAtLevel === 0) {
        do level--; while (level > 0 && levelCounts[level] === 0);
        leftAtLevel = level > 0 ? levelCounts[level] : 0;
      }
    }
    if (ideal > 0) values[index] /= ideal;
  }
  return values;
}

/** m_ndcg.c: nDCG over the whole ranking against the ideal DCG of all judged relevant documents. */
function ndcg(query: QueryRelevance): number {
  const [value] = ndcgCut(query, [Math.max(query.ranked.length, countRelevant(query, 1))]);
  return value;
}
