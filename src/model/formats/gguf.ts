/**
 * GGUF v3 (llama.cpp's model format): writer and reader for Llama and Qwen2 decoders.
 *
 * Layout: magic `GGUF`, version u32, tensor count u64, metadata count u64, metadata key/values,
 * tensor infos (name, dims with ne0 fastest = in-features, ggml type, data offset), padding to
 * `general.alignment` (32), then tensor data, each tensor aligned. All little-endian.
 *
 * RoPE: llama.cpp's `llama` graph rotates adjacent pairs and its `qwen2` graph halves (NEOX).
 * The writer permutes Q/K rows to what the target graph expects (as convert_hf_to_gguf.py
 * does for Llama); the reader tags weights `adjacent` (llama) or `half` (qwen2), as stored.
 */
import { O1Error } from '../../errors.js';
import { writeHandleAtomic } from '../../util/atomic-write.js';
import { tokenizerMetadataFromGguf } from '../../tokenizer/gguf-tokenizer.js';
import { GGUF_TOKEN_TYPE, type GgufTokenizerMetadata } from '../../tokenizer/types.js';
import {
  GGML_TYPE,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE,
  openGguf,
  Q8_0_BLOCK_BYTES,
  QK8_0,
  readGgufHeaderFrom,
  type GgufFileHandle,
  type GgufHeader,
  type GgufMetadataValue,
  type GgufScalarType,
  type GgufTensorInfo,
} from '../../util/gguf-container.js';
import type { Architecture, DecoderConfig, DecoderWeights, HostTensor, WeightMap } from '../types.js';
import { decodeBfloat16, decodeFloat16, decodeFloat32, elementCount, encodeFloat16, encodeFloat32, float16BitsToFloat32, float32ToFloat16Bits } from './numeric.js';
import { withRopeStyle } from './rope-permutation.js';
import { checkTensorShape, EMBEDDING_NAME, expectedTensorShapes, FINAL_NORM_NAME, LM_HEAD_NAME } from './tensor-names.js';

// The container reader is shared with the tokenizer loader; re-exported so model users keep one import.
export { readGgufHeader, type GgufHeader, type GgufMetadataValue, type GgufTensorInfo } from '../../util/gguf-container.js';

/** Tensor types the writer produces. */
export type GgufTensorType = 'f32' | 'f16' | 'q8_0';

/** A metadata entry to write, with its GGUF type. */
export type GgufMetadataEntry =
  | { type: GgufScalarType; value: number | bigint | string | boolean }
  | { type: 'array'; itemType: GgufScalarType; values: (number | bigint | string | boolean)[] };

/**
 * llama.cpp's pooling types (`{arch}.pooling_type`, enum llama_pooling_type: LLAMA_POOLING_TYPE_LAST
 * = 3). An embedding context pools as the file says; with the key absent a decoder's context
 * returns the last token's state.
 *
 * @example
 * GGUF_POOLING_TYPE.last // 3
 */
export const GGUF_POOLING_TYPE = { none: 0, mean: 1, cls: 2, last: 3 } as const;

/** A pooling type by name, as {@link GgufWriteOptions.poolingType} takes it. */
export type GgufPoolingType = keyof typeof GGUF_POOLING_TYPE;

export interface GgufWriteOptions {
  /** Tensor type of 2-D weights. Default `f32`. 1-D tensors are always f32; a Q8_0 weight whose rows are not a multiple of 32 falls back to f16. */
  dtype?: GgufTensorType;
  /** llama.cpp graph to target. Default the model's architecture. */
  architecture?: Architecture;
  /** `general.name`. Default `o1-embedder`. */
  name?: string;
  /** `{arch}.context_length`. Default `config.maxPositionEmbeddings`. */
  contextLength?: number;
  /** `{arch}.pooling_type` for embedding contexts. Default: not written (llama.cpp then uses its default). */
  poolingType?: GgufPoolingType;
  /** Extra metadata, written after (and overriding) the standard keys. */
  extraMetadata?: Record<string, GgufMetadataEntry>;
}

/**
 * Hugging Face name -> GGUF name (undefined for names GGUF does not know).
 *
 * @example
 * ggufTensorName('model.layers.3.mlp.down_proj.weight') // 'blk.3.ffn_down.weight'
 */
