/**
 * Hugging Face `tokenizer.json` tokenizers (byte-level BPE as Qwen2 and Llama 3, SentencePiece-
 * style BPE as Llama 2, and whatever else `@huggingface/tokenizers` understands), built from the
 * JSON object plus `tokenizer_config.json`. The JSON is kept so special tokens can be added (the
 * library has no API for it: we edit `added_tokens` and rebuild) and the tokenizer saved.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tokenizer as LibraryTokenizer } from '@huggingface/tokenizers';
import { O1Error } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { padBatch } from './batch.js';
import {
  GGUF_TOKEN_TYPE,
  type BatchEncoding,
  type BatchOptions,
  type DecodeOptions,
  type EncodeOptions,
  type GgufTokenizerMetadata,
  type Tokenizer,
} from './types.js';

/** One entry of `tokenizer.json`'s `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** The parts of `tokenizer.json` this module reads or edits; everything else is passed through. */
export interface TokenizerJson {
  added_tokens?: AddedTokenJson[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  decoder?: unknown;
  model: {
    type?: string;
    vocab?: Record<string, number> | [string, number][];
    merges?: (string | [string, number] | string[])[];
    unk_token?: string | null;
    byte_fallback?: boolean;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** `tokenizer_config.json` (only the fields used here are typed). */
export interface TokenizerConfigJson {
  bos_token?: TokenSpec;
  eos_token?: TokenSpec;
  pad_token?: TokenSpec;
  unk_token?: TokenSpec;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  additional_special_tokens?: string[];
  added_tokens_decoder?: Record<string, Omit<AddedTokenJson, 'id'>>;
  chat_template?: unknown;
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

type TokenSpec = string | { content: string } | null | undefined;

function tokenText(spec: TokenSpec): string | undefined {
  if (typeof spec === 'string') return spec;
  if (spec !== null && typeof spec === 'object' && typeof spec.content === 'string') return spec.content;
  return undefined;
}

/** llama.cpp pre-tokenizer names recognised from the split regex of common tokenizers. */
function detectPreTokenizer(json: TokenizerJson): string {
  const text = JSON.stringify(json.pre_tokenizer ?? null);
  if (text.includes('\\\\p{N}{1,3}')) return 'llama-bpe';
  if (text.includes("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}|")) return 'qwen2';
  if (/"type":"ByteLevel"[^}]*"use_regex":true/.test(text)) return 'gpt-2';
  return 'default';
}

/**
 * A tokenizer backed by `@huggingface/tokenizers`.
 *
 * @example
 * const tokenizer = await HuggingFaceTokenizer.load('models/qwen2.5-0.5b')  // folder or tokenizer.json
 * tokenizer.encode('Hello world', { addBos: false })
 */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly kind = 'huggingface' as const;
  private readonly json: TokenizerJson;
  private readonly config: TokenizerConfigJson;
  private readonly source: string;
  private library!: LibraryTokenizer;
  private vocabularySize = 0;
  private specialIds = new Set<number>();

  /**
   * @param tokenizerJson the parsed `tokenizer.json` (copied, never mutated)
   * @param tokenizerConfig the parsed `tokenizer_config.json` (default `{}`)
   * @param source file name used in error messages
   */
  constructor(tokenizerJson: unknown, tokenizerConfig: unknown = {}, source = 'tokenizer.json') {
    if (tokenizerJson === null || typeof tokenizerJson !== 'object' || typeof (tokenizerJson as TokenizerJson).model !== 'object') {
      throw new O1Error('CORRUPT_TOKENIZER', 'tokenizer.json has no model object', { file: source, field: 'model' });
    }
    this.json = structuredClone(tokenizerJson) as TokenizerJson;
    this.config = structuredClone((tokenizerConfig ?? {}) as TokenizerConfigJson);
    this.source = source;
    this.json.added_tokens ??= [];
    for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const) this.json[key] ??= null;
    this.rebuild();
  }

  /**
   * Loads `tokenizer.json` (a path to the file or to its folder) and, when present beside it,
   * `tokenizer_config.json`.
   *
   * @example
   * const tokenizer = await HuggingFaceTokenizer.load('out/tokenizer.json')
   */
  static async load(path: string): Promise<HuggingFaceTokenizer> {
    const isDirectory = existsSync(path) && statSync(path).isDirectory();
    const tokenizerPath = isDirectory ? join(path, 'tokenizer.json') : path;
    const configPath = join(dirname(tokenizerPath), 'tokenizer_config.json');
    const tokenizerJson = await readJson(tokenizerPath);
    const tokenizerConfig = existsSync(configPath) ? await readJson(configPath) : {};
    return new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig, tokenizerPath);
  }

  /** Builds a tokenizer from `{tokenizer, config}` objects (as `toJSON()` or the trainer return). */
  static fromJsonFiles(files: { tokenizer: unknown; config?: unknown }, source = 'tokenizer.json'): HuggingFaceTokenizer {
    return new HuggingFaceTokenizer(files.tokenizer, files.config ?? {}, source);
  }

