/**
 * The Llama / Qwen2 decoder as an engine graph: parameters named as Hugging Face names them,
 * left-padded batches, RoPE in either pairing, grouped KV heads, an optional slot KV cache, and
 * the poolings and losses O1 Embedder trains with. Training, embedding and generation graphs all
 * call {@link decoderForward}.
 */
import { O1Error } from '../errors.js';
import { gradients as gradientsFor } from '../engine/autodiff.js';
import { Graph, type Tensor } from '../engine/graph.js';
import {
  add,
  cast,
  compare,
  concat,
  cumSum,
  gather,
  groupDistillation,
  IGNORE_INDEX,
  infoNce,
  l2Normalize,
  linear,
  linearCrossEntropy,
  matmul,
  maximum,
  mul,
  reduceSum,
  reshape,
  rmsNorm,
  rotaryEmbedding,
  ropeTables,
  slice,
  softmax,
  sub,
  swiglu,
  transpose,
  div,
  where,
  split,
} from '../engine/ops.js';
import type { DecoderConfig, WeightMap } from './types.js';

/** Float types a decoder graph can be built in (float64 for gradient checks). */
export type FloatType = 'float32' | 'float64';

/** Graph-shape choices, exported so benchmarks can compare them. */
export const decoderTuning = {
  /** Concatenate q/k/v and gate/up weights into one Gemm each. Default false. */
  fuseProjections: false,
};

/** Additive attention bias for masked positions: large enough that exp() underflows to 0. */
export const MASKED_BIAS = -1e9;

/**
 * The Hugging Face name and shape of every parameter, in a stable order.
 *
 * @example
 * decoderParameterShapes(config).get('model.layers.0.self_attn.q_proj.weight') // [hidden, hidden]
 */
export function decoderParameterShapes(config: DecoderConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const { hiddenSize, intermediateSize, headDim, numAttentionHeads, numKeyValueHeads, vocabSize } = config;
  shapes.set('model.embed_tokens.weight', [vocabSize, hiddenSize]);
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    shapes.set(`${prefix}.input_layernorm.weight`, [hiddenSize]);
    shapes.set(`${prefix}.self_attn.q_proj.weight`, [numAttentionHeads * headDim, hiddenSize]);
    shapes.set(`${prefix}.self_attn.k_proj.weight`, [numKeyValueHeads * headDim, hiddenSize]);
    shapes.set(`${prefix}.self_attn.v_proj.weight`, [numKeyValueHeads * headDim, hiddenSize]);
    if (config.attentionBias) {
      shapes.set(`${prefix}.self_attn.q_proj.bias`, [numAttentionHeads * headDim]);
      shapes.set(`${prefix}.self_attn.k_proj.bias`, [numKeyValueHeads * headDim]);
      shapes.set(`${prefix}.self_attn.v_proj.bias`, [numKeyValueHeads * headDim]);
    }
    shapes.set(`${prefix}.self_attn.o_proj.weight`, [hiddenSize, numAttentionHeads * headDim]);
    shapes.set(`${prefix}.post_attention_layernorm.weight`, [hiddenSize]);
    shapes.set(`${prefix}.mlp.gate_proj.weight`, [intermediateSize, hiddenSize]);
    shapes.set(`${prefix}.mlp.up_proj.weight`, [intermediateSize, hiddenSize]);
    shapes.set(`${prefix}.mlp.down_proj.weight`, [hiddenSize, intermediateSize]);
  }
  shapes.set('model.norm.weight', [hiddenSize]);
  if (!config.tieWordEmbeddings) shapes.set('lm_head.weight', [vocabSize, hiddenSize]);
  return shapes;
}

/**
 * Total parameter count (tied embeddings counted once).
 *
 * @example
 * decoderParameterCount(config) // 5,261,568 for d 256, 4 layers, vocab 8000, tied
 */
export function decoderParameterCount(config: DecoderConfig): number {
  let total = 0;
  for (const shape of decoderParameterShapes(config).values()) total += shape.reduce((product, dimension) => product * dimension, 1);
  return total;
}

/**
 * Declares every parameter as a graph parameter (trainable input) under its Hugging Face name.
 *
 * @example
 * const parameters = declareDecoderParameters(graph, config, 'float64');
 */
