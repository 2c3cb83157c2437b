/**
 * What `POST /v1/search` searches: any {@link Retriever} and a way to look up the documents it
 * returns (for titles and snippets). Built today from a retriever config and a corpus
 * ({@link buildSearchSource}); a persistent index provides the same two things.
 */
import type { Embedder } from '../backends/embedder.js';
import { Settings } from '../backends/settings.js';
import type { Document } from '../data/types.js';
import { DenseRetriever, readDenseSettings } from '../retrieval/dense/dense-retriever.js';
import { createRetriever } from '../retrieval/registry.js';
import type { Retriever, RetrieverConfig } from '../retrieval/retriever.js';
import { FusedMember, FusedRetriever, fusedMemberNames } from '../retrieval/fusion/fused-retriever.js';
import { O1Error } from '../errors.js';

/** A retriever and its documents. */
export interface SearchSource {
  /** Answers queries; the server hands it thoughts through `SearchOptions.thoughts`. */
  retriever: Retriever;
  /** The stored documents of `ids`, in order (undefined for an id it does not know). */
  documents(ids: readonly string[]): Promise<readonly (Document | undefined)[]> | readonly (Document | undefined)[];
  /**
   * The names a request may pick another retriever by (`"retriever": "bm25"` in /v1/search),
   * `retriever`'s own name first; e.g. a fused index's `['fused', 'bm25', 'o1']`. Optional:
   * without it only `retriever` is searched.
   */
  retrieverNames?(): readonly string[];
  /** The retriever of one of {@link retrieverNames}. */
  retrieverNamed?(name: string): Retriever;
  /** Releases the retriever (and whatever else the source holds). Optional. */
  close?(): Promise<void>;
}

/**
 * A document lookup over documents held in memory.
 *
 * @example
 * const documents = documentsInMemory([{ id: 'd1', title: 'Cats', text: 'Cats purr.' }]);
 * documents(['d1', 'nope']) // [{ id: 'd1', ... }, undefined]
 */
export function documentsInMemory(corpus: Iterable<Document>): SearchSource['documents'] {
  const byId = new Map<string, Document>();
  for (const document of corpus) byId.set(document.id, document);
  return (ids) => ids.map((id) => byId.get(id));
}

/** Options of {@link buildSearchSource}. */
export interface BuildSearchSourceOptions {
  /** The retriever config, e.g. `{ "retriever": "bm25" }`. Default BM25. */
  retriever?: RetrieverConfig;
  /** The documents to index. */
  corpus: Iterable<Document> | AsyncIterable<Document>;
  /**
   * The server's embedder (its queries batched), used by a `dense` config that names no
   * embedder or model of its own: `{ "retriever": "dense" }` searches with the served model.
   */
  embedder?: Embedder;
  /** No progress bars. Default false. */
  quiet?: boolean;
}

/**
 * Builds a retriever from its config, indexes the corpus, and keeps the documents for lookups.
 *
 * @example
 * const source = await buildSearchSource({ retriever: { retriever: 'bm25' }, corpus: readCorpus('scifact/corpus.jsonl') });
 * const hits = await source.retriever.search('vitamin d', { hits: 10 });
 * await source.close?.();
 */
export async function buildSearchSource(options: BuildSearchSourceOptions): Promise<SearchSource> {
  const documents: Document[] = [];
  for await (const document of options.corpus) documents.push(document);
  const config = options.retriever ?? { retriever: 'bm25' };
  const retriever = retrieverFor(config, options.embedder);
  try {
    await retriever.index(documents, { quiet: options.quiet, total: documents.length });
  } catch (error) {
    await retriever.dispose();
    throw error;
  }
  return { retriever, documents: documentsInMemory(documents), close: () => retriever.dispose(), ...fusedMemberChoice(retriever) };
}

/** A fused retriever's members as named choices (searched alone, thinking as the fusion does). */
function fusedMemberChoice(retriever: Retriever): Pick<SearchSource, 'retrieverNames' | 'retrieverNamed'> {
  if (!(retriever instanceof FusedRetriever)) return {};
  const names = [retriever.name, ...fusedMemberNames(retriever)];
  const views = new Map<string, Retriever>([[retriever.name, retriever], ...names.slice(1).map((name, position): [string, Retriever] => [name, new FusedMember(retriever, position, name)])]);
  return {
    retrieverNames: () => names,
    retrieverNamed: (name) => {
      const view = views.get(name);
      if (view === undefined) throw new O1Error('BAD_ARGUMENT', `no retriever '${name}' here: there are ${names.map((known) => `'${known}'`).join(', ')}`, { field: 'retriever' });
      return view;
    },
  };
}

function retrieverFor(config: RetrieverConfig, embedder: Embedder | undefined): Retriever {
  const ownModel = config.embedder !== undefined || config.model !== undefined;
  if (config.retriever !== 'dense' || ownModel || embedder === undefined) return createRetriever(config);
  const settings = new Settings(config, 'dense retriever');
  settings.string('retriever');
  const options = readDenseSettings(settings);
  settings.rejectUnknown();
  return new DenseRetriever({ ...options, embedder: embedder.config() }, { embedder });
}
