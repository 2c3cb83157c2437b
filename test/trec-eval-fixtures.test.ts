/**
 * Reproduces every value trec_eval 9.0.8 printed for ../shared/fixtures/trec_eval (13 cases,
 * per query and `all`), to the 4th decimal as printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readQrels, readRun } from '../src/data/trec.js';
import { evaluate, formatTrecValue } from '../src/evaluation/index.js';
import { trecEvalCommand } from '../src/cli/commands/trec-eval.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';

interface FixtureCase {
  args: string[];
  qrels: string;
  run: string;
  perQuery: Record<string, Record<string, number>>;
  all: Record<string, number>;
}

const FIXTURES = ['fixtures', 'trec_eval'] as const;
const EXPECTED = [...FIXTURES, 'expected.json'] as const;
const CASE_NAMES = [
  'nfcorpus-deep', 'nfcorpus-missing-c', 'nfcorpus-missing-noc', 'nfcorpus-mrr10', 'nfcorpus-plain',
  'nfcorpus-relevance-level-2', 'nfcorpus-ties', 'scifact-deep', 'scifact-missing-c', 'scifact-missing-noc',
  'scifact-mrr10', 'scifact-plain', 'scifact-ties',
];

let expectedCache: Record<string, FixtureCase> | undefined;
function expectedCases(): Record<string, FixtureCase> {
  expectedCache ??= JSON.parse(readFileSync(sharedPath(...EXPECTED), 'utf8')) as Record<string, FixtureCase>;
  return expectedCache;
}

/** The trec_eval arguments of a case as evaluate() options. */
function optionsOf(args: string[]) {
  const measures: string[] = [];
  let complete = false;
  let relevanceLevel: number | undefined;
  let maxDocuments: number | undefined;
  for (let index = 0; index < args.length; index++) {
    const argument = args[index];
    if (argument === '-m') measures.push(args[++index]);
    else if (argument === '-c') complete = true;
    else if (argument === '-l') relevanceLevel = Number(args[++index]);
    else if (argument === '-M') maxDocuments = Number(args[++index]);
    else throw new Error(`unexpected trec_eval argument ${argument}`);
  }
  return { measures, complete, relevanceLevel, maxDocuments };
}

test('expected.json holds the 13 documented cases', sharedTestOptions(...EXPECTED), () => {
  assert.deepEqual(Object.keys(expectedCases()).sort(), [...CASE_NAMES].sort());
});

for (const name of CASE_NAMES) {
  test(`trec_eval fixture ${name}: every per-query and average value`, sharedTestOptions(...EXPECTED), async () => {
    const fixture = expectedCases()[name];
    const qrels = await readQrels(sharedPath(...FIXTURES, fixture.qrels));
    const run = await readRun(sharedPath(...FIXTURES, fixture.run), { queries: qrels });
    const result = evaluate(qrels, run, optionsOf(fixture.args));

    assert.deepEqual([...result.measures].sort(), Object.keys(fixture.all).sort());
    const mismatches: string[] = [];
    let compared = 0;
    for (const [measure, values] of Object.entries(fixture.perQuery)) {
      const mine = result.perQuery.get(measure);
      assert.equal(mine?.size, Object.keys(values).length, `${measure}: number of queries`);
      for (const [queryId, value] of Object.entries(values)) {
        compared++;
        const actual = mine?.get(queryId);
        if (actual === undefined || formatTrecValue(actual).trim() !== value.toFixed(4)) mismatches.push(`${measure} ${queryId}: ${actual} vs ${value}`);
      }
    }
    for (const [measure, value] of Object.entries(fixture.all)) {
      compared++;
      if (formatTrecValue(result.all[measure]).trim() !== value.toFixed(4)) mismatches.push(`${measure} all: ${result.all[measure]} vs ${value}`);
    }
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} values differ`);
    assert.ok(compared > 300);
  });
}

/** Runs a command, capturing what it writes to stdout as text (the test runner's own binary messages pass through). */
async function captureStdout(body: () => Promise<number>): Promise<{ code: number; output: string }> {
  const chunks: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string') {
      chunks.push(chunk);
      return true;
    }
    return (original as (...parameters: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  try {
    const code = await body();
    return { code, output: chunks.join('') };
  } finally {
    process.stdout.write = original;
  }
}

test('o1e trec-eval -q -c prints the lines trec_eval printed', sharedTestOptions(...EXPECTED), async () => {
  const fixture = expectedCases()['scifact-missing-c'];
  const { code, output } = await captureStdout(() => trecEvalCommand.run([
    '-q', ...fixture.args, sharedPath(...FIXTURES, fixture.qrels), sharedPath(...FIXTURES, fixture.run),
  ]));
  assert.equal(code, 0);

  // trec_eval's order: queries by strcmp, each with its measures in trec_eval's table order, then `all`.
  const order = ['recip_rank', 'P_10', 'recall_10', 'recall_100', 'recall_1000', 'ndcg_cut_10', 'ndcg_cut_100', 'map_cut_10', 'map_cut_100'];
  const queries = Object.keys(fixture.perQuery.recip_rank).sort((left, right) => Buffer.compare(Buffer.from(left), Buffer.from(right)));
  const line = (measure: string, queryId: string, value: number) => `${measure.padEnd(22)}\t${queryId}\t${value.toFixed(4)}`;
  const expected: string[] = [];
  for (const queryId of queries) for (const measure of order) expected.push(line(measure, queryId, fixture.perQuery[measure][queryId]));
  for (const measure of order) expected.push(line(measure, 'all', fixture.all[measure]));
  assert.deepEqual(output.split('\n'), [...expected, '']);
});

test('o1e trec-eval -M 10 -m recip_rank without -q prints only the average', sharedTestOptions(...EXPECTED), async () => {
  const fixture = expectedCases()['nfcorpus-mrr10'];
  const { code, output } = await captureStdout(() => trecEvalCommand.run([
    '-M10', '-m', 'recip_rank', sharedPath(...FIXTURES, fixture.qrels), sharedPath(...FIXTURES, fixture.run),
  ]));
  assert.equal(code, 0);
  assert.equal(output, `recip_rank            \tall\t${fixture.all.recip_rank.toFixed(4)}\n`);
});
