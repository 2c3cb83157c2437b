/**
 * The HTTP server, on Fastify: OpenAI-compatible embeddings with thinking queries, search over
 * any retriever, the thinker proxy (chat and text completions), models, health and Prometheus
 * metrics. Texts of concurrent requests are batched dynamically (./batcher.ts); a client that
 * hangs up cancels its queued work; every request has a deadline (504); API keys are compared
 * in constant time; CORS is off unless an origin is given; errors are OpenAI-shaped; `close()`
 * stops accepting, drains requests in flight and then the queues.
 *
 * Routes: `POST /v1/embeddings`, `POST /v1/search`, `POST /v1/chat/completions`,
 * `POST /v1/completions`, `GET /v1/models` (the OpenAI routes also without `/v1`, as
 * llama.cpp's server takes them), `GET /health` (no API key needed), `GET /metrics`, and with
 * `ui` the search page `GET /` (./page.ts).
 */
import { endianness } from 'node:os';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Embedder } from '../backends/embedder.js';
import type { Thinker } from '../backends/thinker.js';
import type { Retriever } from '../retrieval/retriever.js';
import { O1Error } from '../errors.js';
import type { QueryThinker } from '../thinking/query-thinker.js';
import { completions } from './completions.js';
import { EmbeddingService } from './embedding-service.js';
import { BATCH_BUCKETS, Counter, Gauge, Histogram, LATENCY_BUCKETS, MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { HttpProblem, problemOf } from './problems.js';
import type { SearchSource } from './search.js';
import { searchPage } from './page.js';
import { ApiKeys, corsHeaders } from './security.js';
import { highlightedSnippet } from './snippet.js';
import { ServerThinking, type ThinkingRequest } from './thinking.js';

/** Settings of {@link startServer}. Every limit has a default. */
export interface ServerOptions {
  /** Serves the chat and text completion endpoints (a proxy). Default: none (they answer 404). */
  thinker?: Thinker;
  /**
   * Thinks about queries: `input_type: "query"` embeddings and searches think with it unless a
   * request says otherwise. Default none (queries are embedded and searched as they are).
   */
  queryThinker?: QueryThinker;
  /** Serves `/v1/embeddings`. Default: none (it answers 404). */
  embedder?: Embedder;
  /**
   * Serves `/v1/search`: a source, or a function building one from the server's batched
   * embedder (so a dense retriever's queries share the batches). A source built here is
   * closed by `close()`; one handed in belongs to the caller. Default none (404).
   */
  search?: SearchSource | ((parts: { embedder?: Embedder }) => Promise<SearchSource>);
  /**
   * Serves the search page at `/` (src/server/page.ts: a search box, the hits, the thoughts and
   * the latency; needs `search`). The page itself needs no API key; its searches send one.
   * Default false.
   */
  ui?: boolean;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** Accepted API keys (`Authorization: Bearer KEY`, else 401). Default none: no key needed. */
  apiKey?: string | readonly string[];
  /** Allowed CORS origin (`*` or one origin). Default none: no CORS headers, preflights 404. */
  cors?: string;
  /** Most texts per model call. Default 64. */
  maxBatch?: number;
  /** Longest a text waits for a batch to fill, in milliseconds. Default 5. */
  maxWaitMs?: number;
  /** Most texts waiting per queue before requests get 429. Default 10,000. */
  maxQueue?: number;
  /** Deadline of every request in milliseconds (then 504 and its work cancelled). Default 60,000. */
  timeoutMs?: number;
  /** Largest request body in bytes (then 413). Default 16 MiB. */
  bodyLimit?: number;
  /** Most inputs per embeddings request (OpenAI's limit). Default 2048. */
  maxInputs?: number;
  /**
   * Most tokens per input, estimated before any work as UTF-8 bytes / 4 rounded up (OpenAI's
   * rule of thumb for English; the embedder's own count is only known after the work). Default 8192.
   */
  maxTokensPerInput?: number;
  /** Most completions per request (`n`). Default 16. */
  maxN?: number;
  /** Most hits per search. Default 1000. */
  maxHits?: number;
  /** Most thoughts per query a request may ask for. Default 16. */
  maxThoughts?: number;
  /** Most new tokens per thought a request may ask for. Default 512. */
  maxThoughtTokens?: number;
}

/** Counters, for logs and tests (e.g. to prove a resumed job did not regenerate work). */
export interface ServerStats {
  /** Requests per route (`POST /v1/chat/completions`, ...), answered or not. */
  requests: Record<string, number>;
  /** Completions returned, and how many of them were empty. */
  completions: number;
  emptyCompletions: number;
  /** Texts embedded. */
  embeddedTexts: number;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL for OpenAI clients, including `/v1`, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly stats: ServerStats;
  readonly metrics: MetricsRegistry;
  /** The Fastify instance (for tests and embedding the server in an app). */
  readonly app: FastifyInstance;
  /** What `/v1/search` searches, when configured. */
  readonly search?: SearchSource;
  /**
   * Stops accepting (new requests on open connections get 503), waits for requests in flight
   * and the queued work, and closes a search source the server built. Does not close the
   * thinker or embedder (their owner does). Idempotent.
   */
  close(): Promise<void>;
}

/** Per-request bookkeeping: its signal (client gone or deadline), and when it started. */
interface RequestWork {
  controller: AbortController;
  started: number;
  /** Rejects when the signal fires: 504 on the deadline, CANCELLED when the client left. */
  aborted: Promise<never>;
  timer?: NodeJS.Timeout;
}

const MIB = 1024 * 1024;

/** A Float32Array as little-endian bytes in base64 (what OpenAI clients decode). */
function base64Vector(vector: Float32Array): string {
  if (endianness() === 'LE') return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/** The cheap token estimate of {@link ServerOptions.maxTokensPerInput}. */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const THINKING_FIELDS = ['thoughts', 'temperature', 'top_p', 'seed', 'max_thought_tokens'] as const;

const embeddingsSchema = {
  body: {
    type: 'object',
    required: ['input'],
    properties: {
      input: {},
      model: { type: ['string', 'null'] },
      encoding_format: { enum: ['float', 'base64', null] },
      input_type: { enum: ['query', 'document', null] },
      dimensions: { type: ['integer', 'null'] },
      user: { type: ['string', 'null'] },
      think: { type: ['boolean', 'null'] },
    },
  },
};

const searchSchema = {
  body: {
    type: 'object',
    required: ['query'],
    properties: {
      query: { type: 'string', minLength: 1 },
      hits: { type: 'integer', minimum: 1 },
      snippet_chars: { type: 'integer', minimum: 20, maximum: 2000 },
      retriever: { type: 'string', minLength: 1 },
    },
  },
};

const objectBody = { body: { type: 'object' } };

/**
 * Starts the server; resolves once it listens.
 *
 * @example
 * const model = 'models/o1-small';
 * const queryThinker = await QueryThinker.create({ backend: 'engine', model });
 * const embedder = await createEmbedder({ backend: 'engine', model });
 * const server = await startServer({ queryThinker, thinker: queryThinker.thinker, embedder, port: 0 });
 * const client = new OpenAI({ baseURL: server.url, apiKey: 'unused' });
 * const { data } = await client.embeddings.create({ model: 'o1-small', input: 'what causes tides' });
 * await server.close();
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const stats: ServerStats = { requests: {}, completions: 0, emptyCompletions: 0, embeddedTexts: 0 };
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxInputs = options.maxInputs ?? 2048;
  const maxTokensPerInput = options.maxTokensPerInput ?? 8192;
  const maxHits = options.maxHits ?? 1000;
  const maxN = options.maxN ?? 16;
  const apiKeys = options.apiKey === undefined ? undefined : new ApiKeys(typeof options.apiKey === 'string' ? [options.apiKey] : options.apiKey);
  for (const [name, value, minimum] of [['timeoutMs', timeoutMs, 1], ['maxInputs', maxInputs, 1], ['maxTokensPerInput', maxTokensPerInput, 1], ['maxHits', maxHits, 1], ['maxN', maxN, 1]] as const) {
    if (!Number.isInteger(value) || value < minimum) throw new O1Error('BAD_ARGUMENT', `${name} must be an integer >= ${minimum}, got ${value}`, { field: name });
  }

  const metrics = new MetricsRegistry();
  const requestCounter = metrics.add(new Counter('o1e_http_requests_total', 'HTTP requests by route, method and status (499: the client closed the connection first)'));
  const latency = metrics.add(new Histogram('o1e_http_request_duration_seconds', 'HTTP request latency by route, in seconds', LATENCY_BUCKETS));
  const batchSizes = metrics.add(new Histogram('o1e_batch_size', 'Items per model call by queue (document, query: embedding; think: thinking)', BATCH_BUCKETS));
  const embeddedTexts = metrics.add(new Counter('o1e_texts_embedded_total', 'Texts embedded by input type'));
  const thoughtQueries = metrics.add(new Counter('o1e_thinking_queries_total', 'Queries handed to the thinker (thought cache hits included)'));
  let inFlight = 0;

  const embedding = options.embedder === undefined ? undefined : new EmbeddingService(options.embedder, {
    maxBatch: options.maxBatch,
    maxWaitMs: options.maxWaitMs,
    maxQueue: options.maxQueue ?? 10_000,
    onBatch: (queue, size) => batchSizes.observe(size, { queue }),
    onEmbedded: (queue, count) => {
      embeddedTexts.inc({ input_type: queue }, count);
      stats.embeddedTexts += count;
    },
  });
  const thinking = options.queryThinker === undefined ? undefined : new ServerThinking(options.queryThinker, {
    maxWaitMs: options.maxWaitMs,
    maxQueue: options.maxQueue ?? 10_000,
    maxThoughts: options.maxThoughts,
    maxThoughtTokens: options.maxThoughtTokens,
    onBatch: (size) => {
      batchSizes.observe(size, { queue: 'think' });
      thoughtQueries.inc({}, size);
    },
  });
  metrics.add(new Gauge('o1e_queue_depth', 'Items waiting for a batch, by queue', () => [
    { labels: { queue: 'document' }, value: embedding?.documents.depth ?? 0 },
    { labels: { queue: 'query' }, value: embedding?.queries.depth ?? 0 },
    { labels: { queue: 'think' }, value: thinking?.depth ?? 0 },
  ]));
  metrics.add(new Gauge('o1e_http_requests_in_flight', 'Requests being answered', () => [{ value: inFlight }]));
  metrics.add(new Gauge('process_resident_memory_bytes', 'Resident memory of the server process, in bytes', () => [{ value: process.memoryUsage.rss() }]));

  let search: SearchSource | undefined;
  let ownsSearch = false;
  if (typeof options.search === 'function') {
    search = await options.search({ embedder: embedding?.asEmbedder() });
    ownsSearch = true;
  } else search = options.search;

  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 16 * MIB,
    // We answer 503 ourselves while closing, in OpenAI's error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    // Validate as written: no coercion (a token array must not become strings), nothing removed.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true } },
  });
  const works = new WeakMap<FastifyRequest, RequestWork>();
  let closing = false;

  function work(request: FastifyRequest): RequestWork {
    const found = works.get(request);
    if (found === undefined) throw new Error('request bookkeeping missing');
    return found;
  }

  /** Runs `task` with the request's signal; rejects as soon as the signal fires (504 on the deadline). */
  async function guarded<T>(request: FastifyRequest, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { controller, aborted } = work(request);
    return Promise.race([task(controller.signal), aborted]);
  }

  app.addHook('onRequest', async (request, reply) => {
    const controller = new AbortController();
    const started = performance.now();
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => { /* observed by guarded(); unobserved when the request had no model work */ });
    const entry: RequestWork = { controller, started, aborted };
    works.set(request, entry);
    inFlight += 1;
    const route = request.routeOptions.url ?? 'unmatched';
    const label = `${request.method} ${route}`;
    stats.requests[label] = (stats.requests[label] ?? 0) + 1;
    // The response's 'close' tells both ends apart: finished (answered) or not (the client left).
    // (On Node 20 the request's own 'close' fires once its body is read, so it cannot.)
    reply.raw.once('close', () => {
      inFlight -= 1;
      clearTimeout(entry.timer);
      const finished = reply.raw.writableFinished;
      if (!finished) controller.abort(new O1Error('CANCELLED', 'the client closed the connection'));
      const status = finished ? String(reply.statusCode) : '499';
      requestCounter.inc({ route, method: request.method, status });
      latency.observe((performance.now() - started) / 1000, { route });
    });
    entry.timer = setTimeout(() => {
      const problem = new HttpProblem(504, `the request took longer than ${timeoutMs} ms and was cancelled`);
      controller.abort(problem);
      if (!reply.sent) void reply.code(504).send(problemOf(problem).body);
    }, timeoutMs);
    entry.timer.unref();

    if (closing) {
      reply.header('connection', 'close');
      return reply.code(503).send(problemOf(new HttpProblem(503, 'the server is shutting down')).body);
    }
    const origin = request.headers.origin;
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (options.cors !== undefined) {
      const requestHeaders = request.headers['access-control-request-headers'];
      const headers = corsHeaders(options.cors, origin, preflight ? { requestHeaders: typeof requestHeaders === 'string' ? requestHeaders : undefined } : false);
      reply.headers(headers);
      if (preflight) return reply.code(204).send();
    }
    const open = route === '/health' || (options.ui === true && route === '/' && request.method === 'GET');
    if (apiKeys !== undefined && !open && !apiKeys.accepts(request.headers.authorization)) {
      return reply.code(401).send(problemOf(new HttpProblem(401, 'invalid or missing API key: send Authorization: Bearer KEY', { code: 'invalid_api_key' })).body);
    }
    return undefined;
  });

  // Answers finished while closing end their connection, so close() need not wait out the
  // keep-alive timeout of connections that were busy when it was called.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.setErrorHandler((error, _request, reply) => {
    const { status, body } = problemOf(error);
    if (reply.sent || reply.raw.destroyed) return;
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(problemOf(new HttpProblem(404, `no route ${request.method} ${request.url.split('?')[0]}`)).body);
  });

  function modelIds(): string[] {
    return [...new Set([options.thinker?.model, options.embedder?.model].filter((id): id is string => id !== undefined))];
  }

  /** The thinking a request asks for: undefined for none; throws 400 for settings this server cannot honour. */
  function thinkingOf(fields: Record<string, unknown>, enabled: boolean, prefix: string): { thinking: ServerThinking; request: ThinkingRequest } | undefined {
    const asked = THINKING_FIELDS.filter((key) => fields[key] !== undefined && fields[key] !== null);
    if (thinking === undefined) {
      if (enabled && asked.length > 0) throw new HttpProblem(400, `'${prefix}${asked[0]}': this server has no thinker (start it with --model or --thinker)`, { param: `${prefix}${asked[0]}` });
      return undefined;
    }
    if (!enabled) return undefined;
    const request = thinking.parse(fields, prefix);
    return request.thoughts === 0 ? undefined : { thinking, request };
  }

  const embeddingsRoute = async (request: FastifyRequest): Promise<unknown> => {
    if (embedding === undefined) throw new HttpProblem(404, 'this server has no embedder: embeddings are not served');
    const body = request.body as Record<string, unknown>;
    const input = body.input;
    const texts = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(texts) || texts.length === 0) throw new HttpProblem(400, "'input' must be a string or a non-empty array of strings", { param: 'input' });
    if (!texts.every((text) => typeof text === 'string')) {
      throw new HttpProblem(400, "'input' must be text: token arrays (arrays of integers) are not supported, send the strings", { param: 'input' });
    }
    if (texts.length > maxInputs) throw new HttpProblem(400, `'input' has ${texts.length} items; at most ${maxInputs} per request`, { param: 'input' });
    texts.forEach((text: string, index) => {
      if (text.length === 0) throw new HttpProblem(400, `'input[${index}]' is empty`, { param: 'input' });
      const tokens = estimateTokens(text);
      if (tokens > maxTokensPerInput) throw new HttpProblem(400, `'input[${index}]' is about ${tokens} tokens; at most ${maxTokensPerInput} per input`, { param: 'input', code: 'context_length_exceeded' });
    });
    const format = body.encoding_format ?? 'float';
    const dimension = await embedding.embedder.dimension();
    if (body.dimensions !== undefined && body.dimensions !== null && body.dimensions !== dimension) {
      throw new HttpProblem(400, `'dimensions' must be ${dimension} for this model (vectors are not truncated)`, { param: 'dimensions' });
    }
    const isQuery = (body.input_type ?? 'document') === 'query';
    const asked = thinkingOf(body, isQuery && body.think !== false, '');
    if (!isQuery && THINKING_FIELDS.some((key) => body[key] !== undefined && body[key] !== null)) {
      throw new HttpProblem(400, 'thinking settings apply to queries: add "input_type": "query"', { param: 'input_type' });
    }
    const strings = texts as string[];
    const result = await guarded(request, async (signal) => {
      if (!isQuery) return { ...(await embedding.embedDocuments(strings, signal)), thoughts: undefined };
      if (asked === undefined) return { ...(await embedding.embedQueries(strings, signal)), thoughts: strings.map((): string[] => []) };
      const thoughts = await asked.thinking.think(strings, asked.request, signal);
      return { ...(await embedding.embedThinkingQueries(strings, thoughts, signal)), thoughts };
    });
    return {
      object: 'list',
      model: embedding.embedder.model,
      data: result.vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: format === 'base64' ? base64Vector(vector) : Array.from(vector),
        ...(result.thoughts === undefined ? {} : { thoughts: result.thoughts[index] }),
      })),
      usage: { prompt_tokens: result.tokens, total_tokens: result.tokens },
    };
  };

  const searchRoute = async (request: FastifyRequest): Promise<unknown> => {
    const started = performance.now();
    if (search === undefined) throw new HttpProblem(404, 'this server has no search index (start it with --retriever and --data or --corpus)');
    const source = search;
    const body = request.body as Record<string, unknown>;
    const retriever = chosenRetriever(source, body.retriever as string | undefined);
    const query = body.query as string;
    if (query.trim() === '') throw new HttpProblem(400, "'query' is empty", { param: 'query' });
    if (estimateTokens(query) > maxTokensPerInput) throw new HttpProblem(400, `'query' is about ${estimateTokens(query)} tokens; at most ${maxTokensPerInput}`, { param: 'query', code: 'context_length_exceeded' });
    const hits = (body.hits as number | undefined) ?? 10;
    if (hits > maxHits) throw new HttpProblem(400, `'hits' must be at most ${maxHits}`, { param: 'hits' });
    const thinker = body.thinker;
    if (thinker !== undefined && thinker !== null && thinker !== false && thinker !== true && !isRecord(thinker)) {
      throw new HttpProblem(400, "'thinker' must be false (no thinking) or an object of thinking settings", { param: 'thinker' });
    }
    const settings = isRecord(thinker) ? thinker : {};
    const asked = thinkingOf(settings, thinker !== false, 'thinker.');
    if (isRecord(thinker) && thinking === undefined) {
      throw new HttpProblem(400, "'thinker': this server has no thinker of its own (start it with --model or --thinker)", { param: 'thinker' });
    }
    const found = await guarded(request, async (signal) => {
      let thoughts: string[] | undefined;
      if (asked !== undefined) [thoughts] = await asked.thinking.think([query], asked.request, signal);
      // Thoughts are handed to the retriever; `false` hands it none, so it searches the query alone.
      const given = thinker === false || (thinking !== undefined && asked === undefined) ? [] : thoughts;
      const ranked = await retriever.search(query, { hits, quiet: true, signal, thoughts: given === undefined ? undefined : new Map([['', given]]) });
      return { ranked, thoughts: thoughts ?? ranked[0]?.thoughts ?? [] };
    });
    const documents = await source.documents(found.ranked.map((hit) => hit.id));
    const snippetChars = (body.snippet_chars as number | undefined) ?? 200;
    return {
      object: 'list',
      query,
      retriever: retriever.name,
      thoughts: found.thoughts,
      hits: found.ranked.map((hit, index) => {
        const document = documents[index];
        const marked = document === undefined ? { text: '', highlights: [] } : highlightedSnippet(document.text, query, { maxChars: snippetChars });
        return { id: hit.id, title: document?.title ?? '', snippet: marked.text, highlights: marked.highlights, score: hit.score, thoughts: hit.thoughts ?? found.thoughts };
      }),
      latency_ms: Math.round((performance.now() - started) * 10) / 10,
    };
  };

  const completionsRoute = (kind: 'chat' | 'text') => async (request: FastifyRequest): Promise<unknown> => {
    const thinker = options.thinker;
    if (thinker === undefined) throw new HttpProblem(404, 'this server has no thinker: completions are not served');
    return guarded(request, (signal) => completions(thinker, request.body as Record<string, unknown>, kind, { maxN, counts: stats, signal }));
  };

  // The OpenAI routes answer with and without the /v1 prefix.
  for (const prefix of ['/v1', '']) {
    app.post(`${prefix}/embeddings`, { schema: embeddingsSchema }, embeddingsRoute);
    app.post(`${prefix}/chat/completions`, { schema: objectBody }, completionsRoute('chat'));
    app.post(`${prefix}/completions`, { schema: objectBody }, completionsRoute('text'));
    app.get(`${prefix}/models`, async () => ({ object: 'list', data: modelIds().map((id) => ({ id, object: 'model', created: 0, owned_by: 'o1-embedder' })) }));
  }
  app.post('/v1/search', { schema: searchSchema }, searchRoute);
  if (options.ui === true) {
    if (search === undefined) throw new O1Error('BAD_ARGUMENT', 'the search page (ui) needs a search source (an index, or a retriever and documents)', { field: 'ui' });
    app.get('/', async (_request: FastifyRequest, reply: FastifyReply) => {
      const page = searchPage();
      void reply.header('content-security-policy', page.contentSecurityPolicy).header('x-content-type-options', 'nosniff').type('text/html; charset=utf-8');
      return page.html;
    });
  }
  app.get('/health', async () => ({
    status: closing ? 'closing' : 'ok',
    models: modelIds(),
    thinking: thinking !== undefined,
    search: search === undefined ? null : { retriever: search.retriever.name, retrievers: search.retrieverNames?.() ?? [search.retriever.name], documents: search.retriever.statistics().documents },
    in_flight: inFlight,
    queue: { document: embedding?.documents.depth ?? 0, query: embedding?.queries.depth ?? 0, think: thinking?.depth ?? 0 },
    // Items in the batch each queue is running now (a batch runs on after its callers have gone).
    running: { document: embedding?.documents.inFlight ?? 0, query: embedding?.queries.inFlight ?? 0, think: thinking?.inFlight ?? 0 },
  }));
  app.get('/metrics', async (_request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('content-type', PROMETHEUS_CONTENT_TYPE);
    return metrics.render();
  });

  try {
    await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  } catch (error) {
    if (ownsSearch) await search?.close?.();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}/v1`,
    host: address.address,
    port: address.port,
    stats,
    metrics,
    app,
    search,
    close: () => {
      closed ??= (async () => {
        closing = true;
        // Stops listening, closes idle keep-alive connections and waits for requests in flight.
        await app.close();
        await embedding?.close();
        await thinking?.close();
        if (ownsSearch) await search?.close?.();
      })();
      return closed;
    },
  };
}

/** The retriever a search asks for by name (default the source's own); 400 for a name the source does not have. */
function chosenRetriever(source: SearchSource, name: string | undefined): Retriever {
  if (name === undefined || name === source.retriever.name) return source.retriever;
  const names = source.retrieverNames?.() ?? [source.retriever.name];
  if (!names.includes(name) || source.retrieverNamed === undefined) {
    throw new HttpProblem(400, `'retriever': this server searches ${names.map((known) => `'${known}'`).join(', ')}, not '${name}'`, { param: 'retriever' });
  }
  return source.retrieverNamed(name);
}
