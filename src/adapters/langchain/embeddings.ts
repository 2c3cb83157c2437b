/**
 * `O1Embeddings`: LangChain.js embeddings whose queries think. `embedQuery` asks the thinker
 * for thoughts and returns O1 Embedder's aggregation of the query + thought vectors;
 * `embedDocuments` embeds documents as they are. Any LangChain vector store built on these
 * embeddings therefore searches with thinking queries.
 */
import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { ThinkingEmbedder, type ThinkingEmbedderOptions } from '../../thinking/thinking-embedder.js';

/** Settings of {@link O1Embeddings}: our embedder and thinker, plus LangChain's AsyncCaller settings. */
export interface O1EmbeddingsParams extends ThinkingEmbedderOptions, EmbeddingsParams {}

/** A query vector and the thoughts behind it. */
export interface ThinkingQueryEmbedding {
  vector: number[];
  /** The thoughts the query was embedded with ([] without a thinker). */
  thoughts: string[];
}

/**
 * LangChain embeddings over an o1-embedder {@link Embedder} and an optional thinker.
 * `maxRetries` defaults to 0, not LangChain's 6: our HTTP backends retry by themselves, and a
 * local model's failure does not go away on retry.
 *
 * @example
 * import { O1Embeddings } from 'o1-embedder/langchain';
 *
 * const embeddings = new O1Embeddings({
 *   embedder: { backend: 'engine', model: 'models/o1-small' },
 *   thinker: { backend: 'engine', model: 'models/o1-small', thoughts: 3 },
 * });
 * const query = await embeddings.embedQuery('what causes tides'); // thinks, then embeds
 * console.log(embeddings.lastThoughts);
 * const documents = await embeddings.embedDocuments(['The moon pulls the oceans.']);
 * await embeddings.close();
 */
export class O1Embeddings extends Embeddings {
  /** Our embedder + thinker, for callers that want Float32Arrays or per-call thought counts. */
  readonly encoder: ThinkingEmbedder;
  /**
   * The thoughts of the latest {@link embedQuery} call to finish (undefined before the first).
   * Concurrent calls overwrite each other; {@link embedQueryWithThoughts} returns them race-free.
   */
  lastThoughts?: string[];

  constructor(params: O1EmbeddingsParams) {
    const { embedder, thinker, includeQueryOnly, renormalize, ...callerParams } = params ?? ({} as O1EmbeddingsParams);
    super({ maxRetries: 0, ...callerParams });
    this.encoder = new ThinkingEmbedder({ embedder, thinker, includeQueryOnly, renormalize });
  }

  /** The query's thinking vector and its thoughts (without a thinker: the plain query vector and []). */
  async embedQueryWithThoughts(text: string): Promise<ThinkingQueryEmbedding> {
    const result = await this.caller.call(() => this.encoder.embedQueries([text]));
    return { vector: Array.from(result.vectors[0]), thoughts: result.thoughts[0] };
  }

  /** Thinks about the query, then returns O1's aggregation of its query + thought vectors. */
  async embedQuery(text: string): Promise<number[]> {
    const { vector, thoughts } = await this.embedQueryWithThoughts(text);
    this.lastThoughts = thoughts;
    return vector;
  }

  /** Embeds documents as they are (untitled: LangChain passes page contents). */
  async embedDocuments(texts: string[]): Promise<number[][]> {
    const result = await this.caller.call(() => this.encoder.embedDocuments(texts));
    return result.vectors.map((vector) => Array.from(vector));
  }

  /** Closes the embedder and thinker built from configs (those handed in stay open). */
  async close(): Promise<void> {
    await this.encoder.close();
  }
}
