/**
 * The GGUF container (llama.cpp's file format), independent of what the file holds: magic
 * `GGUF`, version u32, tensor count u64, metadata count u64, typed metadata key/values, tensor
 * infos (name, dims with ne0 fastest, ggml type, data offset), padding to `general.alignment`,
 * then tensor data. All little-endian.
 *
 * It lives in util because both model weights (src/model/formats/gguf.ts) and tokenizers
 * (`loadTokenizer` on a `.gguf`, which needs only the metadata) read it, and the tokenizer
 * folder sits below the model folder.
 */
import { open } from 'node:fs/promises';
import { O1Error } from '../errors.js';

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** `general.alignment` when the file does not say. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types. */
export const GGUF_VALUE_TYPE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
/** A metadata value type other than array. */
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, 'array'>;

/** ggml tensor types this project reads or writes. */
export const GGML_TYPE = { f32: 0, f16: 1, q8_0: 8, bf16: 30 } as const;
/** Values per Q8_0 block (ggml's QK8_0). */
export const QK8_0 = 32;
/** Bytes per Q8_0 block: an f16 scale and 32 int8 values. */
export const Q8_0_BLOCK_BYTES = 34;

/** A metadata value as read: numbers (bigint for 64-bit integers), strings, booleans, arrays. */
export type GgufMetadataValue = number | bigint | string | boolean | GgufMetadataValue[];

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
      case GGUF_VALUE_TYPE.u8: this.need(1); this.offset += 1; return view.getUint8(at);
      case GGUF_VALUE_TYPE.i8: this.need(1); this.offset += 1; return view.getInt8(at);
      case GGUF_VALUE_TYPE.bool: this.need(1); this.offset += 1; return view.getUint8(at) !== 0;
      case GGUF_VALUE_TYPE.u16: this.need(2); this.offset += 2; return view.getUint16(at, true);
      case GGUF_VALUE_TYPE.i16: this.need(2); this.offset += 2; return view.getInt16(at, true);
      case GGUF_VALUE_TYPE.u32: this.need(4); this.offset += 4; return view.getUint32(at, true);
      case GGUF_VALUE_TYPE.i32: this.need(4); this.offset += 4; return view.getInt32(at, true);
      case GGUF_VALUE_TYPE.f32: this.need(4); this.offset += 4; return shortestFloat32(view.getFloat32(at, true));
      case GGUF_VALUE_TYPE.u64: this.need(8); this.offset += 8; return view.getBigUint64(at, true);
      case GGUF_VALUE_TYPE.i64: this.need(8); this.offset += 8; return view.getBigInt64(at, true);
      case GGUF_VALUE_TYPE.f64: this.need(8); this.offset += 8; return view.getFloat64(at, true);
      case GGUF_VALUE_TYPE.string: {
        const length = this.count();
        this.need(length);
        this.offset += length;
        return new TextDecoder().decode(this.bytes.subarray(at + 8, at + 8 + length));
      }
      case GGUF_VALUE_TYPE.array: {
        this.need(4);
        const itemType = view.getUint32(at, true);
        this.offset += 4;
        if (itemType === GGUF_VALUE_TYPE.array) throw new RangeError('nested arrays are not supported');
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
    const value = this.scalar(GGUF_VALUE_TYPE.u64) as bigint;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`count ${value} is too large`);
    return Number(value);
  }
}

function tensorByteLength(info: { dims: number[]; type: number; name: string }, file: string): number {
  let count = 1;
  for (const size of info.dims) count *= size;
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
  const magic = reader.scalar(GGUF_VALUE_TYPE.u32);
  if (magic !== GGUF_MAGIC) throw new O1Error('CORRUPT_MODEL_FILE', 'not a GGUF file (bad magic)', { file });
  const version = reader.scalar(GGUF_VALUE_TYPE.u32) as number;
  if (version !== 2 && version !== 3) throw new O1Error('CORRUPT_MODEL_FILE', `GGUF version ${version} is not supported (2 or 3)`, { file, field: 'version' });
  const tensorCount = reader.count();
  const metadataCount = reader.count();
  const metadata = new Map<string, GgufMetadataValue>();
  for (let index = 0; index < metadataCount; index++) {
    const key = reader.scalar(GGUF_VALUE_TYPE.string) as string;
    const type = reader.scalar(GGUF_VALUE_TYPE.u32) as number;
    try {
      metadata.set(key, reader.scalar(type));
    } catch (error) {
      if (error instanceof RangeError) throw new O1Error('CORRUPT_MODEL_FILE', `metadata ${key}: ${error.message}`, { file, field: key });
      throw error;
    }
  }
  const alignmentValue = metadata.get('general.alignment');
  const alignment = typeof alignmentValue === 'number' && alignmentValue > 0 ? alignmentValue : GGUF_DEFAULT_ALIGNMENT;
  const infos: { name: string; dims: number[]; type: number; relative: number }[] = [];
  for (let index = 0; index < tensorCount; index++) {
    const name = reader.scalar(GGUF_VALUE_TYPE.string) as string;
    const dimensionCount = reader.scalar(GGUF_VALUE_TYPE.u32) as number;
    if (dimensionCount > 4) throw new O1Error('CORRUPT_MODEL_FILE', `tensor ${name} has ${dimensionCount} dims`, { file, field: name });
    const dims = Array.from({ length: dimensionCount }, () => reader.count());
    const type = reader.scalar(GGUF_VALUE_TYPE.u32) as number;
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

/** An open file handle (node:fs/promises). */
export type GgufFileHandle = Awaited<ReturnType<typeof open>>;

/**
 * Reads the header of the GGUF file open as `handle` (for readers that go on to read tensors
 * through the same handle); `file` names the file in errors.
 *
 * @example
 * const handle = await openGguf('model.gguf');
 * try { const header = await readGgufHeaderFrom(handle, 'model.gguf') } finally { await handle.close() }
 */
export async function readGgufHeaderFrom(handle: GgufFileHandle, file: string): Promise<GgufHeader> {
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

/**
 * Opens a GGUF file for reading; a missing file is MISSING_FILE naming it.
 *
 * @example
 * const handle = await openGguf('model.gguf')
 */
export async function openGguf(path: string): Promise<GgufFileHandle> {
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
  const handle = await openGguf(path);
  try {
    return await readGgufHeaderFrom(handle, path);
  } finally {
    await handle.close();
  }
}
