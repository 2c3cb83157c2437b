/**
 * Builds the demo collection shipped in data/scifact-demo from ../shared/datasets/scifact:
 * the first 50 SciFact test queries (queries.jsonl order) with their qrels, every document
 * judged for them, each query's top BM25 documents (hard distractors, so the demo is not
 * trivially easy), then other corpus documents in file order up to 1,000. Deterministic: a
 * re-run writes the same files. Run: `npm run demo:data`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadBeir, writeBeirQrels, writeCorpus, writeQueries } from '../src/data/beir.js';
import type { Document, Qrels } from '../src/data/types.js';
import { Bm25Retriever } from '../src/retrieval/bm25/bm25-retriever.js';

const SOURCE = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'scifact');
const TARGET = join(import.meta.dirname, '..', 'data', 'scifact-demo');
const QUERIES = 50;
const DOCUMENTS = 1000;
const DISTRACTORS_PER_QUERY = 10;

const { corpus, queries, qrels } = await loadBeir(SOURCE, 'test', { quiet: true });
const chosen = queries.slice(0, QUERIES);
const bm25 = new Bm25Retriever();
await bm25.index(corpus, { quiet: true });
const keep = new Set<string>();
for (const query of chosen) for (const id of qrels.get(query.id)?.keys() ?? []) keep.add(id);
for (const query of chosen) {
  for (const hit of bm25.rank(query.text, query.id, { hits: DISTRACTORS_PER_QUERY })) keep.add(hit.id);
}
for (const document of corpus) {
  if (keep.size >= DOCUMENTS) break;
  keep.add(document.id);
}
const documents: Document[] = corpus.filter((document) => keep.has(document.id));
const demoQrels: Qrels = new Map(chosen.map((query) => [query.id, qrels.get(query.id) ?? new Map()]));
await mkdir(join(TARGET, 'qrels'), { recursive: true });
await writeCorpus(join(TARGET, 'corpus.jsonl'), documents);
await writeQueries(join(TARGET, 'queries.jsonl'), chosen);
await writeBeirQrels(join(TARGET, 'qrels', 'test.tsv'), demoQrels);
await writeFile(join(TARGET, 'README.md'), `# scifact-demo

A small slice of SciFact (BEIR v1.0.0) so that the README's main job runs on a fresh clone:
${chosen.length} test queries (the first ${QUERIES} of \`queries.jsonl\` that have test judgements),
their qrels, and ${documents.length} documents: every document judged for those queries, each
query's top ${DISTRACTORS_PER_QUERY} BM25 documents (hard distractors), then other documents in
corpus order. Made by \`npm run demo:data\` (scripts/make-demo-data.ts) from the BEIR files;
it is a demo, not a benchmark: evaluate on the full SciFact split for numbers.

Source: SciFact (Wadden et al., 2020, AllenAI), as distributed by BEIR (Thakur et al., 2021).
Licences: the claims (queries) are CC BY 4.0; the abstracts (corpus) are ODC-By 1.0.
`);
process.stdout.write(`${JSON.stringify({ queries: chosen.length, documents: documents.length, judged: [...demoQrels.values()].reduce((sum, judged) => sum + judged.size, 0) })}\n`);
