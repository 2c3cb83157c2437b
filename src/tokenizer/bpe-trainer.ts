/**
 * A small byte-level BPE trainer (GPT-2 style: GPT-2 pre-tokenisation regex, byte-to-unicode
 * alphabet, ranked merges) that produces a Hugging Face `tokenizer.json`. No maintained npm
 * package trains byte-level BPE and writes tokenizer.json, hence this one.
 *
 * Algorithm: count pre-tokenised words; keep pair counts and, per pair, the words containing it;
 * repeatedly merge the most frequent pair (ties: smallest left id, then right id) and update
 * only the words that contained it. A max-heap with lazy invalidation finds the best pair.
 */
import { O1Error } from '../errors.js';
import { bytesToUnicode, GPT2_SPLIT_PATTERN, toByteLevel } from './byte-level.js';
import { Heap } from './heap.js';
import { byteLevelBpeJson, HuggingFaceTokenizer, type TokenizerConfigJson, type TokenizerJson } from './huggingface.js';

export interface BpeTrainingOptions {
  /** Total vocabulary size: special tokens + 256 byte tokens + merges. */
  vocabSize: number;
  /** Special tokens, given the first ids. Default `['<|endoftext|>']`. */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are not merged. Default 2. */
  minFrequency?: number;
  /** End-of-sequence token (must be among the special tokens). Default the first special token. */
  eosToken?: string;
  /** Padding token. Default the EOS token. */
  padToken?: string;
  /** Beginning-of-sequence token, prepended by `encode` (Llama-like). Default none (Qwen2-like). */
  bosToken?: string;
  /** Recorded in tokenizer_config.json. Default 2048. */
  modelMaxLength?: number;
}

/** Pair key: two symbol ids (< 2^21 each) packed into one number. */
const pairKey = (left: number, right: number) => left * 2097152 + right;

/**
 * Trains a byte-level BPE and returns `tokenizer.json` and `tokenizer_config.json` objects.
 * Deterministic for the same texts and options.
 *
 * @example
 * const { tokenizer, config } = trainByteLevelBpeJson(['the cat sat', 'the dog'], { vocabSize: 300 })
 */
