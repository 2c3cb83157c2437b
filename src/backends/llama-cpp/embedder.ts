import { basename } from 'node:path';
import type { LlamaEmbeddingContext } from 'node-llama-cpp';
import { Settings } from '../settings.js';
import type { Embedder, EmbedderConfig } from '../embedder.js';
import { acquireModel, type ModelLease } from './runtime.js';

/** Settings of the `llama-cpp` embedder (JSON config keys). */
export interface LlamaCppEmbedderConfig {
  backend: 'llama-cpp';
  /** Path of the GGUF file. Required. Pooling follows its `{arch}.pooling_type`. */
  model: string;
  /** Name reported by servers. Default the file name without `.gguf`. */
  name?: string;
  /** CPU threads. Default 1 (llama.cpp's own default oversubscribes small machines badly). */
  threads?: number;
  /** Context window in tokens; longer texts keep their first tokens. Default min(2048, the model's training context). */
  contextSize?: number;
  /** L2-normalise vectors, as llama.cpp's server and OpenAI do. Default true. */
  normalize?: boolean;
}

/**
 * An embedder running a GGUF model in-process through node-llama-cpp's embedding context.
 *
 * @example
 * const embedder = await LlamaCppEmbedder.create({ backend: 'llama-cpp', model: 'bge-small.gguf' });
 * const [vector] = await embedder.embed(['what is BM25?']);
 * await embedder.close();
 */
export class LlamaCppEmbedder implements Embedder {
  readonly backend = 'llama-cpp';
  private closed = false;
  // One evaluation at a time: the embedding context has a single sequence.
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly model: string,
    private readonly lease: ModelLease,
    private readonly context: LlamaEmbeddingContext,
    private readonly contextSize: number,
    private readonly normalize: boolean,
    private readonly settings: EmbedderConfig,
  ) {}

  /** Loads the model and creates its embedding context. */
  static async create(config: LlamaCppEmbedderConfig | EmbedderConfig): Promise<LlamaCppEmbedder> {
    const settings = new Settings(config, 'llama-cpp embedder');
    const path = settings.string('model');
    const name = settings.string('name', basename(path).replace(/\.gguf$/i, ''));
    const threads = settings.integer('threads', 1, 1);
    const requestedContext = settings.optionalInteger('contextSize', 8);
    const normalize = settings.boolean('normalize', true);
    settings.rejectUnknown();
    const lease = await acquireModel(path);
    try {
      const contextSize = requestedContext ?? Math.min(2048, lease.model.trainContextSize);
      const context = await lease.model.createEmbeddingContext({ threads, contextSize });
      return new LlamaCppEmbedder(name, lease, context, contextSize, normalize, { backend: 'llama-cpp', model: path, name, threads, contextSize, normalize });
    } catch (error) {
      await lease.release();
      throw error;
    }
  }

  async dimension(): Promise<number> {
    return this.lease.model.embeddingVectorSize;
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    const run = this.queue.then(async () => {
      const vectors: Float32Array[] = [];
      for (const text of texts) {
        const tokens = this.lease.model.tokenize(text);
        const embedding = await this.context.getEmbeddingFor(tokens.slice(0, this.contextSize));
        const vector = Float32Array.from(embedding.vector);
        vectors.push(this.normalize ? l2Normalize(vector) : vector);
      }
      return vectors;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  config(): EmbedderConfig {
    return { ...this.settings };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.context.dispose();
    await this.lease.release();
  }
}

function l2Normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let index = 0; index < vector.length; index++) vector[index] /= norm;
  return vector;
}
