/**
 * Changing a built index: adding documents (`o1e index add`) and deleting them by id
 * (`o1e index delete`). Each publishes a new version in which BM25 (rebuilt from the stored
 * documents) and the vectors (upserted into or deleted from each store) agree. Both are
 * resumable like a build, and re-running one that finished changes nothing.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLines } from '../data/lines.js';
import type { Document } from '../data/types.js';
import { O1Error } from '../errors.js';
import type { VectorStoreConfig } from '../stores/vector-store.js';
import { assembleVersion } from './assemble.js';
import { checkBatchSize, readCorpusFile } from './build.js';
import { readDocuments } from './documents.js';
import { canonicalJson, sha256 } from './durable.js';
import { DOCUMENTS_FILE, isIndexFolder, versionPath } from './layout.js';
import type { IndexManifest } from './manifest.js';
import { embedParts, stopwatch, type IndexOperationReport } from './operation.js';
import { planParts } from './parts.js';
import { IndexWriter } from './writer.js';

/** Options shared by {@link addToIndex} and {@link deleteFromIndex}. */
export interface UpdateOptions {
  /** Settings merged into database store configs (a connection string with its password). */
  store?: Partial<VectorStoreConfig>;
  /** No progress bars. Default false. */
  quiet?: boolean;
}

/** Options of {@link addToIndex}: the documents, from a corpus file or in memory. */
export interface AddToIndexOptions extends UpdateOptions {
  /** A BEIR corpus.jsonl of new documents. */
  corpus?: string;
  /** New documents (instead of `corpus`). */
  documents?: readonly Document[];
  /** Documents per embedding batch. Default 64. */
  batchSize?: number;
}

/** Options of {@link deleteFromIndex}: the ids, from a file (one per line) or in memory. */
export interface DeleteFromIndexOptions extends UpdateOptions {
  /** A file of ids, one per line (blank lines skipped). */
  idsFile?: string;
  ids?: readonly string[];
}

/** The 1-based line of `id` in a corpus file (for DUPLICATE_ID messages), if found. */
async function lineOfId(path: string, id: string): Promise<number | undefined> {
  for await (const { text, line } of readLines(path)) {
    if (text.trim() === '') continue;
    try {
      const record = JSON.parse(text) as { _id?: unknown };
      if (String(record._id) === id) return line;
    } catch {
      // readCorpus already accepted the file; a line JSON.parse refuses holds NaN in metadata.
    }
  }
  return undefined;
}

/** Opens a writer on an existing index, refusing a folder that is not one (or not built yet). */
async function beginUpdate(index: string, store: Partial<VectorStoreConfig> | undefined): Promise<IndexWriter & { manifest: IndexManifest; current: number }> {
  if (!existsSync(index) || !isIndexFolder(index)) throw new O1Error('MISSING_FILE', 'not an index folder (no CURRENT): build it with o1e index first', { file: index });
  const writer = await IndexWriter.begin(index, store);
  if (writer.current === undefined || writer.manifest === undefined) {
    await writer.release();
    throw new O1Error('MISSING_FILE', 'the index has not been published yet: its build was interrupted; re-run the o1e index command that builds it', { file: index });
  }
  return writer as IndexWriter & { manifest: IndexManifest; current: number };
}

function noChange(writer: IndexWriter & { manifest: IndexManifest }, operation: 'add' | 'delete', timings: Record<string, number>, extra: Partial<IndexOperationReport> = {}): IndexOperationReport {
  return { index: writer.index, operation, version: writer.manifest.version, upToDate: true, resumed: false, documents: writer.manifest.corpus.documents, parts: writer.manifest.parts.map((part) => ({ name: part.name, kind: part.kind })), timings, ...extra };
}

/**
 * Adds documents to an index: embeds them for the dense parts (journaled: a killed run
 * resumes), rebuilds BM25 from all documents, upserts the vectors, publishes a new version. An
 * id already in the index, or twice in the new documents, is DUPLICATE_ID (naming file:line
 * for a corpus file) and nothing is written; an embedder whose identity or dimension differs
 * from the index's is INDEX_MISMATCH.
 *
 * @example
 * await addToIndex('scifact.index', { corpus: 'new.jsonl' });
 */
