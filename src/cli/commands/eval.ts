import { loadJsonConfig } from '../../backends/settings.js';
import type { ThinkerConfig } from '../../backends/thinker.js';
import { O1Error } from '../../errors.js';
import { evaluateRetriever, REPORTED_MEASURES } from '../../evaluation/evaluate-retriever.js';
import { openIndex } from '../../indexes/open-index.js';
import type { EvaluationPresetName } from '../../evaluation/presets.js';
import { retrieverNames } from '../../retrieval/registry.js';
import { DEFAULT_HITS, type RetrieverConfig } from '../../retrieval/retriever.js';
import type { Command } from '../command.js';
import { parseCommandLine, parseInteger } from '../arguments.js';

const USAGE = `usage: o1e eval --data DIR [--split test] [--retriever bm25|dense|o1|fused] [--hits 1000]
                [--thinker CONFIG] [--embedder CONFIG] [--model PATH] [--config FILE]
                [--run FILE] [--preset anserini-beir] [--json] [--quiet] [--queries N]
                [--query-weight 1] [--query-only-weight 0] [--thoughts 3] [--seed 0]
                [--max-new-tokens 128] [--threads N] [--fusion rrf|score] [--fusion-weights 1,1]
                [--thought-cache FILE] [--document-cache FILE] [--report FILE.html]
                [--runtime engine|llama-cpp]
       o1e eval --index INDEX --data DIR [--thinker CONFIG] [--split test] [--hits 1000] ...

Loads a BEIR split, indexes its corpus, retrieves --hits documents per judged query and
evaluates them: nDCG@10, R@100, R@1000 and MRR@10 (recip_rank under -M 10). The default preset
is Anserini's BEIR convention: trec_eval -c, a document whose id equals the query id removed.
Any retriever can think: --thinker gives bm25, dense and fused a thinker (CONFIG is inline JSON
or a JSON file), e.g. '{"backend":"file","path":"thoughts.jsonl"}' or
'{"backend":"openai","baseUrl":"http://127.0.0.1:8080/v1","model":"qwen","temperature":0.7}'.

  --data DIR        BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)
  --split NAME      qrels split (default test)
  --retriever NAME  bm25 (default); dense (--embedder CONFIG, or --model PATH for our engine);
                    o1 (the O1 model of --model thinking and embedding by itself);
                    fused (bm25 + dense, or bm25 + o1 when --model is given without a thinker)
  --config FILE     a whole retriever config (JSON file or inline); replaces --retriever & co.
  --index INDEX     evaluate a prebuilt index (o1e index) instead of indexing the corpus: it
                    searches as its manifest says (--thinker overrides its thinking)
  --thinker CONFIG  bm25, dense, fused: think before searching (thoughts on every hit)
  --embedder CONFIG dense, fused: the embedder, e.g. '{"backend":"use-lite"}'
  --model PATH      dense, o1, fused: an O1 model (Hugging Face folder or GGUF file)
  --hits N          documents retrieved per query (default 1000)
  --queries N       only the first N judged queries
  --run FILE        also write the TREC run file (tag: the retriever name)
  --report FILE     also write a self-contained HTML report (metrics, charts, each query's
                    thoughts and top hits); o1e report compares several runs
  --preset NAME     trec_eval | anserini-beir | beir | mteb (default anserini-beir)
  --json            print one JSON object (metrics keyed by trec_eval names) instead of a table
  --quiet           no progress output
  --query-weight K  bm25 thinking: the query repeated K times before the thoughts (default 1)
  --query-only-weight W  bm25 thinking: fuse the query-only ranking in with weight W (default 0)
  --thoughts N      thoughts per query (o1; with --thinker, overrides its "thoughts"; default 3)
  --seed N          thought sampling seed (default 0)
  --max-new-tokens N  most tokens per thought (default 128)
  --threads N       dense, o1, fused with --model: CPU threads
  --runtime NAME    o1: engine (default; ONNX Runtime) or llama-cpp (node-llama-cpp on a GGUF
                    file written by o1e convert MODEL --to gguf)
  --fusion KIND     fused: rrf (reciprocal rank, k 60; default) or score (min-max per query)
  --fusion-weights A,B  fused: weights of bm25 and of the model's ranking (default 1,1)
  --thought-cache FILE  JSONL cache of thoughts, reused by later runs
  --document-cache FILE dense, o1, fused: JSONL cache of document vectors (keyed by the
                    embedder's identity and document text), so later runs do not re-embed

The JSON output's "retriever" is the full retriever config; "timings" include the retriever's
(loadModelMs, embedDocumentsMs, thinkMs, embedQueriesMs, vectorSearchMs), "thoughts" counts
generated and cached queries, "cachedDocuments" the vectors read from --document-cache.
`;

