import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeBeirQrels, writeCorpus, writeQueries } from '../src/data/beir.js';
import { O1E } from './helpers/cli.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';

const run = promisify(execFile);

async function tinyBeir(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-cli-'));
  await mkdir(join(directory, 'qrels'));
  await writeCorpus(join(directory, 'corpus.jsonl'), [
    { id: 'd1', title: 'Cats', text: 'Cats are small furry animals that purr.' },
    { id: 'd2', title: 'Dogs', text: 'Dogs bark and fetch sticks.' },
    { id: 'd3', title: 'Stocks', text: 'The stock market fell sharply on Monday.' },
    { id: 'q2', title: 'Echo', text: 'A document whose id equals a query id is removed, as Anserini does.' },
  ]);
  await writeQueries(join(directory, 'queries.jsonl'), [
    { id: 'q1', text: 'Do cats purr?' },
    { id: 'q2', text: 'why do dogs bark, as Anserini does' },
  ]);
  await writeBeirQrels(join(directory, 'qrels', 'test.tsv'), new Map([
    ['q1', new Map([['d1', 1]])],
    ['q2', new Map([['d2', 1]])],
  ]));
  return directory;
}

test('o1e eval --json prints one JSON object with trec_eval-named metrics, and writes the run', async () => {
  const directory = await tinyBeir();
  const runFile = join(directory, 'bm25.run');
  const { stdout } = await run(process.execPath, [...O1E, 'eval', '--data', directory, '--retriever', 'bm25', '--run', runFile, '--json']);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const report = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(report.metrics).sort(), ['ndcg_cut_10', 'recall_100', 'recall_1000', 'recip_rank']);
  // Both queries find their relevant document first once q2's own id is removed.
  assert.equal(report.metrics.ndcg_cut_10, 1);
  assert.equal(report.metrics.recip_rank, 1);
  assert.equal(report.queries, 2);
  const written = (await readFile(runFile, 'utf8')).trim().split('\n');
  assert.ok(written.every((line) => /^\S+ Q0 \S+ \d+ \S+ bm25$/.test(line)));
  assert.ok(!written.some((line) => line.startsWith('q2 Q0 q2 ')), 'the query id itself is never retrieved');
});

test('o1e eval: bad arguments and missing files exit non-zero with a message naming the problem', async () => {
  await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', '/nonexistent/beir']), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /MISSING_FILE: \/nonexistent\/beir: the BEIR folder does not exist/);
    return true;
  });
  // A split without qrels is refused before any work, naming its file.
  const directory = await tinyBeir();
  await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', directory, '--split', 'dev']), (error: { code: number; stderr: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stderr, /MISSING_FILE: \S+\/qrels\/dev\.tsv: split 'dev' has no qrels file/);
    return true;
  });
  await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', '.', '--retriever', 'nope']), /UNKNOWN_RETRIEVER/);
  await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', '.', '--hits', 'ten']), /--hits must be an integer/);
});

test('o1e eval on SciFact test reproduces Anserini BM25 flat (the README command)', sharedTestOptions('datasets', 'scifact'), async () => {
  const { stdout } = await run(process.execPath, [...O1E, 'eval', '--data', sharedPath('datasets', 'scifact'), '--split', 'test', '--retriever', 'bm25', '--json']);
  const report = JSON.parse(stdout);
  assert.ok(Math.abs(report.metrics.ndcg_cut_10 - 0.6789) <= 0.003, `nDCG@10 ${report.metrics.ndcg_cut_10}`);
  assert.ok(Math.abs(report.metrics.recall_100 - 0.9253) <= 0.005, `R@100 ${report.metrics.recall_100}`);
  assert.ok(Math.abs(report.metrics.recall_1000 - 0.9767) <= 0.005, `R@1000 ${report.metrics.recall_1000}`);
  assert.equal(report.queries, 300);
});
