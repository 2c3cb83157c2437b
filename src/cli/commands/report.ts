import { basename, extname, resolve } from 'node:path';
import { loadBeir } from '../../data/beir.js';
import { readRun } from '../../data/trec.js';
import { O1Error } from '../../errors.js';
import { getEvaluationPreset, type EvaluationPresetName } from '../../evaluation/index.js';
import { readThoughts, writeReport, type ReportSystem } from '../../report/index.js';
import type { Command } from '../command.js';
import { parseCommandLine, parseInteger } from '../arguments.js';

const USAGE = `usage: o1e report RUN... --data DIR --out FILE.html [--split test] [--names a,b]
                [--thoughts FILE]... [--preset anserini-beir] [--top 10] [--title TEXT] [--quiet]

Writes one self-contained HTML page (no network: the chart library is inlined) comparing TREC
runs on a BEIR split: a metrics table (nDCG@10, R@100, R@1000, MRR@10 as o1e eval computes
them), bar charts per metric, per-query differences against the FIRST run (sorted wins and
losses), the distribution of per-query nDCG@10, and every judged query with its thoughts and
top hits, relevance marked from the qrels.

  RUN...            TREC run files (qid Q0 docid rank score tag); the first is the baseline
  --data DIR        BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)
  --out FILE        the HTML file to write (atomically)
  --split NAME      qrels split (default test)
  --names A,B       system names, one per run (default: the run files' names without extension)
  --thoughts FILE   a JSONL thoughts file ({"query_id", "query", "thoughts": [...]}) for the
                    run in the same position; repeat once per run, '-' for a run without
  --preset NAME     trec_eval | anserini-beir | beir | mteb (default anserini-beir)
  --top N           hits shown per query and run (default 10)
  --title TEXT      page title (default: "<dataset> <split>: <names>")
  --quiet           no progress output
`;

const OPTIONS = {
  data: { type: 'string' },
  out: { type: 'string' },
  split: { type: 'string', default: 'test' },
  names: { type: 'string' },
  thoughts: { type: 'string', multiple: true },
  preset: { type: 'string', default: 'anserini-beir' },
  top: { type: 'string', default: '10' },
  title: { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

/** Default system names: the run files' base names, made unique with a `#2`, `#3`... suffix. */
function defaultNames(paths: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return paths.map((path) => {
    const name = basename(path, extname(path)) || basename(path);
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name}#${count}`;
  });
}

/** `o1e report`: an HTML evaluation report for one or more runs. */
export const reportCommand: Command = {
  name: 'report',
  summary: 'write a self-contained HTML report comparing TREC runs on a BEIR split',
  usage: USAGE,
  async run(argv) {
    const { values, positionals: runPaths } = parseCommandLine(argv, OPTIONS, USAGE);
    if (runPaths.length === 0) throw new O1Error('BAD_ARGUMENT', `give at least one RUN file\n${USAGE}`);
    if (values.data === undefined) throw new O1Error('BAD_ARGUMENT', '--data DIR is required', { field: 'data' });
    if (values.out === undefined) throw new O1Error('BAD_ARGUMENT', '--out FILE.html is required', { field: 'out' });
    const preset = getEvaluationPreset(values.preset).name as EvaluationPresetName;
    const top = parseInteger(values.top, 'top', 1);
    const names = values.names === undefined ? defaultNames(runPaths) : values.names.split(',').map((name) => name.trim());
    if (names.length !== runPaths.length) {
      throw new O1Error('BAD_ARGUMENT', `--names gives ${names.length} names for ${runPaths.length} runs`, { field: 'names' });
    }
    const thoughtPaths = values.thoughts ?? [];
    if (thoughtPaths.length > runPaths.length) {
      throw new O1Error('BAD_ARGUMENT', `${thoughtPaths.length} --thoughts files for ${runPaths.length} runs (one per run, in order; '-' for none)`, { field: 'thoughts' });
    }

    const { corpus, queries, qrels } = await loadBeir(values.data, values.split, { quiet: values.quiet });
    const systems: ReportSystem[] = [];
    for (const [index, path] of runPaths.entries()) {
      const run = await readRun(path, { queries: qrels });
      const thoughtPath = thoughtPaths[index];
      const thoughts = thoughtPath === undefined || thoughtPath === '-' ? undefined : await readThoughts(thoughtPath);
      systems.push(thoughts === undefined ? { name: names[index], run } : { name: names[index], run, thoughts });
    }
    const dataset = basename(resolve(values.data));
    const bytes = await writeReport(values.out, {
      systems,
      qrels,
      queries,
      corpus,
      preset,
      hitsShown: top,
      title: values.title ?? `${dataset} ${values.split}: ${names.join(' vs ')}`,
      description: `${dataset} ${values.split}`,
    });
    if (!values.quiet) process.stderr.write(`wrote ${values.out}: ${systems.length} systems, ${qrels.size} judged queries, ${(bytes / 1024).toFixed(0)} KiB\n`);
    return 0;
  },
};
