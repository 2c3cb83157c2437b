/**
 * `o1e index` as real processes killed with SIGKILL at seeded random moments (startup, while
 * batches are embedded and journaled, while the version is assembled and published), then
 * re-run with the same command: the final index equals an uninterrupted build byte for byte
 * (documents, BM25 index, vectors), and the last run embedded only what the journal lacked.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeCorpus } from '../src/data/beir.js';
import { buildIndex, openIndex } from '../src/indexes/index.js';
import { seededRandom } from '../src/util/random.js';
import { O1E } from './helpers/cli.js';
import { seededDocuments, versionFiles } from './helpers/index-fixtures.js';
import { tinyO1Model } from './helpers/o1-fixtures.js';

const DOCUMENTS = 60;
const BATCH = 4;
const BATCHES = DOCUMENTS / BATCH;

let directory: string;
let corpus: string;
let retriever: string;
let reference: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-index-kill-'));
  const model = join(directory, 'tiny-o1');
  await tinyO1Model({ output: model });
  corpus = join(directory, 'corpus.jsonl');
  await writeCorpus(corpus, seededDocuments(DOCUMENTS, 11));
  retriever = JSON.stringify({ retriever: 'fused', retrievers: [{ retriever: 'bm25' }, { retriever: 'dense', model, threads: 1 }] });
  reference = join(directory, 'reference');
  await buildIndex({ corpus, retriever: JSON.parse(retriever), out: reference, batchSize: BATCH, quiet: true });
});

after(async () => {
  await rm(directory, { recursive: true, force: true });
});

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Complete lines of the journal (a torn last line is not counted). */
function journalBatches(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((line) => line.includes('"batch"'));
  return complete.length;
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

test('o1e index killed with SIGKILL at random moments, re-run: the same index as an uninterrupted build', { timeout: 120_000 }, async (context) => {
  const out = join(directory, 'killed');
  const journal = join(out, 'build', 'dense-1.journal');
  const stage = join(out, 'build', 'v000001');
  const args = ['index', '--corpus', corpus, '--retriever', retriever, '--out', out, '--batch-size', String(BATCH), '--json', '--quiet'];
  const random = seededRandom(2024);
  // Each round kills at one kind of moment, with a seeded random offset; batch targets count
  // from what earlier rounds journaled.
  const startupDelay = 200 + Math.floor(random() * 1300);
  const fewBatches = 1 + Math.floor(random() * 3);
  const moreBatches = 3 + Math.floor(random() * 4);
  const rounds: { describe: string; ready: (started: number, before: number) => boolean }[] = [
    { describe: `${startupDelay} ms after the start`, ready: (started) => Date.now() - started >= startupDelay },
    { describe: `${fewBatches} batches later`, ready: (_started, before) => journalBatches(journal) >= before + fewBatches },
    { describe: `${moreBatches} batches later`, ready: (_started, before) => journalBatches(journal) >= before + moreBatches },
    { describe: 'while the version is assembled or published', ready: () => existsSync(stage) || existsSync(join(out, 'CURRENT')) },
  ];
  let kills = 0;
  for (const [round, { describe, ready }] of rounds.entries()) {
    const child = spawn(process.execPath, [...O1E, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => { stderr += chunk; });
    const exit = exited(child);
    const started = Date.now();
    const before = journalBatches(journal);
    while (!ready(started, before) && child.exitCode === null) await sleep(5);
    if (round === 3) await sleep(Math.floor(random() * 120));
    if (child.exitCode !== null) {
      assert.equal(child.exitCode, 0, `round ${round} (${describe}) ended on its own: ${stderr}`);
      if (round < rounds.length - 1) await rm(out, { recursive: true, force: true });
      continue;
    }
    child.kill('SIGKILL');
    const ended = await exit;
    if (ended.signal !== 'SIGKILL') {
      // The build finished between the check above and the kill (exitCode is only set once the
      // exit event is handled): the same as a round that ended on its own.
      assert.equal(ended.code, 0, `round ${round} (${describe}) ended on its own: ${stderr}`);
      if (round < rounds.length - 1) await rm(out, { recursive: true, force: true });
      continue;
    }
    kills++;
    context.diagnostic(`round ${round}: killed ${describe} (${Date.now() - started} ms): ${journalBatches(journal)} batches journaled, staging ${existsSync(stage) ? 'present' : 'absent'}, ${existsSync(join(out, 'CURRENT')) ? 'published' : 'unpublished'}`);
    // Whatever the moment, a reader finds no index or the complete one.
    if (existsSync(join(out, 'CURRENT'))) {
      assert.deepEqual(await versionFiles(out), await versionFiles(reference), `round ${round}: a published version is complete`);
      // Published before the later rounds could kill it (a fast machine): they start over.
      if (round < rounds.length - 1) await rm(out, { recursive: true, force: true });
    }
  }
  // On a fast machine a round may finish before its kill lands; the batch-count rounds always land.
  assert.ok(kills >= 2, `killed ${kills} times`);

  const journaled = existsSync(join(out, 'CURRENT')) ? undefined : journalBatches(journal);
  const child = spawn(process.execPath, [...O1E, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => { stdout += chunk; });
  child.stderr!.on('data', (chunk) => { stderr += chunk; });
  assert.equal((await exited(child)).code, 0, stderr);
  const report = JSON.parse(stdout.trim());
  context.diagnostic(`final run: ${JSON.stringify(report.parts)}, resumed ${report.resumed}, up to date ${report.upToDate}`);
  if (journaled !== undefined) {
    const dense = report.parts.find((part: { name: string }) => part.name === 'dense-1');
    assert.equal(report.resumed, true);
    assert.equal(dense.resumed, Math.min(journaled, BATCHES) * BATCH, 'every journaled batch reused');
    assert.equal(dense.embedded, DOCUMENTS - dense.resumed, 'only the missing batches embedded');
  } else {
    assert.equal(report.upToDate, true);
  }

  const [killed, uninterrupted] = [await versionFiles(out), await versionFiles(reference)];
  assert.equal(killed.version, 'v000001');
  assert.ok(killed.vectors.equals(uninterrupted.vectors), 'vectors byte-identical');
  assert.ok(killed.documents.equals(uninterrupted.documents) && killed.documentIndex.equals(uninterrupted.documentIndex), 'documents byte-identical');
  assert.ok(killed.bm25.equals(uninterrupted.bm25), 'BM25 index byte-identical');
  assert.deepEqual(killed.ids, uninterrupted.ids);
  assert.equal(new Set(killed.ids).size, DOCUMENTS, 'every document once');
  assert.deepEqual(readdirSync(out).sort(), ['CURRENT', 'v000001'], 'no build folder, lock or stale version left');
  const index = await openIndex(out);
  const again = await openIndex(reference);
  try {
    const [found, expected] = [await index.search('river moon common', { hits: 20 }), await again.search('river moon common', { hits: 20 })];
    assert.deepEqual(found.hits.map((hit) => [hit.id, hit.score]), expected.hits.map((hit) => [hit.id, hit.score]));
  } finally {
    await index.close();
    await again.close();
  }
});