export function ggufTensorName(huggingFaceName: string): string | undefined {
  if (huggingFaceName === EMBEDDING_NAME) return 'token_embd.weight';
  if (huggingFaceName === FINAL_NORM_NAME) return 'output_norm.weight';
  if (huggingFaceName === LM_HEAD_NAME) return 'output.weight';
  const match = /^model\.layers\.(\d+)\.(.+)$/.exec(huggingFaceName);
  if (match === null) return undefined;
  const suffix = LAYER_SUFFIXES.find(([huggingFace]) => huggingFace === match[2]);
  return suffix === undefined ? undefined : `blk.${match[1]}.${suffix[1]}`;
}

/**
 * GGUF name -> Hugging Face name (undefined for tensors this project does not use).
 *
 * @example
 * huggingFaceTensorName('token_embd.weight') // 'model.embed_tokens.weight'
 */
export function huggingFaceTensorName(ggufName: string): string | undefined {
  if (ggufName === 'token_embd.weight') return EMBEDDING_NAME;
  if (ggufName === 'output_norm.weight') return FINAL_NORM_NAME;
  if (ggufName === 'output.weight') return LM_HEAD_NAME;
  const match = /^blk\.(\d+)\.(.+)$/.exec(ggufName);
  if (match === null) return undefined;
  const suffix = LAYER_SUFFIXES.find(([, gguf]) => gguf === match[2]);
  return suffix === undefined ? undefined : `model.layers.${match[1]}.${suffix[0]}`;
}

const LAYER_SUFFIXES: [string, string][] = [
  ['input_layernorm.weight', 'attn_norm.weight'],
  ['self_attn.q_proj.weight', 'attn_q.weight'],
  ['self_attn.k_proj.weight', 'attn_k.weight'],
  ['self_attn.v_proj.weight', 'attn_v.weight'],
  ['self_attn.q_proj.bias', 'attn_q.bias'],
  ['self_attn.k_proj.bias', 'attn_k.bias'],
  ['self_attn.v_proj.bias', 'attn_v.bias'],
  ['self_attn.o_proj.weight', 'attn_output.weight'],
  ['post_attention_layernorm.weight', 'ffn_norm.weight'],
  ['mlp.gate_proj.weight', 'ffn_gate.weight'],
  ['mlp.up_proj.weight', 'ffn_up.weight'],
  ['mlp.down_proj.weight', 'ffn_down.weight'],
];

/** A growable little-endian byte buffer for the header part of the file. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  scalar(type: GgufScalarType, value: number | bigint | string | boolean): void {
    switch (type) {
      case 'string': {
        const bytes = Buffer.from(String(value), 'utf8');
        this.scalar('u64', BigInt(bytes.length));
        this.reserve(bytes.length);
        bytes.copy(this.buffer, this.length);
        this.length += bytes.length;
        return;
      }
      case 'bool':
      case 'u8':
        this.reserve(1);
        this.buffer.writeUInt8(type === 'bool' ? (value ? 1 : 0) : Number(value), this.length++);
        return;
      case 'i8':
        this.reserve(1);
        this.buffer.writeInt8(Number(value), this.length++);
        return;
      case 'u16':
      case 'i16':
        this.reserve(2);
        if (type === 'u16') this.buffer.writeUInt16LE(Number(value), this.length);
        else this.buffer.writeInt16LE(Number(value), this.length);
        this.length += 2;
        return;
      case 'u32':
      case 'i32':
      case 'f32':
        this.reserve(4);
        if (type === 'u32') this.buffer.writeUInt32LE(Number(value), this.length);
        else if (type === 'i32') this.buffer.writeInt32LE(Number(value), this.length);
        else this.buffer.writeFloatLE(Number(value), this.length);
        this.length += 4;
        return;
      case 'u64':
      case 'i64':
      case 'f64':
        this.reserve(8);
        if (type === 'u64') this.buffer.writeBigUInt64LE(BigInt(value as number | bigint), this.length);
        else if (type === 'i64') this.buffer.writeBigInt64LE(BigInt(value as number | bigint), this.length);
        else this.buffer.writeDoubleLE(Number(value), this.length);
        this.length += 8;
        return;
    }
  }

  entry(key: string, entry: GgufMetadataEntry): void {
    this.scalar('string', key);
    this.scalar('u32', GGUF_VALUE_TYPE[entry.type]);
    if (entry.type === 'array') {
      this.scalar('u32', GGUF_VALUE_TYPE[entry.itemType]);
      this.scalar('u64', BigInt(entry.values.length));
      for (const value of entry.values) this.scalar(entry.itemType, value);
    } else {
      this.scalar(entry.type, entry.value);
    }
  }

  padTo(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.reserve(padding);
    this.buffer.fill(0, this.length, this.length + padding);
    this.length += padding;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/**
 * Q8_0 quantisation (ggml's quantize_row_q8_0_ref): per block of 32 values an f16 scale
 * d = max|x| / 127 and 32 int8 values round(x / d).
 *
 * @example
 * const bytes = quantizeQ8_0(new Float32Array(64)) // 68 bytes
 */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % QK8_0 !== 0) throw new O1Error('SHAPE_MISMATCH', `Q8_0 needs a multiple of ${QK8_0} values, got ${values.length}`);
  const blocks = values.length / QK8_0;
  const bytes = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(bytes.buffer);
  for (let block = 0; block < blocks; block++) {
    let maximum = 0;
    for (let index = 0; index < QK8_0; index++) maximum = Math.max(maximum, Math.abs(values[block * QK8_0 + index]));
    const scale = Math.fround(maximum / 127);
    const inverse = scale !== 0 ? Math.fround(1 / scale) : 0;
    view.setUint16(block * Q8_0_BLOCK_BYTES, float32ToFloat16Bits(scale), true);
    for (let index = 0; index < QK8_0; index++) {
      const scaled = Math.fround(values[block * QK8_0 + index] * inverse);
      // roundf rounds halves away from zero.
      view.setInt8(block * Q8_0_BLOCK_BYTES + 2 + index, Math.sign(scaled) * Math.round(Math.abs(scaled)));
    }
  }
  return bytes;
}

