import { join } from 'node:path';
import { O1Error } from '../errors.js';
import { Progress } from '../util/progress.js';
import { writeLinesAtomic } from '../util/atomic-write.js';
import { readLines } from './lines.js';
import type { Document, Qrels, Query } from './types.js';

/** A BEIR dataset split held in memory: the corpus, the queries judged in the split, the qrels. */
export interface BeirSplit {
  corpus: Document[];
  queries: Query[];
  qrels: Qrels;
}

/** Options for {@link loadBeir}. */
export interface LoadBeirOptions {
  /** No progress output and no warnings on stderr. Default false. */
  quiet?: boolean;
  /** Receives warnings (e.g. qrels naming unknown documents). Default: stderr unless quiet. */
  onWarning?: (message: string) => void;
}

/** Options for {@link readCorpus} and {@link readQueries}. */
export interface ReadJsonlOptions {
  /** No warnings on stderr. Default false. */
  quiet?: boolean;
  /** Receives warnings (NaN/Infinity read as null in metadata). Default: stderr unless quiet. */
  onWarning?: (message: string) => void;
}

/** The non-finite number literals Python's `json` writes (`allow_nan=True`, its default). */
const NON_FINITE_TOKENS = ['-Infinity', 'Infinity', 'NaN'] as const;

/**
 * Stands in for a non-finite literal so JSON.parse can read the line: a string no real data
 * holds (a NUL and a per-process nonce), numbered to map each occurrence back to its token.
 */
const SENTINEL_NONCE = `o1e-non-finite-${Math.random().toString(36).slice(2)}-`;
/** The sentinel's start as JSON.parse returns it (a NUL character, then the nonce)... */
const SENTINEL_PREFIX = `\u0000${SENTINEL_NONCE}`;
/** ...and as written into JSON text, where a NUL must be escaped. */
const SENTINEL_PREFIX_JSON = `\\u0000${SENTINEL_NONCE}`;

function isIdentifierCharacter(character: string | undefined): boolean {
  return character !== undefined && /[A-Za-z0-9_$]/.test(character);
}

/**
 * `text` with every bare NaN, Infinity and -Infinity outside string literals replaced by a
 * numbered sentinel string; `tokens[k]` is the literal sentinel k replaced. Strings are skipped
 * with their escapes, so `"NaN"` and `"a \"NaN\""` stay as they are.
 */
function replaceNonFiniteTokens(text: string): { text: string; tokens: string[] } {
  const tokens: string[] = [];
  let output = '';
  let copiedUpTo = 0;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === '"') {
      for (index++; index < text.length && text[index] !== '"'; index++) if (text[index] === '\\') index++;
      continue;
    }
    if (character !== 'N' && character !== 'I' && character !== '-') continue;
    const token = NON_FINITE_TOKENS.find((candidate) => text.startsWith(candidate, index));
    if (token === undefined || isIdentifierCharacter(text[index - 1]) || isIdentifierCharacter(text[index + token.length])) continue;
    output += `${text.slice(copiedUpTo, index)}"${SENTINEL_PREFIX_JSON}${tokens.length}"`;
    tokens.push(token);
    index += token.length - 1;
    copiedUpTo = index + 1;
  }
  return { text: output + text.slice(copiedUpTo), tokens };
}

/**
 * Replaces the sentinels under `value` by null in place, calling `found(path, token)` for each;
 * returns the value (a sentinel itself becomes null).
 */
function restoreNonFinite(value: unknown, path: string, tokens: readonly string[], found: (path: string, token: string) => void): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith(SENTINEL_PREFIX)) return value;
    found(path, tokens[Number(value.slice(SENTINEL_PREFIX.length))] ?? 'NaN');
    return null;
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) value[index] = restoreNonFinite(value[index], `${path}[${index}]`, tokens, found);
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = restoreNonFinite(record[key], path === '' ? key : `${path}.${key}`, tokens, found);
  }
  return value;
}

/**
 * Parses one JSONL line into an object. Python's `json` writes NaN, Infinity and -Infinity,
 * which JSON (and JSON.parse) forbid: inside `metadata` they are read as null and counted (the
 * caller warns once per file); anywhere else the line is MALFORMED_JSON naming file, line and
 * field. Only lines JSON.parse refuses take the slower tolerant path.
 */
