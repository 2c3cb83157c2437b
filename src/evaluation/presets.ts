/**
 * Named evaluation conventions. All use trec_eval 9.0.8 semantics for the measures themselves
 * (float32 scores, ties by docid descending, linear gain); they differ in which queries are
 * averaged and whether a document whose id equals the query id is dropped. See docs/evaluation.md.
 */
import { O1Error } from '../errors.js';

/** The options a preset fixes; explicit options passed to `evaluate` override them. */
export interface EvaluationPreset {
  /** Preset name. */
  name: EvaluationPresetName;
  /** One line on where the convention comes from. */
  description: string;
  /** trec_eval `-c`: average over every qrels query, a query missing from the run counting 0. */
  complete: boolean;
  /** Drop a retrieved document whose id equals the query id before evaluating. */
  dropIdenticalIds: boolean;
}

export type EvaluationPresetName = 'trec_eval' | 'anserini-beir' | 'beir' | 'mteb';

/**
 * The presets:
 * - `trec_eval` (default): plain `trec_eval` — average over queries in both qrels and run, keep every document.
 * - `anserini-beir`: Anserini's BEIR regressions — `trec_eval -c` and `-removeQuery`.
 * - `beir`: the BEIR toolkit — pytrec_eval (same measures), `ignore_identical_ids=True`, no `-c`.
 * - `mteb`: MTEB — pytrec_eval, identical ids kept, no `-c`.
 *
 * @example
 * EVALUATION_PRESETS['anserini-beir'].complete // true
 */
export const EVALUATION_PRESETS: Readonly<Record<EvaluationPresetName, EvaluationPreset>> = {
  trec_eval: {
    name: 'trec_eval',
    description: 'trec_eval 9.0.8 defaults: queries in both qrels and run, every document kept',
    complete: false,
    dropIdenticalIds: false,
  },
  'anserini-beir': {
    name: 'anserini-beir',
    description: "Anserini's BEIR regressions: trec_eval -c, documents whose id is the query id removed",
    complete: true,
    dropIdenticalIds: true,
  },
  beir: {
    name: 'beir',
    description: 'BEIR toolkit (pytrec_eval): documents whose id is the query id removed, no -c',
    complete: false,
    dropIdenticalIds: true,
  },
  mteb: {
    name: 'mteb',
    description: 'MTEB (pytrec_eval): every document kept, no -c',
    complete: false,
    dropIdenticalIds: false,
  },
};

/**
 * Looks a preset up by name; throws `BAD_ARGUMENT` naming the known ones.
 *
 * @example
 * getEvaluationPreset('beir').dropIdenticalIds // true
 */
export function getEvaluationPreset(name: string): EvaluationPreset {
  const preset = (EVALUATION_PRESETS as Record<string, EvaluationPreset | undefined>)[name];
  if (preset === undefined) {
    throw new O1Error('BAD_ARGUMENT', `unknown evaluation preset '${name}'; known: ${Object.keys(EVALUATION_PRESETS).join(', ')}`, { field: 'preset' });
  }
  return preset;
}
