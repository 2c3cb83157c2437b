/**
 * LoRA (Hu et al. 2021) without touching the decoder's layer code: the training graph hands
 * decoderForward a parameter map in which each target weight is computed in-graph as
 * W = W0 + (alpha / rank) · B · A, with the frozen base W0 a plain graph input and only A and B
 * trainable. Everything else (embedding, LM head, norms, biases) is a frozen input too, as in the
 * O1 recipe (o1-method.md §4). Saving merges the adapters into W0.
 */
import { O1Error } from '../errors.js';
import type { Graph, Tensor } from '../engine/graph.js';
import { add, matmul, mul } from '../engine/ops.js';
import { SeededRandom } from '../util/random.js';
import { decoderParameterShapes, type FloatType } from '../model/decoder-graph.js';
import type { DecoderConfig, WeightMap } from '../model/types.js';

/** The projections LoRA can adapt, by their short names. */
export const LORA_TARGETS = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
} as const;

/** A short target name: q, k, v, o, gate, up or down. */
export type LoraTarget = keyof typeof LORA_TARGETS;

/** LoRA settings. */
export interface LoraOptions {
  /** Rank r. Default 32 (the O1 recipe). */
  rank: number;
  /** Scale numerator: the update is (alpha / rank) · B · A. Default 64. */
  alpha: number;
  /** Adapted projections. Default all seven: q, k, v, o, gate, up, down. */
  targets: readonly LoraTarget[];
}

/** The O1 recipe's LoRA settings (rank 32, alpha 64, all seven projections). */
export const DEFAULT_LORA: LoraOptions = { rank: 32, alpha: 64, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };

/** One adapted weight: its base name and the names of its A [rank, in] and B [out, rank]. */
export interface LoraSite {
  base: string;
  a: string;
  b: string;
  /** [out, in] of the base weight. */
  shape: readonly number[];
}

/**
 * Every adapted weight of a config, layer by layer. Adapter names follow PEFT without its
 * `base_model.model.` prefix: `model.layers.0.self_attn.q_proj.lora_A.weight`.
 *
 * @example
 * loraSites(config, DEFAULT_LORA)[0].a // 'model.layers.0.self_attn.q_proj.lora_A.weight'
 */
export function loraSites(config: DecoderConfig, lora: LoraOptions): LoraSite[] {
  const shapes = decoderParameterShapes(config);
  const sites: LoraSite[] = [];
  for (let layer = 0; layer < config.numHiddenLayers; layer++) {
    for (const target of lora.targets) {
      const module = LORA_TARGETS[target];
      if (module === undefined) throw new O1Error('BAD_ARGUMENT', `unknown LoRA target ${String(target)} (expected q, k, v, o, gate, up, down)`, { field: 'lora.targets' });
      const prefix = `model.layers.${layer}.${module}`;
      sites.push({ base: `${prefix}.weight`, a: `${prefix}.lora_A.weight`, b: `${prefix}.lora_B.weight`, shape: shapes.get(`${prefix}.weight`)! });
    }
  }
  return sites;
}

/**
 * Fresh adapters as PEFT initialises them: A uniform in ±1/√in (kaiming_uniform with a = √5), B
 * zero, so the adapted model starts equal to the base. Deterministic under `seed` (default 0).
 *
 * @example
 * for (const [name, tensor] of initializeLoraWeights(config, DEFAULT_LORA, 7)) weights.set(name, tensor);
 */
export function initializeLoraWeights(config: DecoderConfig, lora: LoraOptions, seed = 0): WeightMap {
  checkLora(lora);
  const random = new SeededRandom(seed);
  const adapters: WeightMap = new Map();
  for (const site of loraSites(config, lora)) {
    const [out, input] = site.shape;
    const bound = 1 / Math.sqrt(input);
    const a = new Float32Array(lora.rank * input);
    for (let index = 0; index < a.length; index++) a[index] = (2 * random.uniform() - 1) * bound;
    adapters.set(site.a, { shape: [lora.rank, input], data: a });
    adapters.set(site.b, { shape: [out, lora.rank], data: new Float32Array(out * lora.rank) });
  }
  return adapters;
}

