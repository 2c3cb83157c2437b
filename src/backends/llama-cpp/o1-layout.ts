/**
 * The O1 Embedder token layout (src/o1/layout.ts) on a GGUF model's own llama.cpp vocabulary, so
 * the llama-cpp backend thinks and embeds exactly as the engine does without loading it:
 *
 * - thought prompt: BOS? `<query>{query}</query><thought>`              (<= 256 tokens)
 * - query:          BOS? `<query>{query}</query><thought>{thought}{EOS}` (<= 256) + `<emb>`
 * - document:       BOS? `{title} {text}`                                (<= 512) + `<emb>`
 *
 * The texts come from src/o1/layout.ts's builders and are tokenized by llama.cpp with special
 * tokens parsed (as the engine's tokenizers parse added tokens), BOS by the file's own convention;
 * `<emb>` is appended as an id after truncation. The sequences are fed to llama.cpp as token ids.
 * The ids are those of layout.ts on the same vocabulary (test/llama-cpp-o1.test.ts checks it).
 */
import { LlamaVocabularyType, type LlamaModel, type Token } from 'node-llama-cpp';
import type { Document } from '../../data/types.js';
import { O1Error } from '../../errors.js';
import { documentText, O1_LIMITS, O1_SPECIAL_TOKENS, queryPromptText, type O1TokenIds } from '../../o1/layout.js';
import { fromByteLevel } from '../../tokenizer/byte-level.js';
import { GGUF_TOKEN_TYPE } from '../../tokenizer/types.js';

/** The id of a token given by its text, when the vocabulary has it as one token. */
function tokenId(model: LlamaModel, text: string): Token | undefined {
  const tokens = model.tokenize(text, true);
  if (tokens.length !== 1 || model.detokenize(tokens, true) !== text) return undefined;
  return tokens[0];
}

/**
 * Whether a llama.cpp model's vocabulary has the four O1 tokens (`<query>`, `</query>`,
 * `<thought>`, `<emb>`), each as one token.
 *
 * @example
 * if (hasLlamaCppO1Tokens(model)) layout = new LlamaCppO1Layout(model, 'o1-small.gguf');
 */
export function hasLlamaCppO1Tokens(model: LlamaModel): boolean {
  return O1_SPECIAL_TOKENS.every((token) => tokenId(model, token) !== undefined);
}

function checkLimit(value: number, name: string, minimum: number): void {
  if (!(Number.isInteger(value) && value >= minimum)) throw new O1Error('BAD_ARGUMENT', `${name} must be an integer >= ${minimum}, got ${value}`, { field: name });
}

/**
 * Builds O1 sequences (token ids) with a llama.cpp model's tokenizer. Throws O1Error
 * MISSING_SPECIAL_TOKENS for a vocabulary without the four O1 tokens or without EOS, and
 * UNSUPPORTED_OP for one whose tokenizer appends EOS to every text (node-llama-cpp's embedding
 * context would then put it after `<emb>`).
 *
 * @example
 * const layout = new LlamaCppO1Layout(model, 'o1-small.gguf');
 * const ids = layout.querySequenceIds('what causes tides', 'The moon.'); // [..., eos, emb]
 */
export class LlamaCppO1Layout {
  /** The ids of the O1 tokens, EOS and BOS (when the file prepends one). */
  readonly ids: O1TokenIds;
  private readonly strippedSuffixes: string[];
  private readonly bosText: string | undefined;
  /** Byte-level BPE vocabularies: each token's string and whether it is spelled verbatim (control, user-defined). */
  private readonly byteLevel: { pieces: readonly string[]; verbatim: Uint8Array } | undefined;

  constructor(private readonly model: LlamaModel, source: string) {
    const missing = O1_SPECIAL_TOKENS.filter((token) => tokenId(model, token) === undefined);
    if (missing.length > 0) {
      throw new O1Error('MISSING_SPECIAL_TOKENS', `the GGUF vocabulary lacks the O1 token(s) ${missing.join(' ')}: this is not an O1 Embedder model (use layout "plain")`, { file: source });
    }
    const eos = model.tokens.eos;
    if (eos === null) throw new O1Error('MISSING_SPECIAL_TOKENS', 'the GGUF vocabulary has no end-of-sequence token, which every O1 query sequence ends with', { file: source });
    if (model.tokens.shouldAppendEosToken) {
      throw new O1Error('UNSUPPORTED_OP', 'the GGUF tokenizer appends EOS to every text (tokenizer.ggml.add_eos_token), which the O1 layout cannot use', { file: source, field: 'tokenizer.ggml.add_eos_token' });
    }
    const [queryStart, queryEnd, thought, embedding] = O1_SPECIAL_TOKENS.map((token) => tokenId(model, token) as Token);
    const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? model.tokens.bos : undefined;
    this.ids = { queryStart, queryEnd, thought, embedding, eos, bos };
    // What src/o1/layout.ts cleanThought strips from the end of a thought: EOS, padding and <emb>.
    const padding = model.fileInfo.metadata.tokenizer?.ggml?.padding_token_id;
    const trailing = [eos, typeof padding === 'number' ? padding : eos, embedding];
    this.strippedSuffixes = trailing.map((id) => this.tokenText(id)).filter((text) => text.length > 0);
    this.bosText = model.tokens.bos === null ? undefined : this.tokenText(model.tokens.bos);
    const vocabulary = model.fileInfo.metadata.tokenizer?.ggml;
    const pieces = vocabulary?.tokens;
    const types = vocabulary?.token_type;
    if (model.vocabularyType === LlamaVocabularyType.bpe && Array.isArray(pieces) && Array.isArray(types) && types.length === pieces.length) {
      const verbatim = Uint8Array.from(types, (type) => (type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.userDefined ? 1 : 0));
      this.byteLevel = { pieces, verbatim };
    }
  }

