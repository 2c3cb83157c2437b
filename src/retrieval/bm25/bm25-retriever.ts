import type { Document, Hit, Query } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import { Progress } from '../../util/progress.js';
import { createAnalyzer, type Analyzer } from '../analyzer/index.js';
import type { ThinkerConfig } from '../../backends/thinker.js';
import { THINKING_DEFAULTS } from '../../thinking/defaults.js';
import { fuseRankings } from '../fusion/fuse.js';
import { DEFAULT_HITS, searchOne, type IndexOptions, type Retriever, type RetrieverConfig, type RetrieverStatistics, type SearchOptions } from '../retriever.js';
import { RetrieverThinking } from '../thinking.js';
import { readIndexFile, writeIndexFile } from './index-file.js';
import { InvertedIndex, InvertedIndexBuilder, type Bm25Parameters } from './inverted-index.js';

/** Settings of a {@link Bm25Retriever}; also its registry config (with `retriever: 'bm25'`). */
export interface Bm25Options {
  /** Default 0.9 (Anserini's BEIR setting). */
  k1?: number;
  /** Default 0.4 (Anserini's BEIR setting). */
  b?: number;
  /** Analyzer name. Default `english` (Lucene's EnglishAnalyzer). */
  analyzer?: string;
  /** Think before searching: the query is searched as query + thoughts. Default none. */
  thinker?: ThinkerConfig;
  /**
   * Times the query text is repeated before the thoughts, so long thoughts do not drown it
   * (query2doc repeats it 5 times). Default 1.
   */
  queryWeight?: number;
  /**
   * Weight of the query-only ranking fused (RRF, k 60) with the thinking ranking (weight 1);
   * 0 (default) searches with query + thoughts only.
   */
  queryOnlyWeight?: number;
}

/** Search options of {@link Bm25Retriever}. */
export interface Bm25SearchOptions extends SearchOptions {
  /** Order ties by id ascending with strictly decreasing scores, as Anserini does. Default true. */
  adjustTies?: boolean;
}

/** Index statistics, in Lucene's terms. */
export interface Bm25Statistics {
  documentCount: number;
  /** Distinct terms. */
  termCount: number;
  /** Term occurrences over all documents (sumTotalTermFreq). */
  totalTermCount: number;
  postingCount: number;
}

/**
 * BM25 as Anserini runs it on BEIR: a flat field (title + " " + text) analyzed by Lucene's
 * EnglishAnalyzer, Lucene's BM25Similarity with one-byte length norms, each query term
 * occurrence a SHOULD clause. Matches Anserini's BEIR regressions to the fourth decimal.
 *
 * @example
 * const bm25 = new Bm25Retriever(); // k1 0.9, b 0.4, english analyzer
 * await bm25.index(corpus);
 * const hits = bm25.search({ id: 'q1', text: 'vitamin d and covid' }, { hits: 10 });
 * await bm25.save('scifact.bm25');
 * const again = await Bm25Retriever.load('scifact.bm25');
 */
export class Bm25Retriever implements Retriever {
  readonly name = 'bm25';
  readonly parameters: Bm25Parameters;
  readonly analyzerName: string;
  readonly queryWeight: number;
  readonly queryOnlyWeight: number;
  readonly thinking: RetrieverThinking;
  private readonly analyzer: Analyzer;
  private inverted: InvertedIndex | undefined;
  private searchMs = 0;

  constructor(options: Bm25Options = {}) {
    const k1 = options.k1 ?? 0.9;
    const b = options.b ?? 0.4;
    if (typeof k1 !== 'number' || !Number.isFinite(k1) || k1 < 0) throw new O1Error('BAD_ARGUMENT', `k1 must be a number >= 0, got ${String(k1)}`, { field: 'k1' });
    if (typeof b !== 'number' || !(b >= 0 && b <= 1)) throw new O1Error('BAD_ARGUMENT', `b must be a number in [0, 1], got ${String(b)}`, { field: 'b' });
    this.parameters = { k1, b };
    this.analyzerName = options.analyzer ?? 'english';
    this.analyzer = createAnalyzer(this.analyzerName);
    this.queryWeight = options.queryWeight ?? THINKING_DEFAULTS.queryWeight;
    this.queryOnlyWeight = options.queryOnlyWeight ?? THINKING_DEFAULTS.queryOnlyWeight;
    if (!(Number.isInteger(this.queryWeight) && this.queryWeight >= 1)) throw new O1Error('BAD_ARGUMENT', `queryWeight must be an integer >= 1, got ${String(this.queryWeight)}`, { field: 'queryWeight' });
    if (!(typeof this.queryOnlyWeight === 'number' && this.queryOnlyWeight >= 0 && Number.isFinite(this.queryOnlyWeight))) throw new O1Error('BAD_ARGUMENT', `queryOnlyWeight must be a number >= 0, got ${String(this.queryOnlyWeight)}`, { field: 'queryOnlyWeight' });
    this.thinking = new RetrieverThinking(options.thinker);
  }

