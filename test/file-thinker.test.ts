/**
 * The `file` thinker: thoughts written earlier, looked up in a JSONL file of
 * `{"query_id"?, "query", "thoughts"}` lines (the layout of ../shared/thoughts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileThinker } from '../src/backends/file/thinker.js';
import { createThinker } from '../src/backends/registry.js';
import { O1Error } from '../src/errors.js';

const isO1Error = (code: string, check: (error: O1Error) => void = () => undefined) => (error: unknown): boolean => {
  assert.ok(error instanceof O1Error, String(error));
  assert.equal(error.code, code, error.message);
  check(error);
  return true;
};

describe('file thinker', () => {
  let directory: string;
  let path: string;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1e-file-thinker-'));
    path = join(directory, 'thoughts.jsonl');
    await writeFile(path, [
      JSON.stringify({ query_id: 'q1', query: 'do cats purr', thoughts: ['Cats purr when content.', 'Purring is a vibration.'] }),
      '',
      JSON.stringify({ query_id: 7, query: 'why do dogs bark', thoughts: ['Dogs bark to warn.'] }),
      JSON.stringify({ query: 'the stock market', thoughts: ['Stocks fell on Monday.'] }),
    ].join('\n') + '\n');
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test('matches by id when both sides have one, else by query text; n keeps the first thoughts', async () => {
    const thinker = await FileThinker.create({ backend: 'file', path });
    assert.equal(thinker.size, 3);
    assert.equal(thinker.keyedById, true);
    const thoughts = await thinker.think([
      { id: 'q1', text: 'a different wording of the query' },
      { id: '7', text: 'why do dogs bark' },
      { text: 'do cats purr' },
      { id: 'unknown-id', text: 'the stock market' },
    ]);
    assert.deepEqual(thoughts, [
      ['Cats purr when content.', 'Purring is a vibration.'],
      ['Dogs bark to warn.'],
      ['Cats purr when content.', 'Purring is a vibration.'],
      ['Stocks fell on Monday.'],
    ]);
    assert.deepEqual(await thinker.think([{ id: 'q1', text: '' }], { n: 1 }), [['Cats purr when content.']]);
    // The answer is a copy: changing it does not change the file's thoughts.
    thoughts[0].push('extra');
    assert.equal((await thinker.think([{ id: 'q1', text: '' }]))[0].length, 2);
    await assert.rejects(thinker.generate(['x']), isO1Error('UNSUPPORTED_OP'));
    assert.deepEqual(thinker.config(), { backend: 'file', path, missing: 'error' });
    await thinker.close();
  });

  test('a missing query is MISSING_THOUGHT naming the file, unless missing is "query-only"', async () => {
    const thinker = await FileThinker.create({ backend: 'file', path });
    await assert.rejects(thinker.think([{ id: 'q9', text: 'is the earth round' }]), isO1Error('MISSING_THOUGHT', (error) => {
      assert.equal(error.location.file, path);
      assert.ok(error.message.includes(path), error.message);
      assert.match(error.message, /q9/);
      assert.match(error.message, /"missing": "query-only"/, 'the message says how to allow it');
    }));
    const lenient = await FileThinker.create({ backend: 'file', path, missing: 'query-only' });
    assert.deepEqual(await lenient.think([{ id: 'q9', text: 'is the earth round' }, { id: 'q1', text: '' }]), [[], ['Cats purr when content.', 'Purring is a vibration.']]);
  });

  test('a malformed line is MALFORMED_JSON with its line; a repeated id is DUPLICATE_ID; bad fields and files are refused', async () => {
    const malformed = join(directory, 'malformed.jsonl');
    await writeFile(malformed, `${JSON.stringify({ query: 'a', thoughts: ['t'] })}\n{"query": "b", "thoughts": [\n`);
    await assert.rejects(FileThinker.create({ backend: 'file', path: malformed }), isO1Error('MALFORMED_JSON', (error) => {
      assert.equal(error.location.file, malformed);
      assert.equal(error.location.line, 2);
    }));
    const duplicate = join(directory, 'duplicate.jsonl');
    await writeFile(duplicate, [
      JSON.stringify({ query_id: 'q1', query: 'a', thoughts: ['t'] }),
      JSON.stringify({ query_id: 'q2', query: 'b', thoughts: ['t'] }),
      JSON.stringify({ query_id: 'q1', query: 'c', thoughts: ['t'] }),
    ].join('\n'));
    await assert.rejects(FileThinker.create({ backend: 'file', path: duplicate }), isO1Error('DUPLICATE_ID', (error) => {
      assert.equal(error.location.line, 3);
      assert.match(error.message, /q1/);
    }));
    const badThoughts = join(directory, 'bad-thoughts.jsonl');
    await writeFile(badThoughts, `${JSON.stringify({ query: 'a', thoughts: 'not a list' })}\n`);
    await assert.rejects(FileThinker.create({ backend: 'file', path: badThoughts }), isO1Error('MISSING_FIELD', (error) => {
      assert.equal(error.location.field, 'thoughts');
      assert.equal(error.location.line, 1);
    }));
    await assert.rejects(FileThinker.create({ backend: 'file', path: join(directory, 'absent.jsonl') }), isO1Error('MISSING_FILE'));
    await assert.rejects(FileThinker.create({ backend: 'file', path, missing: 'skip' }), isO1Error('BAD_ARGUMENT', (error) => assert.equal(error.location.field, 'missing')));
    await assert.rejects(FileThinker.create({ backend: 'file', path, pathh: 'x' }), /unknown setting\(s\): pathh/);
  });

  test('the registry builds it; the identity follows the file contents', async () => {
    const thinker = await createThinker({ backend: 'file', path });
    assert.equal(thinker.backend, 'file');
    assert.deepEqual(await thinker.think!([{ text: 'the stock market' }]), [['Stocks fell on Monday.']]);
    const copy = join(directory, 'copy.jsonl');
    await writeFile(copy, `${JSON.stringify({ query: 'the stock market', thoughts: ['Stocks fell on Monday.'] })}\n`);
    const first = await FileThinker.create({ backend: 'file', path: copy });
    await writeFile(copy, `${JSON.stringify({ query: 'the stock market', thoughts: ['Stocks rose on Tuesday.'] })}\n`);
    const second = await FileThinker.create({ backend: 'file', path: copy });
    assert.notEqual(first.identity, second.identity, 'an edited file does not reuse cached thoughts of the old one');
    assert.notEqual(first.identity, thinker.identity);
  });
});
