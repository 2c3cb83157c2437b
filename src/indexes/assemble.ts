/**
 * Writes one complete index version into a staging folder: the documents, a BM25 index per
 * BM25 part (rebuilt from all the version's documents: about a second for SciFact's 5,183),
 * each dense part's vectors in its store, and the manifest last. A file store of an update
 * starts as hard links to the previous version's files (durable.ts: stores never write in
 * place), so the published version is never touched; a database store is shared by all
 * versions and changed in place (upserts before publication, deletes after it: writer.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Document } from '../data/types.js';
import { O1Error } from '../errors.js';
import { Bm25Retriever } from '../retrieval/bm25/bm25-retriever.js';
import { createRetriever } from '../retrieval/registry.js';
import type { RetrieverConfig } from '../retrieval/retriever.js';
import { createVectorStore, openVectorStore } from '../stores/registry.js';
import type { VectorItem, VectorStore, VectorStoreConfig } from '../stores/vector-store.js';
import { Progress } from '../util/progress.js';
import { sha256, linkTree, writeFileDurable } from './durable.js';
import { writeDocuments } from './documents.js';
import { DOCUMENTS_FILE, MANIFEST_FILE } from './layout.js';
import { INDEX_FORMAT, INDEX_FORMAT_VERSION, type DensePartManifest, type IndexManifest, type OperationRecord, type PartManifest } from './manifest.js';
import { isDatabaseStore, partStoreConfig, type PartPlan } from './parts.js';

/** Vectors upserted per store call (bounded memory per call and a progress tick each). */
const UPSERT_CHUNK = 1024;

/** A dense part's new vectors and where they came from. */
export interface PartVectors {
  ids: readonly string[];
  vectors: readonly Float32Array[];
  identity: string;
  dimension: number;
  embedderConfig: Record<string, unknown> & { backend: string };
}

/** What {@link assembleVersion} writes. */
export interface AssembleOptions {
  /** The staging folder (empty). */
  stage: string;
  version: number;
  /** Every document of the new version, in index order. */
  documents: readonly Document[];
  retriever: RetrieverConfig;
  parts: readonly PartPlan[];
  /** The build's store config (null without dense parts); a previous version's part configs win. */
  store: VectorStoreConfig | null;
  /** Settings merged into database store configs when opening them (a password). */
  storeOverride?: Partial<VectorStoreConfig>;
  /** The previous version (updates): its manifest and folder. */
  previous?: { manifest: IndexManifest; path: string };
  /** New vectors per dense part name (all of them for a build). */
  upserts: ReadonlyMap<string, PartVectors>;
  /** Ids to remove from file stores (deletes; database stores delete after publication). */
  deletes?: readonly string[];
  /** Whether a database store of a build may already exist (a resumed build) instead of being created. */
  resumed: boolean;
  operation: OperationRecord;
  buildKey: string;
  source?: { path: string; sha256: string };
  quiet?: boolean;
}

/** The manifest's store entry: the given config without a connection string (kept per part, password removed). */
function publicStoreConfig(store: VectorStoreConfig | null): VectorStoreConfig | null {
  if (store === null) return null;
  const { connectionString: _secret, ...rest } = store;
  return rest as VectorStoreConfig;
}

async function fingerprintFile(path: string, file: string): Promise<{ file: string; bytes: number; sha256: string }> {
  const bytes = await readFile(path);
  return { file, bytes: bytes.length, sha256: sha256(bytes) };
}

/**
 * Writes the version into `options.stage` and returns its manifest (also written there, last).
 *
 * @example
 * const manifest = await assembleVersion({ stage, version: 1, documents, retriever, parts, store: { store: 'flat' }, upserts, resumed: false, operation, buildKey });
 */