  /**
   * The text BM25 searches for a query with thoughts: the query `queryWeight` times, then the
   * thoughts, joined by spaces (the query alone when there are none).
   *
   * @example
   * new Bm25Retriever({ queryWeight: 2 }).thinkingText('vitamin d', ['Vitamin D and covid.']) // 'vitamin d vitamin d Vitamin D and covid.'
   */
  thinkingText(query: string, thoughts: readonly string[] | undefined): string {
    if (thoughts === undefined || thoughts.length === 0) return query;
    return [...Array.from({ length: this.queryWeight }, () => query), ...thoughts].join(' ');
  }

  /** The text BM25 indexes for a document: Anserini's flat field. */
  static documentText(document: Document): string {
    return document.title ? `${document.title} ${document.text}` : document.text;
  }

  async index(documents: Iterable<Document> | AsyncIterable<Document>, options: IndexOptions = {}): Promise<void> {
    if (options.prepareThinker !== false) await this.thinking.prepare();
    const total = options.total ?? (Array.isArray(documents) ? documents.length : undefined);
    const progress = new Progress({ label: 'bm25 index', total, unit: 'docs', quiet: options.quiet });
    const builder = new InvertedIndexBuilder();
    const terms: string[] = [];
    const collect = (term: string): void => {
      terms.push(term);
    };
    const add = (document: Document): void => {
      terms.length = 0;
      if (this.analyzer.forEachTerm !== undefined) this.analyzer.forEachTerm(Bm25Retriever.documentText(document), collect);
      else terms.push(...this.analyzer.analyze(Bm25Retriever.documentText(document)));
      builder.add(document.id, terms);
      progress.tick();
    };
    if (Symbol.iterator in documents) for (const document of documents) add(document);
    else for await (const document of documents) add(document);
    progress.finish();
    this.inverted = new InvertedIndex(builder.finish(), this.parameters);
  }

  /**
   * Hits for a query, best first; default 1000 hits, `removeQuery` false, `adjustTies` true.
   *
   * With `adjustTies`, equal scores are ordered by document id ascending and each later one is
   * lowered by one float32 step, as Anserini's ScoreTiesAdjusterReranker does: any evaluator
   * then keeps that order (trec_eval would otherwise sort ties by id descending). NFCorpus,
   * with its many duplicate abstracts, needs it to reach Anserini's 0.3218 nDCG@10 (0.3206
   * without). Without it, scores are Lucene's exactly and ties keep index order.
   */
  async search(query: Query | string, options: Bm25SearchOptions = {}): Promise<Hit[]> {
    return searchOne(this, query, options);
  }

  async searchMany(queries: readonly Query[], options: Bm25SearchOptions = {}): Promise<Map<string, Hit[]>> {
    this.requireIndex();
    const thoughts = await this.thinking.thoughtsFor(queries, options, 'bm25 think');
    const started = performance.now();
    const results = new Map<string, Hit[]>();
    queries.forEach((query, index) => {
      const queryThoughts = thoughts[index];
      const exclude = options.removeQuery === true ? query.id : undefined;
      let hits = this.rank(this.thinkingText(query.text, queryThoughts), exclude, options);
      if (queryThoughts !== undefined && queryThoughts.length > 0 && this.queryOnlyWeight > 0) {
        const depth = Math.max(options.hits ?? DEFAULT_HITS, DEFAULT_HITS);
        const queryOnly = this.rank(query.text, exclude, { ...options, hits: depth });
        const thinking = hits.length >= depth ? hits : this.rank(this.thinkingText(query.text, queryThoughts), exclude, { ...options, hits: depth });
        hits = fuseRankings([queryOnly, thinking], { weights: [this.queryOnlyWeight, 1], hits: options.hits ?? DEFAULT_HITS });
      }
      results.set(query.id, queryThoughts === undefined ? hits : hits.map((hit) => ({ ...hit, thoughts: [...queryThoughts] })));
    });
    this.searchMs += Math.round(performance.now() - started);
    return results;
  }

