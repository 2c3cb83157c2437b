/**
 * The documents of an index version: `documents.jsonl`, BEIR corpus lines (`_id`, `title`,
 * `text`, `metadata`) in index order, and `documents.idx`, which lets a reader fetch single
 * documents without reading the rest (what search results need: titles and snippets of ten
 * hits). The documents also let add/delete rebuild BM25.
 *
 * `documents.idx` (little-endian): magic `O1EDOCS1`, u32 count, u32 id-block bytes, then
 * (count + 1) f64 line offsets, count u32 CRC-32s (one per line), then the ids as a UTF-8 JSON
 * array. The manifest records both files' lengths and SHA-256s: the index file is checked
 * whole on open, the lines one by one as they are read (CORRUPT_INDEX naming the file).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Document } from '../data/types.js';
import { O1Error } from '../errors.js';
import { sha256, writeFileDurable } from './durable.js';
import type { FileFingerprint } from './manifest.js';

/** The line index's file name beside documents.jsonl. */
export const DOCUMENT_INDEX_FILE = 'documents.idx';
const MAGIC = 'O1EDOCS1';
const HEADER_BYTES = 16;

/** A BEIR corpus line. */
function documentLine(document: Document): string {
  const record: Record<string, unknown> = { _id: document.id, title: document.title, text: document.text };
  if (document.metadata !== undefined) record.metadata = document.metadata;
  return `${JSON.stringify(record)}\n`;
}

function parseLine(text: string): Document {
  const record = JSON.parse(text) as { _id: string; title: string; text: string; metadata?: Record<string, unknown> };
  return record.metadata === undefined ? { id: record._id, title: record.title, text: record.text } : { id: record._id, title: record.title, text: record.text, metadata: record.metadata };
}

/** What {@link writeDocuments} records in the manifest. */
export interface DocumentFiles {
  documents: number;
  /** documents.jsonl's length and SHA-256 (the corpus fingerprint). */
  bytes: number;
  fingerprint: string;
  /** documents.idx's fingerprint. */
  index: FileFingerprint;
}

/**
 * Writes documents.jsonl and its line index durably into `directory`.
 *
 * @example
 * const files = await writeDocuments('build/v000001', corpus);
 */
