/**
 * Evaluates a run against qrels with trec_eval 9.0.8 semantics (see docs/evaluation.md).
 */
import { O1Error } from '../errors.js';
import type { Qrels, Run } from '../data/types.js';
import {
  MEASURE_FAMILIES,
  RELEVANCE_NEGATIVE,
  RELEVANCE_NOT_JUDGED,
  computeMeasure,
  measureOutputNames,
  parseMeasure,
  type MeasureSpec,
  type QueryRelevance,
} from './measures.js';
import { getEvaluationPreset, type EvaluationPresetName } from './presets.js';
import { compareIdsBytewise, rankDocuments } from '../data/ranking.js';

/**
 * A measure with its own `-M` and/or `-l`, so one call can compute e.g. nDCG@10 on the full
 * ranking and MRR@10 (`recip_rank` under `-M 10`) together.
 */
export interface MeasureRequest {
  /** trec_eval measure syntax: `recip_rank`, `ndcg_cut.10`, `recall.100,1000`... */
  measure: string;
  /** Overrides {@link EvaluationOptions.maxDocuments} for this measure. */
  maxDocuments?: number;
  /** Overrides {@link EvaluationOptions.relevanceLevel} for this measure. */
  relevanceLevel?: number;
  /**
   * Output name, for a measure with one output (one cutoff or none). Default: the trec_eval
   * name (`recip_rank`). Needed when the same trec_eval name is requested twice with different
   * settings, which is an error otherwise.
   */
  name?: string;
}

/** Options of {@link evaluate}. Explicit options override the preset's. */
export interface EvaluationOptions {
  /** Measures in trec_eval syntax, or {@link MeasureRequest}s. At least one. */
  measures: ReadonlyArray<string | MeasureRequest>;
  /** Named convention supplying `complete` and `dropIdenticalIds`. Default `trec_eval`. */
  preset?: EvaluationPresetName;
  /** trec_eval `-c`: average over all qrels queries, missing ones counting 0. Default from the preset (false). */
  complete?: boolean;
  /** trec_eval `-l`: relevance >= this is relevant for binary measures (not nDCG gains). Default 1. */
  relevanceLevel?: number;
  /** trec_eval `-M`: cut each ranking to this many documents before every measure. Default: no cut. */
  maxDocuments?: number;
  /** Drop a document whose id equals the query id. Default from the preset (false). */
  dropIdenticalIds?: boolean;
}

/** What {@link evaluate} returns. */
export interface EvaluationResult {
  /** Output names (`ndcg_cut_10`, ...) in the order trec_eval prints them. */
  measures: string[];
  /**
   * Evaluated queries (in both qrels and run), in trec_eval's order (strcmp on the id). With
   * `complete`, qrels queries missing from the run are not listed: they count 0 in `all` only,
   * and trec_eval `-q` does not print them either.
   */
  queries: string[];
  /** measure name -> query id -> value, for the queries in `queries`. */
  perQuery: Map<string, Map<string, number>>;
  /** measure name -> average over `queryCount` queries. */
  all: Record<string, number>;
  /** The averaging denominator: `queries.length`, or the number of qrels queries with `complete`. */
  queryCount: number;
}

/** Measures that share one ranking cut (`-M`) and relevance level (`-l`). */
interface MeasureGroup {
  maxDocuments: number;
  relevanceLevel: number;
  measures: Array<{ spec: MeasureSpec; names: string[] }>;
}

/**
 * Evaluates `run` against `qrels` like trec_eval 9.0.8: each query ranked by score descending
 * compared as float32, ties by docid descending; linear-gain nDCG with the ideal over all judged
 * relevant documents; averages over queries present in both (or, with `complete`, over all
 * qrels queries). Run queries without qrels are ignored, and so is a run query with no documents
 * left (trec_eval cannot see a query without lines). Measures: `map`, `recip_rank`, `P.k`,
 * `recall.k`, `ndcg`, `ndcg_cut.k`, `map_cut.k`.
 *
 * A different `-M` for some measures: pass a {@link MeasureRequest}; rankings are sorted once
 * per query whatever the number of settings.
 *
 * Throws `UNKNOWN_MEASURE` or `BAD_ARGUMENT`. With no evaluated query every average is 0
 * (trec_eval refuses to run instead).
 *
 * @example
 * const result = evaluate(qrels, run, {
 *   preset: 'anserini-beir',
 *   measures: ['ndcg_cut.10', 'recall.100,1000', { measure: 'recip_rank', maxDocuments: 10, name: 'recip_rank_10' }],
 * })
 * result.all.ndcg_cut_10 // e.g. 0.6789
 * result.perQuery.get('recall_100')?.get('1')
 */