export function declareDecoderParameters(graph: Graph, config: DecoderConfig, dtype: FloatType = 'float32'): Map<string, Tensor> {
  const parameters = new Map<string, Tensor>();
  for (const [name, shape] of decoderParameterShapes(config)) parameters.set(name, graph.parameter(name, shape, dtype));
  return parameters;
}

function requireParameter(parameters: ReadonlyMap<string, Tensor>, name: string): Tensor {
  const tensor = parameters.get(name);
  if (tensor === undefined) throw new O1Error('MISSING_TENSOR', `decoder parameter ${name} is missing`, { field: name });
  return tensor;
}

/**
 * The LM head weight: lm_head.weight, or the embedding when tied.
 *
 * @example
 * const head = lmHeadWeight(config, parameters);
 */
export function lmHeadWeight(config: DecoderConfig, parameters: ReadonlyMap<string, Tensor>): Tensor {
  return requireParameter(parameters, config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
}

/** One layer's keys or values: [B, kvHeads, slots, headDim]. */
export interface LayerKeyValues {
  key: Tensor;
  value: Tensor;
}

/**
 * Options for {@link decoderForward}. Without any, the pass reads a left-padded batch and derives
 * position ids and the attention bias from the attention mask (training, embedding, prefill).
 * With `pastKeyValues` it also attends to a slot KV cache (inference decode).
 */
export interface DecoderForwardOptions {
  /**
   * A slot KV cache: one key and one value [B, kvHeads, P, headDim] per layer, read only (RoPE
   * already applied). Slots are unordered: which of them a query sees is the attention bias's
   * business, so `attentionBias` (or an attention mask over P + T positions) is required.
   * Default none (P = 0).
   */
  pastKeyValues?: readonly LayerKeyValues[];
  /**
   * Additive attention bias, float [B, 1, T, P + T] (past slots first, then the new tokens): 0
   * where a query may attend, {@link MASKED_BIAS} where not. Replaces the causal + padding bias
   * derived from the attention mask.
   */
  attentionBias?: Tensor;
  /** Position ids, int64 [B, T]. Replace the mask-derived cumsum(mask) − 1. */
  positionIds?: Tensor;
  /** Return each layer's keys/values of the new tokens, [B, kvHeads, T, headDim] (RoPE applied), for the host to cache. Default false. */
  returnNewKeyValues?: boolean;
}

/** What {@link decoderForward} returns. */
export interface DecoderForwardResult {
  /** Final hidden states after the last RMSNorm, [B * T, hidden] (row b * T + t). */
  hidden: Tensor;
  batch: number;
  length: number;
  /** Per layer, the new tokens' keys/values when `returnNewKeyValues`. */
  newKeyValues?: LayerKeyValues[];
}

/**
 * The decoder forward pass, the one definition of the model that training, embedding and
 * generation graphs all call. `inputIds` is int64 [B, T], padding on the left.
 *
 * Positions and masking come either from `attentionMask` (int64 [B, P + T]): position ids are
 * cumsum(mask) − 1 (clamped at 0), so the first real token is position 0 as Hugging Face
 * computes them for left padding, and the bias is causal plus padded keys; or, explicitly, from
 * `options.positionIds` and `options.attentionBias` (a slot cache's decode step, where the host
 * knows which slots are live). Padded query rows produce finite garbage that no loss or pooling
 * reads.
 *
 * Grouped KV heads attend by grouping the query heads ([B, kvHeads, group · T, d] against
 * [B, kvHeads, S, d]): no repeated keys/values. With a slot cache the scores against the past
 * slots and against the new keys are computed separately and only the score matrices are
 * concatenated, never the cache.
 *
 * @example
 * const graph = new Graph();
 * const parameters = declareDecoderParameters(graph, config);
 * const ids = graph.input('input_ids', 'int64', [2, 16]);
 * const mask = graph.input('attention_mask', 'int64', [2, 16]);
 * const { hidden } = decoderForward(config, parameters, ids, mask);
 * graph.output(lastTokenPooling(hidden, 2, 16), 'embedding');
 */
export function decoderForward(
  config: DecoderConfig,
  parameters: ReadonlyMap<string, Tensor>,
  inputIds: Tensor,
  attentionMask: Tensor | undefined,
  options: DecoderForwardOptions = {},
): DecoderForwardResult {
  const graph = inputIds.graph;
  const [batch, length] = inputIds.shape;
  const past = options.pastKeyValues;
  const pastLength = past?.[0]?.key.shape[2] ?? 0;
  const totalLength = pastLength + length;
  const embedding = requireParameter(parameters, 'model.embed_tokens.weight');
  const dtype = embedding.dtype as FloatType;
  const { headDim, numAttentionHeads: heads, numKeyValueHeads: kvHeads, hiddenSize } = config;
  if (heads % kvHeads !== 0) throw new O1Error('SHAPE_MISMATCH', `${heads} attention heads are not a multiple of ${kvHeads} KV heads`);
  const group = heads / kvHeads;
  if (past !== undefined) {
    if (past.length !== config.numHiddenLayers) throw new O1Error('SHAPE_MISMATCH', 'a KV cache needs one past key/value per layer');
    const cacheShape = [batch, kvHeads, pastLength, headDim];
    for (const { key, value } of past) {
      if (!sameDims(key.shape, cacheShape) || !sameDims(value.shape, cacheShape)) {
        throw new O1Error('SHAPE_MISMATCH', `past keys/values must be [${cacheShape.join(', ')}], got [${key.shape.join(', ')}] and [${value.shape.join(', ')}]`);
      }
    }
  }
  if (attentionMask !== undefined && (attentionMask.shape[0] !== batch || attentionMask.shape[1] !== totalLength)) {
    throw new O1Error('SHAPE_MISMATCH', `attention mask [${attentionMask.shape.join(', ')}] for ids [${batch}, ${length}] and ${pastLength} past slots`);
  }
  if (options.positionIds !== undefined && !sameDims(options.positionIds.shape, [batch, length])) {
    throw new O1Error('SHAPE_MISMATCH', `position ids [${options.positionIds.shape.join(', ')}] for ids [${batch}, ${length}]`);
  }
  if (options.attentionBias !== undefined && !sameDims(options.attentionBias.shape, [batch, 1, length, totalLength])) {
    throw new O1Error('SHAPE_MISMATCH', `attention bias [${options.attentionBias.shape.join(', ')}] must be [${batch}, 1, ${length}, ${totalLength}]`);
  }
  const requireMask = (what: string): Tensor => {
    if (attentionMask === undefined) throw new O1Error('SHAPE_MISMATCH', `decoderForward needs an attention mask or explicit ${what}`);
    return attentionMask;
  };

  // Position ids [B, T] (RoPE angles are looked up at them).
  const positions =
    options.positionIds ??
    graph.untaped(() => {
      const all = maximum(sub(cumSum(requireMask('position ids'), 1), graph.scalar(1, 'int64')), graph.scalar(0, 'int64'));
      return pastLength > 0 ? slice(all, [pastLength], [totalLength], [1]) : all;
    });
  const tables = ropeTables(totalLength, headDim, config.ropeStyle, config.ropeTheta);
  const toFloat = (values: Float64Array) => (dtype === 'float64' ? values : Float32Array.from(values));

  // Additive bias [B, 1, 1, T, S] (broadcast over KV heads and query groups): causal (query t
  // sits at absolute position past + t) plus padded keys, or the caller's.
  const bias = graph.untaped(() => {
    if (options.attentionBias !== undefined) return reshape(options.attentionBias, [batch, 1, 1, length, totalLength]);
    const mask = requireMask('attention bias');
    const causal = new Float64Array(length * totalLength);
    for (let query = 0; query < length; query++) for (let key = pastLength + query + 1; key < totalLength; key++) causal[query * totalLength + key] = MASKED_BIAS;
    const causalBias = graph.constant(toFloat(causal), [1, 1, 1, length, totalLength], dtype);
    const padding = mul(sub(graph.scalar(1, dtype), cast(mask, dtype)), MASKED_BIAS);
    return add(causalBias, reshape(padding, [batch, 1, 1, 1, totalLength]));
  });

  const scale = 1 / Math.sqrt(headDim);
  let hidden = reshape(gather(embedding, inputIds), [batch * length, hiddenSize]);
  const newKeyValues: LayerKeyValues[] = [];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    const prefix = `model.layers.${layer}`;
    const weight = (name: string) => requireParameter(parameters, `${prefix}.${name}`);
    const projectionBias = (name: string) => (config.attentionBias ? requireParameter(parameters, `${prefix}.${name}`) : undefined);
    const normed = rmsNorm(hidden, weight('input_layernorm.weight'), config.rmsNormEps);
    const widths = [heads * headDim, kvHeads * headDim, kvHeads * headDim];
    let projected: Tensor[];
    if (decoderTuning.fuseProjections) {
      // One Gemm for q, k and v (weights concatenated in the graph). Off by default: it measured
      // no faster at d_model 256, but wider models may differ.
      const names = ['q', 'k', 'v'];
      const fusedWeight = concat(names.map((name) => weight(`self_attn.${name}_proj.weight`)), 0);
      const fusedBias = config.attentionBias ? concat(names.map((name) => projectionBias(`self_attn.${name}_proj.bias`)!), 0) : undefined;
      projected = split(linear(normed, fusedWeight, fusedBias), widths, 1);
    } else {
      projected = (['q', 'k', 'v'] as const).map((name) => linear(normed, weight(`self_attn.${name}_proj.weight`), projectionBias(`self_attn.${name}_proj.bias`)));
    }
    const headsOf = (tensor: Tensor, headCount: number) => reshape(tensor, [batch, length, headCount, headDim]);
    const rotated = (tensor: Tensor, headCount: number) =>
      headsOf(rotaryEmbedding(reshape(tensor, [batch, length, headCount * headDim]), positions, tables, headCount, config.ropeStyle), headCount);
    // RoPE on [B, T, H·d], then heads first; queries grouped by KV head: [B, kv, group · T, d]
    // (head h = kv · group + g, as repeat_kv pairs them).
    const queries = reshape(transpose(rotated(projected[0], heads), [0, 2, 1, 3]), [batch, kvHeads, group * length, headDim]);
    const keys = transpose(rotated(projected[1], kvHeads), [0, 2, 1, 3]);
    const values = transpose(headsOf(projected[2], kvHeads), [0, 2, 1, 3]);
    if (options.returnNewKeyValues) newKeyValues.push({ key: keys, value: values });
    const scoresAgainst = (slotKeys: Tensor) => reshape(matmul(queries, slotKeys, { transposeB: true, alpha: scale }), [batch, kvHeads, group, length, slotKeys.shape[2]]);
    let scores = scoresAgainst(keys);
    if (past !== undefined) scores = concat([scoresAgainst(past[layer].key), scores], 4);
    const probabilities = softmax(add(scores, bias), -1);
    const weighted = (part: Tensor, slotValues: Tensor) => matmul(reshape(part, [batch, kvHeads, group * length, slotValues.shape[2]]), slotValues);
    const context =
      past === undefined
        ? weighted(probabilities, values)
        : add(weighted(slice(probabilities, [0], [pastLength], [4]), past[layer].value), weighted(slice(probabilities, [pastLength], [totalLength], [4]), values));
    const merged = reshape(transpose(reshape(context, [batch, heads, length, headDim]), [0, 2, 1, 3]), [batch * length, heads * headDim]);
    hidden = add(hidden, linear(merged, weight('self_attn.o_proj.weight')));
    const normedMlp = rmsNorm(hidden, weight('post_attention_layernorm.weight'), config.rmsNormEps);
    let gate: Tensor;
    let up: Tensor;
    if (decoderTuning.fuseProjections) {
      const fused = linear(normedMlp, concat([weight('mlp.gate_proj.weight'), weight('mlp.up_proj.weight')], 0));
      [gate, up] = split(fused, [config.intermediateSize, config.intermediateSize], 1);
    } else {
      gate = linear(normedMlp, weight('mlp.gate_proj.weight'));
      up = linear(normedMlp, weight('mlp.up_proj.weight'));
    }
    const activated = swiglu(gate, up);
    hidden = add(hidden, linear(activated, weight('mlp.down_proj.weight')));
  }
  const final = rmsNorm(hidden, requireParameter(parameters, 'model.norm.weight'), config.rmsNormEps);
  return { hidden: final, batch, length, newKeyValues: options.returnNewKeyValues ? newKeyValues : undefined };
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dimension, index) => dimension === b[index]);
}