export async function addToIndex(index: string, options: AddToIndexOptions): Promise<IndexOperationReport> {
  const clock = stopwatch();
  if ((options.corpus === undefined) === (options.documents === undefined)) throw new O1Error('BAD_ARGUMENT', 'give a corpus file or documents (one of them)', { field: 'corpus' });
  const batchSize = checkBatchSize(options.batchSize);
  let added: readonly Document[];
  let source: string;
  if (options.corpus !== undefined) {
    const read = await readCorpusFile(options.corpus, options.quiet);
    added = read.documents;
    source = read.sha256;
  } else {
    added = options.documents as readonly Document[];
    const seen = new Set<string>();
    added.forEach((document, position) => {
      if (seen.has(document.id)) throw new O1Error('DUPLICATE_ID', `document id '${document.id}' appears twice in the added documents (position ${position})`, { field: 'id' });
      seen.add(document.id);
    });
    source = sha256(canonicalJson(added));
  }
  const key = sha256(canonicalJson({ operation: 'add', source, batchSize }));
  const writer = await beginUpdate(index, options.store);
  try {
    if (writer.manifest.lastOperation.key === key && writer.pending === undefined) return noChange(writer, 'add', clock.timings, { added: 0 });
    const base = writer.current;
    const existing = await readDocuments(join(versionPath(index, base), DOCUMENTS_FILE), writer.manifest.corpus);
    const ids = new Set(existing.map((document) => document.id));
    for (const document of added) {
      if (!ids.has(document.id)) continue;
      const line = options.corpus === undefined ? undefined : await lineOfId(options.corpus, document.id);
      throw new O1Error('DUPLICATE_ID', `document id '${document.id}' is already in the index; nothing was added`, options.corpus === undefined ? { field: 'id' } : { file: options.corpus, line, field: '_id' });
    }
    clock.lap('readMs');
    const { resumed } = await writer.startIntent({ operation: 'add', key, base, target: base + 1, started: new Date().toISOString() });
    const parts = await planParts(writer.manifest.retriever);
    const { vectors, reports } = await embedParts(writer, parts, added, { batchSize, quiet: options.quiet, manifest: writer.manifest });
    clock.lap('embedMs');
    const stage = await writer.stage(base + 1);
    const documents = [...existing, ...added];
    await assembleVersion({
      stage, version: base + 1, documents, retriever: writer.manifest.retriever, parts, store: writer.manifest.store, storeOverride: options.store,
      previous: { manifest: writer.manifest, path: versionPath(index, base) }, upserts: vectors, resumed,
      operation: { kind: 'add', key, at: new Date().toISOString(), added: added.length }, buildKey: writer.manifest.buildKey, quiet: options.quiet,
    });
    clock.lap('writeMs');
    await writer.publish(base + 1);
    await writer.finish();
    clock.lap('publishMs');
    clock.total();
    return { index, operation: 'add', version: base + 1, upToDate: false, resumed, documents: documents.length, added: added.length, parts: reports, timings: clock.timings };
  } finally {
    await writer.release();
  }
}

/** The ids of an ids file: one per line, trimmed, blank lines skipped. */
async function readIdsFile(path: string): Promise<string[]> {
  if (!existsSync(path)) throw new O1Error('MISSING_FILE', 'the ids file does not exist', { file: path });
  return (await readFile(path, 'utf8')).split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
}

/**
 * Deletes documents by id: publishes a version without them, in which BM25 is rebuilt from the
 * remaining documents and the vectors are deleted from every store. Ids not in the index are
 * counted in `missing`; when none is present nothing is written.
 *
 * @example
 * await deleteFromIndex('scifact.index', { idsFile: 'retracted.txt' });
 */
export async function deleteFromIndex(index: string, options: DeleteFromIndexOptions): Promise<IndexOperationReport> {
  const clock = stopwatch();
  if ((options.idsFile === undefined) === (options.ids === undefined)) throw new O1Error('BAD_ARGUMENT', 'give an ids file or ids (one of them)', { field: 'ids' });
  const requested = [...new Set(options.idsFile !== undefined ? await readIdsFile(options.idsFile) : options.ids)];
  const key = sha256(canonicalJson({ operation: 'delete', ids: [...requested].sort() }));
  const writer = await beginUpdate(index, options.store);
  try {
    if (writer.manifest.lastOperation.key === key && writer.pending === undefined) return noChange(writer, 'delete', clock.timings, { deleted: 0 });
    const base = writer.current;
    const existing = await readDocuments(join(versionPath(index, base), DOCUMENTS_FILE), writer.manifest.corpus);
    const doomed = new Set(requested);
    const documents = existing.filter((document) => !doomed.has(document.id));
    const present = existing.filter((document) => doomed.has(document.id)).map((document) => document.id);
    const missing = requested.length - present.length;
    clock.lap('readMs');
    if (present.length === 0) return noChange(writer, 'delete', clock.timings, { deleted: 0, missing });
    const parts = await planParts(writer.manifest.retriever);
    const hasDatabase = writer.manifest.parts.some((part) => part.kind === 'dense' && part.directory === undefined);
    const { resumed } = await writer.startIntent({ operation: 'delete', key, base, target: base + 1, started: new Date().toISOString(), ...(hasDatabase ? { deleteAfterPublish: present } : {}) });
    const stage = await writer.stage(base + 1);
    await assembleVersion({
      stage, version: base + 1, documents, retriever: writer.manifest.retriever, parts, store: writer.manifest.store, storeOverride: options.store,
      previous: { manifest: writer.manifest, path: versionPath(index, base) }, upserts: new Map(), deletes: present, resumed,
      operation: { kind: 'delete', key, at: new Date().toISOString(), deleted: present.length }, buildKey: writer.manifest.buildKey, quiet: options.quiet,
    });
    clock.lap('writeMs');
    await writer.publish(base + 1);
    await writer.finish();
    clock.lap('publishMs');
    clock.total();
    return { index, operation: 'delete', version: base + 1, upToDate: false, resumed, documents: documents.length, deleted: present.length, missing, parts: parts.map((part) => ({ name: part.name, kind: part.kind })), timings: clock.timings };
  } finally {
    await writer.release();
  }
}
