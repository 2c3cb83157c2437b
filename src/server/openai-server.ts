/**
 * An OpenAI-compatible HTTP server (node:http, no framework) over any {@link Thinker} and
 * {@link Embedder}: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/models`
 * (the `/v1` prefix is optional, as in llama.cpp's server). Non-streaming only. Errors are
 * OpenAI-shaped: `{ "error": { "message", "type", "param", "code" } }`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Embedder } from '../backends/embedder.js';
import type { ChatMessage, GenerateOptions, Thinker } from '../backends/thinker.js';

export interface OpenAiServerOptions {
  /** Serves the chat and text completion endpoints. Default: none (those answer 404). */
  thinker?: Thinker;
  /** Serves `/v1/embeddings`. Default: none (it answers 404). */
  embedder?: Embedder;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** When set, requests must send `Authorization: Bearer KEY` (else 401). Default: none. */
  apiKey?: string;
  /** Largest accepted request body in bytes. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Most completions per request (`n`). Default 16. */
  maxN?: number;
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

export interface RunningServer {
  /** Base URL for clients, including `/v1`, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly stats: ServerStats;
  /** Stops listening, drops idle connections and waits for requests in progress. Does not close the backends. */
  close(): Promise<void>;
}

class HttpProblem extends Error {
  constructor(readonly status: number, message: string, readonly param?: string, readonly type = status >= 500 ? 'server_error' : 'invalid_request_error') {
    super(message);
  }
}

/**
 * Starts the server; resolves once it listens.
 *
 * @example
 * const server = await startOpenAiServer({ thinker, embedder, port: 0 });
 * const client = new OpenAiThinker({ backend: 'openai', baseUrl: server.url, model: thinker.model });
 * await server.close();
 */
