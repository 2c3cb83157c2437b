/**
 * Persistent indexes: build/open/search round trips against in-memory retrievers, add/delete
 * consistency between BM25 and the vectors, the typed errors of bad input (nothing
 * overwritten), a reader opening while another process publishes versions, `o1e search --json`
 * and `o1e eval --index`. The SIGKILL test is test/index-kill.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { readCorpus, readQueries, writeBeirQrels, writeCorpus, writeQueries } from '../src/data/beir.js';
import type { Document, Query } from '../src/data/types.js';
import { O1Error } from '../src/errors.js';
import { evaluateRetriever } from '../src/evaluation/evaluate-retriever.js';
import { addToIndex, buildIndex, deleteFromIndex, markedSnippet, formatSnippet, openIndex, type PersistentIndex, StoredDenseRetriever } from '../src/indexes/index.js';
import { Bm25Retriever } from '../src/retrieval/bm25/bm25-retriever.js';
import type { FusedRetriever } from '../src/retrieval/fusion/fused-retriever.js';
import { createRetriever } from '../src/retrieval/registry.js';
import type { RetrieverConfig } from '../src/retrieval/retriever.js';
import { EnglishAnalyzer } from '../src/retrieval/analyzer/english.js';
import { demoCollection } from '../src/cli/demo-collection.js';
import { O1E, ROOT } from './helpers/cli.js';
import { sharedTestOptions } from './helpers/shared.js';
import { seededDocuments } from './helpers/index-fixtures.js';
import { tinyO1Model } from './helpers/o1-fixtures.js';

const run = promisify(execFile);

let directory: string;
let model: string;
let corpus: string;
let documents: Document[];
let bm25Index: string;
let fusedIndex: string;
const QUERIES: Query[] = [
  { id: 'q1', text: 'river moon' },
  { id: 'd3', text: 'cat purring in the garden' },
  { id: 'q3', text: 'stock market song' },
];

const dense = (): RetrieverConfig => ({ retriever: 'dense', model, threads: 1 });
const fused = (): RetrieverConfig => ({ retriever: 'fused', retrievers: [{ retriever: 'bm25' }, dense()] });

/** Asserts that `promise` rejects with an O1Error of `code` whose message names `file`. */
async function rejectsWith(promise: Promise<unknown>, code: string, file?: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof O1Error, String(error));
    assert.equal(error.code, code, error.message);
    if (typeof file === 'string') assert.equal(error.location.file, file, error.message);
    else if (file !== undefined) assert.match(error.message, file);
    return true;
  });
}

/** Every hit of every part (depth: all documents), by part. */
async function allHitsByPart(index: PersistentIndex, text: string): Promise<{ bm25: string[]; dense: string[] }> {
  const root = index.loaded().root as FusedRetriever;
  const [bm25, stored] = root.members as [Bm25Retriever, StoredDenseRetriever];
  return {
    bm25: bm25.rank(text, undefined, { hits: 10_000 }).map((hit) => hit.id),
    dense: (await stored.search(text, { hits: 10_000 })).map((hit) => hit.id),
  };
}

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-indexes-'));
  model = join(directory, 'tiny-o1');
  await tinyO1Model({ output: model });
  documents = seededDocuments(40, 5);
  corpus = join(directory, 'corpus.jsonl');
  await writeCorpus(corpus, documents);
  bm25Index = join(directory, 'bm25.index');
  await buildIndex({ corpus, retriever: { retriever: 'bm25' }, out: bm25Index, quiet: true });
  fusedIndex = join(directory, 'fused.index');
  await buildIndex({ corpus, retriever: fused(), out: fusedIndex, batchSize: 8, quiet: true });
});

after(async () => {
  await rm(directory, { recursive: true, force: true });
});

