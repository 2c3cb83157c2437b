/**
 * Reads thoughts files: JSONL, one `{"query_id", "query"?, "thoughts": [text, ...]}` per line,
 * the format of ../shared/thoughts (real LLM thoughts for BEIR test queries).
 */
import { readLines } from '../data/lines.js';
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
  for await (const { text, line } of readLines(path)) {
    if (text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      throw new O1Error('MALFORMED_JSON', `malformed JSON: ${(error as Error).message}`, { file: path, line }, { cause: error });
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new O1Error('MALFORMED_JSON', 'a line must hold one JSON object', { file: path, line });
    const { query_id: rawId, thoughts: list } = record as { query_id?: unknown; thoughts?: unknown };
    const id = typeof rawId === 'number' ? String(rawId) : rawId;
    if (typeof id !== 'string' || id === '') throw new O1Error('MISSING_FIELD', "'query_id' is missing or not a string", { file: path, line, field: 'query_id' });
    if (!Array.isArray(list) || !list.every((thought) => typeof thought === 'string')) {
      throw new O1Error('MISSING_FIELD', "'thoughts' is missing or not an array of strings", { file: path, line, field: 'thoughts' });
    }
    if (thoughts.has(id)) throw new O1Error('DUPLICATE_ID', `query id '${id}' appears twice`, { file: path, line, field: 'query_id' });
    thoughts.set(id, list as string[]);
  }
  return thoughts;
}
