/**
 * The BM25 index file (version 1), little-endian:
 *
 *   0   magic "O1EBM25\n"
 *   8   u32 format version
 *   12  u32 byte length of the metadata JSON
 *   16  f64 total file length in bytes
 *   24  u32 CRC-32 of every byte after this 32-byte header
 *   28  u32 reserved (0)
 *   32  metadata JSON: parameters, analyzer, counts and the byte length of each section
 *   then the sections in {@link SECTION_NAMES} order, each starting on an 8-byte boundary:
 *   document ids and terms as UTF-8 JSON arrays, the typed arrays as their raw bytes.
 *
 * Typed-array sections load as views on the file's bytes (no copy). The length and checksum
 * checks turn a truncated or damaged file into O1Error CORRUPT_INDEX naming the file.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import * as zlib from 'node:zlib';
import { O1Error } from '../../errors.js';
import type { Bm25Parameters, InvertedIndexData } from './inverted-index.js';

const MAGIC = Buffer.from('O1EBM25\n', 'latin1');
export const INDEX_FORMAT_VERSION = 1;
const HEADER_BYTES = 32;

/** What the metadata JSON holds besides the section lengths. */
export interface IndexFileMetadata {
  parameters: Bm25Parameters;
  analyzer: string;
  totalTermCount: number;
  nonEmptyDocumentCount: number;
}

const SECTION_NAMES = ['documentIds', 'terms', 'norms', 'postingOffsets', 'postingDocuments', 'postingFrequencies'] as const;
type SectionName = (typeof SECTION_NAMES)[number];

interface StoredMetadata extends IndexFileMetadata {
  documentCount: number;
  termCount: number;
  postingCount: number;
  sections: Record<SectionName, number>;
}

/**
 * Writes an index atomically: to a temporary file beside `path`, then renamed over it, so a
 * crash never leaves a half-written index under the real name.
 */
export async function writeIndexFile(path: string, data: InvertedIndexData, metadata: IndexFileMetadata): Promise<void> {
  requireLittleEndian(path);
  const sections: Record<SectionName, Uint8Array> = {
    documentIds: Buffer.from(JSON.stringify(data.documentIds), 'utf8'),
    terms: Buffer.from(JSON.stringify(data.terms), 'utf8'),
    norms: data.norms,
    postingOffsets: bytesOf(data.postingOffsets),
    postingDocuments: bytesOf(data.postingDocuments),
    postingFrequencies: bytesOf(data.postingFrequencies),
  };
  const stored: StoredMetadata = {
    ...metadata,
    documentCount: data.documentIds.length,
    termCount: data.terms.length,
    postingCount: data.postingDocuments.length,
    sections: Object.fromEntries(SECTION_NAMES.map((name) => [name, sections[name].byteLength])) as Record<SectionName, number>,
  };
  const metadataBytes = Buffer.from(JSON.stringify(stored), 'utf8');
  const pieces: Uint8Array[] = [metadataBytes];
  let length = HEADER_BYTES + metadataBytes.byteLength;
  for (const name of SECTION_NAMES) {
    const padding = paddingAfter(length);
    if (padding > 0) pieces.push(new Uint8Array(padding));
    pieces.push(sections[name]);
    length += padding + sections[name].byteLength;
  }
  let checksum = 0;
  for (const piece of pieces) checksum = crc32(piece, checksum);
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(INDEX_FORMAT_VERSION, 8);
  header.writeUInt32LE(metadataBytes.byteLength, 12);
  header.writeDoubleLE(length, 16);
  header.writeUInt32LE(checksum, 24);

  const temporary = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writev([header, ...pieces]);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}

