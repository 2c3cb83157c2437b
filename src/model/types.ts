/** Spec types for decoder models, shared by loaders, exporters, the engine graph and inference. */
// RopeStyle belongs to the engine's RoPE op (the engine sits below the model folder).
import type { RopeStyle } from '../engine/ops.js';

/** Architecture family. Qwen2 differs from Llama by q/k/v biases (and usually tied embeddings). */
export type Architecture = 'llama' | 'qwen2';


/** A decoder's hyper-parameters, named after Hugging Face `config.json` fields. */
export interface DecoderConfig {
  architecture: Architecture;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  /** Per-head size; hiddenSize / numAttentionHeads unless the config says otherwise. */
  headDim: number;
  ropeTheta: number;
  rmsNormEps: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  /** True for Qwen2: q_proj, k_proj and v_proj carry a bias. */
  attentionBias: boolean;
  /** RoPE pairing of the weights as stored in memory. */
  ropeStyle: RopeStyle;
  bosTokenId?: number;
  eosTokenId?: number;
  padTokenId?: number;
}

export type TensorDataType = 'f32' | 'f16' | 'bf16' | 'q8_0';

/** One host tensor, always held as float32 in memory (converted on load, quantised on save). */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * A model's weights by Hugging Face tensor name (`model.embed_tokens.weight`,
 * `model.layers.0.self_attn.q_proj.weight`, ..., `model.norm.weight`, `lm_head.weight` unless
 * tied). Linear weights are [out, in] as in PyTorch. Q/K rows are in `ropeStyle` order.
 */
export type WeightMap = Map<string, HostTensor>;

/** A loaded model: configuration plus weights. */
export interface DecoderWeights {
  config: DecoderConfig;
  weights: WeightMap;
}
