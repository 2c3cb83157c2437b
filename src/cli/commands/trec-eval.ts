import { O1Error } from '../../errors.js';
import { readQrels, readRun } from '../../data/trec.js';
import { evaluate } from '../../evaluation/evaluate.js';
import { formatTrecEvalOutput } from '../../evaluation/format.js';
import { MEASURE_FAMILIES } from '../../evaluation/measures.js';
import type { Command } from '../command.js';
import { parseCommandLine } from '../arguments.js';

const USAGE = `usage: o1e trec-eval [-q] [-c] [-l N] [-M N] -m MEASURE[.k,k...] [-m ...] QRELS RUN

Evaluates a TREC run against TREC qrels and prints exactly what trec_eval 9.0.8 prints
(measure padded to 22, TAB, query id or 'all', TAB, value with 4 decimals).

options:
  -m, --measure MEASURE          measure to compute; repeatable; required (no default set).
                                 One of: ${MEASURE_FAMILIES.join(', ')}; cutoff measures take
                                 '.k,k...' (default cutoffs 5,10,15,20,30,100,200,500,1000).
                                 Cutoffs of one measure given in several -m are merged.
  -q, --query_eval_wanted        print per-query values before the averages
  -c, --complete_rel_info_wanted average over all qrels queries (missing ones count 0)
  -l, --level_for_rel N          relevance >= N is relevant for binary measures (default 1)
  -M, --Max_retrieved_per_topic N  evaluate only the top N documents of each query
`;

/** `o1e trec-eval`: a trec_eval 9.0.8 work-alike for the measures this package supports. */
export const trecEvalCommand: Command = {
  name: 'trec-eval',
  summary: 'evaluate a TREC run against qrels, printing what trec_eval 9.0.8 prints',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    const measures = values.measure ?? [];
    if (measures.length === 0) {
      throw new O1Error('BAD_ARGUMENT', `at least one -m MEASURE is required (one of ${MEASURE_FAMILIES.join(', ')})`, { field: '-m' });
    }
    if (positionals.length !== 2) {
      throw new O1Error('BAD_ARGUMENT', `expected QRELS and RUN, got ${positionals.length} file arguments\n${USAGE}`);
    }
    const [qrelsPath, runPath] = positionals;
    const relevanceLevel = parseInteger(values.level_for_rel, '-l');
    const maxDocuments = parseInteger(values.Max_retrieved_per_topic, '-M');
    const qrels = await readQrels(qrelsPath);
    // Like trec_eval, never look at run queries without judgements (not even for duplicates).
    const run = await readRun(runPath, { queries: qrels });
    const result = evaluate(qrels, run, {
      measures,
      complete: values.complete_rel_info_wanted === true,
      relevanceLevel,
      maxDocuments,
    });
    if (result.queries.length === 0) {
      // trec_eval exits with an error here too, rather than printing averages of nothing.
      throw new O1Error('BAD_ARGUMENT', 'no queries with both results and relevance info', { file: runPath });
    }
    const lines = formatTrecEvalOutput(result, { perQuery: values.query_eval_wanted === true });
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};

const OPTIONS = {
    measure: { type: 'string', short: 'm', multiple: true },
    query_eval_wanted: { type: 'boolean', short: 'q' },
    complete_rel_info_wanted: { type: 'boolean', short: 'c' },
    level_for_rel: { type: 'string', short: 'l' },
    Max_retrieved_per_topic: { type: 'string', short: 'M' },
  } as const;

function parseInteger(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(text)) throw new O1Error('BAD_ARGUMENT', `${option} expects an integer, got '${text}'`, { field: option });
  return Number(text);
}
