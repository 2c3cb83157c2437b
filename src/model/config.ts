/**
 * Hugging Face `config.json` <-> {@link DecoderConfig}, for LlamaForCausalLM and
 * Qwen2ForCausalLM checkpoints.
 */
import { readFile } from 'node:fs/promises';
import { O1Error } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Architecture, DecoderConfig } from './types.js';

const ARCHITECTURE_CLASSES: Record<string, Architecture> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
};

const MODEL_TYPES: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2' };

/**
 * Parses a Hugging Face `config.json` object. The architecture comes from `architectures[0]`
 * (or `model_type`); Qwen2 gets q/k/v biases. Defaults follow transformers' config classes:
 * `num_key_value_heads` = `num_attention_heads`, `head_dim` = hidden / heads, `rope_theta` 10000,
 * `rms_norm_eps` 1e-6, `tie_word_embeddings` false, `max_position_embeddings` 2048. Hugging Face
 * checkpoints rotate halves, so `ropeStyle` is `half`. A list of EOS ids keeps the first.
 *
 * Throws UNKNOWN_ARCHITECTURE for other families, MISSING_FIELD for a missing size, and
 * UNSUPPORTED_OP for RoPE scaling or sliding-window attention (which this engine does not do).
 *
 * @example
 * const config = parseHuggingFaceConfig(JSON.parse(text), 'model/config.json')
 */
export function parseHuggingFaceConfig(json: unknown, file = 'config.json'): DecoderConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new O1Error('MALFORMED_JSON', 'config.json is not a JSON object', { file });
  }
  const record = json as Record<string, unknown>;
  const architectureNames = Array.isArray(record.architectures) ? record.architectures : [];
  const className = typeof architectureNames[0] === 'string' ? architectureNames[0] : undefined;
  const modelType = typeof record.model_type === 'string' ? record.model_type : undefined;
  const architecture =
    className !== undefined ? ARCHITECTURE_CLASSES[className] : modelType !== undefined ? MODEL_TYPES[modelType] : undefined;
  if (architecture === undefined) {
    throw new O1Error(
      'UNKNOWN_ARCHITECTURE',
      `architecture ${className ?? modelType ?? '(none)'} is not supported (supported: ${Object.keys(ARCHITECTURE_CLASSES).join(', ')})`,
      { file, field: className !== undefined ? 'architectures' : 'model_type' },
    );
  }
  const integer = (field: string, fallback?: number): number => {
    const value = record[field];
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw new O1Error('MISSING_FIELD', `${field} is missing`, { file, field });
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new O1Error('MISSING_FIELD', `${field} must be a non-negative integer`, { file, field });
    }
    return value;
  };
  const float = (field: string, fallback: number): number => {
    const value = record[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new O1Error('MISSING_FIELD', `${field} must be a number`, { file, field });
    }
    return value;
  };
  const optionalId = (field: string): number | undefined => {
    const value = record[field];
    const first = Array.isArray(value) ? value[0] : value;
    return typeof first === 'number' && Number.isInteger(first) ? first : undefined;
  };

  if (record.rope_scaling !== undefined && record.rope_scaling !== null) {
    throw new O1Error('UNSUPPORTED_OP', 'rope_scaling is not supported', { file, field: 'rope_scaling' });
  }
  if (record.use_sliding_window === true) {
    throw new O1Error('UNSUPPORTED_OP', 'sliding-window attention is not supported', { file, field: 'use_sliding_window' });
  }
  const hiddenSize = integer('hidden_size');
  const numAttentionHeads = integer('num_attention_heads');
  const config: DecoderConfig = {
    architecture,
    hiddenSize,
    intermediateSize: integer('intermediate_size'),
    numHiddenLayers: integer('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads: integer('num_key_value_heads', numAttentionHeads),
    headDim: integer('head_dim', numAttentionHeads > 0 ? Math.floor(hiddenSize / numAttentionHeads) : 0),
    ropeTheta: float('rope_theta', 10000),
    rmsNormEps: float('rms_norm_eps', 1e-6),
    vocabSize: integer('vocab_size'),
    tieWordEmbeddings: record.tie_word_embeddings === true,
    maxPositionEmbeddings: integer('max_position_embeddings', 2048),
    attentionBias: architecture === 'qwen2' || record.attention_bias === true,
    ropeStyle: 'half',
  };
  // Absent ids stay absent (not `undefined`), so configs compare equal after a round trip.
  for (const [key, field] of [['bosTokenId', 'bos_token_id'], ['eosTokenId', 'eos_token_id'], ['padTokenId', 'pad_token_id']] as const) {
    const id = optionalId(field);
    if (id !== undefined) config[key] = id;
  }
  checkConfig(config, file);
  return config;
}