export async function writeDocuments(directory: string, documents: readonly Document[], file = 'documents.jsonl'): Promise<DocumentFiles> {
  const lines = documents.map((document) => Buffer.from(documentLine(document), 'utf8'));
  const bytes = Buffer.concat(lines);
  const offsets = new Float64Array(documents.length + 1);
  const checksums = new Uint32Array(documents.length);
  lines.forEach((line, row) => {
    offsets[row + 1] = offsets[row] + line.length;
    checksums[row] = crc32(line) >>> 0;
  });
  const ids = Buffer.from(JSON.stringify(documents.map((document) => document.id)), 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(documents.length, 8);
  header.writeUInt32LE(ids.length, 12);
  const index = Buffer.concat([header, Buffer.from(offsets.buffer), Buffer.from(checksums.buffer), ids]);
  await writeFileDurable(join(directory, file), bytes);
  await writeFileDurable(join(directory, DOCUMENT_INDEX_FILE), index);
  return { documents: documents.length, bytes: bytes.length, fingerprint: sha256(bytes), index: { file: DOCUMENT_INDEX_FILE, bytes: index.length, sha256: sha256(index) } };
}

/**
 * Reads every document (writers: add and delete), checking the length and SHA-256 the manifest
 * recorded (CORRUPT_INDEX naming the file when either differs).
 *
 * @example
 * const documents = await readDocuments('v000001/documents.jsonl', manifest.corpus);
 */
export async function readDocuments(path: string, expected: { bytes: number; fingerprint: string; documents: number }): Promise<Document[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new O1Error('MISSING_FILE', 'the index version has no documents file', { file: path }, { cause: error });
    throw new O1Error('STORE_ERROR', `cannot read the documents: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  if (bytes.length !== expected.bytes) throw new O1Error('CORRUPT_INDEX', `${bytes.length} bytes, the manifest says ${expected.bytes} (truncated?)`, { file: path });
  if (sha256(bytes) !== expected.fingerprint) throw new O1Error('CORRUPT_INDEX', 'the documents do not match the fingerprint in the manifest', { file: path });
  const text = bytes.toString('utf8');
  const documents: Document[] = [];
  for (let start = 0; start < text.length;) {
    const end = text.indexOf('\n', start);
    documents.push(parseLine(text.slice(start, end)));
    start = end + 1;
  }
  if (documents.length !== expected.documents) throw new O1Error('CORRUPT_INDEX', `${documents.length} documents, the manifest says ${expected.documents}`, { file: path });
  return documents;
}

/**
 * A version's documents for readers: ids in memory, each document read from disk when asked
 * for (and checked against its CRC-32). The file stays open, so a writer removing the version
 * folder after publishing a newer one does not disturb a reader of this one.
 *
 * @example
 * const table = await DocumentTable.open('v000001/documents.jsonl', 'v000001/documents.idx', manifest.corpus);
 * const [document] = await table.get(['d1']);
 * await table.close();
 */
export class DocumentTable {
  private readonly rowOf: Map<string, number>;

  private constructor(
    private readonly path: string,
    private readonly handle: FileHandle,
    private readonly order: readonly string[],
    private readonly offsets: Float64Array,
    private readonly checksums: Uint32Array,
  ) {
    this.rowOf = new Map(order.map((id, row) => [id, row]));
  }

  /** Opens the documents, checking the index file whole and the documents file's length. */
  static async open(path: string, indexPath: string, expected: { documents: number; bytes: number; index: FileFingerprint }): Promise<DocumentTable> {
    let index: Buffer;
    try {
      index = await readFile(indexPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new O1Error('MISSING_FILE', 'the index version has no document index', { file: indexPath }, { cause: error });
      throw error;
    }
    const corrupt = (message: string) => new O1Error('CORRUPT_INDEX', message, { file: indexPath });
    if (index.length !== expected.index.bytes) throw corrupt(`${index.length} bytes, the manifest says ${expected.index.bytes} (truncated?)`);
    if (sha256(index) !== expected.index.sha256) throw corrupt('the document index does not match its fingerprint in the manifest');
    if (index.toString('latin1', 0, 8) !== MAGIC) throw corrupt('not a document index (bad magic)');
    const count = index.readUInt32LE(8);
    if (count !== expected.documents) throw corrupt(`${count} documents, the manifest says ${expected.documents}`);
    const offsetsStart = HEADER_BYTES;
    const checksumsStart = offsetsStart + (count + 1) * 8;
    const idsStart = checksumsStart + count * 4;
    const offsets = new Float64Array(index.buffer.slice(index.byteOffset + offsetsStart, index.byteOffset + checksumsStart));
    const checksums = new Uint32Array(index.buffer.slice(index.byteOffset + checksumsStart, index.byteOffset + idsStart));
    const ids = JSON.parse(index.toString('utf8', idsStart, idsStart + index.readUInt32LE(12))) as string[];
    const handle = await open(path, 'r').catch((error: unknown) => {
      throw new O1Error((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'MISSING_FILE' : 'STORE_ERROR', `cannot open the documents: ${(error as Error).message}`, { file: path }, { cause: error });
    });
    const size = (await handle.stat()).size;
    if (size !== expected.bytes || offsets[count] !== expected.bytes) {
      await handle.close();
      throw new O1Error('CORRUPT_INDEX', `${size} bytes, the manifest says ${expected.bytes} (truncated?)`, { file: path });
    }
    return new DocumentTable(path, handle, ids, offsets, checksums);
  }

  /** Number of documents. */
  get size(): number {
    return this.order.length;
  }

  /** Whether `id` is a document of this version. */
  has(id: string): boolean {
    return this.rowOf.has(id);
  }

  /** Every id, in index order. */
  ids(): readonly string[] {
    return this.order;
  }

  /** The documents of `ids`, in order (undefined for an id not in the version). */
  async get(ids: readonly string[]): Promise<(Document | undefined)[]> {
    return Promise.all(ids.map(async (id) => {
      const row = this.rowOf.get(id);
      if (row === undefined) return undefined;
      const start = this.offsets[row];
      const bytes = Buffer.alloc(this.offsets[row + 1] - start);
      const { bytesRead } = await this.handle.read(bytes, 0, bytes.length, start);
      if (bytesRead !== bytes.length || (crc32(bytes) >>> 0) !== this.checksums[row]) throw new O1Error('CORRUPT_INDEX', `document ${JSON.stringify(id)} (line ${row + 1}) does not match its checksum`, { file: this.path, line: row + 1 });
      return parseLine(bytes.toString('utf8'));
    }));
  }

  /** Closes the file. Idempotent. */
  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
