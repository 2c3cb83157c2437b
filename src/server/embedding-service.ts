/**
 * The server's embedding: one dynamic batcher for documents and one for queries in front of
 * one {@link Embedder}, so the texts of concurrent requests reach the model together, and
 * thinking query vectors (O1 Embedder's aggregation of the query + thought vectors).
 *
 * Usage: an embedder reports the tokens of a whole call, not of each text, so a batch's tokens
 * are shared out among its texts in proportion to their lengths in characters (largest
 * remainders, so they add up to the batch's count exactly). A request alone in its batch gets
 * exactly the embedder's count.
 */
import type { DocumentInput, EmbedOptions, Embedder, EmbedderConfig, EmbeddingResult, QueryInput } from '../backends/embedder.js';
import { splitDocument, splitQuery } from '../backends/inputs.js';
import { aggregateThoughtVectors } from '../retrieval/dense/dense-retriever.js';
import { Batcher } from './batcher.js';

/** One embedded text: its vector and its share of the batch's tokens. */
export interface EmbeddedText {
  vector: Float32Array;
  tokens: number;
}

/** Batching settings of an {@link EmbeddingService}. */
export interface EmbeddingServiceOptions {
  /** Most texts per model call. Default 64. */
  maxBatch?: number;
  /** Longest a text waits for others, in milliseconds. Default 5. */
  maxWaitMs?: number;
  /** Most texts waiting per queue (then OVERLOADED: 429). Default unlimited. */
  maxQueue?: number;
  /** Called with each batch as it leaves (metrics). */
  onBatch?: (queue: 'query' | 'document', size: number) => void;
  /** Called with the number of texts each finished batch embedded (metrics). */
  onEmbedded?: (queue: 'query' | 'document', count: number) => void;
}

/** What the service returns for a list of inputs. */
export interface ServiceEmbeddings {
  vectors: Float32Array[];
  tokens: number;
}

/**
 * Shares `total` out in proportion to `weights` (largest remainders; a zero total weight shares evenly).
 *
 * @example
 * apportion(10, [1, 1, 2]) // [3, 2, 5]
 */
export function apportion(total: number, weights: readonly number[]): number[] {
  if (weights.length === 0) return [];
  const sum = weights.reduce((accumulated, weight) => accumulated + weight, 0);
  const exact = weights.map((weight) => (sum > 0 ? (total * weight) / sum : total / weights.length));
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((accumulated, share) => accumulated + share, 0);
  const order = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (let position = 0; left > 0; position = (position + 1) % order.length, left--) shares[order[position].index] += 1;
  return shares;
}

function documentLength(document: DocumentInput): number {
  const { title, text } = splitDocument(document);
  return title.length + text.length;
}

function queryLength(query: QueryInput): number {
  const { text, thought } = splitQuery(query);
  return text.length + thought.length;
}

/**
 * Batched embedding over one embedder.
 *
 * @example
 * const service = new EmbeddingService(embedder, { maxBatch: 64, maxWaitMs: 5 });
 * const { vectors, tokens } = await service.embedDocuments(['a text', 'another']);
 * await service.close();
 */
export class EmbeddingService {
  readonly documents: Batcher<DocumentInput, EmbeddedText>;
  readonly queries: Batcher<QueryInput, EmbeddedText>;

  constructor(readonly embedder: Embedder, options: EmbeddingServiceOptions = {}) {
    const settings = { maxBatch: options.maxBatch, maxWaitMs: options.maxWaitMs, maxQueue: options.maxQueue };
    this.documents = new Batcher<DocumentInput, EmbeddedText>(async (items, signal) => {
      const result = await embedder.embedDocuments(items, { signal });
      options.onEmbedded?.('document', items.length);
      return share(result, items.map(documentLength));
    }, { ...settings, name: 'document embeddings', onBatch: (size) => options.onBatch?.('document', size) });
    this.queries = new Batcher<QueryInput, EmbeddedText>(async (items, signal) => {
      const result = await embedder.embedQueries(items, { signal });
      options.onEmbedded?.('query', items.length);
      return share(result, items.map(queryLength));
    }, { ...settings, name: 'query embeddings', onBatch: (size) => options.onBatch?.('query', size) });
  }

  /** Document vectors, in order, batched with other callers' documents. */
  async embedDocuments(documents: readonly DocumentInput[], signal?: AbortSignal): Promise<ServiceEmbeddings> {
    return join(await this.documents.submit(documents, { signal }));
  }

  /** Query vectors (a query may carry one thought), in order, batched with other callers' queries. */
  async embedQueries(queries: readonly QueryInput[], signal?: AbortSignal): Promise<ServiceEmbeddings> {
    return join(await this.queries.submit(queries, { signal }));
  }

  /**
   * Thinking query vectors: each query + thought embedded, then their plain mean (O1 Embedder's
   * aggregation, not re-normalised); a query with no thoughts is embedded alone.
   */
  async embedThinkingQueries(texts: readonly string[], thoughts: readonly (readonly string[])[], signal?: AbortSignal): Promise<ServiceEmbeddings> {
    const inputs: QueryInput[] = [];
    const owners: number[] = [];
    texts.forEach((text, index) => {
      const list = thoughts[index] ?? [];
      if (list.length === 0) {
        inputs.push({ text });
        owners.push(index);
      }
      for (const thought of list) {
        inputs.push({ text, thought });
        owners.push(index);
      }
    });
    const embedded = await this.embedQueries(inputs, signal);
    const groups: Float32Array[][] = texts.map(() => []);
    owners.forEach((owner, position) => groups[owner].push(embedded.vectors[position]));
    const vectors = groups.map((group, index) => ((thoughts[index] ?? []).length === 0 ? group[0] : aggregateThoughtVectors(group)));
    return { vectors, tokens: embedded.tokens };
  }

  /**
   * This service as an {@link Embedder}, for a retriever searching on the server: its queries
   * go through the query batcher; its documents (embedded once, when it indexes a corpus) go to
   * the model directly, in the embedder's own large batches.
   */
  asEmbedder(): Embedder {
    const service = this;
    const inner = this.embedder;
    return {
      backend: inner.backend,
      model: inner.model,
      identity: inner.identity,
      dimension: () => inner.dimension(),
      async embedQueries(queries: readonly QueryInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
        const result = await service.embedQueries(queries, options?.signal);
        options?.onProgress?.(result.vectors.length, queries.length);
        return { vectors: result.vectors, usage: { tokens: result.tokens } };
      },
      embedDocuments: (documents: readonly DocumentInput[], options?: EmbedOptions) => inner.embedDocuments(documents, options),
      config: (): EmbedderConfig => inner.config(),
      // The service's owner closes the embedder.
      close: async () => undefined,
    };
  }

  /** Waits for queued texts to be embedded; does not close the embedder (its owner does). */
  async close(): Promise<void> {
    await Promise.all([this.documents.close(), this.queries.close()]);
  }
}

function share(result: EmbeddingResult, lengths: readonly number[]): EmbeddedText[] {
  const tokens = apportion(result.usage.tokens, lengths);
  return result.vectors.map((vector, index) => ({ vector, tokens: tokens[index] }));
}

function join(items: readonly EmbeddedText[]): ServiceEmbeddings {
  return { vectors: items.map((item) => item.vector), tokens: items.reduce((sum, item) => sum + item.tokens, 0) };
}
