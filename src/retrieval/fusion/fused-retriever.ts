/**
 * Hybrid retrieval: several retrievers (BM25 + O1 by default) fused per query, by reciprocal-rank
 * fusion (RRF, Cormack et al. 2009: score = sum of weight / (k + rank), k = 60) or by normalised
 * score fusion (each member's scores min-max normalised per query, then a weighted sum).
 */
import type { ThinkerConfig } from '../../backends/thinker.js';
import type { Document, Hit, Query } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import { DEFAULT_HITS, searchOne, type IndexOptions, type Retriever, type RetrieverConfig, type RetrieverStatistics, type SearchOptions } from '../retriever.js';
import { RetrieverThinking } from '../thinking.js';
import { fuseRankings, type FusionMethod } from './fuse.js';

export { fuseRankings, type FusionMethod, type FusionOptions } from './fuse.js';

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
  /** Think once per query and search every member with those thoughts. Default none. */
  thinker?: ThinkerConfig;
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
  readonly options: Required<Omit<FusedRetrieverOptions, 'depth' | 'weights' | 'thinker'>> & Pick<FusedRetrieverOptions, 'depth' | 'weights'>;
  readonly thinking: RetrieverThinking;

  constructor(readonly members: readonly Retriever[], options: FusedRetrieverOptions = {}) {
    if (members.length < 2) throw new O1Error('BAD_ARGUMENT', 'a fused retriever needs at least two retrievers', { field: 'retrievers' });
    this.options = { fusion: options.fusion ?? 'rrf', k: options.k ?? 60, weights: options.weights, depth: options.depth };
    // Validates method, k and weights once, up front.
    fuseRankings(members.map(() => []), { method: this.options.fusion, k: this.options.k, weights: this.options.weights });
    if (options.depth !== undefined && !(Number.isInteger(options.depth) && options.depth >= 1)) throw new O1Error('BAD_ARGUMENT', `depth must be a positive integer, got ${options.depth}`, { field: 'depth' });
    this.thinking = new RetrieverThinking(options.thinker);
  }

  async index(documents: Iterable<Document> | AsyncIterable<Document>, options: IndexOptions = {}): Promise<void> {
    if (options.prepareThinker !== false) await this.thinking.prepare();
    const all: Document[] = [];
    for await (const document of documents) all.push(document);
    // One after the other: the members share the CPU.
    // Members search with the fused retriever's thoughts when it thinks: their own thinkers stay unbuilt.
    for (const member of this.members) await member.index(all, { ...options, total: all.length, prepareThinker: !this.thinking.enabled && options.prepareThinker !== false });
  }

  private memberOptions(options: SearchOptions, thoughts: ReadonlyMap<string, readonly string[]> | undefined): SearchOptions {
    const hits = options.hits ?? DEFAULT_HITS;
    return { ...options, hits: this.options.depth ?? Math.max(hits, DEFAULT_HITS), ...(thoughts === undefined ? {} : { thoughts }) };
  }

  private fuse(rankings: Hit[][], hits: number | undefined): Hit[] {
    return fuseRankings(rankings, { method: this.options.fusion, k: this.options.k, weights: this.options.weights, hits: hits ?? DEFAULT_HITS });
  }

  async search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return searchOne(this, query, options);
  }

  /** The thoughts the members search with: the caller's, else this retriever's own when it thinks (once for all members). */
  private async memberThoughts(queries: readonly Query[], options: SearchOptions): Promise<ReadonlyMap<string, readonly string[]> | undefined> {
    if (options.thoughts !== undefined || !this.thinking.enabled) return options.thoughts;
    const thought = await this.thinking.thoughtsFor(queries, options, 'fused think');
    return new Map(queries.map((query, index) => [query.id, thought[index] ?? []]));
  }

  async searchMany(queries: readonly Query[], options: SearchOptions = {}): Promise<Map<string, Hit[]>> {
    const thoughts = await this.memberThoughts(queries, options);
    const perMember: Map<string, Hit[]>[] = [];
    for (const member of this.members) perMember.push(await member.searchMany(queries, this.memberOptions(options, thoughts)));
    return new Map(queries.map((query) => [query.id, this.fuse(perMember.map((results) => results.get(query.id) ?? []), options.hits)]));
  }

  /**
   * One member's ranking alone, thinking as this retriever does (its thoughts handed to the
   * member), at the depth asked for: what a search page shows when the user switches from the
   * fusion to one of its parts.
   *
   * @example
   * const bm25Only = await fused.searchMember(0, [{ id: 'q1', text: 'vitamin d' }], { hits: 10 });
   */
  async searchMember(position: number, queries: readonly Query[], options: SearchOptions = {}): Promise<Map<string, Hit[]>> {
    const member = this.members[position];
    if (member === undefined) throw new O1Error('BAD_ARGUMENT', `the fused retriever has ${this.members.length} members, not a member ${position}`, { field: 'retrievers' });
    const thoughts = await this.memberThoughts(queries, options);
    return member.searchMany(queries, { ...options, ...(thoughts === undefined ? {} : { thoughts }) });
  }

  config(): RetrieverConfig {
    const config: RetrieverConfig = { retriever: this.name, fusion: this.options.fusion, k: this.options.k, retrievers: this.members.map((member) => member.config()) };
    if (this.options.weights !== undefined) config.weights = [...this.options.weights];
    if (this.options.depth !== undefined) config.depth = this.options.depth;
    if (this.thinking.thinkerConfig !== undefined) config.thinker = { ...this.thinking.thinkerConfig };
    return config;
  }

  /** The members' statistics summed (timings, thought counts, cached documents). */
  statistics(): RetrieverStatistics {
    const timings: Record<string, number> = { thinkMs: this.thinking.thinkMs };
    let thoughts = this.thinking.statistics();
    let cachedDocuments: number | undefined;
    let documents = 0;
    const members = this.members.map((member) => member.statistics());
    for (const member of members) {
      documents = Math.max(documents, member.documents);
      for (const [name, value] of Object.entries(member.timings)) timings[name] = (timings[name] ?? 0) + value;
      if (member.thoughts !== undefined) thoughts = { generatedQueries: (thoughts?.generatedQueries ?? 0) + member.thoughts.generatedQueries, cachedQueries: (thoughts?.cachedQueries ?? 0) + member.thoughts.cachedQueries };
      if (member.cachedDocuments !== undefined) cachedDocuments = (cachedDocuments ?? 0) + member.cachedDocuments;
    }
    return { documents, timings, members, ...(thoughts === undefined ? {} : { thoughts }), ...(cachedDocuments === undefined ? {} : { cachedDocuments }) };
  }

  /** Disposes the members and the thinker. */
  async dispose(): Promise<void> {
    for (const member of this.members) await member.dispose();
    await this.thinking.dispose();
  }
}

