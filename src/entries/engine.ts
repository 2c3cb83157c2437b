/**
 * `o1-embedder/engine`: everything on this project's own engine, which loads ONNX Runtime
 * (onnxruntime-node) on import. The graph builder with reverse-mode autodiff, sessions and
 * optimizers; `DecoderModel` (generation with a KV cache, pooling, batched embedding); the O1
 * model (`O1Model`, `prepareO1Model`, the token layout); tokenizers; decoder configs and model
 * files (Hugging Face safetensors, llama2.c, GGUF); joint training; and the `engine`
 * Thinker/Embedder backends (also reachable without this import as
 * `createEmbedder({ backend: 'engine', model })` from the root export).
 *
 * @example
 * import { O1Model } from 'o1-embedder/engine';
 * const model = await O1Model.load('node_modules/o1-embedder/models/o1-small', { threads: 2 });
 * const [vector] = await model.embedDocuments([{ title: 'Vitamin D', text: 'It is made in the skin.' }]);
 *
 * @module
 */
// Each line re-exports a folder's own barrel (or one module): keep it that way, so a folder's
// owner decides what is public and this file needs no edit when a folder grows.
export * from '../engine/index.js';
export * from '../inference/model.js';
export * from '../inference/pooling.js';
export * from '../inference/sampling.js';
export { loadModelFiles, type LoadedModel, type LoadModelFilesOptions, type ModelSource } from '../inference/load.js';
export * from '../o1/index.js';
// Both define -100 (the label loss ignores); the explicit re-export settles the star exports' clash.
export { IGNORE_INDEX } from '../engine/index.js';
export * from '../tokenizer/index.js';
export type * from '../model/types.js';
export * from '../model/config.js';
export { initializeDecoderWeights, tinyDecoderConfig, type DecoderInitOptions } from '../model/decoder-init.js';
export { O1_SPECIAL_TOKENS, addSpecialTokens, resizeTokenEmbeddings } from '../model/special-tokens.js';
export * from '../model/formats/gguf.js';
export * from '../model/formats/safetensors.js';
export * from '../model/formats/llama2c.js';
export { readTrainingConfig, resolveTrainingConfig, type TrainingConfig, type TrainingMode } from '../training/config.js';
export { runTraining, type RunTrainingOptions, type TrainingLogRecord, type TrainingSummary } from '../training/trainer.js';
export { EngineThinker, type EngineThinkerConfig } from '../backends/engine/thinker.js';
export { EngineEmbedder, type EngineEmbedderConfig } from '../backends/engine/embedder.js';
