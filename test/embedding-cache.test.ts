import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { O1Error } from '../src/errors.js';
import { documentKey, EmbeddingCache } from '../src/retrieval/dense/embedding-cache.js';

test('embedding cache: keys depend on model, length limit, title and text; vectors survive a reopen exactly', async () => {
  const base = { model: 'm#1', title: 'T', text: 'body' };
  const keys = new Set([documentKey(base), documentKey({ ...base, model: 'm#2' }), documentKey({ ...base, maxLength: 64 }), documentKey({ ...base, title: '' }), documentKey({ ...base, text: 'body ' })]);
  assert.equal(keys.size, 5);
  // Title and text are kept apart: moving a word between them changes the key.
  assert.notEqual(documentKey({ model: 'm', title: 'a b', text: 'c' }), documentKey({ model: 'm', title: 'a', text: 'b c' }));

  const directory = await mkdtemp(join(tmpdir(), 'o1e-embcache-'));
  try {
    const path = join(directory, 'sub', 'vectors.jsonl');
    const cache = await EmbeddingCache.open(path);
    const vector = new Float32Array([0.1, -2.5, Math.PI, 1e-30]);
    await cache.set([{ key: 'a', vector }, { key: 'b', vector: new Float32Array([1, 2, 3, 4]) }]);
    await cache.set([{ key: 'a', vector: new Float32Array(4) }]); // an existing key is not overwritten or re-appended
    assert.equal((await readFile(path, 'utf8')).trim().split('\n').length, 2);
    const reopened = await EmbeddingCache.open(path);
    assert.equal(reopened.size, 2);
    assert.deepEqual(reopened.get('a'), vector);
    assert.equal(reopened.get('missing'), undefined);
    assert.deepEqual(reopened.stats, { hits: 1, misses: 1 });

    // A torn last line (a crash mid-append) is dropped and the file repaired.
    await appendFile(path, '{"key":"c","vec');
    const repaired = await EmbeddingCache.open(path);
    assert.equal(repaired.size, 2);
    assert.ok((await readFile(path, 'utf8')).endsWith('\n'));
    // Any other bad line names the file and line.
    await writeFile(path, '{"key":"a","vector":"AAAAAA=="}\nnot json\n');
    await assert.rejects(EmbeddingCache.open(path), (error: O1Error) => error.code === 'MALFORMED_JSON' && error.location.line === 2 && error.location.file === path);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
