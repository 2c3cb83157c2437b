/**
 * Thoughts files: JSONL, one `{"query_id"?, "query"?, "thoughts": [text, ...]}` per line, the
 * layout of ../shared/thoughts (real LLM thoughts for BEIR test queries) and of `o1e synth`
 * outputs. One reader, used by the `file` thinker and by the reports.
 */
import { readLines } from './lines.js';
import { O1Error } from '../errors.js';

/** One validated line of a thoughts file. */
export interface ThoughtsLine {
  /** `query_id` as a string (a JSON number is accepted: BEIR ids sometimes are one). */
  queryId?: string;
  query?: string;
  thoughts: string[];
  /** 1-based line number. */
  line: number;
}

/**
 * The lines of a thoughts file, validated: blank lines skipped; malformed JSON is
 * MALFORMED_JSON, a `thoughts` that is not an array of strings or a `query`/`query_id` of the
 * wrong type MISSING_FIELD, a query id twice DUPLICATE_ID, each naming the file and line.
 * `onText` sees every raw line (blank ones too), e.g. to fingerprint the file in the same read.
 *
 * @example
 * for await (const { queryId, thoughts } of readThoughtsLines('scifact.test.gemini-2.0-flash-100.jsonl')) use(queryId, thoughts);
 */
export async function* readThoughtsLines(path: string, options: { onText?: (text: string) => void } = {}): AsyncGenerator<ThoughtsLine> {
  const ids = new Set<string>();
  for await (const { text, line } of readLines(path)) {
    options.onText?.(text);
    if (text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      throw new O1Error('MALFORMED_JSON', `malformed JSON: ${(error as Error).message}`, { file: path, line }, { cause: error });
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new O1Error('MALFORMED_JSON', 'a line must hold one JSON object', { file: path, line });
    const { query_id: rawId, query, thoughts } = record as { query_id?: unknown; query?: unknown; thoughts?: unknown };
    if (rawId !== undefined && typeof rawId !== 'string' && typeof rawId !== 'number') throw new O1Error('MISSING_FIELD', "'query_id' must be a string", { file: path, line, field: 'query_id' });
    if (query !== undefined && typeof query !== 'string') throw new O1Error('MISSING_FIELD', "'query' must be a string", { file: path, line, field: 'query' });
    if (!Array.isArray(thoughts) || !thoughts.every((thought) => typeof thought === 'string')) {
      throw new O1Error('MISSING_FIELD', "'thoughts' is missing or not an array of strings", { file: path, line, field: 'thoughts' });
    }
    const queryId = rawId === undefined ? undefined : String(rawId);
    if (queryId !== undefined) {
      if (ids.has(queryId)) throw new O1Error('DUPLICATE_ID', `query id '${queryId}' appears twice`, { file: path, line, field: 'query_id' });
      ids.add(queryId);
    }
    yield { queryId, query, thoughts: thoughts as string[], line };
  }
}