const OPTIONS = {
  data: { type: 'string' },
  split: { type: 'string', default: 'test' },
  retriever: { type: 'string' },
  config: { type: 'string' },
  index: { type: 'string' },
  thinker: { type: 'string' },
  embedder: { type: 'string' },
  hits: { type: 'string', default: String(DEFAULT_HITS) },
  queries: { type: 'string' },
  run: { type: 'string' },
  report: { type: 'string' },
  preset: { type: 'string', default: 'anserini-beir' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  model: { type: 'string' },
  'query-weight': { type: 'string' },
  'query-only-weight': { type: 'string' },
  thoughts: { type: 'string' },
  seed: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  threads: { type: 'string' },
  runtime: { type: 'string' },
  fusion: { type: 'string' },
  'fusion-weights': { type: 'string' },
  'thought-cache': { type: 'string' },
  'document-cache': { type: 'string' },
} as const;

type Values = Record<string, string | boolean | undefined>;

function refuse(values: Values, options: string[], reason: string): void {
  for (const option of options) {
    if (values[option] !== undefined) throw new O1Error('BAD_ARGUMENT', `--${option} ${reason}`, { field: option });
  }
}

function parseWeight(text: string, option: string): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && value >= 0)) throw new O1Error('BAD_ARGUMENT', `--${option} must be a number >= 0, got '${text}'`, { field: option });
  return value;
}

/** The thinker config of --thinker, with --thoughts, --seed, --max-new-tokens, --thought-cache applied. */
async function thinkerConfig(values: Values): Promise<ThinkerConfig | undefined> {
  const text = values.thinker as string | undefined;
  if (text === undefined) {
    return undefined;
  }
  const config = (await loadJsonConfig(text, 'thinker')) as ThinkerConfig;
  if (values.thoughts !== undefined) config.thoughts = parseInteger(values.thoughts as string, 'thoughts', 1);
  if (values.seed !== undefined) config.seed = parseInteger(values.seed as string, 'seed');
  if (values['max-new-tokens'] !== undefined) config.maxTokens = parseInteger(values['max-new-tokens'] as string, 'max-new-tokens', 0);
  if (values['thought-cache'] !== undefined) config.thoughtCache = values['thought-cache'];
  return config;
}

