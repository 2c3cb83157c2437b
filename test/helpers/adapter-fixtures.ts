/**
 * Fixtures of the framework-adapter tests (test/langchain.test.ts, test/ai-sdk.test.ts): a
 * deterministic bag-of-words embedder that records what it was asked, and a thoughts file.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DocumentInput, EmbedOptions, Embedder, EmbedderConfig, EmbeddingResult, QueryInput } from '../../src/backends/embedder.js';
import { O1Error } from '../../src/errors.js';
import { hashedVector, words } from './thinking-fixtures.js';

/**
 * A deterministic embedder: each word adds 1 to the bucket its hash picks, the vector is then
 * L2-normalised; a query with a thought embeds `text thought`, a document `title text`. Usage is
 * one token per word. `delayMs` makes every call wait (honouring the signal), for cancellation tests.
 */
export class HashingEmbedder implements Embedder {
  readonly backend = 'hashing';
  readonly model = 'hashing-32';
  readonly identity = 'hashing:32';
  /** Every call, in order: which method and the texts it embedded. */
  readonly calls: { kind: 'queries' | 'documents'; texts: string[] }[] = [];
  closed = false;

  constructor(private readonly dimensionValue = 32, private readonly delayMs = 0) {}

  async dimension(): Promise<number> {
    return this.dimensionValue;
  }

  /** The vector of one text (what both methods use). */
  vectorOf(text: string): Float32Array {
    return hashedVector(text, this.dimensionValue);
  }

  private async embed(kind: 'queries' | 'documents', texts: string[], options: EmbedOptions): Promise<EmbeddingResult> {
    this.calls.push({ kind, texts });
    if (this.delayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const fail = () => {
          clearTimeout(timer);
          reject(new O1Error('CANCELLED', 'embedding was cancelled', {}, { cause: options.signal?.reason }));
        };
        const timer = setTimeout(() => {
          options.signal?.removeEventListener('abort', fail);
          resolve();
        }, this.delayMs);
        if (options.signal?.aborted === true) fail();
        else options.signal?.addEventListener('abort', fail, { once: true });
      });
    }
    return { vectors: texts.map((text) => this.vectorOf(text)), usage: { tokens: texts.reduce((sum, text) => sum + words(text).length, 0) } };
  }

  embedQueries(queries: readonly QueryInput[], options: EmbedOptions = {}): Promise<EmbeddingResult> {
    const texts = queries.map((query) => (typeof query === 'string' ? query : query.thought === undefined ? query.text : `${query.text} ${query.thought}`));
    return this.embed('queries', texts, options);
  }

  embedDocuments(documents: readonly DocumentInput[], options: EmbedOptions = {}): Promise<EmbeddingResult> {
    const texts = documents.map((document) => (typeof document === 'string' ? document : document.title ? `${document.title} ${document.text}` : document.text));
    return this.embed('documents', texts, options);
  }

  config(): EmbedderConfig {
    return { backend: 'hashing', dimension: this.dimensionValue };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Writes a `file` thinker's JSONL (`{"query", "thoughts"}` lines) and returns its path. */
export async function writeThoughtsFile(directory: string, entries: Record<string, string[]>): Promise<string> {
  const path = join(directory, 'thoughts.jsonl');
  await writeFile(path, Object.entries(entries).map(([query, thoughts]) => JSON.stringify({ query, thoughts })).join('\n') + '\n');
  return path;
}

/** Inner product in float64. */
export function dot(left: ArrayLike<number>, right: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < left.length; index++) sum += left[index] * right[index];
  return sum;
}

/** Asserts two vectors are equal to `tolerance` in every value (throws naming the first difference). */
export function assertVectorsClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  if (actual.length !== expected.length) throw new Error(`vector lengths differ: ${actual.length} vs ${expected.length}`);
  for (let index = 0; index < actual.length; index++) {
    if (!(Math.abs(actual[index] - expected[index]) <= tolerance)) throw new Error(`vectors differ at ${index}: ${actual[index]} vs ${expected[index]}`);
  }
}
