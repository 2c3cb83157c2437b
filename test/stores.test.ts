/**
 * The vector store seam: the registry, the flat store (exact, one file) and the hnsw store
 * (usearch), on seeded random vectors against a float64 brute-force reference.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { O1Error } from '../src/errors.js';
import { compareIds } from '../src/stores/contract.js';
import { FLAT_FILE_NAME } from '../src/stores/flat/flat-store.js';
import { HNSW_TABLE_NAME } from '../src/stores/hnsw/hnsw-store.js';
import { createVectorStore, openVectorStore, vectorStoreNames } from '../src/stores/registry.js';
import type { VectorMatch, VectorStore } from '../src/stores/vector-store.js';
import { bruteForce, clusteredUnitVectors, itemsOf, randomVectors, recallAt } from './helpers/vectors.js';

const scratch = mkdtempSync(join(tmpdir(), 'o1e-stores-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const folder = (): string => join(scratch, `store-${folders++}`);

/** Same ids in the same order, scores equal to float32 rounding. */
function assertSameMatches(actual: VectorMatch[][], expected: VectorMatch[][], tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((list, query) => {
    assert.deepEqual(actual[query].map((match) => match.id), list.map((match) => match.id), `query ${query}`);
    list.forEach((match, position) => assert.ok(Math.abs(actual[query][position].score - match.score) <= tolerance, `query ${query} #${position}: ${actual[query][position].score} vs ${match.score}`));
  });
}

async function rejectsWith(promise: Promise<unknown>, code: string, file?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof O1Error, String(error));
    assert.equal(error.code, code, error.message);
    if (file !== undefined) assert.equal(error.location.file, file);
    return true;
  });
}

describe('vector store registry', () => {
  test('lists the three stores, rejects unknown names, and loads no heavy module on import', async () => {
    assert.deepEqual(vectorStoreNames(), ['flat', 'hnsw', 'pgvector']);
    await rejectsWith(createVectorStore({ store: 'faiss' }, { dimension: 4 }), 'BAD_ARGUMENT');
    await rejectsWith(createVectorStore({ store: 'flat', dtype: 'f8' }, { dimension: 4 }), 'BAD_ARGUMENT');
    await rejectsWith(createVectorStore({ store: 'flat', unknownSetting: 1 }, { dimension: 4 }), 'BAD_ARGUMENT');
    const script = [
      "const { createRequire } = await import('node:module');",
      "await import('./src/stores/registry.ts');",
      'const modules = Object.keys(createRequire(import.meta.url).cache);',
      'const native = process.report.getReport().sharedObjects;',
      "console.log(JSON.stringify({ pg: modules.some((path) => path.includes('/node_modules/pg/')), usearch: native.some((path) => path.includes('usearch')), ort: native.some((path) => path.includes('onnxruntime')) }));",
    ].join('\n');
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(output.trim().split('\n').at(-1) as string), { pg: false, usearch: false, ort: false });
  });

  test('orders ids by code point, as COLLATE "C" does', () => {
    const ids = ['b', 'a', 'ab', '\u{1F600}', '\uFF5E', 'A'];
    assert.deepEqual([...ids].sort(compareIds), ['A', 'a', 'ab', 'b', '\uFF5E', '\u{1F600}']);
    assert.deepEqual([...ids].sort(compareIds), [...ids].sort((left, right) => Buffer.compare(Buffer.from(left), Buffer.from(right))));
  });
});