export async function startOpenAiServer(options: OpenAiServerOptions): Promise<RunningServer> {
  const stats: ServerStats = { requests: {}, completions: 0, emptyCompletions: 0, embeddedTexts: 0 };
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxN = options.maxN ?? 16;

  const server = createServer((request, response) => {
    const abort = new AbortController();
    // A client that hangs up cancels its generation.
    response.on('close', () => {
      if (!response.writableFinished) abort.abort(new Error('client closed the connection'));
    });
    handle(request, response, abort.signal).catch((error: unknown) => {
      const problem = error instanceof HttpProblem ? error : new HttpProblem(500, (error as Error)?.message ?? String(error));
      sendJson(response, problem.status, { error: { message: problem.message, type: problem.type, param: problem.param ?? null, code: null } });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse, signal: AbortSignal): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '').replace(/^\/v1(?=\/)/, '');
    const route = `${request.method} /v1${path}`;
    stats.requests[route] = (stats.requests[route] ?? 0) + 1;
    if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      request.resume();
      throw new HttpProblem(401, 'invalid or missing API key', undefined, 'authentication_error');
    }
    const routes: Record<string, () => Promise<unknown>> = {
      'GET /models': async () => models(),
      'POST /chat/completions': async () => completions(await readJson(request, maxBodyBytes), 'chat', signal),
      'POST /completions': async () => completions(await readJson(request, maxBodyBytes), 'text', signal),
      'POST /embeddings': async () => embeddings(await readJson(request, maxBodyBytes)),
    };
    const action = routes[`${request.method} ${path}`];
    if (action === undefined) {
      request.resume();
      const known = Object.keys(routes).some((key) => key.endsWith(` ${path}`));
      throw new HttpProblem(known ? 405 : 404, known ? `method ${request.method} not allowed on ${path}` : `no route ${request.method} ${path}`);
    }
    sendJson(response, 200, await action());
  }

  function models(): unknown {
    const ids = [...new Set([options.thinker?.model, options.embedder?.model].filter((id): id is string => id !== undefined))];
    return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'o1-embedder' })) };
  }

  async function completions(body: Record<string, unknown>, kind: 'chat' | 'text', signal: AbortSignal): Promise<unknown> {
    const thinker = options.thinker;
    if (thinker === undefined) throw new HttpProblem(404, 'this server has no thinker: completions are not served');
    if (body.stream === true) throw new HttpProblem(400, 'streaming is not supported', 'stream');
    const generateOptions: GenerateOptions = { ...samplingOptions(body, maxN), signal };
    const n = generateOptions.n ?? 1;
    const created = Math.floor(Date.now() / 1000);
    if (kind === 'chat') {
      const messages = chatMessages(body.messages);
      const [texts] = await thinker.generate([messages], generateOptions);
      count(texts);
      return {
        id: `chatcmpl-${randomUUID()}`, object: 'chat.completion', created, model: thinker.model,
        choices: texts.map((content, index) => ({ index, message: { role: 'assistant', content }, logprobs: null, finish_reason: 'stop' })),
      };
    }
    const prompts = textPrompts(body.prompt);
    const results = await thinker.generate(prompts, generateOptions);
    results.forEach(count);
    return {
      id: `cmpl-${randomUUID()}`, object: 'text_completion', created, model: thinker.model,
      // OpenAI's layout: the n choices of prompt p are at indices p * n .. p * n + n - 1.
      choices: results.flatMap((texts, prompt) => texts.map((text, index) => ({ index: prompt * n + index, text, logprobs: null, finish_reason: 'stop' }))),
    };
  }

  function count(texts: string[]): void {
    stats.completions += texts.length;
    stats.emptyCompletions += texts.filter((text) => text.trim() === '').length;
  }

  async function embeddings(body: Record<string, unknown>): Promise<unknown> {
    const embedder = options.embedder;
    if (embedder === undefined) throw new HttpProblem(404, 'this server has no embedder: embeddings are not served');
    const input = body.input;
    const texts = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(texts) || texts.length === 0 || !texts.every((text) => typeof text === 'string')) {
      throw new HttpProblem(400, "'input' must be a string or a non-empty array of strings (token arrays are not supported)", 'input');
    }
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') throw new HttpProblem(400, "'encoding_format' must be 'float' or 'base64'", 'encoding_format');
    if (body.dimensions !== undefined && body.dimensions !== (await embedder.dimension())) {
      throw new HttpProblem(400, `'dimensions' must be ${await embedder.dimension()} for this model (no truncation)`, 'dimensions');
    }
    const inputType = body.input_type ?? 'document';
    if (inputType !== 'query' && inputType !== 'document') throw new HttpProblem(400, "'input_type' must be 'query' or 'document'", 'input_type');
    const { vectors, usage } = inputType === 'query' ? await embedder.embedQueries(texts as string[]) : await embedder.embedDocuments(texts as string[]);
    stats.embeddedTexts += vectors.length;
    return {
      object: 'list', model: embedder.model,
      data: vectors.map((vector, index) => ({
        object: 'embedding', index,
        embedding: format === 'base64' ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64') : Array.from(vector),
      })),
      usage: { prompt_tokens: usage.tokens, total_tokens: usage.tokens },
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/v1`,
    host: address.address,
    port: address.port,
    stats,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeIdleConnections();
    }),
  };
}

function samplingOptions(body: Record<string, unknown>, maxN: number): GenerateOptions {
  const options: GenerateOptions = {};
  const n = optionalNumber(body, 'n');
  if (n !== undefined) {
    if (!Number.isInteger(n) || n < 1 || n > maxN) throw new HttpProblem(400, `'n' must be an integer from 1 to ${maxN}`, 'n');
    options.n = n;
  }
  const temperature = optionalNumber(body, 'temperature');
  if (temperature !== undefined) {
    if (temperature < 0) throw new HttpProblem(400, "'temperature' must be >= 0", 'temperature');
    options.temperature = temperature;
  }
  const topP = optionalNumber(body, 'top_p');
  if (topP !== undefined) {
    if (topP <= 0 || topP > 1) throw new HttpProblem(400, "'top_p' must be in (0, 1]", 'top_p');
    options.topP = topP;
  }
  const maxTokens = optionalNumber(body, 'max_completion_tokens') ?? optionalNumber(body, 'max_tokens');
  if (maxTokens !== undefined) {
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new HttpProblem(400, "'max_tokens' must be a positive integer", 'max_tokens');
    options.maxTokens = maxTokens;
  }
  const seed = optionalNumber(body, 'seed');
  if (seed !== undefined) {
    if (!Number.isInteger(seed)) throw new HttpProblem(400, "'seed' must be an integer", 'seed');
    options.seed = seed;
  }
  const stop = body.stop;
  if (stop !== undefined && stop !== null) {
    const stops = typeof stop === 'string' ? [stop] : stop;
    if (!Array.isArray(stops) || !stops.every((item) => typeof item === 'string')) throw new HttpProblem(400, "'stop' must be a string or an array of strings", 'stop');
    options.stop = stops.filter((item) => item !== '');
  }
  return options;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new HttpProblem(400, `'${key}' must be a number`, key);
  return value;
}

/** OpenAI messages (string content or text parts; `developer` counts as `system`) to ours. */
function chatMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpProblem(400, "'messages' must be a non-empty array", 'messages');
  return value.map((message: unknown, index) => {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    const mapped = role === 'developer' ? 'system' : role;
    if (mapped !== 'system' && mapped !== 'user' && mapped !== 'assistant') throw new HttpProblem(400, `messages[${index}].role must be system, user or assistant`, `messages[${index}].role`);
    let text: string;
    if (typeof content === 'string') text = content;
    else if (Array.isArray(content) && content.every((part) => part?.type === 'text' && typeof part.text === 'string')) text = content.map((part) => part.text as string).join('');
    else throw new HttpProblem(400, `messages[${index}].content must be a string or text parts`, `messages[${index}].content`);
    return { role: mapped, content: text };
  });
}

function textPrompts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')) return value as string[];
  throw new HttpProblem(400, "'prompt' must be a string or a non-empty array of strings (token arrays are not supported)", 'prompt');
}

async function readJson(request: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpProblem(413, `request body over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpProblem(400, `request body is not JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpProblem(400, 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