/**
 * Dequantises Q8_0 blocks (`count` values).
 *
 * @example
 * const values = dequantizeQ8_0(quantizeQ8_0(weights), weights.length)
 */
export function dequantizeQ8_0(bytes: Uint8Array, count: number): Float32Array {
  const values = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let block = 0; block < count / QK8_0; block++) {
    const scale = float16BitsToFloat32(view.getUint16(block * Q8_0_BLOCK_BYTES, true));
    for (let index = 0; index < QK8_0; index++) values[block * QK8_0 + index] = scale * view.getInt8(block * Q8_0_BLOCK_BYTES + 2 + index);
  }
  return values;
}

interface PreparedTensor {
  name: string;
  dims: number[];
  type: number;
  data: () => Uint8Array;
  byteLength: number;
}

function prepareTensor(name: string, tensor: HostTensor, dtype: GgufTensorType): PreparedTensor {
  const dims = [...tensor.shape].reverse();
  const count = elementCount(tensor.shape);
  let type: keyof typeof GGML_TYPE = tensor.shape.length === 1 ? 'f32' : dtype;
  if (type === 'q8_0' && dims[0] % QK8_0 !== 0) type = 'f16';
  if (type === 'q8_0') return { name, dims, type: GGML_TYPE.q8_0, byteLength: (count / QK8_0) * Q8_0_BLOCK_BYTES, data: () => quantizeQ8_0(tensor.data) };
  if (type === 'f16') return { name, dims, type: GGML_TYPE.f16, byteLength: count * 2, data: () => encodeFloat16(tensor.data) };
  return { name, dims, type: GGML_TYPE.f32, byteLength: count * 4, data: () => encodeFloat32(tensor.data) };
}

/** The tokenizer padded to the model's vocabulary size (`[PADn]` unused tokens), as llama.cpp needs one token per embedding row. */
function padTokenizer(tokenizer: GgufTokenizerMetadata, vocabSize: number): GgufTokenizerMetadata {
  const count = tokenizer.tokens.length;
  if (count > vocabSize) {
    throw new O1Error('SHAPE_MISMATCH', `the tokenizer has ${count} tokens but the model only ${vocabSize} embedding rows (resize the model first)`, {
      field: 'tokenizer.ggml.tokens',
    });
  }
  if (tokenizer.tokenTypes.length !== count || (tokenizer.scores !== undefined && tokenizer.scores.length !== count)) {
    throw new O1Error('SHAPE_MISMATCH', 'tokens, scores and token types differ in length', { field: 'tokenizer.ggml.token_type' });
  }
  const extra = Array.from({ length: vocabSize - count }, (_, index) => count + index);
  return {
    ...tokenizer,
    tokens: [...tokenizer.tokens, ...extra.map((id) => `[PAD${id}]`)],
    tokenTypes: [...tokenizer.tokenTypes, ...extra.map(() => GGUF_TOKEN_TYPE.unused)],
    scores: tokenizer.scores === undefined ? undefined : [...tokenizer.scores, ...extra.map(() => -1e9)],
  };
}

