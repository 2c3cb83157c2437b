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
import { open } from 'node:fs/promises';
import { O1Error } from '../../errors.js';
import { writeHandleAtomic } from '../../util/atomic-write.js';
import { GGUF_TOKEN_TYPE, type GgufTokenizerMetadata } from '../../tokenizer/types.js';
import type { Architecture, DecoderConfig, DecoderWeights, HostTensor, WeightMap } from '../types.js';
import { decodeBfloat16, decodeFloat16, decodeFloat32, elementCount, encodeFloat16, encodeFloat32, float16BitsToFloat32, float32ToFloat16Bits } from './numeric.js';
import { withRopeStyle } from './rope-permutation.js';
import { checkTensorShape, EMBEDDING_NAME, expectedTensorShapes, FINAL_NORM_NAME, LM_HEAD_NAME } from './tensor-names.js';

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types. */
const VALUE_TYPE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
type ScalarType = Exclude<keyof typeof VALUE_TYPE, 'array'>;

/** ggml tensor types this module reads or writes. */
const GGML_TYPE = { f32: 0, f16: 1, q8_0: 8, bf16: 30 } as const;
const QK8_0 = 32;
const Q8_0_BLOCK_BYTES = 34;

/** Tensor types the writer produces. */
export type GgufTensorType = 'f32' | 'f16' | 'q8_0';

/** A metadata value as read: numbers (bigint for 64-bit integers), strings, booleans, arrays. */
export type GgufMetadataValue = number | bigint | string | boolean | GgufMetadataValue[];

/** A metadata entry to write, with its GGUF type. */
export type GgufMetadataEntry =
  | { type: ScalarType; value: number | bigint | string | boolean }
  | { type: 'array'; itemType: ScalarType; values: (number | bigint | string | boolean)[] };