describe('flat store', () => {
  const dimension = 24;
  const items = itemsOf(clusteredUnitVectors(700, dimension, 1, 20), dimension);
  const queries = randomVectors(40, dimension, 2, 0.7);

  test('exact search equals the brute-force reference (ids and scores), in blocks of 1 to 128 queries', async () => {
    const store = await createVectorStore({ store: 'flat', threads: 1 }, { dimension });
    await store.upsert(items);
    assert.equal(await store.size(), items.length);
    assertSameMatches(await store.search(queries, 10), bruteForce(items, queries, 10));
    assertSameMatches(await store.search(queries.slice(0, 1), 5), bruteForce(items, queries.slice(0, 1), 5));
    const many = randomVectors(150, dimension, 3);
    assertSameMatches(await store.search(many, 3), bruteForce(items, many, 3));
    // k beyond the store: everything, ranked.
    assertSameMatches(await store.search(queries.slice(0, 2), 5000), bruteForce(items, queries.slice(0, 2), 5000));
    assert.deepEqual(await store.search(queries.slice(0, 2), 0), [[], []]);
    assert.deepEqual(await store.search([], 10), []);
    await store.close();
  });

  test('spans several row blocks (9,000 rows) and still equals the reference', async () => {
    const small = 8;
    const rows = itemsOf(clusteredUnitVectors(9000, small, 4, 30), small, 'r');
    const store = await createVectorStore({ store: 'flat', threads: 1 }, { dimension: small });
    await store.upsert(rows);
    const probes = randomVectors(9, small, 5);
    assertSameMatches(await store.search(probes, 20), bruteForce(rows, probes, 20));
    await store.close();
  });

  test('breaks score ties by id and honours exclude', async () => {
    const store = await createVectorStore({ store: 'flat', threads: 1 }, { dimension: 2 });
    const same = new Float32Array([0.6, 0.8]);
    await store.upsert(['c', 'a', 'b', 'e'].map((id) => ({ id, vector: same })).concat([{ id: 'd', vector: new Float32Array([0, 1]) }]));
    const query = new Float32Array([1, 1]);
    const [ranked] = await store.search([query], 3);
    assert.deepEqual(ranked.map((match) => match.id), ['a', 'b', 'c']);
    const [excluded, untouched] = await store.search([query, query], 4, { exclude: ['b', undefined] });
    assert.deepEqual(excluded.map((match) => match.id), ['a', 'c', 'e', 'd']);
    assert.deepEqual(untouched.map((match) => match.id), ['a', 'b', 'c', 'e']);
    const exclude = queries.map((_, index) => `d${index * 7}`);
    const reference = await createVectorStore({ store: 'flat', threads: 1 }, { dimension });
    await reference.upsert(items);
    assertSameMatches(await reference.search(queries, 10, { exclude }), bruteForce(items, queries, 10, exclude));
    await store.close();
    await reference.close();
  });

  test('upsert replaces by id (the last of repeated ids wins), delete leaves tombstones or compacts, both exact', async () => {
    for (const compactRatio of [0.25, 0]) {
      const store = await createVectorStore({ store: 'flat', threads: 1, compactRatio }, { dimension });
      await store.upsert(items);
      const replaced = randomVectors(2, dimension, 6);
      await store.upsert([{ id: 'd3', vector: replaced[0] }, { id: 'd3', vector: replaced[1] }]);
      assert.equal(await store.size(), items.length);
      assert.deepEqual(await store.get(['d3']), [replaced[1]]);
      const deleted = items.filter((_, index) => index % 9 === 0).map((item) => item.id);
      assert.equal(await store.delete([...deleted, 'absent', deleted[0]]), deleted.length);
      const statistics = await store.statistics();
      if (compactRatio === 0) assert.equal(statistics.details.tombstones, 0);
      else assert.equal(statistics.details.tombstones, deleted.length);
      let expected = items.filter((item) => !deleted.includes(item.id)).map((item) => (item.id === 'd3' ? { id: 'd3', vector: replaced[1] } : item));
      assertSameMatches(await store.search(queries, 10), bruteForce(expected, queries, 10));
      assert.deepEqual(await store.get([deleted[1]]), [undefined]);
      // New ids reuse tombstoned rows.
      const fresh = itemsOf(clusteredUnitVectors(30, dimension, 7, 3), dimension, 'n');
      await store.upsert(fresh);
      expected = expected.concat(fresh);
      assert.equal(await store.size(), expected.length);
      assertSameMatches(await store.search(queries, 10), bruteForce(expected, queries, 10));
      assert.deepEqual(await store.ids(), expected.map((item) => item.id).sort(compareIds));
      await store.close();
    }
  });

  test('persists in one file: round trip, same bytes whatever the history, f16 option', async () => {
    const directory = folder();
    const store = await createVectorStore({ store: 'flat', threads: 1 }, { dimension, directory });
    await store.upsert(items.slice(0, 400));
    await store.flush();
    await store.upsert(items.slice(400));
    await store.delete(['d5']);
    await store.close();
    const reopened = await openVectorStore({ store: 'flat', threads: 1 }, { directory, dimension });
    const expected = items.filter((item) => item.id !== 'd5');
    assert.equal(await reopened.size(), expected.length);
    assertSameMatches(await reopened.search(queries, 10), bruteForce(expected, queries, 10));
    assert.deepEqual(await reopened.get(['d6', 'd5']), [items[6].vector, undefined]);
    assert.deepEqual(readdirSync(directory), [FLAT_FILE_NAME]);
    await reopened.close();
    // The same pairs reached another way: identical file.
    const other = folder();
    const second = await createVectorStore({ store: 'flat' }, { dimension, directory: other });
    await second.upsert([...expected].reverse());
    await second.close();
    assert.deepEqual(readFileSync(join(other, FLAT_FILE_NAME)), readFileSync(join(directory, FLAT_FILE_NAME)));

    const halfDirectory = folder();
    const half = await createVectorStore({ store: 'flat', dtype: 'f16', threads: 1 }, { dimension, directory: halfDirectory });
    await half.upsert(items);
    const before = await half.search(queries, 10);
    await half.close();
    assert.ok(statSync(join(halfDirectory, FLAT_FILE_NAME)).size < 0.6 * statSync(join(directory, FLAT_FILE_NAME)).size);
    const halfReopened = await openVectorStore({ store: 'flat' }, { directory: halfDirectory });
    assert.equal(halfReopened.config().dtype, 'f16');
    assert.deepEqual(await halfReopened.search(queries, 10), before);
    const [stored] = await halfReopened.get(['d0']);
    for (let index = 0; index < dimension; index++) assert.ok(Math.abs((stored as Float32Array)[index] - items[0].vector[index]) <= 1e-3);
    const reference = bruteForce(items, queries, 10);
    assert.ok(recallAt(before, reference) >= 0.95, `f16 recall ${recallAt(before, reference)}`);
    before.forEach((list, query) => list.forEach((match) => assert.ok(Math.abs(match.score - (bruteForce([items[Number(match.id.slice(1))]], [queries[query]], 1)[0][0].score)) < 5e-3)));
    await rejectsWith(openVectorStore({ store: 'flat', dtype: 'f32' }, { directory: halfDirectory }), 'INDEX_MISMATCH');
    await halfReopened.close();
  });

  test('a corrupt or truncated file is CORRUPT_INDEX naming it; another dimension is INDEX_MISMATCH; nothing is overwritten', async () => {
    const directory = folder();
    const store = await createVectorStore({ store: 'flat' }, { dimension, directory });
    await store.upsert(items.slice(0, 50));
    await store.close();
    const path = join(directory, FLAT_FILE_NAME);
    const good = readFileSync(path);
    await rejectsWith(openVectorStore({ store: 'flat' }, { directory, dimension: 25 }), 'INDEX_MISMATCH', path);
    await rejectsWith(createVectorStore({ store: 'flat' }, { dimension, directory }), 'STORE_ERROR', path);
    assert.deepEqual(readFileSync(path), good);
    const reopened = await createVectorStore({ store: 'flat' }, { dimension, directory, ifExists: 'open' });
    await rejectsWith(reopened.upsert([{ id: 'x', vector: new Float32Array(dimension + 1) }]), 'INDEX_MISMATCH');
    await rejectsWith(reopened.search([new Float32Array(3)], 1), 'INDEX_MISMATCH');
    await rejectsWith(reopened.upsert([{ id: 'x', vector: new Float32Array(dimension).fill(Number.NaN) }]), 'BAD_ARGUMENT');
    await rejectsWith(reopened.upsert([{ id: '', vector: new Float32Array(dimension) }]), 'BAD_ARGUMENT');
    await reopened.close();
    await rejectsWith(openVectorStore({ store: 'flat' }, { directory: folder() }), 'MISSING_FILE');

    const flipped = Buffer.from(good);
    flipped[good.length - 7] ^= 0x40;
    writeFileSync(path, flipped);
    await rejectsWith(openVectorStore({ store: 'flat' }, { directory }), 'CORRUPT_INDEX', path);
    writeFileSync(path, good.subarray(0, good.length - 100));
    await rejectsWith(openVectorStore({ store: 'flat' }, { directory }), 'CORRUPT_INDEX', path);
    writeFileSync(path, good.subarray(0, 20));
    await rejectsWith(openVectorStore({ store: 'flat' }, { directory }), 'CORRUPT_INDEX', path);
    const header = Buffer.from(good);
    header[16] ^= 1;
    writeFileSync(path, header);
    await rejectsWith(openVectorStore({ store: 'flat' }, { directory }), 'CORRUPT_INDEX', path);
  });

  test('a search can be cancelled', async () => {
    const store = await createVectorStore({ store: 'flat', threads: 1 }, { dimension });
    await store.upsert(items);
    const controller = new AbortController();
    controller.abort();
    await rejectsWith(store.search(queries, 10, { signal: controller.signal }), 'CANCELLED');
    await store.close();
  });
});

