import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBeir, readBeirQrels, readCorpus, readQueries, writeBeirQrels, writeCorpus, writeQueries } from '../src/data/beir.js';
import { O1Error } from '../src/errors.js';
import type { Document } from '../src/data/types.js';

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'o1e-beir-'));
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function rejectsAt(promise: Promise<unknown>, code: string, file: string, line: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof O1Error, `expected O1Error, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.location.file, file);
    assert.equal(error.location.line, line);
    assert.match(error.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}`));
    return true;
  });
}

test('corpus: reads ids, titles, text and metadata; numeric ids become strings; blank lines skipped', async () => {
  const directory = await scratch();
  const path = join(directory, 'corpus.jsonl');
  await writeFile(path, '\ufeff{"_id":"a","title":"T","text":"x","metadata":{"k":1}}\n\n{"_id":7,"text":"y"}\n');
  assert.deepEqual(await collect(readCorpus(path)), [
    { id: 'a', title: 'T', text: 'x', metadata: { k: 1 } },
    { id: '7', title: '', text: 'y' },
  ]);
});

test('corpus: malformed JSON, missing _id, missing text and duplicate ids name file and line', async () => {
  const directory = await scratch();
  const path = join(directory, 'corpus.jsonl');
  await writeFile(path, '{"_id":"a","text":"x"}\n{"_id":"b","text":\n');
  await rejectsAt(collect(readCorpus(path)), 'MALFORMED_JSON', path, 2);
  await writeFile(path, '{"_id":"a","text":"x"}\n{"title":"t","text":"y"}\n');
  await rejectsAt(collect(readCorpus(path)), 'MISSING_FIELD', path, 2);
  await writeFile(path, '{"_id":"a","title":"t"}\n');
  await rejectsAt(collect(readCorpus(path)), 'MISSING_FIELD', path, 1);
  await writeFile(path, '{"_id":"a","text":"x"}\n{"_id":"b","text":"y"}\n{"_id":"a","text":"z"}\n');
  await rejectsAt(collect(readCorpus(path)), 'DUPLICATE_ID', path, 3);
  await writeFile(path, '[1,2]\n');
  await rejectsAt(collect(readCorpus(path)), 'MALFORMED_JSON', path, 1);
});

test('queries: duplicate ids and missing text name file and line', async () => {
  const directory = await scratch();
  const path = join(directory, 'queries.jsonl');
  await writeFile(path, '{"_id":"q1","text":"a"}\n{"_id":"q1","text":"b"}\n');
  await rejectsAt(collect(readQueries(path)), 'DUPLICATE_ID', path, 2);
  await writeFile(path, '{"_id":"q1"}\n');
  await rejectsAt(collect(readQueries(path)), 'MISSING_FIELD', path, 1);
});