/**
 * Logits [B * T, vocab] from final hidden states [B * T, hidden].
 *
 * @example
 * const logits = decoderLogits(config, parameters, decoderForward(config, parameters, ids, mask).hidden);
 */
export function decoderLogits(config: DecoderConfig, parameters: ReadonlyMap<string, Tensor>, hidden: Tensor): Tensor {
  return linear(hidden, lmHeadWeight(config, parameters));
}

/**
 * Last-token pooling: the hidden state at position T − 1 of each row (with left padding, the last real token). [B, hidden].
 *
 * @example
 * const embeddings = l2Normalize(lastTokenPooling(hidden, batch, length));
 */
export function lastTokenPooling(hidden: Tensor, batch: number, length: number): Tensor {
  const width = hidden.shape[hidden.rank - 1];
  if (length === 1) return reshape(hidden, [batch, width]);
  return reshape(slice(reshape(hidden, [batch, length, width]), [length - 1], [length], [1]), [batch, width]);
}

/**
 * Mean pooling over the positions the attention mask keeps. [B, hidden].
 *
 * @example
 * const embeddings = meanPooling(hidden, attentionMask);
 */
export function meanPooling(hidden: Tensor, attentionMask: Tensor): Tensor {
  const [batch, length] = attentionMask.shape;
  const width = hidden.shape[hidden.rank - 1];
  const weights = reshape(cast(attentionMask, hidden.dtype), [batch, length, 1]);
  const summed = reduceSum(mul(reshape(hidden, [batch, length, width]), weights), [1]);
  const counts = maximum(reduceSum(weights, [1]), hidden.graph.scalar(1, hidden.dtype));
  return div(summed, counts);
}

