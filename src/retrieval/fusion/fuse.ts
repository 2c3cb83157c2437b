/**
 * Rank fusion: reciprocal-rank fusion (RRF, Cormack et al. 2009: score = sum of weight / (k + rank),
 * k = 60) or normalised score fusion (each ranking's scores min-max normalised per query, then a
 * weighted sum). Used by the fused retriever and by BM25's query-only + thinking fusion.
 */
import type { Hit } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import { DEFAULT_HITS } from '../retriever.js';

/** How member rankings combine. */
export type FusionMethod = 'rrf' | 'score';

/** Fusion settings. */
export interface FusionOptions {
  /** Default 'rrf'. */
  method?: FusionMethod;
  /** RRF's rank constant. Default 60. */
  k?: number;
  /** One weight per ranking. Default 1 each. */
  weights?: readonly number[];
  /** Hits returned. Default 1000. */
  hits?: number;
}

/**
 * Fuses rankings (each best first) into one, best first. RRF: each document scores
 * sum_i weight_i / (k + rank_i) over the rankings that hold it (rank 1-based). Score fusion:
 * each ranking's scores are min-max normalised to [0, 1] (all equal -> 1), and a document scores
 * sum_i weight_i * normalised_i (0 where a ranking lacks it). Equal fused scores go by id. The
 * fused hits keep the thoughts of any ranking that had them.
 *
 * @example
 * fuseRankings([[{ id: 'a', score: 9 }, { id: 'b', score: 3 }], [{ id: 'b', score: 0.8 }]]);
 * // rrf: b = 1/62 + 1/61, a = 1/61 -> [b, a]
 */
export function fuseRankings(rankings: readonly (readonly Hit[])[], options: FusionOptions = {}): Hit[] {
  const method = options.method ?? 'rrf';
  const k = options.k ?? 60;
  const weights = options.weights ?? rankings.map(() => 1);
  const hits = options.hits ?? DEFAULT_HITS;
  if (method !== 'rrf' && method !== 'score') throw new O1Error('BAD_ARGUMENT', `fusion must be rrf or score, got '${String(method)}'`, { field: 'fusion' });
  if (!(Number.isFinite(k) && k >= 0)) throw new O1Error('BAD_ARGUMENT', `k must be a number >= 0, got ${k}`, { field: 'k' });
  if (weights.length !== rankings.length || !weights.every((weight) => Number.isFinite(weight))) {
    throw new O1Error('BAD_ARGUMENT', `give one finite weight per ranking (${rankings.length}), got [${weights.join(', ')}]`, { field: 'weights' });
  }
  const scores = new Map<string, number>();
  let thoughts: string[] | undefined;
  rankings.forEach((ranking, member) => {
    let minimum = Infinity;
    let maximum = -Infinity;
    for (const hit of ranking) {
      minimum = Math.min(minimum, hit.score);
      maximum = Math.max(maximum, hit.score);
    }
    ranking.forEach((hit, position) => {
      thoughts ??= hit.thoughts;
      const part = method === 'rrf' ? 1 / (k + position + 1) : maximum > minimum ? (hit.score - minimum) / (maximum - minimum) : 1;
      scores.set(hit.id, (scores.get(hit.id) ?? 0) + weights[member] * part);
    });
  });
  const fused = [...scores].map(([id, score]) => ({ id, score }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, hits);
  return thoughts === undefined ? fused : fused.map((hit) => ({ ...hit, thoughts }));
}
