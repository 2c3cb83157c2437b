/**
 * The one-file vector format of the flat store (also the hnsw store's side table): a header,
 * a JSON metadata block, the ids, optional 64-bit keys and the vectors, all little-endian.
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 8 | magic `O1VECTRS` |
 * | 8 | 4 | format version (1) |
 * | 12 | 4 | dtype: 0 = f32, 1 = f16 |
 * | 16 | 4 | dimension |
 * | 20 | 4 | count (vectors) |
 * | 24 | 4 | metadata bytes (UTF-8 JSON object) |
 * | 28 | 4 | id bytes (count u32 lengths, then the UTF-8 ids back to back) |
 * | 32 | 4 | flags: bit 0 = a u64 key per vector follows the ids |
 * | 36 | 4 | CRC-32 of the body (everything after the header) |
 * | 40 | 4 | reserved (0) |
 * | 44 | 4 | CRC-32 of bytes 0..43 |
 *
 * Body: metadata, ids, zero padding to a multiple of 8, keys (count x u64) when flagged, then
 * count x dimension values (f32 or IEEE half). Files are written to a temporary name, synced
 * and renamed into place, so a reader or a killed writer sees the old or the new file; a
 * truncated or altered file fails its length or CRC check (CORRUPT_INDEX naming the file).
 */
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { O1Error } from '../../errors.js';
import { decodeFloat16, encodeFloat16 } from '../../model/formats/numeric.js';
import { writeHandleAtomic } from '../../util/atomic-write.js';

const MAGIC = 'O1VECTRS';
/** The version this code writes and reads. */
export const VECTOR_FILE_VERSION = 1;
const HEADER_BYTES = 48;
const DTYPE_CODES = { f32: 0, f16: 1 } as const;

/** Storage precision of a vector file. */
export type VectorFileDtype = keyof typeof DTYPE_CODES;

/** What a vector file holds (vectors always as float32 in memory). */
export interface VectorFileContents {
  dtype: VectorFileDtype;
  dimension: number;
  ids: readonly string[];
  /** count x dimension values, row-major (f16 files: the half values widened to float32). */
  vectors: Float32Array;
  /** One 64-bit key per vector (the hnsw store's usearch keys), when the file has them. */
  keys?: BigUint64Array;
  /** A JSON object of the writer's own fields (store settings, the graph file name, ...). */
  metadata: Record<string, unknown>;
}

/**
 * Writes a vector file atomically (temporary file, fsync, rename). `vectors` may be longer than
 * `ids.length x dimension` (a store's padded matrix); only the first rows are written.
 *
 * @example
 * await writeVectorFile('vectors.o1v', { dtype: 'f32', dimension: 2, ids: ['a'], vectors: new Float32Array([1, 0]), metadata: {} });
 */
export async function writeVectorFile(path: string, contents: VectorFileContents): Promise<number> {
  const { dimension, ids, dtype } = contents;
  const count = ids.length;
  if (contents.vectors.length < count * dimension) throw new O1Error('SHAPE_MISMATCH', `${count} ids need ${count * dimension} values, got ${contents.vectors.length}`, { file: path });
  if (contents.keys !== undefined && contents.keys.length !== count) throw new O1Error('SHAPE_MISMATCH', `${count} ids need ${count} keys, got ${contents.keys.length}`, { file: path });
  const metadata = Buffer.from(JSON.stringify(contents.metadata), 'utf8');
  const encodedIds = ids.map((id) => Buffer.from(id, 'utf8'));
  const lengths = new Uint32Array(count);
  encodedIds.forEach((bytes, index) => (lengths[index] = bytes.length));
  const idBytes = Buffer.concat([Buffer.from(lengths.buffer, lengths.byteOffset, lengths.byteLength), ...encodedIds]);
  const padding = Buffer.alloc((8 - ((metadata.length + idBytes.length) % 8)) % 8);
  const keys = contents.keys === undefined ? Buffer.alloc(0) : Buffer.from(contents.keys.buffer, contents.keys.byteOffset, contents.keys.byteLength);
  const values = contents.vectors.subarray(0, count * dimension);
  const vectorBytes = dtype === 'f16' ? encodeFloat16(values) : new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const body = [metadata, idBytes, padding, keys, vectorBytes];
  let bodyCrc = 0;
  for (const piece of body) bodyCrc = crc32(piece, bodyCrc);
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(VECTOR_FILE_VERSION, 8);
  header.writeUInt32LE(DTYPE_CODES[dtype], 12);
  header.writeUInt32LE(dimension, 16);
  header.writeUInt32LE(count, 20);
  header.writeUInt32LE(metadata.length, 24);
  header.writeUInt32LE(idBytes.length, 28);
  header.writeUInt32LE(contents.keys === undefined ? 0 : 1, 32);
  header.writeUInt32LE(bodyCrc >>> 0, 36);
  header.writeUInt32LE(crc32(header.subarray(0, 44)) >>> 0, 44);
  let bytes = 0;
  await writeHandleAtomic(path, async (handle) => {
    for (const piece of [header, ...body]) {
      // Large pieces go in slices: one write() call is capped near 2 GiB.
      for (let offset = 0; offset < piece.byteLength; offset += 1 << 28) {
        const slice = piece.subarray(offset, Math.min(piece.byteLength, offset + (1 << 28)));
        await handle.write(slice);
      }
      bytes += piece.byteLength;
    }
    // Durable before the rename publishes it: a crash after rename never exposes unwritten pages.
    await handle.sync();
  });
  return bytes;
}

