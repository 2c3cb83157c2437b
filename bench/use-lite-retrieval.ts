/**
 * Retrieval quality of Universal Sentence Encoder Lite on our engine (the `use-lite` embedder):
 * BEIR test splits, documents embedded as `title + " " + text` (first 128 pieces unless
 * `--window`), queries as their text, exact inner product over the whole corpus, top 1000,
 * evaluated as Anserini does (preset anserini-beir: nDCG@10, R@100, R@1000, MRR@10). With
 * `--thoughts`, queries are also embedded as query + " " + thought with the Gemini 2.0 Flash
 * thoughts of ../shared/thoughts (250-word prompt), the thinking-retrieval reference.
 *
 * Prints ONE JSON line: per dataset the metrics (and `with_thoughts`), docs/s and the seconds.
 *
 * usage: npx tsx bench/use-lite-retrieval.ts [--datasets scifact,nfcorpus] [--threads N] [--window SIZE,STRIDE] [--thoughts] [--quiet]
 */
import { parseArgs } from 'node:util';
import { createEmbedder } from '../src/backends/registry.js';
import type { EmbedderConfig } from '../src/backends/embedder.js';
import { loadBeir } from '../src/data/beir.js';
import { readLines } from '../src/data/lines.js';
import type { Qrels, Query, Run } from '../src/data/types.js';
import { evaluate } from '../src/evaluation/index.js';
import { FlatInnerProductIndex } from '../src/retrieval/dense/vector-index.js';
import { Progress } from '../src/util/progress.js';
import { sharedPath } from '../test/helpers/shared.js';

const HITS = 1000;
const { values } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'scifact,nfcorpus' },
    threads: { type: 'string' },
    window: { type: 'string' },
    thoughts: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

const config: EmbedderConfig = { backend: 'use-lite' };
if (values.threads !== undefined) config.threads = Number(values.threads);
if (values.window !== undefined) {
  const [size, stride] = values.window.split(',').map(Number);
  config.window = { size, stride };
}

function metrics(qrels: Qrels, run: Run): Record<string, number> {
  const result = evaluate(qrels, run, { preset: 'anserini-beir', measures: ['ndcg_cut.10', 'recall.100,1000', { measure: 'recip_rank', maxDocuments: 10, name: 'recip_rank_10' }] });
  return Object.fromEntries(Object.entries(result.all).map(([name, value]) => [name, Number(value.toFixed(4))]));
}

/** The first thought per query id of ../shared/thoughts/{dataset}.test.gemini-2.0-flash-250.jsonl. */
async function readThoughts(dataset: string): Promise<Map<string, string>> {
  const thoughts = new Map<string, string>();
  for await (const { text } of readLines(sharedPath('thoughts', `${dataset}.test.gemini-2.0-flash-250.jsonl`))) {
    if (text.trim() === '') continue;
    const record = JSON.parse(text) as { query_id: string; thoughts: string[] };
    thoughts.set(record.query_id, record.thoughts[0] ?? '');
  }
  return thoughts;
}

const embedder = await createEmbedder(config);
const report: Record<string, unknown> = { bench: 'use-lite-retrieval', embedder: embedder.config(), hits: HITS };
try {
  for (const dataset of values.datasets.split(',')) {
    const started = performance.now();
    const { corpus, queries, qrels } = await loadBeir(sharedPath('datasets', dataset), 'test', { quiet: true });
    const progress = new Progress({ label: `${dataset} corpus`, total: corpus.length, unit: 'docs', quiet: values.quiet });
    let done = 0;
    const embedStarted = performance.now();
    const { vectors } = await embedder.embedDocuments(corpus.map(({ title, text }) => ({ title, text })), {
      onProgress: (count) => {
        progress.tick(count - done);
        done = count;
      },
    });
    const documentsPerSecond = corpus.length / ((performance.now() - embedStarted) / 1000);
    progress.finish();
    const index = new FlatInnerProductIndex(await embedder.dimension(), corpus.length);
    index.add(vectors);
    const search = async (inputs: readonly (string | { text: string; thought?: string })[], judged: readonly Query[]): Promise<Run> => {
      const queryVectors = (await embedder.embedQueries(inputs)).vectors;
      const hits = index.search(queryVectors, HITS);
      return new Map(judged.map((query, row) => [query.id, new Map(hits[row].map((hit) => [corpus[hit.index].id, hit.score]))]));
    };
    const result: Record<string, unknown> = { ...metrics(qrels, await search(queries.map((query) => query.text), queries)) };
    if (values.thoughts) {
      const thoughts = await readThoughts(dataset);
      result.with_thoughts = metrics(qrels, await search(queries.map((query) => ({ text: query.text, thought: thoughts.get(query.id) ?? '' })), queries));
    }
    result.documents = corpus.length;
    result.queries = queries.length;
    result.documents_per_s = Number(documentsPerSecond.toFixed(1));
    result.seconds = Number(((performance.now() - started) / 1000).toFixed(1));
    report[dataset] = result;
  }
} finally {
  await embedder.close();
}
console.log(JSON.stringify(report));