export function evaluate(qrels: Qrels, run: Run, options: EvaluationOptions): EvaluationResult {
  const preset = getEvaluationPreset(options.preset ?? 'trec_eval');
  const complete = options.complete ?? preset.complete;
  const dropIdenticalIds = options.dropIdenticalIds ?? preset.dropIdenticalIds;
  const { groups, names } = planMeasures(options);

  const queries = [...qrels.keys()].filter((queryId) => (run.get(queryId)?.size ?? 0) > 0).sort(compareIdsBytewise);
  const perQuery = new Map<string, Map<string, number>>(names.map((name) => [name, new Map()]));
  const sums = new Map<string, number>(names.map((name) => [name, 0]));
  const evaluated: string[] = [];

  for (const queryId of queries) {
    const judgements = qrels.get(queryId) as Map<string, number>;
    const ranked = rankDocuments(run.get(queryId) as Map<string, number>, dropIdenticalIds ? queryId : undefined);
    if (ranked.ids.length === 0) continue;
    evaluated.push(queryId);
    const relevance = new Int32Array(ranked.ids.length);
    for (let rank = 0; rank < relevance.length; rank++) {
      const judged = judgements.get(ranked.ids[rank]);
      relevance[rank] = judged === undefined ? RELEVANCE_NOT_JUDGED : judged < 0 ? RELEVANCE_NEGATIVE : judged;
    }
    const levelCounts = countLevels(judgements);
    for (const group of groups) {
      const query: QueryRelevance = { ranked: relevance.subarray(0, Math.min(group.maxDocuments, relevance.length)), levelCounts };
      for (const { spec, names: outputNames } of group.measures) {
        const values = computeMeasure(spec, query, group.relevanceLevel);
        for (let index = 0; index < outputNames.length; index++) {
          const name = outputNames[index];
          perQuery.get(name)?.set(queryId, values[index]);
          // Summed in trec_eval's query order so the average's rounding matches.
          sums.set(name, (sums.get(name) as number) + values[index]);
        }
      }
    }
  }

  const queryCount = complete ? qrels.size : evaluated.length;
  const all: Record<string, number> = {};
  for (const name of names) all[name] = queryCount === 0 ? 0 : (sums.get(name) as number) / queryCount;
  return { measures: names, queries: evaluated, perQuery, all, queryCount };
}

/** `levelCounts[level]`: judged documents at each level >= 0 (negative judgements are not counted, as in trec_eval). */
function countLevels(judgements: ReadonlyMap<string, number>): number[] {
  const counts: number[] = [];
  for (const relevance of judgements.values()) {
    if (relevance < 0) continue;
    while (counts.length <= relevance) counts.push(0);
    counts[relevance]++;
  }
  return counts;
}

/** Parses, validates and groups the requested measures; output names in trec_eval print order. */
function planMeasures(options: EvaluationOptions): { groups: MeasureGroup[]; names: string[] } {
  if (options.measures.length === 0) throw new O1Error('BAD_ARGUMENT', 'no measure requested', { field: 'measures' });
  const defaultMaxDocuments = checkMaxDocuments(options.maxDocuments ?? Infinity);
  const defaultRelevanceLevel = checkRelevanceLevel(options.relevanceLevel ?? 1);
  const groups: MeasureGroup[] = [];
  const outputs: Array<{ name: string; familyOrder: number; cutoff: number; requestOrder: number; group: MeasureGroup }> = [];
  options.measures.forEach((entry, requestOrder) => {
    const request: MeasureRequest = typeof entry === 'string' ? { measure: entry } : entry;
    const spec = parseMeasure(request.measure);
    const maxDocuments = request.maxDocuments === undefined ? defaultMaxDocuments : checkMaxDocuments(request.maxDocuments);
    const relevanceLevel = request.relevanceLevel === undefined ? defaultRelevanceLevel : checkRelevanceLevel(request.relevanceLevel);
    let outputNames = measureOutputNames(spec);
    if (request.name !== undefined) {
      if (outputNames.length !== 1) {
        throw new O1Error('BAD_ARGUMENT', `'${request.measure}' has ${outputNames.length} outputs; 'name' needs exactly one`, { field: request.name });
      }
      outputNames = [request.name];
    }
    let group = groups.find((candidate) => candidate.maxDocuments === maxDocuments && candidate.relevanceLevel === relevanceLevel);
    if (group === undefined) {
      group = { maxDocuments, relevanceLevel, measures: [] };
      groups.push(group);
    }
    const familyOrder = MEASURE_FAMILIES.indexOf(spec.family);
    const keptCutoffs: number[] = [];
    const keptNames: string[] = [];
    outputNames.forEach((name, index) => {
      const cutoff = spec.cutoffs[index] ?? 0;
      const existing = outputs.find((output) => output.name === name);
      if (existing !== undefined) {
        // The same measure asked twice with the same settings (-m P.10 -m P.5,10) is computed once.
        if (existing.group === group && existing.familyOrder === familyOrder && existing.cutoff === cutoff) return;
        throw new O1Error('BAD_ARGUMENT', `measure '${name}' requested twice with different settings; give one a 'name'`, { field: name });
      }
      outputs.push({ name, familyOrder, cutoff, requestOrder, group });
      keptCutoffs.push(cutoff);
      keptNames.push(name);
    });
    if (keptNames.length > 0) {
      group.measures.push({ spec: { family: spec.family, cutoffs: spec.cutoffs.length === 0 ? [] : keptCutoffs }, names: keptNames });
    }
  });
  outputs.sort((left, right) => left.familyOrder - right.familyOrder || left.cutoff - right.cutoff || left.requestOrder - right.requestOrder);
  return { groups, names: outputs.map((output) => output.name) };
}

function checkMaxDocuments(value: number): number {
  if (value !== Infinity && !(Number.isInteger(value) && value > 0)) {
    throw new O1Error('BAD_ARGUMENT', `maxDocuments must be a positive integer, got ${value}`, { field: 'maxDocuments' });
  }
  return value;
}

function checkRelevanceLevel(value: number): number {
  if (!Number.isInteger(value)) {
    throw new O1Error('BAD_ARGUMENT', `relevanceLevel must be an integer, got ${value}`, { field: 'relevanceLevel' });
  }
  return value;
}