  private rebuild(): void {
    try {
      this.library = new LibraryTokenizer(this.json, this.config);
    } catch (error) {
      throw new O1Error('CORRUPT_TOKENIZER', `tokenizer.json is not understood: ${(error as Error).message}`, { file: this.source }, { cause: error });
    }
    let maxId = -1;
    const vocab = this.json.model.vocab;
    if (Array.isArray(vocab)) maxId = vocab.length - 1;
    else if (vocab !== undefined) for (const id of Object.values(vocab)) maxId = Math.max(maxId, id);
    this.specialIds = new Set();
    for (const token of this.json.added_tokens ?? []) {
      maxId = Math.max(maxId, token.id);
      if (token.special) this.specialIds.add(token.id);
    }
    this.vocabularySize = maxId + 1;
  }

  get vocabSize(): number {
    return this.vocabularySize;
  }

  private idOfSpec(spec: TokenSpec): number | undefined {
    const text = tokenText(spec);
    return text === undefined ? undefined : this.library.token_to_id(text);
  }

  get bosTokenId(): number | undefined {
    return this.idOfSpec(this.config.bos_token);
  }

  get eosTokenId(): number | undefined {
    return this.idOfSpec(this.config.eos_token);
  }

  get padTokenId(): number {
    return this.idOfSpec(this.config.pad_token) ?? this.eosTokenId ?? 0;
  }

  private get unknownTokenId(): number | undefined {
    return this.idOfSpec(this.config.unk_token) ?? this.idOfSpec(this.json.model.unk_token);
  }

  isSpecialToken(id: number): boolean {
    return this.specialIds.has(id);
  }

  tokenToId(token: string): number | undefined {
    return this.library.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.library.id_to_token(id);
  }