/**
 * Reads and verifies a vector file. `expectedDimension`, when given, must match
 * (INDEX_MISMATCH); a short, altered or foreign file fails with CORRUPT_INDEX naming it.
 *
 * @example
 * const { ids, vectors } = await readVectorFile('vectors.o1v', 384);
 */
export async function readVectorFile(path: string, expectedDimension?: number): Promise<VectorFileContents & { bytes: number }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new O1Error('MISSING_FILE', 'the vector file does not exist', { file: path }, { cause: error });
    throw new O1Error('STORE_ERROR', `cannot read the vector file: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  const corrupt = (message: string): O1Error => new O1Error('CORRUPT_INDEX', message, { file: path });
  if (bytes.length < HEADER_BYTES) throw corrupt(`truncated: ${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  if (bytes.toString('latin1', 0, 8) !== MAGIC) throw corrupt('not an o1-embedder vector file (bad magic)');
  if ((crc32(bytes.subarray(0, 44)) >>> 0) !== bytes.readUInt32LE(44)) throw corrupt('the header checksum does not match');
  const version = bytes.readUInt32LE(8);
  if (version !== VECTOR_FILE_VERSION) throw corrupt(`format version ${version}, this build reads version ${VECTOR_FILE_VERSION}`);
  const dtypeCode = bytes.readUInt32LE(12);
  const dtype = (Object.keys(DTYPE_CODES) as VectorFileDtype[]).find((name) => DTYPE_CODES[name] === dtypeCode);
  if (dtype === undefined) throw corrupt(`unknown dtype code ${dtypeCode}`);
  const dimension = bytes.readUInt32LE(16);
  const count = bytes.readUInt32LE(20);
  const metadataBytes = bytes.readUInt32LE(24);
  const idBytes = bytes.readUInt32LE(28);
  const hasKeys = (bytes.readUInt32LE(32) & 1) === 1;
  const padding = (8 - ((metadataBytes + idBytes) % 8)) % 8;
  const keysOffset = HEADER_BYTES + metadataBytes + idBytes + padding;
  const vectorsOffset = keysOffset + (hasKeys ? count * 8 : 0);
  const expectedLength = vectorsOffset + count * dimension * (dtype === 'f16' ? 2 : 4);
  if (bytes.length !== expectedLength) throw corrupt(`${bytes.length < expectedLength ? 'truncated' : 'trailing bytes'}: ${bytes.length} bytes, the header says ${expectedLength}`);
  if ((crc32(bytes.subarray(HEADER_BYTES)) >>> 0) !== bytes.readUInt32LE(36)) throw corrupt('the body checksum does not match');
  if (expectedDimension !== undefined && expectedDimension !== dimension) {
    throw new O1Error('INDEX_MISMATCH', `the vector file has dimension ${dimension}, expected ${expectedDimension}`, { file: path });
  }
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + metadataBytes)) as Record<string, unknown>;
  } catch (error) {
    throw new O1Error('CORRUPT_INDEX', `the metadata is not JSON: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  const idsStart = HEADER_BYTES + metadataBytes;
  if (count * 4 > idBytes) throw corrupt(`the id block (${idBytes} bytes) cannot hold ${count} lengths`);
  const ids = new Array<string>(count);
  let offset = idsStart + count * 4;
  for (let index = 0; index < count; index++) {
    const length = bytes.readUInt32LE(idsStart + index * 4);
    if (offset + length > idsStart + idBytes) throw corrupt(`id ${index} runs past the id block`);
    ids[index] = bytes.toString('utf8', offset, offset + length);
    offset += length;
  }
  const keys = hasKeys ? new BigUint64Array(bytes.buffer.slice(bytes.byteOffset + keysOffset, bytes.byteOffset + keysOffset + count * 8)) : undefined;
  const raw = bytes.subarray(vectorsOffset);
  const vectors = dtype === 'f16' ? decodeFloat16(raw) : new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return { dtype, dimension, ids, vectors, keys, metadata, bytes: bytes.length };
}
