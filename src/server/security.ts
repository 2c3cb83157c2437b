/**
 * API keys and CORS. Keys are compared in constant time: the SHA-256 digests of the presented
 * key and of each accepted key (equal lengths, so `crypto.timingSafeEqual` applies) are compared
 * against every accepted key without stopping early, so neither the key's length nor which key
 * matched shows in the timing. CORS is off unless an origin is configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { O1Error } from '../errors.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The accepted API keys.
 *
 * @example
 * const keys = new ApiKeys(['key-one', 'key-two']);
 * keys.accepts('Bearer key-two') // true
 * keys.accepts('Bearer nope') // false
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    if (keys.length === 0 || keys.some((key) => typeof key !== 'string' || key.length === 0)) {
      throw new O1Error('BAD_ARGUMENT', 'API keys must be non-empty strings (give at least one)', { field: 'apiKey' });
    }
    this.digests = keys.map(digest);
  }

  /** Whether an `Authorization` header value (`Bearer KEY`) carries an accepted key. */
  accepts(authorization: string | undefined): boolean {
    const match = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
    // A missing header is still compared, against an impossible key, so it costs the same.
    const presented = digest(match?.[1] ?? '\u0000no key');
    let accepted = false;
    for (const candidate of this.digests) accepted = timingSafeEqual(presented, candidate) || accepted;
    return accepted && match !== null;
  }
}

/**
 * Reads API keys from an environment variable: comma-separated, white space around each key
 * ignored. Throws BAD_ARGUMENT when the variable is unset or holds no key.
 *
 * @example
 * apiKeysFromEnvironment('O1E_API_KEYS', { O1E_API_KEYS: 'one, two' }) // ['one', 'two']
 */
export function apiKeysFromEnvironment(name: string, environment: NodeJS.ProcessEnv = process.env): string[] {
  const value = environment[name];
  const keys = (value ?? '').split(',').map((key) => key.trim()).filter((key) => key !== '');
  if (keys.length === 0) throw new O1Error('BAD_ARGUMENT', `--api-key-env ${name}: the environment variable is ${value === undefined ? 'not set' : 'empty'}; put one key or several comma-separated keys in it`, { field: 'api-key-env' });
  return keys;
}

/** Headers a preflight is allowed when it names none (browser clients such as `openai` send `x-stainless-*` too, and name them). */
const DEFAULT_ALLOWED_HEADERS = 'authorization, content-type';

/**
 * The CORS headers for a request from `origin`, when `allowed` (`*` or one exact origin)
 * admits it; none otherwise (and none at all when CORS is off: `allowed` undefined). A
 * preflight (`OPTIONS`) also gets the methods, the headers it asked for
 * (`Access-Control-Request-Headers`; default authorization and content-type) and a max age.
 *
 * @example
 * corsHeaders('https://app.example', 'https://app.example', { requestHeaders: 'authorization' })
 * // { 'access-control-allow-origin': 'https://app.example', vary: 'Origin', 'access-control-allow-methods': 'GET, POST, OPTIONS', ... }
 */
export function corsHeaders(allowed: string | undefined, origin: string | undefined, preflight: false | { requestHeaders?: string } = false): Record<string, string> {
  if (allowed === undefined || origin === undefined) return {};
  if (allowed !== '*' && allowed !== origin) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': allowed === '*' ? '*' : origin, vary: 'Origin' };
  if (preflight !== false) {
    headers['access-control-allow-methods'] = 'GET, POST, OPTIONS';
    headers['access-control-allow-headers'] = preflight.requestHeaders ?? DEFAULT_ALLOWED_HEADERS;
    headers['access-control-max-age'] = '600';
  }
  return headers;
}
