/**
 * Converting Q/K projection rows between the two RoPE pairings (see `RopeStyle`).
 *
 * A `half` model rotates dims (i, i + d/2) of each head; an `adjacent` one rotates (2i, 2i + 1).
 * Reordering the rows of q_proj/k_proj (and their biases) per head as
 * `adjacent[2i + j] = half[j * d/2 + i]` makes the two compute the same attention scores. This is
 * exactly Hugging Face's `convert_hf_to_gguf.py` `permute` (half -> adjacent) and the
 * `permute` of `convert_llama_weights_to_hf.py` (adjacent -> half).
 */
import type { RopeStyle } from '../../engine/ops.js';
import type { DecoderWeights, HostTensor, WeightMap } from '../types.js';
import { layerTensorName } from './tensor-names.js';

/**
 * Reorders the rows of a Q or K weight ([heads * headDim, in]) or bias ([heads * headDim]).
 *
 * @example
 * const adjacent = permuteRopeRows(qProj, numHeads, 'half', 'adjacent')
 */
export function permuteRopeRows(tensor: HostTensor, numHeads: number, from: RopeStyle, to: RopeStyle): HostTensor {
  if (from === to) return tensor;
  const rows = tensor.shape[0];
  const rowLength = tensor.shape.length === 1 ? 1 : tensor.data.length / rows;
  const headDim = rows / numHeads;
  const halfDim = headDim / 2;
  const data = new Float32Array(tensor.data.length);
  for (let head = 0; head < numHeads; head++) {
    for (let pair = 0; pair < halfDim; pair++) {
      for (let member = 0; member < 2; member++) {
        const adjacentRow = head * headDim + 2 * pair + member;
        const halfRow = head * headDim + member * halfDim + pair;
        const [target, source] = to === 'adjacent' ? [adjacentRow, halfRow] : [halfRow, adjacentRow];
        data.set(tensor.data.subarray(source * rowLength, (source + 1) * rowLength), target * rowLength);
      }
    }
  }
  return { shape: [...tensor.shape], data };
}

/**
 * The same model with its Q/K rows in `style` order (the input is returned unchanged when it
 * already is; otherwise a new map sharing the untouched tensors).
 *
 * @example
 * const forHuggingFace = withRopeStyle(llama2cModel, 'half')
 */
export function withRopeStyle(model: DecoderWeights, style: RopeStyle): DecoderWeights {
  const { config } = model;
  if (config.ropeStyle === style) return model;
  const weights: WeightMap = new Map(model.weights);
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    for (const [projection, heads] of [
      ['q_proj', config.numAttentionHeads],
      ['k_proj', config.numKeyValueHeads],
    ] as const) {
      for (const kind of ['weight', 'bias']) {
        const name = layerTensorName(layer, `self_attn.${projection}.${kind}`);
        const tensor = weights.get(name);
        if (tensor !== undefined) weights.set(name, permuteRopeRows(tensor, heads, config.ropeStyle, style));
      }
    }
  }
  return { config: { ...config, ropeStyle: style }, weights };
}
