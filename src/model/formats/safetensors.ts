/**
 * safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`, then
 * the raw little-endian tensor bytes. Tensors are read one at a time through a file handle, so
 * multi-gigabyte checkpoints never need one giant buffer, and written to a temporary file that is
 * renamed into place.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { O1Error } from '../../errors.js';
import { writeHandleAtomic } from '../../util/atomic-write.js';
import { readHuggingFaceConfig, writeHuggingFaceConfig } from '../config.js';
import type { DecoderWeights, HostTensor, WeightMap } from '../types.js';
import {
  decodeBfloat16,
  decodeFloat16,
  decodeFloat32,
  elementCount,
  encodeBfloat16,
  encodeFloat16,
  encodeFloat32,
} from './numeric.js';
import { withRopeStyle } from './rope-permutation.js';
import { expectedTensorShapes, selectDecoderTensors } from './tensor-names.js';

/** Data types this module writes (and reads: F64 is read too). */
export type SafetensorsDataType = 'f32' | 'f16' | 'bf16';

const FILE_DTYPES: Record<SafetensorsDataType, string> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
const TORCH_DTYPES: Record<SafetensorsDataType, string> = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' };

/** Bytes per element of every dtype the format defines (so offsets of any file can be checked). */
const DTYPE_SIZES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};

/** Largest header accepted (the reference implementation's limit is 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a safetensors header; offsets are absolute positions in the file. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A parsed, validated safetensors header. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsEntry>;
}

/**
 * Validates a header against the file size: JSON shape, known dtypes, byte lengths matching
 * shapes, no overlaps, and every tensor inside the file (CORRUPT_MODEL_FILE naming the file and
 * the tensor otherwise).
 */
function parseHeader(headerBytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const corrupt = (message: string, field?: string) => new O1Error('CORRUPT_MODEL_FILE', message, { file, field });
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw new O1Error('CORRUPT_MODEL_FILE', 'the safetensors header is not valid JSON', { file }, { cause: error });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw corrupt('the safetensors header is not a JSON object');
  const dataStart = 8 + headerBytes.byteLength;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value !== null && typeof value === 'object') {
        for (const [key, text] of Object.entries(value as Record<string, unknown>)) if (typeof text === 'string') metadata[key] = text;
      }
      continue;
    }
    const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (entry === null || typeof entry !== 'object') throw corrupt(`tensor ${name} has no header entry`, name);
    const dtype = entry.dtype;
    if (typeof dtype !== 'string' || DTYPE_SIZES[dtype] === undefined) throw corrupt(`tensor ${name} has unknown dtype ${String(dtype)}`, name);
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((size) => Number.isInteger(size) && size >= 0)) {
      throw corrupt(`tensor ${name} has an invalid shape`, name);
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((offset) => Number.isInteger(offset) && offset >= 0) || offsets[1] < offsets[0]) {
      throw corrupt(`tensor ${name} has invalid data_offsets`, name);
    }
    const byteLength = elementCount(shape) * DTYPE_SIZES[dtype];
    if (offsets[1] - offsets[0] !== byteLength) {
      throw corrupt(`tensor ${name} spans ${offsets[1] - offsets[0]} bytes but its shape and dtype need ${byteLength}`, name);
    }
    const begin = dataStart + offsets[0];
    const end = dataStart + offsets[1];
    if (end > fileSize) throw corrupt(`tensor ${name} ends at byte ${end} but the file has ${fileSize} bytes (truncated)`, name);
    tensors.set(name, { dtype, shape: [...shape], begin, end });
  }
  const ordered = [...tensors.entries()].sort((left, right) => left[1].begin - right[1].begin);
  for (let index = 1; index < ordered.length; index++) {
    if (ordered[index][1].begin < ordered[index - 1][1].end) {
      throw corrupt(`tensor ${ordered[index][0]} overlaps tensor ${ordered[index - 1][0]}`, ordered[index][0]);
    }
  }
  return { metadata, tensors };
}

/** Converts one tensor's raw bytes to float32 (UNSUPPORTED_OP for integer or fp8 tensors). */
function decodeTensor(entry: SafetensorsEntry, bytes: Uint8Array, name: string, file: string): HostTensor {
  let data: Float32Array;
  switch (entry.dtype) {
    case 'F32':
      data = decodeFloat32(bytes);
      break;
    case 'F16':
      data = decodeFloat16(bytes);
      break;
    case 'BF16':
      data = decodeBfloat16(bytes);
      break;
    case 'F64': {
      const doubles = new Float64Array(bytes.byteLength / 8);
      new Uint8Array(doubles.buffer).set(bytes);
      data = Float32Array.from(doubles);
      break;
    }
    default:
      throw new O1Error('UNSUPPORTED_OP', `tensor ${name} has dtype ${entry.dtype}; only F32, F16, BF16 and F64 are read`, { file, field: name });
  }
  return { shape: entry.shape, data };
}

