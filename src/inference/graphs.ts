/**
 * Forward-only decoder graphs for inference, built from the engine's ops: a generation step
 * (prefill, or one decode step against a slot cache) and an embedding pass.
 *
 * Same model as the engine's `decoderForward` (checked against it and against llama.cpp in the
 * tests), arranged for inference:
 * - linear layers are FusedMatMul with a transposed weight (ONNX Runtime's Gemm with transB on a
 *   weight fed as an input, which is what `linear` emits, measured 1.3-4x slower);
 * - the KV cache is a set of slots: the graph reads the past keys/values [B, kvHeads, P, d] and
 *   returns only the new ones ([B, kvHeads, T, d]); the host writes them into free slots. No
 *   Concat of the cache (it copied the whole cache every step). Attention is order-free, and RoPE
 *   is applied before caching, so slot order does not matter;
 * - grouped KV heads attend by grouping the query heads (no repeated K/V);
 * - position ids and the additive attention bias are computed on the host and fed in.
 */
import { Graph, type Tensor } from '../engine/graph.js';
import { add, concat, gather, matmul, reshape, rmsNorm, rope, ropeTables, slice, softmax, swiglu, transpose } from '../engine/ops.js';
import { declareDecoderParameters, lmHeadWeight } from '../model/decoder-graph.js';
import type { DecoderConfig } from '../model/types.js';
import type { Pooling } from './pooling.js';

/** The additive bias of a masked key. */
export const MASKED_BIAS = -1e9;

/** x [N, in] times weightᵀ ([out, in]) plus bias, as FusedMatMul. */
function project(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const [rows, width] = x.shape;
  const product = reshape(matmul(reshape(x, [1, rows, width]), weight, { transposeB: true }), [rows, weight.shape[0]]);
  return bias === undefined ? product : add(product, bias);
}

interface ForwardInputs {
  batch: number;
  length: number;
  /** Cache slots read (0: none). */
  pastLength: number;
  inputIds: Tensor;
  /** int64 [B, T]. */
  positionIds: Tensor;
  /** float [B, 1, 1, T, P + T]: 0 or {@link MASKED_BIAS}, causal and padding. */
  bias: Tensor;
  past?: { key: Tensor; value: Tensor }[];
}

