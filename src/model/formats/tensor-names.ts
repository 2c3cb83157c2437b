/**
 * The Hugging Face tensor names and shapes a decoder needs (the contract of
 * `src/model/types.ts`), and the check that a loaded weight map has exactly those.
 */
import { O1Error } from '../../errors.js';
import type { DecoderConfig, DecoderWeights, HostTensor, WeightMap } from '../types.js';
import { elementCount } from './numeric.js';

/**
 * Hugging Face name of a per-layer tensor.
 *
 * @example
 * layerTensorName(0, 'self_attn.q_proj.weight') // 'model.layers.0.self_attn.q_proj.weight'
 */
export function layerTensorName(layer: number, suffix: string): string {
  return `model.layers.${layer}.${suffix}`;
}

export const EMBEDDING_NAME = 'model.embed_tokens.weight';
export const FINAL_NORM_NAME = 'model.norm.weight';
export const LM_HEAD_NAME = 'lm_head.weight';

/**
 * Every tensor a decoder with this configuration needs, by Hugging Face name, with its PyTorch
 * shape ([out, in] for linear weights). `lm_head.weight` only when embeddings are untied; q/k/v
 * biases only when `attentionBias`.
 *
 * @example
 * expectedTensorShapes(config).get('model.layers.0.self_attn.k_proj.weight') // [kvHeads * headDim, hidden]
 */
export function expectedTensorShapes(config: DecoderConfig): Map<string, number[]> {
  const hidden = config.hiddenSize;
  const queryWidth = config.numAttentionHeads * config.headDim;
  const keyValueWidth = config.numKeyValueHeads * config.headDim;
  const shapes = new Map<string, number[]>();
  shapes.set(EMBEDDING_NAME, [config.vocabSize, hidden]);
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const name = (suffix: string) => layerTensorName(layer, suffix);
    shapes.set(name('input_layernorm.weight'), [hidden]);
    shapes.set(name('self_attn.q_proj.weight'), [queryWidth, hidden]);
    shapes.set(name('self_attn.k_proj.weight'), [keyValueWidth, hidden]);
    shapes.set(name('self_attn.v_proj.weight'), [keyValueWidth, hidden]);
    if (config.attentionBias) {
      shapes.set(name('self_attn.q_proj.bias'), [queryWidth]);
      shapes.set(name('self_attn.k_proj.bias'), [keyValueWidth]);
      shapes.set(name('self_attn.v_proj.bias'), [keyValueWidth]);
    }
    shapes.set(name('self_attn.o_proj.weight'), [hidden, queryWidth]);
    shapes.set(name('post_attention_layernorm.weight'), [hidden]);
    shapes.set(name('mlp.gate_proj.weight'), [config.intermediateSize, hidden]);
    shapes.set(name('mlp.up_proj.weight'), [config.intermediateSize, hidden]);
    shapes.set(name('mlp.down_proj.weight'), [hidden, config.intermediateSize]);
  }
  shapes.set(FINAL_NORM_NAME, [hidden]);
  if (!config.tieWordEmbeddings) shapes.set(LM_HEAD_NAME, [config.vocabSize, hidden]);
  return shapes;
}

/**
 * Whether two shapes are equal.
 *
 * @example
 * sameShape([2, 3], [2, 3]) // true
 */
export function sameShape(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((size, index) => size === right[index]);
}

/**
 * Picks exactly the tensors the configuration needs out of `available`, checking each exists
 * (MISSING_TENSOR) and has the expected shape and data length (SHAPE_MISMATCH). Extra tensors
 * (e.g. `rotary_emb.inv_freq`, or an `lm_head.weight` saved beside tied embeddings) are dropped.
 *
 * @example
 * const weights = selectDecoderTensors(config, tensorsFromFile, 'model.safetensors')
 */
export function selectDecoderTensors(config: DecoderConfig, available: WeightMap, file: string): WeightMap {
  const selected: WeightMap = new Map();
  for (const [name, shape] of expectedTensorShapes(config)) {
    const tensor = available.get(name);
    if (tensor === undefined) {
      throw new O1Error('MISSING_TENSOR', `tensor ${name} is missing`, { file, field: name });
    }
    checkTensorShape(tensor, shape, name, file);
    selected.set(name, tensor);
  }
  return selected;
}

/**
 * Throws SHAPE_MISMATCH naming the tensor when its shape or data length is not `shape`.
 *
 * @example
 * checkTensorShape(tensor, [64], 'model.norm.weight', 'model.safetensors')
 */
export function checkTensorShape(tensor: HostTensor, shape: readonly number[], name: string, file: string): void {
  if (!sameShape(tensor.shape, shape)) {
    throw new O1Error(
      'SHAPE_MISMATCH',
      `tensor ${name} has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`,
      { file, field: name },
    );
  }
  if (tensor.data.length !== elementCount(shape)) {
    throw new O1Error('SHAPE_MISMATCH', `tensor ${name} holds ${tensor.data.length} values for shape [${shape.join(', ')}]`, {
      file,
      field: name,
    });
  }
}

/**
 * Checks a whole model against its configuration (see {@link selectDecoderTensors}).
 *
 * @example
 * checkDecoderWeights(model, 'model.safetensors')
 */
export function checkDecoderWeights(model: DecoderWeights, file: string): void {
  selectDecoderTensors(model.config, model.weights, file);
}
