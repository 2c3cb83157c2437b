import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBeir } from '../../data/beir.js';
import { writeRun } from '../../data/trec.js';
import { O1Error } from '../../errors.js';
import { evaluate, type EvaluationPresetName } from '../../evaluation/index.js';
import { createRetriever, retrieverNames } from '../../retrieval/registry.js';
import { DEFAULT_HITS, searchAll, type Retriever, type RetrieverConfig, type SearchOptions } from '../../retrieval/retriever.js';
import type { Command } from '../command.js';
import { parseInteger } from '../arguments.js';

const USAGE = `usage: o1e eval --data DIR [--split test] [--retriever bm25|dense|o1|fused] [--hits 1000] [--run FILE]
                [--preset anserini-beir] [--json] [--quiet]
                [--model PATH] [--thoughts 3] [--seed 0] [--max-new-tokens 128] [--threads N]
                [--fusion rrf|score] [--fusion-weights 1,1] [--thought-cache FILE]
                [--document-cache FILE]

Loads a BEIR split, indexes its corpus, retrieves --hits documents per judged query and
evaluates them: nDCG@10, R@100, R@1000 and MRR@10 (recip_rank under -M 10). The default preset
is Anserini's BEIR convention: trec_eval -c, a document whose id equals the query id removed.

  --data DIR        BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)
  --split NAME      qrels split (default test)
  --retriever NAME  one of the registered retrievers (default bm25): bm25; dense (an O1 model
                    without thinking); o1 (think, then embed); fused (bm25 + o1)
  --hits N          documents retrieved per query (default 1000)
  --run FILE        also write the TREC run file (tag: the retriever name)
  --preset NAME     trec_eval | anserini-beir | beir | mteb (default anserini-beir)
  --json            print one JSON object (metrics keyed by trec_eval names) instead of a table
  --quiet           no progress output
  --model PATH      dense, o1, fused: the O1 model (Hugging Face folder or GGUF file)
  --thoughts N      o1, fused: thoughts per query (default 3)
  --seed N          o1, fused: thought sampling seed (default 0)
  --max-new-tokens N  o1, fused: most tokens per thought (default 128)
  --threads N       dense, o1, fused: ONNX Runtime threads
  --fusion KIND     fused: rrf (reciprocal rank, k 60; default) or score (min-max per query)
  --fusion-weights A,B  fused: weights of bm25 and of the model's ranking (default 1,1)
  --thought-cache FILE  o1, fused: JSONL cache of thoughts, reused by later runs
  --document-cache FILE dense, o1, fused: JSONL cache of document vectors (keyed by model
                    identity and document text), so later runs do not re-embed the corpus

The JSON output's "retriever" is the full retriever config; O1 retrievers add timings
(loadModelMs, embedDocumentsMs, thinkMs, embedQueriesMs, vectorSearchMs) and "thoughts" counts;
with --document-cache, "cachedDocuments" counts the vectors read from the cache.
`;

