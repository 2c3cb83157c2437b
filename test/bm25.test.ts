import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { O1Error } from '../src/errors.js';
import type { Document } from '../src/data/types.js';
import { Bm25Retriever, LENGTH_TABLE, byte4ToInt, intToByte4, selectTopK } from '../src/retrieval/bm25/index.js';
import { createRetriever, retrieverNames } from '../src/retrieval/registry.js';
import { searchAll } from '../src/retrieval/retriever.js';

const filler = Array.from({ length: 40 }, (_, index) => `q${index}`).join(' ');
// d3 has 41 terms, which Lucene's one-byte norm stores as 40.
const corpus: Document[] = [
  { id: 'd1', title: 'Apple', text: 'banana apple' },
  { id: 'd2', title: '', text: 'banana cherry' },
  { id: 'd3', title: 'apple', text: filler },
];

const isO1Error = (code: string) => (error: unknown): boolean => error instanceof O1Error && error.code === code;

test('SmallFloat.intToByte4: exact below 24, 4 significant bits above', () => {
  for (let length = 0; length < 24; length++) assert.equal(byte4ToInt(intToByte4(length)), length);
  assert.equal(intToByte4(41), 40);
  assert.equal(byte4ToInt(intToByte4(41)), 40);
  assert.equal(intToByte4(100), 57);
  assert.equal(byte4ToInt(57), 96);
  assert.equal(byte4ToInt(intToByte4(1000)), 984);
  assert.equal(LENGTH_TABLE[255], 2013265944);
  for (let encoded = 1; encoded < 256; encoded++) assert.ok(LENGTH_TABLE[encoded] > LENGTH_TABLE[encoded - 1]);
});

test('BM25 scores match the formula with decoded lengths', async () => {
  const bm25 = new Bm25Retriever();
  await bm25.index(corpus, { quiet: true });
  assert.deepEqual(bm25.indexStatistics(), { documentCount: 3, termCount: 43, totalTermCount: 46, postingCount: 45 });
  const statistics = bm25.statistics();
  assert.equal(statistics.documents, 3);
  assert.equal(statistics.termCount, 43, 'statistics() carries the index counts too');
  assert.equal(statistics.thoughts, undefined, 'no thinker, no thought counts');
  // N = 3, df(appl) = 2, avgdl = 46 / 3; d1: tf 2, length 3; d3: tf 1, length 41 stored as 40.
  const k1 = 0.9;
  const b = 0.4;
  const idf = Math.log(1 + (3 - 2 + 0.5) / (2 + 0.5)); // ln 1.6 = 0.470004
  const averageLength = 46 / 3;
  const score = (tf: number, length: number): number => idf * tf / (tf + k1 * (1 - b + b * length / averageLength));
  const hits = await bm25.search('apples', { hits: 10 });
  assert.deepEqual(bm25.rank('apples', undefined, { hits: 10 }), hits, 'rank() is the synchronous ranking search() returns');
  assert.deepEqual(hits.map((hit) => hit.id), ['d1', 'd3']);
  assert.ok(Math.abs(hits[0].score - score(2, 3)) < 1e-6, `${hits[0].score} vs ${score(2, 3)}`); // 0.360101
  assert.ok(Math.abs(hits[1].score - score(1, 40)) < 1e-6, `${hits[1].score} vs ${score(1, 40)}`); // 0.189585
  assert.ok(Math.abs(hits[1].score - score(1, 41)) > 1e-3); // the exact length would give 0.187806
  assert.equal(hits[0].score, Math.fround(hits[0].score), 'scores are float32 values');

  // Each query occurrence is a clause: "apple apple" scores twice "apple".
  const twice = await bm25.search('apple apple', { hits: 10 });
  assert.equal(twice[0].score, 2 * hits[0].score);
  // Scores of several terms add up; unknown terms and stop words add nothing.
  const both = await bm25.search('the apple banana durian', { hits: 10 });
  const banana = await bm25.search('banana', { hits: 10 });
  const bananaD1 = banana.find((hit) => hit.id === 'd1')!.score;
  assert.equal(both[0].id, 'd1');
  assert.equal(both[0].score, Math.fround(hits[0].score + bananaD1));
  assert.deepEqual(await bm25.search('durian the', { hits: 10 }), []);
  assert.deepEqual((await bm25.search('banana', { hits: 1 })).length, 1);
});

test('removeQuery drops the document whose id is the query id', async () => {
  const bm25 = new Bm25Retriever();
  await bm25.index(corpus, { quiet: true });
  const query = { id: 'd1', text: 'apple' };
  assert.deepEqual((await bm25.search(query)).map((hit) => hit.id), ['d1', 'd3']);
  assert.deepEqual((await bm25.search(query, { removeQuery: true })).map((hit) => hit.id), ['d3']);
  assert.deepEqual((await bm25.search(query, { removeQuery: true, hits: 1 })).map((hit) => hit.id), ['d3']);
  assert.deepEqual(await bm25.search(query, { removeQuery: true }), await bm25.search(query, { removeQuery: true }), 'scratch state is reset');
  const run = await searchAll(bm25, [query, { id: 'q2', text: 'cherry' }], { removeQuery: true });
  assert.deepEqual([...run.get('d1')!.keys()], ['d3']);
  assert.deepEqual([...run.get('q2')!.keys()], ['d2']);
});