function standardMetadata(model: DecoderWeights, tokenizer: GgufTokenizerMetadata, architecture: Architecture, options: GgufWriteOptions): [string, GgufMetadataEntry][] {
  const config = model.config;
  const u32 = (value: number): GgufMetadataEntry => ({ type: 'u32', value });
  const f32 = (value: number): GgufMetadataEntry => ({ type: 'f32', value });
  const fileType = { f32: 0, f16: 1, q8_0: 7 }[options.dtype ?? 'f32'];
  const entries: [string, GgufMetadataEntry][] = [
    ['general.architecture', { type: 'string', value: architecture }],
    ['general.name', { type: 'string', value: options.name ?? 'o1-embedder' }],
    ['general.alignment', u32(GGUF_DEFAULT_ALIGNMENT)],
    ['general.file_type', u32(fileType)],
    [`${architecture}.context_length`, u32(options.contextLength ?? config.maxPositionEmbeddings)],
    [`${architecture}.embedding_length`, u32(config.hiddenSize)],
    [`${architecture}.block_count`, u32(config.numHiddenLayers)],
    [`${architecture}.feed_forward_length`, u32(config.intermediateSize)],
    [`${architecture}.attention.head_count`, u32(config.numAttentionHeads)],
    [`${architecture}.attention.head_count_kv`, u32(config.numKeyValueHeads)],
    [`${architecture}.attention.key_length`, u32(config.headDim)],
    [`${architecture}.attention.value_length`, u32(config.headDim)],
    [`${architecture}.attention.layer_norm_rms_epsilon`, f32(config.rmsNormEps)],
    [`${architecture}.rope.freq_base`, f32(config.ropeTheta)],
    [`${architecture}.rope.dimension_count`, u32(config.headDim)],
    [`${architecture}.vocab_size`, u32(config.vocabSize)],
  ];
  if (options.poolingType !== undefined) entries.push([`${architecture}.pooling_type`, u32(GGUF_POOLING_TYPE[options.poolingType])]);
  entries.push(['tokenizer.ggml.model', { type: 'string', value: tokenizer.model }]);
  if (tokenizer.model === 'gpt2') entries.push(['tokenizer.ggml.pre', { type: 'string', value: tokenizer.pre ?? 'default' }]);
  entries.push(['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: tokenizer.tokens }]);
  if (tokenizer.scores !== undefined) entries.push(['tokenizer.ggml.scores', { type: 'array', itemType: 'f32', values: tokenizer.scores }]);
  entries.push(['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', values: tokenizer.tokenTypes }]);
  if (tokenizer.model === 'gpt2') entries.push(['tokenizer.ggml.merges', { type: 'array', itemType: 'string', values: tokenizer.merges ?? [] }]);
  const ids: [string, number | undefined][] = [
    ['bos_token_id', tokenizer.bosTokenId],
    ['eos_token_id', tokenizer.eosTokenId],
    ['unknown_token_id', tokenizer.unknownTokenId],
    ['padding_token_id', tokenizer.paddingTokenId],
  ];
  for (const [key, id] of ids) if (id !== undefined) entries.push([`tokenizer.ggml.${key}`, u32(id)]);
  if (tokenizer.addBosToken !== undefined) entries.push(['tokenizer.ggml.add_bos_token', { type: 'bool', value: tokenizer.addBosToken }]);
  if (tokenizer.addEosToken !== undefined) entries.push(['tokenizer.ggml.add_eos_token', { type: 'bool', value: tokenizer.addEosToken }]);
  if (tokenizer.model === 'llama' && tokenizer.addSpacePrefix !== undefined) {
    entries.push(['tokenizer.ggml.add_space_prefix', { type: 'bool', value: tokenizer.addSpacePrefix }]);
  }
  if (tokenizer.chatTemplate !== undefined) entries.push(['tokenizer.chat_template', { type: 'string', value: tokenizer.chatTemplate }]);
  return entries;
}

/**
 * Writes a decoder and its tokenizer as a GGUF v3 file that llama.cpp (node-llama-cpp) loads,
 * atomically (temporary file + rename). Targets `options.architecture` (default the model's):
 * Q/K rows are permuted to `adjacent` for `llama` and to `half` for `qwen2`; `qwen2` gets zero
 * q/k/v biases when the model has none (its graph requires them). The tokenizer is padded with
 * unused `[PADn]` tokens up to `config.vocabSize`.
 *
 * @example
 * await writeGguf('stories260K.gguf', model, tokenizer.ggufMetadata(), { dtype: 'q8_0' })
 */
export async function writeGguf(path: string, model: DecoderWeights, tokenizer: GgufTokenizerMetadata, options: GgufWriteOptions = {}): Promise<void> {
  const architecture = options.architecture ?? model.config.architecture;
  if (architecture !== 'llama' && architecture !== 'qwen2') {
    throw new O1Error('UNKNOWN_ARCHITECTURE', `GGUF architecture ${String(architecture)} is not supported`, { file: path, field: 'general.architecture' });
  }
  const dtype = options.dtype ?? 'f32';
  let prepared = withRopeStyle(model, architecture === 'llama' ? 'adjacent' : 'half');
  if (architecture === 'qwen2' && !prepared.config.attentionBias) prepared = withZeroBiases(prepared);
  const shapes = expectedTensorShapes(prepared.config);
  const tensors: PreparedTensor[] = [];
  for (const [name, shape] of shapes) {
    const tensor = prepared.weights.get(name);
    if (tensor === undefined) throw new O1Error('MISSING_TENSOR', `tensor ${name} is missing`, { file: path, field: name });
    checkTensorShape(tensor, shape, name, path);
    tensors.push(prepareTensor(ggufTensorName(name) as string, tensor, dtype));
  }

  const header = new ByteWriter();
  const metadata = new Map(standardMetadata(prepared, padTokenizer(tokenizer, prepared.config.vocabSize), architecture, options));
  for (const [key, entry] of Object.entries(options.extraMetadata ?? {})) metadata.set(key, entry);
  header.scalar('u32', GGUF_MAGIC);
  header.scalar('u32', 3);
  header.scalar('u64', BigInt(tensors.length));
  header.scalar('u64', BigInt(metadata.size));
  for (const [key, entry] of metadata) header.entry(key, entry);
  let offset = 0;
  for (const tensor of tensors) {
    header.scalar('string', tensor.name);
    header.scalar('u32', tensor.dims.length);
    for (const dim of tensor.dims) header.scalar('u64', BigInt(dim));
    header.scalar('u32', tensor.type);
    header.scalar('u64', BigInt(offset));
    offset += Math.ceil(tensor.byteLength / GGUF_DEFAULT_ALIGNMENT) * GGUF_DEFAULT_ALIGNMENT;
  }
  header.padTo(GGUF_DEFAULT_ALIGNMENT);

  await writeHandleAtomic(path, async (handle) => {
    await handle.write(header.bytes());
    for (const tensor of tensors) {
      const data = tensor.data();
      await handle.write(data);
      const padding = (GGUF_DEFAULT_ALIGNMENT - (data.byteLength % GGUF_DEFAULT_ALIGNMENT)) % GGUF_DEFAULT_ALIGNMENT;
      if (padding > 0) await handle.write(new Uint8Array(padding));
    }
  });
}

function withZeroBiases(model: DecoderWeights): DecoderWeights {
  const config = { ...model.config, attentionBias: true };
  const weights: WeightMap = new Map(model.weights);
  for (const [name, shape] of expectedTensorShapes(config)) {
    if (name.endsWith('.bias') && !weights.has(name)) weights.set(name, { shape, data: new Float32Array(shape[0]) });
  }
  return { config, weights };
}

async function readTensor(handle: GgufFileHandle, info: GgufTensorInfo, file: string): Promise<HostTensor> {
  if (info.byteLength < 0) {
    throw new O1Error('UNSUPPORTED_OP', `tensor ${info.name} has ggml type ${info.type}; only F32, F16, BF16 and Q8_0 are read`, { file, field: info.name });
  }
  const bytes = Buffer.alloc(info.byteLength);
  const { bytesRead } = await handle.read(bytes, 0, info.byteLength, info.offset);
  if (bytesRead !== info.byteLength) throw new O1Error('CORRUPT_MODEL_FILE', `tensor ${info.name} is truncated`, { file, field: info.name });
  const count = elementCount(info.dims);
  const data =
    info.type === GGML_TYPE.f32 ? decodeFloat32(bytes)
    : info.type === GGML_TYPE.f16 ? decodeFloat16(bytes)
    : info.type === GGML_TYPE.bf16 ? decodeBfloat16(bytes)
    : dequantizeQ8_0(bytes, count);
  return { shape: [...info.dims].reverse(), data };
}

/** What {@link readGguf} returns. */
export interface GgufModel {
  model: DecoderWeights;
  /** The `tokenizer.ggml.*` vocabulary, when the file has one. */
  tokenizer: GgufTokenizerMetadata | undefined;
  metadata: Map<string, GgufMetadataValue>;
}

function configFromMetadata(header: GgufHeader, file: string): DecoderConfig {
  const { metadata } = header;
  const architecture = metadata.get('general.architecture');
  if (architecture !== 'llama' && architecture !== 'qwen2') {
    throw new O1Error('UNKNOWN_ARCHITECTURE', `GGUF architecture ${String(architecture)} is not supported (llama, qwen2)`, { file, field: 'general.architecture' });
  }
  const number = (key: string, fallback?: number): number => {
    const value = metadata.get(`${architecture}.${key}`);
    if (typeof value === 'number') return value;
    if (typeof value === 'bigint') return Number(value);
    if (fallback !== undefined) return fallback;
    throw new O1Error('CORRUPT_MODEL_FILE', `metadata ${architecture}.${key} is missing or not a number`, { file, field: `${architecture}.${key}` });
  };
  const scaling = metadata.get(`${architecture}.rope.scaling.type`);
  if ((scaling !== undefined && scaling !== 'none') || header.tensors.some((tensor) => tensor.name === 'rope_freqs.weight')) {
    throw new O1Error('UNSUPPORTED_OP', 'RoPE scaling is not supported', { file, field: `${architecture}.rope.scaling.type` });
  }
  const embedding = header.tensors.find((tensor) => tensor.name === 'token_embd.weight');
  if (embedding === undefined) throw new O1Error('MISSING_TENSOR', 'tensor token_embd.weight is missing', { file, field: 'token_embd.weight' });
  const hiddenSize = number('embedding_length');
  const heads = number('attention.head_count');
  const id = (key: string) => {
    const value = metadata.get(`tokenizer.ggml.${key}`);
    return typeof value === 'number' ? value : undefined;
  };
  const config: DecoderConfig = {
    architecture,
    hiddenSize,
    intermediateSize: number('feed_forward_length'),
    numHiddenLayers: number('block_count'),
    numAttentionHeads: heads,
    numKeyValueHeads: number('attention.head_count_kv', heads),
    headDim: number('attention.key_length', hiddenSize / heads),
    ropeTheta: number('rope.freq_base', 10000),
    rmsNormEps: number('attention.layer_norm_rms_epsilon'),
    vocabSize: embedding.dims[1],
    tieWordEmbeddings: !header.tensors.some((tensor) => tensor.name === 'output.weight'),
    maxPositionEmbeddings: number('context_length'),
    attentionBias: header.tensors.some((tensor) => tensor.name === 'blk.0.attn_q.bias'),
    ropeStyle: architecture === 'llama' ? 'adjacent' : 'half',
  };
  for (const [field, key] of [['bosTokenId', 'bos_token_id'], ['eosTokenId', 'eos_token_id'], ['padTokenId', 'padding_token_id']] as const) {
    const value = id(key);
    if (value !== undefined) config[field] = value;
  }
  return config;
}

/**
 * Reads a GGUF file (`llama` or `qwen2`) into Hugging Face-named float32 weights plus its
 * tokenizer metadata. F32, F16, BF16 and Q8_0 tensors are converted; other quantisations are
 * UNSUPPORTED_OP. Truncated or corrupt files are CORRUPT_MODEL_FILE naming the file and tensor.
 * Weights keep the stored RoPE order (`adjacent` for llama, `half` for qwen2);
 * `saveHuggingFaceModel` permutes to `half`.
 *
 * @example
 * const { model, tokenizer } = await readGguf('model.gguf')
 * await saveHuggingFaceModel('out', model)
 */
export async function readGguf(path: string): Promise<GgufModel> {
  const handle = await openGguf(path);
  try {
    const header = await readGgufHeaderFrom(handle, path);
    const config = configFromMetadata(header, path);
    const byName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
    const weights: WeightMap = new Map();
    for (const [name, shape] of expectedTensorShapes(config)) {
      const ggufName = ggufTensorName(name) as string;
      const info = byName.get(ggufName);
      if (info === undefined) throw new O1Error('MISSING_TENSOR', `tensor ${ggufName} (${name}) is missing`, { file: path, field: ggufName });
      const tensor = await readTensor(handle, info, path);
      checkTensorShape(tensor, shape, ggufName, path);
      weights.set(name, tensor);
    }
    return { model: { config, weights }, tokenizer: tokenizerMetadataFromGguf(header.metadata, path), metadata: header.metadata };
  } finally {
    await handle.close();
  }
}