/** llama.cpp's pooling types (`{arch}.pooling_type`). */
const POOLING_TYPE = { none: 0, mean: 1, cls: 2, last: 3 } as const;

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
  poolingType?: keyof typeof POOLING_TYPE;
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

  scalar(type: ScalarType, value: number | bigint | string | boolean): void {
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
    this.scalar('u32', VALUE_TYPE[entry.type]);
    if (entry.type === 'array') {
      this.scalar('u32', VALUE_TYPE[entry.itemType]);
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
    ['general.alignment', u32(DEFAULT_ALIGNMENT)],
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
  if (options.poolingType !== undefined) entries.push([`${architecture}.pooling_type`, u32(POOLING_TYPE[options.poolingType])]);
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
  header.scalar('u32', MAGIC);
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
    offset += Math.ceil(tensor.byteLength / DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
  }
  header.padTo(DEFAULT_ALIGNMENT);

  await writeHandleAtomic(path, async (handle) => {
    await handle.write(header.bytes());
    for (const tensor of tensors) {
      const data = tensor.data();
      await handle.write(data);
      const padding = (DEFAULT_ALIGNMENT - (data.byteLength % DEFAULT_ALIGNMENT)) % DEFAULT_ALIGNMENT;
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

/** One tensor's description in a GGUF file; `offset` is absolute in the file. */
export interface GgufTensorInfo {
  name: string;
  /** ggml dims, ne0 (fastest) first. */
  dims: number[];
  type: number;
  offset: number;
  byteLength: number;
}

/** A parsed GGUF header. */
export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  fileSize: number;
}

/** The shortest decimal that is the same float32 (so an eps stored as 1e-5 reads back as 1e-5). */
function shortestFloat32(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let digits = 1; digits < 10; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** Thrown internally when the bytes read so far end before the header does. */
class NeedMoreBytes extends Error {}

class ByteReader {
  offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(count: number): void {
    if (this.offset + count > this.bytes.byteLength) throw new NeedMoreBytes();
  }

  scalar(type: number): GgufMetadataValue {
    const view = this.view;
    const at = this.offset;
    switch (type) {
      case VALUE_TYPE.u8: this.need(1); this.offset += 1; return view.getUint8(at);
      case VALUE_TYPE.i8: this.need(1); this.offset += 1; return view.getInt8(at);
      case VALUE_TYPE.bool: this.need(1); this.offset += 1; return view.getUint8(at) !== 0;
      case VALUE_TYPE.u16: this.need(2); this.offset += 2; return view.getUint16(at, true);
      case VALUE_TYPE.i16: this.need(2); this.offset += 2; return view.getInt16(at, true);
      case VALUE_TYPE.u32: this.need(4); this.offset += 4; return view.getUint32(at, true);
      case VALUE_TYPE.i32: this.need(4); this.offset += 4; return view.getInt32(at, true);
      case VALUE_TYPE.f32: this.need(4); this.offset += 4; return shortestFloat32(view.getFloat32(at, true));
      case VALUE_TYPE.u64: this.need(8); this.offset += 8; return view.getBigUint64(at, true);
      case VALUE_TYPE.i64: this.need(8); this.offset += 8; return view.getBigInt64(at, true);
      case VALUE_TYPE.f64: this.need(8); this.offset += 8; return view.getFloat64(at, true);
      case VALUE_TYPE.string: {
        const length = this.count();
        this.need(length);
        this.offset += length;
        return new TextDecoder().decode(this.bytes.subarray(at + 8, at + 8 + length));
      }
      case VALUE_TYPE.array: {
        this.need(4);
        const itemType = view.getUint32(at, true);
        this.offset += 4;
        if (itemType === VALUE_TYPE.array) throw new RangeError('nested arrays are not supported');
        const length = this.count();
        const values: GgufMetadataValue[] = new Array(length);
        for (let index = 0; index < length; index++) values[index] = this.scalar(itemType);
        return values;
      }
      default:
        throw new RangeError(`unknown metadata value type ${type}`);
    }
  }

  /** A u64 count that must fit a JS number. */
  count(): number {
    const value = this.scalar(VALUE_TYPE.u64) as bigint;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`count ${value} is too large`);
    return Number(value);
  }
}

function tensorByteLength(info: { dims: number[]; type: number; name: string }, file: string): number {
  const count = elementCount(info.dims);
  switch (info.type) {
    case GGML_TYPE.f32: return count * 4;
    case GGML_TYPE.f16:
    case GGML_TYPE.bf16: return count * 2;
    case GGML_TYPE.q8_0:
      if (info.dims[0] % QK8_0 !== 0) throw new O1Error('CORRUPT_MODEL_FILE', `Q8_0 tensor ${info.name} has rows of ${info.dims[0]} values`, { file, field: info.name });
      return (count / QK8_0) * Q8_0_BLOCK_BYTES;
    default:
      return -1; // other quantisations: listed, but refused when read
  }
}

function parseHeader(bytes: Uint8Array, fileSize: number, file: string): GgufHeader {
  const reader = new ByteReader(bytes);
  const magic = reader.scalar(VALUE_TYPE.u32);
  if (magic !== MAGIC) throw new O1Error('CORRUPT_MODEL_FILE', 'not a GGUF file (bad magic)', { file });
  const version = reader.scalar(VALUE_TYPE.u32) as number;
  if (version !== 2 && version !== 3) throw new O1Error('CORRUPT_MODEL_FILE', `GGUF version ${version} is not supported (2 or 3)`, { file, field: 'version' });
  const tensorCount = reader.count();
  const metadataCount = reader.count();
  const metadata = new Map<string, GgufMetadataValue>();
  for (let index = 0; index < metadataCount; index++) {
    const key = reader.scalar(VALUE_TYPE.string) as string;
    const type = reader.scalar(VALUE_TYPE.u32) as number;
    try {
      metadata.set(key, reader.scalar(type));
    } catch (error) {
      if (error instanceof RangeError) throw new O1Error('CORRUPT_MODEL_FILE', `metadata ${key}: ${error.message}`, { file, field: key });
      throw error;
    }
  }
  const alignmentValue = metadata.get('general.alignment');
  const alignment = typeof alignmentValue === 'number' && alignmentValue > 0 ? alignmentValue : DEFAULT_ALIGNMENT;
  const infos: { name: string; dims: number[]; type: number; relative: number }[] = [];
  for (let index = 0; index < tensorCount; index++) {
    const name = reader.scalar(VALUE_TYPE.string) as string;
    const dimensionCount = reader.scalar(VALUE_TYPE.u32) as number;
    if (dimensionCount > 4) throw new O1Error('CORRUPT_MODEL_FILE', `tensor ${name} has ${dimensionCount} dims`, { file, field: name });
    const dims = Array.from({ length: dimensionCount }, () => reader.count());
    const type = reader.scalar(VALUE_TYPE.u32) as number;
    infos.push({ name, dims, type, relative: reader.count() });
  }
  const dataStart = Math.ceil(reader.offset / alignment) * alignment;
  const tensors = infos.map((info) => {
    const byteLength = tensorByteLength(info, file);
    const offset = dataStart + info.relative;
    if (byteLength >= 0 && offset + byteLength > fileSize) {
      throw new O1Error('CORRUPT_MODEL_FILE', `tensor ${info.name} ends at byte ${offset + byteLength} but the file has ${fileSize} (truncated)`, {
        file,
        field: info.name,
      });
    }
    return { name: info.name, dims: info.dims, type: info.type, offset, byteLength };
  });
  return { version, metadata, tensors, alignment, fileSize };
}

type FileHandle = Awaited<ReturnType<typeof open>>;

async function readHeaderFrom(handle: FileHandle, file: string): Promise<GgufHeader> {
  const { size } = await handle.stat();
  // Read a prefix and grow it until the whole header parses (metadata can be megabytes).
  for (let length = Math.min(size, 1 << 20); ; length = Math.min(size, length * 4)) {
    const bytes = Buffer.alloc(length);
    await handle.read(bytes, 0, length, 0);
    try {
      return parseHeader(bytes, size, file);
    } catch (error) {
      if (error instanceof RangeError) throw new O1Error('CORRUPT_MODEL_FILE', `the GGUF header is corrupt: ${error.message}`, { file }, { cause: error });
      if (!(error instanceof NeedMoreBytes)) throw error;
      if (length === size) throw new O1Error('CORRUPT_MODEL_FILE', `the file ends (at ${size} bytes) inside the GGUF header (truncated)`, { file });
    }
  }
}

async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw new O1Error('MISSING_FILE', 'cannot open the GGUF file', { file: path }, { cause: error });
  }
}

/**
 * Reads a GGUF header: metadata and tensor infos (no tensor data).
 *
 * @example
 * const { metadata } = await readGgufHeader('model.gguf'); metadata.get('general.architecture')
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const handle = await openForReading(path);
  try {
    return await readHeaderFrom(handle, path);
  } finally {
    await handle.close();
  }
}

async function readTensor(handle: FileHandle, info: GgufTensorInfo, file: string): Promise<HostTensor> {
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
 * The `tokenizer.ggml.*` metadata as a {@link GgufTokenizerMetadata} (undefined when absent).
 *
 * @example
 * const vocabulary = tokenizerMetadataFromGguf((await readGgufHeader('model.gguf')).metadata)
 */
export function tokenizerMetadataFromGguf(metadata: Map<string, GgufMetadataValue>, file = 'model.gguf'): GgufTokenizerMetadata | undefined {
  const model = metadata.get('tokenizer.ggml.model');
  if (model === undefined) return undefined;
  if (model !== 'llama' && model !== 'gpt2') {
    throw new O1Error('CORRUPT_TOKENIZER', `tokenizer model ${String(model)} is not supported (llama, gpt2)`, { file, field: 'tokenizer.ggml.model' });
  }
  const tokens = metadata.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens) || !tokens.every((token) => typeof token === 'string')) {
    throw new O1Error('CORRUPT_TOKENIZER', 'tokenizer.ggml.tokens is missing', { file, field: 'tokenizer.ggml.tokens' });
  }
  const numbers = (key: string) => {
    const value = metadata.get(key);
    return Array.isArray(value) ? value.map(Number) : undefined;
  };
  const id = (key: string) => {
    const value = metadata.get(`tokenizer.ggml.${key}`);
    return typeof value === 'number' ? value : undefined;
  };
  const flag = (key: string) => {
    const value = metadata.get(`tokenizer.ggml.${key}`);
    return typeof value === 'boolean' ? value : undefined;
  };
  const merges = metadata.get('tokenizer.ggml.merges');
  const pre = metadata.get('tokenizer.ggml.pre');
  const template = metadata.get('tokenizer.chat_template');
  return {
    model,
    pre: typeof pre === 'string' ? pre : undefined,
    tokens: tokens as string[],
    scores: numbers('tokenizer.ggml.scores'),
    tokenTypes: numbers('tokenizer.ggml.token_type') ?? tokens.map(() => GGUF_TOKEN_TYPE.normal),
    merges: Array.isArray(merges) ? (merges as string[]) : undefined,
    bosTokenId: id('bos_token_id'),
    eosTokenId: id('eos_token_id'),
    unknownTokenId: id('unknown_token_id'),
    paddingTokenId: id('padding_token_id'),
    addBosToken: flag('add_bos_token'),
    addEosToken: flag('add_eos_token'),
    addSpacePrefix: flag('add_space_prefix'),
    chatTemplate: typeof template === 'string' ? template : undefined,
  };
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
  const handle = await openForReading(path);
  try {
    const header = await readHeaderFrom(handle, path);
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