function checkLora(lora: LoraOptions): void {
  if (!(Number.isInteger(lora.rank) && lora.rank >= 1)) throw new O1Error('BAD_ARGUMENT', `LoRA rank must be a positive integer, got ${lora.rank}`, { field: 'lora.rank' });
  if (!(Number.isFinite(lora.alpha) && lora.alpha > 0)) throw new O1Error('BAD_ARGUMENT', `LoRA alpha must be positive, got ${lora.alpha}`, { field: 'lora.alpha' });
  if (lora.targets.length === 0) throw new O1Error('BAD_ARGUMENT', 'LoRA needs at least one target module', { field: 'lora.targets' });
}

/**
 * A `declareParameters` hook for buildTrainingGraph / createTrainingStep: every decoder weight
 * becomes a frozen graph input (fed from the WeightMap under its own name, never trained), each
 * target weight is replaced by W0 + (alpha / rank) · B · A, and only the adapters are trainable.
 *
 * @example
 * const trainer = createTrainingStep(config, { batch, length, loss: 'joint', declareParameters: loraParameters(config, DEFAULT_LORA) });
 */
export function loraParameters(config: DecoderConfig, lora: LoraOptions): (graph: Graph, dtype: FloatType) => { decoder: Map<string, Tensor>; trainable: Map<string, Tensor> } {
  checkLora(lora);
  const sites = loraSites(config, lora);
  return (graph, dtype) => {
    const decoder = new Map<string, Tensor>();
    for (const [name, shape] of decoderParameterShapes(config)) decoder.set(name, graph.input(name, dtype, shape));
    const trainable = new Map<string, Tensor>();
    const scale = lora.alpha / lora.rank;
    for (const site of sites) {
      const [out, input] = site.shape;
      const a = graph.parameter(site.a, [lora.rank, input], dtype);
      const b = graph.parameter(site.b, [out, lora.rank], dtype);
      trainable.set(site.a, a);
      trainable.set(site.b, b);
      decoder.set(site.base, add(decoder.get(site.base)!, mul(matmul(b, a), scale)));
    }
    return { decoder, trainable };
  };
}

/**
 * The weights with every adapter merged in (W0 + (alpha / rank) · B · A, accumulated in float64)
 * and the adapter tensors dropped: a plain decoder WeightMap any loader reads. `weights` is not
 * changed.
 *
 * @example
 * await saveHuggingFaceModel('out/model', { config, weights: mergeLora(config, weights, DEFAULT_LORA) });
 */
export function mergeLora(config: DecoderConfig, weights: WeightMap, lora: LoraOptions): WeightMap {
  const merged: WeightMap = new Map(weights);
  const scale = lora.alpha / lora.rank;
  const rank = lora.rank;
  for (const site of loraSites(config, lora)) {
    const base = weights.get(site.base);
    const a = weights.get(site.a);
    const b = weights.get(site.b);
    if (base === undefined || a === undefined || b === undefined) throw new O1Error('MISSING_TENSOR', `LoRA merge lacks ${site.base} or its adapters`, { field: site.base });
    const [out, input] = site.shape;
    const data = new Float32Array(out * input);
    const row = new Float64Array(input);
    for (let i = 0; i < out; i++) {
      row.fill(0);
      for (let k = 0; k < rank; k++) {
        const coefficient = b.data[i * rank + k];
        if (coefficient === 0) continue;
        const offset = k * input;
        for (let j = 0; j < input; j++) row[j] += coefficient * a.data[offset + j];
      }
      for (let j = 0; j < input; j++) data[i * input + j] = base.data[i * input + j] + scale * row[j];
    }
    merged.set(site.base, { shape: [...base.shape], data });
    merged.delete(site.a);
    merged.delete(site.b);
  }
  return merged;
}
