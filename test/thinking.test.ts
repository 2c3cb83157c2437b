/**
 * Thinking with any thinker (src/thinking/): QueryThinker's split of thinking settings from
 * backend settings, the thought cache in memory and on disk, and the prompts sent to thinkers
 * without native thinking (the official O1 exploration prompt, few-shot examples, templates).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChatMessage } from '../src/backends/thinker.js';
import { O1Error } from '../src/errors.js';
import type { TrainingRecord } from '../src/synth/records.js';
import { THINKING_DEFAULTS } from '../src/thinking/defaults.js';
import { buildThinkingPrompt, promptIdentity, readPromptTemplate, type PromptSettings } from '../src/thinking/prompt.js';
import { QueryThinker } from '../src/thinking/query-thinker.js';
import { ThoughtCache } from '../src/util/thought-cache.js';
import { ScriptedThinker, TableThinker } from './helpers/thinking-fixtures.js';

// The official exploration prompt (o1-method.md §5.1), typed out here character for character.
const SYSTEM = "You are a helpful assistant. Your anwer should be follow the task description. Do not ask the user for further clarification. Don't repeat the query, just give the response.";
const TASK = 'Think about a plausible response to address the query.';

const RECORDS: TrainingRecord[] = Array.from({ length: 12 }, (_, index) => ({ query: `train query ${index}`, pos: [`positive passage ${index}`, 'second positive'], neg: ['a negative'] }));

const zeroShot: PromptSettings = { prompt: 'o1', format: 'chat', examples: [], exampleCount: 3, seed: 0 };
const fewShot: PromptSettings = { ...zeroShot, examples: RECORDS };

const isO1Error = (code: string, field?: string) => (error: unknown): boolean => {
  assert.ok(error instanceof O1Error, String(error));
  assert.equal(error.code, code, error.message);
  if (field !== undefined) assert.equal(error.location.field, field, error.message);
  return true;
};

let directory: string;
let thoughtsFile: string;
let recordsFile: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1e-thinking-'));
  thoughtsFile = join(directory, 'thoughts.jsonl');
  await writeFile(thoughtsFile, `${JSON.stringify({ query_id: 'q1', query: 'do cats purr', thoughts: ['Cats purr.', 'Purring is a vibration.', 'Third.'] })}\n`);
  recordsFile = join(directory, 'records.jsonl');
  await writeFile(recordsFile, `${RECORDS.map((record) => JSON.stringify(record)).join('\n')}\n`);
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('prompts', () => {
  test('zero-shot: the official system message and user template, without the examples block', () => {
    assert.deepEqual(buildThinkingPrompt('what causes tides', zeroShot), [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: `Task: \n${TASK}\n\nQuery: \nwhat causes tides\nResponse: ` },
    ]);
    assert.equal(buildThinkingPrompt('what causes tides', { ...zeroShot, format: 'text' }), `${SYSTEM}\n\nTask: \n${TASK}\n\nQuery: \nwhat causes tides\nResponse: `);
  });

  test('few-shot: exampleCount records as "Query: q\\nResponse: pos[0]", drawn by (seed, query), the same in any batch', () => {
    const [system, user] = buildThinkingPrompt('what causes tides', fewShot) as ChatMessage[];
    assert.deepEqual(system, { role: 'system', content: SYSTEM });
    const match = /^Task: \nThink about a plausible response to address the query\.\n\nExamples: \n([\s\S]*)\n\nQuery: \nwhat causes tides\nResponse: $/.exec(user.content);
    assert.ok(match !== null, user.content);
    const examples = match[1].split('\n');
    assert.equal(examples.length, 6);
    for (let index = 0; index < 3; index++) {
      const number = /^Query: train query (\d+)$/.exec(examples[2 * index])?.[1];
      assert.ok(number !== undefined, examples[2 * index]);
      assert.equal(examples[2 * index + 1], `Response: positive passage ${number}`, 'the first positive is the response');
    }
    // Deterministic: the same seed and query give the same prompt; the draw depends on both.
    assert.deepEqual(buildThinkingPrompt('what causes tides', fewShot), buildThinkingPrompt('what causes tides', { ...fewShot }));
    const queries = Array.from({ length: 8 }, (_, index) => `query number ${index}`);
    const blocks = (seed: number) => queries.map((query) => (buildThinkingPrompt(query, { ...fewShot, seed }) as ChatMessage[])[1].content.split('\n\nQuery: \n')[0]);
    assert.deepEqual(blocks(0), blocks(0));
    assert.notDeepEqual(blocks(0), blocks(1), 'another seed draws other examples');
    assert.ok(new Set(blocks(0)).size > 1, 'each query draws its own examples');
    assert.equal((buildThinkingPrompt('x', { ...fewShot, exampleCount: 1 }) as ChatMessage[])[1].content.split('\n\nExamples: \n')[1].split('\n\nQuery: ')[0].split('\n').length, 2);
  });

  test('templates: {query}, {examples} and {task} filled; system default, replaced or dropped', () => {
    const template = readPromptTemplate({ user: 'Q={query}|E={examples}|T={task}' });
    const [system, user] = buildThinkingPrompt('tides', { ...zeroShot, prompt: template }) as ChatMessage[];
    assert.equal(system.content, SYSTEM, 'the official system message by default');
    assert.equal(user.content, `Q=tides|E=|T=${TASK}`);
    const withExamples = buildThinkingPrompt('tides', { ...fewShot, prompt: template }) as ChatMessage[];
    assert.match(withExamples[1].content, /^Q=tides\|E=Query: train query \d+\nResponse: positive passage \d+\n/);
    assert.deepEqual(buildThinkingPrompt('tides', { ...zeroShot, prompt: { system: '', user: 'Answer: {query}' } }), [{ role: 'user', content: 'Answer: tides' }]);
    assert.equal(buildThinkingPrompt('tides', { ...zeroShot, format: 'text', prompt: { system: 'Be brief.', user: '{query} ->' } }), 'Be brief.\n\ntides ->');
    assert.equal(readPromptTemplate(undefined), 'o1');
    assert.equal(readPromptTemplate('o1'), 'o1');
    assert.throws(() => readPromptTemplate({ user: 'no placeholder' }), isO1Error('BAD_ARGUMENT', 'prompt'));
    assert.throws(() => readPromptTemplate('chatty'), isO1Error('BAD_ARGUMENT', 'prompt'));
    // What decides a prompt decides its identity (the thought cache key).
    assert.equal(promptIdentity(fewShot), promptIdentity({ ...fewShot }));
    assert.notEqual(promptIdentity(fewShot), promptIdentity(zeroShot));
    assert.notEqual(promptIdentity(zeroShot), promptIdentity({ ...zeroShot, seed: 1 }));
    assert.notEqual(promptIdentity(zeroShot), promptIdentity({ ...zeroShot, prompt: template }));
  });
});

describe('QueryThinker', () => {
  test('splits thinking settings from the backend\'s, validates both, and recreates itself from config()', async () => {
    // The file backend rejects unknown keys, so it only accepts this config if the thinking keys are taken off.
    const thinker = await QueryThinker.create({ backend: 'file', path: thoughtsFile, thoughts: 2, temperature: 0.5, seed: 7, batchSize: 4 });
    assert.deepEqual(thinker.thinker.config(), { backend: 'file', path: thoughtsFile, missing: 'error' });
    assert.deepEqual(thinker.settings, { thoughts: 2, temperature: 0.5, topP: THINKING_DEFAULTS.topP, maxTokens: THINKING_DEFAULTS.maxTokens, seed: 7, batchSize: 4, thoughtCache: undefined });
    assert.equal(thinker.native, true);
    assert.deepEqual(await thinker.think([{ id: 'q1', text: 'do cats purr' }]), [['Cats purr.', 'Purring is a vibration.']], 'thoughts: 2 keeps two');
    const again = await QueryThinker.create(thinker.config());
    assert.deepEqual(again.settings, thinker.settings);
    assert.deepEqual(again.config(), thinker.config());
    await thinker.close();

    const defaults = await QueryThinker.create({ backend: 'file', path: thoughtsFile });
    assert.deepEqual(defaults.settings, { thoughts: 3, temperature: 0.1, topP: 0.9, maxTokens: 128, seed: 0, batchSize: 16, thoughtCache: undefined });

    await assert.rejects(QueryThinker.create({ backend: 'file', path: thoughtsFile, thougths: 2 }), /unknown setting\(s\): thougths/);
    await assert.rejects(QueryThinker.create({ backend: 'file', path: thoughtsFile, thoughts: 0 }), isO1Error('BAD_ARGUMENT', 'thoughts'));
    await assert.rejects(QueryThinker.create({ backend: 'file', path: thoughtsFile, format: 'xml' }), isO1Error('BAD_ARGUMENT', 'format'));
    await assert.rejects(QueryThinker.create({ backend: 'file', path: thoughtsFile, prompt: { user: 'no query here' } }), isO1Error('BAD_ARGUMENT', 'prompt'));
    await assert.rejects(QueryThinker.create({ backend: 'nope' }), isO1Error('UNKNOWN_BACKEND'));
    await assert.rejects(QueryThinker.create({ model: 'm' } as never), isO1Error('BAD_ARGUMENT', 'thinker'));
  });

  test('a prompted thinker gets the official prompt per query, the sampling settings, batches of batchSize; completions are trimmed', async () => {
    const scripted = new ScriptedThinker((query, sample) => (sample === 1 ? '   ' : `  thought ${sample} about ${query}\n`));
    const thinker = await QueryThinker.create({ backend: 'scripted', thoughts: 3, temperature: 0.7, topP: 0.8, maxTokens: 32, seed: 5, batchSize: 2 }, { thinker: scripted });
    assert.equal(thinker.native, false);
    const queries = ['what causes tides', 'why is the sky blue', 'what causes tides', 'how do bees fly'].map((text) => ({ text }));
    const thoughts = await thinker.think(queries);
    // The empty completion is dropped; the others lose their white space.
    assert.deepEqual(thoughts[0], ['thought 0 about what causes tides', 'thought 2 about what causes tides']);
    assert.deepEqual(thoughts[2], thoughts[0], 'an equal query is thought about once');
    assert.deepEqual(scripted.prompts, ['what causes tides', 'why is the sky blue', 'how do bees fly'].map((query) => buildThinkingPrompt(query, zeroShot)));
    assert.deepEqual(scripted.calls.map((call) => call.prompts), [2, 1]);
    for (const { options } of scripted.calls) assert.deepEqual({ ...options, signal: undefined }, { n: 3, temperature: 0.7, topP: 0.8, maxTokens: 32, seed: 5, signal: undefined });
    assert.deepEqual(thinker.statistics, { generatedQueries: 3, cachedQueries: 1 });
  });

  test('few-shot examples from a training-records file reach the prompt; a template and text format too', async () => {
    const scripted = new ScriptedThinker();
    const thinker = await QueryThinker.create({ backend: 'scripted', examples: recordsFile, exampleCount: 2, seed: 3 }, { thinker: scripted });
    await thinker.think([{ text: 'what causes tides' }]);
    assert.deepEqual(scripted.prompts, [buildThinkingPrompt('what causes tides', { prompt: 'o1', format: 'chat', examples: RECORDS, exampleCount: 2, seed: 3 })]);
    assert.equal(thinker.config().examples, recordsFile);
    assert.equal(thinker.config().exampleCount, 2);

    const templated = new ScriptedThinker();
    const withTemplate = await QueryThinker.create({ backend: 'scripted', format: 'text', prompt: { system: '', user: 'Query: \n{query}\nResponse: ' } }, { thinker: templated });
    const [[first]] = await withTemplate.think([{ text: 'sky' }]);
    assert.deepEqual(templated.prompts, ['Query: \nsky\nResponse: ']);
    assert.equal(first, 'thought 0 about sky');
    await assert.rejects(QueryThinker.create({ backend: 'scripted', examples: join(directory, 'absent.jsonl') }, { thinker: templated }), isO1Error('MISSING_FILE'));
  });

  test('the thought cache: a second call generates nothing; a JSONL cache file serves a new instance; the key holds every setting', async () => {
    const cachePath = join(directory, 'cache', 'thoughts.jsonl');
    const queries = [{ text: 'what causes tides' }, { text: 'why is the sky blue' }];
    const scripted = new ScriptedThinker();
    const first = await QueryThinker.create({ backend: 'scripted', thoughts: 2, thoughtCache: cachePath }, { thinker: scripted });
    const thoughts = await first.think(queries);
    assert.equal(scripted.calls.length, 1);
    assert.deepEqual(await first.think(queries), thoughts);
    assert.equal(scripted.calls.length, 1, 'the second call generates nothing');
    assert.deepEqual(first.statistics, { generatedQueries: 2, cachedQueries: 2 });
    assert.equal((await readFile(cachePath, 'utf8')).trim().split('\n').length, 2, 'one line per query');

    // A new instance (a later run) with a new thinker of the same identity reads the file.
    const fresh = new ScriptedThinker(() => 'never asked');
    const second = await QueryThinker.create({ backend: 'scripted', thoughts: 2, thoughtCache: cachePath }, { thinker: fresh });
    assert.deepEqual(await second.think(queries), thoughts);
    assert.equal(fresh.calls.length, 0);
    assert.deepEqual(second.statistics, { generatedQueries: 0, cachedQueries: 2 });

    // Anything that decides the thoughts is in the key: the seed, the count, the prompt, the thinker.
    for (const [config, identity] of [
      [{ seed: 1 }, 'scripted:1'], [{ thoughts: 3 }, 'scripted:1'], [{ prompt: { user: 'Q: {query}' } }, 'scripted:1'], [{}, 'scripted:2'],
    ] as const) {
      const other = new ScriptedThinker(undefined, identity);
      const thinker = await QueryThinker.create({ backend: 'scripted', thoughts: 2, thoughtCache: cachePath, ...config }, { thinker: other });
      await thinker.think([queries[0]]);
      assert.equal(other.calls.length, 1, JSON.stringify(config) + identity);
    }

    // A shared in-memory cache works across instances too.
    const cache = new ThoughtCache();
    const table = new TableThinker({ 'do cats purr': ['Yes.'] });
    await (await QueryThinker.create({ backend: 'table-test' }, { thinker: table, cache })).think([{ text: 'do cats purr' }]);
    await (await QueryThinker.create({ backend: 'table-test' }, { thinker: table, cache })).think([{ text: 'do cats purr' }]);
    assert.equal(table.calls.length, 1);
    assert.deepEqual(cache.stats, { hits: 1, misses: 1 });
  });

  test('thinkers keyed by id (the file backend) cache by id and text; a native thinker\'s thoughts are kept verbatim', async () => {
    const cache = new ThoughtCache();
    const file = await QueryThinker.create({ backend: 'file', path: thoughtsFile, missing: 'query-only' }, { cache });
    // Same text, different ids: the file answers by id, so the cache must not mix them up.
    const [byId, other] = await file.think([{ id: 'q1', text: 'same text' }, { id: 'q2', text: 'same text' }]);
    assert.deepEqual(byId, ['Cats purr.', 'Purring is a vibration.', 'Third.']);
    assert.deepEqual(other, [], 'no thoughts for q2: query-only');
    const table = new TableThinker({ tides: ['  The moon.  '] });
    const native = await QueryThinker.create({ backend: 'table-test', thoughts: 1 }, { thinker: table });
    assert.deepEqual(await native.think([{ text: 'tides' }]), [['  The moon.  ']]);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(native.think([{ text: 'not cached' }], { signal: controller.signal }), isO1Error('CANCELLED'));
    // The thinker it was given is its caller's to close.
    await native.close();
    assert.equal(table.closed, false);
  });
});
