/**
 * An AI SDK provider (`ai`'s `embed`, `embedMany`, `cosineSimilarity`) over an o1-embedder
 * embedder and an optional thinker. Its models implement the embedding-model specification v3
 * of `@ai-sdk/provider` 3.x, which `ai` 6 installs; `ai` 7 (provider 4.x) still accepts v3
 * models. Only types come from `@ai-sdk/provider`, so at run time this file needs neither it
 * nor `ai`.
 *
 * Query or document is chosen per call through `providerOptions: { o1: { inputType, thoughts } }`:
 * documents (the default, so plain `embedMany` over a corpus does what it should) are embedded
 * as they are; queries think first when a thinker is set, and their vector is O1 Embedder's
 * aggregation of the query + thought vectors. The thoughts come back in
 * `providerMetadata.o1.thoughts` (one list per value).
 */
import type { EmbeddingModelV3, EmbeddingModelV3CallOptions, EmbeddingModelV3Result } from '@ai-sdk/provider';
import { Settings } from '../../backends/settings.js';
import { O1Error } from '../../errors.js';
import { ThinkingEmbedder, type ThinkingEmbedderOptions } from '../../thinking/thinking-embedder.js';

/** The key of our options in `providerOptions` and of our metadata in `providerMetadata`. */
export const O1_PROVIDER_KEY = 'o1';

/** Settings of {@link createO1Embedder}. */
export interface O1EmbedderProviderSettings extends ThinkingEmbedderOptions {
  /** Values per `doEmbed` call; `embedMany` splits larger inputs. Default 256. */
  maxEmbeddingsPerCall?: number;
  /** Let `embedMany` run its calls in parallel (useful for HTTP embedders). Default false: one local model works best on one call at a time. */
  supportsParallelCalls?: boolean;
}

/** What `providerOptions.o1` may hold. */
export interface O1EmbeddingProviderOptions {
  /** `document` (default): embedded as is; `query`: thinks first when a thinker is set. */
  inputType?: 'query' | 'document';
  /** With `inputType: 'query'`: thoughts per query for this call (0: no thinking). Default: the thinker's setting. */
  thoughts?: number;
}

/** An embedding model of the provider: the AI SDK's v3 model, plus our encoder. */
export interface O1EmbeddingModel extends EmbeddingModelV3 {
  /** The embedder and thinker behind it (shared by every model of one provider). */
  readonly encoder: ThinkingEmbedder;
}

/** The provider: call it, or `.embedding()` / `.embeddingModel()` / `.textEmbeddingModel()`, for the model. */
export interface O1EmbedderProvider {
  (modelId?: string): O1EmbeddingModel;
  embedding(modelId?: string): O1EmbeddingModel;
  embeddingModel(modelId?: string): O1EmbeddingModel;
  textEmbedding(modelId?: string): O1EmbeddingModel;
  textEmbeddingModel(modelId?: string): O1EmbeddingModel;
  /** The embedder and thinker behind every model. */
  readonly encoder: ThinkingEmbedder;
  /** Closes the embedder and thinker built from configs (those handed in stay open). */
  close(): Promise<void>;
}

/**
 * Reads `providerOptions.o1` (default `{ inputType: 'document' }`), rejecting unknown keys and
 * bad values with O1Error BAD_ARGUMENT naming the field.
 *
 * @example
 * readO1ProviderOptions({ o1: { inputType: 'query', thoughts: 1 } }) // { inputType: 'query', thoughts: 1 }
 */
export function readO1ProviderOptions(providerOptions: EmbeddingModelV3CallOptions['providerOptions']): Required<Pick<O1EmbeddingProviderOptions, 'inputType'>> & Pick<O1EmbeddingProviderOptions, 'thoughts'> {
  const values = providerOptions?.[O1_PROVIDER_KEY];
  if (values === undefined) return { inputType: 'document' };
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new O1Error('BAD_ARGUMENT', 'providerOptions.o1 must be an object such as { inputType: "query" }', { field: 'providerOptions.o1' });
  const settings = new Settings(values, 'o1 provider options', { path: 'providerOptions.o1.', known: [] });
  const inputType = settings.oneOf('inputType', ['query', 'document'] as const, 'document');
  const thoughts = settings.optionalInteger('thoughts', 0);
  settings.rejectUnknown();
  if (thoughts !== undefined && inputType !== 'query') throw new O1Error('BAD_ARGUMENT', 'thoughts apply to queries: add inputType: "query" (documents never think)', { field: 'providerOptions.o1.thoughts' });
  return { inputType, thoughts };
}

