/**
 * The data behind an evaluation report: per-system metrics computed by `evaluate` (the same
 * measures as `o1e eval`), per-query values, per-query differences against the first system,
 * the distribution of per-query nDCG@10 and each query's top hits with their judgements. Pure
 * and deterministic, so the page (./html.ts) is a rendering of it and tests can check it.
 */
import { REPORTED_MEASURES, REPORTED_MEASURE_REQUESTS, type ReportedMeasure } from '../evaluation/reported.js';
import type { Document, Qrels, Query, Run } from '../data/types.js';
import { O1Error } from '../errors.js';
import { compareIdsBytewise, evaluate, getEvaluationPreset, rankDocuments, type EvaluationPresetName, type MeasureRequest } from '../evaluation/index.js';

/** One system to report on. */
export interface ReportSystem {
  /** Shown in tables, legends and query details; unique among the systems. */
  name: string;
  /** Its TREC run (query id -> document id -> score). */
  run: Run;
  /** Optional thoughts the system embedded each query with (query id -> thoughts). */
  thoughts?: ReadonlyMap<string, readonly string[]>;
}

/** What {@link buildReportData} (and `buildReport`, `writeReport`) take. */
export interface ReportInput {
  /** One or more systems; the FIRST is the baseline the others are compared against. */
  systems: readonly ReportSystem[];
  /** The judgements; every judged query is reported. */
  qrels: Qrels;
  /** Query texts (queries without judgements are ignored). */
  queries: Iterable<Query>;
  /** The corpus, for the titles and snippets of the hits shown. Default: ids only. */
  corpus?: Iterable<Pick<Document, 'id' | 'title' | 'text'>>;
  /** Evaluation convention (src/evaluation/presets.ts). Default `anserini-beir`, as `o1e eval`. */
  preset?: EvaluationPresetName;
  /** Page title. Default `Retrieval evaluation`. */
  title?: string;
  /** A line under the title, e.g. `scifact test`. Default none. */
  description?: string;
  /** Hits shown per query and system. Default 10. */
  hitsShown?: number;
}

/** A reported measure: its trec_eval output name and the label the page shows. */
export type ReportMeasure = ReportedMeasure;

/** The measures of `o1e eval` (src/evaluation/reported.ts); the first drives the distribution and default comparison. */
export const REPORT_MEASURES = REPORTED_MEASURES;

/** The `evaluate` requests producing {@link REPORT_MEASURES}. */
export const REPORT_MEASURE_REQUESTS = REPORTED_MEASURE_REQUESTS;

/** A system's row of the metrics table. */
export interface SystemSummary {
  name: string;
  /** CSS colour used for the system in every chart. */
  color: string;
  /** measure name -> average, exactly `evaluate(...).all`. */
  metrics: Record<string, number>;
  /** The averaging denominator (`evaluate(...).queryCount`). */
  queryCount: number;
  /** Judged queries the run answered (`evaluate(...).queries.length`). */
  evaluatedQueries: number;
  /** Whether the system came with thoughts. */
  hasThoughts: boolean;
}

/** One hit as the page shows it: `[document id, score, judged relevance or null]`. */
export type ReportHit = [string, number, number | null];

/** Everything about one judged query. Arrays indexed by system follow `systems`' order. */
export interface ReportQuery {
  id: string;
  /** '' when the query is not in the queries given. */
  text: string;
  /** Documents judged relevant (relevance >= 1). */
  relevant: number;
  /** Per system: measure name -> value; null when the query was not evaluated for it (no `-c` and no hits). */
  values: Array<Record<string, number> | null>;
  /** Per system: its thoughts for the query, or null. */
  thoughts: Array<string[] | null>;
  /** Per system: the top `hitsShown` hits in trec_eval order. */
  hits: ReportHit[][];
  /** Per system: 1-based ranks of the relevant documents it retrieved (the best 20). */
  relevantRanks: number[][];
  /** Per system: how many relevant documents it retrieved at all. */
  relevantRetrieved: number[];
}

/** One query's difference between a system and the baseline. */
export interface QueryDifference {
  query: string;
  baseline: number;
  value: number;
  /** `value - baseline`. */
  delta: number;
}

/** One system against the baseline on one measure. */
export interface Comparison {
  /** The compared (non-first) system. */
  system: string;
  baseline: string;
  measure: string;
  /** Queries where `delta > 0`, `== 0` and `< 0`. */
  wins: number;
  ties: number;
  losses: number;
  /** Every query evaluated for both, by delta descending (biggest win first), ties by query id. */
  differences: QueryDifference[];
}