test('corpus and queries: NaN/Infinity inside metadata (as Python writes them) read as null, one warning per file with the count', async () => {
  const directory = await scratch();
  const path = join(directory, 'corpus.jsonl');
  await writeFile(
    path,
    [
      '{"_id":"a","text":"NaN and Infinity in text stay text","metadata":{"x":NaN,"y":[1,-Infinity,Infinity],"label":"NaN","nested":{"z":NaN}}}',
      '{"_id":"b","text":"clean","metadata":{"x":1.5}}',
      '{"_id":"c","text":"escaped \\"NaN\\" quote","metadata":NaN}',
      '',
    ].join('\n'),
  );
  const warnings: string[] = [];
  assert.deepEqual(await collect(readCorpus(path, { onWarning: (message) => warnings.push(message) })), [
    { id: 'a', title: '', text: 'NaN and Infinity in text stay text', metadata: { x: null, y: [1, null, null], label: 'NaN', nested: { z: null } } },
    { id: 'b', title: '', text: 'clean', metadata: { x: 1.5 } },
    { id: 'c', title: '', text: 'escaped "NaN" quote' },
  ]);
  assert.equal(warnings.length, 1, 'one warning for the whole file');
  assert.match(warnings[0]!, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 5 NaN/Infinity value`));

  const queries = join(directory, 'queries.jsonl');
  await writeFile(queries, '{"_id":"q1","text":"t","metadata":{"score":NaN}}\n{"_id":"q2","text":"u","metadata":{"score":-Infinity}}\n');
  const queryWarnings: string[] = [];
  assert.deepEqual(await collect(readQueries(queries, { onWarning: (message) => queryWarnings.push(message) })), [
    { id: 'q1', text: 't', metadata: { score: null } },
    { id: 'q2', text: 'u', metadata: { score: null } },
  ]);
  assert.equal(queryWarnings.length, 1);
  assert.match(queryWarnings[0]!, /: 2 NaN\/Infinity value/);

  // Clean files warn about nothing.
  const none: string[] = [];
  await writeFile(path, '{"_id":"a","text":"x","metadata":{"k":"Infinity"}}\n');
  await collect(readCorpus(path, { onWarning: (message) => none.push(message) }));
  assert.deepEqual(none, []);
});

test('corpus and queries: NaN/Infinity outside metadata stay MALFORMED_JSON naming file, line and field', async () => {
  const directory = await scratch();
  const path = join(directory, 'corpus.jsonl');
  const cases: [string, string | undefined][] = [
    ['{"_id":"a","text":"x","score":NaN}', 'score'],
    ['{"_id":"a","text":"x","extra":[1,Infinity],"metadata":{"y":NaN}}', 'extra[1]'],
    ['{"_id":"a","text":"x","metadata":{},"k":-Infinity}', 'k'],
    ['{"_id":"a","text":"x","metadata":{"y":NaNx}}', undefined],
    ['{"_id":"a","text":"x","metadata":{"y":nan}}', undefined],
  ];
  for (const [line, field] of cases) {
    await writeFile(path, `{"_id":"ok","text":"fine","metadata":{"y":NaN}}\n${line}\n`);
    const warnings: string[] = [];
    await rejectsAt(collect(readCorpus(path, { onWarning: (message) => warnings.push(message) })), 'MALFORMED_JSON', path, 2);
    await assert.rejects(collect(readCorpus(path, { onWarning: () => undefined })), (error: unknown) => error instanceof O1Error && error.location.field === field);
  }
  const queries = join(directory, 'queries.jsonl');
  await writeFile(queries, '{"_id":NaN,"text":"t"}\n');
  await rejectsAt(collect(readQueries(queries, { quiet: true })), 'MALFORMED_JSON', queries, 1);
});

test('loadBeir passes the NaN warning to its onWarning', async () => {
  const directory = await scratch();
  await mkdir(join(directory, 'qrels'));
  await writeFile(join(directory, 'corpus.jsonl'), '{"_id":"d1","text":"one","metadata":{"year":NaN}}\n');
  await writeFile(join(directory, 'queries.jsonl'), '{"_id":"q1","text":"one?"}\n');
  await writeBeirQrels(join(directory, 'qrels', 'test.tsv'), new Map([['q1', new Map([['d1', 1]])]]));
  const warnings: string[] = [];
  const split = await loadBeir(directory, 'test', { quiet: true, onWarning: (message) => warnings.push(message) });
  assert.deepEqual(split.corpus[0]!.metadata, { year: null });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /corpus\.jsonl: 1 NaN\/Infinity value/);
});

test('qrels: header skipped, integer relevance required, duplicate pairs rejected', async () => {
  const directory = await scratch();
  const path = join(directory, 'test.tsv');
  await writeFile(path, 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td1\t2\n');
  const qrels = await readBeirQrels(path);
  assert.deepEqual([...qrels.get('q1')!], [['d1', 1], ['d2', 0]]);
  assert.equal(qrels.get('q2')!.get('d1'), 2);
  await writeFile(path, 'query-id\tcorpus-id\tscore\nq1\td1\t1.5\n');
  await rejectsAt(readBeirQrels(path), 'BAD_RELEVANCE', path, 2);
  await writeFile(path, 'query-id\tcorpus-id\tscore\nq1\td1\n');
  await rejectsAt(readBeirQrels(path), 'MALFORMED_LINE', path, 2);
  await writeFile(path, 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t1\n');
  await rejectsAt(readBeirQrels(path), 'DUPLICATE_ID', path, 3);
});

test('loadBeir keeps only judged queries and warns once, with a count, about unknown documents', async () => {
  const directory = await scratch();
  await mkdir(join(directory, 'qrels'));
  await writeCorpus(join(directory, 'corpus.jsonl'), [
    { id: 'd1', title: 'One', text: 'first' },
    { id: 'd2', title: '', text: 'second' },
  ]);
  await writeQueries(join(directory, 'queries.jsonl'), [{ id: 'q1', text: 'first?' }, { id: 'q2', text: 'unjudged' }]);
  await writeBeirQrels(join(directory, 'qrels', 'test.tsv'), new Map([['q1', new Map([['d1', 1], ['d9', 1], ['d8', 2]])]]));
  const warnings: string[] = [];
  const split = await loadBeir(directory, 'test', { quiet: true, onWarning: (message) => warnings.push(message) });
  assert.deepEqual(split.queries.map((query) => query.id), ['q1']);
  assert.equal(split.corpus.length, 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /2 judgements name documents that are not in the corpus/);
  // Atomic writers leave no temporary files behind.
  assert.deepEqual((await readdir(directory)).sort(), ['corpus.jsonl', 'qrels', 'queries.jsonl']);
});

test('readCorpus streams a large file with bounded memory', async () => {
  const directory = await scratch();
  const path = join(directory, 'big.jsonl');
  const count = 100_000;
  await writeCorpus(path, (function* (): Generator<Document> {
    for (let index = 0; index < count; index += 1) yield { id: `d${index}`, title: '', text: 'lorem ipsum dolor sit amet '.repeat(4) };
  })());
  const before = process.memoryUsage().heapUsed;
  let seen = 0;
  let peak = before;
  for await (const document of readCorpus(path)) {
    seen += document.id.length > 0 ? 1 : 0;
    if (seen % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  assert.equal(seen, count);
  // The file is ~12 MB of text; holding it would cost far more than this bound (ids only are kept).
  assert.ok(peak - before < 60 * 1024 * 1024, `heap grew by ${((peak - before) / 1048576).toFixed(1)} MiB`);
});