  /** Encodes text; `addBos` (default true) is `add_special_tokens` of the post-processor. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const addBos = options.addBos ?? true;
    const ids = this.library.encode(text, { add_special_tokens: addBos }).ids;
    // Some Llama tokenizer.json files lack the BOS template and rely on add_bos_token instead.
    const bos = this.bosTokenId;
    if (addBos && this.config.add_bos_token === true && bos !== undefined && ids[0] !== bos) ids.unshift(bos);
    return ids;
  }

  /** Decodes ids (special tokens kept unless `skipSpecialTokens`, default false). */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.vocabularySize)) {
        throw new O1Error('BAD_ARGUMENT', `token id ${id} is outside the vocabulary of ${this.vocabularySize}`, { file: this.source });
      }
    }
    return this.library.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  addSpecialTokens(tokens: readonly string[]): number[] {
    const added = this.json.added_tokens as AddedTokenJson[];
    const ids = tokens.map((token) => {
      if (token.length === 0) throw new O1Error('BAD_ARGUMENT', 'a special token cannot be empty');
      const entry = added.find((candidate) => candidate.content === token);
      if (entry !== undefined) {
        entry.special = true;
        return entry.id;
      }
      // A token of the base vocabulary becomes an added token with its own id, so it is atomic.
      const id = this.library.token_to_id(token) ?? this.vocabularySize;
      added.push({ id, content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
      this.vocabularySize = Math.max(this.vocabularySize, id + 1);
      const extra = (this.config.additional_special_tokens ??= []);
      if (!extra.includes(token)) extra.push(token);
      return id;
    });
    this.rebuild();
    return ids;
  }

  encodeBatch(texts: readonly string[], options: BatchOptions = {}): BatchEncoding {
    return padBatch(
      texts.map((text) => this.encode(text, options)),
      { ...options, padTokenId: this.padTokenId },
    );
  }

  /**
   * The GGUF description: byte-level vocabularies become `gpt2` (tokens, merges, pre-tokenizer
   * name), SentencePiece-style ones `llama` (scores from merge ranks: earlier merges score
   * higher, so llama.cpp's score-merging reproduces the BPE priorities). Missing ids are padded
   * with `[PADn]` unused tokens, as llama.cpp's converter does.
   */
  ggufMetadata(): GgufTokenizerMetadata {
    const model = this.json.model;
    if (model.type !== undefined && model.type !== 'BPE') {
      throw new O1Error('UNSUPPORTED_OP', `only BPE tokenizers convert to GGUF, not ${model.type}`, { file: this.source, field: 'model.type' });
    }
    const size = this.vocabularySize;
    const tokens = Array.from({ length: size }, (_, id) => `[PAD${id}]`);
    const tokenTypes: number[] = new Array(size).fill(GGUF_TOKEN_TYPE.unused);
    const vocab = (model.vocab ?? {}) as Record<string, number>;
    for (const [token, id] of Object.entries(vocab)) {
      tokens[id] = token;
      tokenTypes[id] = GGUF_TOKEN_TYPE.normal;
    }
    for (const token of this.json.added_tokens ?? []) {
      tokens[token.id] = token.content;
      tokenTypes[token.id] = token.special ? GGUF_TOKEN_TYPE.control : GGUF_TOKEN_TYPE.userDefined;
    }
    const merges = (model.merges ?? []).map((merge) => (Array.isArray(merge) ? merge.join(' ') : merge));
    const bos = this.bosTokenId;
    const common = {
      tokens,
      tokenTypes,
      bosTokenId: bos,
      eosTokenId: this.eosTokenId,
      unknownTokenId: this.unknownTokenId,
      paddingTokenId: this.idOfSpec(this.config.pad_token),
      addBosToken: bos !== undefined && this.encode('a')[0] === bos,
      addEosToken: this.config.add_eos_token === true,
      chatTemplate: typeof this.config.chat_template === 'string' ? this.config.chat_template : undefined,
    };
    const isByteLevel = JSON.stringify([this.json.pre_tokenizer, this.json.decoder]).includes('"ByteLevel"');
    if (isByteLevel) return { model: 'gpt2', pre: detectPreTokenizer(this.json), merges, ...common };

    const unknown = this.unknownTokenId;
    if (unknown !== undefined) tokenTypes[unknown] = GGUF_TOKEN_TYPE.unknown;
    tokens.forEach((token, id) => {
      if (/^<0x[0-9A-Fa-f]{2}>$/.test(token) && tokenTypes[id] === GGUF_TOKEN_TYPE.normal) tokenTypes[id] = GGUF_TOKEN_TYPE.byte;
    });
    const scores = tokens.map((_, id) => -(merges.length + id));
    merges.forEach((merge, rank) => {
      const id = vocab[merge.replace(' ', '')];
      if (id !== undefined && scores[id] < -rank) scores[id] = -rank;
    });
    return { model: 'llama', scores, addSpacePrefix: true, ...common };
  }

  /** The current `tokenizer.json` and `tokenizer_config.json` objects (copies). */
  toJSON(): { tokenizer: TokenizerJson; config: TokenizerConfigJson } {
    return { tokenizer: structuredClone(this.json), config: this.configWithAddedTokens() };
  }

  private configWithAddedTokens(): TokenizerConfigJson {
    const config = structuredClone(this.config);
    if (config.added_tokens_decoder !== undefined || (this.json.added_tokens ?? []).length > 0) {
      const decoder: Record<string, Omit<AddedTokenJson, 'id'>> = { ...(config.added_tokens_decoder ?? {}) };
      for (const { id, ...rest } of this.json.added_tokens ?? []) decoder[String(id)] = rest;
      config.added_tokens_decoder = decoder;
    }
    return config;
  }

  /**
   * Writes `tokenizer.json` and `tokenizer_config.json` into a folder (atomically each).
   *
   * @example
   * await tokenizer.save('out/model')
   */
  async save(directory: string): Promise<void> {
    await mkdir(directory, { recursive: true });
    const { tokenizer, config } = this.toJSON();
    await writeFileAtomic(join(directory, 'tokenizer.json'), JSON.stringify(tokenizer));
    await writeFileAtomic(join(directory, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new O1Error('MISSING_FILE', 'cannot read the tokenizer file', { file: path }, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new O1Error('CORRUPT_TOKENIZER', 'the tokenizer file is not valid JSON', { file: path }, { cause: error });
  }
}

/** The byte-level pre-tokenizer with GPT-2's split regex built in. */
export const BYTE_LEVEL_PRE_TOKENIZER = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } as const;

/**
 * A complete byte-level BPE `tokenizer.json` (as GPT-2, Qwen2 and Llama 3 use), with a post
 * processor that prepends `bosToken` when one is given. Shared by the BPE trainer and the GGUF
 * vocabulary import so both describe the same tokenizer the same way.
 *
 * @example
 * const json = byteLevelBpeJson({ vocab: { a: 0, b: 1, ab: 2 }, merges: [['a', 'b']], addedTokens: [] })
 */
export function byteLevelBpeJson(parts: {
  vocab: Record<string, number>;
  merges: Array<[string, string]>;
  addedTokens: AddedTokenJson[];
  /** Default {@link BYTE_LEVEL_PRE_TOKENIZER}. */
  preTokenizer?: unknown;
  /** A BOS token and its id, to prepend to every encoding. Default none. */
  bos?: { token: string; id: number };
}): TokenizerJson {
  const { bos } = parts;
  const postProcessor =
    bos === undefined
      ? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true }
      : {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos.token, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos.token, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: bos.token, type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [bos.token]: { id: bos.token, ids: [bos.id], tokens: [bos.token] } },
        };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: parts.addedTokens,
    normalizer: null,
    pre_tokenizer: parts.preTokenizer ?? BYTE_LEVEL_PRE_TOKENIZER,
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: parts.vocab,
      merges: parts.merges,
    },
  } as TokenizerJson;
}
