import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createInterface } from 'node:readline';
import { OpenAIEmbeddings } from '@langchain/openai';
import OpenAI from 'openai';
import type { DocumentInput, EmbedOptions, Embedder } from '../src/backends/embedder.js';
import type { Thinker } from '../src/backends/thinker.js';
import { createEmbedder, createThinker } from '../src/backends/registry.js';
import { createRetriever } from '../src/retrieval/registry.js';
import { writeCorpus } from '../src/data/beir.js';
import { aggregateThoughtVectors } from '../src/retrieval/dense/dense-retriever.js';
import { parseByteSize } from '../src/cli/commands/serve.js';
import { apportion } from '../src/server/embedding-service.js';
import { Counter, Gauge, Histogram, MetricsRegistry } from '../src/server/metrics.js';
import { startServer as startOpenAiServer } from '../src/server/server.js';
import { buildSearchSource } from '../src/server/search.js';
import { ApiKeys, apiKeysFromEnvironment, corsHeaders } from '../src/server/security.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { snippet } from '../src/server/snippet.js';
import { HttpProblem } from '../src/server/problems.js';
import { ServerThinking } from '../src/server/thinking.js';
import { QueryThinker } from '../src/thinking/query-thinker.js';
import { O1E, ROOT } from './helpers/cli.js';
import { TINY_DOCUMENTS } from './helpers/o1-fixtures.js';
import { sharedTestOptions } from './helpers/shared.js';
import { STORIES_PARTS, writeStoriesGguf } from './helpers/stories-gguf.js';

const O1_SMALL = join(ROOT, 'models', 'o1-small');
/** Thinking kept short so the suite stays fast: 2 thoughts of at most 6 tokens. */
const THINKING = { thoughts: 2, maxTokens: 6, seed: 0 };
const DOCUMENT_TEXTS = TINY_DOCUMENTS.map((document) => `${document.title} ${document.text}`.trim());

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

async function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), signal });
}

/** Asserts an OpenAI-shaped error answer and returns its body. */
async function expectError(response: Response, status: number, param?: string | null): Promise<ErrorBody['error']> {
  assert.equal(response.status, status, `status ${response.status}: ${await response.clone().text()}`);
  const body = await response.json() as ErrorBody;
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.ok(body.error.message.length > 0);
  if (param !== undefined) assert.equal(body.error.param, param);
  return body.error;
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let index = 0; index < expected.length; index++) assert.ok(Math.abs(actual[index] - expected[index]) <= tolerance, `${what}[${index}]: ${actual[index]} vs ${expected[index]}`);
}

