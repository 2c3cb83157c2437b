/**
 * trec_eval's text output: `%-22s\t%s\t%6.4f` per line (measure, query id or `all`, value).
 */
import type { EvaluationResult } from './evaluate.js';

/**
 * Formats a value as C `printf("%6.4f")` does with glibc: the exact binary value rounded to 4
 * decimals, exact halves to even. `toFixed` rounds exact halves up, and halves do occur: they
 * are exactly the odd multiples of 1/32 (e.g. a reciprocal rank of 1/32 prints 0.0312).
 *
 * @example
 * formatTrecValue(1 / 32) // '0.0312'
 * formatTrecValue(0.66666) // '0.6667'
 */
export function formatTrecValue(value: number): string {
  const scaled = value * 32;
  // value * 32 is exact (a power of two), so this detects a value sitting exactly on a half.
  if (Number.isInteger(scaled) && scaled % 2 !== 0 && Math.abs(value) < 2 ** 40) {
    const tenThousandths = value * 10000; // exact: an odd multiple of 312.5
    const below = Math.floor(tenThousandths);
    const rounded = below % 2 === 0 ? below : below + 1;
    const sign = rounded < 0 ? '-' : '';
    const magnitude = Math.abs(rounded);
    const text = `${sign}${Math.floor(magnitude / 10000)}.${String(magnitude % 10000).padStart(4, '0')}`;
    return text.padStart(6);
  }
  return value.toFixed(4).padStart(6);
}

/**
 * One trec_eval output line.
 *
 * @example
 * formatTrecLine('P_10', 'all', 0.5) // 'P_10                  \tall\t0.5000'
 */
export function formatTrecLine(measure: string, queryId: string, value: number): string {
  return `${measure.padEnd(22)}\t${queryId}\t${formatTrecValue(value)}`;
}

/**
 * The lines trec_eval prints for a result: with `perQuery` (`-q`), every measure of each query
 * (queries in strcmp order, measures in trec_eval's table order), then the `all` lines.
 *
 * @example
 * formatTrecEvalOutput(evaluate(qrels, run, { measures: ['map'] }), { perQuery: true }).join('\n')
 */
export function formatTrecEvalOutput(result: EvaluationResult, options: { perQuery?: boolean } = {}): string[] {
  const lines: string[] = [];
  if (options.perQuery === true) {
    for (const queryId of result.queries) {
      for (const measure of result.measures) {
        lines.push(formatTrecLine(measure, queryId, result.perQuery.get(measure)?.get(queryId) ?? 0));
      }
    }
  }
  for (const measure of result.measures) lines.push(formatTrecLine(measure, 'all', result.all[measure]));
  return lines;
}
