import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hit, Query } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import { evaluateRetriever, REPORTED_MEASURES, type EvaluationReport } from '../../evaluation/evaluate-retriever.js';
import type { RetrieverConfig } from '../../retrieval/retriever.js';
import type { Command } from '../command.js';
import { demoCollection, PACKAGE_ROOT } from '../demo-collection.js';
import { parseCommandLine, parseInteger } from '../arguments.js';

const DEFAULT_MODEL = join(PACKAGE_ROOT, 'models', 'o1-small');

const USAGE = `usage: o1e demo [--data DIR] [--model PATH] [--examples 3] [--thoughts 3] [--json] [--quiet]

Thinking retrieval on a demo slice of SciFact (50 test queries, 1,000 documents, made once from
../shared/datasets/scifact into .cache/scifact-demo) with the committed O1 model (models/o1-small): BM25, the
model thinking before it embeds (o1), and the two fused by RRF. Prints the metrics of each and,
for a few queries, the model's thoughts and the top hits (relevant ones marked). Takes about a
minute on two cores, most of it embedding the 1,000 documents. For the full evaluation, see o1e eval.

  --data DIR     a BEIR folder (default: the demo slice of ../shared/datasets/scifact)
  --model PATH   an O1 model (default: the shipped models/o1-small)
  --examples N   queries shown with thoughts and hits (default 3)
  --thoughts N   thoughts per query (default 3)
  --json         one JSON object: the three reports and the examples
  --quiet        no progress output
`;

const OPTIONS = {
  data: { type: 'string' },
  model: { type: 'string' },
  examples: { type: 'string', default: '3' },
  thoughts: { type: 'string', default: '3' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
} as const;

interface Example {
  query: Query;
  thoughts: readonly string[];
  hits: { id: string; title: string; score: number; relevant: boolean }[];
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'thinking retrieval on the shipped demo collection with the committed model',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    if (positionals.length > 0) throw new O1Error('BAD_ARGUMENT', `unexpected argument '${positionals[0]}'\n${USAGE}`);
    const data = values.data ?? (await demoCollection());
    const model = values.model ?? DEFAULT_MODEL;
    const exampleCount = parseInteger(values.examples, 'examples', 0);
    const thoughts = parseInteger(values.thoughts, 'thoughts', 1);
    const quiet = values.quiet || values.json;
    // One scratch folder for the document vectors and thoughts, so the fused run re-embeds and
    // re-thinks nothing.
    const scratch = await mkdtemp(join(tmpdir(), 'o1e-demo-'));
    try {
      const o1: RetrieverConfig = { retriever: 'o1', model, thoughts, documentCache: join(scratch, 'documents.jsonl'), thoughtCache: join(scratch, 'thoughts.jsonl') };
      const systems: { name: string; config: RetrieverConfig }[] = [
        { name: 'bm25', config: { retriever: 'bm25' } },
        { name: 'o1 (thinking)', config: o1 },
        { name: 'bm25 + o1 (RRF)', config: { retriever: 'fused', fusion: 'rrf', retrievers: [{ retriever: 'bm25' }, o1] } },
      ];
      const reports: EvaluationReport[] = [];
      const examples: Example[] = [];
      for (const system of systems) {
        if (!quiet) process.stderr.write(`${system.name}\n`);
        reports.push(await evaluateRetriever(system.config, data, {
          quiet,
          hits: 100,
          onResults: (results) => {
            if (system.config.retriever !== 'o1') return;
            const titles = new Map(results.corpus.map((document) => [document.id, document.title]));
            for (const query of results.queries.slice(0, exampleCount)) {
              const hits: readonly Hit[] = results.hits.get(query.id) ?? [];
              const judged = results.qrels.get(query.id);
              examples.push({
                query,
                thoughts: hits[0]?.thoughts ?? [],
                hits: hits.slice(0, 3).map((hit) => ({ id: hit.id, title: titles.get(hit.id) ?? '', score: hit.score, relevant: (judged?.get(hit.id) ?? 0) > 0 })),
              });
            }
          },
        }));
      }
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ systems: systems.map((system, index) => ({ name: system.name, report: reports[index] })), examples })}\n`);
        return 0;
      }
      const width = Math.max(...systems.map((system) => system.name.length));
      const header = `${'system'.padEnd(width)}  ${REPORTED_MEASURES.map(({ label }) => label.padStart(7)).join('  ')}  seconds`;
      const lines = systems.map((system, index) => `${system.name.padEnd(width)}  ${REPORTED_MEASURES.map(({ name }) => (reports[index].metrics[name] ?? 0).toFixed(4).padStart(7)).join('  ')}  ${(reports[index].timings.totalMs / 1000).toFixed(1).padStart(7)}`);
      const first = reports[0];
      process.stdout.write(`${first.dataset}: ${first.queries} queries, ${first.documents} documents (R@1000 is over the top 100 here)\n\n${header}\n${lines.join('\n')}\n`);
      for (const example of examples) {
        process.stdout.write(`\nquery ${example.query.id}: ${example.query.text}\n`);
        // A small model often ends its thought at once (thought dropout trains the empty thought).
        example.thoughts.forEach((thought, index) => process.stdout.write(`  thought ${index + 1}: ${thought.trim() === '' ? '(empty: the model ended its thought at once)' : oneLine(thought, 160)}\n`));
        for (const hit of example.hits) process.stdout.write(`  ${hit.relevant ? '*' : ' '} ${hit.score.toFixed(4)}  ${hit.id}  ${oneLine(hit.title, 90)}\n`);
      }
      process.stdout.write('\n* relevant (qrels). Full SciFact: o1e eval --data ../shared/datasets/scifact --retriever o1 --model models/o1-small\n');
      return 0;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
};

function oneLine(text: string, limit: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= limit ? flat : `${flat.slice(0, limit - 1)}…`;
}
