/** The tokenizer contract shared by every implementation (Hugging Face, llama2.c, trained BPE). */

/** Which implementation a tokenizer is. */
export type TokenizerKind = 'huggingface' | 'sentencepiece-bpe';

export interface EncodeOptions {
  /**
   * Add the tokenizer's own beginning-of-sequence tokens. Default true. For Hugging Face
   * tokenizers this is `add_special_tokens` (the post-processor's template: `<s>` for Llama,
   * nothing for Qwen2); for llama2.c it prepends BOS (id 1).
   */
  addBos?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, added special tokens) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

export interface BatchOptions extends EncodeOptions {
  /** Truncate every sequence to at most this many tokens. Default: no truncation. */
  maxLength?: number;
  /** Which end truncation cuts. Default `right` (keep the beginning), as Hugging Face does. */
  truncationSide?: 'left' | 'right';
  /** Round the padded length up to a multiple of this (e.g. 8). Default 1. */
  padToMultipleOf?: number;
}

/**
 * A padded batch: every row has `sequenceLength` entries, padding on the LEFT (so the last
 * position of every row is a real token, which last-token pooling needs). `attentionMask` is 1 on
 * real tokens, 0 on padding.
 */
export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
  sequenceLength: number;
}

/** A batch flattened row-major into typed arrays of shape [batchSize, sequenceLength]. */
export interface PackedBatch<T extends Int32Array | BigInt64Array> {
  inputIds: T;
  attentionMask: T;
  batchSize: number;
  sequenceLength: number;
}

/** llama.cpp's token types (`tokenizer.ggml.token_type`). */
export const GGUF_TOKEN_TYPE = {
  undefined: 0,
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

/**
 * What a GGUF file needs to describe a tokenizer (`tokenizer.ggml.*`). `llama` is SentencePiece
 * (merge by score, byte fallback, `▁` for spaces); `gpt2` is byte-level BPE with ranked merges.
 */
export interface GgufTokenizerMetadata {
  model: 'llama' | 'gpt2';
  /** llama.cpp pre-tokenizer name for gpt2 vocabularies (`gpt-2`, `qwen2`, `llama-bpe`, `default`). */
  pre?: string;
  tokens: string[];
  scores?: number[];
  tokenTypes: number[];
  /** `"left right"` strings, highest priority first (gpt2 only). */
  merges?: string[];
  bosTokenId?: number;
  eosTokenId?: number;
  unknownTokenId?: number;
  paddingTokenId?: number;
  addBosToken?: boolean;
  addEosToken?: boolean;
  /** SentencePiece's leading-space dummy prefix (llama only). */
  addSpacePrefix?: boolean;
  chatTemplate?: string;
}

/**
 * A tokenizer. Ids are dense in [0, vocabSize).
 *
 * @example
 * const tokenizer = await loadTokenizer('models/qwen/tokenizer.json')
 * const [emb] = tokenizer.addSpecialTokens(['<emb>'])
 * const batch = tokenizer.encodeBatch(['a query', 'another'], { maxLength: 256 })
 */
export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids, added tokens included. */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  /** Padding id: the tokenizer's pad token, else EOS, else 0. */
  readonly padTokenId: number;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Whether an id is a special token (control or added special). */
  isSpecialToken(id: number): boolean;
  /**
   * Adds special tokens that always encode atomically; returns their ids in order. Idempotent: a
   * token already in the vocabulary keeps its id (and becomes special).
   */
  addSpecialTokens(tokens: readonly string[]): number[];
  /** Encodes texts into a left-padded, optionally truncated batch. */
  encodeBatch(texts: readonly string[], options?: BatchOptions): BatchEncoding;
  /** The `tokenizer.ggml.*` description of this vocabulary, for the GGUF writer. */
  ggufMetadata(): GgufTokenizerMetadata;
}
