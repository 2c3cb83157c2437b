/**
 * Forward-only decoder graphs for inference: a generation step (a prefill, or one decode step
 * against a slot KV cache) and an embedding pass. Both are the engine's {@link decoderForward}
 * (the same definition training uses, checked against llama.cpp in the tests) plus the shared
 * pooling helpers; only their inputs and outputs are arranged for inference:
 * - the KV cache is a set of slots: a decode step reads the past keys/values [B, kvHeads, P, d]
 *   and returns only the new ones ([B, kvHeads, T, d]); the host writes them into free slots. No
 *   Concat of the cache (it copied the whole cache every step). Attention is order-free and RoPE
 *   is applied before caching, so slot order does not matter;
 * - a decode step's position ids and additive attention bias (masking padded and unused slots)
 *   are computed on the host and fed in; a prefill and an embedding pass take the attention mask
 *   of a left-padded batch, as training does.
 */
import { Graph } from '../engine/graph.js';
import { declareDecoderParameters, decoderForward, decoderLogits, lastTokenPooling, meanPooling, type LayerKeyValues } from '../model/decoder-graph.js';
import type { DecoderConfig } from '../model/types.js';
import type { Pooling } from './pooling.js';

export { MASKED_BIAS } from '../model/decoder-graph.js';

/** Options for {@link buildGenerationStepGraph}. */
export interface GenerationStepGraphOptions {
  batch: number;
  /** New tokens per row (the padded prompt length for a prefill, 1 for a decode step). */
  length: number;
  /** Cache slots read (0 for a prefill). Default 0. */
  pastLength?: number;
}

/**
 * A generation step. Inputs: `input_ids` (int64 [B, T]) and the parameters by Hugging Face name;
 * for a prefill (P = 0) `attention_mask` (int64 [B, T], left padding); for a decode step
 * (P > 0) `position_ids` (int64 [B, T]), `attention_bias` (float [B, 1, T, P + T], past slots
 * first) and `past.{i}.key|value` [B, kvHeads, P, d]. Outputs: `logits` [B, vocab] at the last
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
  const inputIds = graph.input('input_ids', 'int64', [batch, length]);
  let forward;
  if (pastLength === 0) {
    forward = decoderForward(config, parameters, inputIds, graph.input('attention_mask', 'int64', [batch, length]), { returnNewKeyValues: true });
  } else {
    const cacheShape = [batch, config.numKeyValueHeads, pastLength, config.headDim];
    const positionIds = graph.input('position_ids', 'int64', [batch, length]);
    const attentionBias = graph.input('attention_bias', 'float32', [batch, 1, length, pastLength + length]);
    const pastKeyValues: LayerKeyValues[] = Array.from({ length: config.numHiddenLayers }, (_, layer) => ({
      key: graph.input(`past.${layer}.key`, 'float32', cacheShape),
      value: graph.input(`past.${layer}.value`, 'float32', cacheShape),
    }));
    forward = decoderForward(config, parameters, inputIds, undefined, { pastKeyValues, positionIds, attentionBias, returnNewKeyValues: true });
  }
  graph.output(decoderLogits(config, parameters, lastTokenPooling(forward.hidden, batch, length)), 'logits');
  forward.newKeyValues!.forEach(({ key, value }, layer) => {
    graph.output(key, `new.${layer}.key`);
    graph.output(value, `new.${layer}.value`);
  });
  return graph;
}

/**
 * An embedding pass. Inputs: `input_ids` and `attention_mask` (int64 [B, T], left padding) and
 * the parameters. Output `pooled` [B, hidden]: the final-norm hidden state at the last position
 * (`last`) or its mean over the mask (`mean`), not normalised. No LM head.
 *
 * @example
 * const graph = buildEmbeddingGraph(config, { batch: 16, length: 128, pooling: 'last' });
 */
export function buildEmbeddingGraph(config: DecoderConfig, options: { batch: number; length: number; pooling: Pooling }): Graph {
  const { batch, length } = options;
  const graph = new Graph({ name: `embed-${options.pooling}-${batch}x${length}` });
  const parameters = declareDecoderParameters(graph, config);
  const inputIds = graph.input('input_ids', 'int64', [batch, length]);
  const attentionMask = graph.input('attention_mask', 'int64', [batch, length]);
  const { hidden } = decoderForward(config, parameters, inputIds, attentionMask);
  graph.output(options.pooling === 'last' ? lastTokenPooling(hidden, batch, length) : meanPooling(hidden, attentionMask), 'pooled');
  return graph;
}
