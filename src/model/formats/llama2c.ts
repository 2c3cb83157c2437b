/**
 * llama2.c checkpoints (Karpathy's `run.c` "legacy" format, e.g. stories260K.bin): a header of
 * 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative
 * vocab_size means the classifier is not shared), then float32 weights in a fixed order.
 *
 * RoPE: llama2.c rotates adjacent pairs, and the weights are kept exactly as stored, tagged
 * `ropeStyle: 'adjacent'` (so writing GGUF arch `llama` needs no permutation, and
 * `saveHuggingFaceModel` permutes to `half` on the way out).
 */
import { open } from 'node:fs/promises';
import { O1Error } from '../../errors.js';
import type { DecoderConfig, DecoderWeights, HostTensor, WeightMap } from '../types.js';
import { EMBEDDING_NAME, FINAL_NORM_NAME, LM_HEAD_NAME, layerTensorName } from './tensor-names.js';

const HEADER_BYTES = 28;

/** Options for {@link loadLlama2cCheckpoint}. */
export interface Llama2cOptions {
  /** RMSNorm epsilon (not stored in the file). Default 1e-5, llama2.c's value. */
  rmsNormEps?: number;
  /** RoPE base (not stored in the file). Default 10000. */
  ropeTheta?: number;
}

/**
 * Loads a llama2.c checkpoint into Hugging Face-named tensors ([out, in] linear weights),
 * `ropeStyle: 'adjacent'`, BOS 1 and EOS 2 (the llama2.c tokenizer's ids). A shared classifier
 * gives tied embeddings. A truncated file is CORRUPT_MODEL_FILE naming the file and the first
 * tensor that is cut.
 *
 * @example
 * const model = await loadLlama2cCheckpoint('../shared/models/tinystories-260k/stories260K.bin')
 * model.config.hiddenSize // 64
 */
export async function loadLlama2cCheckpoint(path: string, options: Llama2cOptions = {}): Promise<DecoderWeights> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new O1Error('MISSING_FILE', 'cannot open the llama2.c checkpoint', { file: path }, { cause: error });
  }
  let bytes: Buffer;
  try {
    bytes = await handle.readFile();
  } finally {
    await handle.close();
  }
  return parseLlama2cCheckpoint(bytes, path, options);
}

/** Parses llama2.c checkpoint bytes (see {@link loadLlama2cCheckpoint}). */
export function parseLlama2cCheckpoint(bytes: Uint8Array, file = 'checkpoint.bin', options: Llama2cOptions = {}): DecoderWeights {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new O1Error('CORRUPT_MODEL_FILE', `the file has ${bytes.byteLength} bytes, fewer than the 28-byte llama2.c header`, { file });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [dim, hiddenDim, layers, heads, kvHeads, signedVocab, seqLen] = Array.from({ length: 7 }, (_, index) => view.getInt32(4 * index, true));
  const vocab = Math.abs(signedVocab);
  const header = { dim, hidden_dim: hiddenDim, n_layers: layers, n_heads: heads, n_kv_heads: kvHeads, vocab_size: vocab, seq_len: seqLen };
  for (const [field, value] of Object.entries(header)) {
    if (!(value > 0)) throw new O1Error('CORRUPT_MODEL_FILE', `header field ${field} is ${value}`, { file, field });
  }
  if (dim % heads !== 0 || heads % kvHeads !== 0 || (dim / heads) % 2 !== 0) {
    throw new O1Error('CORRUPT_MODEL_FILE', `dim ${dim}, n_heads ${heads} and n_kv_heads ${kvHeads} do not fit together`, { file, field: 'n_heads' });
  }
  const headDim = dim / heads;
  const kvDim = kvHeads * headDim;
  const config: DecoderConfig = {
    architecture: 'llama',
    hiddenSize: dim,
    intermediateSize: hiddenDim,
    numHiddenLayers: layers,
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    ropeTheta: options.ropeTheta ?? 10000,
    rmsNormEps: options.rmsNormEps ?? 1e-5,
    vocabSize: vocab,
    tieWordEmbeddings: signedVocab > 0,
    maxPositionEmbeddings: seqLen,
    attentionBias: false,
    ropeStyle: 'adjacent',
    bosTokenId: 1,
    eosTokenId: 2,
  };

  let offset = HEADER_BYTES;
  /** Next block of `count` floats, or CORRUPT_MODEL_FILE naming `what` if the file ends first. */
  const take = (count: number, what: string): Float32Array => {
    const end = offset + 4 * count;
    if (end > bytes.byteLength) {
      throw new O1Error('CORRUPT_MODEL_FILE', `the file ends at byte ${bytes.byteLength} inside ${what}, which needs bytes up to ${end} (truncated)`, {
        file,
        field: what,
      });
    }
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(bytes.subarray(offset, end));
    offset = end;
    return values;
  };
  /** Splits a [layers, ...shape] block into per-layer tensors. */
  const perLayer = (shape: number[], what: string, suffix: string, weights: WeightMap) => {
    const size = shape.reduce((product, value) => product * value, 1);
    const block = take(layers * size, what);
    for (let layer = 0; layer < layers; layer++) {
      weights.set(layerTensorName(layer, suffix), { shape, data: block.slice(layer * size, (layer + 1) * size) });
    }
  };

  const weights: WeightMap = new Map();
  const embedding: HostTensor = { shape: [vocab, dim], data: take(vocab * dim, 'token_embedding_table') };
  weights.set(EMBEDDING_NAME, embedding);
  perLayer([dim], 'rms_att_weight', 'input_layernorm.weight', weights);
  perLayer([dim, dim], 'wq', 'self_attn.q_proj.weight', weights);
  perLayer([kvDim, dim], 'wk', 'self_attn.k_proj.weight', weights);
  perLayer([kvDim, dim], 'wv', 'self_attn.v_proj.weight', weights);
  perLayer([dim, dim], 'wo', 'self_attn.o_proj.weight', weights);
  perLayer([dim], 'rms_ffn_weight', 'post_attention_layernorm.weight', weights);
  perLayer([hiddenDim, dim], 'w1', 'mlp.gate_proj.weight', weights);
  perLayer([dim, hiddenDim], 'w2', 'mlp.down_proj.weight', weights);
  perLayer([hiddenDim, dim], 'w3', 'mlp.up_proj.weight', weights);
  weights.set(FINAL_NORM_NAME, { shape: [dim], data: take(dim, 'rms_final_weight') });
  // Two RoPE tables (freq_cis_real, freq_cis_imag) that run.c skips: we recompute RoPE.
  const ropeTables = seqLen * (headDim / 2);
  take(2 * ropeTables, 'freq_cis tables');
  if (signedVocab < 0) weights.set(LM_HEAD_NAME, { shape: [vocab, dim], data: take(vocab * dim, 'wcls') });
  if (offset !== bytes.byteLength) {
    throw new O1Error('CORRUPT_MODEL_FILE', `${bytes.byteLength - offset} bytes follow the last tensor (not a llama2.c checkpoint of this header)`, {
      file,
    });
  }
  return { config, weights };
}