test('ties: ids ascending with strictly decreasing float32 scores, as Anserini', async () => {
  const bm25 = new Bm25Retriever();
  await bm25.index([{ id: 'b', title: '', text: 'same words' }, { id: 'c', title: '', text: 'same words' }, { id: 'a', title: '', text: 'same words' }], { quiet: true });
  const adjusted = await bm25.search('words');
  assert.deepEqual(adjusted.map((hit) => hit.id), ['a', 'b', 'c']);
  assert.ok(adjusted[0].score > adjusted[1].score && adjusted[1].score > adjusted[2].score);
  assert.ok(adjusted.every((hit) => hit.score === Math.fround(hit.score)));
  const raw = await bm25.search('words', { adjustTies: false });
  assert.deepEqual(raw.map((hit) => hit.id), ['b', 'c', 'a'], 'Lucene order: index order');
  assert.equal(raw[0].score, adjusted[0].score);
  assert.equal(raw[2].score, raw[0].score);
});

test('selectTopK agrees with a full sort', () => {
  const scores = new Float64Array(2000);
  for (let index = 0; index < scores.length; index++) scores[index] = Math.floor(((index * 7919) % 1013) / 10);
  const candidates = Int32Array.from({ length: 1500 }, (_, index) => (index * 31) % 2000);
  const sorted = [...candidates].sort((left, right) => scores[right] - scores[left] || left - right);
  for (const count of [1, 10, 1000, 1500, 3000]) assert.deepEqual([...selectTopK(scores, candidates, 1500, count)], sorted.slice(0, count));
});

test('save and load round trip; truncated and damaged files are CORRUPT_INDEX', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-bm25-'));
  try {
    const bm25 = new Bm25Retriever({ k1: 1.2, b: 0.75 });
    await bm25.index(corpus, { quiet: true });
    const path = join(directory, 'index.bm25');
    await bm25.save(path);
    const loaded = await Bm25Retriever.load(path);
    assert.deepEqual(loaded.config(), { retriever: 'bm25', k1: 1.2, b: 0.75, analyzer: 'english' });
    assert.deepEqual(loaded.indexStatistics(), bm25.indexStatistics());
    for (const text of ['apple', 'banana cherry', 'q7 apple']) assert.deepEqual(await loaded.search(text), await bm25.search(text));

    const size = (await stat(path)).size;
    const truncated = join(directory, 'truncated.bm25');
    await writeFile(truncated, (await readFile(path)).subarray(0, size - 5));
    await assert.rejects(Bm25Retriever.load(truncated), (error: unknown) => isO1Error('CORRUPT_INDEX')(error) && (error as O1Error).location.file === truncated);
    await truncate(truncated, 10);
    await assert.rejects(Bm25Retriever.load(truncated), isO1Error('CORRUPT_INDEX'));
    const damaged = Buffer.from(await readFile(path));
    damaged[damaged.length - 3] ^= 0xff;
    await writeFile(truncated, damaged);
    await assert.rejects(Bm25Retriever.load(truncated), /checksum/);
    await writeFile(truncated, 'not an index at all, just some text');
    await assert.rejects(Bm25Retriever.load(truncated), /magic/);
    await assert.rejects(Bm25Retriever.load(join(directory, 'missing.bm25')), isO1Error('MISSING_FILE'));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('registry builds bm25 from a JSON config', async () => {
  assert.ok(retrieverNames().includes('bm25'));
  const retriever = createRetriever(JSON.parse('{ "retriever": "bm25", "k1": 0.9, "b": 0.4 }'));
  assert.equal(retriever.name, 'bm25');
  assert.deepEqual(retriever.config(), { retriever: 'bm25', k1: 0.9, b: 0.4, analyzer: 'english' });
  await retriever.index((async function* () { yield* corpus; })(), { quiet: true });
  assert.equal((await retriever.search('cherry'))[0].id, 'd2');
  assert.throws(() => createRetriever({ retriever: 'nope' }), isO1Error('UNKNOWN_RETRIEVER'));
  assert.throws(() => createRetriever({ retriever: 'bm25', k1: -1 }), isO1Error('BAD_ARGUMENT'));
  assert.throws(() => createRetriever({ retriever: 'bm25', b: 2 }), isO1Error('BAD_ARGUMENT'));
  assert.throws(() => createRetriever({ retriever: 'bm25', k3: 1 }), isO1Error('BAD_ARGUMENT'));
  await assert.rejects(new Bm25Retriever().search('x'), isO1Error('BAD_ARGUMENT'));
  assert.throws(() => new Bm25Retriever().rank('x', undefined), isO1Error('BAD_ARGUMENT'));
});
