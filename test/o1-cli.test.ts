import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { O1E } from './helpers/cli.js';
import { tinyO1Model, writeTinyBeir } from './helpers/o1-fixtures.js';

const run = promisify(execFile);

let directory: string;
let modelPath: string;
before(async () => {
  directory = await writeTinyBeir();
  modelPath = join(directory, 'o1-model');
  await tinyO1Model({ output: modelPath });
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

test('o1e eval --retriever o1 --model DIR --json: a real process; the thought cache makes the re-run generate nothing', async () => {
  const cache = join(directory, 'thoughts.jsonl');
  const args = [...O1E, 'eval', '--data', directory, '--retriever', 'o1', '--model', modelPath, '--thoughts', '2', '--max-new-tokens', '4', '--threads', '1', '--thought-cache', cache, '--json'];
  const { stdout } = await run(process.execPath, args);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const report = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(report.metrics).sort(), ['ndcg_cut_10', 'recall_100', 'recall_1000', 'recip_rank']);
  assert.equal(report.queries, 3);
  assert.equal(report.documents, 5);
  assert.deepEqual(report.retriever, {
    retriever: 'o1', model: modelPath, threads: 1, thoughts: 2, temperature: 0.1, topP: 0.9, maxNewTokens: 4, seed: 0,
    aggregation: 'mean', includeQueryOnly: false, renormalize: false, queryBatchSize: 16, thoughtCache: cache,
  });
  for (const key of ['loadMs', 'indexMs', 'searchMs', 'evaluateMs', 'totalMs', 'loadModelMs', 'embedDocumentsMs', 'thinkMs', 'embedQueriesMs', 'vectorSearchMs']) {
    assert.equal(typeof report.timings[key], 'number', key);
  }
  assert.deepEqual(report.thoughts, { generatedQueries: 3, cachedQueries: 0 });
  const again = JSON.parse((await run(process.execPath, args)).stdout);
  assert.deepEqual(again.thoughts, { generatedQueries: 0, cachedQueries: 3 });
  assert.deepEqual(again.metrics, report.metrics);
});

test('o1e eval: fused needs --model; model options are refused for bm25', async () => {
  await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', directory, '--retriever', 'fused']), /needs --model PATH/);
  await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', directory, '--thoughts', '3']), /--thoughts applies to thinking: give --thinker/);
  await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', directory, '--retriever', 'fused', '--model', modelPath, '--fusion', 'max']), /--fusion must be rrf or score/);
});

test('o1e eval --document-cache: the re-run embeds nothing and ranks the same; --fusion-weights reaches the fused config', async () => {
  const cache = join(directory, 'documents.jsonl');
  const args = [...O1E, 'eval', '--data', directory, '--retriever', 'dense', '--model', modelPath, '--threads', '1', '--document-cache', cache, '--json', '--run'];
  const first = JSON.parse((await run(process.execPath, [...args, join(directory, 'first.run')])).stdout);
  assert.equal(first.cachedDocuments, 0);
  assert.equal(first.retriever.documentCache, cache);
  const second = JSON.parse((await run(process.execPath, [...args, join(directory, 'second.run')])).stdout);
  assert.equal(second.cachedDocuments, 5);
  assert.deepEqual(second.metrics, first.metrics);
  assert.equal(await readFile(join(directory, 'second.run'), 'utf8'), await readFile(join(directory, 'first.run'), 'utf8'));
  // Without the cache the vectors are recomputed and give the same run.
  await run(process.execPath, [...O1E, 'eval', '--data', directory, '--retriever', 'dense', '--model', modelPath, '--threads', '1', '--json', '--run', join(directory, 'fresh.run')]);
  assert.equal(await readFile(join(directory, 'fresh.run'), 'utf8'), await readFile(join(directory, 'first.run'), 'utf8'));

  const fused = JSON.parse((await run(process.execPath, [...O1E, 'eval', '--data', directory, '--retriever', 'fused', '--model', modelPath, '--thoughts', '1', '--max-new-tokens', '3',
    '--threads', '1', '--document-cache', cache, '--fusion-weights', '1,0.5', '--json'])).stdout);
  assert.deepEqual(fused.retriever.weights, [1, 0.5]);
  assert.equal(fused.cachedDocuments, 5);
  for (const bad of ['1', '1,x', '-1,1', '0,0']) {
    await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', directory, '--retriever', 'fused', '--model', modelPath, `--fusion-weights=${bad}`]), /--fusion-weights takes two non-negative numbers/);
  }
  await assert.rejects(run(process.execPath, [...O1E, 'eval', '--data', directory, '--retriever', 'o1', '--model', modelPath, '--fusion-weights', '1,1']), /--fusion-weights applies to --retriever fused/);
});
