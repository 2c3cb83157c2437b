/**
 * SentencePiece-style BPE that merges by score, as llama2.c's `run.c` and llama.cpp's SPM
 * tokenizer do: a leading-space dummy prefix, one symbol per UTF-8 character (unknown characters
 * fall back to `<0xXX>` byte tokens), then repeatedly merge the adjacent pair whose concatenation
 * is the highest-scoring vocabulary entry (ties: leftmost). Loads llama2.c `tok*.bin` files and
 * GGUF `llama` vocabularies.
 */
import { readFile } from 'node:fs/promises';
import { O1Error } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { padBatch } from './batch.js';
import { Heap } from './heap.js';
import {
  GGUF_TOKEN_TYPE,
  type BatchEncoding,
  type BatchOptions,
  type DecodeOptions,
  type EncodeOptions,
  type GgufTokenizerMetadata,
  type Tokenizer,
} from './types.js';

const utf8 = new TextEncoder();
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Bytes as a "binary string" (one char per byte), the lookup key of a piece. */
function binary(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** What a vocabulary is built from. Pieces use a plain space ' ' (not '▁'). */
export interface SentencePieceVocabulary {
  pieces: Uint8Array[];
  scores: number[];
  tokenTypes: number[];
  bosTokenId?: number;
  eosTokenId?: number;
  unknownTokenId?: number;
  padTokenId?: number;
  /** Prepend a space to the text (SentencePiece's add_dummy_prefix). Default true. */
  addSpacePrefix?: boolean;
}

/**
 * A score-merging BPE tokenizer (llama2.c, GGUF `llama`).
 *
 * @example
 * const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c('tok512.bin')
 * tokenizer.encode('Once upon a time') // [1, 403, 407, 261, 378]
 */
export class SentencePieceBpeTokenizer implements Tokenizer {
  readonly kind = 'sentencepiece-bpe' as const;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  private readonly unknownTokenId: number | undefined;
  private readonly explicitPadTokenId: number | undefined;
  private readonly addSpacePrefix: boolean;
  private readonly pieces: Uint8Array[];
  private readonly scores: number[];
  private readonly tokenTypes: number[];
  private readonly lookup = new Map<string, number>();
  private readonly byteTokenIds = new Int32Array(256).fill(-1);
  private readonly special = new Set<number>();
  /** Special token texts, longest first, for splitting text before BPE. */
  private specialTexts: string[] = [];

  constructor(vocabulary: SentencePieceVocabulary) {
    const { pieces, scores, tokenTypes } = vocabulary;
    if (scores.length !== pieces.length || tokenTypes.length !== pieces.length) {
      throw new O1Error('CORRUPT_TOKENIZER', 'pieces, scores and token types differ in length');
    }
    this.pieces = [...pieces];
    this.scores = [...scores];
    this.tokenTypes = [...tokenTypes];
    this.bosTokenId = vocabulary.bosTokenId;
    this.eosTokenId = vocabulary.eosTokenId;
    this.unknownTokenId = vocabulary.unknownTokenId;
    this.explicitPadTokenId = vocabulary.padTokenId;
    this.addSpacePrefix = vocabulary.addSpacePrefix ?? true;
    this.pieces.forEach((piece, id) => this.index(piece, id));
  }

  private index(piece: Uint8Array, id: number): void {
    const key = binary(piece);
    // First occurrence wins for duplicate pieces, like a lookup over a stable-sorted vocabulary.
    if (!this.lookup.has(key)) this.lookup.set(key, id);
    const type = this.tokenTypes[id];
    if (type === GGUF_TOKEN_TYPE.byte) {
      const match = BYTE_TOKEN.exec(new TextDecoder().decode(piece));
      if (match !== null) this.byteTokenIds[Number.parseInt(match[1], 16)] = id;
    }
    if (type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.userDefined) {
      this.special.add(id);
      const text = new TextDecoder().decode(piece);
      if (text.length > 0 && !this.specialTexts.includes(text)) {
        this.specialTexts.push(text);
        this.specialTexts.sort((left, right) => right.length - left.length);
      }
    }
  }

  /**
   * Loads a llama2.c tokenizer file: int32 max token length, then per token a float32 score, an
   * int32 byte length and the bytes. The vocabulary size is what the file holds. Ids 0, 1 and 2
   * are `<unk>`, `<s>` (BOS) and `</s>` (EOS), as llama2.c assumes; `<0xXX>` pieces are byte
   * tokens. A truncated or malformed file is CORRUPT_TOKENIZER naming the file and token.
   *
   * @example
   * const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c('../shared/models/tinystories-260k/tok512.bin')
   */
  static async loadLlama2c(path: string): Promise<SentencePieceBpeTokenizer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new O1Error('MISSING_FILE', 'cannot read the tokenizer file', { file: path }, { cause: error });
    }
    return SentencePieceBpeTokenizer.parseLlama2c(bytes, path);
  }

  /** Parses llama2.c tokenizer bytes (see {@link loadLlama2c}). */
  static parseLlama2c(bytes: Uint8Array, file = 'tokenizer.bin'): SentencePieceBpeTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 4) throw new O1Error('CORRUPT_TOKENIZER', 'the file is shorter than its 4-byte header', { file });
    const maxTokenLength = view.getInt32(0, true);
    if (!(maxTokenLength > 0)) throw new O1Error('CORRUPT_TOKENIZER', `max_token_length is ${maxTokenLength}`, { file, field: 'max_token_length' });
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    const tokenTypes: number[] = [];
    let offset = 4;
    while (offset < bytes.byteLength) {
      const id = pieces.length;
      if (offset + 8 > bytes.byteLength) throw new O1Error('CORRUPT_TOKENIZER', `token ${id} is truncated`, { file, field: `token ${id}` });
      const score = view.getFloat32(offset, true);
      const length = view.getInt32(offset + 4, true);
      offset += 8;
      if (length < 0 || length > maxTokenLength || offset + length > bytes.byteLength) {
        throw new O1Error('CORRUPT_TOKENIZER', `token ${id} has length ${length} (max ${maxTokenLength}, ${bytes.byteLength - offset} bytes left)`, {
          file,
          field: `token ${id}`,
        });
      }
      let piece = bytes.slice(offset, offset + length);
      offset += length;
      let type: number = GGUF_TOKEN_TYPE.normal;
      // llama2.c's exporter writes BOS/EOS as "\n<s>\n" and "\n</s>\n"; name them as SentencePiece does.
      if (id === 0) [piece, type] = [utf8.encode('<unk>'), GGUF_TOKEN_TYPE.unknown];
      else if (id === 1) [piece, type] = [utf8.encode('<s>'), GGUF_TOKEN_TYPE.control];
      else if (id === 2) [piece, type] = [utf8.encode('</s>'), GGUF_TOKEN_TYPE.control];
      else if (piece.length === 0) type = GGUF_TOKEN_TYPE.control;
      else if (BYTE_TOKEN.test(binary(piece))) type = GGUF_TOKEN_TYPE.byte;
      pieces.push(piece);
      scores.push(score);
      tokenTypes.push(type);
    }
    if (pieces.length < 3) throw new O1Error('CORRUPT_TOKENIZER', `only ${pieces.length} tokens`, { file });
    return new SentencePieceBpeTokenizer({ pieces, scores, tokenTypes, unknownTokenId: 0, bosTokenId: 1, eosTokenId: 2 });
  }

  /**
   * Builds the tokenizer a GGUF `llama` vocabulary describes (`▁` becomes a space).
   *
   * @example
   * const tokenizer = SentencePieceBpeTokenizer.fromGgufMetadata(readResult.tokenizer)
   */
  static fromGgufMetadata(metadata: GgufTokenizerMetadata): SentencePieceBpeTokenizer {
    if (metadata.model !== 'llama') throw new O1Error('CORRUPT_TOKENIZER', `GGUF tokenizer model ${metadata.model} is not SentencePiece`);
    return new SentencePieceBpeTokenizer({
      pieces: metadata.tokens.map((token) => utf8.encode(token.replaceAll('\u2581', ' '))),
      scores: metadata.scores ?? metadata.tokens.map(() => 0),
      tokenTypes: metadata.tokenTypes,
      bosTokenId: metadata.bosTokenId,
      eosTokenId: metadata.eosTokenId,
      unknownTokenId: metadata.unknownTokenId,
      padTokenId: metadata.paddingTokenId,
      addSpacePrefix: metadata.addSpacePrefix ?? true,
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  get padTokenId(): number {
    return this.explicitPadTokenId ?? this.eosTokenId ?? 0;
  }

  isSpecialToken(id: number): boolean {
    return this.special.has(id);
  }

  tokenToId(token: string): number | undefined {
    return this.lookup.get(binary(utf8.encode(token)));
  }

  idToToken(id: number): string | undefined {
    const piece = this.pieces[id];
    return piece === undefined ? undefined : new TextDecoder().decode(piece);
  }

  /** The score of a token (its merge priority). */
  scoreOf(id: number): number | undefined {
    return this.scores[id];
  }

  /**
   * Encodes text. Special tokens in the text (control tokens and those added with
   * {@link addSpecialTokens}) encode atomically; the dummy space prefix is added only at the very
   * start of the text. `addBos` defaults to true.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if ((options.addBos ?? true) && this.bosTokenId !== undefined) ids.push(this.bosTokenId);
    let position = 0;
    let start = 0;
    while (position <= text.length) {
      const special = position < text.length ? this.specialTexts.find((candidate) => text.startsWith(candidate, position)) : undefined;
      if (special === undefined && position < text.length) {
        position++;
        continue;
      }
      if (position > start) ids.push(...this.encodeSegment(text.slice(start, position), start === 0));
      if (special === undefined) break;
      ids.push(this.lookup.get(binary(utf8.encode(special))) as number);
      position += special.length;
      start = position;
    }
    return ids;
  }

  /** llama2.c's `encode` on one segment without special tokens, with a heap instead of rescans. */
  private encodeSegment(segment: string, atTextStart: boolean): number[] {
    const symbols: number[] = [];
    const pushBytes = (bytes: Uint8Array) => {
      const id = this.lookup.get(binary(bytes));
      if (id !== undefined && !this.special.has(id)) {
        symbols.push(id);
        return;
      }
      for (const byte of bytes) {
        const byteId = this.byteTokenIds[byte];
        if (byteId >= 0) symbols.push(byteId);
        else if (this.unknownTokenId !== undefined) symbols.push(this.unknownTokenId);
        else throw new O1Error('CORRUPT_TOKENIZER', `byte 0x${byte.toString(16)} has no token and there is no <unk>`);
      }
    };
    if (atTextStart && this.addSpacePrefix && segment.length > 0) pushBytes(Uint8Array.of(0x20));
    for (const character of segment) pushBytes(utf8.encode(character));

    // Doubly linked list of symbols; merges keep the left node, so node index order is text order.
    const count = symbols.length;
    const next = Int32Array.from({ length: count }, (_, index) => (index + 1 < count ? index + 1 : -1));
    const previous = Int32Array.from({ length: count }, (_, index) => index - 1);
    const version = new Int32Array(count);
    const alive = new Uint8Array(count).fill(1);
    type Candidate = { left: number; right: number; id: number; score: number; leftVersion: number; rightVersion: number };
    // Highest score first; ties go to the leftmost pair, exactly like run.c's strict `>` scan.
    const heap = new Heap<Candidate>((a, b) => (a.score !== b.score ? a.score > b.score : a.left < b.left));
    const consider = (left: number) => {
      const right = next[left];
      if (left < 0 || right < 0) return;
      const id = this.lookup.get(binary(this.pieces[symbols[left]]) + binary(this.pieces[symbols[right]]));
      // Never merge into special or byte tokens: text can only reach those explicitly.
      if (id === undefined || this.special.has(id) || this.tokenTypes[id] === GGUF_TOKEN_TYPE.byte) return;
      heap.push({ left, right, id, score: this.scores[id], leftVersion: version[left], rightVersion: version[right] });
    };
    for (let index = 0; index + 1 < count; index++) consider(index);
    for (let candidate = heap.pop(); candidate !== undefined; candidate = heap.pop()) {
      const { left, right } = candidate;
      if (!alive[left] || !alive[right] || next[left] !== right) continue;
      if (version[left] !== candidate.leftVersion || version[right] !== candidate.rightVersion) continue;
      symbols[left] = candidate.id;
      version[left]++;
      alive[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) previous[next[right]] = left;
      if (previous[left] >= 0) consider(previous[left]);
      consider(left);
    }
    const result: number[] = [];
    for (let index = count > 0 ? 0 : -1; index >= 0; index = next[index]) result.push(symbols[index]);
    return result;
  }

  /**
   * Decodes ids to text: byte tokens become raw bytes, the leading space of the first piece (or
   * of a piece right after BOS) is dropped as SentencePiece does, special tokens appear as their
   * text unless `skipSpecialTokens` (default false). Invalid UTF-8 becomes U+FFFD.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const bytes: number[] = [];
    let previous: number | undefined;
    for (const id of ids) {
      const piece = this.pieces[id];
      if (piece === undefined) throw new O1Error('CORRUPT_TOKENIZER', `token id ${id} is outside the vocabulary of ${this.vocabSize}`);
      const type = this.tokenTypes[id];
      if (this.special.has(id) || type === GGUF_TOKEN_TYPE.unknown) {
        if (!options.skipSpecialTokens) bytes.push(...piece);
      } else if (type === GGUF_TOKEN_TYPE.byte) {
        const match = BYTE_TOKEN.exec(binary(piece));
        bytes.push(match !== null ? Number.parseInt(match[1], 16) : 0);
      } else {
        const stripSpace = this.addSpacePrefix && (previous === undefined || previous === this.bosTokenId) && piece[0] === 0x20;
        bytes.push(...(stripSpace ? piece.subarray(1) : piece));
      }
      previous = id;
    }
    return new TextDecoder().decode(Uint8Array.from(bytes));
  }

  addSpecialTokens(tokens: readonly string[]): number[] {
    return tokens.map((token) => {
      if (token.length === 0) throw new O1Error('BAD_ARGUMENT', 'a special token cannot be empty');
      const existing = this.tokenToId(token);
      if (existing !== undefined) {
        if (!this.special.has(existing)) {
          this.tokenTypes[existing] = GGUF_TOKEN_TYPE.control;
          this.index(this.pieces[existing], existing);
        }
        return existing;
      }
      const id = this.pieces.length;
      const piece = utf8.encode(token);
      this.pieces.push(piece);
      this.scores.push(0);
      this.tokenTypes.push(GGUF_TOKEN_TYPE.control);
      this.index(piece, id);
      return id;
    });
  }

  encodeBatch(texts: readonly string[], options: BatchOptions = {}): BatchEncoding {
    return padBatch(
      texts.map((text) => this.encode(text, options)),
      { ...options, padTokenId: this.padTokenId },
    );
  }

  ggufMetadata(): GgufTokenizerMetadata {
    return {
      model: 'llama',
      tokens: this.pieces.map((piece) => new TextDecoder().decode(piece).replaceAll(' ', '\u2581')),
      scores: [...this.scores],
      tokenTypes: [...this.tokenTypes],
      bosTokenId: this.bosTokenId,
      eosTokenId: this.eosTokenId,
      unknownTokenId: this.unknownTokenId,
      paddingTokenId: this.explicitPadTokenId,
      addBosToken: this.bosTokenId !== undefined,
      addEosToken: false,
      addSpacePrefix: this.addSpacePrefix,
    };
  }

  /**
   * Writes the vocabulary in llama2.c's format (atomically). Token types are not stored: after
   * reloading, call {@link addSpecialTokens} again with the same tokens (it keeps their ids).
   *
   * @example
   * await tokenizer.saveLlama2c('out/tok.bin')
   */
  async saveLlama2c(path: string): Promise<void> {
    const maxLength = Math.max(...this.pieces.map((piece) => piece.length));
    const size = 4 + this.pieces.reduce((total, piece) => total + 8 + piece.length, 0);
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    view.setInt32(0, maxLength, true);
    let offset = 4;
    this.pieces.forEach((piece, id) => {
      view.setFloat32(offset, this.scores[id], true);
      view.setInt32(offset + 4, piece.length, true);
      bytes.set(piece, offset + 8);
      offset += 8 + piece.length;
    });
    await writeFileAtomic(path, bytes);
  }
}
