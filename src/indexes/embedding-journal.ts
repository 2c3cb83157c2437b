/**
 * Resumable document embedding for a dense part. Documents go to the embedder in fixed batches
 * (batch b = documents [b x size, (b + 1) x size) of the operation's list), and each finished
 * batch is appended to a journal (src/synth/journal.ts: one JSON line, fdatasync'd, a torn last
 * line ignored) before it counts as done. A re-run after a kill reads the journal and embeds
 * only the batches it lacks; since batches are the same, so are the vectors.
 *
 * Journal lines: a header `{"header": {identity, dimension, batchSize, documents}}`, then
 * `{"batch": b, "ids": [...], "vectors": BASE64}` with the batch's float32 values,
 * little-endian, row after row.
 */
import type { Document } from '../data/types.js';
import { O1Error } from '../errors.js';
import { DenseRetriever } from '../retrieval/dense/dense-retriever.js';
import { createRetriever } from '../retrieval/registry.js';
import { JournalWriter, readJournal } from '../synth/journal.js';
import { Progress } from '../util/progress.js';
import type { PartPlan } from './parts.js';

/** What decides a journal's vectors: a journal written under another header is not reused. */
interface JournalHeader {
  identity: string;
  dimension: number;
  batchSize: number;
  documents: number;
}

type JournalLine = { header: JournalHeader } | { batch: number; ids: string[]; vectors: string };

/** Options of {@link embedResumably}. */
export interface EmbedResumablyOptions {
  /** The journal file (created when absent). */
  journal: string;
  /** Documents per batch (and per journal line). */
  batchSize: number;
  /** No progress bar. Default false. */
  quiet?: boolean;
  /** The identity and dimension the index holds (add): another is INDEX_MISMATCH naming `file`. */
  expected?: { identity: string; dimension: number; file: string };
}

/** What {@link embedResumably} returns. */
export interface EmbeddedPart {
  /** One vector per document, in order. */
  vectors: Float32Array[];
  identity: string;
  dimension: number;
  /** The embedder's config (secrets left out). */
  embedderConfig: Record<string, unknown> & { backend: string };
  /** Documents embedded by this call. */
  embedded: number;
  /** Documents whose vectors came from the journal (a resumed run). */
  resumed: number;
}

function encodeVectors(vectors: readonly Float32Array[], dimension: number): string {
  const values = new Float32Array(vectors.length * dimension);
  vectors.forEach((vector, row) => values.set(vector, row * dimension));
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function decodeVectors(text: string, count: number, dimension: number): Float32Array[] | undefined {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== count * dimension * 4) return undefined;
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return Array.from({ length: count }, (_, row) => values.slice(row * dimension, (row + 1) * dimension));
}

/**
 * Embeds `documents` for a dense part, resuming from the journal: every batch the journal
 * holds (with the same ids) is reused, the others are embedded and journaled durably.
 * A journal made by another embedder (identity) or with other batches is INDEX_MISMATCH naming
 * it; a journal line whose ids are not the batch's is CORRUPT_INDEX.
 *
 * @example
 * const { vectors, identity } = await embedResumably(part, corpus, { journal: 'index/build/dense-0.journal', batchSize: 64 });
 */
export async function embedResumably(part: PartPlan, documents: readonly Document[], options: EmbedResumablyOptions): Promise<EmbeddedPart> {
  const retriever = createRetriever(part.config);
  if (!(retriever instanceof DenseRetriever)) throw new O1Error('BAD_ARGUMENT', `part ${part.name} is not a dense retriever`, { field: 'retriever' });
  try {
    const embedder = await retriever.embedder();
    const identity = embedder.identity;
    const dimension = await embedder.dimension();
    if (options.expected !== undefined && (options.expected.identity !== identity || options.expected.dimension !== dimension)) {
      throw new O1Error('INDEX_MISMATCH', `part ${part.name} was built with ${options.expected.identity} (dimension ${options.expected.dimension}); its embedder is now ${identity} (dimension ${dimension})`, { file: options.expected.file, field: `${part.name}.embedder.identity` });
    }
    const header: JournalHeader = { identity, dimension, batchSize: options.batchSize, documents: documents.length };
    const contents = await readJournal<JournalLine>(options.journal);
    const [first, ...lines] = contents.entries;
    const done = new Map<number, Float32Array[]>();
    if (first !== undefined) {
      const found = 'header' in first ? first.header : undefined;
      if (found === undefined || JSON.stringify(found) !== JSON.stringify(header)) {
        throw new O1Error('INDEX_MISMATCH', `the journal of the interrupted run was written with ${JSON.stringify(found)}, this run has ${JSON.stringify(header)} (the model changed?); remove the index's build/ folder to start the operation over`, { file: options.journal });
      }
      for (const line of lines) {
        if (!('batch' in line)) continue;
        const expectedIds = documents.slice(line.batch * options.batchSize, (line.batch + 1) * options.batchSize).map((document) => document.id);
        const vectors = decodeVectors(line.vectors, line.ids.length, dimension);
        if (JSON.stringify(line.ids) !== JSON.stringify(expectedIds) || vectors === undefined) {
          throw new O1Error('CORRUPT_INDEX', `journal batch ${line.batch} does not hold the vectors of documents ${expectedIds[0]}..${expectedIds.at(-1)}`, { file: options.journal });
        }
        done.set(line.batch, vectors);
      }
    }
    const journal = await JournalWriter.open<JournalLine>(options.journal, contents.validBytes);
    const pending: Promise<void>[] = [];
    let embedded = 0;
    let resumed = 0;
    try {
      if (first === undefined) pending.push(journal.append({ header }));
      const progress = new Progress({ label: `embed ${part.name}`, total: documents.length, unit: 'docs', quiet: options.quiet });
      const batches = Math.ceil(documents.length / options.batchSize);
      const vectors: Float32Array[] = new Array(documents.length);
      for (let batch = 0; batch < batches; batch++) {
        const start = batch * options.batchSize;
        const slice = documents.slice(start, start + options.batchSize);
        let batchVectors = done.get(batch);
        if (batchVectors !== undefined) {
          resumed += slice.length;
          progress.tick(slice.length);
        } else {
          let reported = 0;
          batchVectors = (await embedder.embedDocuments(slice.map((document) => ({ title: document.title, text: document.text })), {
            onProgress: (count) => {
              progress.tick(count - reported);
              reported = count;
            },
          })).vectors;
          progress.tick(slice.length - reported);
          for (const vector of batchVectors) {
            if (vector.length !== dimension) throw new O1Error('SHAPE_MISMATCH', `the embedder returned a vector of ${vector.length} values, its dimension is ${dimension}`, { field: part.name });
          }
          // Durable before the batch counts; the next batch is embedded while this one syncs.
          pending.push(journal.append({ batch, ids: slice.map((document) => document.id), vectors: encodeVectors(batchVectors, dimension) }));
          embedded += slice.length;
        }
        batchVectors.forEach((vector, index) => { vectors[start + index] = vector; });
      }
      await Promise.all(pending);
      progress.finish();
      return { vectors, identity, dimension, embedderConfig: embedder.config(), embedded, resumed };
    } finally {
      await Promise.allSettled(pending);
      await journal.close();
    }
  } finally {
    await retriever.dispose();
  }
}
