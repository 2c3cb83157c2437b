/**
 * What build, add and delete share: the report they return (what `o1e index --json` prints)
 * and the embedding of an operation's new documents for every dense part.
 */
import { join } from 'node:path';
import type { Document } from '../data/types.js';
import type { PartVectors } from './assemble.js';
import { embedResumably } from './embedding-journal.js';
import { MANIFEST_FILE, versionPath } from './layout.js';
import type { IndexManifest } from './manifest.js';
import type { PartPlan } from './parts.js';
import type { IndexWriter } from './writer.js';

/** Documents per embedding batch (and journal line) unless told otherwise. */
export const DEFAULT_BATCH_SIZE = 64;

/** One part in an {@link IndexOperationReport}. */
export interface PartReport {
  name: string;
  kind: 'bm25' | 'dense';
  /** Documents embedded by this run (dense parts). */
  embedded?: number;
  /** Documents whose vectors came from the journal of a killed run (dense parts). */
  resumed?: number;
}

/** What an index operation reports (`o1e index --json` prints it). */
export interface IndexOperationReport {
  index: string;
  operation: 'build' | 'add' | 'delete';
  /** The published version after the operation. */
  version: number;
  /** Nothing to do: this operation had already been applied (a re-run). */
  upToDate: boolean;
  /** This run finished an operation a killed run had started. */
  resumed: boolean;
  /** Documents in the index after the operation. */
  documents: number;
  added?: number;
  deleted?: number;
  /** Ids asked to delete that were not in the index. */
  missing?: number;
  parts: PartReport[];
  /** Milliseconds: readMs, embedMs, writeMs (documents, BM25, stores, manifest), publishMs, totalMs. */
  timings: Record<string, number>;
}

/** Starts a stopwatch whose `lap(name)` records the milliseconds since the previous lap. */
export function stopwatch(): { timings: Record<string, number>; lap(name: string): void; total(): void } {
  const started = performance.now();
  let mark = started;
  const timings: Record<string, number> = {};
  return {
    timings,
    lap(name) {
      const now = performance.now();
      timings[name] = Math.round(now - mark);
      mark = now;
    },
    total() {
      timings.totalMs = Math.round(performance.now() - started);
    },
  };
}

/**
 * Embeds `documents` for every dense part, each through its journal in the writer's build
 * folder (a re-run embeds only what is missing). With `manifest` (an update), each part's
 * embedder must still have the identity and dimension the index was built with.
 *
 * @example
 * const { vectors, reports } = await embedParts(writer, parts, corpus, { batchSize: 64 });
 */
export async function embedParts(writer: IndexWriter, parts: readonly PartPlan[], documents: readonly Document[], options: { batchSize: number; quiet?: boolean; manifest?: IndexManifest }): Promise<{ vectors: Map<string, PartVectors>; reports: PartReport[] }> {
  const vectors = new Map<string, PartVectors>();
  const reports: PartReport[] = [];
  for (const part of parts) {
    if (part.kind !== 'dense') {
      reports.push({ name: part.name, kind: part.kind });
      continue;
    }
    const stored = options.manifest?.parts.find((candidate) => candidate.name === part.name);
    const expected = stored?.kind === 'dense' ? { identity: stored.embedder.identity, dimension: stored.embedder.dimension, file: join(versionPath(writer.index, options.manifest?.version ?? 0), MANIFEST_FILE) } : undefined;
    const embedded = await embedResumably(part, documents, { journal: writer.journalPath(part.name), batchSize: options.batchSize, quiet: options.quiet, expected });
    vectors.set(part.name, { ids: documents.map((document) => document.id), vectors: embedded.vectors, identity: embedded.identity, dimension: embedded.dimension, embedderConfig: embedded.embedderConfig });
    reports.push({ name: part.name, kind: 'dense', embedded: embedded.embedded, resumed: embedded.resumed });
  }
  return { vectors, reports };
}
