/**
 * Hybrid retrieval: several retrievers (BM25 + O1 by default) fused per query, by reciprocal-rank
 * fusion (RRF, Cormack et al. 2009: score = sum of weight / (k + rank), k = 60) or by normalised
 * score fusion (each member's scores min-max normalised per query, then a weighted sum).
 */
import type { Document, Hit, Query } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import { DEFAULT_HITS, type IndexOptions, type Retriever, type RetrieverConfig, type SearchOptions } from '../retriever.js';

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

/** Settings of a {@link FusedRetriever} besides its members. */
export interface FusedRetrieverOptions {
  /** Default 'rrf'. */
  fusion?: FusionMethod;
  /** RRF constant. Default 60. */
  k?: number;
  /** One weight per member. Default 1 each. */
  weights?: number[];
  /** Hits asked of every member before fusing. Default max(hits, 1000). */
  depth?: number;
}

/**
 * A retriever that runs members and fuses their rankings ({@link fuseRankings}).
 *
 * @example
 * const fused = new FusedRetriever([new Bm25Retriever(), new O1Retriever({ model: 'models/o1' })], { fusion: 'rrf', k: 60 });
 * await fused.index(corpus);
 * const hits = await fused.search({ id: 'q1', text: 'what causes tides' }, { hits: 10 });
 */
export class FusedRetriever implements Retriever {
  readonly name = 'fused';
  readonly options: Required<Omit<FusedRetrieverOptions, 'depth' | 'weights'>> & Pick<FusedRetrieverOptions, 'depth' | 'weights'>;

  constructor(readonly members: readonly Retriever[], options: FusedRetrieverOptions = {}) {
    if (members.length < 2) throw new O1Error('BAD_ARGUMENT', 'a fused retriever needs at least two retrievers', { field: 'retrievers' });
    this.options = { fusion: options.fusion ?? 'rrf', k: options.k ?? 60, weights: options.weights, depth: options.depth };
    // Validates method, k and weights once, up front.
    fuseRankings(members.map(() => []), { method: this.options.fusion, k: this.options.k, weights: this.options.weights });
    if (options.depth !== undefined && !(Number.isInteger(options.depth) && options.depth >= 1)) throw new O1Error('BAD_ARGUMENT', `depth must be a positive integer, got ${options.depth}`, { field: 'depth' });
  }

  async index(documents: Iterable<Document> | AsyncIterable<Document>, options: IndexOptions = {}): Promise<void> {
    const all: Document[] = [];
    for await (const document of documents) all.push(document);
    // One after the other: the members share the CPU.
    for (const member of this.members) await member.index(all, { ...options, total: all.length });
  }

  private memberOptions(options: SearchOptions): SearchOptions {
    const hits = options.hits ?? DEFAULT_HITS;
    return { ...options, hits: this.options.depth ?? Math.max(hits, DEFAULT_HITS) };
  }

  private fuse(rankings: Hit[][], hits: number | undefined): Hit[] {
    return fuseRankings(rankings, { method: this.options.fusion, k: this.options.k, weights: this.options.weights, hits: hits ?? DEFAULT_HITS });
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    const rankings: Hit[][] = [];
    for (const member of this.members) rankings.push(await member.search(query, this.memberOptions(options)));
    return this.fuse(rankings, options.hits);
  }

  async searchMany(queries: readonly Query[], options: SearchOptions = {}): Promise<Map<string, Hit[]>> {
    const perMember: Map<string, Hit[]>[] = [];
    for (const member of this.members) {
      if (member.searchMany !== undefined) {
        perMember.push(await member.searchMany(queries, this.memberOptions(options)));
      } else {
        const results = new Map<string, Hit[]>();
        for (const query of queries) results.set(query.id, await member.search(query, this.memberOptions(options)));
        perMember.push(results);
      }
    }
    return new Map(queries.map((query) => [query.id, this.fuse(perMember.map((results) => results.get(query.id) ?? []), options.hits)]));
  }

  config(): RetrieverConfig {
    const config: RetrieverConfig = { retriever: this.name, fusion: this.options.fusion, k: this.options.k, retrievers: this.members.map((member) => member.config()) };
    if (this.options.weights !== undefined) config.weights = [...this.options.weights];
    if (this.options.depth !== undefined) config.depth = this.options.depth;
    return config;
  }

  /** Disposes the members that can be disposed. */
  async dispose(): Promise<void> {
    for (const member of this.members) await (member as { dispose?: () => Promise<void> }).dispose?.();
  }
}
