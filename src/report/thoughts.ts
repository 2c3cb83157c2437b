/**
 * Reads thoughts files: JSONL, one `{"query_id", "query"?, "thoughts": [text, ...]}` per line,
 * the format of ../shared/thoughts (real LLM thoughts for BEIR test queries).
 */
import { readThoughtsLines } from '../data/thoughts.js';
import { O1Error } from '../errors.js';

/**
 * Reads a thoughts file into query id -> thoughts. Blank lines are skipped; `query_id` may be a
 * string or a JSON number (BEIR ids sometimes are). Errors name the file and line: malformed
 * JSON (`MALFORMED_JSON`), a missing `query_id` or a `thoughts` that is not an array of strings
 * (`MISSING_FIELD`), a query id twice (`DUPLICATE_ID`), a missing file (`MISSING_FILE`).
 *
 * @example
 * const thoughts = await readThoughts('../shared/thoughts/scifact.test.gemini-2.0-flash-100.jsonl')
 * thoughts.get('1')?.[0] // "..."
 */
export async function readThoughts(path: string): Promise<Map<string, string[]>> {
  const thoughts = new Map<string, string[]>();
  for await (const entry of readThoughtsLines(path)) {
    if (entry.queryId === undefined || entry.queryId === '') throw new O1Error('MISSING_FIELD', "'query_id' is missing or not a string", { file: path, line: entry.line, field: 'query_id' });
    thoughts.set(entry.queryId, entry.thoughts);
  }
  return thoughts;
}