/** Reads and checks an index file. Throws O1Error MISSING_FILE or CORRUPT_INDEX. */
export async function readIndexFile(path: string): Promise<{ data: InvertedIndexData; metadata: IndexFileMetadata }> {
  requireLittleEndian(path);
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new O1Error('MISSING_FILE', 'index file not found', { file: path });
    throw error;
  }
  const corrupt = (message: string): O1Error => new O1Error('CORRUPT_INDEX', message, { file: path });
  if (file.byteLength < HEADER_BYTES) throw corrupt(`truncated: ${file.byteLength} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  if (!file.subarray(0, MAGIC.byteLength).equals(MAGIC)) throw corrupt('not an o1-embedder BM25 index (bad magic)');
  const version = file.readUInt32LE(8);
  if (version !== INDEX_FORMAT_VERSION) throw corrupt(`format version ${version}, this build reads version ${INDEX_FORMAT_VERSION}`);
  const expectedLength = file.readDoubleLE(16);
  if (file.byteLength !== expectedLength) throw corrupt(`truncated or padded: ${file.byteLength} bytes, the header says ${expectedLength}`);
  if (crc32(file.subarray(HEADER_BYTES), 0) !== file.readUInt32LE(24)) throw corrupt('checksum mismatch');

  // Views need aligned offsets; a pooled Buffer may start anywhere, so copy in that case.
  const bytes = file.byteOffset % 8 === 0 ? file : Buffer.from(file);
  const metadataLength = bytes.readUInt32LE(12);
  let stored: StoredMetadata;
  try {
    stored = JSON.parse(bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + metadataLength)) as StoredMetadata;
  } catch (error) {
    throw new O1Error('CORRUPT_INDEX', 'metadata is not valid JSON', { file: path }, { cause: error });
  }
  let offset = HEADER_BYTES + metadataLength;
  const section = (name: SectionName): Uint8Array => {
    offset += paddingAfter(offset);
    const length = stored.sections?.[name];
    if (typeof length !== 'number' || offset + length > bytes.byteLength) throw corrupt(`section ${name} runs past the end`);
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length);
    offset += length;
    return view;
  };
  const parseStrings = (name: SectionName): string[] => {
    const raw = section(name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
    } catch (error) {
      throw new O1Error('CORRUPT_INDEX', `section ${name} is not valid JSON`, { file: path }, { cause: error });
    }
    if (!Array.isArray(parsed)) throw corrupt(`section ${name} is not an array`);
    return parsed as string[];
  };
  const uint32 = (name: SectionName): Uint32Array => {
    const raw = section(name);
    return new Uint32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  };
  const documentIds = parseStrings('documentIds');
  const terms = parseStrings('terms');
  const norms = section('norms');
  const postingOffsets = uint32('postingOffsets');
  const postingDocuments = uint32('postingDocuments');
  const postingFrequencies = uint32('postingFrequencies');
  if (documentIds.length !== stored.documentCount || norms.length !== stored.documentCount || terms.length !== stored.termCount ||
    postingOffsets.length !== stored.termCount + 1 || postingDocuments.length !== stored.postingCount ||
    postingFrequencies.length !== stored.postingCount || postingOffsets[stored.termCount] !== stored.postingCount) {
    throw corrupt('section lengths disagree with the metadata');
  }
  return {
    data: {
      documentIds, terms, norms, postingOffsets, postingDocuments, postingFrequencies,
      totalTermCount: stored.totalTermCount,
      nonEmptyDocumentCount: stored.nonEmptyDocumentCount,
    },
    metadata: {
      parameters: stored.parameters,
      analyzer: stored.analyzer,
      totalTermCount: stored.totalTermCount,
      nonEmptyDocumentCount: stored.nonEmptyDocumentCount,
    },
  };
}

function paddingAfter(length: number): number {
  return (8 - (length % 8)) % 8;
}

function bytesOf(array: Uint32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function requireLittleEndian(path: string): void {
  if (endianness() !== 'LE') throw new O1Error('UNSUPPORTED_OP', 'BM25 index files are little-endian; this machine is big-endian', { file: path });
}

// zlib.crc32 arrived in Node 20.15; older 20.x get the table version.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
let crcTable: Uint32Array | undefined;

function crc32(data: Uint8Array, value: number): number {
  if (nativeCrc32 !== undefined) return nativeCrc32(data, value);
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let index = 0; index < 256; index++) {
      let entry = index;
      for (let bit = 0; bit < 8; bit++) entry = entry & 1 ? 0xedb88320 ^ (entry >>> 1) : entry >>> 1;
      crcTable[index] = entry >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let index = 0; index < data.length; index++) crc = crcTable[(crc ^ data[index]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