/**
 * Reads and validates the header of a safetensors file.
 *
 * @example
 * const { tensors } = await readSafetensorsHeader('model.safetensors'); console.log([...tensors.keys()])
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await openForReading(path);
  try {
    return await readHeaderFrom(handle, path);
  } finally {
    await handle.close();
  }
}

async function openForReading(path: string) {
  try {
    return await open(path, 'r');
  } catch (error) {
    throw new O1Error('MISSING_FILE', 'cannot open the model file', { file: path }, { cause: error });
  }
}

async function readHeaderFrom(handle: Awaited<ReturnType<typeof open>>, path: string): Promise<SafetensorsHeader> {
  const { size } = await handle.stat();
  if (size < 8) throw new O1Error('CORRUPT_MODEL_FILE', `the file has ${size} bytes, fewer than the 8-byte header length`, { file: path });
  const lengthBytes = Buffer.alloc(8);
  await handle.read(lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
    throw new O1Error('CORRUPT_MODEL_FILE', `the header claims ${headerLength} bytes but the file has ${size} (truncated or not safetensors)`, {
      file: path,
    });
  }
  const headerBytes = Buffer.alloc(headerLength);
  await handle.read(headerBytes, 0, headerLength, 8);
  return parseHeader(headerBytes, size, path);
}

/**
 * Reads tensors from a safetensors file as float32 (F32, F16, BF16 and F64 are converted).
 * `names` limits what is read (default: every tensor); a requested name absent from the file is
 * MISSING_TENSOR.
 *
 * @example
 * const { tensors } = await readSafetensors('model.safetensors', { names: ['model.norm.weight'] })
 */
export async function readSafetensors(
  path: string,
  options: { names?: Iterable<string> } = {},
): Promise<{ tensors: WeightMap; metadata: Record<string, string> }> {
  const handle = await openForReading(path);
  try {
    const header = await readHeaderFrom(handle, path);
    const names = options.names === undefined ? [...header.tensors.keys()] : [...options.names];
    const tensors: WeightMap = new Map();
    for (const name of names) {
      const entry = header.tensors.get(name);
      if (entry === undefined) throw new O1Error('MISSING_TENSOR', `tensor ${name} is not in the file`, { file: path, field: name });
      const bytes = Buffer.alloc(entry.end - entry.begin);
      const { bytesRead } = await handle.read(bytes, 0, bytes.byteLength, entry.begin);
      if (bytesRead !== bytes.byteLength) {
        throw new O1Error('CORRUPT_MODEL_FILE', `tensor ${name} is truncated`, { file: path, field: name });
      }
      tensors.set(name, decodeTensor(entry, bytes, name, path));
    }
    return { tensors, metadata: header.metadata };
  } finally {
    await handle.close();
  }
}

/**
 * Parses a whole safetensors file held in memory (same validation as {@link readSafetensors}).
 *
 * @example
 * const { tensors } = parseSafetensors(bytes, 'upload.safetensors')
 */
export function parseSafetensors(bytes: Uint8Array, file = 'safetensors'): { tensors: WeightMap; metadata: Record<string, string> } {
  if (bytes.byteLength < 8) throw new O1Error('CORRUPT_MODEL_FILE', 'the file is shorter than its 8-byte header length', { file });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.byteLength) {
    throw new O1Error('CORRUPT_MODEL_FILE', `the header claims ${headerLength} bytes but the file has ${bytes.byteLength}`, { file });
  }
  const header = parseHeader(bytes.subarray(8, 8 + headerLength), bytes.byteLength, file);
  const tensors: WeightMap = new Map();
  for (const [name, entry] of header.tensors) tensors.set(name, decodeTensor(entry, bytes.subarray(entry.begin, entry.end), name, file));
  return { tensors, metadata: header.metadata };
}

function encodeTensor(tensor: HostTensor, dtype: SafetensorsDataType): Uint8Array {
  if (dtype === 'f16') return encodeFloat16(tensor.data);
  if (dtype === 'bf16') return encodeBfloat16(tensor.data);
  return encodeFloat32(tensor.data);
}

