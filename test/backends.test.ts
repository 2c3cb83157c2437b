import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { OpenAiClient, type RequestEvent } from '../src/backends/openai/client.js';
import { OpenAiEmbedder } from '../src/backends/openai/embedder.js';
import { OpenAiThinker } from '../src/backends/openai/thinker.js';
import { createEmbedder, createThinker, embedderBackends, registerBackend, thinkerBackends } from '../src/backends/registry.js';
import { loadJsonConfig } from '../src/backends/settings.js';
import { O1Error } from '../src/errors.js';
import { Semaphore } from '../src/util/semaphore.js';

/**
 * A scripted node:http server on 127.0.0.1 (these tests check the client's retry, timeout and
 * concurrency logic, not a model): `script(request, body, count)` answers each request.
 */
async function scriptedServer(script: (request: IncomingMessage, body: Record<string, unknown>, count: number, response: ServerResponse) => void | Promise<void>): Promise<{ url: string; server: Server; requests: { headers: IncomingMessage['headers']; body: Record<string, unknown> }[] }> {
  const requests: { headers: IncomingMessage['headers']; body: Record<string, unknown> }[] = [];
  const server = createServer(async (request, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = text === '' ? {} : JSON.parse(text);
    requests.push({ headers: request.headers, body });
    await script(request, body, requests.length, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}/v1`, server, requests };
}

const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

const chatAnswer = (...texts: string[]) => ({ choices: texts.map((content, index) => ({ index, message: { role: 'assistant', content } })) });

describe('OpenAI-compatible HTTP client', () => {
  test('429 then 500 then 200: retried with growing backoff, API key sent every time', async () => {
    const { url, requests } = await scriptedServer((_request, _body, count, response) => {
      if (count === 1) json(response, 429, { error: { message: 'slow down' } });
      else if (count === 2) json(response, 500, { error: { message: 'boom' } });
      else json(response, 200, chatAnswer('a thought'));
    });
    const events: RequestEvent[] = [];
    const thinker = new OpenAiThinker({ backend: 'openai', baseUrl: url, model: 'expert', apiKey: 'sk-test', backoffMs: 20, retries: 3 });
    thinker.client.onEvent = (event) => events.push(event);
    const started = performance.now();
    const result = await thinker.generate([[{ role: 'user', content: 'hi' }]], { maxTokens: 8, temperature: 0.5, seed: 3, stop: ['\n'] });
    assert.deepEqual(result, [['a thought']]);
    assert.equal(requests.length, 3);
    assert.ok(requests.every((request) => request.headers.authorization === 'Bearer sk-test'));
    assert.deepEqual(requests[0].body, { model: 'expert', n: 1, temperature: 0.5, max_tokens: 8, seed: 3, stop: ['\n'], messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(events.map((event) => event.status), [429, 500, 200]);
    // Equal jitter: attempt k waits in [base * 2^k / 2, base * 2^k].
    assert.ok(events[0].retryInMs! >= 10 && events[0].retryInMs! <= 20, String(events[0].retryInMs));
    assert.ok(events[1].retryInMs! >= 20 && events[1].retryInMs! <= 40, String(events[1].retryInMs));
    assert.ok(performance.now() - started >= 30);
    assert.equal(thinker.config().apiKey, undefined, 'config() leaves the secret out');
  });

  test('Retry-After is honoured; retries run out into HTTP_ERROR with the server message', async () => {
    const { url, requests } = await scriptedServer((_request, _body, _count, response) => json(response, 503, { error: { message: 'overloaded' } }, { 'retry-after': '0' }));
    const client = new OpenAiClient({ baseUrl: url, retries: 2, backoffMs: 10_000 });
    const started = performance.now();
    await assert.rejects(client.post('/chat/completions', {}), (error: unknown) => {
      assert.ok(error instanceof O1Error && error.code === 'HTTP_ERROR');
      assert.match(error.message, /HTTP 503: overloaded \(after 3 tries\)/);
      return true;
    });
    assert.equal(requests.length, 3);
    assert.ok(performance.now() - started < 5000, 'Retry-After 0 overrides the 10 s backoff');
  });

  test('a 400 is not retried', async () => {
    const { url, requests } = await scriptedServer((_request, _body, _count, response) => json(response, 400, { error: { message: 'bad model' } }));
    await assert.rejects(new OpenAiClient({ baseUrl: url, backoffMs: 1 }).post('/embeddings', {}), /HTTP 400: bad model/);
    assert.equal(requests.length, 1);
  });

  test('a hung request times out and is retried; the retry succeeds', async () => {
    const { url, requests } = await scriptedServer((_request, _body, count, response) => {
      if (count === 1) return; // never answers
      json(response, 200, { choices: [{ index: 0, text: ' done' }] });
    });
    const thinker = new OpenAiThinker({ backend: 'openai', baseUrl: url, model: 'm', endpoint: 'completions', timeoutMs: 150, backoffMs: 1 });
    const started = performance.now();
    assert.deepEqual(await thinker.generate(['Once']), [[' done']]);
    assert.equal(requests.length, 2);
    assert.equal(requests[1].body.prompt, 'Once');
    assert.ok(performance.now() - started >= 150);
    const never = await scriptedServer(() => undefined);
    await assert.rejects(new OpenAiClient({ baseUrl: never.url, timeoutMs: 50, retries: 1, backoffMs: 1 }).post('/x', {}), /timed out after 50 ms \(after 2 tries\)/);
  });

  test('a refused connection is retried, then reported', async () => {
    const { server } = await scriptedServer(() => undefined);
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    await assert.rejects(new OpenAiClient({ baseUrl: `http://127.0.0.1:${port}/v1`, retries: 1, backoffMs: 1 }).post('/x', {}), /ECONNREFUSED.*after 2 tries/);
  });

  test('the concurrency limit holds: never more than 2 requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const { url, requests } = await scriptedServer(async (_request, body, _count, response) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight -= 1;
      const input = body.input as string[];
      json(response, 200, { data: input.map((text, index) => ({ index, embedding: [text.length, index, 1] })).reverse(), usage: { prompt_tokens: 2, total_tokens: 2 } });
    });
    const embedder = new OpenAiEmbedder({ backend: 'openai', baseUrl: url, model: 'e', concurrency: 2, batchSize: 1, normalize: false });
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff'];
    const { vectors, usage } = await embedder.embedDocuments(texts);
    assert.equal(requests.length, 6);
    assert.equal(peak, 2);
    assert.deepEqual(vectors.map((vector) => vector[0]), [1, 2, 3, 4, 5, 6], 'vectors in input order');
    assert.equal(usage.tokens, 12, 'usage summed over the batches');
    assert.equal(await embedder.dimension(), 3);
  });

  test('embedder: query and document prefixes and fields, thoughts appended, base64 decoded, normalised, usage from the server', async () => {
    const { url, requests } = await scriptedServer((_request, body, _count, response) => {
      const input = body.input as string[];
      // [3, 4] (norm 5) as base64 little-endian float32, one per input.
      const embedding = Buffer.from(new Float32Array([3, 4]).buffer).toString('base64');
      json(response, 200, { data: input.map((_, index) => ({ index, embedding })), usage: { prompt_tokens: 7 * input.length, total_tokens: 7 * input.length } });
    });
    const embedder = new OpenAiEmbedder({
      backend: 'openai', baseUrl: url, model: 'e5', encodingFormat: 'base64', queryPrefix: 'query: ', documentPrefix: 'passage: ',
      queryFields: { input_type: 'query' }, documentFields: { input_type: 'document' },
    });
    const queries = await embedder.embedQueries(['tides', { text: 'tides', thought: 'The moon.' }]);
    const documents = await embedder.embedDocuments([{ title: 'Tides', text: 'The moon pulls.' }, 'Untitled.']);
    assert.deepEqual(requests[0].body, { input_type: 'query', model: 'e5', input: ['query: tides', 'query: tides The moon.'], encoding_format: 'base64' });
    assert.deepEqual(requests[1].body, { input_type: 'document', model: 'e5', input: ['passage: Tides The moon pulls.', 'passage: Untitled.'], encoding_format: 'base64' });
    for (const vector of [...queries.vectors, ...documents.vectors]) assert.deepEqual([...vector].map((value) => Math.round(value * 1e6) / 1e6), [0.6, 0.8]);
    assert.deepEqual(queries.usage, { tokens: 14 });
    assert.deepEqual(documents.usage, { tokens: 14 });
    assert.deepEqual(embedder.config().queryFields, { input_type: 'query' });
    const raw = new OpenAiEmbedder({ backend: 'openai', baseUrl: url, model: 'e5', encodingFormat: 'base64', normalize: false });
    assert.deepEqual([...(await raw.embedDocuments(['x'])).vectors[0]], [3, 4], 'normalize: false keeps the server\'s vector');
    assert.notEqual(raw.identity, embedder.identity, 'prefixes and fields are part of the identity');
  });

  test('choices are topped up from servers that ignore n; seeds advance', async () => {
    const { url, requests } = await scriptedServer((_request, body, count, response) => json(response, 200, chatAnswer(`text ${count} seed ${body.seed}`)));
    const thinker = new OpenAiThinker({ backend: 'openai', baseUrl: url, model: 'm' });
    const [[first, second, third]] = await thinker.generate(['q'], { n: 3, seed: 10 });
    assert.deepEqual([first, second, third], ['text 1 seed 10', 'text 2 seed 11', 'text 3 seed 12']);
    assert.deepEqual(requests.map((request) => request.body.n), [3, 2, 1]);
  });

  test('Semaphore: FIFO, release once', async () => {
    const gate = new Semaphore(1);
    const order: number[] = [];
    const release = await gate.acquire();
    const waiting = [1, 2].map((id) => gate.run(async () => { order.push(id); }));
    release();
    release();
    await Promise.all(waiting);
    assert.deepEqual(order, [1, 2]);
    assert.equal(gate.inUse, 0);
  });
});