/** The default model id: the embedder config's `model`, else the backend's name. */
function defaultModelId(options: ThinkingEmbedderOptions): string {
  const embedder = options.embedder as { model?: unknown; backend?: unknown };
  if (typeof embedder?.model === 'string' && embedder.model !== '') return embedder.model;
  return typeof embedder?.backend === 'string' ? embedder.backend : O1_PROVIDER_KEY;
}

/**
 * Creates the provider. Every model it returns shares one embedder and thinker; the model id
 * is a label for the AI SDK's logs and telemetry (default: the embedder's model), it does not
 * select another model.
 *
 * @example
 * import { cosineSimilarity, embed, embedMany } from 'ai';
 * import { createO1Embedder } from 'o1-embedder/ai-sdk';
 *
 * const o1 = createO1Embedder({
 *   embedder: { backend: 'engine', model: 'models/o1-small' },
 *   thinker: { backend: 'engine', model: 'models/o1-small', thoughts: 3 },
 * });
 * const { embeddings } = await embedMany({ model: o1.embedding(), values: ['The moon pulls the oceans.', 'Cats sleep.'] });
 * const { embedding, providerMetadata } = await embed({ model: o1.embedding(), value: 'what causes tides', providerOptions: { o1: { inputType: 'query' } } });
 * console.log(cosineSimilarity(embedding, embeddings[0]), providerMetadata?.o1?.thoughts);
 * await o1.close();
 */
export function createO1Embedder(settings: O1EmbedderProviderSettings): O1EmbedderProvider {
  const { maxEmbeddingsPerCall = 256, supportsParallelCalls = false, ...encoderOptions } = settings ?? ({} as O1EmbedderProviderSettings);
  if (!(Number.isInteger(maxEmbeddingsPerCall) && maxEmbeddingsPerCall >= 1)) throw new O1Error('BAD_ARGUMENT', `maxEmbeddingsPerCall must be an integer >= 1, got ${maxEmbeddingsPerCall}`, { field: 'maxEmbeddingsPerCall' });
  if (typeof supportsParallelCalls !== 'boolean') throw new O1Error('BAD_ARGUMENT', `supportsParallelCalls must be a boolean, got ${JSON.stringify(supportsParallelCalls)}`, { field: 'supportsParallelCalls' });
  const encoder = new ThinkingEmbedder(encoderOptions);
  const fallbackId = defaultModelId(encoderOptions);

  const model = (modelId: string = fallbackId): O1EmbeddingModel => ({
    specificationVersion: 'v3',
    provider: O1_PROVIDER_KEY,
    modelId,
    maxEmbeddingsPerCall,
    supportsParallelCalls,
    encoder,
    async doEmbed(options: EmbeddingModelV3CallOptions): Promise<EmbeddingModelV3Result> {
      const { values, abortSignal } = options;
      if (values.length > maxEmbeddingsPerCall) throw new O1Error('BAD_ARGUMENT', `${values.length} values in one call; at most ${maxEmbeddingsPerCall} (maxEmbeddingsPerCall)`, { field: 'values' });
      const { inputType, thoughts } = readO1ProviderOptions(options.providerOptions);
      if (abortSignal?.aborted === true) throw new O1Error('CANCELLED', 'embedding was cancelled', {}, { cause: abortSignal.reason });
      if (inputType === 'document') {
        const result = await encoder.embedDocuments(values, { signal: abortSignal });
        return { embeddings: result.vectors.map((vector) => Array.from(vector)), usage: { tokens: result.usage.tokens }, warnings: [] };
      }
      const result = await encoder.embedQueries(values, { signal: abortSignal, thoughts });
      return {
        embeddings: result.vectors.map((vector) => Array.from(vector)),
        usage: { tokens: result.usage.tokens },
        providerMetadata: { [O1_PROVIDER_KEY]: { inputType, thoughts: result.thoughts } },
        warnings: [],
      };
    },
  });

  const provider = ((modelId?: string) => model(modelId)) as O1EmbedderProvider;
  Object.assign(provider, {
    embedding: model,
    embeddingModel: model,
    textEmbedding: model,
    textEmbeddingModel: model,
    encoder,
    close: () => encoder.close(),
  });
  return provider;
}