function buildHeader(tensors: WeightMap, dtype: SafetensorsDataType, metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const bytesPerValue = dtype === 'f32' ? 4 : 2;
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (tensor.data.length !== elementCount(tensor.shape)) {
      throw new O1Error('SHAPE_MISMATCH', `tensor ${name} holds ${tensor.data.length} values for shape [${tensor.shape.join(', ')}]`, { field: name });
    }
    const length = tensor.data.length * bytesPerValue;
    header[name] = { dtype: FILE_DTYPES[dtype], shape: tensor.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const padding = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(padding);
  const headerBytes = Buffer.from(json, 'utf8');
  const result = Buffer.alloc(8 + headerBytes.byteLength);
  result.writeBigUInt64LE(BigInt(headerBytes.byteLength), 0);
  headerBytes.copy(result, 8);
  return result;
}

/**
 * Serialises tensors into safetensors bytes in memory (for small models and tests; use
 * {@link writeSafetensors} for files). `dtype` defaults to `f32`; metadata to `{format: 'pt'}`.
 *
 * @example
 * const bytes = serializeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]), { dtype: 'bf16' })
 */
export function serializeSafetensors(
  tensors: WeightMap,
  options: { dtype?: SafetensorsDataType; metadata?: Record<string, string> } = {},
): Uint8Array {
  const dtype = options.dtype ?? 'f32';
  const parts: Uint8Array[] = [buildHeader(tensors, dtype, options.metadata ?? { format: 'pt' })];
  for (const tensor of tensors.values()) parts.push(encodeTensor(tensor, dtype));
  return Buffer.concat(parts);
}

/**
 * Writes tensors (in map order) to a safetensors file atomically: a temporary file in the same
 * folder, renamed into place, so a crash never leaves a torn file. `dtype` defaults to `f32`;
 * metadata to `{format: 'pt'}` (what transformers expects).
 *
 * @example
 * await writeSafetensors('model.safetensors', model.weights, { dtype: 'bf16' })
 */
export async function writeSafetensors(
  path: string,
  tensors: WeightMap,
  options: { dtype?: SafetensorsDataType; metadata?: Record<string, string> } = {},
): Promise<void> {
  const dtype = options.dtype ?? 'f32';
  const header = buildHeader(tensors, dtype, options.metadata ?? { format: 'pt' });
  await writeHandleAtomic(path, async (handle) => {
    await handle.write(header);
    for (const tensor of tensors.values()) await handle.write(encodeTensor(tensor, dtype));
  });
}

/**
 * Loads a Hugging Face model folder: `config.json` plus `model.safetensors`, or the shards named
 * by `model.safetensors.index.json`. Only the tensors the configuration needs are read, each
 * checked for presence (MISSING_TENSOR) and shape (SHAPE_MISMATCH), both naming file and tensor.
 * The weights come back in Hugging Face's `half` RoPE order.
 *
 * @example
 * const model = await loadHuggingFaceModel('models/qwen2.5-0.5b')
 */
export async function loadHuggingFaceModel(directory: string): Promise<DecoderWeights> {
  const config = await readHuggingFaceConfig(join(directory, 'config.json'));
  const wanted = [...expectedTensorShapes(config).keys()];
  const indexPath = join(directory, 'model.safetensors.index.json');
  const available: WeightMap = new Map();
  let reportedFile: string;
  if (existsSync(indexPath)) {
    reportedFile = indexPath;
    const weightMap = await readShardIndex(indexPath);
    const byShard = new Map<string, string[]>();
    for (const name of wanted) {
      const shard = weightMap[name];
      if (shard === undefined) throw new O1Error('MISSING_TENSOR', `tensor ${name} is not in the shard index`, { file: indexPath, field: name });
      byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
    }
    for (const [shard, names] of byShard) {
      const { tensors } = await readSafetensors(join(directory, shard), { names });
      for (const [name, tensor] of tensors) available.set(name, tensor);
    }
  } else {
    reportedFile = join(directory, 'model.safetensors');
    const header = await readSafetensorsHeader(reportedFile);
    const { tensors } = await readSafetensors(reportedFile, { names: wanted.filter((name) => header.tensors.has(name)) });
    for (const [name, tensor] of tensors) available.set(name, tensor);
  }
  return { config, weights: selectDecoderTensors(config, available, reportedFile) };
}

async function readShardIndex(indexPath: string): Promise<Record<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new O1Error('CORRUPT_MODEL_FILE', 'the shard index is not valid JSON', { file: indexPath }, { cause: error });
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new O1Error('CORRUPT_MODEL_FILE', 'the shard index has no weight_map object', { file: indexPath, field: 'weight_map' });
  }
  return weightMap as Record<string, string>;
}

/**
 * Saves a model as a Hugging Face folder: `config.json` and one `model.safetensors` in `dtype`
 * (default `f32`). `adjacent` weights are permuted to Hugging Face's `half` order first. A stale
 * `model.safetensors.index.json` in the folder is removed so loaders read the new file. Each file
 * is written atomically.
 *
 * @example
 * await saveHuggingFaceModel('out/stories260k-hf', model, { dtype: 'bf16' })
 */
export async function saveHuggingFaceModel(
  directory: string,
  model: DecoderWeights,
  options: { dtype?: SafetensorsDataType } = {},
): Promise<void> {
  const dtype = options.dtype ?? 'f32';
  const halfModel = withRopeStyle(model, 'half');
  const weights = selectDecoderTensors(halfModel.config, halfModel.weights, directory);
  await mkdir(directory, { recursive: true });
  await writeSafetensors(join(directory, 'model.safetensors'), weights, { dtype });
  await rm(join(directory, 'model.safetensors.index.json'), { force: true });
  await writeHuggingFaceConfig(join(directory, 'config.json'), halfModel.config, TORCH_DTYPES[dtype]);
}