test('markedSnippet: words marked through the analyzer (running marks run), the window with the most distinct terms', () => {
  const plain = markedSnippet('Dogs run when they are happy, and cats purr.', 'running dog');
  assert.equal(plain.text, 'Dogs run when they are happy, and cats purr.');
  assert.deepEqual(plain.highlights, [[0, 4], [5, 8]]);
  assert.equal(formatSnippet(plain, (word) => `«${word}»`), '«Dogs» «run» when they are happy, and cats purr.');
  const long = `${'Filler words about nothing much. '.repeat(12)}The moon   pulls the oceans, so tides rise. ${'More filler text here. '.repeat(12)}`;
  const window = markedSnippet(long, 'what pulls the tide', { maxChars: 80 });
  assert.ok(window.text.startsWith('…') && window.text.endsWith('…'), window.text);
  assert.ok(window.text.length <= 80 + 2);
  assert.match(window.text, /The moon pulls the oceans, so tides rise\./, 'whitespace collapsed, the matching window chosen');
  const analyzer = new EnglishAnalyzer();
  const terms = new Set(analyzer.analyze('what pulls the tide'));
  assert.deepEqual(window.highlights.map(([start, end]) => window.text.slice(start, end)), ['pulls', 'tides']);
  for (const [start, end] of window.highlights) assert.ok(terms.has(analyzer.analyzeToken(window.text.slice(start, end)) as string));
  assert.deepEqual(markedSnippet('Nothing matches here.', 'zebra').highlights, []);
});