/**
 * Next-token cross-entropy with Hugging Face label semantics: `labels` [B, T] are aligned with
 * the inputs (usually input_ids with ignored positions set to -100) and position t predicts
 * label t + 1; with `attentionMask`, padded positions predict nothing. Mean over counted labels.
 *
 * @example
 * const loss = nextTokenLoss(config, parameters, hidden, labels, attentionMask);
 */
export function nextTokenLoss(
  config: DecoderConfig,
  parameters: ReadonlyMap<string, Tensor>,
  hidden: Tensor,
  labels: Tensor,
  attentionMask?: Tensor,
  ignoreIndex = IGNORE_INDEX,
): Tensor {
  const graph = hidden.graph;
  const [batch, length] = labels.shape;
  const shifted = graph.untaped(() => {
    const next = slice(labels, [1], [length], [1]);
    const last = graph.constant(BigInt64Array.from({ length: batch }, () => BigInt(ignoreIndex)), [batch, 1], 'int64');
    let targets = concat([next, last], 1);
    // A padded position has seen nothing, so it predicts nothing (Hugging Face would let the
    // last pad predict the first real token when that label is not -100).
    if (attentionMask !== undefined) targets = where(compare('Equal', attentionMask, graph.scalar(0, 'int64')), graph.scalar(ignoreIndex, 'int64'), targets);
    return reshape(targets, [batch * length]);
  });
  return linearCrossEntropy(hidden, lmHeadWeight(config, parameters), shifted, ignoreIndex);
}

