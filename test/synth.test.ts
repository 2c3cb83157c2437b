import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChatMessage, GenerateOptions, Thinker, ThinkerPrompt } from '../src/backends/thinker.js';
import { O1Error } from '../src/errors.js';
import { Bm25Okapi, bm25Tokenize } from '../src/synth/bm25-okapi.js';
import { Bm25Member, createCommittee, type CommitteeMember } from '../src/synth/committee.js';
import { explore, type ExploreJournalEntry } from '../src/synth/explore.js';
import { JournalWriter, readJournal } from '../src/synth/journal.js';
import { EXPLORATION_SYSTEM_MESSAGE, exampleBlock, explorationMessages, truncateCodePoints } from '../src/synth/prompts.js';
import { voteRecords } from '../src/synth/vote.js';
import { argmax, hardVote, medianVote, softmax, softVote, vote } from '../src/synth/voting.js';
import { seededRandom } from '../src/util/random.js';

let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-synth-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

const record = (index: number) => ({ query: `query ${index}`, pos: [`passage ${index}`, 'second'], neg: [`negative ${index}`], type: 'test' });

async function writeRecords(name: string, records: unknown[]): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, records.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join('\n') + '\n');
  return path;
}

async function readOutput(path: string): Promise<Record<string, unknown>[]> {
  return (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
}

describe('exploration prompt (o1-method.md §5.1, exact strings)', () => {
  test('system message and user template are the official ones, typos and whitespace included', () => {
    assert.equal(EXPLORATION_SYSTEM_MESSAGE, "You are a helpful assistant. Your anwer should be follow the task description. Do not ask the user for further clarification. Don't repeat the query, just give the response.");
    const [system, user] = explorationMessages('what is $1 & {query}?', 'Query: a\nResponse: b');
    assert.deepEqual(system, { role: 'system', content: EXPLORATION_SYSTEM_MESSAGE });
    assert.equal(user.role, 'user');
    assert.equal(user.content, 'Task: \nThink about a plausible response to address the query.\n\nExamples: \nQuery: a\nResponse: b\n\nQuery: \nwhat is $1 & {query}?\nResponse: ');
  });

  test('examples: 3 draws with replacement, pos[0] only, joined by newlines, cut to 20,480 code points', () => {
    const records = [0, 1, 2, 3].map(record);
    const block = exampleBlock(records, seededRandom(5));
    const parts = block.split('\n');
    assert.equal(parts.length, 6);
    for (let index = 0; index < 3; index++) {
      const match = /^Query: query (\d)$/.exec(parts[2 * index]);
      assert.ok(match, parts[2 * index]);
      assert.equal(parts[2 * index + 1], `Response: passage ${match[1]}`);
    }
    // With replacement: a one-record pool gives three copies.
    assert.equal(exampleBlock([record(9)], Math.random), Array(3).fill('Query: query 9\nResponse: passage 9').join('\n'));
    const long = { query: 'q', pos: ['😀'.repeat(30_000)] };
    const cut = exampleBlock([long], Math.random);
    assert.equal(Array.from(cut).length, 20_480);
    assert.equal(truncateCodePoints('a😀b', 2), 'a😀');
  });
});

describe('BM25Okapi (rank_bm25 semantics), checked by hand', () => {
  test('a term in more than half the candidates gets epsilon * average idf (average over all terms, negatives included)', () => {
    // N = 4: apple in 3 documents (idf ln(1.5) - ln(3.5) < 0), banana, cherry, date, fig, grape in 1.
    const corpus = ['Apple banana', 'apple cherry', 'apple date', 'fig grape'].map(bm25Tokenize);
    const bm25 = new Bm25Okapi(corpus);
    const rare = Math.log(3.5) - Math.log(1.5); // df 1 of 4
    const common = Math.log(1.5) - Math.log(3.5); // df 3 of 4: negative
    const average = (common + 5 * rare) / 6; // 6 terms, apple's negative idf included
    assert.ok(Math.abs(bm25.averageIdf - average) < 1e-12);
    assert.ok(Math.abs(bm25.idf.get('apple')! - 0.25 * average) < 1e-12);
    assert.ok(Math.abs(bm25.idf.get('banana')! - rare) < 1e-12);
    // Every document has 2 tokens = avgdl, so each term factor is tf * 2.5 / (tf + 1.5) = 1 for tf 1.
    const scores = bm25.getScores(bm25Tokenize('APPLE banana kiwi'));
    assert.ok(Math.abs(scores[0] - (0.25 * average + rare)) < 1e-12);
    assert.ok(Math.abs(scores[1] - 0.25 * average) < 1e-12);
    assert.equal(scores[3], 0);
  });

  test('length normalisation, repeated query terms, a zero idf, and a negative floor when most idfs are negative', () => {
    const corpus = [['the', 'cat', 'sat'], ['the', 'dog'], ['a', 'cat', 'and', 'the', 'dog', 'ran']];
    const bm25 = new Bm25Okapi(corpus);
    const idfThe = Math.log(0.5) - Math.log(3.5);
    const idfTwo = Math.log(1.5) - Math.log(2.5);
    const idfOne = Math.log(2.5) - Math.log(1.5);
    const average = (idfThe + 2 * idfTwo + 4 * idfOne) / 7;
    assert.ok(average < 0, 'here the floor itself is negative, as in rank_bm25');
    const floor = 0.25 * average;
    const avgdl = 11 / 3;
    const term = (idf: number, tf: number, length: number) => idf * (tf * 2.5) / (tf + 1.5 * (0.25 + 0.75 * length / avgdl));
    const expected = [
      2 * term(floor, 1, 3) + term(floor, 1, 3),
      2 * term(floor, 1, 2),
      2 * term(floor, 1, 6) + term(floor, 1, 6),
    ];
    const scores = bm25.getScores(['the', 'cat', 'the']);
    scores.forEach((score, index) => assert.ok(Math.abs(score - expected[index]) < 1e-12, `${score} vs ${expected[index]}`));
    // df = N/2 gives idf exactly 0, which is not floored.
    const even = new Bm25Okapi([['x'], ['x', 'y'], ['z'], ['w']]);
    assert.equal(even.idf.get('x'), 0);
    assert.deepEqual(bm25Tokenize('A  b'), ['a', '', 'b']);
  });
});

describe('committee voting', () => {
  test('soft and hard voting pick different winners on the same scores', () => {
    const scores = [[10, 0, 0], [0, 1, 1.1], [0, 1, 1.1]];
    const soft = softVote(scores);
    assert.equal(soft.winner, 0);
    const tail = softmax([0, 1, 1.1]);
    assert.ok(Math.abs(soft.tallies[0] - (softmax([10, 0, 0])[0] + 2 * tail[0])) < 1e-12);
    const hard = hardVote(scores);
    assert.deepEqual(hard, { winner: 2, tallies: [1, 0, 2] });
    assert.equal(softVote(scores, [0.1, 1, 1]).winner, 2, 'weights scale each member');
    // Median: the soft tallies, then the middle candidate by tally (here 0.809 < 0.894 < 1.297).
    const median = medianVote(scores);
    assert.deepEqual(median.tallies, soft.tallies);
    assert.equal(median.winner, 2);
    assert.equal(medianVote([[5, 5, 5]]).winner, 1, 'equal tallies keep index order');
    assert.equal(vote('median', [[1, 2, 3, 4]]).winner, 2, 'four candidates: position floor(4 / 2) of the ascending order');
  });

  test('ties go to the lowest index', () => {
    assert.equal(argmax([1, 3, 3]), 1);
    assert.deepEqual(hardVote([[1, 0, 0], [0, 1, 0]]), { winner: 0, tallies: [1, 1, 0] });
    assert.deepEqual(hardVote([[0, 2, 2], [0, 0, 1]]), { winner: 1, tallies: [0, 1, 1] });
    assert.equal(softVote([[5, 5, 1]]).winner, 0);
    assert.deepEqual(softmax([1000, 1000]), [0.5, 0.5]);
  });

  test('voteRecords writes thought and model2scores, first positive only', async () => {
    const fixed: CommitteeMember = {
      name: 'fixed', weight: 1, close: async () => undefined,
      score: async (items) => items.map(({ candidates }) => candidates.map((_, index) => (index === 2 ? 1 : 0))),
    };
    const input = await writeRecords('explored.jsonl', [
      { ...record(1), pos: ['the red cat', 'ignored ignored'], all_thought: ['a dog', 'the red cat sat', 'red'] },
      { ...record(2), pos: ['green tea'], all_thought: ['coffee', 'green tea', 'tea'] },
    ]);
    const out = join(directory, 'voted.jsonl');
    const summary = await voteRecords({ records: input, out, members: [new Bm25Member(), fixed], voting: 'hard', quiet: true });
    const voted = await readOutput(out);
    assert.equal(summary.records, 2);
    // bm25 votes for candidate 1 in both records, fixed for 2: a 1-1 tie, lowest index wins.
    assert.deepEqual(voted.map((item) => item.thought), ['the red cat sat', 'green tea']);
    const scores = voted[0].model2scores as Record<string, number[]>;
    assert.deepEqual(Object.keys(scores), ['bm25', 'fixed']);
    assert.deepEqual(scores.bm25, new Bm25Okapi([['a', 'dog'], ['the', 'red', 'cat', 'sat'], ['red']]).getScores(['the', 'red', 'cat']));
    assert.equal(voted[0].type, 'test', 'other fields kept');
    await assert.rejects(createCommittee({ members: [{ type: 'bm25' }, { type: 'bm25' }] }), /two committee members are named "bm25"/);
    const missing = await writeRecords('unexplored.jsonl', [record(1)]);
    await assert.rejects(voteRecords({ records: missing, out, members: [new Bm25Member()], quiet: true }), (error: unknown) => error instanceof O1Error && error.location.field === 'all_thought' && error.location.line === 1);
  });

  test('voteRecords resumes from its journal after a failure: finished batches are not scored again, the output is the same', async () => {
    const records = Array.from({ length: 7 }, (_, index) => ({ ...record(index), all_thought: [`a ${index}`, `passage ${index}`, 'b'] }));
    const input = await writeRecords('to-vote.jsonl', records);
    const reference = join(directory, 'voted-reference.jsonl');
    await voteRecords({ records: input, out: reference, members: [new Bm25Member()], batchSize: 2, quiet: true });
    assert.ok(!existsSync(`${reference}.journal`), 'the journal is removed once the output is written');

    const out = join(directory, 'voted-resumed.jsonl');
    let calls = 0;
    const bm25 = new Bm25Member();
    // Fails on its third batch, as a remote embedder might; two batches (4 records) are journalled.
    const flaky: CommitteeMember = { name: 'bm25', weight: 1, close: async () => undefined, score: async (items) => {
      calls += 1;
      if (calls === 3) throw new Error('server went away');
      return bm25.score(items);
    } };
    await assert.rejects(voteRecords({ records: input, out, members: [flaky], batchSize: 2, quiet: true }), /server went away/);
    assert.ok(!existsSync(out), 'no partial output');
    assert.equal((await readFile(`${out}.journal`, 'utf8')).trim().split('\n').length, 4);
    const scoredAgain: number[] = [];
    const counting: CommitteeMember = { name: 'bm25', weight: 1, close: async () => undefined, score: async (items) => {
      scoredAgain.push(items.length);
      return bm25.score(items);
    } };
    const summary = await voteRecords({ records: input, out, members: [counting], batchSize: 2, quiet: true });
    assert.equal(summary.reused, 4);
    assert.deepEqual(scoredAgain, [2, 1]);
    assert.equal(await readFile(out, 'utf8'), await readFile(reference, 'utf8'));
    // A journal made by another committee is not reused.
    await voteRecords({ records: input, out: join(directory, 'other.jsonl'), members: [flaky], batchSize: 2, quiet: true }).catch(() => undefined);
    const renamed: CommitteeMember = { ...counting, name: 'other' };
    assert.equal((await voteRecords({ records: input, out: join(directory, 'other.jsonl'), members: [renamed], batchSize: 2, quiet: true })).reused, 0);
  });
});

describe('journal', () => {
  test('group-committed appends; a torn last line is ignored and cut off before new lines', async () => {
    const path = join(directory, 'test.journal');
    const writer = await JournalWriter.open<{ n: number }>(path);
    await Promise.all([1, 2, 3].map((n) => writer.append({ n })));
    await writer.close();
    await appendFile(path, '{"n": 4, "tor');
    const contents = await readJournal<{ n: number }>(path);
    assert.deepEqual(contents.entries.map((entry) => entry.n), [1, 2, 3]);
    assert.ok(contents.tornBytes > 0);
    const again = await JournalWriter.open<{ n: number }>(path, contents.validBytes);
    await again.append({ n: 5 });
    await again.close();
    assert.deepEqual((await readJournal<{ n: number }>(path)).entries.map((entry) => entry.n), [1, 2, 3, 5]);
  });
});

/** A scripted thinker: answers `thought for <query>`, or '' for prompts `empty` says so; records prompts. */
class ScriptedThinker implements Thinker {
  readonly backend = 'scripted';
  readonly model = 'scripted';
  readonly identity = 'scripted';
  readonly prompts: ChatMessage[][] = [];
  readonly options: GenerateOptions[] = [];
  constructor(private readonly empty: (query: string, call: number) => boolean = () => false, private readonly failAfter = Infinity) {}
  async generate(prompts: readonly ThinkerPrompt[], options: GenerateOptions = {}): Promise<string[][]> {
    return prompts.map((prompt) => {
      const messages = prompt as ChatMessage[];
      this.prompts.push(messages);
      this.options.push(options);
      if (this.prompts.length > this.failAfter) throw new O1Error('HTTP_ERROR', 'server went away');
      const query = /Query: \n(.*)\nResponse: $/s.exec(messages[1].content)![1];
      return [this.empty(query, this.prompts.length) ? '  ' : `thought ${this.prompts.length} for ${query}`];
    });
  }
  config() { return { backend: 'scripted' }; }
  async close() {}
}

describe('synth explore (in-process)', () => {
  test('every candidate is generated for its own query with re-drawn examples; output in order', async () => {
    const input = await writeRecords('records.jsonl', [record(0), '', record(1), record(2)]);
    const out = join(directory, 'explored-order.jsonl');
    const thinker = new ScriptedThinker();
    const summary = await explore({ records: input, out, thinker, concurrency: 3, seed: 11, maxTokens: 64, quiet: true });
    assert.equal(summary.generated, 9);
    const written = await readOutput(out);
    assert.deepEqual(written.map((item) => item.query), ['query 0', 'query 1', 'query 2']);
    for (const item of written) {
      const thoughts = item.all_thought as string[];
      assert.equal(thoughts.length, 3);
      assert.ok(thoughts.every((thought) => thought.endsWith(`for ${item.query}`)), 'no cross-query candidates');
      assert.deepEqual(item.neg, [`negative ${String(item.query).slice(6)}`]);
    }
    const examplesOfQuery0 = thinker.prompts.filter((messages) => messages[1].content.endsWith('query 0\nResponse: ')).map((messages) => messages[1].content);
    assert.equal(examplesOfQuery0.length, 3);
    assert.ok(new Set(examplesOfQuery0).size > 1, 'examples are re-drawn per candidate');
    assert.ok(thinker.options.every((options) => options.maxTokens === 64 && options.n === 1 && options.seed !== undefined && options.temperature === undefined));
    assert.ok(!existsSync(`${out}.journal`), 'journal removed once the output is written');
    // The same seed draws the same examples.
    const again = new ScriptedThinker();
    await explore({ records: input, out, thinker: again, concurrency: 1, seed: 11, quiet: true });
    assert.deepEqual(new Set(again.prompts.map((messages) => messages[1].content)), new Set(thinker.prompts.map((messages) => messages[1].content)));
  });

  test('empty generations are retried, then the record is dropped with a warning and counted', async () => {
    const input = await writeRecords('records-empty.jsonl', [record(0), record(1), record(2)]);
    const out = join(directory, 'explored-empty.jsonl');
    const warnings: string[] = [];
    // query 1 always empty; query 2 empty on its first try only.
    const seen = new Set<string>();
    const thinker = new ScriptedThinker((query) => {
      if (query === 'query 1') return true;
      if (query === 'query 2' && !seen.has(query)) { seen.add(query); return true; }
      return false;
    });
    const summary = await explore({ records: input, out, thinker, concurrency: 1, attempts: 2, quiet: true, warn: (message) => warnings.push(message) });
    assert.equal(summary.dropped, 1);
    assert.deepEqual(summary.droppedLines, [2]);
    assert.equal(summary.written, 2);
    assert.ok(summary.emptyGenerations >= 3);
    assert.deepEqual((await readOutput(out)).map((item) => item.query), ['query 0', 'query 2']);
    assert.ok(warnings.some((warning) => warning.includes(`${input}:2`)), warnings.join('\n'));
  });

  test('bad records fail before any generation with file and line', async () => {
    const thinker = new ScriptedThinker();
    const out = join(directory, 'never.jsonl');
    for (const [bad, field] of [[{ query: 'q' }, 'pos'], [{ query: '  ', pos: ['p'] }, 'query'], [{ query: 'q', pos: [] }, 'pos']] as const) {
      const input = await writeRecords('bad.jsonl', [record(0), bad]);
      await assert.rejects(explore({ records: input, out, thinker, quiet: true }), (error: unknown) => {
        assert.ok(error instanceof O1Error && error.code === 'MISSING_FIELD', String(error));
        assert.deepEqual(error.location, { file: input, line: 2, field });
        return true;
      });
    }
    const broken = await writeRecords('broken.jsonl', [record(0), '{"query": ']);
    await assert.rejects(explore({ records: broken, out, thinker, quiet: true }), (error: unknown) => error instanceof O1Error && error.code === 'MALFORMED_JSON' && error.location.line === 2);
    assert.equal(thinker.prompts.length, 0);
    assert.ok(!existsSync(`${out}.journal`));
  });

  test('a failing server stops the run; the journal keeps finished candidates and a re-run resumes', async () => {
    const input = await writeRecords('records-resume.jsonl', [0, 1, 2, 3].map(record));
    const out = join(directory, 'explored-resume.jsonl');
    await assert.rejects(explore({ records: input, out, thinker: new ScriptedThinker(() => false, 5), concurrency: 1, seed: 3, quiet: true }), /server went away/);
    const journal = await readJournal<ExploreJournalEntry>(`${out}.journal`);
    assert.equal(journal.entries.length, 5);
    await appendFile(`${out}.journal`, '{"record": 3, "candid'); // a torn write from a kill
    const resumed = new ScriptedThinker();
    const summary = await explore({ records: input, out, thinker: resumed, concurrency: 2, seed: 3, quiet: true });
    assert.equal(summary.reused, 5);
    assert.equal(summary.generated, 7);
    assert.equal(resumed.prompts.length, 7);
    const written = await readOutput(out);
    assert.deepEqual(written[0].all_thought, ['thought 1 for query 0', 'thought 2 for query 0', 'thought 3 for query 0']);
    assert.equal((written[1].all_thought as string[])[1], 'thought 5 for query 1');
  });
});
