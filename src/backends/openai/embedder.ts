import { O1Error } from '../../errors.js';
import { Settings } from '../settings.js';
import type { DocumentInput, EmbedOptions, Embedder, EmbedderConfig, EmbeddingResult, QueryInput } from '../embedder.js';
import { documentText, queryText, readTextSettings, textSettingsConfig, throwIfCancelled, type TextSettings } from '../inputs.js';
import { OpenAiClient } from './client.js';
import { clientSettings, type OpenAiConnectionConfig } from './connection.js';

/** Settings of the `openai` embedder (JSON config keys). */
export interface OpenAiEmbedderConfig extends OpenAiConnectionConfig, Partial<TextSettings> {
  backend: 'openai';
  /** Model name sent with every request. Required. */
  model: string;
  /** Texts per request. Default 64. */
  batchSize?: number;
  /** Vector length, when known (saves the probe request of `dimension()`); also sent as `dimensions` when `sendDimensions`. */
  dimension?: number;
  /** Send `dimensions` (OpenAI's text-embedding-3 truncation). Default false. */
  sendDimensions?: boolean;
  /** `float` (default) or `base64` (little-endian float32, a third of the bytes). */
  encodingFormat?: 'float' | 'base64';
  /**
   * Extra request fields for queries, e.g. `{ "input_type": "query" }` (Cohere, NVIDIA NIM, this
   * project's server) or `{ "task": "retrieval.query" }` (Jina). Default none.
   */
  queryFields?: Record<string, unknown>;
  /** Extra request fields for documents, e.g. `{ "input_type": "document" }`. Default none. */
  documentFields?: Record<string, unknown>;
  /** L2-normalise returned vectors (servers usually do already). Default true. */
  normalize?: boolean;
}

interface EmbeddingItem {
  index?: number;
  embedding?: number[] | string;
}

interface EmbeddingAnswer {
  data?: EmbeddingItem[];
  usage?: { prompt_tokens?: number; total_tokens?: number };
}

/**
 * An embedder behind an OpenAI-compatible `/embeddings` endpoint (OpenAI, vLLM, Ollama,
 * llama.cpp's server, TEI, this project's `o1e serve`). Batches of `batchSize` texts go out
 * concurrently (up to the client's `concurrency`); vectors come back in input order. Queries
 * and documents differ by prefix (`queryPrefix`, `documentPrefix`) and extra request fields
 * (`queryFields`, `documentFields`); a query's thought is appended after `thoughtSeparator`.
 *
 * @example
 * const embedder = new OpenAiEmbedder({ backend: 'openai', baseUrl: 'http://127.0.0.1:8080/v1', model: 'e5', queryPrefix: 'query: ', documentPrefix: 'passage: ' });
 * const { vectors: [vector] } = await embedder.embedQueries(['what is BM25?']);
 */
export class OpenAiEmbedder implements Embedder {
  readonly backend = 'openai';
  readonly model: string;
  readonly identity: string;
  readonly client: OpenAiClient;
  private readonly batchSize: number;
  private readonly sendDimensions: boolean;
  private readonly encodingFormat: 'float' | 'base64';
  private readonly queryFields: Record<string, unknown>;
  private readonly documentFields: Record<string, unknown>;
  private readonly normalize: boolean;
  private readonly text: TextSettings;
  private knownDimension?: number;
  private readonly settings: EmbedderConfig;

  constructor(config: OpenAiEmbedderConfig | EmbedderConfig) {
    const settings = new Settings(config, 'openai embedder');
    const connection = clientSettings(settings);
    this.model = settings.string('model');
    this.batchSize = settings.integer('batchSize', 64, 1);
    this.knownDimension = settings.optionalInteger('dimension', 1);
    this.sendDimensions = settings.boolean('sendDimensions', false);
    this.encodingFormat = settings.oneOf('encodingFormat', ['float', 'base64'] as const, 'float');
    this.queryFields = settings.optionalObject('queryFields') ?? {};
    this.documentFields = settings.optionalObject('documentFields') ?? {};
    this.normalize = settings.boolean('normalize', true);
    this.text = readTextSettings(settings);
    settings.rejectUnknown();
    this.client = new OpenAiClient(connection.client);
    this.settings = { backend: 'openai', model: this.model, batchSize: this.batchSize, ...connection.public, ...textSettingsConfig(this.text) };
    if (this.knownDimension !== undefined) this.settings.dimension = this.knownDimension;
    if (this.sendDimensions) this.settings.sendDimensions = true;
    if (this.encodingFormat !== 'float') this.settings.encodingFormat = this.encodingFormat;
    if (Object.keys(this.queryFields).length > 0) this.settings.queryFields = { ...this.queryFields };
    if (Object.keys(this.documentFields).length > 0) this.settings.documentFields = { ...this.documentFields };
    if (!this.normalize) this.settings.normalize = false;
    this.identity = `openai:${connection.public.baseUrl}:${JSON.stringify([this.model, this.knownDimension ?? null, this.sendDimensions, this.queryFields, this.documentFields, this.normalize, textSettingsConfig(this.text)])}`;
  }