describe('hnsw store (usearch)', () => {
  const dimension = 32;
  // Queries from the same clusters as the documents (and not unit length, like O1's).
  const all = itemsOf(clusteredUnitVectors(3100, dimension, 11, 40), dimension);
  const items = all.slice(0, 3000);
  const queries = all.slice(3000).map((item) => item.vector.map((value) => value * 1.3));
  const exact = bruteForce(items, queries, 10);

  async function built(config: Record<string, unknown>, directory?: string): Promise<VectorStore> {
    const store = await createVectorStore({ store: 'hnsw', threads: 1, ...config }, { dimension, directory });
    await store.upsert(items);
    return store;
  }

  test('recall@10 >= 0.99 against exact search at the default settings (f16 graph, M 16, expansionAdd 128, expansionSearch 64); scores exact', async () => {
    const store = await built({});
    const results = await store.search(queries, 10);
    const recall = recallAt(results, exact);
    assert.ok(recall >= 0.99, `recall ${recall}`);
    // Rescored with the float32 vectors: every returned score is the exact inner product.
    const byId = new Map(items.map((item) => [item.id, item]));
    results.forEach((list, query) => list.forEach((match) => assert.ok(Math.abs(match.score - bruteForce([byId.get(match.id)!], [queries[query]], 1)[0][0].score) < 1e-5)));
    assert.deepEqual(store.config(), { store: 'hnsw', dtype: 'f16', connectivity: 16, expansionAdd: 128, expansionSearch: 64, rescore: true, refine: 2 });
    await store.close();
  });

  test('f32 and i8 graphs keep recall@10 >= 0.99 and >= 0.9', async () => {
    for (const [dtype, floor] of [['f32', 0.99], ['i8', 0.9]] as const) {
      const store = await built({ dtype });
      const recall = recallAt(await store.search(queries, 10), exact);
      assert.ok(recall >= floor, `${dtype} recall ${recall}`);
      await store.close();
    }
  });

  test('save and load round trip: same results, ids and vectors; expansionSearch can change on open; settings that shape the graph cannot', async () => {
    const directory = folder();
    const store = await built({ connectivity: 12 }, directory);
    const before = await store.search(queries, 10);
    await store.close();
    const reopened = await openVectorStore({ store: 'hnsw', threads: 1 }, { directory, dimension });
    assert.deepEqual(await reopened.search(queries, 10), before);
    assert.equal(await reopened.size(), items.length);
    assert.deepEqual(await reopened.get(['d17']), [items[17].vector]);
    assert.deepEqual((await reopened.ids()).length, items.length);
    await reopened.close();
    const wider = await openVectorStore({ store: 'hnsw', expansionSearch: 256 }, { directory });
    assert.ok(recallAt(await wider.search(queries, 10), exact) >= recallAt(before, exact));
    await wider.close();
    await rejectsWith(openVectorStore({ store: 'hnsw', connectivity: 16 }, { directory }), 'INDEX_MISMATCH');
    await rejectsWith(openVectorStore({ store: 'hnsw' }, { directory, dimension: 31 }), 'INDEX_MISMATCH');
  });

  test('delete and replace: removed ids never return, the graph is rebuilt once removals pile up, exclude works', async () => {
    const directory = folder();
    const store = await built({}, directory);
    const deleted = items.filter((_, index) => index % 3 === 0).map((item) => item.id);
    assert.equal(await store.delete(deleted), deleted.length);
    const replacement = randomVectors(1, dimension, 13)[0];
    await store.upsert([{ id: 'd1', vector: replacement }]);
    const remaining = items.filter((item) => !deleted.includes(item.id)).map((item) => (item.id === 'd1' ? { id: 'd1', vector: replacement } : item));
    const exclude = queries.map((_, index) => (index % 2 === 0 ? `d${index + 1}` : undefined));
    const reference = bruteForce(remaining, queries, 10, exclude);
    const results = await store.search(queries, 10, { exclude });
    const gone = new Set(deleted);
    for (const [index, list] of results.entries()) {
      for (const match of list) assert.ok(!gone.has(match.id) && match.id !== exclude[index]);
    }
    assert.ok(recallAt(results, reference) >= 0.98, `recall after deletes ${recallAt(results, reference)}`);
    assert.equal((await store.statistics()).details.removedKeys, deleted.length + 1);
    await store.flush();
    const statistics = await store.statistics();
    assert.equal(statistics.details.removedKeys, 0);
    assert.equal(statistics.details.graphSize, remaining.length);
    await store.close();
    const reopened = await openVectorStore({ store: 'hnsw' }, { directory });
    assert.equal(await reopened.size(), remaining.length);
    assert.deepEqual(await reopened.get(['d1', 'd0']), [replacement, undefined]);
    assert.deepEqual(readdirSync(directory).sort(), ['graph-2.usearch', HNSW_TABLE_NAME]);
    await reopened.close();
  });

  test('a flush killed after writing its graph leaves litter that is ignored, then removed by the next flush', async () => {
    const directory = folder();
    const store = await built({}, directory);
    await store.close();
    const before = readdirSync(directory).sort();
    // What a kill between the graph's rename and the side table's would leave: a newer, unreferenced graph (and a temporary file).
    writeFileSync(join(directory, 'graph-99.usearch'), 'not a graph');
    writeFileSync(join(directory, 'graph-100.usearch.tmp-12345'), 'half a graph');
    const reopened = await openVectorStore({ store: 'hnsw', threads: 1 }, { directory });
    assert.equal(await reopened.size(), items.length);
    await reopened.delete(['d0']);
    await reopened.close();
    const after = readdirSync(directory).sort();
    assert.deepEqual(after, [before[0].replace(/\d+/, (generation) => String(Number(generation) + 1)), HNSW_TABLE_NAME]);
  });

  test('a truncated graph or side table is CORRUPT_INDEX naming the file (checked before usearch reads it)', async () => {
    const directory = folder();
    const store = await built({}, directory);
    await store.close();
    const graph = join(directory, readdirSync(directory).find((name) => name.endsWith('.usearch')) as string);
    const bytes = readFileSync(graph);
    writeFileSync(graph, bytes.subarray(0, bytes.length >> 1));
    await rejectsWith(openVectorStore({ store: 'hnsw' }, { directory }), 'CORRUPT_INDEX', graph);
    const altered = Buffer.from(bytes);
    altered[altered.length - 5] ^= 0xff;
    writeFileSync(graph, altered);
    await rejectsWith(openVectorStore({ store: 'hnsw' }, { directory }), 'CORRUPT_INDEX', graph);
    writeFileSync(graph, bytes);
    const table = join(directory, HNSW_TABLE_NAME);
    writeFileSync(table, readFileSync(table).subarray(0, 1000));
    await rejectsWith(openVectorStore({ store: 'hnsw' }, { directory }), 'CORRUPT_INDEX', table);
  });
});
