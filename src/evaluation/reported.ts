/**
 * The measures `o1e eval`, `evaluateRetriever` and the HTML reports print: nDCG@10, R@100,
 * R@1000 and MRR@10 (`recip_rank` under `-M 10`), by their trec_eval output names. The first is
 * the one per-query comparisons use by default.
 */
import type { MeasureRequest } from './evaluate.js';

/** A reported measure: its trec_eval output name and its label. */
export interface ReportedMeasure {
  name: string;
  label: string;
}

export const REPORTED_MEASURES: readonly ReportedMeasure[] = [
  { name: 'ndcg_cut_10', label: 'nDCG@10' },
  { name: 'recall_100', label: 'R@100' },
  { name: 'recall_1000', label: 'R@1000' },
  { name: 'recip_rank', label: 'MRR@10' },
];

/** The `evaluate` requests that produce {@link REPORTED_MEASURES}. */
export const REPORTED_MEASURE_REQUESTS: ReadonlyArray<string | MeasureRequest> = ['ndcg_cut.10', 'recall.100,1000', { measure: 'recip_rank', maxDocuments: 10 }];
