/**
 * The demo collection of `o1e demo`: a small, deterministic slice of SciFact made from the BEIR
 * files in `../shared` (never copied into the repository): the first 50 test queries with their
 * qrels, every document judged for them, each query's top 10 BM25 documents (hard distractors),
 * then other documents in corpus order up to 1,000. Built once into `.cache/scifact-demo` beside
 * the package and reused; a build is written to a scratch folder and renamed into place, so a
 * killed build leaves nothing half-written.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBeir, writeBeirQrels, writeCorpus, writeQueries } from '../data/beir.js';
import type { Qrels } from '../data/types.js';
import { O1Error } from '../errors.js';
import { Bm25Retriever } from '../retrieval/bm25/bm25-retriever.js';

/** The package root (src/cli or dist/cli, two levels up). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The slice's sizes. */
export const DEMO_SLICE = { queries: 50, documents: 1000, distractorsPerQuery: 10 } as const;

/** Where the demo collection is built by default. */
export const DEFAULT_DEMO_DIRECTORY = join(PACKAGE_ROOT, '.cache', 'scifact-demo');

/** Where SciFact is read from by default: `../shared/datasets/scifact` beside the package. */
export const DEFAULT_SCIFACT = join(PACKAGE_ROOT, '..', 'shared', 'datasets', 'scifact');

/**
 * The demo collection's folder, built from `source` when `target` has none yet.
 *
 * @example
 * const directory = await demoCollection(); // '.cache/scifact-demo' (corpus.jsonl, queries.jsonl, qrels/test.tsv)
 */
export async function demoCollection(options: { source?: string; target?: string } = {}): Promise<string> {
  const source = options.source ?? DEFAULT_SCIFACT;
  const target = options.target ?? DEFAULT_DEMO_DIRECTORY;
  if (existsSync(join(target, 'qrels', 'test.tsv'))) return target;
  if (!existsSync(join(source, 'corpus.jsonl'))) {
    throw new O1Error('MISSING_FILE', 'the demo is made from SciFact\'s BEIR files, which are not there; pass --data DIR for another BEIR folder', { file: source });
  }
  const { corpus, queries, qrels } = await loadBeir(source, 'test', { quiet: true });
  const chosen = queries.slice(0, DEMO_SLICE.queries);
  const bm25 = new Bm25Retriever();
  await bm25.index(corpus, { quiet: true });
  const keep = new Set<string>();
  for (const query of chosen) for (const id of qrels.get(query.id)?.keys() ?? []) keep.add(id);
  for (const query of chosen) for (const hit of bm25.rank(query.text, query.id, { hits: DEMO_SLICE.distractorsPerQuery })) keep.add(hit.id);
  for (const document of corpus) {
    if (keep.size >= DEMO_SLICE.documents) break;
    keep.add(document.id);
  }
  const demoQrels: Qrels = new Map(chosen.map((query) => [query.id, qrels.get(query.id) ?? new Map()]));
  await mkdir(dirname(target), { recursive: true });
  const scratch = await mkdtemp(`${target}.building-`);
  try {
    await mkdir(join(scratch, 'qrels'));
    await writeCorpus(join(scratch, 'corpus.jsonl'), corpus.filter((document) => keep.has(document.id)));
    await writeQueries(join(scratch, 'queries.jsonl'), chosen);
    await writeBeirQrels(join(scratch, 'qrels', 'test.tsv'), demoQrels);
    await writeFile(join(scratch, 'README.md'), `SciFact demo slice made by o1e demo from ${source} (claims CC BY 4.0, abstracts ODC-By 1.0).\n`);
    try {
      await rename(scratch, target);
    } catch (error) {
      // Another process published the same (deterministic) slice first: use it.
      if (!existsSync(join(target, 'qrels', 'test.tsv'))) throw error;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return target;
}
