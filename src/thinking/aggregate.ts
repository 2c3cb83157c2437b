/**
 * O1 Embedder's query side for any embedder (o1-method.md §3): each query + thought embedded
 * and L2-normalised by the embedder, the query vector their plain mean (not re-normalised
 * unless asked); a query without thoughts gets its plain query embedding. One definition, used
 * by the dense retriever, the thinking embedder of the adapters and the server.
 */
import type { Embedder, EmbeddingUsage } from '../backends/embedder.js';
import { O1Error } from '../errors.js';
import { meanVector } from '../util/vectors.js';

/** Aggregation settings. */
export interface AggregationOptions {
  /** Average the query-only vector in with the query + thought vectors. Default false. */
  includeQueryOnly?: boolean;
  /** L2-normalise the mean. Default false (the official code does not). */
  renormalize?: boolean;
}

/**
 * The plain mean of per-thought vectors (each already L2-normalised), not re-normalised unless
 * `renormalize`, optionally with the query-only vector averaged in.
 *
 * @example
 * aggregateThoughtVectors([a, b, c]) // (a + b + c) / 3, norm <= 1
 */
export function aggregateThoughtVectors(vectors: readonly Float32Array[], options: { queryOnly?: Float32Array; renormalize?: boolean } = {}): Float32Array {
  const all = options.queryOnly === undefined ? vectors : [...vectors, options.queryOnly];
  if (all.length === 0) throw new O1Error('BAD_ARGUMENT', 'no thought vectors to aggregate');
  return meanVector(all, { renormalize: options.renormalize });
}

/**
 * Query vectors from queries and their thoughts (thoughts[q] empty or undefined: no thinking
 * for that query), with one embedder call for everything.
 *
 * @example
 * const { vectors } = await embedQueriesWithThoughts(embedder, ['what causes tides'], [['The moon.', 'Gravity.']]);
 */
export async function embedQueriesWithThoughts(
  embedder: Embedder,
  queries: readonly string[],
  thoughts: readonly (readonly string[] | undefined)[],
  options: AggregationOptions & { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ vectors: Float32Array[]; usage: EmbeddingUsage }> {
  const inputs: { text: string; thought?: string }[] = [];
  const owners: number[] = [];
  queries.forEach((text, index) => {
    const list = thoughts[index] ?? [];
    if (list.length === 0 || options.includeQueryOnly === true) {
      inputs.push({ text });
      owners.push(index);
    }
    for (const thought of list) {
      inputs.push({ text, thought });
      owners.push(index);
    }
  });
  const embedded = await embedder.embedQueries(inputs, { signal: options.signal, onProgress: options.onProgress });
  const groups: Float32Array[][] = queries.map(() => []);
  owners.forEach((owner, position) => groups[owner].push(embedded.vectors[position]));
  const vectors = groups.map((group, index) => ((thoughts[index] ?? []).length === 0 ? group[0] : aggregateThoughtVectors(group, { renormalize: options.renormalize })));
  return { vectors, usage: embedded.usage };
}
