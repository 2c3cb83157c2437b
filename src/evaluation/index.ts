/** Evaluation: trec_eval 9.0.8 measures, ranking order, presets and trec_eval-style output. */
export { evaluate, type EvaluationOptions, type EvaluationResult, type MeasureRequest } from './evaluate.js';
export {
  MEASURE_FAMILIES,
  computeMeasure,
  countRelevant,
  measureOutputNames,
  parseMeasure,
  type MeasureFamily,
  type MeasureSpec,
  type QueryRelevance,
} from './measures.js';
export { EVALUATION_PRESETS, getEvaluationPreset, type EvaluationPreset, type EvaluationPresetName } from './presets.js';
// The trec_eval order lives with the run files it orders (data); re-exported here for evaluation users.
export { compareIdsBytewise, rankDocuments, rankHits, type RankedList } from '../data/ranking.js';
export { formatTrecEvalOutput, formatTrecLine, formatTrecValue } from './format.js';
// Evaluation as a library call: what `o1e eval --json` prints, for any retriever config.
export { evaluateRetriever, type EvaluateRetrieverOptions, type EvaluationReport, type EvaluationResults } from './evaluate-retriever.js';
export { REPORTED_MEASURES, REPORTED_MEASURE_REQUESTS, type ReportedMeasure } from './reported.js';