/** The retriever config the command line asks for. */
function retrieverConfig(values: Record<string, string | boolean | undefined>): RetrieverConfig {
  const name = values.retriever as string;
  const text = (key: string): string | undefined => values[key] as string | undefined;
  const usesModel = name === 'dense' || name === 'o1' || name === 'fused';
  for (const option of ['model', 'thoughts', 'seed', 'max-new-tokens', 'threads', 'fusion', 'fusion-weights', 'thought-cache', 'document-cache']) {
    if (!usesModel && text(option) !== undefined) throw new O1Error('BAD_ARGUMENT', `--${option} applies to --retriever dense, o1 or fused, not ${name}`, { field: option });
  }
  if (!usesModel) return { retriever: name };
  const model = text('model');
  if (model === undefined) throw new O1Error('BAD_ARGUMENT', `--retriever ${name} needs --model PATH`, { field: 'model' });
  const dense: RetrieverConfig = { retriever: name === 'dense' ? 'dense' : 'o1', model };
  if (text('threads') !== undefined) dense.threads = parseInteger(text('threads') as string, 'threads', 1);
  if (text('document-cache') !== undefined) dense.documentCache = text('document-cache');
  if (name !== 'dense') {
    dense.thoughts = parseInteger(text('thoughts') ?? '3', 'thoughts', 1);
    dense.seed = parseInteger(text('seed') ?? '0', 'seed');
    dense.maxNewTokens = parseInteger(text('max-new-tokens') ?? '128', 'max-new-tokens', 0);
    if (text('thought-cache') !== undefined) dense.thoughtCache = text('thought-cache');
  } else {
    for (const option of ['thoughts', 'seed', 'max-new-tokens', 'thought-cache']) {
      if (text(option) !== undefined) throw new O1Error('BAD_ARGUMENT', `--${option} applies to o1 and fused (dense does not think)`, { field: option });
    }
  }
  if (name !== 'fused') {
    for (const option of ['fusion', 'fusion-weights']) {
      if (text(option) !== undefined) throw new O1Error('BAD_ARGUMENT', `--${option} applies to --retriever fused`, { field: option });
    }
    return dense;
  }
  const fusion = text('fusion') ?? 'rrf';
  if (fusion !== 'rrf' && fusion !== 'score') throw new O1Error('BAD_ARGUMENT', `--fusion must be rrf or score, got '${fusion}'`, { field: 'fusion' });
  const config: RetrieverConfig = { retriever: 'fused', fusion, retrievers: [{ retriever: 'bm25' }, dense] };
  const weights = text('fusion-weights');
  if (weights !== undefined) {
    const parsed = weights.split(',').map((part) => Number(part.trim()));
    if (parsed.length !== 2 || !parsed.every((weight) => Number.isFinite(weight) && weight >= 0) || parsed.every((weight) => weight === 0)) {
      throw new O1Error('BAD_ARGUMENT', `--fusion-weights takes two non-negative numbers, bm25 then model (e.g. 1,0.5), got '${weights}'`, { field: 'fusion-weights' });
    }
    config.weights = parsed;
  }
  return config;
}

/** Timings and thought counts that dense and O1 retrievers (also inside a fused one) report. */
function retrieverReport(retriever: Retriever): { timings: Record<string, number>; thoughts?: Record<string, number>; cachedDocuments?: number } {
  const members = (retriever as { members?: readonly Retriever[] }).members ?? [retriever];
  const timings: Record<string, number> = {};
  let thoughts: Record<string, number> | undefined;
  let cachedDocuments: number | undefined;
  for (const member of members) {
    const cached = (member as { cachedDocuments?: number; options?: { documentCache?: string } });
    if (cached.options?.documentCache !== undefined) cachedDocuments = (cachedDocuments ?? 0) + (cached.cachedDocuments ?? 0);
    for (const [name, value] of Object.entries((member as { timings?: Record<string, number> }).timings ?? {})) timings[name] = (timings[name] ?? 0) + value;
    const counts = (member as { thoughtStatistics?: Record<string, number> }).thoughtStatistics;
    if (counts !== undefined) thoughts = { ...counts };
  }
  return { timings, thoughts, cachedDocuments };
}

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
        model: { type: 'string' },
        thoughts: { type: 'string' },
        seed: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        threads: { type: 'string' },
        fusion: { type: 'string' },
        'fusion-weights': { type: 'string' },
        'thought-cache': { type: 'string' },
        'document-cache': { type: 'string' },
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
    const config = retrieverConfig(values);
    const { corpus, queries, qrels } = await loadBeir(values.data, values.split, { quiet });
    lap('loadMs');
    const retriever = createRetriever(config);
    let run;
    try {
      await retriever.index(corpus, { quiet, total: corpus.length });
      lap('indexMs');
      const removeQuery = preset === 'anserini-beir' || preset === 'beir';
      // `quiet` is read by the dense and O1 retrievers' progress bars.
      const searchOptions: SearchOptions & { quiet: boolean } = { hits, removeQuery, quiet };
      run = await searchAll(retriever, queries, searchOptions);
      lap('searchMs');
    } finally {
      await (retriever as { dispose?: () => Promise<void> }).dispose?.();
    }
    const report = retrieverReport(retriever);
    const result = evaluate(qrels, run, {
      preset,
      measures: ['ndcg_cut.10', 'recall.100,1000', { measure: 'recip_rank', maxDocuments: 10 }],
    });
    lap('evaluateMs');
    if (values.run !== undefined) {
      await writeRun(values.run, run, { tag: values.retriever, maxHits: hits });
      lap('writeRunMs');
    }
    Object.assign(timings, report.timings);
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
        ...(report.thoughts === undefined ? {} : { thoughts: report.thoughts }),
        ...(report.cachedDocuments === undefined ? {} : { cachedDocuments: report.cachedDocuments }),
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
