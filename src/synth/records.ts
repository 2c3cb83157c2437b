/**
 * Training records in the official JSONL schema (o1-method.md §4):
 * `{"query": str, "pos": [str], "neg": [str], "thought"?: str, "all_thought"?: [str], ...}`.
 * Unknown keys are kept and written back in their original order.
 */
import { O1Error } from '../errors.js';
import { readLines } from '../data/lines.js';

export interface TrainingRecord {
  query: string;
  pos: string[];
  neg?: string[];
  thought?: string;
  all_thought?: string[];
  model2scores?: Record<string, number[]>;
  /** Teacher scores of `pos` and `neg` (one each); with them joint training adds a distillation term. */
  pos_scores?: number[];
  neg_scores?: number[];
  [key: string]: unknown;
}

/** A record with its 1-based line in the file (for error messages and warnings). */
export interface NumberedRecord {
  record: TrainingRecord;
  line: number;
}

export interface ReadRecordsOptions {
  /** Also require a non-empty `all_thought` array of strings (input of `synth vote`). Default false. */
  requireCandidates?: boolean;
}

/**
 * Reads and validates every record before any work starts, so a bad line fails fast with an
 * O1Error naming the file and line (MALFORMED_JSON, MISSING_FIELD) and nothing is half done.
 * Blank lines are skipped.
 *
 * @example
 * const records = await readTrainingRecords('train.jsonl'); // [{ record: { query, pos, neg }, line: 1 }, ...]
 */
export async function readTrainingRecords(path: string, options: ReadRecordsOptions = {}): Promise<NumberedRecord[]> {
  const records: NumberedRecord[] = [];
  for await (const { text, line } of readLines(path)) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new O1Error('MALFORMED_JSON', (error as Error).message, { file: path, line }, { cause: error });
    }
    records.push({ record: validateRecord(value, path, line, options), line });
  }
  return records;
}

function validateRecord(value: unknown, file: string, line: number, options: ReadRecordsOptions): TrainingRecord {
  const missing = (field: string, message: string) => new O1Error('MISSING_FIELD', message, { file, line, field });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw missing('query', 'a record must be a JSON object');
  const record = value as Record<string, unknown>;
  if (typeof record.query !== 'string' || record.query.trim() === '') throw missing('query', '"query" must be a non-empty string');
  if (!Array.isArray(record.pos) || record.pos.length === 0 || !record.pos.every((passage) => typeof passage === 'string')) {
    throw missing('pos', '"pos" must be a non-empty array of strings');
  }
  if (record.neg !== undefined && (!Array.isArray(record.neg) || !record.neg.every((passage) => typeof passage === 'string'))) {
    throw missing('neg', '"neg" must be an array of strings');
  }
  if (record.pos_scores !== undefined || record.neg_scores !== undefined) {
    const negatives = Array.isArray(record.neg) ? record.neg.length : 0;
    for (const [field, count] of [['pos_scores', record.pos.length], ['neg_scores', negatives]] as const) {
      const scores = record[field] ?? (field === 'neg_scores' && negatives === 0 ? [] : undefined);
      if (!Array.isArray(scores) || scores.length !== count || !scores.every((score) => typeof score === 'number' && Number.isFinite(score))) {
        throw missing(field, `teacher scores need "pos_scores" and "neg_scores" together, finite numbers, one per passage (${field}: ${count} expected)`);
      }
    }
  }
  if (options.requireCandidates) {
    const candidates = record.all_thought;
    if (!Array.isArray(candidates) || candidates.length === 0 || !candidates.every((thought) => typeof thought === 'string')) {
      throw missing('all_thought', '"all_thought" must be a non-empty array of strings (run `o1e synth explore` first)');
    }
  }
  return record as TrainingRecord;
}