/** One bar of the nDCG@10 distribution. */
export interface HistogramBin {
  system: string;
  /** Bin index 0..9: [0, 0.1), ..., [0.9, 1.0] (the last one closed). */
  bin: number;
  label: string;
  count: number;
}

/** The report's data: what the page renders. */
export interface ReportData {
  title: string;
  description: string;
  preset: { name: EvaluationPresetName; description: string };
  measures: ReportMeasure[];
  hitsShown: number;
  systems: SystemSummary[];
  queries: ReportQuery[];
  /** Title and snippet of every document shown as a hit. */
  documents: Record<string, { title: string; snippet: string }>;
  /** For each non-first system, one per measure (in `measures` order). */
  comparisons: Comparison[];
  /** Per-query nDCG@10 in ten bins, every (system, bin) present. */
  histogram: HistogramBin[];
}

/** Tableau 10, the palette Vega uses by default, fixed per system so every chart agrees. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** Characters of document text kept as the snippet. */
const SNIPPET_LENGTH = 200;

/** Ranks of relevant documents listed per query and system. */
const LISTED_RELEVANT_RANKS = 20;

/** Number of bins of the nDCG@10 distribution. */
export const HISTOGRAM_BINS = 10;

/**
 * The bin of a per-query value in [0, 1]: ten bins of width 0.1, the last one closed so 1.0
 * falls in it.
 *
 * @example
 * histogramBin(0.3) // 3
 * histogramBin(1) // 9
 */
export function histogramBin(value: number): number {
  // A value meant as 0.6 may come out of arithmetic as 0.5999999999999999: a 1e-9 tolerance keeps it in 0.6's bin.
  return Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(Math.round(value * HISTOGRAM_BINS * 1e9) / 1e9)));
}

/**
 * Computes the report's data. Each system is evaluated with `evaluate(qrels, run, { preset,
 * measures: REPORT_MEASURE_REQUESTS })`, so the metrics are exactly those `o1e eval` prints.
 * Per-query values of a judged query that a system did not answer are 0 under a preset with
 * `-c` (as in the average) and null otherwise. Hits are ranked as trec_eval ranks them (with the
 * preset's removal of a document whose id is the query id).
 *
 * Throws `BAD_ARGUMENT` when there is no system, a name is empty or repeated, or `hitsShown` is
 * not a positive integer.
 *
 * @example
 * const data = buildReportData({ systems: [{ name: 'bm25', run }], qrels, queries })
 * data.systems[0].metrics.ndcg_cut_10 // evaluate(qrels, run, ...).all.ndcg_cut_10
 */
