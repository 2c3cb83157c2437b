/**
 * Building an index folder from a corpus: `o1e index` and {@link buildIndex}. Resumable: the
 * intent is recorded first, embedded batches are journaled durably, and the version is
 * published atomically, so a build killed at any moment and re-run with the same inputs ends
 * with the same index as an uninterrupted one (same vectors, every document once).
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readCorpus } from '../data/beir.js';
import type { Document } from '../data/types.js';
import { O1Error } from '../errors.js';
import type { RetrieverConfig } from '../retrieval/retriever.js';
import type { VectorStoreConfig } from '../stores/vector-store.js';
import { assembleVersion } from './assemble.js';
import { canonicalJson, sha256 } from './durable.js';
import { isIndexFolder } from './layout.js';
import { DEFAULT_BATCH_SIZE, embedParts, stopwatch, type IndexOperationReport } from './operation.js';
import { checkStoreConfig, planParts } from './parts.js';
import { IndexWriter } from './writer.js';

/** Options of {@link buildIndex}. */
export interface BuildIndexOptions {
  /** The index folder to create (absent or empty; or this same build, to resume or confirm it). */
  out: string;
  /** bm25, dense (any embedder), o1, or fused of those; thinker settings are kept for searches. */
  retriever: RetrieverConfig;
  /** A BEIR corpus.jsonl. Give this or `data`. */
  corpus?: string;
  /** A BEIR folder (its corpus.jsonl). */
  data?: string;
  /** Where dense parts keep their vectors. Default `{ "store": "flat" }` (one file in the index folder). */
  store?: VectorStoreConfig;
  /** Documents per embedding batch and journal line. Default 64. */
  batchSize?: number;
  /** No progress bars. Default false. */
  quiet?: boolean;
}

/** A corpus file's documents and SHA-256 (read once; duplicate ids are DUPLICATE_ID naming file:line). */
export async function readCorpusFile(path: string, quiet = false): Promise<{ documents: Document[]; sha256: string }> {
  if (!existsSync(path)) throw new O1Error('MISSING_FILE', 'the corpus file does not exist', { file: path });
  const bytes = await readFile(path);
  const documents: Document[] = [];
  for await (const document of readCorpus(path, { quiet })) documents.push(document);
  return { documents, sha256: sha256(bytes) };
}

/**
 * The settings of a store config that the index does not record and that opening it again
 * needs: a database connection string (with its password).
 *
 * @example
 * storeSecrets({ store: 'pgvector', connectionString: 'postgres://me:pw@db/x', table: 't' }) // { connectionString: 'postgres://me:pw@db/x' }
 */
export function storeSecrets(store: VectorStoreConfig | null | undefined): Partial<VectorStoreConfig> {
  return typeof store?.connectionString === 'string' ? { connectionString: store.connectionString } : {};
}

/** The batch size option, checked. */
export function checkBatchSize(batchSize: number | undefined): number {
  const value = batchSize ?? DEFAULT_BATCH_SIZE;
  if (!(Number.isInteger(value) && value >= 1)) throw new O1Error('BAD_ARGUMENT', `batchSize must be a positive integer, got ${value}`, { field: 'batchSize' });
  return value;
}

/**
 * Builds an index folder (layout.ts) from a corpus. Refuses, with nothing overwritten: an
 * `out` that exists and is neither empty nor an index (BAD_ARGUMENT), and an index or an
 * interrupted build made with another retriever config, store, batch size or corpus
 * (INDEX_MISMATCH naming its manifest or intent). The same build again resumes a killed run,
 * or reports `upToDate` when it had finished.
 *
 * @example
 * const report = await buildIndex({ data: '../shared/datasets/scifact', retriever: { retriever: 'bm25' }, out: 'scifact.index' });
 * report.documents // 5183
 */
export async function buildIndex(options: BuildIndexOptions): Promise<IndexOperationReport> {
  const clock = stopwatch();
  if ((options.corpus === undefined) === (options.data === undefined)) throw new O1Error('BAD_ARGUMENT', 'give a corpus file or a BEIR folder (one of them)', { field: options.corpus === undefined ? 'corpus' : 'data' });
  const corpusPath = options.corpus ?? join(options.data as string, 'corpus.jsonl');
  const batchSize = checkBatchSize(options.batchSize);
  const parts = await planParts(options.retriever);
  const hasDense = parts.some((part) => part.kind === 'dense');
  const store = hasDense ? (options.store ?? { store: 'flat' }) : null;
  if (store !== null) await checkStoreConfig(store);
  const out = options.out;
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new O1Error('BAD_ARGUMENT', 'the output exists and is not a folder; nothing was written', { file: out });
    if (!isIndexFolder(out) && (await readdir(out)).length > 0) throw new O1Error('BAD_ARGUMENT', 'the output folder exists, is not empty and is not an index; nothing was written (choose another --out)', { file: out });
  }
  const { documents, sha256: sourceSha } = await readCorpusFile(corpusPath, options.quiet);
  clock.lap('readMs');
  // The connection string is left out, so a build that failed on a wrong password resumes once it is fixed.
  const { connectionString: _secret, ...storeSettings } = (store ?? {}) as VectorStoreConfig;
  const key = sha256(canonicalJson({ operation: 'build', retriever: options.retriever, store: store === null ? null : storeSettings, batchSize, source: sourceSha }));
  const secrets = storeSecrets(store);
  const writer = await IndexWriter.begin(out, secrets);
  try {
    if (writer.current !== undefined) {
      const manifest = writer.manifest as NonNullable<typeof writer.manifest>;
      if (manifest.buildKey !== key) {
        throw new O1Error('INDEX_MISMATCH', 'the folder holds an index built with another retriever config, store, batch size or corpus; nothing was overwritten (change it with o1e index add/delete, or choose another --out)', { file: writer.manifestPath });
      }
      clock.total();
      return { index: out, operation: 'build', version: manifest.version, upToDate: true, resumed: false, documents: manifest.corpus.documents, parts: manifest.parts.map((part) => ({ name: part.name, kind: part.kind })), timings: clock.timings };
    }
    const { resumed } = await writer.startIntent({ operation: 'build', key, base: null, target: 1, started: new Date().toISOString() });
    const { vectors, reports } = await embedParts(writer, parts, documents, { batchSize, quiet: options.quiet });
    clock.lap('embedMs');
    const stage = await writer.stage(1);
    const now = new Date().toISOString();
    await assembleVersion({
      stage, version: 1, documents, retriever: options.retriever, parts, store, storeOverride: secrets, upserts: vectors, resumed,
      operation: { kind: 'build', key, at: now, added: documents.length }, buildKey: key, source: { path: resolve(corpusPath), sha256: sourceSha }, quiet: options.quiet,
    });
    clock.lap('writeMs');
    await writer.publish(1);
    await writer.finish();
    clock.lap('publishMs');
    clock.total();
    return { index: out, operation: 'build', version: 1, upToDate: false, resumed, documents: documents.length, added: documents.length, parts: reports, timings: clock.timings };
  } finally {
    await writer.release();
  }
}