/**
 * The names a fused retriever's members go by when searched alone: their retriever names,
 * numbered when repeated.
 *
 * @example
 * fusedMemberNames(new FusedRetriever([bm25, dense, otherDense])) // ['bm25', 'dense', 'dense-2']
 */
export function fusedMemberNames(retriever: FusedRetriever): string[] {
  const seen = new Map<string, number>();
  return retriever.members.map((member) => {
    const count = (seen.get(member.name) ?? 0) + 1;
    seen.set(member.name, count);
    return count === 1 ? member.name : `${member.name}-${count}`;
  });
}

/**
 * One member of a fused retriever as a Retriever of its own, named as {@link fusedMemberNames}
 * names it: searches go through {@link FusedRetriever.searchMember} (thinking as the fusion
 * does). Indexing goes through the fusion, so `index()` refuses; `dispose()` leaves the member
 * to the fusion that owns it.
 *
 * @example
 * const bm25 = new FusedMember(fused, 0, 'bm25');
 * await bm25.search('vitamin d', { hits: 10 });
 */
export class FusedMember implements Retriever {
  constructor(private readonly fused: FusedRetriever, private readonly position: number, readonly name: string) {
    if (fused.members[position] === undefined) throw new O1Error('BAD_ARGUMENT', `the fused retriever has ${fused.members.length} members, not a member ${position}`, { field: 'retrievers' });
  }

  async index(_documents: Iterable<Document> | AsyncIterable<Document>): Promise<void> {
    throw new O1Error('BAD_ARGUMENT', `'${this.name}' is a member of the fused retriever '${this.fused.name}': index the fusion instead`);
  }

  search(query: Query | string, options: SearchOptions = {}): Promise<Hit[]> {
    return searchOne(this, query, options);
  }

  searchMany(queries: readonly Query[], options: SearchOptions = {}): Promise<Map<string, Hit[]>> {
    return this.fused.searchMember(this.position, queries, options);
  }

  config(): RetrieverConfig {
    return this.fused.members[this.position].config();
  }

  statistics(): RetrieverStatistics {
    return this.fused.members[this.position].statistics();
  }

  async dispose(): Promise<void> {}
}