test('bm25 index: open + search equal an in-memory Bm25Retriever; the manifest describes the version; a re-run is up to date', async () => {
  const memory = new Bm25Retriever();
  await memory.index(documents, { quiet: true });
  const index = await openIndex(bm25Index);
  try {
    const results = await index.search(QUERIES, { hits: 15, removeQuery: true });
    for (const [position, query] of QUERIES.entries()) {
      const expected = await memory.search(query, { hits: 15, removeQuery: true });
      assert.deepEqual(results[position].hits.map(({ id, score }) => ({ id, score })), expected, query.text);
      for (const hit of results[position].hits) assert.deepEqual(hit.document, documents.find((document) => document.id === hit.id));
    }
    assert.ok(!results[1].hits.some((hit) => hit.id === 'd3'), 'removeQuery drops the document with the query id');
    const manifest = index.manifest;
    assert.equal(manifest.formatVersion, 1);
    assert.equal(manifest.version, 1);
    assert.equal(manifest.corpus.documents, 40);
    assert.match(manifest.corpus.fingerprint, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(manifest.retriever, { retriever: 'bm25' });
    assert.equal(manifest.store, null);
    assert.deepEqual(manifest.parts.map((part) => [part.name, part.kind]), [['bm25-0', 'bm25']]);
    assert.deepEqual(index.documents.ids(), documents.map((document) => document.id));
    assert.deepEqual(await index.documents.get(['d5', 'nope', 'd0']), [documents[5], undefined, documents[0]]);
    await rejectsWith(index.retriever().index(documents), 'BAD_ARGUMENT');
  } finally {
    await index.close();
  }
  const again = await buildIndex({ corpus, retriever: { retriever: 'bm25' }, out: bm25Index, quiet: true });
  assert.equal(again.upToDate, true);
  assert.deepEqual(readdirSync(bm25Index).sort(), ['CURRENT', 'v000001']);
});

test('dense and fused indexes (tiny O1 model): hits equal in-memory retrievers; hnsw keeps its store in the folder', async () => {
  const memoryFused = createRetriever(fused());
  const memoryDense = createRetriever(dense());
  const index = await openIndex(fusedIndex);
  const hnswIndex = join(directory, 'hnsw.index');
  try {
    await memoryFused.index(documents, { quiet: true });
    await memoryDense.index(documents, { quiet: true });
    const found = await index.search(QUERIES, { hits: 10, removeQuery: true });
    const expected = await memoryFused.searchMany(QUERIES, { hits: 10, removeQuery: true });
    for (const [position, query] of QUERIES.entries()) {
      const got = found[position].hits;
      const want = expected.get(query.id) ?? [];
      assert.deepEqual(got.map((hit) => hit.id), want.map((hit) => hit.id), `fused: ${query.text}`);
      got.forEach((hit, rank) => assert.ok(Math.abs(hit.score - want[rank].score) < 1e-9));
    }
    const stored = (index.loaded().root as FusedRetriever).members[1] as StoredDenseRetriever;
    const denseFound = await stored.searchMany(QUERIES, { hits: 10, removeQuery: true });
    const denseExpected = await memoryDense.searchMany(QUERIES, { hits: 10, removeQuery: true });
    for (const query of QUERIES) {
      const got = denseFound.get(query.id) ?? [];
      const want = denseExpected.get(query.id) ?? [];
      assert.deepEqual(got.map((hit) => hit.id), want.map((hit) => hit.id), `dense: ${query.text}`);
      // The flat store computes inner products in float32, the in-memory index in float64.
      got.forEach((hit, rank) => assert.ok(Math.abs(hit.score - want[rank].score) < 1e-5, `${hit.score} vs ${want[rank].score}`));
    }
    const part = index.manifest.parts[1];
    assert.equal(part.kind, 'dense');
    if (part.kind === 'dense') {
      const embedder = await (createRetriever(dense()) as unknown as { embedder(): Promise<{ identity: string; dimension(): Promise<number>; close(): Promise<void> }> }).embedder();
      assert.equal(part.embedder.identity, embedder.identity);
      assert.equal(part.embedder.dimension, await embedder.dimension());
      await embedder.close();
      assert.equal(part.count, 40);
      assert.deepEqual(part.store, { store: 'flat', dtype: 'f32', compactRatio: 0.25 });
    }
    // f32 vectors, one build thread and ef (64) above the 40 vectors: the graph search is exhaustive
    // and deterministic (an f16 graph's candidate list, or a racing 2-thread build, is not).
    await buildIndex({ corpus, retriever: dense(), store: { store: 'hnsw', dtype: 'f32', threads: 1 }, out: hnswIndex, quiet: true });
    assert.ok(existsSync(join(hnswIndex, 'v000001', 'dense-0', 'hnsw.o1v')));
    const hnsw = await openIndex(hnswIndex);
    try {
      const approximate = await hnsw.search(QUERIES, { hits: 10 });
      const exact = await memoryDense.searchMany(QUERIES, { hits: 10 });
      // 40 vectors: the graph search is exhaustive.
      approximate.forEach((result) => assert.deepEqual(result.hits.map((hit) => hit.id), (exact.get(result.query.id) ?? []).map((hit) => hit.id)));
    } finally {
      await hnsw.close();
    }
  } finally {
    await index.close();
    await memoryFused.dispose();
    await memoryDense.dispose();
  }
});

test('add and delete keep BM25 and the vectors consistent; re-runs change nothing; duplicate ids are refused with file:line', async () => {
  const path = join(directory, 'update.index');
  cpSync(fusedIndex, path, { recursive: true });
  const added = seededDocuments(6, 9, 'n');
  const addedFile = join(directory, 'added.jsonl');
  await writeCorpus(addedFile, added);
  const report = await addToIndex(path, { corpus: addedFile, quiet: true });
  assert.deepEqual([report.version, report.added, report.documents, report.upToDate], [2, 6, 46, false]);
  assert.deepEqual(report.parts.map((part) => part.embedded ?? null), [null, 6], 'only the new documents embedded');
  assert.equal((await addToIndex(path, { corpus: addedFile, quiet: true })).upToDate, true, 'the same add again: already applied');
  // An id already in the index (line 2 of the file), and an id twice in one file: refused, nothing written.
  const clash = join(directory, 'clash.jsonl');
  await writeFile(clash, `${JSON.stringify({ _id: 'fresh', title: '', text: 'x' })}\n${JSON.stringify({ _id: 'd7', title: '', text: 'again' })}\n`);
  await assert.rejects(addToIndex(path, { corpus: clash, quiet: true }), (error: O1Error) => error.code === 'DUPLICATE_ID' && error.location.file === clash && error.location.line === 2);
  const twice = join(directory, 'twice.jsonl');
  await writeFile(twice, `${JSON.stringify({ _id: 'x1', text: 'a' })}\n\n${JSON.stringify({ _id: 'x1', text: 'b' })}\n`);
  await assert.rejects(addToIndex(path, { corpus: twice, quiet: true }), (error: O1Error) => error.code === 'DUPLICATE_ID' && error.location.file === twice && error.location.line === 3);

  const index = await openIndex(path);
  try {
    assert.equal(index.manifest.version, 2);
    const all = await allHitsByPart(index, 'common');
    const ids = [...documents, ...added].map((document) => document.id).sort();
    assert.deepEqual([...all.bm25].sort(), ids, 'BM25 has every document once');
    assert.deepEqual([...all.dense].sort(), ids, 'the store has every document once');
    for (const document of added) {
      const { hits } = await index.search(`uniq${document.id}`, { hits: 1 });
      assert.equal(hits[0]?.id, document.id, 'an added document is found by its own word');
    }
    const stored = ((index.loaded().root as FusedRetriever).members[1] as StoredDenseRetriever).store;
    const embedder = await (createRetriever(dense()) as unknown as { embedder(): Promise<{ embedDocuments(inputs: { title: string; text: string }[]): Promise<{ vectors: Float32Array[] }>; close(): Promise<void> }> }).embedder();
    const { vectors } = await embedder.embedDocuments(added.map(({ title, text }) => ({ title, text })));
    await embedder.close();
    (await stored.get(added.map((document) => document.id))).forEach((vector, row) => assert.deepEqual(vector, vectors[row], 'the stored vector is the document embedding'));

    // Delete through the library API: the object moves to the new version.
    const doomed = ['d0', 'd7', added[2].id];
    const deleted = await index.delete([...doomed, 'not-there']);
    assert.deepEqual([deleted.version, deleted.deleted, deleted.missing, deleted.documents], [3, 3, 1, 43]);
    assert.equal(index.manifest.version, 3);
    const left = await allHitsByPart(index, 'common');
    for (const id of doomed) {
      assert.ok(!left.bm25.includes(id) && !left.dense.includes(id), `${id} is gone from both parts`);
      assert.ok(!index.documents.has(id));
    }
    assert.deepEqual([...left.bm25].sort(), [...left.dense].sort());
    assert.equal(left.bm25.length, 43);
    const idsFile = join(directory, 'ids.txt');
    await writeFile(idsFile, `${doomed.join('\n')}\nnot-there\n`);
    assert.equal((await deleteFromIndex(path, { idsFile, quiet: true })).upToDate, true, 'deleting them again: already applied');
    // Adding back a deleted id is fine; the library add reloads the object.
    await index.add([{ id: 'd0', title: 'Back', text: 'returned common uniqback' }]);
    assert.equal(index.manifest.version, 4);
    assert.equal((await index.search('uniqback', { hits: 1 })).hits[0]?.id, 'd0');
    assert.deepEqual(readdirSync(path).sort(), ['CURRENT', 'v000004'], 'older versions removed after publication');
  } finally {
    await index.close();
  }
});

test('bad input: typed errors naming the file, and nothing is overwritten', async () => {
  // Another model (same shape) or the model's files changed: INDEX_MISMATCH naming the manifest.
  const other = join(directory, 'other-o1');
  await tinyO1Model({ output: other, seed: 99 });
  const manifestPath = join(fusedIndex, 'v000001', 'manifest.json');
  await rejectsWith(openIndex(fusedIndex, { retriever: { retriever: 'fused', retrievers: [{ retriever: 'bm25' }, { retriever: 'dense', model: other, threads: 1 }] } }), 'INDEX_MISMATCH', manifestPath);
  const moved = join(directory, 'touched.index');
  const touchedModel = join(directory, 'touched-o1');
  cpSync(model, touchedModel, { recursive: true });
  await buildIndex({ corpus, retriever: { retriever: 'dense', model: touchedModel, threads: 1 }, out: moved, quiet: true });
  for (const name of readdirSync(touchedModel)) utimesSync(join(touchedModel, name), new Date(), new Date(Date.now() + 5000));
  await rejectsWith(openIndex(moved), 'INDEX_MISMATCH', join(moved, 'v000001', 'manifest.json'));
  // Another dimension in the manifest than the embedder makes.
  const wide = join(directory, 'wide.index');
  cpSync(fusedIndex, wide, { recursive: true });
  const wideManifest = join(wide, 'v000001', 'manifest.json');
  const edited = JSON.parse(readFileSync(wideManifest, 'utf8'));
  edited.parts[1].embedder.dimension += 1;
  writeFileSync(wideManifest, JSON.stringify(edited));
  await rejectsWith(openIndex(wide), 'INDEX_MISMATCH', /dimension/);
  // Truncated or altered files: CORRUPT_INDEX naming each.
  const damaged = async (file: string, damage: (path: string) => void): Promise<void> => {
    const copy = join(directory, `damaged-${file.replace(/\W/g, '-')}`);
    cpSync(fusedIndex, copy, { recursive: true });
    const path = join(copy, 'v000001', file);
    damage(path);
    await rejectsWith(openIndex(copy), 'CORRUPT_INDEX', path);
  };
  await damaged(join('dense-1', 'vectors.o1v'), (path) => truncateSync(path, 100));
  await damaged('documents.jsonl', (path) => truncateSync(path, 500));
  await damaged('documents.idx', (path) => truncateSync(path, 64));
  await damaged('bm25-0.index', (path) => {
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(path, bytes);
  });
  await damaged('manifest.json', (path) => truncateSync(path, 40));
  // A document altered in place (same length): found when it is read, naming its line.
  const altered = join(directory, 'altered.index');
  cpSync(bm25Index, altered, { recursive: true });
  const alteredPath = join(altered, 'v000001', 'documents.jsonl');
  const bytes = readFileSync(alteredPath);
  bytes[bytes.indexOf('"d1"') + 2] = '9'.charCodeAt(0);
  writeFileSync(alteredPath, bytes);
  const opened = await openIndex(altered);
  try {
    assert.ok(await opened.documents.get(['d0']));
    await assert.rejects(opened.documents.get(['d1']), (error: O1Error) => error.code === 'CORRUPT_INDEX' && error.location.file === alteredPath && error.location.line === 2);
  } finally {
    await opened.close();
  }
  await rejectsWith(addToIndex(altered, { documents: [{ id: 'z', title: '', text: 'z' }], quiet: true }), 'CORRUPT_INDEX', alteredPath);
  // --out: a folder of other files, or an index built with another config: refused, untouched.
  const foreign = join(directory, 'foreign');
  await mkdir(join(foreign, 'build'), { recursive: true });
  await writeFile(join(foreign, 'notes.txt'), 'mine');
  await rejectsWith(buildIndex({ corpus, retriever: { retriever: 'bm25' }, out: foreign, quiet: true }), 'BAD_ARGUMENT', foreign);
  assert.deepEqual(readdirSync(foreign).sort(), ['build', 'notes.txt']);
  const before = readFileSync(join(bm25Index, 'v000001', 'manifest.json'));
  await rejectsWith(buildIndex({ corpus, retriever: { retriever: 'bm25', k1: 1.2 }, out: bm25Index, quiet: true }), 'INDEX_MISMATCH', join(bm25Index, 'v000001', 'manifest.json'));
  assert.ok(readFileSync(join(bm25Index, 'v000001', 'manifest.json')).equals(before));
  assert.deepEqual(readdirSync(bm25Index).sort(), ['CURRENT', 'v000001']);
  // A build that failed after recording its intent (its model is missing) is pending: another build is refused, the same one resumes.
  const pending = join(directory, 'pending.index');
  await assert.rejects(buildIndex({ corpus, retriever: { retriever: 'dense', model: join(directory, 'no-model'), threads: 1 }, out: pending, quiet: true }));
  await rejectsWith(buildIndex({ corpus, retriever: { retriever: 'bm25' }, out: pending, quiet: true }), 'INDEX_MISMATCH', join(pending, 'build', 'intent.json'));
  await rejectsWith(openIndex(pending), 'MISSING_FILE', /not been published/);
});

test('the windows a kill can leave: published but not cleaned up, renamed but not published, a half-removed build folder', async () => {
  const manifest = JSON.parse(readFileSync(join(bm25Index, 'v000001', 'manifest.json'), 'utf8'));
  const intent = JSON.stringify({ operation: 'build', key: manifest.buildKey, base: null, target: 1, started: new Date().toISOString() });
  const deadLock = JSON.stringify({ pid: 2147483647, started: new Date().toISOString() });
  const original = readFileSync(join(bm25Index, 'v000001', 'bm25-0.index'));
  // Published, killed before the clean-up: the re-run finishes it.
  const published = join(directory, 'window-published.index');
  cpSync(bm25Index, published, { recursive: true });
  await mkdir(join(published, 'build'));
  writeFileSync(join(published, 'build', 'intent.json'), intent);
  writeFileSync(join(published, 'build', 'dense-0.journal'), '{"header":{}}\n');
  writeFileSync(join(published, 'write.lock'), deadLock);
  assert.equal((await buildIndex({ corpus, retriever: { retriever: 'bm25' }, out: published, quiet: true })).upToDate, true);
  assert.deepEqual(readdirSync(published).sort(), ['CURRENT', 'v000001']);
  // Killed while removing the build folder (its intent already gone).
  await mkdir(join(published, 'build'));
  writeFileSync(join(published, 'build', 'dense-0.journal'), '{"header":{}}\n');
  assert.equal((await buildIndex({ corpus, retriever: { retriever: 'bm25' }, out: published, quiet: true })).upToDate, true);
  assert.deepEqual(readdirSync(published).sort(), ['CURRENT', 'v000001']);
  await addToIndex(published, { documents: [{ id: 'w1', title: '', text: 'window' }], quiet: true });
  assert.deepEqual(readdirSync(published).sort(), ['CURRENT', 'v000002']);
  // The version renamed into place, killed before CURRENT named it: rebuilt and published.
  const renamed = join(directory, 'window-renamed.index');
  cpSync(bm25Index, renamed, { recursive: true });
  await rm(join(renamed, 'CURRENT'));
  await mkdir(join(renamed, 'build'));
  writeFileSync(join(renamed, 'build', 'intent.json'), intent);
  writeFileSync(join(renamed, 'write.lock'), deadLock);
  await rejectsWith(openIndex(renamed), 'MISSING_FILE', /not been published/);
  const report = await buildIndex({ corpus, retriever: { retriever: 'bm25' }, out: renamed, quiet: true });
  assert.deepEqual([report.resumed, report.upToDate, report.version], [true, false, 1]);
  assert.deepEqual(readdirSync(renamed).sort(), ['CURRENT', 'v000001']);
  assert.ok(readFileSync(join(renamed, 'v000001', 'bm25-0.index')).equals(original));
  // A live writer's lock is respected.
  writeFileSync(join(renamed, 'write.lock'), JSON.stringify({ pid: process.pid }));
  await rejectsWith(addToIndex(renamed, { documents: [{ id: 'w2', title: '', text: 'x' }], quiet: true }), 'STORE_ERROR', join(renamed, 'write.lock'));
  await rm(join(renamed, 'write.lock'));
});

test('a reader opening while another process publishes versions always sees one complete version', { timeout: 90_000 }, async (context) => {
  const path = join(directory, 'concurrent.index');
  cpSync(fusedIndex, path, { recursive: true });
  const rounds = 4;
  const batches = Array.from({ length: rounds }, (_, round) => seededDocuments(3, 100 + round, `r${round}x`));
  // Version 1 + 2 per round (add round's documents, delete the previous round's).
  const expected = new Map<number, string[]>([[1, documents.map((document) => document.id)]]);
  let current = documents.map((document) => document.id);
  batches.forEach((batch, round) => {
    current = [...current, ...batch.map((document) => document.id)];
    expected.set(2 + 2 * round, current);
    const previous = round === 0 ? ['d1', 'd2'] : batches[round - 1].map((document) => document.id);
    current = current.filter((id) => !previous.includes(id));
    expected.set(3 + 2 * round, current);
  });
  const script = join(directory, 'writer.mts');
  await writeFile(script, `
    import { addToIndex, deleteFromIndex } from ${JSON.stringify(join(ROOT, 'src', 'indexes', 'index.ts'))};
    const batches = ${JSON.stringify(batches)};
    for (const [round, batch] of batches.entries()) {
      await addToIndex(${JSON.stringify(path)}, { documents: batch, quiet: true });
      await deleteFromIndex(${JSON.stringify(path)}, { ids: round === 0 ? ['d1', 'd2'] : batches[round - 1].map((document) => document.id), quiet: true });
    }
  `);
  const writer = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  writer.stderr!.on('data', (chunk) => { stderr += chunk; });
  const done = new Promise<number | null>((resolve) => writer.once('exit', (code) => resolve(code)));
  let finished = false;
  void done.then(() => { finished = true; });
  const seen = new Set<number>();
  let reads = 0;
  try {
    while (!finished || reads === 0) {
      const index = await openIndex(path);
      try {
        const version = index.manifest.version;
        seen.add(version);
        const want = [...(expected.get(version) ?? [])].sort();
        assert.deepEqual([...index.documents.ids()].sort(), want, `version ${version}: the documents`);
        const all = await allHitsByPart(index, 'common');
        assert.deepEqual([...all.bm25].sort(), want, `version ${version}: BM25`);
        assert.deepEqual([...all.dense].sort(), want, `version ${version}: vectors`);
        reads++;
      } finally {
        await index.close();
      }
    }
  } finally {
    assert.equal(await done, 0, stderr);
  }
  context.diagnostic(`saw versions ${[...seen].sort((a, b) => a - b).join(', ')} in ${reads} reads`);
  assert.ok(seen.size >= 2, `saw versions ${[...seen].join(', ')} in ${reads} reads`);
  const final = await openIndex(path);
  assert.equal(final.manifest.version, 1 + 2 * rounds);
  await final.close();
});

describe('the CLI: o1e search and o1e eval --index', sharedTestOptions('datasets', 'scifact'), () => {
  let beir: string;
  let sliceSize: number;

  before(async () => {
    // A slice of the o1e demo collection (made from ../shared): the documents judged for 20 queries, plus 180 others.
    beir = join(directory, 'beir');
    await mkdir(join(beir, 'qrels'), { recursive: true });
    const source = await demoCollection();
    const qrelsLines = (await readFile(join(source, 'qrels', 'test.tsv'), 'utf8')).trim().split('\n').slice(1).map((line) => line.split('\t'));
    const queryIds = [...new Set(qrelsLines.map(([query]) => query))].slice(0, 20);
    const judged = new Set(qrelsLines.filter(([query]) => queryIds.includes(query)).map(([, document]) => document));
    const slice: Document[] = [];
    let others = 0;
    for await (const document of readCorpus(join(source, 'corpus.jsonl'))) {
      if (judged.has(document.id) || others++ < 180) slice.push(document);
    }
    await writeCorpus(join(beir, 'corpus.jsonl'), slice);
    sliceSize = slice.length;
    const queries: Query[] = [];
    for await (const query of readQueries(join(source, 'queries.jsonl'))) if (queryIds.includes(query.id)) queries.push(query);
    await writeQueries(join(beir, 'queries.jsonl'), queries);
    await writeBeirQrels(join(beir, 'qrels', 'test.tsv'), new Map(queryIds.map((id) => [id, new Map(qrelsLines.filter(([query]) => query === id).map(([, document, score]) => [document, Number(score)]))])));
  });

  test('o1e search --json: one object with ranked hits, titles, marked snippets and thoughts', async () => {
    const thoughts = join(directory, 'thoughts.jsonl');
    await writeFile(thoughts, `${JSON.stringify({ query: 'cats and rivers', thoughts: ['Cats avoid rivers.'] })}\n`);
    const { stdout } = await run(process.execPath, [...O1E, 'search', bm25Index, 'cats and rivers', '--hits', '3', '--json', '--thinker', JSON.stringify({ backend: 'file', path: thoughts })]);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const output = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(output).sort(), ['hits', 'index', 'query', 'thoughts', 'timings', 'version']);
    assert.deepEqual([output.index, output.version, output.query], [bm25Index, 1, 'cats and rivers']);
    assert.deepEqual(output.thoughts, ['Cats avoid rivers.']);
    assert.equal(output.hits.length, 3);
    const analyzer = new EnglishAnalyzer();
    const terms = new Set(analyzer.analyze('cats and rivers'));
    output.hits.forEach((hit: { rank: number; id: string; score: number; title: string; snippet: string; highlights: [number, number][] }, position: number) => {
      assert.deepEqual(Object.keys(hit).sort(), ['highlights', 'id', 'rank', 'score', 'snippet', 'title']);
      assert.equal(hit.rank, position + 1);
      const document = documents.find((candidate) => candidate.id === hit.id) as Document;
      assert.equal(hit.title, document.title);
      for (const [start, end] of hit.highlights) assert.ok(terms.has(analyzer.analyzeToken(hit.snippet.slice(start, end)) as string), hit.snippet.slice(start, end));
    });
    assert.ok(output.hits[0].highlights.length > 0);
    assert.ok(output.hits[0].score >= output.hits[1].score && output.hits[1].score >= output.hits[2].score);
    assert.equal(typeof output.timings.openMs, 'number');
  });

  test('o1e eval --index equals o1e eval on the same BEIR slice (bm25 via the CLI, fused in process); o1e index add/delete', async () => {
    const index = join(directory, 'slice.index');
    assert.equal((await buildIndex({ data: beir, retriever: { retriever: 'bm25' }, out: index, quiet: true })).documents, sliceSize);
    const added = join(directory, 'slice-add.index');
    const removed = join(directory, 'slice-delete.index');
    cpSync(index, added, { recursive: true });
    cpSync(index, removed, { recursive: true });
    const clash = join(directory, 'slice-clash.jsonl');
    const [first] = readFileSync(join(beir, 'corpus.jsonl'), 'utf8').split('\n');
    await writeFile(clash, `${JSON.stringify({ _id: 'brand-new', text: 'new' })}\n${first}\n`);
    const idsFile = join(directory, 'slice-ids.txt');
    await writeFile(idsFile, `${JSON.parse(first)._id}\nnot-there\n`);
    // Independent processes, run side by side.
    const failure = (promise: Promise<unknown>) => promise.then(() => assert.fail('expected a failure'), (error: { code: number; stderr: string }) => error);
    const [withIndex, without, misuse, duplicate, deleted] = await Promise.all([
      run(process.execPath, [...O1E, 'eval', '--index', index, '--data', beir, '--json']),
      run(process.execPath, [...O1E, 'eval', '--data', beir, '--retriever', 'bm25', '--json']),
      failure(run(process.execPath, [...O1E, 'eval', '--index', index, '--data', beir, '--retriever', 'dense'])),
      failure(run(process.execPath, [...O1E, 'index', 'add', added, '--corpus', clash, '--quiet'])),
      run(process.execPath, [...O1E, 'index', 'delete', removed, '--ids', idsFile, '--json']),
    ]);
    const [a, b] = [JSON.parse(withIndex.stdout), JSON.parse(without.stdout)];
    assert.deepEqual(a.metrics, b.metrics);
    assert.deepEqual([a.queries, a.documents, a.retriever], [b.queries, b.documents, b.retriever]);
    assert.equal(a.timings.indexMs, 0, 'the prebuilt index is not re-indexed');
    assert.equal(misuse.code, 2);
    assert.match(misuse.stderr, /BAD_ARGUMENT: .*--retriever does not apply to --index/);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, new RegExp(`DUPLICATE_ID: ${clash.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2, field _id: document id '${JSON.parse(first)._id}' is already in the index`));
    assert.deepEqual(readdirSync(added).sort(), ['CURRENT', 'v000001'], 'nothing written');
    const report = JSON.parse(deleted.stdout);
    assert.deepEqual([report.operation, report.version, report.deleted, report.missing, report.documents], ['delete', 2, 1, 1, sliceSize - 1]);

    // The fused index (bm25 + dense on the tiny model) evaluated in process against a fresh fused retriever.
    const tiny = join(directory, 'tiny-beir');
    await mkdir(join(tiny, 'qrels'), { recursive: true });
    cpSync(corpus, join(tiny, 'corpus.jsonl'));
    await writeQueries(join(tiny, 'queries.jsonl'), QUERIES);
    await writeBeirQrels(join(tiny, 'qrels', 'test.tsv'), new Map([['q1', new Map([['d4', 1], ['d9', 2]])], ['d3', new Map([['d3', 1], ['d11', 1]])], ['q3', new Map([['d20', 1]])]]));
    const opened = await openIndex(fusedIndex);
    try {
      const stored = await evaluateRetriever(opened.retriever(), tiny, { quiet: true, indexed: true });
      const fresh = await evaluateRetriever(fused(), tiny, { quiet: true });
      assert.deepEqual(stored.metrics, fresh.metrics);
      assert.deepEqual([stored.documents, stored.queries], [fresh.documents, fresh.queries]);
    } finally {
      await opened.close();
    }
  });
});