/** The decoder trunk: hidden states [B * T, hidden] before the final norm, and each layer's new K/V [B, kv, T, d]. */
function trunk(config: DecoderConfig, parameters: ReadonlyMap<string, Tensor>, inputs: ForwardInputs): { hidden: Tensor; present: { key: Tensor; value: Tensor }[] } {
  const graph = inputs.inputIds.graph;
  const { batch, length, pastLength } = inputs;
  const { headDim, numAttentionHeads: heads, numKeyValueHeads: kvHeads, hiddenSize } = config;
  const group = heads / kvHeads;
  const weight = (name: string) => parameters.get(name)!;
  const tables = ropeTables(pastLength + length, headDim, config.ropeStyle, config.ropeTheta);
  const cos = reshape(gather(graph.constant(Float32Array.from(tables.cos), [pastLength + length, headDim], 'float32'), inputs.positionIds), [batch, length, 1, headDim]);
  const sin = reshape(gather(graph.constant(Float32Array.from(tables.sin), [pastLength + length, headDim], 'float32'), inputs.positionIds), [batch, length, 1, headDim]);
  const scale = 1 / Math.sqrt(headDim);
  let hidden = reshape(gather(weight('model.embed_tokens.weight'), inputs.inputIds), [batch * length, hiddenSize]);
  const present: { key: Tensor; value: Tensor }[] = [];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    const biasOf = (name: string) => (config.attentionBias ? weight(`${prefix}.self_attn.${name}_proj.bias`) : undefined);
    const normed = rmsNorm(hidden, weight(`${prefix}.input_layernorm.weight`), config.rmsNormEps);
    const headsOf = (name: 'q' | 'k' | 'v', count: number) => reshape(project(normed, weight(`${prefix}.self_attn.${name}_proj.weight`), biasOf(name)), [batch, length, count, headDim]);
    // Queries grouped by KV head: [B, kv, group * T, d] (head h = kv * group + g, as repeat_kv).
    const queries = reshape(transpose(rope(headsOf('q', heads), cos, sin, config.ropeStyle), [0, 2, 1, 3]), [batch, kvHeads, group * length, headDim]);
    const keys = transpose(rope(headsOf('k', kvHeads), cos, sin, config.ropeStyle), [0, 2, 1, 3]);
    const values = transpose(headsOf('v', kvHeads), [0, 2, 1, 3]);
    present.push({ key: keys, value: values });
    const scoreShape = (slots: number) => [batch, kvHeads, group, length, slots];
    let scores = reshape(matmul(queries, keys, { transposeB: true, alpha: scale }), scoreShape(length));
    if (pastLength > 0) {
      const pastScores = reshape(matmul(queries, inputs.past![layer].key, { transposeB: true, alpha: scale }), scoreShape(pastLength));
      scores = concat([pastScores, scores], 4);
    }
    const probabilities = softmax(add(scores, inputs.bias), -1);
    const flat = (tensor: Tensor, slots: number) => reshape(tensor, [batch, kvHeads, group * length, slots]);
    let context: Tensor;
    if (pastLength > 0) {
      const pastPart = matmul(flat(slice(probabilities, [0], [pastLength], [4]), pastLength), inputs.past![layer].value);
      const newPart = matmul(flat(slice(probabilities, [pastLength], [pastLength + length], [4]), length), values);
      context = add(pastPart, newPart);
    } else {
      context = matmul(flat(probabilities, length), values);
    }
    const merged = reshape(transpose(reshape(context, [batch, heads, length, headDim]), [0, 2, 1, 3]), [batch * length, heads * headDim]);
    hidden = add(hidden, project(merged, weight(`${prefix}.self_attn.o_proj.weight`)));
    const normedMlp = rmsNorm(hidden, weight(`${prefix}.post_attention_layernorm.weight`), config.rmsNormEps);
    const activated = swiglu(project(normedMlp, weight(`${prefix}.mlp.gate_proj.weight`)), project(normedMlp, weight(`${prefix}.mlp.up_proj.weight`)));
    hidden = add(hidden, project(activated, weight(`${prefix}.mlp.down_proj.weight`)));
  }
  return { hidden, present };
}

/** The last position's rows of [B * T, hidden]: [B, hidden]. */
function lastRows(hidden: Tensor, batch: number, length: number): Tensor {
  const width = hidden.shape[1];
  return length === 1 ? hidden : reshape(slice(reshape(hidden, [batch, length, width]), [length - 1], [length], [1]), [batch, width]);
}

/** Options for {@link buildGenerationStepGraph}. */
export interface GenerationStepGraphOptions {
  batch: number;
  /** New tokens per row (the padded prompt length for a prefill, 1 for a decode step). */
  length: number;
  /** Cache slots read (0 for a prefill). Default 0. */
  pastLength?: number;
}

/**
 * A generation step. Inputs: `input_ids` and `position_ids` (int64 [B, T]), `attention_bias`
 * (float [B, 1, 1, T, P + T], past slots first), `past.{i}.key|value` [B, kvHeads, P, d] when
 * P > 0, and the parameters by Hugging Face name. Outputs: `logits` [B, vocab] at the last
 * position and `new.{i}.key|value` [B, kvHeads, T, d] (RoPE applied) for the host to cache.
 *
 * @example
 * const step = buildGenerationStepGraph(config, { batch: 3, length: 1, pastLength: 64 });
 */
