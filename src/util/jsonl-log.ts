/**
 * Append-only JSONL files that a crash may leave with a torn last line (the caches of thoughts
 * and document vectors): reading them drops such a line and repairs the file atomically, while
 * any other bad line is an error naming the file and line.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { O1Error } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';

/**
 * The parsed lines of an append-only JSONL file (none when it does not exist), with their
 * 1-based line numbers. A last line without its newline (a write torn by a crash) is dropped and
 * the file rewritten without it; any other line that is not JSON is an O1Error MALFORMED_JSON.
 *
 * @example
 * for (const { value, line } of await readAppendedJsonl('thoughts.jsonl', 'thought cache')) check(value, line);
 */
export async function readAppendedJsonl(path: string, what: string): Promise<{ value: unknown; line: number }[]> {
  if (!existsSync(path)) return [];
  const text = await readFile(path, 'utf8');
  const lines = text.split('\n');
  const complete = text.endsWith('\n') || text.length === 0;
  // The last element is '' after a final newline, or a torn line without one.
  const tail = lines.pop() ?? '';
  const values: { value: unknown; line: number }[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      values.push({ value: JSON.parse(line), line: index + 1 });
    } catch (error) {
      throw new O1Error('MALFORMED_JSON', `${what} line is not JSON: ${(error as Error).message}`, { file: path, line: index + 1 }, { cause: error });
    }
  });
  if (!complete && tail.trim() !== '') await writeFileAtomic(path, lines.filter((line) => line.trim() !== '').map((line) => `${line}\n`).join(''));
  return values;
}