describe('backend registries and configs', () => {
  test('built-in names, unknown backends and settings are O1Errors naming the field', async () => {
    assert.deepEqual(thinkerBackends(), ['engine', 'file', 'llama-cpp', 'openai']);
    // Other embedders (use-lite) may register too; these are always there.
    for (const name of ['engine', 'llama-cpp', 'openai']) assert.ok(embedderBackends().includes(name), name);
    await assert.rejects(createThinker({ backend: 'nope' }), (error: unknown) => error instanceof O1Error && error.code === 'UNKNOWN_BACKEND');
    await assert.rejects(createThinker({ backend: 'openai', model: 'm', tempreature: 1 }), (error: unknown) => error instanceof O1Error && error.location.field === 'tempreature');
    await assert.rejects(createEmbedder({ backend: 'openai', model: 'm', batchSize: 0 }), (error: unknown) => error instanceof O1Error && error.location.field === 'batchSize');
    await assert.rejects(createEmbedder({ backend: 'llama-cpp', model: '/nonexistent.gguf' }), (error: unknown) => error instanceof O1Error && error.code === 'MISSING_FILE');
    const thinker = await createThinker({ backend: 'openai', model: 'm', apiKeyEnv: 'MY_KEY', concurrency: 2 });
    assert.deepEqual(thinker.config(), { backend: 'openai', model: 'm', endpoint: 'chat', baseUrl: 'https://api.openai.com/v1', concurrency: 2, retries: 5, timeoutMs: 120000, backoffMs: 500, maxBackoffMs: 30000, apiKeyEnv: 'MY_KEY' });
    // A config round-trips through the registry.
    assert.deepEqual((await createThinker(thinker.config())).config(), thinker.config());
  });

  test('a registered backend plays both roles', async () => {
    const shared = { model: 'twin', backend: 'twin-test', identity: 'twin-test:1', config: () => ({ backend: 'twin-test' }), close: async () => undefined };
    const embed = async (inputs: readonly unknown[]) => ({ vectors: inputs.map(() => new Float32Array([1, 0])), usage: { tokens: inputs.length } });
    registerBackend('twin-test', {
      thinker: () => ({ ...shared, generate: async (prompts) => prompts.map(() => ['thought']) }),
      embedder: () => ({ ...shared, dimension: async () => 2, embedQueries: embed, embedDocuments: embed }),
    });
    assert.deepEqual(await (await createThinker({ backend: 'twin-test' })).generate(['x']), [['thought']]);
    const embedder = await createEmbedder({ backend: 'twin-test' });
    assert.equal(await embedder.dimension(), 2);
    assert.deepEqual((await embedder.embedQueries(['q'])).usage, { tokens: 1 });
  });

  test('loadJsonConfig reads inline JSON and files, with clear errors', async () => {
    assert.deepEqual(await loadJsonConfig(' {"backend":"openai"}', 'thinker'), { backend: 'openai' });
    await assert.rejects(loadJsonConfig('/nonexistent/config.json', 'thinker'), (error: unknown) => error instanceof O1Error && error.code === 'MISSING_FILE');
    await assert.rejects(loadJsonConfig('{"backend":', 'thinker'), (error: unknown) => error instanceof O1Error && error.code === 'MALFORMED_JSON');
  });
});