  /**
   * The BM25 ranking of one query text (no thinking), best first, without the document
   * `excludeId` when given. Synchronous: the index is in memory.
   *
   * @example
   * bm25.rank('vitamin d and covid', undefined, { hits: 10 })
   */
  rank(text: string, excludeId: string | undefined, options: Bm25SearchOptions = {}): Hit[] {
    const inverted = this.requireIndex();
    const termCounts = new Map<string, number>();
    for (const term of this.analyzer.analyze(text)) termCounts.set(term, (termCounts.get(term) ?? 0) + 1);
    const excluded = excludeId === undefined ? -1 : inverted.documentNumber(excludeId) ?? -1;
    const { documents, scores } = inverted.search(termCounts, options.hits ?? DEFAULT_HITS, excluded);
    const ids = inverted.data.documentIds;
    const hits: Hit[] = new Array(documents.length);
    for (let index = 0; index < documents.length; index++) hits[index] = { id: ids[documents[index]], score: scores[index] };
    if (options.adjustTies ?? true) adjustTies(hits);
    return hits;
  }

  config(): RetrieverConfig {
    const config: RetrieverConfig = { retriever: this.name, k1: this.parameters.k1, b: this.parameters.b, analyzer: this.analyzerName };
    if (this.thinking.thinkerConfig !== undefined) {
      config.thinker = { ...this.thinking.thinkerConfig };
      config.queryWeight = this.queryWeight;
      config.queryOnlyWeight = this.queryOnlyWeight;
    }
    return config;
  }

  /** Index counts, search and thinking time, thought counts. */
  statistics(): RetrieverStatistics & Partial<Bm25Statistics> {
    const timings = { searchMs: this.searchMs, thinkMs: this.thinking.thinkMs };
    const thoughts = this.thinking.statistics();
    const base = { documents: this.inverted?.documentCount ?? 0, timings, ...(thoughts === undefined ? {} : { thoughts }) };
    return this.inverted === undefined ? base : { ...base, ...this.indexStatistics() };
  }

  /** Releases the thinker, if any. */
  async dispose(): Promise<void> {
    await this.thinking.dispose();
  }

  /** Counts of the current index. */
  indexStatistics(): Bm25Statistics {
    const inverted = this.requireIndex();
    return {
      documentCount: inverted.documentCount,
      termCount: inverted.termCount,
      totalTermCount: inverted.data.totalTermCount,
      postingCount: inverted.data.postingDocuments.length,
    };
  }

  /** Saves the index (and the parameters and analyzer) to one file, atomically. */
  async save(path: string): Promise<void> {
    const inverted = this.requireIndex();
    await writeIndexFile(path, inverted.data, {
      parameters: this.parameters,
      analyzer: this.analyzerName,
      totalTermCount: inverted.data.totalTermCount,
      nonEmptyDocumentCount: inverted.data.nonEmptyDocumentCount,
    });
  }

  /**
   * Loads an index saved by {@link save}, with the parameters it was saved with unless
   * `options` overrides k1 or b (norms do not depend on them, so any values are exact); the
   * thinking settings (thinker, queryWeight, queryOnlyWeight) may be given too.
   */
  static async load(path: string, options: Omit<Bm25Options, 'analyzer'> = {}): Promise<Bm25Retriever> {
    const { data, metadata } = await readIndexFile(path);
    const retriever = new Bm25Retriever({ ...metadata.parameters, ...options, analyzer: metadata.analyzer });
    retriever.inverted = new InvertedIndex(data, retriever.parameters);
    return retriever;
  }

  private requireIndex(): InvertedIndex {
    if (this.inverted === undefined) throw new O1Error('BAD_ARGUMENT', 'the BM25 retriever has no index: call index() or Bm25Retriever.load() first');
    return this.inverted;
  }
}

/**
 * Anserini's tie handling on hits sorted by score: ties ordered by id ascending (Java's
 * String.compareTo, i.e. UTF-16 order), then scores made strictly decreasing by float32 steps.
 */
function adjustTies(hits: Hit[]): void {
  for (let start = 0; start < hits.length;) {
    let end = start + 1;
    while (end < hits.length && hits[end].score === hits[start].score) end++;
    if (end - start > 1) {
      const group = hits.slice(start, end).sort((left, right) => (left.id < right.id ? -1 : left.id > right.id ? 1 : 0));
      for (let index = start; index < end; index++) hits[index] = group[index - start];
    }
    start = end;
  }
  for (let index = 1; index < hits.length; index++) {
    const previous = hits[index - 1].score;
    if (hits[index].score >= previous) hits[index] = { id: hits[index].id, score: nextFloat32Down(previous) };
  }
}

const floatScratch = new Float32Array(1);
const bitsScratch = new Int32Array(floatScratch.buffer);

/** The largest float32 below `value` (a finite float32). */
function nextFloat32Down(value: number): number {
  if (value === 0) return -1.401298464324817e-45;
  floatScratch[0] = value;
  bitsScratch[0] += value > 0 ? -1 : 1;
  return floatScratch[0];
}
