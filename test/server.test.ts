import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createInterface } from 'node:readline';
import type { Embedder } from '../src/backends/embedder.js';
import type { Thinker } from '../src/backends/thinker.js';
import { createEmbedder, createThinker } from '../src/backends/registry.js';
import { startOpenAiServer, type RunningServer } from '../src/server/openai-server.js';
import { O1E } from './helpers/cli.js';
import { sharedTestOptions } from './helpers/shared.js';
import { STORIES_PARTS, writeStoriesGguf } from './helpers/stories-gguf.js';

const STORY_START = 'Once upon a time, there was a little girl named Lily.';

describe('our OpenAI-compatible server over stories260K (node-llama-cpp)', sharedTestOptions(...STORIES_PARTS), () => {
  let directory: string;
  let modelPath: string;
  let thinker: Thinker;
  let embedder: Embedder;
  let server: RunningServer;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1-server-'));
    modelPath = await writeStoriesGguf(directory);
    thinker = await createThinker({ backend: 'llama-cpp', model: modelPath, threads: 1, contextSize: 512, sequences: 2 });
    embedder = await createEmbedder({ backend: 'llama-cpp', model: modelPath, threads: 1, contextSize: 256 });
    server = await startOpenAiServer({ thinker, embedder, port: 0, apiKey: 'local-key' });
  });
  after(async () => {
    await server?.close();
    await thinker?.close();
    await embedder?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('in-process llama-cpp thinker: greedy text completion is the known story; seeds reproduce', async () => {
    const [[greedy]] = await thinker.generate([''], { temperature: 0, maxTokens: 16 });
    assert.ok(`${greedy}`.trimStart().startsWith('Once upon a time'), greedy);
    const [first, second] = await thinker.generate(['Once upon a time', 'Once upon a time'], { n: 2, seed: 7, maxTokens: 24, temperature: 2, topP: 1 });
    assert.deepEqual(first, second, 'same prompt and seed, same completions');
    assert.notEqual(first[0], first[1], 'completion i uses seed + i');
  });

  test('chat completion round trip through the openai thinker (API key, n, seed, stop)', async () => {
    const client = await createThinker({ backend: 'openai', baseUrl: server.url, model: thinker.model, apiKey: 'local-key' });
    const messages = [{ role: 'system' as const, content: 'You tell stories.' }, { role: 'user' as const, content: 'Tell me a story.' }];
    const [texts] = await client.generate([messages], { n: 3, maxTokens: 12, seed: 5, temperature: 0.9 });
    assert.equal(texts.length, 3);
    assert.ok(texts.some((text) => text.length > 0));
    const [again] = await client.generate([messages], { n: 3, maxTokens: 12, seed: 5, temperature: 0.9 });
    assert.deepEqual(again, texts, 'seeded requests are reproducible through the server');
    const bad = await createThinker({ backend: 'openai', baseUrl: server.url, model: thinker.model, apiKey: 'wrong', retries: 0 });
    await assert.rejects(bad.generate(['x']), /HTTP 401/);
  });

  test('text completions endpoint with several prompts and n', async () => {
    const client = await createThinker({ backend: 'openai', baseUrl: server.url, model: thinker.model, apiKey: 'local-key', endpoint: 'completions' });
    const results = await client.generate(['Once upon a time', 'Tom had a dog'], { n: 2, maxTokens: 6, temperature: 0 });
    assert.equal(results.length, 2);
    assert.ok(results.every((texts) => texts.length === 2));
    assert.equal(results[0][0], results[0][1], 'greedy: both choices agree');
    assert.ok(`Once upon a time${results[0][0]}`.startsWith(STORY_START.slice(0, 20)));
    const [[stopped]] = await client.generate(['Once upon a time'], { maxTokens: 40, temperature: 0, stop: ['Lily'] });
    // The stop string begins inside the token '▁Lily': node-llama-cpp drops that whole token.
    assert.equal(stopped.trimEnd(), ', there was a little girl named');
  });

  test('embeddings round trip: dimension, order, normalised, same as in-process', async () => {
    const client = await createEmbedder({ backend: 'openai', baseUrl: server.url, model: embedder.model, apiKey: 'local-key', batchSize: 2 });
    const texts = ['Tom and his dog', 'Lily loved the park', 'a red ball'];
    const { vectors: remote, usage } = await client.embedDocuments(texts);
    const { vectors: local, usage: localUsage } = await embedder.embedDocuments(texts);
    assert.equal(await client.dimension(), 64);
    assert.equal(usage.tokens, localUsage.tokens, 'the server reports the tokens it embedded');
    assert.ok(usage.tokens > 0);
    assert.equal(remote.length, 3);
    remote.forEach((vector, index) => {
      assert.equal(vector.length, 64);
      assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5);
      vector.forEach((value, dimension) => assert.ok(Math.abs(value - local[index][dimension]) < 1e-6));
    });
    assert.ok(server.stats.embeddedTexts >= 3);
  });

  test('models, base64 embeddings and OpenAI-shaped errors', async () => {
    const headers = { authorization: 'Bearer local-key', 'content-type': 'application/json' };
    const models = await (await fetch(`${server.url}/models`, { headers })).json() as { data: { id: string }[] };
    assert.deepEqual(models.data.map((model) => model.id), ['stories260K']);
    const base64 = await (await fetch(`${server.url}/embeddings`, { method: 'POST', headers, body: JSON.stringify({ model: 'stories260K', input: 'hi', encoding_format: 'base64' }) })).json() as { data: { embedding: string }[] };
    assert.equal(Buffer.from(base64.data[0].embedding, 'base64').length, 64 * 4);
    const cases: [string, unknown, number, string][] = [
      ['/chat/completions', { messages: [] }, 400, 'messages'],
      ['/chat/completions', { messages: [{ role: 'user', content: 'x' }], n: 0 }, 400, 'n'],
      ['/chat/completions', { messages: [{ role: 'user', content: 'x' }], stream: true }, 400, 'stream'],
      ['/embeddings', { input: [1, 2] }, 400, 'input'],
      ['/nothing', {}, 404, ''],
    ];
    for (const [path, body, status, param] of cases) {
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      assert.equal(response.status, status, path);
      const error = (await response.json() as { error: { message: string; param: string | null } }).error;
      assert.ok(error.message.length > 0);
      if (param !== '') assert.equal(error.param, param);
    }
    const broken = await fetch(`${server.url}/embeddings`, { method: 'POST', headers, body: '{not json' });
    assert.equal(broken.status, 400);
  });

  test('o1e serve: a real process serving a llama-cpp thinker, stopped by SIGTERM', async () => {
    const child = spawn(process.execPath, [...O1E, 'serve', '--port', '0', '--quiet', '--thinker', JSON.stringify({ backend: 'llama-cpp', model: modelPath, threads: 1, contextSize: 256 })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`o1e serve exited ${code}: ${stderr}`)));
    });
    const url = /listening on (\S+)/.exec(first)?.[1];
    assert.ok(url, first);
    const client = await createThinker({ backend: 'openai', baseUrl: url, model: 'stories260K', endpoint: 'completions' });
    const [[text]] = await client.generate(['Once upon a time'], { maxTokens: 8, temperature: 0 });
    assert.ok(text.startsWith(', there was'), text);
    child.kill('SIGTERM');
    const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (exitCode) => resolve([exitCode])));
    assert.equal(code, 0, stderr);
  });
});