/**
 * Throws SHAPE_MISMATCH when the sizes cannot describe a decoder (e.g. heads not dividing).
 *
 * @example
 * checkConfig(config, 'config.json')
 */
export function checkConfig(config: DecoderConfig, file: string): void {
  const problems: [boolean, string, string][] = [
    [config.numAttentionHeads > 0, 'num_attention_heads', 'must be positive'],
    [config.numKeyValueHeads > 0 && config.numAttentionHeads % config.numKeyValueHeads === 0, 'num_key_value_heads', 'must divide num_attention_heads'],
    [config.headDim > 0 && config.headDim % 2 === 0, 'head_dim', 'must be positive and even (RoPE pairs dimensions)'],
    [config.hiddenSize > 0 && config.vocabSize > 0 && config.intermediateSize > 0, 'hidden_size', 'sizes must be positive'],
  ];
  for (const [ok, field, message] of problems) {
    if (!ok) throw new O1Error('SHAPE_MISMATCH', `${field} ${message}`, { file, field });
  }
}

/**
 * Reads and parses `config.json` (see {@link parseHuggingFaceConfig}).
 *
 * @example
 * const config = await readHuggingFaceConfig('models/qwen/config.json')
 */
export async function readHuggingFaceConfig(path: string): Promise<DecoderConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new O1Error('MISSING_FILE', 'cannot read config.json', { file: path }, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new O1Error('MALFORMED_JSON', 'config.json is not valid JSON', { file: path }, { cause: error });
  }
  return parseHuggingFaceConfig(json, path);
}

/**
 * The `config.json` object transformers would write for this configuration. `torchDtype`
 * defaults to `float32`. The RoPE style is not stored: Hugging Face checkpoints are always
 * `half`, so permute first ({@link withRopeStyle}) when the weights are `adjacent`.
 *
 * @example
 * JSON.stringify(toHuggingFaceConfig(config, 'bfloat16'))
 */
export function toHuggingFaceConfig(config: DecoderConfig, torchDtype = 'float32'): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: [config.architecture === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: config.architecture,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    num_key_value_heads: config.numKeyValueHeads,
    head_dim: config.headDim,
    hidden_act: 'silu',
    rope_theta: config.ropeTheta,
    rms_norm_eps: config.rmsNormEps,
    vocab_size: config.vocabSize,
    tie_word_embeddings: config.tieWordEmbeddings,
    max_position_embeddings: config.maxPositionEmbeddings,
    torch_dtype: torchDtype,
  };
  if (config.architecture === 'llama') {
    json.attention_bias = config.attentionBias;
    json.mlp_bias = false;
  } else {
    json.use_sliding_window = false;
  }
  if (config.bosTokenId !== undefined) json.bos_token_id = config.bosTokenId;
  if (config.eosTokenId !== undefined) json.eos_token_id = config.eosTokenId;
  if (config.padTokenId !== undefined) json.pad_token_id = config.padTokenId;
  return json;
}

/**
 * Writes `config.json` atomically (see {@link toHuggingFaceConfig}); `torchDtype` defaults to `float32`.
 *
 * @example
 * await writeHuggingFaceConfig('out/config.json', config, 'bfloat16')
 */
export async function writeHuggingFaceConfig(path: string, config: DecoderConfig, torchDtype = 'float32'): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(toHuggingFaceConfig(config, torchDtype), null, 2)}\n`);
}