/** Which loss a training graph computes. */
export type TrainingLoss = 'generation' | 'contrastive' | 'joint';

/** Options for {@link buildTrainingGraph}. */
export interface TrainingGraphOptions {
  /** Rows per batch. For 'contrastive' and 'joint': queries × (1 + groupSize), queries first. */
  batch: number;
  /** Tokens per row. */
  length: number;
  /** Default 'generation'. */
  loss?: TrainingLoss;
  /** Documents per query (1 positive + hard negatives) for the contrastive part. Default 1. */
  groupSize?: number;
  /** InfoNCE temperature. Default 0.02. */
  temperature?: number;
  /** Weight of the contrastive loss in 'joint'. Default 0.8. */
  contrastiveWeight?: number;
  /** Weight of the generation loss in 'joint'. Default 0.2. */
  generationWeight?: number;
  /** Embedding pooling. Default 'last' (O1 Embedder's `<emb>` token). */
  pooling?: 'last' | 'mean';
  /**
   * Adds FlagEmbedding's distillation term to the contrastive loss ('contrastive' and 'joint'):
   * inputs `teacher_targets` (float [Q, groupSize], the teacher's probabilities per group) and
   * `teacher_weights` (float [Q], 1/(queries with teacher scores) or 0); see
   * {@link groupDistillation}. Default false.
   */
  distillation?: boolean;
  /** Float type. Default 'float32'. */
  dtype?: FloatType;
  /** Names of the parameters to train (gradients emitted for them only). Default all. */
  trainable?: (name: string) => boolean;
  /**
   * Declares the graph's parameters instead of {@link declareDecoderParameters}: `decoder` is the
   * map decoderForward reads (its tensors may be computed, e.g. LoRA's W + s·B·A), `trainable`
   * the tensors gradients are emitted for (filtered by `trainable` too). Default: every decoder
   * weight is a trainable graph parameter.
   */
  declareParameters?: (graph: Graph, dtype: FloatType) => { decoder: Map<string, Tensor>; trainable: Map<string, Tensor> };
}

