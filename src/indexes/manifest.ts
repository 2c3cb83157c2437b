/**
 * The manifest of one index version (`vNNNNNN/manifest.json`): the format version, the
 * retriever config searches use (thinker settings included), each part's files and, for dense
 * parts, the embedder identity and dimension the vectors were made with, the corpus
 * fingerprint and counts, the store config, and created/updated times.
 */
import { readFile } from 'node:fs/promises';
import type { EmbedderConfig } from '../backends/embedder.js';
import { O1Error } from '../errors.js';
import type { RetrieverConfig } from '../retrieval/retriever.js';
import type { VectorStoreConfig } from '../stores/vector-store.js';

/** The manifest's `format` value. */
export const INDEX_FORMAT = 'o1-embedder-index';
/** The format version this code writes and reads. */
export const INDEX_FORMAT_VERSION = 1;

/** A file of a version with its length and SHA-256 (checked when the version is opened). */
export interface FileFingerprint {
  file: string;
  bytes: number;
  sha256: string;
}

/** A BM25 part: one `Bm25Retriever.save` file. */
export interface Bm25PartManifest {
  /** `bm25-N`, N the leaf's position in the retriever config (depth first). */
  name: string;
  kind: 'bm25';
  /** Member indexes from the root config down to this leaf (`[]` for a plain bm25 index). */
  path: number[];
  analyzer: string;
  index: FileFingerprint;
  terms: number;
}

/** A dense part (a `dense` or `o1` leaf): vectors in a store. */
export interface DensePartManifest {
  /** `dense-N`, N the leaf's position in the retriever config (depth first). */
  name: string;
  kind: 'dense';
  /** The leaf's retriever name: `dense` or `o1`. */
  retriever: string;
  path: number[];
  embedder: {
    /** Embedder.identity: what decided the vectors. Opening with another is INDEX_MISMATCH. */
    identity: string;
    dimension: number;
    config: EmbedderConfig;
  };
  /** The store's config (store.config(): secrets left out). */
  store: VectorStoreConfig;
  /** The store's folder inside the version (file stores); absent for a database store. */
  directory?: string;
  /** Vectors stored. */
  count: number;
  /** Bytes of the store, when it reports them. */
  bytes?: number;
}

/** One part of an index. */
export type PartManifest = Bm25PartManifest | DensePartManifest;

/** The operation that made a version. */
export interface OperationRecord {
  kind: 'build' | 'add' | 'delete';
  /** The operation's fingerprint: re-running the same command finds it here and does nothing. */
  key: string;
  at: string;
  added?: number;
  deleted?: number;
}

/** `manifest.json`. */
export interface IndexManifest {
  format: typeof INDEX_FORMAT;
  formatVersion: number;
  /** This version's number (its folder is `v` + the number on six digits). */
  version: number;
  created: string;
  updated: string;
  /** The retriever config searches use, as given to the build (thinkers included). */
  retriever: RetrieverConfig;
  /** The store config given to the build (dense parts), or null for a BM25-only index. */
  store: VectorStoreConfig | null;
  corpus: {
    documents: number;
    /** SHA-256 of documents.jsonl: equal fingerprints, equal documents in equal order. */
    fingerprint: string;
    bytes: number;
    /** documents.idx: where each document's line starts, and its checksum. */
    index: FileFingerprint;
    /** The corpus file of the build and its SHA-256. */
    source?: { path: string; sha256: string };
  };
  parts: PartManifest[];
  /** The build's fingerprint (retriever config, store config, batch size, source corpus). */
  buildKey: string;
  lastOperation: OperationRecord;
}

/**
 * Reads and checks a manifest: not JSON or missing fields is CORRUPT_INDEX, a newer format
 * version INDEX_MISMATCH, both naming the file.
 *
 * @example
 * const manifest = await readManifest('scifact.index/v000001/manifest.json');
 */
export async function readManifest(path: string): Promise<IndexManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new O1Error('MISSING_FILE', 'the index version has no manifest', { file: path }, { cause: error });
    throw new O1Error('STORE_ERROR', `cannot read the manifest: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new O1Error('CORRUPT_INDEX', `the manifest is not JSON (truncated?): ${(error as Error).message}`, { file: path }, { cause: error });
  }
  const corrupt = (field: string, expected: string): O1Error => new O1Error('CORRUPT_INDEX', `the manifest's ${field} should be ${expected}`, { file: path, field });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw corrupt('top level', 'an object');
  const manifest = value as IndexManifest;
  if (manifest.format !== INDEX_FORMAT) throw corrupt('format', `"${INDEX_FORMAT}"`);
  if (!Number.isInteger(manifest.formatVersion)) throw corrupt('formatVersion', 'an integer');
  if (manifest.formatVersion !== INDEX_FORMAT_VERSION) {
    throw new O1Error('INDEX_MISMATCH', `the index has format version ${manifest.formatVersion}; this build reads version ${INDEX_FORMAT_VERSION}`, { file: path, field: 'formatVersion' });
  }
  if (!(Number.isInteger(manifest.version) && manifest.version >= 1)) throw corrupt('version', 'a positive integer');
  if (typeof manifest.retriever?.retriever !== 'string') throw corrupt('retriever', 'a retriever config');
  const corpus = manifest.corpus;
  if (!(Number.isInteger(corpus?.documents) && Number.isInteger(corpus?.bytes) && typeof corpus?.fingerprint === 'string' && typeof corpus.index?.sha256 === 'string')) throw corrupt('corpus', 'an object with documents, bytes, fingerprint and index');
  if (!Array.isArray(manifest.parts) || manifest.parts.length === 0) throw corrupt('parts', 'a non-empty list');
  manifest.parts.forEach((part, index) => {
    const field = `parts[${index}]`;
    if (typeof part?.name !== 'string' || !/^(bm25|dense)-\d+$/.test(part.name) || !Array.isArray(part.path)) throw corrupt(field, 'a part with a name and a path');
    if (part.kind === 'bm25') {
      if (typeof part.index?.file !== 'string' || !Number.isInteger(part.index.bytes) || typeof part.index.sha256 !== 'string') throw corrupt(`${field}.index`, 'a file fingerprint');
    } else if (part.kind === 'dense') {
      if (typeof part.embedder?.identity !== 'string' || !(Number.isInteger(part.embedder.dimension) && part.embedder.dimension > 0)) throw corrupt(`${field}.embedder`, 'an identity and a positive dimension');
      if (typeof part.store?.store !== 'string') throw corrupt(`${field}.store`, 'a store config');
    } else {
      throw corrupt(`${field}.kind`, '"bm25" or "dense"');
    }
  });
  if (typeof manifest.lastOperation?.key !== 'string' || typeof manifest.buildKey !== 'string') throw corrupt('lastOperation', 'an operation record');
  return manifest;
}
