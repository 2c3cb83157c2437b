/**
 * Real vectors for the store tests and bench:search: SciFact documents embedded by the
 * committed o1-small (`embedDocuments`) and test queries embedded without thinking
 * (`embedQueriesWithoutThinking`). Optionally cached in two vector files (the flat store's
 * format) keyed by the model identity and the slice, so reruns skip the ~70 s of embedding.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBeirQrels, readCorpus, readQueries } from '../../src/data/beir.js';
import type { Document } from '../../src/data/types.js';
import { O1Model } from '../../src/o1/model.js';
import { readVectorFile, writeVectorFile } from '../../src/stores/flat/vector-file.js';
import { modelIdentity } from '../../src/util/model-identity.js';
import { sharedPath } from './shared.js';

/** The committed toy model. */
export const O1_SMALL_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'o1-small');

/** Embedded documents and queries, ids in input order. */
export interface EmbeddedSet {
  documentIds: string[];
  documents: Float32Array[];
  queryIds: string[];
  queries: Float32Array[];
}

/** Options of {@link scifactO1Vectors}. */
export interface ScifactVectorOptions {
  /** The first N documents of corpus.jsonl. Default: all 5,183. */
  documents?: number;
  /** The first N test queries (those with qrels). Default: all 300. */
  queries?: number;
  /** A cache file prefix (two files: PREFIX.documents.o1v, PREFIX.queries.o1v). Default: none. */
  cache?: string;
  /** Engine threads. Default: the engine's default. */
  threads?: number;
  /** Called with (done, total) while documents are embedded. */
  onProgress?: (done: number, total: number) => void;
}

function rows(vectors: Float32Array, dimension: number, count: number): Float32Array[] {
  return Array.from({ length: count }, (_, row) => vectors.slice(row * dimension, (row + 1) * dimension));
}

/**
 * o1-small vectors of SciFact (../shared/datasets/scifact).
 *
 * @example
 * const { documentIds, documents, queries } = await scifactO1Vectors({ documents: 300, queries: 20 });
 */
export async function scifactO1Vectors(options: ScifactVectorOptions = {}): Promise<EmbeddedSet> {
  const folder = sharedPath('datasets', 'scifact');
  const identity = await modelIdentity(O1_SMALL_PATH);
  const key = { model: identity, documents: options.documents ?? 'all', queries: options.queries ?? 'all' };
  const documentCache = options.cache === undefined ? undefined : `${options.cache}.documents.o1v`;
  const queryCache = options.cache === undefined ? undefined : `${options.cache}.queries.o1v`;
  if (documentCache !== undefined && queryCache !== undefined && existsSync(documentCache) && existsSync(queryCache)) {
    const [documents, queries] = await Promise.all([readVectorFile(documentCache), readVectorFile(queryCache)]);
    if (JSON.stringify(documents.metadata) === JSON.stringify(key) && JSON.stringify(queries.metadata) === JSON.stringify(key)) {
      return {
        documentIds: [...documents.ids],
        documents: rows(documents.vectors, documents.dimension, documents.ids.length),
        queryIds: [...queries.ids],
        queries: rows(queries.vectors, queries.dimension, queries.ids.length),
      };
    }
  }
  const corpus: Document[] = [];
  for await (const document of readCorpus(join(folder, 'corpus.jsonl'))) {
    if (options.documents !== undefined && corpus.length >= options.documents) break;
    corpus.push(document);
  }
  const judged = await readBeirQrels(join(folder, 'qrels', 'test.tsv'));
  const queryTexts: { id: string; text: string }[] = [];
  for await (const query of readQueries(join(folder, 'queries.jsonl'))) {
    if (!judged.has(query.id)) continue;
    if (options.queries !== undefined && queryTexts.length >= options.queries) break;
    queryTexts.push(query);
  }
  const model = await O1Model.load(O1_SMALL_PATH, options.threads === undefined ? {} : { threads: options.threads });
  try {
    const documents = await model.embedDocuments(corpus, { onProgress: options.onProgress });
    const queries = await model.embedQueriesWithoutThinking(queryTexts.map((query) => query.text));
    const result: EmbeddedSet = { documentIds: corpus.map((document) => document.id), documents, queryIds: queryTexts.map((query) => query.id), queries };
    if (documentCache !== undefined && queryCache !== undefined) {
      await mkdir(dirname(documentCache), { recursive: true });
      const dimension = model.dimension;
      const pack = (vectors: Float32Array[]): Float32Array => {
        const packed = new Float32Array(vectors.length * dimension);
        vectors.forEach((vector, row) => packed.set(vector, row * dimension));
        return packed;
      };
      await writeVectorFile(documentCache, { dtype: 'f32', dimension, ids: result.documentIds, vectors: pack(documents), metadata: key });
      await writeVectorFile(queryCache, { dtype: 'f32', dimension, ids: result.queryIds, vectors: pack(queries), metadata: key });
    }
    return result;
  } finally {
    await model.dispose();
  }
}
