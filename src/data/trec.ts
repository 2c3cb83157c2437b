/**
 * TREC qrels (`qid 0 docid rel`) and run (`qid Q0 docid rank score tag`) files: streaming
 * readers (one line in memory at a time; only the resulting maps are held) and atomic writers.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { O1Error } from '../errors.js';
import { rankHits } from './ranking.js';
import type { Qrels, Run } from './types.js';

const WHITESPACE = /\s+/;
const INTEGER = /^[+-]?\d+$/;

/**
 * Reads a TREC qrels file into `qid -> docid -> relevance`. Columns are whitespace separated;
 * the second (iteration) column is ignored; blank lines are skipped.
 *
 * Throws {@link O1Error} with the file and 1-based line: `MALFORMED_LINE` (not 4 columns),
 * `BAD_RELEVANCE` (relevance not an integer), `DUPLICATE_ID` (a document judged twice for one
 * query, which trec_eval also rejects), `MISSING_FILE`.
 *
 * @example
 * const qrels = await readQrels('../shared/fixtures/trec_eval/scifact.test.qrels')
 * qrels.get('1')?.get('31715818') // 1
 */
export async function readQrels(path: string): Promise<Qrels> {
  const qrels: Qrels = new Map();
  await forEachLine(path, (line, lineNumber) => {
    const fields = splitFields(line);
    if (fields === undefined) return;
    if (fields.length !== 4) {
      throw new O1Error('MALFORMED_LINE', `expected 4 columns 'qid 0 docid rel', found ${fields.length}`, { file: path, line: lineNumber });
    }
    const [queryId, , documentId, relevanceText] = fields;
    if (!INTEGER.test(relevanceText)) {
      throw new O1Error('BAD_RELEVANCE', `relevance '${relevanceText}' is not an integer`, { file: path, line: lineNumber });
    }
    let judgements = qrels.get(queryId);
    if (judgements === undefined) {
      judgements = new Map();
      qrels.set(queryId, judgements);
    }
    if (judgements.has(documentId)) {
      throw new O1Error('DUPLICATE_ID', `document '${documentId}' is judged twice for query '${queryId}'`, { file: path, line: lineNumber });
    }
    judgements.set(documentId, Number.parseInt(relevanceText, 10));
  });
  return qrels;
}

/**
 * Reads a TREC run file into `qid -> docid -> score`. The `Q0`, rank and tag columns are ignored
 * (trec_eval re-ranks by score); blank lines are skipped. Scores keep full double precision;
 * the evaluator rounds them to float32 as trec_eval 9.0.8 does.
 *
 * Throws {@link O1Error} with the file and 1-based line: `MALFORMED_LINE` (not 6 columns),
 * `BAD_SCORE` (score not a finite number), `DUPLICATE_DOCUMENT_IN_RUN` (in a kept query),
 * `MISSING_FILE`.
 *
 * `options.queries` (default: all) keeps only the queries it has, e.g. the qrels: trec_eval
 * never looks at a run query without judgements, so a duplicate there is no error to it either.
 *
 * @example
 * const run = await readRun('runs/bm25.run', { queries: qrels })
 * run.get('1')?.get('4380004') // 2.0438546043314534
 */
export async function readRun(path: string, options: ReadRunOptions = {}): Promise<Run> {
  const { queries } = options;
  const run: Run = new Map();
  await forEachLine(path, (line, lineNumber) => {
    const fields = splitFields(line);
    if (fields === undefined) return;
    if (fields.length !== 6) {
      throw new O1Error('MALFORMED_LINE', `expected 6 columns 'qid Q0 docid rank score tag', found ${fields.length}`, { file: path, line: lineNumber });
    }
    const [queryId, , documentId, , scoreText] = fields;
    const score = Number(scoreText);
    if (!Number.isFinite(score)) {
      throw new O1Error('BAD_SCORE', `score '${scoreText}' is not a finite number`, { file: path, line: lineNumber });
    }
    if (queries !== undefined && !queries.has(queryId)) return;
    let scores = run.get(queryId);
    if (scores === undefined) {
      scores = new Map();
      run.set(queryId, scores);
    }
    if (scores.has(documentId)) {
      throw new O1Error('DUPLICATE_DOCUMENT_IN_RUN', `document '${documentId}' appears twice for query '${queryId}'`, { file: path, line: lineNumber });
    }
    scores.set(documentId, score);
  });
  return run;
}

/** Options of {@link readRun}. */
export interface ReadRunOptions {
  /** Keep only queries for which `queries.has(id)` (a `Set`, or a `Qrels` map). Default: all. */
  queries?: { has(queryId: string): boolean };
}