export function buildGenerationStepGraph(config: DecoderConfig, options: GenerationStepGraphOptions): Graph {
  const { batch, length } = options;
  const pastLength = options.pastLength ?? 0;
  const graph = new Graph({ name: `generate-${batch}x${length}+${pastLength}` });
  const parameters = declareDecoderParameters(graph, config);
  const cacheShape = [batch, config.numKeyValueHeads, pastLength, config.headDim];
  const inputs: ForwardInputs = {
    batch,
    length,
    pastLength,
    inputIds: graph.input('input_ids', 'int64', [batch, length]),
    positionIds: graph.input('position_ids', 'int64', [batch, length]),
    bias: graph.input('attention_bias', 'float32', [batch, 1, 1, length, pastLength + length]),
    past:
      pastLength > 0
        ? Array.from({ length: config.numHiddenLayers }, (_, layer) => ({
            key: graph.input(`past.${layer}.key`, 'float32', cacheShape),
            value: graph.input(`past.${layer}.value`, 'float32', cacheShape),
          }))
        : undefined,
  };
  const { hidden, present } = trunk(config, parameters, inputs);
  const last = rmsNorm(lastRows(hidden, batch, length), parameters.get('model.norm.weight')!, config.rmsNormEps);
  graph.output(project(last, lmHeadWeight(config, parameters)), 'logits');
  present.forEach(({ key, value }, layer) => {
    graph.output(key, `new.${layer}.key`);
    graph.output(value, `new.${layer}.value`);
  });
  return graph;
}

/**
 * An embedding pass. Inputs: `input_ids`, `position_ids` (int64 [B, T]), `attention_bias`
 * (float [B, 1, 1, T, T]), for mean pooling `pool_weights` (float [B, 1, T]: mask / count), and
 * the parameters. Output `pooled` [B, hidden]: the final-norm hidden state at the last position
 * (`last`) or its mask-weighted mean (`mean`), not normalised. No LM head.
 *
 * @example
 * const graph = buildEmbeddingGraph(config, { batch: 16, length: 128, pooling: 'last' });
 */
export function buildEmbeddingGraph(config: DecoderConfig, options: { batch: number; length: number; pooling: Pooling }): Graph {
  const { batch, length } = options;
  const graph = new Graph({ name: `embed-${options.pooling}-${batch}x${length}` });
  const parameters = declareDecoderParameters(graph, config);
  const inputs: ForwardInputs = {
    batch,
    length,
    pastLength: 0,
    inputIds: graph.input('input_ids', 'int64', [batch, length]),
    positionIds: graph.input('position_ids', 'int64', [batch, length]),
    bias: graph.input('attention_bias', 'float32', [batch, 1, 1, length, length]),
  };
  const { hidden } = trunk(config, parameters, inputs);
  const normWeight = parameters.get('model.norm.weight')!;
  if (options.pooling === 'last') {
    graph.output(rmsNorm(lastRows(hidden, batch, length), normWeight, config.rmsNormEps), 'pooled');
  } else {
    const weights = graph.input('pool_weights', 'float32', [batch, 1, length]);
    const normed = reshape(rmsNorm(hidden, normWeight, config.rmsNormEps), [batch, length, config.hiddenSize]);
    graph.output(reshape(matmul(weights, normed), [batch, config.hiddenSize]), 'pooled');
  }
  return graph;
}

/**
 * Host inputs for a pass over left-padded rows without a cache: position ids (cumsum(mask) − 1,
 * clamped at 0) and the causal + padding bias [B, 1, 1, T, T].
 */
export function prefillInputs(rows: readonly (readonly number[])[], length: number, padTokenId: number): { inputIds: BigInt64Array; positionIds: BigInt64Array; bias: Float32Array } {
  const batch = rows.length;
  const inputIds = new BigInt64Array(batch * length).fill(BigInt(padTokenId));
  const positionIds = new BigInt64Array(batch * length);
  const bias = new Float32Array(batch * length * length).fill(MASKED_BIAS);
  rows.forEach((row, index) => {
    const start = length - row.length;
    for (let position = 0; position < row.length; position++) {
      inputIds[index * length + start + position] = BigInt(row[position]);
      positionIds[index * length + start + position] = BigInt(position);
    }
    for (let query = 0; query < length; query++) {
      const base = (index * length + query) * length;
      // Real keys up to the query (padded queries see their own slot only, to stay finite).
      if (query < start) bias[base + query] = 0;
      else bias.fill(0, base + start, base + query + 1);
    }
  });
  return { inputIds, positionIds, bias };
}
