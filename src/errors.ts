/**
 * One table of error codes for the whole package (after Orama's single table).
 * Every error we throw is an {@link O1Error} carrying one of these codes, so callers can
 * branch on `error.code` instead of parsing messages.
 */
export const ERROR_CODES = {
  // data
  MALFORMED_JSON: 'a line is not valid JSON',
  MISSING_FIELD: 'a required field is missing or has the wrong type',
  DUPLICATE_ID: 'an id appears twice where ids must be unique',
  BAD_RELEVANCE: 'a relevance value is not an integer',
  MALFORMED_LINE: 'a line does not have the expected columns',
  DUPLICATE_DOCUMENT_IN_RUN: 'a document appears twice in one query of a run',
  MISSING_FILE: 'a required file does not exist',
  // evaluation
  UNKNOWN_MEASURE: 'a measure name is not known',
  BAD_ARGUMENT: 'a command-line argument or option is invalid',
  // retrieval
  CORRUPT_INDEX: 'an index file is corrupt, truncated or of another version',
  UNKNOWN_RETRIEVER: 'a retriever name is not registered',
  // engine and models
  SHAPE_MISMATCH: 'tensor shapes do not agree',
  UNSUPPORTED_OP: 'an operation or data type is not supported',
  CORRUPT_MODEL_FILE: 'a model file is corrupt or truncated',
  UNKNOWN_ARCHITECTURE: 'a model architecture is not supported',
  MISSING_TENSOR: 'a tensor the model needs is missing from the file',
  CORRUPT_TOKENIZER: 'a tokenizer file is corrupt or not understood',
  GRADIENT_CHECK_FAILED: 'an analytic gradient disagrees with finite differences',
  BAD_SCORE: 'a score is not a finite number',
  // backends, server and synthesis
  UNKNOWN_BACKEND: 'a thinker or embedder backend name is not registered',
  HTTP_ERROR: 'a remote server answered with an error, timed out or could not be reached (after retries)',
  GENERATION_FAILED: 'a model produced no usable output',
  CANCELLED: 'the work was cancelled through its AbortSignal',
  MISSING_THOUGHT: 'a thoughts file has no thoughts for a query',
  OVERLOADED: 'a queue is full (too much work waiting); retry later',
  // indexes and vector stores
  INDEX_MISMATCH: 'an index was built with another model, dimension, retriever or format version',
  STORE_ERROR: 'a vector store (a file, usearch or a database) failed',
  // O1 model
  MISSING_SPECIAL_TOKENS: 'a tokenizer lacks the O1 tokens (<query>, </query>, <thought>, <emb>) or an EOS: not an O1 Embedder model',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Where an error happened: a file and, when known, a 1-based line, or a field/tensor name. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  field?: string;
}

/**
 * The package's only error type.
 *
 * @example
 * try { await readCorpus('corpus.jsonl') } catch (error) {
 *   if (error instanceof O1Error && error.code === 'DUPLICATE_ID') console.error(error.location)
 * }
 */
export class O1Error extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation;

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(formatMessage(message, location), options);
    this.name = 'O1Error';
    this.code = code;
    this.location = location;
  }
}

function formatMessage(message: string, location: ErrorLocation): string {
  const where: string[] = [];
  if (location.file !== undefined) where.push(location.line !== undefined ? `${location.file}:${location.line}` : location.file);
  if (location.field !== undefined) where.push(`field ${location.field}`);
  return where.length > 0 ? `${where.join(', ')}: ${message}` : message;
}
