import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { O1Error } from '../errors.js';

/** One line of a text file with its 1-based line number. */
export interface NumberedLine {
  text: string;
  line: number;
}

/**
 * Streams a text file line by line (bounded memory on files of any length). Blank lines are
 * yielded too; callers decide whether they are allowed. A missing file is an O1Error naming it.
 *
 * @example
 * for await (const { text, line } of readLines('corpus.jsonl')) console.log(line, text)
 */
export async function* readLines(path: string): AsyncGenerator<NumberedLine> {
  if (!existsSync(path)) throw new O1Error('MISSING_FILE', 'file does not exist', { file: path });
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    // A BOM on the first line would otherwise corrupt the first id.
    yield { text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, line };
  }
}