/** Options of {@link writeRun}. */
export interface WriteRunOptions {
  /** The run tag written in the last column (no whitespace). */
  tag: string;
  /** Keep only the best `maxHits` documents per query. Default: all. */
  maxHits?: number;
}

/**
 * Writes a run as `qid Q0 docid rank score tag` lines: queries in the map's order, documents in
 * trec_eval order (score descending as float32, ties by docid descending), rank from 1, scores
 * printed in full precision (shortest round-trip form). Atomic: writes `path.tmp-PID`, then
 * renames it over `path`, so a crash never leaves a half-written run.
 *
 * @example
 * await writeRun('runs/bm25.run', run, { tag: 'bm25', maxHits: 1000 })
 */
export async function writeRun(path: string, run: Run, options: WriteRunOptions): Promise<void> {
  const { tag, maxHits = Infinity } = options;
  if (tag.length === 0 || WHITESPACE.test(tag)) {
    throw new O1Error('BAD_ARGUMENT', `run tag '${tag}' must be non-empty without whitespace`, { file: path, field: 'tag' });
  }
  await writeAtomically(path, function* () {
    for (const [queryId, scores] of run) {
      checkToken(queryId, path, 'query id');
      const hits = rankHits(scores, maxHits);
      const lines: string[] = new Array(hits.length);
      for (let rank = 0; rank < hits.length; rank++) {
        const { id, score } = hits[rank];
        checkToken(id, path, 'document id');
        if (!Number.isFinite(score)) throw new O1Error('BAD_SCORE', `score of '${id}' for query '${queryId}' is ${score}`, { file: path });
        lines[rank] = `${queryId} Q0 ${id} ${rank + 1} ${score} ${tag}\n`;
      }
      yield lines.join('');
    }
  });
}

/**
 * Writes qrels as `qid 0 docid rel` lines, queries and documents in the maps' order. Atomic like
 * {@link writeRun}.
 *
 * @example
 * await writeQrels('scifact.test.qrels', qrels)
 */
export async function writeQrels(path: string, qrels: Qrels): Promise<void> {
  await writeAtomically(path, function* () {
    for (const [queryId, judgements] of qrels) {
      checkToken(queryId, path, 'query id');
      let chunk = '';
      for (const [documentId, relevance] of judgements) {
        checkToken(documentId, path, 'document id');
        if (!Number.isInteger(relevance)) throw new O1Error('BAD_RELEVANCE', `relevance ${relevance} of '${documentId}' is not an integer`, { file: path });
        chunk += `${queryId} 0 ${documentId} ${relevance}\n`;
      }
      yield chunk;
    }
  });
}

/** Splits a line into fields; undefined for a blank line. */
function splitFields(line: string): string[] | undefined {
  const trimmed = line.trim();
  return trimmed.length === 0 ? undefined : trimmed.split(WHITESPACE);
}

/** Ids with whitespace would silently shift columns when read back. */
function checkToken(token: string, file: string, what: string): void {
  if (token.length === 0 || WHITESPACE.test(token)) {
    throw new O1Error('BAD_ARGUMENT', `${what} '${token}' must be non-empty without whitespace`, { file });
  }
}

async function forEachLine(path: string, handle: (line: string, lineNumber: number) => void): Promise<void> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      handle(line, lineNumber);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new O1Error('MISSING_FILE', 'no such file', { file: path }, { cause: error });
    }
    throw error;
  } finally {
    lines.close();
    stream.destroy();
  }
}

async function writeAtomically(path: string, chunks: () => Iterable<string>): Promise<void> {
  const temporaryPath = `${path}.tmp-${process.pid}`;
  const stream = createWriteStream(temporaryPath, { encoding: 'utf8' });
  // An error emitted while no `once` is waiting must not crash the process; `once` still sees it.
  let streamError: unknown;
  stream.on('error', (error) => { streamError ??= error; });
  try {
    await once(stream, 'open');
    for (const chunk of chunks()) {
      if (streamError !== undefined) throw streamError;
      // Respect backpressure so a million-line run is not buffered whole in memory.
      if (!stream.write(chunk)) await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'close');
    if (streamError !== undefined) throw streamError;
    await rename(temporaryPath, path);
  } catch (error) {
    stream.destroy();
    await unlink(temporaryPath).catch(() => undefined);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new O1Error('MISSING_FILE', 'the folder to write in does not exist', { file: path }, { cause: error });
    }
    throw error;
  }
}
