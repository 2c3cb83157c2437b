/** Deterministic random decoder weights, for tiny test models and training from scratch. */
import { SeededRandom } from '../util/random.js';
import { decoderParameterShapes } from './decoder-graph.js';
import type { DecoderConfig, WeightMap } from './types.js';

/** Options for {@link initializeDecoderWeights}. */
export interface DecoderInitOptions {
  /** PRNG seed. Default 0. */
  seed?: number;
  /** Standard deviation of the normal init of embeddings and linear weights. Default 0.02 (Hugging Face's initializer_range). */
  standardDeviation?: number;
}

/**
 * Random weights for a config, by Hugging Face name: embeddings and linear weights normal(0,
 * std), RMSNorm weights 1, biases 0. The same seed gives the same weights.
 *
 * @example
 * const weights = initializeDecoderWeights(config, { seed: 7 });
 * weights.get('model.norm.weight')!.data // all ones
 */
export function initializeDecoderWeights(config: DecoderConfig, options: DecoderInitOptions = {}): WeightMap {
  const random = new SeededRandom(options.seed ?? 0);
  const standardDeviation = options.standardDeviation ?? 0.02;
  const weights: WeightMap = new Map();
  for (const [name, shape] of decoderParameterShapes(config)) {
    const size = shape.reduce((product, dimension) => product * dimension, 1);
    let data: Float32Array;
    if (name.endsWith('layernorm.weight') || name === 'model.norm.weight') data = new Float32Array(size).fill(1);
    else if (name.endsWith('.bias')) data = new Float32Array(size);
    else data = random.normalArray(size, standardDeviation);
    weights.set(name, { shape: [...shape], data });
  }
  return weights;
}

/**
 * A small Llama- or Qwen2-shaped config for tests and benchmarks (defaults: hidden 32, 2 layers, 4 heads, 2 KV heads, vocab 64).
 *
 * @example
 * const qwen = tinyDecoderConfig({ architecture: 'qwen2', ropeStyle: 'adjacent' });
 */
export function tinyDecoderConfig(overrides: Partial<DecoderConfig> = {}): DecoderConfig {
  const architecture = overrides.architecture ?? 'llama';
  const hiddenSize = overrides.hiddenSize ?? 32;
  const numAttentionHeads = overrides.numAttentionHeads ?? 4;
  return {
    architecture,
    hiddenSize,
    intermediateSize: 64,
    numHiddenLayers: 2,
    numAttentionHeads,
    numKeyValueHeads: 2,
    headDim: hiddenSize / numAttentionHeads,
    ropeTheta: 10000,
    rmsNormEps: 1e-6,
    vocabSize: 64,
    tieWordEmbeddings: architecture === 'qwen2',
    maxPositionEmbeddings: 512,
    attentionBias: architecture === 'qwen2',
    ropeStyle: 'half',
    ...overrides,
  };
}