function parseJsonLine(text: string, file: string, line: number): { record: Record<string, unknown>; nonFinite: number } {
  let value: unknown;
  let nonFinite = 0;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const malformed = () => new O1Error('MALFORMED_JSON', `malformed JSON: ${(error as Error).message}`, { file, line }, { cause: error });
    const replaced = replaceNonFiniteTokens(text);
    if (replaced.tokens.length === 0) throw malformed();
    try {
      value = JSON.parse(replaced.text);
    } catch {
      throw malformed();
    }
    restoreNonFinite(value, '', replaced.tokens, (path, token) => {
      if (path !== 'metadata' && !path.startsWith('metadata.') && !path.startsWith('metadata[')) {
        throw new O1Error('MALFORMED_JSON', `${token} is not JSON (accepted only inside metadata, as null)`, { file, line, field: path === '' ? undefined : path });
      }
      nonFinite += 1;
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new O1Error('MALFORMED_JSON', 'a line must hold one JSON object', { file, line });
  }
  return { record: value as Record<string, unknown>, nonFinite };
}

/** The warning sink of a reader: `onWarning`, else stderr unless quiet. */
function warningSink(options: ReadJsonlOptions): (message: string) => void {
  return options.onWarning ?? ((message: string) => { if (!options.quiet) process.stderr.write(`warning: ${message}\n`); });
}

/** Parses a file's JSONL lines (blank ones skipped), then warns once about NaN/Infinity in metadata. */
async function* readJsonObjects(path: string, options: ReadJsonlOptions): AsyncGenerator<{ record: Record<string, unknown>; line: number }> {
  let nonFinite = 0;
  try {
    for await (const { text, line } of readLines(path)) {
      if (text.trim().length === 0) continue;
      const parsed = parseJsonLine(text, path, line);
      nonFinite += parsed.nonFinite;
      yield { record: parsed.record, line };
    }
  } finally {
    // In `finally`, so a consumer that stops early still hears about the values it read.
    if (nonFinite > 0) warningSink(options)(`${path}: ${nonFinite} NaN/Infinity value(s) in metadata read as null (JSON has no such numbers; Python's json writes them)`);
  }
}

function requireString(record: Record<string, unknown>, field: string, file: string, line: number): string {
  const value = record[field];
  // BEIR ids are sometimes written as JSON numbers; their text is the id.
  if (field === '_id' && typeof value === 'number') return String(value);
  if (typeof value !== 'string') {
    throw new O1Error('MISSING_FIELD', `'${field}' is missing or not a string`, { file, line, field });
  }
  if (field === '_id' && value.length === 0) throw new O1Error('MISSING_FIELD', "'_id' is empty", { file, line, field });
  return value;
}

function optionalMetadata(record: Record<string, unknown>): Record<string, unknown> | undefined {
  const metadata = record.metadata;
  return metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata)
    ? (metadata as Record<string, unknown>)
    : undefined;
}

/**
 * Streams a BEIR `corpus.jsonl`: one `{"_id", "title"?, "text", "metadata"?}` per line. Blank
 * lines are skipped. Errors name the file and line: malformed JSON, a missing `_id` or `text`,
 * a duplicate `_id` (ids are remembered, documents are not, so memory stays bounded). NaN,
 * Infinity and -Infinity (written by Python's json) are read as null inside `metadata`, with
 * one warning per file giving their count, and refused anywhere else.
 *
 * @example
 * for await (const document of readCorpus('scifact/corpus.jsonl')) console.log(document.id)
 */
export async function* readCorpus(path: string, options: ReadJsonlOptions = {}): AsyncGenerator<Document> {
  const seen = new Set<string>();
  for await (const { record, line } of readJsonObjects(path, options)) {
    const id = requireString(record, '_id', path, line);
    const body = requireString(record, 'text', path, line);
    const title = record.title === undefined || record.title === null ? '' : record.title;
    if (typeof title !== 'string') throw new O1Error('MISSING_FIELD', "'title' is not a string", { file: path, line, field: 'title' });
    if (seen.has(id)) throw new O1Error('DUPLICATE_ID', `document id '${id}' appears twice`, { file: path, line, field: '_id' });
    seen.add(id);
    const metadata = optionalMetadata(record);
    yield metadata === undefined ? { id, title, text: body } : { id, title, text: body, metadata };
  }
}

/**
 * Streams a BEIR `queries.jsonl`: one `{"_id", "text", "metadata"?}` per line, with the same
 * checks (and the same NaN/Infinity handling in `metadata`) as {@link readCorpus}.
 *
 * @example
 * for await (const query of readQueries('scifact/queries.jsonl')) console.log(query.text)
 */
export async function* readQueries(path: string, options: ReadJsonlOptions = {}): AsyncGenerator<Query> {
  const seen = new Set<string>();
  for await (const { record, line } of readJsonObjects(path, options)) {
    const id = requireString(record, '_id', path, line);
    const body = requireString(record, 'text', path, line);
    if (seen.has(id)) throw new O1Error('DUPLICATE_ID', `query id '${id}' appears twice`, { file: path, line, field: '_id' });
    seen.add(id);
    const metadata = optionalMetadata(record);
    yield metadata === undefined ? { id, text: body } : { id, text: body, metadata };
  }
}

/**
 * Reads BEIR qrels (`qrels/<split>.tsv`): a header line (`query-id corpus-id score`), then
 * tab-separated `query-id corpus-id score` with an integer score. Errors name file and line:
 * a wrong column count, a non-integer score, the same (query, document) pair twice.
 *
 * @example
 * const qrels = await readBeirQrels('scifact/qrels/test.tsv')
 * qrels.get('1')?.get('31715818') // 1
 */
