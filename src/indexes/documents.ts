/**
 * The documents of an index version (`documents.jsonl`): BEIR corpus lines (`_id`, `title`,
 * `text`, `metadata`) in index order. They give search results their titles and snippets and
 * let add/delete rebuild BM25. The manifest records the file's length and SHA-256, checked on
 * open, so a truncated or altered file is CORRUPT_INDEX.
 */
import { readFile } from 'node:fs/promises';
import type { Document } from '../data/types.js';
import { O1Error } from '../errors.js';
import { sha256, writeFileDurable } from './durable.js';

/** A BEIR corpus line. */
function documentLine(document: Document): string {
  const record: Record<string, unknown> = { _id: document.id, title: document.title, text: document.text };
  if (document.metadata !== undefined) record.metadata = document.metadata;
  return JSON.stringify(record);
}

/**
 * Writes documents durably; returns the length and SHA-256 the manifest records.
 *
 * @example
 * const { bytes, fingerprint } = await writeDocuments('v000001/documents.jsonl', corpus);
 */
export async function writeDocuments(path: string, documents: readonly Document[]): Promise<{ bytes: number; fingerprint: string }> {
  const bytes = Buffer.from(documents.map((document) => `${documentLine(document)}\n`).join(''), 'utf8');
  await writeFileDurable(path, bytes);
  return { bytes: bytes.length, fingerprint: sha256(bytes) };
}

/**
 * Reads documents written by {@link writeDocuments}, checking the length and SHA-256 the
 * manifest recorded (CORRUPT_INDEX naming the file when either differs).
 *
 * @example
 * const documents = await readDocuments('v000001/documents.jsonl', { bytes: 7_500_000, fingerprint: 'sha256:...' });
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
  const documents: Document[] = [];
  const text = bytes.toString('utf8');
  for (let start = 0; start < text.length;) {
    const end = text.indexOf('\n', start);
    const record = JSON.parse(text.slice(start, end)) as { _id: string; title: string; text: string; metadata?: Record<string, unknown> };
    documents.push(record.metadata === undefined ? { id: record._id, title: record.title, text: record.text } : { id: record._id, title: record.title, text: record.text, metadata: record.metadata });
    start = end + 1;
  }
  if (documents.length !== expected.documents) throw new O1Error('CORRUPT_INDEX', `${documents.length} documents, the manifest says ${expected.documents}`, { file: path });
  return documents;
}