/**
 * Number of queries in a contrastive batch layout.
 *
 * @example
 * queriesInBatch(34, 16) // 2
 */
export function queriesInBatch(batch: number, groupSize: number): number {
  if (batch % (1 + groupSize) !== 0) throw new O1Error('SHAPE_MISMATCH', `batch ${batch} is not a multiple of 1 + group size ${groupSize}`);
  return batch / (1 + groupSize);
}

/**
 * A training graph: the decoder forward on one batch, the chosen loss, and the gradient of the
 * total loss for every trainable parameter. Inputs: `input_ids`, `attention_mask` (int64
 * [B, T]), `labels` (int64 [B, T], for 'generation' and 'joint'), and the parameters under their
 * Hugging Face names. Outputs: `loss`, `loss.generation` and/or `loss.contrastive`, and
 * `grad.<parameter name>`.
 *
 * For 'joint' (O1 Embedder), one forward pass over [queries; documents] gives the next-token
 * loss (labels on the query rows; document rows should carry -100) and the last-token
 * embeddings; loss = 0.8 · InfoNCE + 0.2 · CE (InfoNCE plus the distillation term when
 * `distillation` is set).
 *
 * @example
 * const graph = buildTrainingGraph(config, { batch: 2 * 17, length: 64, loss: 'joint', groupSize: 16 });
 */
export function buildTrainingGraph(config: DecoderConfig, options: TrainingGraphOptions): Graph {
  const graph = new Graph({ name: `decoder-train-${options.batch}x${options.length}` });
  const dtype = options.dtype ?? 'float32';
  const declared = options.declareParameters?.(graph, dtype);
  const parameters = declared?.decoder ?? declareDecoderParameters(graph, config, dtype);
  const { batch, length } = options;
  const lossKind = options.loss ?? 'generation';
  const inputIds = graph.input('input_ids', 'int64', [batch, length]);
  const attentionMask = graph.input('attention_mask', 'int64', [batch, length]);
  const labels = lossKind === 'contrastive' ? undefined : graph.input('labels', 'int64', [batch, length]);
  const { hidden } = decoderForward(config, parameters, inputIds, attentionMask);

  let generation: Tensor | undefined;
  let contrastive: Tensor | undefined;
  let distillation: Tensor | undefined;
  if (labels !== undefined) generation = nextTokenLoss(config, parameters, hidden, labels, attentionMask);
  if (lossKind !== 'generation') {
    const groupSize = options.groupSize ?? 1;
    const queries = queriesInBatch(batch, groupSize);
    const pooled = options.pooling === 'mean' ? meanPooling(hidden, attentionMask) : lastTokenPooling(hidden, batch, length);
    const embeddings = l2Normalize(pooled);
    const queryEmbeddings = slice(embeddings, [0], [queries], [0]);
    const documentEmbeddings = slice(embeddings, [queries], [batch], [0]);
    contrastive = infoNce(queryEmbeddings, documentEmbeddings, { groupSize, temperature: options.temperature ?? 0.02 });
    if (options.distillation === true) {
      const targets = graph.input('teacher_targets', dtype, [queries, groupSize]);
      const rowWeights = graph.input('teacher_weights', dtype, [queries]);
      distillation = groupDistillation(queryEmbeddings, documentEmbeddings, targets, rowWeights, { groupSize, temperature: options.temperature ?? 0.02 });
      // As FlagEmbedding's in-batch loss with kd_loss_type 'kl_div': distillation + InfoNCE.
      contrastive = add(contrastive, distillation);
    }
  }
  let total: Tensor;
  if (lossKind === 'joint') total = add(mul(contrastive!, options.contrastiveWeight ?? 0.8), mul(generation!, options.generationWeight ?? 0.2));
  else total = (generation ?? contrastive)!;

  graph.output(total, 'loss');
  if (generation !== undefined && lossKind === 'joint') graph.output(generation, 'loss.generation');
  if (contrastive !== undefined && lossKind === 'joint') graph.output(contrastive, 'loss.contrastive');
  if (distillation !== undefined) graph.output(distillation, 'loss.distillation');
  const trainable = [...(declared?.trainable ?? parameters).entries()].filter(([name]) => options.trainable?.(name) ?? true);
  const grads = gradientsFor(total, trainable.map(([, tensor]) => tensor));
  trainable.forEach(([name], index) => graph.output(grads[index], `grad.${name}`));
  return graph;
}

