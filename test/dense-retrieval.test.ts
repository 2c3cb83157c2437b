import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { O1Model } from '../src/o1/model.js';
import { DenseRetriever } from '../src/retrieval/dense/dense-retriever.js';
import { FlatInnerProductIndex } from '../src/retrieval/dense/vector-index.js';
import { createRetriever } from '../src/retrieval/registry.js';
import { searchAll } from '../src/retrieval/retriever.js';
import { tinyO1Model, TINY_DOCUMENTS, TINY_QUERIES } from './helpers/o1-fixtures.js';
import { seededRandom } from './helpers/tiny-models.js';

test('flat inner-product index: blocked search equals brute force; ties by row; exclusion', () => {
  const random = seededRandom(3);
  const dimension = 24;
  const vector = () => Float32Array.from({ length: dimension }, () => random() * 2 - 1);
  const rows = Array.from({ length: 700 }, vector);
  rows[10] = rows[5].slice();
  const index = new FlatInnerProductIndex(dimension, 4);
  index.add(rows.slice(0, 300));
  index.add(rows.slice(300));
  assert.equal(index.size, 700);
  const queries = Array.from({ length: 20 }, vector);
  queries[3] = rows[5].slice();
  const results = index.search(queries, 25, [undefined, 7]);
  queries.forEach((query, queryIndex) => {
    const brute = rows.map((row, rowIndex) => ({ index: rowIndex, score: row.reduce((sum, value, position) => sum + value * query[position], 0) }))
      .filter((hit) => !(queryIndex === 1 && hit.index === 7))
      .sort((a, b) => b.score - a.score || a.index - b.index).slice(0, 25);
    assert.deepEqual(results[queryIndex].map((hit) => hit.index), brute.map((hit) => hit.index));
    results[queryIndex].forEach((hit, position) => assert.ok(Math.abs(hit.score - brute[position].score) < 1e-9));
  });
  assert.deepEqual(results[3].slice(0, 2).map((hit) => hit.index), [5, 10], 'equal scores: lower row first');
  assert.equal(index.search([queries[0]], 5000)[0].length, 700);
  assert.throws(() => index.search([new Float32Array(3)], 1), /SHAPE|values/);
});

describe('dense retriever: an O1 model without thinking', () => {
  let directory: string;
  let modelPath: string;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1-dense-'));
    modelPath = join(directory, 'o1');
    await tinyO1Model({ output: modelPath });
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test('index and search: scores are the query-only vector against document vectors, deterministic, query id removed', async () => {
    const retriever = createRetriever({ retriever: 'dense', model: modelPath, threads: 1 }) as DenseRetriever;
    const model = await O1Model.load(modelPath, { threads: 1 });
    try {
      await retriever.index(TINY_DOCUMENTS, { quiet: true });
      assert.equal(retriever.size, TINY_DOCUMENTS.length);
      const results = await retriever.searchMany(TINY_QUERIES, { hits: 3, removeQuery: true });
      const [queryVector] = await model.embedQueriesWithoutThinking([TINY_QUERIES[0].text]);
      const documentVectors = await model.embedDocuments(TINY_DOCUMENTS);
      const expected = TINY_DOCUMENTS.map((document, index) => ({ id: document.id, score: documentVectors[index].reduce((sum, value, position) => sum + value * queryVector[position], 0) }))
        .sort((a, b) => b.score - a.score).slice(0, 3);
      const hits = results.get('q1') ?? [];
      assert.deepEqual(hits.map((hit) => hit.id), expected.map((hit) => hit.id));
      hits.forEach((hit, position) => assert.ok(Math.abs(hit.score - expected[position].score) < 1e-5));
      assert.ok(hits.every((hit) => hit.thoughts === undefined));
      assert.ok(!(results.get('q2') ?? []).some((hit) => hit.id === 'q2'));
      assert.deepEqual(await retriever.search(TINY_QUERIES[0], { hits: 3 }), hits);
      assert.deepEqual(retriever.config(), { retriever: 'dense', model: modelPath, threads: 1 });
      // Through searchAll, from a BEIR folder's documents too.
      const run = await searchAll(retriever, TINY_QUERIES, { hits: 2 });
      assert.equal(run.get('q3')?.size, 2);
    } finally {
      await retriever.dispose();
      await model.dispose();
    }
  });

  test('bad input: search before index, an empty query', async () => {
    const retriever = new DenseRetriever({ model: modelPath, threads: 1 });
    try {
      await assert.rejects(retriever.search('cats'), /call index\(\) first/);
      await retriever.index(TINY_DOCUMENTS.slice(0, 2), { quiet: true });
      await assert.rejects(retriever.search('  '), /query 0 is empty/);
    } finally {
      await retriever.dispose();
    }
  });
});
