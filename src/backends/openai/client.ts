/**
 * A minimal client for OpenAI-compatible HTTP APIs (OpenAI, vLLM, llama.cpp's server, ours):
 * JSON POSTs with an API key, a cap on requests in flight, a per-request timeout, and retries
 * with exponential backoff and jitter on 429, 5xx, timeouts and network errors. No SDK.
 */
import { O1Error } from '../../errors.js';
import { Semaphore } from '../../util/semaphore.js';

export interface OpenAiClientOptions {
  /** API root including the version, e.g. `http://127.0.0.1:8080/v1`. Default `https://api.openai.com/v1`. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer KEY` when set. Default: none. */
  apiKey?: string;
  /** Most requests in flight at once. Default 4. */
  concurrency?: number;
  /** Retries after the first try (so `retries + 1` tries in all). Default 5. */
  retries?: number;
  /** Per-try timeout in milliseconds. Default 120,000. */
  timeoutMs?: number;
  /** First backoff in milliseconds; doubles each retry. Default 500. */
  backoffMs?: number;
  /** Longest backoff (and longest honoured `Retry-After`) in milliseconds. Default 30,000. */
  maxBackoffMs?: number;
  /** Random source for the jitter, in [0, 1). Default Math.random. */
  random?: () => number;
}

/** What happened on each try, for logs and tests. */
export interface RequestEvent {
  path: string;
  attempt: number;
  /** HTTP status, or 0 for a timeout or network error. */
  status: number;
  /** Milliseconds waited before the next try, when there is one. */
  retryInMs?: number;
  error?: string;
}

const RETRYABLE_STATUS = (status: number): boolean => status === 429 || status === 408 || status >= 500;

/**
 * @example
 * const client = new OpenAiClient({ baseUrl: 'http://127.0.0.1:8080/v1', concurrency: 2 });
 * const body = await client.post<{ data: unknown[] }>('/embeddings', { model: 'm', input: ['hi'] });
 */
export class OpenAiClient {
  readonly baseUrl: string;
  private readonly apiKey?: string;
  private readonly gate: Semaphore;
  private readonly retries: number;
  private readonly timeoutMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  /** Called after every try; set by callers that log or count. */
  onEvent?: (event: RequestEvent) => void;

  constructor(options: OpenAiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.gate = new Semaphore(options.concurrency ?? 4);
    this.retries = options.retries ?? 5;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** Requests in flight now (at most `concurrency`). */
  get inFlight(): number {
    return this.gate.inUse;
  }

  /** GETs `path` (relative to the base URL) and parses the JSON answer, with the retry policy of {@link post}. */
  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  /**
   * POSTs `body` as JSON to `path` and parses the JSON answer. Retries 408, 429, 5xx, timeouts
   * and network errors; any other status rejects at once with O1Error HTTP_ERROR carrying the
   * server's message.
   */
  post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', path, JSON.stringify(body), signal);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body: string | undefined, signal?: AbortSignal): Promise<T> {
    const url = `${this.baseUrl}${path.startsWith('/') ? path : `/${path}`}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey !== undefined && this.apiKey !== '') headers.authorization = `Bearer ${this.apiKey}`;
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const outcome = await this.gate.run(() => this.try(method, url, headers, body, signal));
      const last = attempt >= this.retries;
      if (outcome.kind === 'ok') {
        this.onEvent?.({ path, attempt, status: outcome.status });
        return outcome.value as T;
      }
      if (outcome.kind === 'fatal' || last) {
        this.onEvent?.({ path, attempt, status: outcome.status, error: outcome.message });
        const tries = attempt + 1;
        throw new O1Error('HTTP_ERROR', `${method} ${url}: ${outcome.message}${tries > 1 ? ` (after ${tries} tries)` : ''}`, { field: path });
      }
      const delay = this.backoff(attempt, outcome.retryAfterMs);
      this.onEvent?.({ path, attempt, status: outcome.status, retryInMs: delay, error: outcome.message });
      await sleep(delay, signal);
    }
  }

  /** Exponential backoff with "equal jitter" (half fixed, half random), or the server's Retry-After. */
  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, this.maxBackoffMs);
    const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private async try(method: string, url: string, headers: Record<string, string>, body: string | undefined, signal?: AbortSignal): Promise<TryOutcome> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method, headers, body, signal: combined });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const message = timeout.aborted ? `timed out after ${this.timeoutMs} ms` : describeNetworkError(error);
      return { kind: 'retry', status: 0, message };
    }
    if (response.ok) {
      try {
        return { kind: 'ok', status: response.status, value: JSON.parse(text) };
      } catch {
        return { kind: 'fatal', status: response.status, message: `answer is not JSON: ${text.slice(0, 200)}` };
      }
    }
    const message = `HTTP ${response.status}: ${errorMessage(text)}`;
    if (!RETRYABLE_STATUS(response.status)) return { kind: 'fatal', status: response.status, message };
    return { kind: 'retry', status: response.status, message, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
  }
}

type TryOutcome =
  | { kind: 'ok'; status: number; value: unknown }
  | { kind: 'retry'; status: number; message: string; retryAfterMs?: number }
  | { kind: 'fatal'; status: number; message: string };

/** The `error.message` of an OpenAI-style error body, else the body's start. */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof body.error === 'string') return body.error;
    if (typeof body.error?.message === 'string') return body.error.message;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 200) || '(empty body)';
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