/** The retriever config the command line asks for. */
async function retrieverConfig(values: Values): Promise<RetrieverConfig> {
  if (values.config !== undefined) {
    refuse(values, ['retriever', 'thinker', 'embedder', 'model', 'query-weight', 'query-only-weight', 'thoughts', 'seed', 'max-new-tokens', 'threads', 'fusion', 'fusion-weights', 'thought-cache', 'document-cache'], 'cannot be combined with --config (put it in the config)');
    const config = await loadJsonConfig(values.config as string, 'config');
    if (typeof config.retriever !== 'string') throw new O1Error('BAD_ARGUMENT', '--config needs a "retriever" name', { field: 'config' });
    return config as RetrieverConfig;
  }
  const name = (values.retriever as string | undefined) ?? 'bm25';
  if (!retrieverNames().includes(name)) throw new O1Error('UNKNOWN_RETRIEVER', `unknown retriever '${name}'; known: ${retrieverNames().join(', ')}`, { field: 'retriever' });
  const thinker = await thinkerConfig(values);
  const model = values.model as string | undefined;
  const embedder = values.embedder === undefined ? undefined : await loadJsonConfig(values.embedder as string, 'embedder');
  if (thinker === undefined) refuse(values, ['query-weight', 'query-only-weight'], 'applies to thinking bm25: give --thinker');
  if (name !== 'fused') refuse(values, ['fusion', 'fusion-weights'], 'applies to --retriever fused');
  const bm25 = (): RetrieverConfig => {
    const config: RetrieverConfig = { retriever: 'bm25' };
    if (values['query-weight'] !== undefined) config.queryWeight = parseInteger(values['query-weight'] as string, 'query-weight', 1);
    if (values['query-only-weight'] !== undefined) config.queryOnlyWeight = parseWeight(values['query-only-weight'] as string, 'query-only-weight');
    return config;
  };
  const o1 = (): RetrieverConfig => {
    if (model === undefined) throw new O1Error('BAD_ARGUMENT', `--retriever ${name} needs --model PATH`, { field: 'model' });
    refuse(values, ['embedder'], 'does not apply to the O1 model thinking by itself');
    const config: RetrieverConfig = { retriever: 'o1', model };
    if (values.runtime !== undefined) {
      if (values.runtime !== 'engine' && values.runtime !== 'llama-cpp') throw new O1Error('BAD_ARGUMENT', `--runtime must be engine or llama-cpp, got '${String(values.runtime)}'`, { field: 'runtime' });
      config.runtime = values.runtime;
    }
    if (values.threads !== undefined) config.threads = parseInteger(values.threads as string, 'threads', 1);
    if (values['document-cache'] !== undefined) config.documentCache = values['document-cache'];
    config.thoughts = parseInteger((values.thoughts as string | undefined) ?? '3', 'thoughts', 1);
    config.seed = parseInteger((values.seed as string | undefined) ?? '0', 'seed');
    config.maxNewTokens = parseInteger((values['max-new-tokens'] as string | undefined) ?? '128', 'max-new-tokens', 0);
    if (values['thought-cache'] !== undefined) config.thoughtCache = values['thought-cache'];
    return config;
  };
  const dense = (withThinker: boolean): RetrieverConfig => {
    refuse(values, ['runtime'], 'applies to --retriever o1 (or fused with --model); for dense, give an --embedder config with "backend": "llama-cpp"');
    if (embedder === undefined && model === undefined) throw new O1Error('BAD_ARGUMENT', `--retriever ${name} needs --embedder CONFIG or --model PATH`, { field: 'embedder' });
    if (embedder !== undefined && model !== undefined) throw new O1Error('BAD_ARGUMENT', 'give --embedder or --model, not both', { field: 'model' });
    const config: RetrieverConfig = embedder !== undefined ? { retriever: 'dense', embedder } : { retriever: 'dense', model };
    if (values.threads !== undefined) {
      if (model === undefined) throw new O1Error('BAD_ARGUMENT', '--threads goes with --model; put "threads" in the --embedder config', { field: 'threads' });
      config.threads = parseInteger(values.threads as string, 'threads', 1);
    }
    if (values['document-cache'] !== undefined) config.documentCache = values['document-cache'];
    if (withThinker && thinker !== undefined) config.thinker = thinker;
    return config;
  };
  switch (name) {
    case 'bm25': {
      refuse(values, ['embedder', 'model', 'threads', 'document-cache', 'runtime'], 'does not apply to bm25');
      if (thinker === undefined) refuse(values, ['thoughts', 'seed', 'max-new-tokens', 'thought-cache'], 'applies to thinking: give --thinker');
      return thinker === undefined ? bm25() : { ...bm25(), thinker };
    }
    case 'dense':
      if (thinker === undefined) refuse(values, ['thoughts', 'seed', 'max-new-tokens', 'thought-cache'], 'applies to thinking: give --thinker (or use --retriever o1)');
      return dense(true);
    case 'o1':
      refuse(values, ['thinker'], 'does not apply to --retriever o1 (the O1 model thinks by itself); use --retriever dense --model PATH --thinker CONFIG');
      return o1();
    case 'fused': {
      const model2 = thinker === undefined && embedder === undefined ? o1() : dense(false);
      const config: RetrieverConfig = { retriever: 'fused', fusion: (values.fusion as string | undefined) ?? 'rrf', retrievers: [bm25(), model2] };
      if (config.fusion !== 'rrf' && config.fusion !== 'score') throw new O1Error('BAD_ARGUMENT', `--fusion must be rrf or score, got '${String(config.fusion)}'`, { field: 'fusion' });
      if (thinker !== undefined) config.thinker = thinker;
      const weights = values['fusion-weights'] as string | undefined;
      if (weights !== undefined) {
        const parsed = weights.split(',').map((part) => Number(part.trim()));
        if (parsed.length !== 2 || !parsed.every((weight) => Number.isFinite(weight) && weight >= 0) || parsed.every((weight) => weight === 0)) {
          throw new O1Error('BAD_ARGUMENT', `--fusion-weights takes two non-negative numbers, bm25 then model (e.g. 1,0.5), got '${weights}'`, { field: 'fusion-weights' });
        }
        config.weights = parsed;
      }
      return config;
    }
    default:
      refuse(values, ['thinker', 'embedder', 'model', 'thoughts', 'seed', 'max-new-tokens', 'threads', 'thought-cache', 'document-cache'], `does not apply to ${name}; use --config for its settings`);
      return { retriever: name };
  }
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'retrieve and evaluate on a BEIR split (nDCG@10, R@100, R@1000, MRR@10)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    if (positionals.length > 0) throw new O1Error('BAD_ARGUMENT', `unexpected argument '${positionals[0]}'\n${USAGE}`);
    if (values.data === undefined) throw new O1Error('BAD_ARGUMENT', `--data DIR is required\n${USAGE}`, { field: 'data' });
    const hits = parseInteger(values.hits, 'hits', 1);
    const queryLimit = values.queries === undefined ? undefined : parseInteger(values.queries, 'queries', 1);
    const quiet = values.quiet || values.json;
    // With --index the retriever is the index's: only --thinker may change how it searches.
    if (values.index !== undefined) {
      refuse(values, ['retriever', 'config', 'embedder', 'model', 'query-weight', 'query-only-weight', 'threads', 'fusion', 'fusion-weights', 'document-cache'], 'does not apply to --index (the index holds its retriever config)');
      if (values.thinker === undefined) refuse(values, ['thoughts', 'seed', 'max-new-tokens', 'thought-cache'], 'applies to --thinker (with --index, the index thinks as built)');
    }
    const index = values.index === undefined ? undefined : await openIndex(values.index, { thinker: await thinkerConfig(values) });
    const config = index === undefined ? await retrieverConfig(values) : index.retriever().config();
    const preset = values.preset as EvaluationPresetName;
    const reportPath = values.report;
    const report = await evaluateRetriever(index?.retriever() ?? config, values.data, {
      split: values.split, hits, preset, quiet, run: values.run, queryLimit, indexed: index !== undefined,
      onResults: reportPath === undefined ? undefined : async (results) => {
        const thoughts = new Map<string, readonly string[]>();
        for (const [id, found] of results.hits) if (found[0]?.thoughts !== undefined) thoughts.set(id, found[0].thoughts);
        const { writeReport } = await import('../../report/index.js');
        await writeReport(reportPath, {
          systems: [{ name: config.retriever, run: results.run, ...(thoughts.size === 0 ? {} : { thoughts }) }],
          qrels: results.qrels, queries: results.queries, corpus: results.corpus, preset,
          description: `${values.data} ${values.split}`,
        });
      },
    }).finally(() => index?.close());
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      const rows = REPORTED_MEASURES.map(({ name, label }) => `${label.padEnd(8)} ${(report.metrics[name] ?? 0).toFixed(4)}`);
      const thinking = report.thoughts === undefined ? '' : `, thinking (${report.thoughts.generatedQueries} generated, ${report.thoughts.cachedQueries} cached)`;
      process.stdout.write(`${report.dataset} ${report.split}, ${config.retriever}${thinking}, ${report.queries} queries, ${report.documents} documents (${report.preset})\n`);
      process.stdout.write(`${rows.join('\n')}\n`);
      if (!values.quiet) process.stderr.write(`time: ${(report.timings.totalMs / 1000).toFixed(2)} s\n`);
    }
    return 0;
  },
};
