import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBeir } from '../../data/beir.js';
import { writeRun } from '../../data/trec.js';
import { O1Error } from '../../errors.js';
import { evaluate, type EvaluationPresetName } from '../../evaluation/index.js';
import { createRetriever, retrieverNames } from '../../retrieval/registry.js';
import { DEFAULT_HITS, searchAll } from '../../retrieval/retriever.js';
import type { Command } from '../command.js';
import { parseInteger } from '../arguments.js';

const USAGE = `usage: o1e eval --data DIR [--split test] [--retriever bm25] [--hits 1000] [--run FILE]
                [--preset anserini-beir] [--json] [--quiet]

Loads a BEIR split, indexes its corpus, retrieves --hits documents per judged query and
evaluates them: nDCG@10, R@100, R@1000 and MRR@10 (recip_rank under -M 10). The default preset
is Anserini's BEIR convention: trec_eval -c, a document whose id equals the query id removed.

  --data DIR        BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)
  --split NAME      qrels split (default test)
  --retriever NAME  one of the registered retrievers (default bm25)
  --hits N          documents retrieved per query (default 1000)
  --run FILE        also write the TREC run file (tag: the retriever name)
  --preset NAME     trec_eval | anserini-beir | beir | mteb (default anserini-beir)
  --json            print one JSON object (metrics keyed by trec_eval names) instead of a table
  --quiet           no progress output
`;

/** The measures `o1e eval` reports, with the labels of its table. */
const REPORTED = [
  { name: 'ndcg_cut_10', label: 'nDCG@10' },
  { name: 'recall_100', label: 'R@100' },
  { name: 'recall_1000', label: 'R@1000' },
  { name: 'recip_rank', label: 'MRR@10' },
] as const;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'retrieve and evaluate on a BEIR split (nDCG@10, R@100, R@1000, MRR@10)',
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        split: { type: 'string', default: 'test' },
        retriever: { type: 'string', default: 'bm25' },
        hits: { type: 'string', default: String(DEFAULT_HITS) },
        run: { type: 'string' },
        preset: { type: 'string', default: 'anserini-beir' },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.data === undefined) throw new O1Error('BAD_ARGUMENT', '--data DIR is required', { field: 'data' });
    const hits = parseInteger(values.hits, 'hits', 1);
    const quiet = values.quiet || values.json;
    const preset = values.preset as EvaluationPresetName;
    const timings: Record<string, number> = {};
    const started = performance.now();
    let mark = started;
    const lap = (name: string): void => {
      const now = performance.now();
      timings[name] = Math.round(now - mark);
      mark = now;
    };

    if (!retrieverNames().includes(values.retriever)) {
      throw new O1Error('UNKNOWN_RETRIEVER', `unknown retriever '${values.retriever}'; known: ${retrieverNames().join(', ')}`, { field: 'retriever' });
    }
    const { corpus, queries, qrels } = await loadBeir(values.data, values.split, { quiet });
    lap('loadMs');
    const retriever = createRetriever({ retriever: values.retriever });
    await retriever.index(corpus, { quiet, total: corpus.length });
    lap('indexMs');
    const removeQuery = preset === 'anserini-beir' || preset === 'beir';
    const run = await searchAll(retriever, queries, { hits, removeQuery });
    lap('searchMs');
    const result = evaluate(qrels, run, {
      preset,
      measures: ['ndcg_cut.10', 'recall.100,1000', { measure: 'recip_rank', maxDocuments: 10 }],
    });
    lap('evaluateMs');
    if (values.run !== undefined) {
      await writeRun(values.run, run, { tag: values.retriever, maxHits: hits });
      lap('writeRunMs');
    }
    timings.totalMs = Math.round(performance.now() - started);

    const metrics = Object.fromEntries(REPORTED.map(({ name }) => [name, result.all[name] ?? 0]));
    if (values.json) {
      process.stdout.write(`${JSON.stringify({
        dataset: basename(resolve(values.data)),
        split: values.split,
        retriever: retriever.config(),
        preset,
        hits,
        queries: result.queryCount,
        documents: corpus.length,
        metrics,
        timings,
      })}\n`);
    } else {
      const rows = REPORTED.map(({ name, label }) => `${label.padEnd(8)} ${(metrics[name] as number).toFixed(4)}`);
      process.stdout.write(`${basename(resolve(values.data))} ${values.split}, ${values.retriever}, ${result.queryCount} queries, ${corpus.length} documents (${preset})\n`);
      process.stdout.write(`${rows.join('\n')}\n`);
      if (!values.quiet) process.stderr.write(`time: ${(timings.totalMs / 1000).toFixed(2)} s\n`);
    }
    return 0;
  },
};
