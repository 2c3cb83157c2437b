import { O1Error } from '../../errors.js';
import { Settings } from '../settings.js';
import type { Embedder, EmbedderConfig } from '../embedder.js';
import { OpenAiClient } from './client.js';
import { clientSettings, type OpenAiConnectionConfig } from './connection.js';

/** Settings of the `openai` embedder (JSON config keys). */
export interface OpenAiEmbedderConfig extends OpenAiConnectionConfig {
  backend: 'openai';
  /** Model name sent with every request. Required. */
  model: string;
  /** Texts per request. Default 64. */
  batchSize?: number;
  /** Vector length, when known (saves the probe request of `dimension()`); also sent as `dimensions` when `sendDimensions`. */
  dimension?: number;
  /** Send `dimensions` (OpenAI's text-embedding-3 truncation). Default false. */
  sendDimensions?: boolean;
}

interface EmbeddingItem {
  index?: number;
  embedding?: number[] | string;
}

/**
 * An embedder behind an OpenAI-compatible `/embeddings` endpoint. Batches of `batchSize` texts
 * go out concurrently (up to the client's `concurrency`); vectors come back in input order.
 *
 * @example
 * const embedder = new OpenAiEmbedder({ backend: 'openai', baseUrl: 'http://127.0.0.1:8080/v1', model: 'bge' });
 * const [vector] = await embedder.embed(['what is BM25?']);
 */
export class OpenAiEmbedder implements Embedder {
  readonly backend = 'openai';
  readonly model: string;
  readonly client: OpenAiClient;
  private readonly batchSize: number;
  private readonly sendDimensions: boolean;
  private knownDimension?: number;
  private readonly settings: EmbedderConfig;

  constructor(config: OpenAiEmbedderConfig | EmbedderConfig) {
    const settings = new Settings(config, 'openai embedder');
    const connection = clientSettings(settings);
    this.model = settings.string('model');
    this.batchSize = settings.integer('batchSize', 64, 1);
    this.knownDimension = settings.optionalInteger('dimension', 1);
    this.sendDimensions = settings.boolean('sendDimensions', false);
    settings.rejectUnknown();
    this.client = new OpenAiClient(connection.client);
    this.settings = { backend: 'openai', model: this.model, batchSize: this.batchSize, ...connection.public };
    if (this.knownDimension !== undefined) this.settings.dimension = this.knownDimension;
    if (this.sendDimensions) this.settings.sendDimensions = true;
  }

  async dimension(): Promise<number> {
    if (this.knownDimension === undefined) this.knownDimension = (await this.embedBatch(['dimension probe']))[0].length;
    return this.knownDimension;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const batches: string[][] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) batches.push(texts.slice(start, start + this.batchSize));
    const vectors = (await Promise.all(batches.map((batch) => this.embedBatch(batch)))).flat();
    if (vectors.length > 0) this.knownDimension ??= vectors[0].length;
    return vectors;
  }

  config(): EmbedderConfig {
    return { ...this.settings };
  }

  async close(): Promise<void> {
    // fetch keeps no state we own.
  }

  private async embedBatch(texts: string[]): Promise<Float32Array[]> {
    const body: Record<string, unknown> = { model: this.model, input: texts, encoding_format: 'float' };
    if (this.sendDimensions && this.knownDimension !== undefined) body.dimensions = this.knownDimension;
    const answer = await this.client.post<{ data?: EmbeddingItem[] }>('/embeddings', body);
    const where = `${this.client.baseUrl}/embeddings`;
    if (!Array.isArray(answer.data) || answer.data.length !== texts.length) {
      throw new O1Error('HTTP_ERROR', `${where}: expected ${texts.length} embeddings, got ${Array.isArray(answer.data) ? answer.data.length : 'none'}`, { field: 'data' });
    }
    const vectors = new Array<Float32Array>(texts.length);
    answer.data.forEach((item, position) => {
      const index = item.index ?? position;
      if (index < 0 || index >= texts.length || vectors[index] !== undefined) throw new O1Error('HTTP_ERROR', `${where}: bad embedding index ${index}`, { field: 'index' });
      vectors[index] = decodeEmbedding(item.embedding, where);
    });
    return vectors;
  }
}

/** A float array, or base64 little-endian float32 (what `encoding_format: "base64"` returns). */
function decodeEmbedding(embedding: number[] | string | undefined, where: string): Float32Array {
  if (typeof embedding === 'string') {
    const bytes = Buffer.from(embedding, 'base64');
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length - (bytes.length % 4)));
  }
  if (!Array.isArray(embedding) || !embedding.every((value) => typeof value === 'number' && Number.isFinite(value))) {
    throw new O1Error('HTTP_ERROR', `${where}: an embedding is not an array of finite numbers`, { field: 'embedding' });
  }
  return Float32Array.from(embedding);
}