export function trainByteLevelBpeJson(
  texts: Iterable<string>,
  options: BpeTrainingOptions,
): { tokenizer: TokenizerJson; config: TokenizerConfigJson } {
  const specialTokens = options.specialTokens ?? ['<|endoftext|>'];
  const minFrequency = options.minFrequency ?? 2;
  const eosToken = options.eosToken ?? specialTokens[0];
  const padToken = options.padToken ?? eosToken;
  for (const token of [eosToken, padToken, options.bosToken]) {
    if (token !== undefined && !specialTokens.includes(token)) {
      throw new O1Error('BAD_ARGUMENT', `${token} must be one of the special tokens`, { field: 'specialTokens' });
    }
  }
  if (new Set(specialTokens).size !== specialTokens.length) throw new O1Error('BAD_ARGUMENT', 'special tokens repeat', { field: 'specialTokens' });
  const baseSize = specialTokens.length + 256;
  if (!(Number.isInteger(options.vocabSize) && options.vocabSize >= baseSize && options.vocabSize < 2097152)) {
    throw new O1Error('BAD_ARGUMENT', `vocabSize must be an integer in [${baseSize}, 2097152)`, { field: 'vocabSize' });
  }

  // Vocabulary: special tokens, then the 256 byte characters in byte order, then merges.
  const symbols: string[] = [...specialTokens, ...bytesToUnicode()];
  const symbolIds = new Map<string, number>();
  symbols.forEach((symbol, id) => {
    if (!symbolIds.has(symbol)) symbolIds.set(symbol, id);
  });

  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const match of text.matchAll(GPT2_SPLIT_PATTERN)) {
      const word = toByteLevel(match[0]);
      wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
  }
  // Sorted for determinism independent of Map insertion details.
  const entries = [...wordCounts.entries()].sort((left, right) => (left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0));
  const words: number[][] = entries.map(([word]) => Array.from(word, (character) => symbolIds.get(character) as number));
  const counts = entries.map(([, count]) => count);

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const changed = new Set<number>();
  const addPairs = (wordIndex: number, sign: 1 | -1) => {
    const word = words[wordIndex];
    for (let index = 0; index + 1 < word.length; index++) {
      const key = pairKey(word[index], word[index + 1]);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * counts[wordIndex]);
      changed.add(key);
      if (sign === 1) {
        let holders = pairWords.get(key);
        if (holders === undefined) pairWords.set(key, (holders = new Set()));
        holders.add(wordIndex);
      }
    }
  };
  words.forEach((_, index) => addPairs(index, 1));

  type Entry = { count: number; left: number; right: number };
  const heap = new Heap<Entry>((a, b) => (a.count !== b.count ? a.count > b.count : a.left !== b.left ? a.left < b.left : a.right < b.right));
  const flush = () => {
    for (const key of changed) {
      const count = pairCounts.get(key) ?? 0;
      if (count > 0) heap.push({ count, left: Math.floor(key / 2097152), right: key % 2097152 });
    }
    changed.clear();
  };
  flush();

  const merges: [string, string][] = [];
  while (symbols.length < options.vocabSize) {
    const best = heap.pop();
    if (best === undefined || best.count < minFrequency) break;
    const key = pairKey(best.left, best.right);
    if (pairCounts.get(key) !== best.count) continue; // stale heap entry
    const merged = symbols[best.left] + symbols[best.right];
    let mergedId = symbolIds.get(merged);
    if (mergedId === undefined) {
      mergedId = symbols.length;
      symbols.push(merged);
      symbolIds.set(merged, mergedId);
    }
    merges.push([symbols[best.left], symbols[best.right]]);
    for (const wordIndex of pairWords.get(key) ?? []) {
      const word = words[wordIndex];
      addPairs(wordIndex, -1);
      const rebuilt: number[] = [];
      for (let index = 0; index < word.length; index++) {
        if (index + 1 < word.length && word[index] === best.left && word[index + 1] === best.right) {
          rebuilt.push(mergedId);
          index++;
        } else {
          rebuilt.push(word[index]);
        }
      }
      words[wordIndex] = rebuilt;
      addPairs(wordIndex, 1);
    }
    pairWords.delete(key);
    pairCounts.delete(key);
    changed.delete(key);
    flush();
  }

  const vocab: Record<string, number> = {};
  symbols.forEach((symbol, id) => {
    if (vocab[symbol] === undefined) vocab[symbol] = id;
  });
  const addedTokens = specialTokens.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const bosId = options.bosToken === undefined ? undefined : specialTokens.indexOf(options.bosToken);
  const tokenizer = byteLevelBpeJson({
    vocab,
    merges,
    addedTokens,
    bos: options.bosToken === undefined || bosId === undefined ? undefined : { token: options.bosToken, id: bosId },
  });
  const config: TokenizerConfigJson = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: options.bosToken ?? null,
    eos_token: eosToken,
    pad_token: padToken,
    unk_token: null,
    add_bos_token: options.bosToken !== undefined,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: options.modelMaxLength ?? 2048,
  };
  return { tokenizer, config };
}

/**
 * Trains a byte-level BPE tokenizer (see {@link trainByteLevelBpeJson}); save it with
 * `tokenizer.save(folder)`.
 *
 * @example
 * const tokenizer = trainByteLevelBpe(corpusTexts, { vocabSize: 8000 })
 * tokenizer.decode(tokenizer.encode('any text')) // 'any text'
 */
export function trainByteLevelBpe(texts: Iterable<string>, options: BpeTrainingOptions): HuggingFaceTokenizer {
  const { tokenizer, config } = trainByteLevelBpeJson(texts, options);
  return new HuggingFaceTokenizer(tokenizer, config, 'trained tokenizer.json');
}