export async function readBeirQrels(path: string): Promise<Qrels> {
  const qrels: Qrels = new Map();
  for await (const { text, line } of readLines(path)) {
    if (text.trim().length === 0) continue;
    const columns = text.split('\t');
    if (line === 1 && !/^-?\d+$/.test((columns[2] ?? '').trim())) continue; // the header line
    if (columns.length !== 3) {
      throw new O1Error('MALFORMED_LINE', `expected 3 tab-separated columns (query-id, corpus-id, score), got ${columns.length}`, { file: path, line });
    }
    const [queryId, documentId, scoreText] = columns.map((column) => column.trim()) as [string, string, string];
    if (!/^-?\d+$/.test(scoreText)) {
      throw new O1Error('BAD_RELEVANCE', `relevance '${scoreText}' is not an integer`, { file: path, line, field: 'score' });
    }
    let judged = qrels.get(queryId);
    if (judged === undefined) qrels.set(queryId, (judged = new Map()));
    if (judged.has(documentId)) {
      throw new O1Error('DUPLICATE_ID', `query '${queryId}' judges document '${documentId}' twice`, { file: path, line });
    }
    judged.set(documentId, Number.parseInt(scoreText, 10));
  }
  return qrels;
}

/**
 * Loads a BEIR split into memory as BEIR's loader does: the whole corpus, and only the queries
 * that have qrels in the split. Qrels naming documents absent from the corpus produce one
 * warning with their count (they stay in the qrels: they still count as relevant and unretrieved).
 *
 * @param directory a BEIR folder with `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv`
 * @param split e.g. `test` (default) or `train`
 * @example
 * const { corpus, queries, qrels } = await loadBeir('../shared/datasets/scifact', 'test')
 */
export async function loadBeir(directory: string, split = 'test', options: LoadBeirOptions = {}): Promise<BeirSplit> {
  const warn = warningSink(options);
  const qrelsPath = join(directory, 'qrels', `${split}.tsv`);
  const qrels = await readBeirQrels(qrelsPath);
  const progress = new Progress({ label: 'loading corpus', unit: 'docs', quiet: options.quiet ?? false });
  const corpus: Document[] = [];
  const documentIds = new Set<string>();
  for await (const document of readCorpus(join(directory, 'corpus.jsonl'), { onWarning: warn })) {
    corpus.push(document);
    documentIds.add(document.id);
    progress.tick();
  }
  progress.finish();
  const queries: Query[] = [];
  for await (const query of readQueries(join(directory, 'queries.jsonl'), { onWarning: warn })) {
    if (qrels.has(query.id)) queries.push(query);
  }
  let unknownDocuments = 0;
  for (const judged of qrels.values()) for (const documentId of judged.keys()) if (!documentIds.has(documentId)) unknownDocuments += 1;
  if (unknownDocuments > 0) warn(`${qrelsPath}: ${unknownDocuments} judgements name documents that are not in the corpus`);
  const missingQueries = qrels.size - queries.length;
  if (missingQueries > 0) warn(`${qrelsPath}: ${missingQueries} judged queries are not in queries.jsonl`);
  return { corpus, queries, qrels };
}

/**
 * Writes a BEIR `corpus.jsonl` atomically.
 *
 * @example
 * await writeCorpus('out/corpus.jsonl', [{ id: 'd1', title: 'T', text: 'body' }])
 */
export async function writeCorpus(path: string, documents: Iterable<Document> | AsyncIterable<Document>): Promise<void> {
  await writeLinesAtomic(path, mapAsync(documents, (document) => JSON.stringify(
    document.metadata === undefined
      ? { _id: document.id, title: document.title, text: document.text }
      : { _id: document.id, title: document.title, text: document.text, metadata: document.metadata },
  )));
}

/**
 * Writes a BEIR `queries.jsonl` atomically.
 *
 * @example
 * await writeQueries('out/queries.jsonl', [{ id: 'q1', text: 'what is bm25' }])
 */
export async function writeQueries(path: string, queries: Iterable<Query> | AsyncIterable<Query>): Promise<void> {
  await writeLinesAtomic(path, mapAsync(queries, (query) => JSON.stringify(
    query.metadata === undefined ? { _id: query.id, text: query.text } : { _id: query.id, text: query.text, metadata: query.metadata },
  )));
}

/**
 * Writes BEIR qrels (header line, then tab-separated rows) atomically.
 *
 * @example
 * await writeBeirQrels('out/qrels/test.tsv', new Map([['q1', new Map([['d1', 1]])]]))
 */
export async function writeBeirQrels(path: string, qrels: Qrels): Promise<void> {
  await writeLinesAtomic(path, (function* () {
    yield 'query-id\tcorpus-id\tscore';
    for (const [queryId, judged] of qrels) for (const [documentId, relevance] of judged) yield `${queryId}\t${documentId}\t${relevance}`;
  })());
}

async function* mapAsync<T, U>(items: Iterable<T> | AsyncIterable<T>, transform: (item: T) => U): AsyncGenerator<U> {
  for await (const item of items) yield transform(item);
}
