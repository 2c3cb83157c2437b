/** The O1 Embedder core: token layout, the O1 model (thinks and embeds), the thought cache. */
export * from './layout.js';
export {
  aggregateThoughtEmbeddings, modelIdentity, O1Model, prepareO1Model,
  type DocumentEmbeddingOptions, type O1ModelOptions, type O1ModelStats, type PreparedO1Model, type QueryEmbeddingOptions,
  type ThinkingOptions, type ThoughtAggregation, type ThoughtfulEmbedding,
} from './model.js';
export { ThoughtCache, type ThoughtKey } from '../util/thought-cache.js';
