/** Seeded corpora and readers of index folders for the persistent-index tests. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Document } from '../../src/data/types.js';
import { readVectorFile } from '../../src/stores/flat/vector-file.js';
import { seededRandom } from '../../src/util/random.js';

const WORDS = 'cat dog purr bark river stock market moon tide ocean sun bird tree house car road music song book paper rain snow garden kitchen'.split(' ');

/**
 * `count` documents `PREFIX0`, `PREFIX1`, ...: a title, twelve seeded words, the word `common`
 * (so one BM25 query finds them all) and a word of their own (`uniqPREFIXN`).
 */
export function seededDocuments(count: number, seed: number, prefix = 'd'): Document[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, index) => ({
    id: `${prefix}${index}`,
    title: `Note ${index} on ${WORDS[index % WORDS.length]}`,
    text: `${Array.from({ length: 12 }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')} common uniq${prefix}${index}.`,
  }));
}

/** The files of a published index version that must be byte-identical between equal builds. */
export async function versionFiles(index: string): Promise<{ version: string; documents: Buffer; documentIndex: Buffer; bm25: Buffer; vectors: Buffer; ids: readonly string[] }> {
  const version = (await readFile(join(index, 'CURRENT'), 'utf8')).trim();
  const directory = join(index, version);
  const vectorsPath = join(directory, 'dense-1', 'vectors.o1v');
  return {
    version,
    documents: await readFile(join(directory, 'documents.jsonl')),
    documentIndex: await readFile(join(directory, 'documents.idx')),
    bm25: await readFile(join(directory, 'bm25-0.index')),
    vectors: await readFile(vectorsPath),
    ids: (await readVectorFile(vectorsPath)).ids,
  };
}