  /**
   * Generated ids as text, special tokens kept, as Hugging Face's `decode` gives it. Byte-level
   * BPE vocabularies are decoded here from their own token strings, because llama.cpp's
   * detokenizer also applies `clean_up_tokenization_spaces` to them (`P = .001` would come back
   * as `P =.001`, and re-tokenize differently); other vocabularies are decoded by llama.cpp.
   *
   * @example
   * layout.decode(tokens) // 'The moon pulls the sea.'
   */
  decode(tokens: readonly Token[]): string {
    if (this.byteLevel === undefined) return this.model.detokenize(tokens, true);
    const { pieces, verbatim } = this.byteLevel;
    let text = '';
    let pending = '';
    for (const token of tokens) {
      const piece = pieces[token];
      if (piece === undefined) throw new O1Error('BAD_ARGUMENT', `token id ${token} is outside the vocabulary of ${pieces.length}`, { field: 'tokens' });
      if (verbatim[token] === 1) {
        text += fromByteLevel(pending) + piece;
        pending = '';
      } else {
        // Bytes of one character may span tokens: decode each run of byte-level pieces at once.
        pending += piece;
      }
    }
    return text + fromByteLevel(pending);
  }

  /** The text of one token, special tokens spelled out. */
  tokenText(id: number): string {
    return this.model.detokenize([id as Token], true);
  }

  /** The text's ids: BOS when the file prepends one, then the text with special tokens parsed. */
  encode(text: string): Token[] {
    const tokens = this.model.tokenize(text, true);
    // Text that spells BOS out gives it once (the double-BOS pitfall, o1-method.md §7).
    if (this.ids.bos !== undefined && tokens[0] !== this.ids.bos) tokens.unshift(this.ids.bos as Token);
    return tokens;
  }

  /**
   * The thought-generation prompt: BOS? `<query>{query}</query><thought>`, at most `maxLength`
   * (default 256) tokens; a longer query loses its end, `</query><thought>` are kept (as
   * src/o1/layout.ts queryPromptIds).
   *
   * @example
   * layout.queryPromptIds('what causes tides') // [queryStart, ..., queryEnd, thought]
   */
  queryPromptIds(query: string, options: { maxLength?: number } = {}): Token[] {
    const maxLength = options.maxLength ?? O1_LIMITS.queryTokens;
    checkLimit(maxLength, 'maxLength', 4);
    const tokens = this.encode(queryPromptText(query));
    if (tokens.length <= maxLength) return tokens;
    return [...tokens.slice(0, maxLength - 2), this.ids.queryEnd as Token, this.ids.thought as Token];
  }

  /**
   * A generated or given thought made ready for the layout: trailing EOS, padding and `<emb>`
   * texts and leading BOS texts removed (as src/o1/layout.ts cleanThought).
   *
   * @example
   * layout.cleanThought('The moon pulls.<|endoftext|>') // 'The moon pulls.'
   */
  cleanThought(thought: string): string {
    let text = thought;
    for (let changed = true; changed;) {
      changed = false;
      for (const suffix of this.strippedSuffixes) {
        if (text.endsWith(suffix)) {
          text = text.slice(0, -suffix.length);
          changed = true;
        }
      }
    }
    while (this.bosText !== undefined && this.bosText.length > 0 && text.startsWith(this.bosText)) text = text.slice(this.bosText.length);
    return text;
  }

  /**
   * A query's ids to embed: BOS? `<query>{query}</query><thought>{thought}{EOS}` cut to
   * `maxLength` (default 256) tokens, then `<emb>`. An empty thought is the query-only
   * (no-thinking) sequence.
   *
   * @example
   * layout.querySequenceIds('what causes tides', '') // [..., thought, eos, emb]
   */
  querySequenceIds(query: string, thought: string, options: { maxLength?: number } = {}): Token[] {
    const maxLength = options.maxLength ?? O1_LIMITS.queryTokens;
    checkLimit(maxLength, 'maxLength', 1);
    const text = `${queryPromptText(query)}${this.cleanThought(thought)}${this.tokenText(this.ids.eos)}`;
    const tokens = this.encode(text).slice(0, maxLength);
    tokens.push(this.ids.embedding as Token);
    return tokens;
  }

  /**
   * A document's ids: BOS? `{title} {text}` (trimmed) cut to `maxLength` (default 512) tokens,
   * then `<emb>`.
   *
   * @example
   * layout.documentIds({ title: 'Tides', text: 'The moon pulls the sea.' }) // [..., emb]
   */
  documentIds(document: Pick<Document, 'title' | 'text'>, options: { maxLength?: number } = {}): Token[] {
    const maxLength = options.maxLength ?? O1_LIMITS.documentTokens;
    checkLimit(maxLength, 'maxLength', 1);
    const tokens = this.encode(documentText(document)).slice(0, maxLength);
    tokens.push(this.ids.embedding as Token);
    return tokens;
  }
}
