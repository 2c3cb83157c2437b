/**
 * OpenAI-shaped errors: every failure the server answers is
 * `{ "error": { "message", "type", "param", "code" } }` with a fitting HTTP status, whether it
 * came from our validation ({@link HttpProblem}), from a backend ({@link O1Error}) or from
 * Fastify itself (body too large, malformed JSON, schema validation).
 */
import { O1Error, type ErrorCode } from '../errors.js';

/** The body of an error answer, as OpenAI's API sends it. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** OpenAI's error `type` for a status. */
function typeOf(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

/**
 * An error the server answers as it is: a status, a message, the request field at fault.
 *
 * @example
 * throw new HttpProblem(400, "'input' must be a string or an array of strings", { param: 'input' });
 */
export class HttpProblem extends Error {
  readonly status: number;
  readonly param: string | null;
  readonly code: string | null;
  readonly type: string;

  constructor(status: number, message: string, options: { param?: string; code?: string; type?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'HttpProblem';
    this.status = status;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.type = options.type ?? typeOf(status);
  }
}

/** HTTP statuses for our error codes; everything else is a 500. */
const STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_ARGUMENT: 400,
  MISSING_FIELD: 400,
  MALFORMED_JSON: 400,
  MISSING_THOUGHT: 400,
  OVERLOADED: 429,
  HTTP_ERROR: 502,
  // A request cancelled by its own client: nobody reads the answer (nginx's "client closed request").
  CANCELLED: 499,
};

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
  validation?: { instancePath?: string; params?: { missingProperty?: string; additionalProperty?: string } }[];
}

/**
 * The status and body for any error.
 *
 * @example
 * problemOf(new O1Error('OVERLOADED', 'queue full')) // { status: 429, body: { error: { type: 'rate_limit_error', code: 'OVERLOADED', ... } } }
 */
export function problemOf(error: unknown): { status: number; body: OpenAiErrorBody } {
  if (error instanceof HttpProblem) {
    return { status: error.status, body: { error: { message: error.message, type: error.type, param: error.param, code: error.code } } };
  }
  if (error instanceof O1Error) {
    const status = STATUS_OF_CODE[error.code] ?? 500;
    return { status, body: { error: { message: error.message, type: typeOf(status), param: error.location.field ?? null, code: error.code } } };
  }
  const fastify = (error ?? {}) as FastifyLikeError;
  if (fastify.validation !== undefined && fastify.validation.length > 0) {
    // Schema validation: name the field ("/input" -> input, a missing one by its name).
    const first = fastify.validation[0];
    const path = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const param = first.params?.missingProperty ?? first.params?.additionalProperty ?? (path === '' ? null : path);
    return { status: 400, body: { error: { message: fastify.message ?? 'invalid request body', type: 'invalid_request_error', param, code: null } } };
  }
  const status = typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 600 ? fastify.statusCode : 500;
  const message = fastify.message ?? String(error);
  return { status, body: { error: { message, type: typeOf(status), param: null, code: typeof fastify.code === 'string' && status < 500 ? fastify.code : null } } };
}