  async dimension(): Promise<number> {
    if (this.knownDimension === undefined) this.knownDimension = (await this.embedBatch(['dimension probe'], this.documentFields)).vectors[0].length;
    return this.knownDimension;
  }

  embedQueries(queries: readonly QueryInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
    return this.embedTexts(queries.map((query) => queryText(query, this.text)), this.queryFields, options);
  }

  embedDocuments(documents: readonly DocumentInput[], options?: EmbedOptions): Promise<EmbeddingResult> {
    return this.embedTexts(documents.map((document) => documentText(document, this.text)), this.documentFields, options);
  }

  private async embedTexts(texts: readonly string[], fields: Record<string, unknown>, options: EmbedOptions = {}): Promise<EmbeddingResult> {
    throwIfCancelled(options.signal, 'openai embedder');
    const batches: string[][] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) batches.push(texts.slice(start, start + this.batchSize));
    let done = 0;
    const results = await Promise.all(batches.map(async (batch) => {
      const result = await this.embedBatch(batch, fields, options.signal);
      done += batch.length;
      options.onProgress?.(done, texts.length);
      return result;
    }));
    const vectors = results.flatMap((result) => result.vectors);
    if (vectors.length > 0) this.knownDimension ??= vectors[0].length;
    return { vectors, usage: { tokens: results.reduce((sum, result) => sum + result.usage.tokens, 0) } };
  }

  config(): EmbedderConfig {
    return { ...this.settings };
  }

  async close(): Promise<void> {
    // fetch keeps no state we own.
  }

  private async embedBatch(texts: string[], fields: Record<string, unknown>, signal?: AbortSignal): Promise<EmbeddingResult> {
    const body: Record<string, unknown> = { ...fields, model: this.model, input: texts, encoding_format: this.encodingFormat };
    if (this.sendDimensions && this.knownDimension !== undefined) body.dimensions = this.knownDimension;
    let answer: EmbeddingAnswer;
    try {
      answer = await this.client.post<EmbeddingAnswer>('/embeddings', body, signal);
    } catch (error) {
      if (signal?.aborted === true) throw new O1Error('CANCELLED', 'openai embedder: cancelled', {}, { cause: error });
      throw error;
    }
    const where = `${this.client.baseUrl}/embeddings`;
    if (!Array.isArray(answer.data) || answer.data.length !== texts.length) {
      throw new O1Error('HTTP_ERROR', `${where}: expected ${texts.length} embeddings, got ${Array.isArray(answer.data) ? answer.data.length : 'none'}`, { field: 'data' });
    }
    const vectors = new Array<Float32Array>(texts.length);
    answer.data.forEach((item, position) => {
      const index = item.index ?? position;
      if (index < 0 || index >= texts.length || vectors[index] !== undefined) throw new O1Error('HTTP_ERROR', `${where}: bad embedding index ${index}`, { field: 'index' });
      const vector = decodeEmbedding(item.embedding, where);
      vectors[index] = this.normalize ? l2Normalized(vector) : vector;
    });
    const tokens = answer.usage?.prompt_tokens ?? answer.usage?.total_tokens ?? 0;
    return { vectors, usage: { tokens: Number.isFinite(tokens) ? tokens : 0 } };
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

function l2Normalized(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  if (sum > 0 && Math.abs(sum - 1) > 1e-6) {
    const scale = 1 / Math.sqrt(sum);
    for (let index = 0; index < vector.length; index++) vector[index] *= scale;
  }
  return vector;
}
