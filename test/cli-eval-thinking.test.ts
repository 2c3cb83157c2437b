/**
 * `o1e eval` in-process (`main([...])` from src/cli/main.ts): usage errors are one line and a
 * synopsis, never a stack; dense without an embedder is a clear error; `--thinker` takes inline
 * JSON and makes any retriever think.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/cli/main.js';
import { TINY_QUERIES, writeTinyBeir } from './helpers/o1-fixtures.js';

/**
 * Runs `o1e ARGS...` in this process. stderr is captured whole; of stdout only what starts with
 * `{` (the JSON report), since the test runner reports through this process's stdout too.
 */
async function o1e(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const originalOut = process.stdout.write.bind(process.stdout);
  const originalError = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('{')) {
      stdout.push(text);
      return true;
    }
    return (originalOut as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    process.stdout.write = originalOut;
    process.stderr.write = originalError;
  }
}

describe('o1e eval in-process', () => {
  let directory: string;
  let thoughts: string;
  before(async () => {
    directory = await writeTinyBeir();
    thoughts = join(directory, 'thoughts.jsonl');
    // Thoughts that name the relevant document's words, for q1 and q3; q2 has none in the file.
    await writeFile(thoughts, [
      JSON.stringify({ query_id: 'q1', query: TINY_QUERIES[0].text, thoughts: ['Cats are small furry animals that purr.'] }),
      JSON.stringify({ query_id: 'q3', query: TINY_QUERIES[2].text, thoughts: ['The market fell sharply on Monday.'] }),
    ].join('\n'));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  test('--bogus: a non-zero exit, one BAD_ARGUMENT line naming the option, the synopsis, no stack', async () => {
    const { code, stdout, stderr } = await o1e(['eval', '--data', directory, '--bogus']);
    // Usage errors exit 2 in o1e (src/cli/main.ts), other errors 1.
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    const [first, second] = stderr.split('\n');
    assert.match(first, /^o1e eval: BAD_ARGUMENT: .*'--bogus'/);
    assert.match(second, /^usage: o1e eval --data DIR/);
    assert.doesNotMatch(stderr, /\n\s+at |TypeError/);
  });

  test('--retriever dense without --embedder or --model is a clear error; a missing thoughts file names it', async () => {
    const dense = await o1e(['eval', '--data', directory, '--retriever', 'dense']);
    assert.notEqual(dense.code, 0);
    assert.match(dense.stderr, /^o1e eval: BAD_ARGUMENT: .*--retriever dense needs --embedder CONFIG or --model PATH/);
    assert.doesNotMatch(dense.stderr, /\n\s+at /);
    const both = await o1e(['eval', '--data', directory, '--retriever', 'dense', '--embedder', '{"backend":"openai","model":"m"}', '--model', 'models/o1-small']);
    assert.match(both.stderr, /give --embedder or --model, not both/);
    const weight = await o1e(['eval', '--data', directory, '--query-weight', '3']);
    assert.match(weight.stderr, /--query-weight applies to thinking bm25: give --thinker/);
    const absent = join(directory, 'absent.jsonl');
    const missing = await o1e(['eval', '--data', directory, '--thinker', JSON.stringify({ backend: 'file', path: absent })]);
    assert.equal(missing.code, 1);
    assert.ok(missing.stderr.includes(`MISSING_FILE: ${absent}`), missing.stderr);
    const unlisted = await o1e(['eval', '--data', directory, '--thinker', JSON.stringify({ backend: 'file', path: thoughts })]);
    assert.equal(unlisted.code, 1);
    assert.match(unlisted.stderr, /MISSING_THOUGHT: .*thoughts\.jsonl: no thoughts for query q2/);
  });

  test('--thinker with inline file JSON: thinking bm25, the thinker and query weight in the config, thought counts', async () => {
    const thinker = JSON.stringify({ backend: 'file', path: thoughts, missing: 'query-only' });
    const { code, stdout, stderr } = await o1e(['eval', '--data', directory, '--thinker', thinker, '--query-weight', '2', '--hits', '10', '--json']);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.deepEqual(report.retriever, { retriever: 'bm25', k1: 0.9, b: 0.4, analyzer: 'english', thinker: { backend: 'file', path: thoughts, missing: 'query-only' }, queryWeight: 2, queryOnlyWeight: 0 });
    assert.deepEqual(report.thoughts, { generatedQueries: 3, cachedQueries: 0 });
    assert.equal(report.queries, 3);
    assert.equal(report.metrics.ndcg_cut_10, 1, 'each judged document first');
    // The same without thinking, for comparison: a plain bm25 config, no thought counts.
    const plain = JSON.parse((await o1e(['eval', '--data', directory, '--hits', '10', '--json'])).stdout);
    assert.deepEqual(plain.retriever, { retriever: 'bm25', k1: 0.9, b: 0.4, analyzer: 'english' });
    assert.equal(plain.thoughts, undefined);
  });
});
