import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { O1Error, type ErrorCode } from '../src/errors.js';
import { readQrels, readRun, writeQrels, writeRun } from '../src/data/trec.js';
import type { Qrels, Run } from '../src/data/types.js';

async function withFolder(body: (folder: string) => Promise<void>): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'o1e-trec-'));
  try {
    await body(folder);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function rejectsAt(promise: Promise<unknown>, code: ErrorCode, file: string, line?: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof O1Error, `expected O1Error, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.location.file, file);
    assert.equal(error.location.line, line);
    if (line !== undefined) assert.match(error.message, new RegExp(`:${line}: `));
    return true;
  });
}

test('readQrels reads whitespace-separated columns, skips blank lines, accepts CRLF', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'a.qrels');
    await writeFile(path, '1 0 d1 1\r\n1\t0\td2  0\n\n  2 0 d1 2\n2 0 d3 -1\n');
    const qrels = await readQrels(path);
    assert.deepEqual([...qrels.keys()], ['1', '2']);
    assert.deepEqual([...(qrels.get('1') ?? [])], [['d1', 1], ['d2', 0]]);
    assert.deepEqual([...(qrels.get('2') ?? [])], [['d1', 2], ['d3', -1]]);
  });
});

test('readQrels errors name the file and the 1-based line', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'bad.qrels');
    await writeFile(path, '1 0 d1 1\n1 0 d2\n');
    await rejectsAt(readQrels(path), 'MALFORMED_LINE', path, 2);
    await writeFile(path, '1 0 d1 1\n\n1 0 d2 1.5\n');
    await rejectsAt(readQrels(path), 'BAD_RELEVANCE', path, 3);
    await writeFile(path, '1 0 d1 1\n1 0 d1 0\n');
    await rejectsAt(readQrels(path), 'DUPLICATE_ID', path, 2);
    await rejectsAt(readQrels(join(folder, 'absent.qrels')), 'MISSING_FILE', join(folder, 'absent.qrels'));
  });
});

test('readRun reads scores in full precision and ignores Q0, rank and tag', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'a.run');
    await writeFile(path, 'q1 Q0 d1 7 2.0438546043314534 tagA\nq1 Q0 d2 1 -3e-2 tagB\nq2 x d1 1 1 t\n');
    const run = await readRun(path);
    assert.deepEqual([...(run.get('q1') ?? [])], [['d1', 2.0438546043314534], ['d2', -0.03]]);
    assert.deepEqual([...(run.get('q2') ?? [])], [['d1', 1]]);
  });
});

test('readRun errors name the file and the 1-based line', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'bad.run');
    await writeFile(path, 'q1 Q0 d1 1 1.0 t\nq1 Q0 d2 2 1.0\n');
    await rejectsAt(readRun(path), 'MALFORMED_LINE', path, 2);
    await writeFile(path, 'q1 Q0 d1 1 1.0 t\nq1 Q0 d2 2 1.0 t\nq1 Q0 d3 3 abc t\n');
    await rejectsAt(readRun(path), 'BAD_SCORE', path, 3);
    await writeFile(path, 'q1 Q0 d1 1 NaN t\n');
    await rejectsAt(readRun(path), 'BAD_SCORE', path, 1);
    await writeFile(path, 'q1 Q0 d1 1 1.0 t\nq2 Q0 d1 1 1.0 t\nq1 Q0 d1 2 0.5 t\n');
    await rejectsAt(readRun(path), 'DUPLICATE_DOCUMENT_IN_RUN', path, 3);
    await rejectsAt(readRun(join(folder, 'absent.run')), 'MISSING_FILE', join(folder, 'absent.run'));
  });
});

test('readRun with queries keeps only those queries (a duplicate elsewhere is not an error, as in trec_eval)', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'a.run');
    await writeFile(path, 'q1 Q0 d1 1 1.0 t\nq9 Q0 d1 1 1.0 t\nq9 Q0 d1 2 0.5 t\n');
    const run = await readRun(path, { queries: new Set(['q1']) });
    assert.deepEqual([...run.keys()], ['q1']);
    // Lines of skipped queries are still checked for format.
    await writeFile(path, 'q1 Q0 d1 1 1.0 t\nq9 Q0 d1 1 x t\n');
    await rejectsAt(readRun(path, { queries: new Set(['q1']) }), 'BAD_SCORE', path, 2);
  });
});

test('writeRun writes ranked lines (ties by docid descending), honours maxHits, and round-trips', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'out.run');
    const run: Run = new Map([
      ['q2', new Map([['a', 1], ['c', 1], ['b', 2], ['d', 0.1]])],
      ['q1', new Map([['x', 0.30000000000000004]])],
    ]);
    await writeRun(path, run, { tag: 'mine' });
    const text = await readFile(path, 'utf8');
    assert.equal(text, [
      'q2 Q0 b 1 2 mine',
      'q2 Q0 c 2 1 mine',
      'q2 Q0 a 3 1 mine',
      'q2 Q0 d 4 0.1 mine',
      'q1 Q0 x 1 0.30000000000000004 mine',
      '',
    ].join('\n'));
    assert.deepEqual(await readRun(path), run);
    assert.deepEqual(await readdir(folder), ['out.run'], 'no temporary file is left behind');

    await writeRun(path, run, { tag: 'top2', maxHits: 2 });
    const top = await readRun(path);
    assert.deepEqual([...(top.get('q2') ?? []).keys()], ['b', 'c']);
    assert.equal(top.get('q1')?.size, 1);
  });
});

test('writeRun rejects a tag with whitespace and leaves no file; a missing folder is MISSING_FILE', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'out.run');
    await assert.rejects(writeRun(path, new Map(), { tag: 'two words' }), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT');
    await assert.rejects(writeRun(join(folder, 'no', 'out.run'), new Map(), { tag: 't' }), (error: unknown) => error instanceof O1Error && error.code === 'MISSING_FILE');
    assert.deepEqual(await readdir(folder), []);
  });
});

test('writeRun over an existing file replaces it atomically; a failed write keeps the old one', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'out.run');
    await writeFile(path, 'old\n');
    const bad: Run = new Map([['q1', new Map([['d 1', 1]])]]);
    await assert.rejects(writeRun(path, bad, { tag: 't' }), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT');
    assert.equal(await readFile(path, 'utf8'), 'old\n');
    assert.deepEqual(await readdir(folder), ['out.run']);
    await writeRun(path, new Map([['q1', new Map([['d1', 1]])]]), { tag: 't' });
    assert.equal(await readFile(path, 'utf8'), 'q1 Q0 d1 1 1 t\n');
  });
});

test('writeQrels round-trips, including 0 and negative judgements', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'out.qrels');
    const qrels: Qrels = new Map([
      ['1', new Map([['d1', 1], ['d2', 0]])],
      ['2', new Map([['d3', 2], ['d4', -1]])],
    ]);
    await writeQrels(path, qrels);
    assert.equal(await readFile(path, 'utf8'), '1 0 d1 1\n1 0 d2 0\n2 0 d3 2\n2 0 d4 -1\n');
    assert.deepEqual(await readQrels(path), qrels);
  });
});

test('a 200,000-line run streams through write and read', async () => {
  await withFolder(async (folder) => {
    const path = join(folder, 'big.run');
    const run: Run = new Map();
    for (let query = 0; query < 200; query++) {
      const scores = new Map<string, number>();
      for (let document = 0; document < 1000; document++) scores.set(`doc${document}`, Math.sin(query * 1000 + document));
      run.set(`q${query}`, scores);
    }
    await writeRun(path, run, { tag: 'big' });
    const back = await readRun(path);
    assert.equal(back.size, 200);
    assert.equal(back.get('q7')?.get('doc123'), run.get('q7')?.get('doc123'));
  });
});