/** Options for {@link buildDecoderGraph}. */
export interface InferenceGraphOptions {
  batch: number;
  length: number;
  /** Outputs. Default { logits: 'all' }. 'last' gives only the last position's logits [B, vocab]. */
  logits?: 'all' | 'last' | 'none';
  /** Emit `last_hidden_state` [B, T, hidden] (final-norm output). Default false. */
  hiddenStates?: boolean;
  /** Emit `embedding`: last-token pooled, L2-normalised hidden state [B, hidden]. Default false. */
  embedding?: boolean;
  /** Default 'float32'. */
  dtype?: FloatType;
}

/**
 * A forward-only graph over a left-padded batch, without a KV cache: inputs `input_ids` and
 * `attention_mask` (int64 [B, T]) and the parameters by Hugging Face name. Outputs as options
 * say: `logits`, `last_hidden_state`, `embedding`. (Generation with a slot KV cache and pooled
 * embeddings: src/inference/graphs.ts, also on {@link decoderForward}.)
 *
 * @example
 * const graph = buildDecoderGraph(config, { batch: 1, length: 8, logits: 'last' });
 * const compiled = await compileGraph(graph);
 */
export function buildDecoderGraph(config: DecoderConfig, options: InferenceGraphOptions): Graph {
  const graph = new Graph({ name: `decoder-${options.batch}x${options.length}` });
  const dtype = options.dtype ?? 'float32';
  const parameters = declareDecoderParameters(graph, config, dtype);
  const { batch, length } = options;
  const inputIds = graph.input('input_ids', 'int64', [batch, length]);
  const attentionMask = graph.input('attention_mask', 'int64', [batch, length]);
  const result = decoderForward(config, parameters, inputIds, attentionMask);
  const logitsMode = options.logits ?? 'all';
  if (logitsMode === 'all') graph.output(reshape(decoderLogits(config, parameters, result.hidden), [batch, length, config.vocabSize]), 'logits');
  if (logitsMode === 'last') graph.output(decoderLogits(config, parameters, lastTokenPooling(result.hidden, batch, length)), 'logits');
  if (options.hiddenStates) graph.output(reshape(result.hidden, [batch, length, config.hiddenSize]), 'last_hidden_state');
  if (options.embedding) graph.output(l2Normalize(lastTokenPooling(result.hidden, batch, length)), 'embedding');
  return graph;
}

/**
 * Feeds for a decoder graph's parameter inputs: each weight's Float32Array by its Hugging Face
 * name (no copies).
 *
 * @example
 * const outputs = await compiled.run({ input_ids: ids, attention_mask: mask, ...weightFeeds(weights) });
 */
export function weightFeeds(weights: WeightMap): Record<string, Float32Array> {
  const feeds: Record<string, Float32Array> = {};
  for (const [name, tensor] of weights) feeds[name] = tensor.data;
  return feeds;
}
