/** Building blocks of the o1-small recipe (recipe/lib.ts): records, resumable steps, the windowed expert. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GenerateOptions, Thinker, ThinkerPrompt } from '../src/backends/thinker.js';
import type { Document, Qrels, Query } from '../src/data/types.js';
import { HuggingFaceTokenizer, trainByteLevelBpe } from '../src/tokenizer/index.js';
import { buildTrainingRecords, fuseRuns, judgedQueryIds, plainPromptText, seededShuffle, StepRunner, WindowedBatchingThinker, writeBeirQuerySubset, writeFolderAtomic } from '../recipe/lib.js';
import { loadBeir } from '../src/data/beir.js';

const corpus: Document[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id, title: `T${id}`, text: `text ${id}` }));
const queries: Query[] = [{ id: 'q1', text: 'first' }, { id: 'q2', text: 'second' }, { id: 'q3', text: 'unjudged' }];
const qrels: Qrels = new Map([
  ['q1', new Map([['b', 1], ['c', 2], ['d', 0]])],
  ['q2', new Map([['e', 1]])],
  ['q3', new Map([['a', 0]])],
]);

test('buildTrainingRecords: positives by relevance, negatives = BM25 ranks never judged for the query', () => {
  const ranked = new Map([['q1', ['d', 'c', 'a', 'b', 'f', 'e']], ['q2', ['e', 'a', 'b']]]);
  const records = buildTrainingRecords(corpus, queries, qrels, ranked, { maxPositives: 8, depth: 10, negatives: 2, seed: 0 });
  assert.deepEqual(records.map((record) => record.id), ['q1', 'q2']); // q3 has no positive
  assert.deepEqual(records[0].pos, ['Tc text c', 'Tb text b']);
  assert.deepEqual(records[0].neg, ['Ta text a', 'Tf text f']); // d is judged (0): never a negative
  assert.deepEqual(records[1].neg, ['Ta text a', 'Tb text b']);
  const sampled = buildTrainingRecords(corpus, queries, qrels, ranked, { queries: 1, maxPositives: 1, depth: 1, negatives: 5, seed: 3 });
  assert.equal(sampled.length, 1);
  assert.equal(sampled[0].pos.length, 1);
  assert.deepEqual(seededShuffle([1, 2, 3, 4, 5], 7), seededShuffle([1, 2, 3, 4, 5], 7));
});

test('StepRunner: a finished step is skipped on the next run, its time kept; writeFolderAtomic replaces a folder', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-recipe-lib-'));
  try {
    const quiet = () => undefined;
    let runs = 0;
    const first = await StepRunner.open(directory, quiet);
    const done = join(directory, 'step', 'DONE');
    const result = await first.run('step', done, async () => { runs++; return { answer: 42 }; });
    assert.equal(result.skipped, false);
    assert.ok(existsSync(done));
    const second = await StepRunner.open(directory, quiet);
    const again = await second.run('step', done, async () => { runs++; });
    assert.equal(again.skipped, true);
    assert.equal(runs, 1);
    assert.deepEqual(again.record.details, { answer: 42 });
    const folder = join(directory, 'out');
    await writeFolderAtomic(folder, (temporary) => writeFile(join(temporary, 'a.txt'), 'one'));
    await writeFolderAtomic(folder, (temporary) => writeFile(join(temporary, 'b.txt'), 'two'));
    assert.equal(existsSync(join(folder, 'a.txt')), false);
    assert.equal(await readFile(join(folder, 'b.txt'), 'utf8'), 'two');
    await assert.rejects(writeFolderAtomic(folder, async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await readFile(join(folder, 'b.txt'), 'utf8'), 'two');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('WindowedBatchingThinker: prompts cut to the last N tokens, concurrent requests batched with one seed', async () => {
  const tokenizer: HuggingFaceTokenizer = trainByteLevelBpe(['alpha beta gamma delta epsilon zeta eta theta'], { vocabSize: 300 });
  const calls: { prompts: string[]; options: GenerateOptions }[] = [];
  const inner: Thinker = {
    backend: 'fake',
    model: 'fake',
    identity: 'fake:1',
    async generate(prompts: readonly ThinkerPrompt[], options: GenerateOptions = {}) {
      calls.push({ prompts: prompts.map((prompt) => plainPromptText(prompt)), options });
      return prompts.map((prompt) => [`echo:${plainPromptText(prompt).length}`]);
    },
    config: () => ({ backend: 'fake' }),
    close: async () => undefined,
  };
  const thinker = new WindowedBatchingThinker(inner, tokenizer, { contextTokens: 4, batchSize: 3, seed: 5 });
  const long = [{ role: 'system' as const, content: 'alpha beta gamma' }, { role: 'user' as const, content: 'delta epsilon zeta eta theta' }];
  const window = thinker.window(long);
  assert.ok(plainPromptText(long).endsWith(window));
  assert.equal(tokenizer.encode(window, { addBos: false }).length, 4);
  const answers = await Promise.all([0, 1, 2, 3].map((index) => thinker.generate([`p${index}`], { n: 1, seed: 100 + index, maxTokens: 8 })));
  assert.deepEqual(answers, [[['echo:2']], [['echo:2']], [['echo:2']], [['echo:2']]]);
  assert.deepEqual(calls.map((call) => call.prompts.length), [3, 1]); // a full batch, then the rest after the idle timer
  assert.ok(calls.every((call) => call.options.seed === 5 && call.options.maxTokens === 8));
  assert.equal(thinker.identity, 'fake:1:window4', 'the window is part of what decides the text');
  await thinker.close();
});

test('validation sets: held-out queries never become records; a query subset links the corpus; runs fuse by weighted RRF', async () => {
  assert.deepEqual(judgedQueryIds(queries, qrels), ['q1', 'q2']);
  const ranked = new Map([['q1', ['d', 'c', 'a']], ['q2', ['e', 'a']]]);
  const records = buildTrainingRecords(corpus, queries, qrels, ranked, { maxPositives: 8, depth: 10, negatives: 2, seed: 0, exclude: new Set(['q1']) });
  assert.deepEqual(records.map((record) => record.id), ['q2']);

  const directory = await mkdtemp(join(tmpdir(), 'o1e-recipe-subset-'));
  try {
    const source = join(directory, 'source');
    await writeFolderAtomic(source, async (folder) => {
      const { writeCorpus, writeQueries, writeBeirQrels } = await import('../src/data/beir.js');
      await writeCorpus(join(folder, 'corpus.jsonl'), corpus);
      await writeQueries(join(folder, 'queries.jsonl'), queries);
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(folder, 'qrels'));
      await writeBeirQrels(join(folder, 'qrels', 'train.tsv'), qrels);
    });
    const subset = join(directory, 'validation');
    assert.deepEqual(await writeBeirQuerySubset(source, 'train', subset, ['q2'], 'validation'), { queries: 1 });
    const loaded = await loadBeir(subset, 'validation', { quiet: true });
    assert.equal(loaded.corpus.length, corpus.length);
    assert.deepEqual(loaded.queries.map((query) => query.id), ['q2']);
    assert.deepEqual([...loaded.qrels.keys()], ['q2']);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }

  // Each run's order is its ranking: a is 1st / 2nd, b 2nd / absent, c absent / 1st.
  const bm25 = new Map([['q', new Map([['a', 9], ['b', 5]])]]);
  const dense = new Map([['q', new Map([['c', 0.9], ['a', 0.8]])]]);
  const fused = fuseRuns([bm25, dense], [1, 0.5], 10).get('q')!;
  assert.deepEqual([...fused.keys()], ['a', 'b', 'c']);
  assert.ok(Math.abs(fused.get('a')! - (1 / 61 + 0.5 / 62)) < 1e-12);
  assert.ok(Math.abs(fused.get('c')! - 0.5 / 61) < 1e-12);
});
