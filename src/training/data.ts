/**
 * Reading training data: joint records (the official JSONL schema, every line validated before
 * any work starts) and plain text for pre-training (BEIR corpus.jsonl or text files).
 */
import { readFile } from 'node:fs/promises';
import { readCorpus } from '../data/beir.js';
import { O1Error } from '../errors.js';
import { documentText } from '../o1/layout.js';
import { readTrainingRecords } from '../synth/records.js';
import type { JointRecord } from './batches.js';

/**
 * Reads joint training records from JSONL files. Beyond the schema checks of
 * readTrainingRecords (a non-empty `query`, a non-empty `pos` array of strings, `neg` strings),
 * every record needs a non-empty `thought` string, and no positive may be empty. Any bad line
 * throws an O1Error naming the file and line before anything is trained or written.
 *
 * @example
 * const records = await readJointRecords(['train.jsonl']);
 */
export async function readJointRecords(paths: readonly string[], options: { requireThought?: boolean } = {}): Promise<JointRecord[]> {
  const records: JointRecord[] = [];
  const requireThought = options.requireThought ?? true;
  for (const file of paths) {
    for (const { record, line } of await readTrainingRecords(file)) {
      if (requireThought && (typeof record.thought !== 'string' || record.thought.trim() === '')) {
        throw new O1Error('MISSING_FIELD', '"thought" must be a non-empty string (run `o1e synth` to add thoughts)', { file, line, field: 'thought' });
      }
      if (record.pos.some((passage) => passage.trim() === '')) throw new O1Error('MISSING_FIELD', '"pos" holds an empty passage', { file, line, field: 'pos' });
      // Empty negatives are dropped, with their teacher scores.
      const kept = (record.neg ?? []).map((passage, index) => ({ passage, index })).filter(({ passage }) => passage.trim() !== '');
      const neg = kept.map(({ passage }) => passage);
      const scored = record.pos_scores === undefined ? {} : { posScores: record.pos_scores, negScores: kept.map(({ index }) => (record.neg_scores ?? [])[index]) };
      // Without thoughts (contrastive mode) every query row is the query-only layout.
      records.push({ query: record.query, pos: record.pos, neg, thought: requireThought ? (record.thought as string) : '', file, line, ...scored });
    }
  }
  if (records.length === 0) throw new O1Error('MISSING_FIELD', 'no training records', { file: paths.join(', ') });
  return records;
}

/**
 * The pool that pads groups with too few negatives: the passages (`title text`) of the given
 * BEIR corpora, or, without corpora, every distinct `pos` and `neg` passage of the records.
 *
 * @example
 * const pool = await passagePool(records, ['scifact/corpus.jsonl']);
 */
export async function passagePool(records: readonly JointRecord[], corpora: readonly string[]): Promise<string[]> {
  const pool = new Set<string>();
  if (corpora.length > 0) {
    for (const file of corpora) for await (const document of readCorpus(file)) {
      const text = documentText(document);
      if (text !== '') pool.add(text);
    }
  } else {
    for (const record of records) for (const passage of [...record.pos, ...record.neg]) pool.add(passage);
  }
  return [...pool];
}

/**
 * Texts for pre-training: from a `.jsonl` file each BEIR document's `title text`; from any other
 * file each paragraph (blocks separated by blank lines). Empty texts are skipped.
 *
 * @example
 * const texts = await readPretrainTexts(['../shared/datasets/scifact/corpus.jsonl', 'notes.txt']);
 */
export async function readPretrainTexts(paths: readonly string[]): Promise<string[]> {
  const texts: string[] = [];
  for (const file of paths) {
    if (file.endsWith('.jsonl')) {
      for await (const document of readCorpus(file)) {
        const text = documentText(document);
        if (text !== '') texts.push(text);
      }
      continue;
    }
    let content: string;
    try {
      content = await readFile(file, 'utf8');
    } catch (error) {
      throw new O1Error('MISSING_FILE', 'cannot read the text file', { file }, { cause: error });
    }
    for (const paragraph of content.split(/\r?\n\s*\r?\n/)) {
      const text = paragraph.trim();
      if (text !== '') texts.push(text);
    }
  }
  if (texts.length === 0) throw new O1Error('MISSING_FIELD', 'the pre-training files hold no text', { file: paths.join(', ') });
  return texts;
}
