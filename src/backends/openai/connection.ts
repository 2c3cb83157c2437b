import type { Settings } from '../settings.js';
import type { OpenAiClientOptions } from './client.js';

/** Connection settings shared by the `openai` thinker and embedder (JSON config keys). */
export interface OpenAiConnectionConfig {
  /** API root including the version. Default `https://api.openai.com/v1`. */
  baseUrl?: string;
  /** API key; prefer `apiKeyEnv` so configs hold no secrets. */
  apiKey?: string;
  /** Environment variable holding the API key. Default `OPENAI_API_KEY` when `apiKey` is unset. */
  apiKeyEnv?: string;
  /** Most requests in flight. Default 4. */
  concurrency?: number;
  /** Retries on 429, 5xx, timeouts and network errors. Default 5. */
  retries?: number;
  /** Per-try timeout in milliseconds. Default 120,000. */
  timeoutMs?: number;
  /** First backoff in milliseconds (doubles per retry, with jitter). Default 500. */
  backoffMs?: number;
  /** Longest backoff in milliseconds. Default 30,000. */
  maxBackoffMs?: number;
}

/** Reads the connection keys: client options, and the same settings minus the secret for `config()`. */
export function clientSettings(settings: Settings): { client: OpenAiClientOptions; public: OpenAiConnectionConfig } {
  const baseUrl = settings.string('baseUrl', 'https://api.openai.com/v1');
  const apiKeyValue = settings.optionalString('apiKey');
  const apiKeyEnv = settings.optionalString('apiKeyEnv');
  const concurrency = settings.integer('concurrency', 4, 1);
  const retries = settings.integer('retries', 5, 0);
  const timeoutMs = settings.integer('timeoutMs', 120_000, 1);
  const backoffMs = settings.integer('backoffMs', 500, 0);
  const maxBackoffMs = settings.integer('maxBackoffMs', 30_000, 0);
  const apiKey = apiKeyValue ?? process.env[apiKeyEnv ?? 'OPENAI_API_KEY'];
  const shared = { baseUrl, concurrency, retries, timeoutMs, backoffMs, maxBackoffMs };
  return {
    client: { ...shared, apiKey },
    public: apiKeyEnv === undefined ? shared : { ...shared, apiKeyEnv },
  };
}
