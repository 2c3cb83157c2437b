/**
 * A cache of document embeddings, so that evaluating several retrievers of one model on one
 * corpus (dense, o1, fused) embeds the corpus once. Keyed by a hash of everything that decides a
 * document's vector: the model's identity (path + file sizes + mtimes, see `modelIdentity`), the
 * document token limit, and the document's title and text. In memory, optionally backed by a
 * JSONL file that is appended to (one whole line per entry, one write per batch); a torn last
 * line left by a crash is dropped and the file rewritten atomically on open.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { O1Error } from '../../errors.js';
import { readAppendedJsonl } from '../../util/jsonl-log.js';

/** What decides a document's vector. */
export interface DocumentKey {
  /** Model identity (see `modelIdentity`). */
  model: string;
  /** Document tokens before `<emb>`; undefined: the model's default. */
  maxLength?: number;
  title?: string;
  text: string;
}

/** The cache key of a document: a SHA-256 over its {@link DocumentKey}, hex. */
export function documentKey(key: DocumentKey): string {
  return createHash('sha256').update(JSON.stringify([key.model, key.maxLength ?? null, key.title ?? '', key.text])).digest('hex');
}

function encodeVector(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

function decodeVector(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0) throw new Error(`${bytes.byteLength} bytes is not a whole number of float32 values`);
  const vector = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(vector.buffer).set(bytes);
  return vector;
}

/**
 * Document vectors by {@link documentKey}.
 *
 * @example
 * const cache = await EmbeddingCache.open('.cache/scifact.vectors.jsonl'); // or new EmbeddingCache()
 * const key = documentKey({ model: identity, title: 'Tides', text: 'Tides are ...' });
 * cache.get(key) ?? (await cache.set([{ key, vector }]));
 */
export class EmbeddingCache {
  private readonly entries = new Map<string, Float32Array>();
  /** Lookups answered from the cache and lookups that missed. */
  readonly stats = { hits: 0, misses: 0 };

  /** @param path the JSONL file to append to; none keeps the cache in memory only. */
  constructor(readonly path?: string) {}

  /**
   * Opens a cache backed by `path` (created on the first write), loading its entries. A torn last
   * line is dropped (the file is rewritten atomically); any other bad line is an O1Error naming it.
   */
  static async open(path: string): Promise<EmbeddingCache> {
    const cache = new EmbeddingCache(path);
    for (const { value, line } of await readAppendedJsonl(path, 'embedding cache')) {
      const entry = value as { key?: unknown; vector?: unknown } | null;
      if (typeof entry?.key !== 'string' || typeof entry.vector !== 'string') {
        throw new O1Error('MISSING_FIELD', 'embedding cache line needs "key" and "vector" strings', { file: path, line });
      }
      try {
        cache.entries.set(entry.key, decodeVector(entry.vector));
      } catch (error) {
        throw new O1Error('MALFORMED_JSON', `embedding cache vector: ${(error as Error).message}`, { file: path, line }, { cause: error });
      }
    }
    return cache;
  }

  /** Number of cached documents. */
  get size(): number {
    return this.entries.size;
  }

  /** The cached vector (a copy) for `key`, or undefined (counted in {@link stats}). */
  get(key: string): Float32Array | undefined {
    const vector = this.entries.get(key);
    if (vector === undefined) this.stats.misses++;
    else this.stats.hits++;
    return vector === undefined ? undefined : vector.slice();
  }

  /** Stores vectors in memory and appends them to the file, if any, in one write. */
  async set(entries: readonly { key: string; vector: Float32Array }[]): Promise<void> {
    const lines: string[] = [];
    for (const { key, vector } of entries) {
      if (this.entries.has(key)) continue;
      this.entries.set(key, vector.slice());
      lines.push(`${JSON.stringify({ key, vector: encodeVector(vector) })}\n`);
    }
    if (this.path === undefined || lines.length === 0) return;
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, lines.join(''), 'utf8');
  }
}