/** One series' count and sum from a Prometheus histogram in /metrics text. */
function histogram(text: string, name: string, labels: string): { count: number; sum: number } {
  const read = (suffix: string): number => Number(new RegExp(`^${name}_${suffix}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: read('count'), sum: read('sum') };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 1000; tries++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/**
 * The real embedder behind a gate the test opens and closes, recording what reaches it, so a
 * test can hold a batch in the model while it disconnects, times out or shuts down.
 */
function gatedEmbedder(inner: Embedder) {
  let open = true;
  let waiters: (() => void)[] = [];
  const seen: string[][] = [];
  const signals: (AbortSignal | undefined)[] = [];
  const embedder: Embedder = {
    backend: inner.backend,
    model: inner.model,
    identity: inner.identity,
    dimension: () => inner.dimension(),
    embedQueries: (queries, options) => inner.embedQueries(queries, options),
    async embedDocuments(documents: readonly DocumentInput[], options?: EmbedOptions) {
      seen.push(documents.map((document) => (typeof document === 'string' ? document : document.text)));
      signals.push(options?.signal);
      if (!open) await new Promise<void>((resolve) => waiters.push(resolve));
      return inner.embedDocuments(documents, options);
    },
    config: () => inner.config(),
    close: async () => undefined,
  };
  return {
    embedder,
    seen,
    signals,
    shut: () => { open = false; },
    open: () => {
      open = true;
      for (const resolve of waiters) resolve();
      waiters = [];
    },
  };
}

describe('server parts: token shares, API keys, CORS, snippets, sizes, metrics', () => {
  test('apportion shares a batch\'s tokens by length and keeps the total', () => {
    assert.deepEqual(apportion(10, [1, 1, 2]), [3, 2, 5]);
    assert.deepEqual(apportion(7, [5]), [7]);
    assert.deepEqual(apportion(3, [0, 0]), [2, 1]);
    assert.equal(apportion(1001, [3, 17, 5, 9]).reduce((sum, share) => sum + share, 0), 1001);
  });

  test('API keys: any of several, Bearer only, from a comma-separated environment variable', () => {
    const keys = new ApiKeys(['key-one', 'key-two']);
    assert.equal(keys.accepts('Bearer key-one'), true);
    assert.equal(keys.accepts('bearer key-two'), true);
    assert.equal(keys.accepts('Bearer key-three'), false);
    assert.equal(keys.accepts('Bearer key-on'), false, 'a prefix of a key is not the key');
    assert.equal(keys.accepts('key-one'), false, 'the Bearer scheme is required');
    assert.equal(keys.accepts(undefined), false);
    assert.throws(() => new ApiKeys([]), /at least one/);
    assert.deepEqual(apiKeysFromEnvironment('KEYS', { KEYS: ' one, two ,,' }), ['one', 'two']);
    assert.throws(() => apiKeysFromEnvironment('KEYS', {}), /not set/);
    assert.throws(() => apiKeysFromEnvironment('KEYS', { KEYS: ' , ' }), /empty/);
  });

  test('CORS headers only for the configured origin (or *), and nothing when off', () => {
    assert.deepEqual(corsHeaders(undefined, 'https://a.example'), {});
    assert.deepEqual(corsHeaders('https://a.example', 'https://b.example'), {});
    assert.deepEqual(corsHeaders('https://a.example', 'https://a.example'), { 'access-control-allow-origin': 'https://a.example', vary: 'Origin' });
    const preflight = corsHeaders('*', 'https://b.example', { requestHeaders: 'authorization, x-stainless-os' });
    assert.equal(preflight['access-control-allow-origin'], '*');
    assert.equal(preflight['access-control-allow-headers'], 'authorization, x-stainless-os');
    assert.match(preflight['access-control-allow-methods'], /POST/);
  });

  test('snippets: the window with the most query terms, matched as BM25 matches (stems), cut at words', () => {
    const text = 'Dogs bark at night. Many owners complain. Cats, however, are small furry animals that purr when they are happy and sleep most of the day.';
    const found = snippet(text, 'do cats purr', { maxChars: 60 });
    assert.ok(found.includes('Cats') && found.includes('purr'), found);
    assert.ok(found.startsWith('…') && found.endsWith('…'), found);
    assert.ok(found.length <= 62, found);
    assert.ok(snippet(text, 'sleeping', { maxChars: 200 }).includes('sleep'), 'stems match');
    assert.equal(snippet(text, 'zebra', { maxChars: 20 }), 'Dogs bark at night…');
    assert.equal(snippet('short', 'anything'), 'short');
  });

  test('ServerThinking: concurrent queries are thought about in one batch; a query thought before is answered while a batch runs', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'o1-thinking-'));
    const path = join(directory, 'thoughts.jsonl');
    await writeFile(path, ['alpha', 'beta', 'gamma'].map((query) => JSON.stringify({ query, thoughts: [`${query} thought`] })).join('\n'));
    const file = await createThinker({ backend: 'file', path });
    let open = true;
    let release: () => void = () => undefined;
    const calls: string[][] = [];
    // The file thinker behind a gate, so a batch can be held while the test asks again.
    const gated: Thinker = {
      backend: file.backend, model: file.model, identity: file.identity, keyedById: file.keyedById,
      async think(queries, options) {
        calls.push(queries.map((query) => query.text));
        if (!open) await new Promise<void>((resolve) => { release = resolve; });
        return file.think!(queries, options);
      },
      generate: (prompts, options) => file.generate(prompts, options),
      config: () => file.config(),
      close: () => file.close(),
    };
    const thinking = new ServerThinking(await QueryThinker.create({ backend: 'file', path }, { thinker: gated }), { maxWaitMs: 20 });
    try {
      const request = thinking.parse({});
      const [first, second] = await Promise.all([thinking.think(['alpha'], request), thinking.think(['beta', 'alpha'], request)]);
      assert.deepEqual(first, [['alpha thought']]);
      assert.deepEqual(second, [['beta thought'], ['alpha thought']]);
      assert.deepEqual(calls, [['alpha', 'beta']], 'one thinker call for both requests, each query once');
      open = false;
      const held = thinking.think(['gamma'], request);
      await until(() => calls.length === 2, 'the held batch');
      assert.deepEqual(await thinking.think(['beta'], request), [['beta thought']], 'answered without waiting for the held batch');
      release();
      assert.deepEqual(await held, [['gamma thought']]);
      assert.deepEqual(await thinking.think(['alpha'], thinking.parse({ thoughts: 0 })), [[]]);
      assert.throws(() => thinking.parse({ thoughts: 17 }), /'thoughts' must be an integer from 0 to 16/);
      assert.throws(() => thinking.parse({ top_p: 0 }, 'thinker.'), (error: unknown) => error instanceof HttpProblem && error.param === 'thinker.top_p');
    } finally {
      await thinking.close();
      await thinking.base.close();
      await file.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  test('sizes and the Prometheus text format', () => {
    assert.equal(parseByteSize('16MiB', 'body-limit'), 16 * 1024 * 1024);
    assert.equal(parseByteSize('512k', 'body-limit'), 512 * 1024);
    assert.equal(parseByteSize('1000', 'body-limit'), 1000);
    assert.throws(() => parseByteSize('lots', 'body-limit'), /--body-limit/);
    const registry = new MetricsRegistry();
    registry.add(new Counter('requests_total', 'Requests')).inc({ route: '/a "b"' }, 2);
    registry.add(new Gauge('depth', 'Depth', () => [{ labels: { queue: 'q' }, value: 3 }]));
    registry.add(new Histogram('size', 'Sizes', [1, 4])).observe(2);
    assert.equal(registry.render(), [
      '# HELP requests_total Requests', '# TYPE requests_total counter', 'requests_total{route="/a \\"b\\""} 2',
      '# HELP depth Depth', '# TYPE depth gauge', 'depth{queue="q"} 3',
      '# HELP size Sizes', '# TYPE size histogram', 'size_bucket{le="1"} 0', 'size_bucket{le="4"} 1', 'size_bucket{le="+Inf"} 1', 'size_sum 2', 'size_count 1',
    ].join('\n') + '\n');
  });
});

describe('the Fastify server on o1-small: OpenAI and LangChain clients, thinking embeddings, search, batching, limits', () => {
  let directory: string;
  let queryThinker: QueryThinker;
  let embedder: Embedder;
  let server: RunningServer;
  const keys = ['key-one', 'key-two'];
  const auth = { authorization: 'Bearer key-two' };

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1-serve-'));
    queryThinker = await QueryThinker.create({ backend: 'engine', model: O1_SMALL, threads: 1, ...THINKING });
    embedder = await createEmbedder({ backend: 'engine', model: O1_SMALL, threads: 1 });
    server = await startServer({
      thinker: queryThinker.thinker, queryThinker, embedder, apiKey: keys, maxWaitMs: 30,
      search: (parts) => buildSearchSource({ retriever: { retriever: 'bm25' }, corpus: TINY_DOCUMENTS, embedder: parts.embedder, quiet: true }),
    });
  });
  after(async () => {
    await server?.close();
    await queryThinker?.close();
    await embedder?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('openai embeddings.create, float and the default base64: the in-process vectors and token counts', async () => {
    const client = new OpenAI({ baseURL: server.url, apiKey: 'key-one', maxRetries: 0 });
    const local = await embedder.embedDocuments(DOCUMENT_TEXTS);
    const asFloat = await client.embeddings.create({ model: 'o1-small', input: DOCUMENT_TEXTS, encoding_format: 'float' });
    // No encoding_format: the client asks for base64 and decodes little-endian float32 itself.
    const asDefault = await client.embeddings.create({ model: 'o1-small', input: DOCUMENT_TEXTS });
    for (const response of [asFloat, asDefault]) {
      assert.equal(response.model, 'o1-small');
      assert.equal(response.data.length, DOCUMENT_TEXTS.length);
      assert.equal(response.usage.prompt_tokens, local.usage.tokens, 'one request alone in its batch: the embedder\'s own count');
      assert.equal(response.usage.total_tokens, local.usage.tokens);
      response.data.forEach((item, index) => {
        assert.equal(item.index, index);
        close(item.embedding, local.vectors[index], 1e-5, `vector ${index}`);
      });
    }
    const single = await client.embeddings.create({ model: 'anything', input: DOCUMENT_TEXTS[0] });
    close(single.data[0].embedding, (await embedder.embedDocuments([DOCUMENT_TEXTS[0]])).vectors[0], 1e-5, 'a string input');
    const dimension = await embedder.dimension();
    assert.equal(single.data[0].embedding.length, dimension);
  });

  test('input_type query thinks (settings in the body), returns the thoughts, and aggregates as O1 does; think: false does not', async () => {
    const client = new OpenAI({ baseURL: server.url, apiKey: 'key-one', maxRetries: 0 });
    const queries = ['Do cats purr?', 'why do dogs bark'];
    const response = await client.embeddings.create({ model: 'o1-small', input: queries, encoding_format: 'float', input_type: 'query', thoughts: 3, seed: 5, max_thought_tokens: 5 } as OpenAI.EmbeddingCreateParams);
    const data = response.data as (OpenAI.Embedding & { thoughts: string[] })[];
    const local = await QueryThinker.create({ backend: 'engine', model: O1_SMALL, threads: 1, thoughts: 3, seed: 5, maxTokens: 5 }, { thinker: queryThinker.thinker });
    const thoughts = await local.think(queries.map((text) => ({ text })));
    for (const [index, query] of queries.entries()) {
      assert.deepEqual(data[index].thoughts, thoughts[index]);
      assert.equal(data[index].thoughts.length, 3);
      const { vectors } = await embedder.embedQueries(thoughts[index].map((thought) => ({ text: query, thought })));
      close(data[index].embedding, aggregateThoughtVectors(vectors), 1e-5, `thinking query ${index}`);
    }
    // The configured settings when the body names none (2 thoughts).
    const defaults = await post(`${server.url}/embeddings`, { input: 'Do cats purr?', input_type: 'query' }, auth);
    assert.equal(((await defaults.json()) as { data: { thoughts: string[] }[] }).data[0].thoughts.length, 2);
    const plain = await (await post(`${server.url}/embeddings`, { input: ['Do cats purr?'], input_type: 'query', think: false }, auth)).json() as { data: { embedding: number[]; thoughts: string[] }[] };
    assert.deepEqual(plain.data[0].thoughts, []);
    close(plain.data[0].embedding, (await embedder.embedQueries(['Do cats purr?'])).vectors[0], 1e-5, 'query without thinking');
    const documents = await (await post(`${server.url}/embeddings`, { input: ['Do cats purr?'] }, auth)).json() as { data: Record<string, unknown>[] };
    assert.equal('thoughts' in documents.data[0], false, 'documents never think');
    await expectError(await post(`${server.url}/embeddings`, { input: 'x', thoughts: 2 }, auth), 400, 'input_type');
    await expectError(await post(`${server.url}/embeddings`, { input: 'x', input_type: 'query', thoughts: 99 }, auth), 400, 'thoughts');
  });

  test('@langchain/openai OpenAIEmbeddings pointed at the server: embedDocuments and embedQuery', async () => {
    const embeddings = new OpenAIEmbeddings({ model: 'o1-small', apiKey: 'key-two', configuration: { baseURL: server.url }, maxRetries: 0 });
    const vectors = await embeddings.embedDocuments(DOCUMENT_TEXTS.slice(0, 3));
    const local = await embedder.embedDocuments(DOCUMENT_TEXTS.slice(0, 3));
    vectors.forEach((vector, index) => close(vector, local.vectors[index], 1e-5, `langchain document ${index}`));
    const query = await embeddings.embedQuery('Do cats purr?');
    close(query, (await embedder.embedDocuments(['Do cats purr?'])).vectors[0], 1e-5, 'langchain query');
  });

  test('concurrent requests are batched together (the batch-size histogram shows it) and each gets its own vector', async () => {
    const before = histogram(await (await fetch(`${server.url.replace(/\/v1$/, '')}/metrics`, { headers: auth })).text(), 'o1e_batch_size', 'queue="document"');
    const answers = await Promise.all(DOCUMENT_TEXTS.concat(DOCUMENT_TEXTS).map(async (text) => (await (await post(`${server.url}/embeddings`, { input: text, encoding_format: 'float' }, auth)).json()) as { data: { embedding: number[] }[] }));
    const metrics = await (await fetch(`${server.url.replace(/\/v1$/, '')}/metrics`, { headers: auth })).text();
    const after = histogram(metrics, 'o1e_batch_size', 'queue="document"');
    assert.equal(after.sum - before.sum, 10, 'every text went through the batcher once');
    assert.ok(after.count - before.count < 10, `10 concurrent requests took ${after.count - before.count} batches: none were merged`);
    const local = await embedder.embedDocuments(DOCUMENT_TEXTS);
    // Batch composition changes padding only: vectors agree closely, not bit for bit.
    answers.forEach((answer, index) => close(answer.data[0].embedding, local.vectors[index % DOCUMENT_TEXTS.length], 1e-4, `request ${index}`));
  });

  test('models, health (no key needed), metrics (requests, latencies, batch sizes, queue depth, texts)', async () => {
    const base = server.url.replace(/\/v1$/, '');
    const models = await (await fetch(`${server.url}/models`, { headers: auth })).json() as { data: { id: string }[] };
    assert.deepEqual(models.data.map((model) => model.id), ['o1-small']);
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    const status = await health.json() as { status: string; thinking: boolean; search: { retriever: string; retrievers: string[]; documents: number } };
    assert.equal(status.status, 'ok');
    assert.equal(status.thinking, true);
    assert.deepEqual(status.search, { retriever: 'bm25', retrievers: ['bm25'], documents: TINY_DOCUMENTS.length });
    const response = await fetch(`${base}/metrics`, { headers: auth });
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /^o1e_http_requests_total\{route="\/v1\/embeddings",method="POST",status="200"\} \d+$/m);
    assert.match(text, /^o1e_http_request_duration_seconds_bucket\{route="\/v1\/embeddings",le="\+Inf"\} \d+$/m);
    assert.match(text, /^o1e_queue_depth\{queue="document"\} 0$/m);
    assert.match(text, /^o1e_texts_embedded_total\{input_type="document"\} \d+$/m);
    assert.match(text, /^o1e_batch_size_count\{queue="think"\} \d+$/m);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
  });

  test('API keys are enforced: none or a wrong one is a 401 for raw HTTP and for the openai client', async () => {
    const missing = await expectError(await post(`${server.url}/embeddings`, { input: 'x' }), 401, null);
    assert.equal(missing.type, 'authentication_error');
    await expectError(await post(`${server.url}/embeddings`, { input: 'x' }, { authorization: 'Bearer key-three' }), 401);
    await expectError(await fetch(`${server.url.replace(/\/v1$/, '')}/metrics`), 401);
    const client = new OpenAI({ baseURL: server.url, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(client.embeddings.create({ model: 'o1-small', input: 'x' }), (error: unknown) => error instanceof OpenAI.AuthenticationError && error.status === 401);
  });

  test('/v1/search: BM25 hits with titles, snippets and scores, o1-small thoughts (settings per request), or none', async () => {
    const response = await post(`${server.url}/search`, { query: 'Do cats purr?', hits: 3, thinker: { thoughts: 2, seed: 3, max_thought_tokens: 4 } }, auth);
    assert.equal(response.status, 200);
    const found = await response.json() as { hits: { id: string; title: string; snippet: string; score: number; thoughts: string[] }[]; thoughts: string[]; latency_ms: number };
    const local = await QueryThinker.create({ backend: 'engine', model: O1_SMALL, threads: 1, thoughts: 2, seed: 3, maxTokens: 4 }, { thinker: queryThinker.thinker });
    const [thoughts] = await local.think([{ text: 'Do cats purr?' }]);
    assert.deepEqual(found.thoughts, thoughts);
    assert.ok(found.hits.length >= 1 && found.hits.length <= 3);
    found.hits.forEach((hit) => assert.deepEqual(hit.thoughts, thoughts));
    assert.ok(found.latency_ms > 0);
    const cats = found.hits.find((hit) => hit.id === 'd1');
    assert.ok(cats !== undefined, 'the cats document is among the hits');
    assert.equal(cats.title, 'Cats');
    assert.match(cats.snippet, /purr/);
    const plain = await (await post(`${server.url}/search`, { query: 'Do cats purr?', thinker: false }, auth)).json() as typeof found;
    assert.deepEqual(plain.thoughts, []);
    assert.equal(plain.hits[0].id, 'd1');
    assert.deepEqual(plain.hits[0].thoughts, []);
    for (let index = 1; index < plain.hits.length; index++) assert.ok(plain.hits[index - 1].score >= plain.hits[index].score);
    await expectError(await post(`${server.url}/search`, { query: '' }, auth), 400, 'query');
    await expectError(await post(`${server.url}/search`, { query: 'x', hits: 5000 }, auth), 400, 'hits');
    await expectError(await post(`${server.url}/search`, { query: 'x', thinker: 'yes' }, auth), 400, 'thinker');
  });

  test('/v1/search with BM25 and a file thinker: the file\'s thoughts, and a missing query is an OpenAI-shaped 400', async () => {
    const thoughtsFile = join(directory, 'thoughts.jsonl');
    await writeFile(thoughtsFile, `${JSON.stringify({ query: 'the stock market', thoughts: ['Stocks fell sharply on Monday.', 'Markets drop.'] })}\n`);
    const fileThinker = await QueryThinker.create({ backend: 'file', path: thoughtsFile });
    const fileServer = await startServer({ queryThinker: fileThinker, search: await buildSearchSource({ corpus: TINY_DOCUMENTS, quiet: true }) });
    try {
      const found = await (await post(`${fileServer.url}/search`, { query: 'the stock market', hits: 2 })).json() as { hits: { id: string; snippet: string; thoughts: string[] }[]; thoughts: string[] };
      assert.deepEqual(found.thoughts, ['Stocks fell sharply on Monday.', 'Markets drop.']);
      assert.equal(found.hits[0].id, 'd3');
      assert.match(found.hits[0].snippet, /stock market/);
      const missing = await expectError(await post(`${fileServer.url}/search`, { query: 'not in the file' }), 400);
      assert.equal(missing.code, 'MISSING_THOUGHT');
      await expectError(await post(`${fileServer.url}/embeddings`, { input: 'x' }), 404);
      // CORS is off: a preflight finds no route and gets no CORS headers.
      const preflight = await fetch(`${fileServer.url}/search`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
      assert.equal(preflight.status, 404);
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    } finally {
      await fileServer.close();
      await fileServer.search?.close?.();
      await fileThinker.close();
    }
  });

  test('/v1/search "retriever" picks a fused source\'s member; unknown names are a 400; --ui serves the page without a key', async () => {
    const source = await buildSearchSource({ retriever: { retriever: 'fused', retrievers: [{ retriever: 'bm25' }, { retriever: 'bm25', k1: 0.2, b: 0 }] }, corpus: TINY_DOCUMENTS, quiet: true });
    const pageServer = await startServer({ search: source, ui: true, apiKey: 'k' });
    const auth = { authorization: 'Bearer k' };
    try {
      const health = await (await fetch(`${pageServer.url.replace(/\/v1$/, '')}/health`)).json() as { search: { retrievers: string[] } };
      assert.deepEqual(health.search.retrievers, ['fused', 'bm25', 'bm25-2']);
      const search = async (body: Record<string, unknown>) => (await post(`${pageServer.url}/search`, { query: 'the stock market', hits: 3, ...body }, auth)).json() as Promise<{ retriever: string; hits: { id: string; score: number }[] }>;
      const fused = await search({});
      assert.equal(fused.retriever, 'fused');
      const member = await search({ retriever: 'bm25-2' });
      assert.equal(member.retriever, 'bm25-2');
      // The member alone ranks with its own scores (BM25 with k1 0.2, b 0), not fused RRF scores.
      const alone = createRetriever({ retriever: 'bm25', k1: 0.2, b: 0 });
      await alone.index(TINY_DOCUMENTS, { quiet: true });
      assert.deepEqual(member.hits.map((hit) => [hit.id, hit.score]), (await alone.search('the stock market', { hits: 3 })).map((hit) => [hit.id, hit.score]));
      assert.ok(fused.hits[0].score < 0.1, 'RRF scores');
      const unknown = await expectError(await post(`${pageServer.url}/search`, { query: 'x', retriever: 'o1' }, auth), 400, 'retriever');
      assert.match(unknown.message, /'fused', 'bm25', 'bm25-2'/);
      // The page needs no key (its searches do); everything else still does.
      const page = await fetch(`${pageServer.url.replace(/\/v1$/, '')}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await page.text(), /What the model thought/);
      assert.equal((await post(`${pageServer.url}/search`, { query: 'x' })).status, 401);
    } finally {
      await pageServer.close();
      await source.close?.();
    }
    // Without ui the page is not served.
    const plain = await startServer({ search: await buildSearchSource({ corpus: TINY_DOCUMENTS, quiet: true }) });
    try {
      assert.equal((await fetch(`${plain.url.replace(/\/v1$/, '')}/`)).status, 404);
    } finally {
      await plain.close();
      await plain.search?.close?.();
    }
  });

  test('CORS when asked: preflights answered, the allowed origin echoed, others not', async () => {
    const corsServer = await startServer({ embedder, cors: 'https://app.example', apiKey: 'k' });
    try {
      const preflight = await fetch(`${corsServer.url}/embeddings`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
      assert.equal(preflight.status, 204, 'a preflight needs no API key');
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.equal(preflight.headers.get('access-control-allow-headers'), 'authorization, content-type');
      const allowed = await post(`${corsServer.url}/embeddings`, { input: 'x' }, { origin: 'https://app.example', authorization: 'Bearer k' });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
      const other = await post(`${corsServer.url}/embeddings`, { input: 'x' }, { origin: 'https://evil.example', authorization: 'Bearer k' });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    } finally {
      await corsServer.close();
    }
  });

  test('a client that disconnects cancels its queued texts (they never reach the model) and the batch signal fires', async () => {
    const gate = gatedEmbedder(embedder);
    const gated = await startServer({ embedder: gate.embedder, maxWaitMs: 0 });
    const health = async () => ((await (await fetch(`${gated.url.replace(/\/v1$/, '')}/health`)).json()) as { queue: { document: number } }).queue.document;
    try {
      gate.shut();
      const first = new AbortController();
      const firstRequest = post(`${gated.url}/embeddings`, { input: 'alpha' }, {}, first.signal).catch((error: Error) => error);
      await until(() => gate.seen.length === 1, 'the first batch to reach the model');
      const second = new AbortController();
      const secondRequest = post(`${gated.url}/embeddings`, { input: ['beta one', 'beta two'] }, {}, second.signal).catch((error: Error) => error);
      await until(async () => (await health()) === 2, 'two texts queued');
      second.abort();
      assert.equal((await secondRequest as Error).name, 'AbortError');
      await until(async () => (await health()) === 0, 'the disconnected client\'s texts to leave the queue');
      assert.equal(gate.signals[0]?.aborted, false, 'the first client still waits');
      first.abort();
      await firstRequest;
      await until(() => gate.signals[0]?.aborted === true, 'the running batch\'s signal');
      gate.open();
      const next = await post(`${gated.url}/embeddings`, { input: 'gamma' });
      assert.equal(next.status, 200);
      assert.deepEqual(gate.seen, [['alpha'], ['gamma']], 'the cancelled texts never reached the embedder');
      const metrics = await (await fetch(`${gated.url.replace(/\/v1$/, '')}/metrics`)).text();
      assert.match(metrics, /^o1e_http_requests_total\{route="\/v1\/embeddings",method="POST",status="499"\} 2$/m);
    } finally {
      gate.open();
      await gated.close();
    }
  });

  test('limits answer OpenAI-shaped errors: 413 body, 400 inputs/tokens/token arrays/format/JSON, 415, 404, 429 queue, 504 deadline', async () => {
    const gate = gatedEmbedder(embedder);
    const limited = await startServer({ embedder: gate.embedder, bodyLimit: 4096, maxInputs: 3, maxTokensPerInput: 50, maxQueue: 2, maxBatch: 1, maxWaitMs: 0, timeoutMs: 500 });
    const url = `${limited.url}/embeddings`;
    try {
      await expectError(await post(url, { input: 'x'.repeat(5000) }), 413);
      await expectError(await post(url, { input: ['a', 'b', 'c', 'd'] }), 400, 'input');
      const long = await expectError(await post(url, { input: ['fine', 'y'.repeat(300)] }), 400, 'input');
      assert.equal(long.code, 'context_length_exceeded');
      assert.match((await expectError(await post(url, { input: [[1, 2, 3]] }), 400, 'input')).message, /token arrays/);
      await expectError(await post(url, { input: [1, 2] }), 400, 'input');
      await expectError(await post(url, { input: [] }), 400, 'input');
      await expectError(await post(url, { input: 'x', encoding_format: 'int8' }), 400, 'encoding_format');
      await expectError(await post(url, { input: 'x', dimensions: 3 }), 400, 'dimensions');
      await expectError(await post(url, {}), 400, 'input');
      await expectError(await post(url, '{not json'), 400);
      // text/plain is read as a string, which is not the object the schema asks for; other types are refused.
      await expectError(await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"input":"x"}' }), 400);
      await expectError(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'input=x' }), 415);
      await expectError(await post(`${limited.url}/nothing`, {}), 404);
      await expectError(await post(`${limited.url}/search`, { query: 'x' }), 404);
      await expectError(await post(`${limited.url}/chat/completions`, { messages: [{ role: 'user', content: 'x' }] }), 404);
      const client = new OpenAI({ baseURL: limited.url, apiKey: 'unused', maxRetries: 0 });
      await assert.rejects(client.embeddings.create({ model: 'o1-small', input: ['a', 'b', 'c', 'd'] }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'input' && /at most 3/.test(error.message));

      gate.shut();
      const started = performance.now();
      const running = post(url, { input: 'held' });
      await until(() => gate.seen.length === 1, 'the held batch');
      const queued = post(url, { input: ['queued one', 'queued two'] });
      await until(async () => ((await (await fetch(`${limited.url.replace(/\/v1$/, '')}/health`)).json()) as { queue: { document: number } }).queue.document === 2, 'a full queue');
      const refused = await expectError(await post(url, { input: 'one too many' }), 429);
      assert.equal(refused.type, 'rate_limit_error');
      assert.equal(refused.code, 'OVERLOADED');
      for (const answer of [await running, await queued]) assert.equal((await expectError(answer, 504)).type, 'timeout_error');
      const waited = performance.now() - started;
      assert.ok(waited >= 450 && waited < 10_000, `the deadline struck after ${waited} ms`);
      gate.open();
      await until(async () => (await post(url, { input: 'after' })).status === 200, 'the server to recover');
      assert.ok(!gate.seen.flat().includes('queued one'), 'timed-out texts were dropped from the queue');
    } finally {
      gate.open();
      await limited.close();
    }
  });

  test('graceful shutdown: close() stops accepting, drains the request in flight, then resolves', async () => {
    const gate = gatedEmbedder(embedder);
    const draining = await startServer({ embedder: gate.embedder, maxWaitMs: 0 });
    gate.shut();
    const inFlight = post(`${draining.url}/embeddings`, { input: 'in flight', encoding_format: 'float' });
    await until(() => gate.seen.length === 1, 'the request to reach the model');
    let closed = false;
    const closing = draining.close().then(() => { closed = true; });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(closed, false, 'close() waits for the request in flight');
    const late = await post(`${draining.url}/embeddings`, { input: 'too late' }).then((response) => response.status, () => 'refused');
    assert.ok(late === 'refused' || late === 503, `a new request got ${late}`);
    gate.open();
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    const vector = ((await answer.json()) as { data: { embedding: number[] }[] }).data[0].embedding;
    close(vector, (await embedder.embedDocuments(['in flight'])).vectors[0], 1e-5, 'the drained answer');
    await closing;
    assert.equal(closed, true);
    assert.deepEqual(gate.seen, [['in flight']]);
  });

  test('o1e serve --model --corpus --api-key-env: a real process, search with thinking, stopped by SIGTERM', async () => {
    const corpus = join(directory, 'corpus.jsonl');
    await writeCorpus(corpus, TINY_DOCUMENTS);
    const child = spawn(process.execPath, [...O1E, 'serve', '--model', O1_SMALL, '--threads', '1', '--corpus', corpus, '--port', '0', '--quiet', '--api-key-env', 'O1E_TEST_KEYS'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, O1E_TEST_KEYS: 'first-key, second-key' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await Promise.race([
        new Promise<string>((resolve) => lines.once('line', resolve)),
        exited.then((code) => { throw new Error(`o1e serve exited ${code}: ${stderr}`); }),
      ]);
      const url = /listening on (\S+)/.exec(first)?.[1];
      assert.ok(url, first);
      assert.match(first, /search bm25 over 5 documents/);
      await expectError(await post(`${url}/search`, { query: 'Do cats purr?' }), 401);
      const found = await (await post(`${url}/search`, { query: 'Do cats purr?', hits: 2, thinker: { thoughts: 1, max_thought_tokens: 3 } }, { authorization: 'Bearer second-key' })).json() as { hits: { id: string }[]; thoughts: string[] };
      assert.equal(found.thoughts.length, 1);
      assert.ok(found.hits.length > 0);
      const client = new OpenAI({ baseURL: url, apiKey: 'first-key', maxRetries: 0 });
      const { data } = await client.embeddings.create({ model: 'o1-small', input: 'Cats purr.' });
      assert.equal(data[0].embedding.length, await embedder.dimension());
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });
});

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
