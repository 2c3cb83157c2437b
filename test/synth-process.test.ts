/**
 * `o1e synth explore` and `o1e synth vote` as real processes against our real server serving
 * stories260K through node-llama-cpp: explore is SIGKILLed at random moments and re-run until done.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Embedder } from '../src/backends/embedder.js';
import type { Thinker } from '../src/backends/thinker.js';
import { createEmbedder, createThinker } from '../src/backends/registry.js';
import { startServer as startOpenAiServer, type RunningServer } from '../src/server/server.js';
import { cosine } from '../src/synth/committee.js';
import { Bm25Okapi, bm25Tokenize } from '../src/synth/bm25-okapi.js';
import { softVote } from '../src/synth/voting.js';
import { O1E } from './helpers/cli.js';
import { sharedTestOptions } from './helpers/shared.js';
import { STORIES_PARTS, writeStoriesGguf } from './helpers/stories-gguf.js';

// Short records keep prompts short: llama.cpp's prefill dominates the cost of this tiny model.
const TOPICS = ['red ball', 'big dog', 'park', 'boat', 'frog', 'tree', 'star', 'bird'];
const RECORDS = TOPICS.map((topic, index) => ({
  query: topic,
  pos: [`Lily saw a ${topic}.`],
  neg: [`Tom ran ${index} times.`],
  id: index,
}));

interface JournalLine { record: number; candidate?: number; thought?: string; dropped?: boolean }

function journalLines(path: string): JournalLine[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

function o1e(args: string[]): { child: ChildProcess; output: () => { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [...O1E, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => { stdout += chunk; });
  child.stderr!.on('data', (chunk) => { stderr += chunk; });
  return { child, output: () => ({ stdout, stderr }) };
}

describe('o1e synth as real processes against a real local model server', sharedTestOptions(...STORIES_PARTS), () => {
  let directory: string;
  let thinker: Thinker;
  let embedder: Embedder;
  let server: RunningServer;
  let recordsPath: string;
  let explored: string;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1-synth-process-'));
    const modelPath = await writeStoriesGguf(directory);
    thinker = await createThinker({ backend: 'llama-cpp', model: modelPath, threads: 1, contextSize: 512, sequences: 2 });
    embedder = await createEmbedder({ backend: 'llama-cpp', model: modelPath, threads: 1, contextSize: 128 });
    server = await startOpenAiServer({ thinker, embedder, port: 0 });
    recordsPath = join(directory, 'records.jsonl');
    await writeFile(recordsPath, RECORDS.map((record) => JSON.stringify(record)).join('\n') + '\n');
    explored = join(directory, 'explored.jsonl');
  });
  after(async () => {
    await server?.close();
    await thinker?.close();
    await embedder?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('explore survives SIGKILL at random moments: every record once, 3 candidates, in order, journal reused', async () => {
    const journal = `${explored}.journal`;
    const thinkerConfig = JSON.stringify({ backend: 'openai', baseUrl: server.url, model: 'stories260K', backoffMs: 10, concurrency: 2 });
    const args = ['synth', 'explore', '--records', recordsPath, '--out', explored, '--thinker', thinkerConfig,
      '--concurrency', '2', '--max-tokens', '12', '--temperature', '1', '--attempts', '6', '--seed', '7', '--json'];
    const total = RECORDS.length * 3;
    const persisted = new Map<string, string>(); // "record/candidate" -> thought, as on disk after each kill
    let kills = 0;
    for (let round = 0; round < 3; round++) {
      const before = journalLines(journal).length;
      const target = before + 1 + Math.floor(Math.random() * 4);
      if (target >= total - 2) break;
      const { child } = o1e(args);
      const exit = exited(child);
      // Kill once the journal has grown to the target (polled), or give up if it finished.
      while (journalLines(journal).length < target && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 5));
      if (child.exitCode !== null) break;
      child.kill('SIGKILL');
      assert.equal((await exit).signal, 'SIGKILL');
      kills += 1;
      const lines = journalLines(journal);
      assert.ok(lines.length >= target);
      for (const line of lines) if (line.thought !== undefined) persisted.set(`${line.record}/${line.candidate}`, line.thought);
      assert.ok(!existsSync(explored), 'no output before every record is done');
    }
    assert.ok(kills >= 1, 'killed at least once');
    const completionsBefore = server.stats.completions;
    const emptyBefore = server.stats.emptyCompletions;
    const { child, output } = o1e(args);
    const { code } = await exited(child);
    assert.equal(code, 0, output().stderr);
    const summary = JSON.parse(output().stdout.trim());
    assert.equal(summary.records, RECORDS.length);
    assert.equal(summary.dropped, 0);
    assert.ok(summary.reused >= persisted.size, 'the last run reused the journal');
    assert.equal(summary.generated, total - summary.reused);
    const lastRunServed = server.stats.completions - completionsBefore - (server.stats.emptyCompletions - emptyBefore);
    assert.equal(lastRunServed, total - summary.reused, 'the last run asked the server only for what was missing');
    assert.ok(!existsSync(journal), 'journal removed after the output was written');

    const written = (await readFile(explored, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(written.map((record) => record.id), RECORDS.map((record) => record.id), 'each record once, in input order');
    for (const record of written) {
      assert.equal(record.all_thought.length, 3);
      assert.ok(record.all_thought.every((thought: string) => typeof thought === 'string' && thought.trim() !== ''));
      assert.deepEqual(record.pos, RECORDS[record.id].pos);
    }
    for (const [key, thought] of persisted) {
      const [record, candidate] = key.split('/').map(Number);
      assert.equal(written[record].all_thought[candidate], thought, `journal entry ${key} reused, not regenerated`);
    }
    // Non-empty completions served over all runs: the 30 kept, plus at most the in-flight ones lost per kill.
    const served = server.stats.completions - server.stats.emptyCompletions;
    assert.ok(served >= total && served <= total + 2 * kills, `${served} completions for ${total} thoughts and ${kills} kills`);
  });

  test('vote: BM25Okapi and a dense member through the HTTP embedder, soft voting', { timeout: 30_000 }, async () => {
    assert.ok(existsSync(explored), 'runs after the explore test');
    const voted = join(directory, 'voted.jsonl');
    const committee = JSON.stringify({
      members: [{ type: 'bm25' }, { name: 'stories', embedder: { backend: 'openai', baseUrl: server.url, model: 'stories260K', batchSize: 8 } }],
    });
    const { child, output } = o1e(['synth', 'vote', '--records', explored, '--out', voted, '--committee', committee, '--batch-size', '4', '--json']);
    const { code } = await exited(child);
    assert.equal(code, 0, output().stderr);
    const summary = JSON.parse(output().stdout.trim());
    assert.deepEqual(summary.members, ['bm25', 'stories']);
    assert.equal(summary.voting, 'soft');
    const input = (await readFile(explored, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    const records = (await readFile(voted, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(records.length, RECORDS.length);
    for (const [index, record] of records.entries()) {
      assert.deepEqual(record.all_thought, input[index].all_thought);
      const candidates: string[] = record.all_thought;
      const bm25 = new Bm25Okapi(candidates.map(bm25Tokenize)).getScores(bm25Tokenize(record.pos[0]));
      assert.deepEqual(record.model2scores.bm25, bm25);
      const [positive, ...vectors] = (await embedder.embedDocuments([record.pos[0], ...candidates])).vectors;
      record.model2scores.stories.forEach((score: number, candidate: number) => assert.ok(Math.abs(score - 100 * cosine(positive, vectors[candidate])) < 1e-3));
      assert.equal(record.thought, candidates[softVote([bm25, record.model2scores.stories]).winner]);
    }
  });
});