export function buildReportData(input: ReportInput): ReportData {
  const presetName = input.preset ?? 'anserini-beir';
  const preset = getEvaluationPreset(presetName);
  const hitsShown = input.hitsShown ?? 10;
  if (!Number.isInteger(hitsShown) || hitsShown < 1) throw new O1Error('BAD_ARGUMENT', `hitsShown must be a positive integer, got ${hitsShown}`, { field: 'hitsShown' });
  if (input.systems.length === 0) throw new O1Error('BAD_ARGUMENT', 'a report needs at least one system', { field: 'systems' });
  const names = new Set<string>();
  for (const system of input.systems) {
    if (system.name.trim() === '') throw new O1Error('BAD_ARGUMENT', 'a system name is empty', { field: 'systems' });
    if (names.has(system.name)) throw new O1Error('BAD_ARGUMENT', `system name '${system.name}' appears twice`, { field: 'systems' });
    names.add(system.name);
  }

  const evaluations = input.systems.map((system) => evaluate(input.qrels, system.run, { preset: presetName, measures: REPORT_MEASURE_REQUESTS }));
  const measureNames = REPORT_MEASURES.map((measure) => measure.name);
  const systems: SystemSummary[] = input.systems.map((system, index) => ({
    name: system.name,
    color: PALETTE[index % PALETTE.length],
    metrics: Object.fromEntries(measureNames.map((name) => [name, evaluations[index].all[name] ?? 0])),
    queryCount: evaluations[index].queryCount,
    evaluatedQueries: evaluations[index].queries.length,
    hasThoughts: system.thoughts !== undefined,
  }));

  const texts = new Map<string, string>();
  for (const query of input.queries) if (input.qrels.has(query.id)) texts.set(query.id, query.text);

  const shownDocuments = new Set<string>();
  const queries: ReportQuery[] = [...input.qrels.keys()].sort(compareIdsBytewise).map((queryId) => {
    const judgements = input.qrels.get(queryId) as Map<string, number>;
    let relevant = 0;
    for (const relevance of judgements.values()) if (relevance >= 1) relevant += 1;
    const report: ReportQuery = { id: queryId, text: texts.get(queryId) ?? '', relevant, values: [], thoughts: [], hits: [], relevantRanks: [], relevantRetrieved: [] };
    input.systems.forEach((system, index) => {
      const evaluated = evaluations[index].perQuery.get(measureNames[0])?.has(queryId) ?? false;
      report.values.push(evaluated || preset.complete
        ? Object.fromEntries(measureNames.map((name) => [name, evaluations[index].perQuery.get(name)?.get(queryId) ?? 0]))
        : null);
      const thoughts = system.thoughts?.get(queryId);
      report.thoughts.push(thoughts === undefined ? null : [...thoughts]);
      const scores = system.run.get(queryId);
      const ranked = scores === undefined ? { ids: [], scores: new Float32Array(0) } : rankDocuments(scores, preset.dropIdenticalIds ? queryId : undefined);
      const hits: ReportHit[] = [];
      for (let rank = 0; rank < Math.min(hitsShown, ranked.ids.length); rank++) {
        const documentId = ranked.ids[rank];
        shownDocuments.add(documentId);
        hits.push([documentId, scores?.get(documentId) as number, judgements.get(documentId) ?? null]);
      }
      report.hits.push(hits);
      const ranks: number[] = [];
      let retrieved = 0;
      ranked.ids.forEach((documentId, rank) => {
        if ((judgements.get(documentId) ?? 0) < 1) return;
        retrieved += 1;
        if (ranks.length < LISTED_RELEVANT_RANKS) ranks.push(rank + 1);
      });
      report.relevantRanks.push(ranks);
      report.relevantRetrieved.push(retrieved);
    });
    return report;
  });

  const documents: Record<string, { title: string; snippet: string }> = {};
  for (const document of input.corpus ?? []) {
    if (!shownDocuments.has(document.id)) continue;
    const text = document.text.replace(/\s+/g, ' ').trim();
    documents[document.id] = { title: document.title, snippet: text.length > SNIPPET_LENGTH ? `${text.slice(0, SNIPPET_LENGTH - 1)}…` : text };
  }

  const comparisons: Comparison[] = [];
  for (let index = 1; index < input.systems.length; index++) {
    for (const measure of measureNames) comparisons.push(compare(queries, index, measure, systems[0].name, systems[index].name));
  }

  const histogram: HistogramBin[] = [];
  systems.forEach((system, index) => {
    const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
    for (const query of queries) {
      const value = query.values[index]?.[measureNames[0]];
      if (value !== undefined) counts[histogramBin(value)] += 1;
    }
    counts.forEach((count, bin) => histogram.push({ system: system.name, bin, label: binLabel(bin), count }));
  });

  return {
    title: input.title ?? 'Retrieval evaluation',
    description: input.description ?? '',
    preset: { name: preset.name, description: preset.description },
    measures: REPORT_MEASURES.map((measure) => ({ ...measure })),
    hitsShown,
    systems,
    queries,
    documents,
    comparisons,
    histogram,
  };
}

/** System `index` against system 0 on `measure`, over the queries evaluated for both. */
function compare(queries: readonly ReportQuery[], index: number, measure: string, baseline: string, system: string): Comparison {
  const differences: QueryDifference[] = [];
  for (const query of queries) {
    const before = query.values[0]?.[measure];
    const after = query.values[index]?.[measure];
    if (before === undefined || after === undefined) continue;
    differences.push({ query: query.id, baseline: before, value: after, delta: after - before });
  }
  differences.sort((left, right) => right.delta - left.delta || compareIdsBytewise(left.query, right.query));
  const wins = differences.filter((difference) => difference.delta > 0).length;
  const losses = differences.filter((difference) => difference.delta < 0).length;
  return { system, baseline, measure, wins, ties: differences.length - wins - losses, losses, differences };
}

function binLabel(bin: number): string {
  return `${(bin / HISTOGRAM_BINS).toFixed(1)}–${((bin + 1) / HISTOGRAM_BINS).toFixed(1)}`;
}