export async function assembleVersion(options: AssembleOptions): Promise<IndexManifest> {
  const { stage, documents, quiet } = options;
  const written = await writeDocuments(stage, documents, DOCUMENTS_FILE);
  const parts: PartManifest[] = [];
  const denseCount = options.parts.filter((part) => part.kind === 'dense').length;
  for (const part of options.parts) {
    if (part.kind === 'bm25') {
      const bm25 = createRetriever(part.config) as Bm25Retriever;
      try {
        await bm25.index(documents, { quiet, total: documents.length });
        const file = `${part.name}.index`;
        await bm25.save(join(stage, file));
        parts.push({ name: part.name, kind: 'bm25', path: part.path, analyzer: bm25.analyzerName, index: await fingerprintFile(join(stage, file), file), terms: bm25.indexStatistics().termCount });
      } finally {
        await bm25.dispose();
      }
      continue;
    }
    parts.push(await assembleDensePart(part, options, denseCount));
  }
  const now = new Date().toISOString();
  const manifest: IndexManifest = {
    format: INDEX_FORMAT,
    formatVersion: INDEX_FORMAT_VERSION,
    version: options.version,
    created: options.previous?.manifest.created ?? now,
    updated: now,
    retriever: options.retriever,
    store: options.previous?.manifest.store ?? publicStoreConfig(options.store),
    corpus: {
      documents: documents.length,
      fingerprint: written.fingerprint,
      bytes: written.bytes,
      index: written.index,
      ...(options.source ?? options.previous?.manifest.corpus.source ? { source: options.source ?? options.previous?.manifest.corpus.source } : {}),
    },
    parts,
    buildKey: options.buildKey,
    lastOperation: options.operation,
  };
  await writeFileDurable(join(stage, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

async function assembleDensePart(part: PartPlan, options: AssembleOptions, denseCount: number): Promise<DensePartManifest> {
  const found = options.previous?.manifest.parts.find((candidate) => candidate.name === part.name);
  const previous = found?.kind === 'dense' ? found : undefined;
  if (options.previous !== undefined && previous === undefined) throw new O1Error('CORRUPT_INDEX', `the manifest has no dense part ${part.name}`, { file: join(options.previous.path, MANIFEST_FILE) });
  const upserts = options.upserts.get(part.name);
  const dimension = previous?.embedder.dimension ?? upserts?.dimension;
  if (dimension === undefined || options.store === null) throw new O1Error('BAD_ARGUMENT', `part ${part.name} has no vectors and no store`);
  const config = previous?.store ?? partStoreConfig(options.store, part.name, denseCount);
  const database = isDatabaseStore(config);
  const directory = database ? undefined : join(options.stage, part.name);
  const opened = { ...config, ...(database ? options.storeOverride : {}) } as VectorStoreConfig;
  let store: VectorStore;
  if (previous !== undefined) {
    if (directory !== undefined) await linkTree(join((options.previous as { path: string }).path, previous.directory ?? part.name), directory);
    store = await openVectorStore(opened, { directory, dimension });
  } else {
    store = await createVectorStore(opened, { dimension, directory, ifExists: database && options.resumed ? 'open' : 'fail' });
  }
  try {
    if (upserts !== undefined && upserts.ids.length > 0) {
      const progress = new Progress({ label: `store ${part.name}`, total: upserts.ids.length, unit: 'vectors', quiet: options.quiet });
      for (let start = 0; start < upserts.ids.length; start += UPSERT_CHUNK) {
        const items: VectorItem[] = [];
        for (let index = start; index < Math.min(upserts.ids.length, start + UPSERT_CHUNK); index++) items.push({ id: upserts.ids[index], vector: upserts.vectors[index] });
        await store.upsert(items);
        progress.tick(items.length);
      }
      progress.finish();
    }
    if (directory !== undefined && options.deletes !== undefined && options.deletes.length > 0) await store.delete(options.deletes);
    await store.flush();
    const statistics = await store.statistics();
    return {
      name: part.name,
      kind: 'dense',
      retriever: part.retriever,
      path: part.path,
      embedder: previous?.embedder ?? { identity: (upserts as PartVectors).identity, dimension, config: (upserts as PartVectors).embedderConfig },
      store: store.config(),
      ...(directory === undefined ? {} : { directory: part.name }),
      // A database store's deletes run after publication (writer.ts): count them as done.
      count: statistics.count - (directory === undefined ? options.deletes?.length ?? 0 : 0),
      ...(statistics.bytes === undefined ? {} : { bytes: statistics.bytes }),
    };
  } finally {
    await store.close();
  }
}
