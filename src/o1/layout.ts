/**
 * The O1 Embedder token layout (reference/o1-method.md §2), shared by inference and training:
 * every sequence the model generates from, embeds or trains on is built here, so the two can never
 * drift apart.
 *
 * - query prompt (inference):  BOS? `<query>{query}</query><thought>`              (<= 256 tokens)
 * - query sequence (inference): BOS? `<query>{query}</query><thought>{thought}{EOS}` (<= 256) + `<emb>`
 * - query example (training):  the query cut to 32 tokens first, then as above, plus labels
 * - document:                  BOS? `{title} {text}` (<= 512 tokens; training 192) + `<emb>`
 *
 * BOS is whatever the tokenizer adds by its own convention (`<s>` for Llama, nothing for Qwen2),
 * exactly once. `<emb>` is appended as an id after truncation, so it is never cut off.
 */
import type { Document } from '../data/types.js';
import { O1Error } from '../errors.js';
import { O1_SPECIAL_TOKENS } from '../model/special-tokens.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { deriveSeed, seededRandom } from '../util/random.js';

export { O1_SPECIAL_TOKENS };

/** The markers of the layout, as text. */
export const QUERY_START = '<query>';
export const QUERY_END = '</query>';
export const THOUGHT_START = '<thought>';
export const EMBEDDING_TOKEN = '<emb>';

/** Token limits of the official code (o1-method.md §2). `<emb>` comes on top of each. */
export const O1_LIMITS = {
  /** Inference prompt `<query>q</query><thought>` and the full query sequence. */
  queryTokens: 256,
  /** Training: the query text alone is cut to this many tokens first. */
  trainingQueryTextTokens: 32,
  /** Training: the full query sequence (thought and EOS included). */
  trainingQueryTokens: 256,
  /** Inference: documents. */
  documentTokens: 512,
  /** Training: passages. */
  trainingDocumentTokens: 192,
} as const;

/** Hugging Face's "no loss here" label. */
export const IGNORE_INDEX = -100;

/** The ids of the four O1 tokens plus EOS (and BOS when the tokenizer has one). */
export interface O1TokenIds {
  queryStart: number;
  queryEnd: number;
  thought: number;
  embedding: number;
  eos: number;
  bos?: number;
}

/** Whether the tokenizer has all four O1 tokens (`<query>`, `</query>`, `<thought>`, `<emb>`). */
export function hasO1Tokens(tokenizer: Tokenizer): boolean {
  return O1_SPECIAL_TOKENS.every((token) => tokenizer.tokenToId(token) !== undefined);
}

/**
 * The O1 token ids of a tokenizer. Throws O1Error MISSING_SPECIAL_TOKENS when one of the four
 * tokens is missing (a base model not yet prepared: see `prepareO1Model`) or when it has no EOS.
 *
 * @example
 * const ids = o1TokenIds(tokenizer); // { queryStart: 384, queryEnd: 385, thought: 386, embedding: 387, eos: 0 }
 */
export function o1TokenIds(tokenizer: Tokenizer, source?: string): O1TokenIds {
  const missing = O1_SPECIAL_TOKENS.filter((token) => tokenizer.tokenToId(token) === undefined);
  const location = source === undefined ? {} : { file: source };
  if (missing.length > 0) {
    throw new O1Error(
      'MISSING_SPECIAL_TOKENS',
      `the tokenizer lacks the O1 token(s) ${missing.join(' ')}: this is not an O1 Embedder model (prepare a base model with prepareO1Model)`,
      location,
    );
  }
  const eos = tokenizer.eosTokenId;
  if (eos === undefined) throw new O1Error('MISSING_SPECIAL_TOKENS', 'the tokenizer has no end-of-sequence token, which every O1 query sequence ends with', location);
  const [queryStart, queryEnd, thought, embedding] = O1_SPECIAL_TOKENS.map((token) => tokenizer.tokenToId(token) as number);
  return { queryStart, queryEnd, thought, embedding, eos, bos: tokenizer.bosTokenId };
}

function checkQuery(query: string): void {
  if (typeof query !== 'string' || query.trim() === '') throw new O1Error('BAD_ARGUMENT', 'a query is empty: there is nothing to think about or embed', { field: 'query' });
}

function checkLimit(value: number, name: string, minimum: number): void {
  if (!(Number.isInteger(value) && value >= minimum)) throw new O1Error('BAD_ARGUMENT', `${name} must be an integer >= ${minimum}, got ${value}`, { field: name });
}

/** Drops a repeated leading BOS (the double-BOS pitfall of Llama tokenizers, o1-method.md §7). */
function singleBos(ids: number[], bos: number | undefined): number[] {
  let start = 0;
  while (bos !== undefined && ids[start] === bos && ids[start + 1] === bos) start++;
  return start === 0 ? ids : ids.slice(start);
}

function encode(tokenizer: Tokenizer, text: string): number[] {
  return singleBos(tokenizer.encode(text, { addBos: true }), tokenizer.bosTokenId);
}

/** `<query>{query}</query><thought>`: the generation prompt, as text. */
export function queryPromptText(query: string): string {
  checkQuery(query);
  return `${QUERY_START}${query}${QUERY_END}${THOUGHT_START}`;
}

/**
 * The generation prompt's ids: BOS? `<query>{query}</query><thought>`, at most `maxLength`
 * (default 256) tokens, for left-padded batched generation. A longer prompt loses the END of
 * the query, while `</query><thought>` are kept: Hugging Face's right truncation would cut them
 * and leave the model continuing the query instead of thinking. For every query that fits
 * (all of BEIR's and MS MARCO's) this is exactly the official tokenisation.
 *
 * @example
 * queryPromptIds(tokenizer, 'the dog') // [384, 117, 257, 283, 385, 386] on the tiny test tokenizer
 */
export function queryPromptIds(tokenizer: Tokenizer, query: string, options: { maxLength?: number } = {}): number[] {
  const maxLength = options.maxLength ?? O1_LIMITS.queryTokens;
  checkLimit(maxLength, 'maxLength', 4);
  const ids = o1TokenIds(tokenizer);
  const tokens = encode(tokenizer, queryPromptText(query));
  if (tokens.length <= maxLength) return tokens;
  return [...tokens.slice(0, maxLength - 2), ids.queryEnd, ids.thought];
}

/**
 * A generated thought made ready for re-assembly: trailing EOS, `<emb>` and padding tokens (as
 * text, since thoughts are decoded with special tokens kept) and a leading BOS are stripped, so
 * the layout's own EOS is the only one and BOS appears once.
 *
 * @example
 * cleanThought(tokenizer, 'The dog swam.<|endoftext|>') // 'The dog swam.'
 */
export function cleanThought(tokenizer: Tokenizer, thought: string): string {
  const trailing = [tokenizer.eosTokenId, tokenizer.padTokenId, tokenizer.tokenToId(EMBEDDING_TOKEN)]
    .map((id) => (id === undefined ? undefined : tokenizer.idToToken(id)))
    .filter((token): token is string => token !== undefined && token.length > 0);
  let text = thought;
  for (let changed = true; changed;) {
    changed = false;
    for (const token of trailing) {
      if (text.endsWith(token)) {
        text = text.slice(0, -token.length);
        changed = true;
      }
    }
  }
  const bos = tokenizer.bosTokenId === undefined ? undefined : tokenizer.idToToken(tokenizer.bosTokenId);
  while (bos !== undefined && bos.length > 0 && text.startsWith(bos)) text = text.slice(bos.length);
  return text;
}

/** `<query>{query}</query><thought>{thought}{EOS}` as text (the thought cleaned first; '' for none). */
export function querySequenceText(tokenizer: Tokenizer, query: string, thought: string): string {
  const { eos } = o1TokenIds(tokenizer);
  return `${queryPromptText(query)}${cleanThought(tokenizer, thought)}${tokenizer.idToToken(eos) ?? ''}`;
}

/**
 * The ids of a query sequence to embed: BOS? `<query>{query}</query><thought>{thought}{EOS}`
 * tokenised and cut to `maxLength` (default 256) tokens at the end (Hugging Face's right
 * truncation, as the official code), THEN `<emb>` appended so it is never cut off. An empty
 * thought gives the query-only (no-thinking) sequence `<query>q</query><thought>{EOS}<emb>` that
 * thought dropout trains.
 *
 * @example
 * querySequenceIds(tokenizer, 'the dog', 'The dog swam.') // [..., 385, 386, 269, 283, 263, 363, 47, 0, 387]
 */
export function querySequenceIds(tokenizer: Tokenizer, query: string, thought: string, options: { maxLength?: number } = {}): number[] {
  const maxLength = options.maxLength ?? O1_LIMITS.queryTokens;
  checkLimit(maxLength, 'maxLength', 1);
  const ids = o1TokenIds(tokenizer);
  const tokens = encode(tokenizer, querySequenceText(tokenizer, query, thought)).slice(0, maxLength);
  tokens.push(ids.embedding);
  return tokens;
}

/**
 * The query text cut to its first `maxTokens` tokens (default 32, the training recipe), by
 * tokenising without BOS and decoding back, as the official collator does.
 *
 * @example
 * truncateQueryText(tokenizer, 'a very long query ...', 32)
 */
export function truncateQueryText(tokenizer: Tokenizer, query: string, maxTokens: number = O1_LIMITS.trainingQueryTextTokens): string {
  checkQuery(query);
  checkLimit(maxTokens, 'maxTokens', 1);
  const tokens = tokenizer.encode(query, { addBos: false });
  return tokens.length <= maxTokens ? query : tokenizer.decode(tokens.slice(0, maxTokens));
}

/** One training query: ids and Hugging Face labels of the same length. */
export interface TrainingQueryExample {
  /** BOS? `<query>q</query><thought>{thought}{EOS}` (<= maxLength) + `<emb>`. */
  inputIds: number[];
  /** `IGNORE_INDEX` (-100) except on the thought tokens and the EOS, which carry their own ids (the model shifts). */
  labels: number[];
  /** Tokens up to and including `<thought>` (all masked). */
  promptLength: number;
}

/**
 * A training query sequence with its generation labels (o1-method.md §2 and §4): the query text
 * is first cut to `queryMaxTokens` (default 32), the sequence `<query>q</query><thought>` +
 * thought + EOS is tokenised to at most `maxLength` (default 256) tokens, then `<emb>` is
 * appended. Labels follow Hugging Face (aligned with the ids, -100 = no loss): only the thought
 * tokens and the EOS are supervised; the prompt (through `<thought>`) and `<emb>` are masked. An
 * empty thought (thought dropout) supervises the EOS alone.
 *
 * @example
 * const { inputIds, labels } = trainingQueryExample(tokenizer, 'the dog', 'The dog swam.');
 */
export function trainingQueryExample(
  tokenizer: Tokenizer,
  query: string,
  thought: string,
  options: { queryMaxTokens?: number; maxLength?: number } = {},
): TrainingQueryExample {
  const maxLength = options.maxLength ?? O1_LIMITS.trainingQueryTokens;
  checkLimit(maxLength, 'maxLength', 1);
  const ids = o1TokenIds(tokenizer);
  const shortQuery = truncateQueryText(tokenizer, query, options.queryMaxTokens ?? O1_LIMITS.trainingQueryTextTokens);
  const promptLength = encode(tokenizer, queryPromptText(shortQuery)).length;
  const inputIds = encode(tokenizer, querySequenceText(tokenizer, shortQuery, thought)).slice(0, maxLength);
  if (inputIds[promptLength - 1] !== ids.thought && promptLength <= inputIds.length) {
    throw new O1Error('CORRUPT_TOKENIZER', 'the tokenizer does not keep <thought> atomic at the end of the prompt', { field: 'thought' });
  }
  const labels = inputIds.map((id, position) => (position >= promptLength ? id : IGNORE_INDEX));
  inputIds.push(ids.embedding);
  labels.push(IGNORE_INDEX);
  return { inputIds, labels, promptLength: Math.min(promptLength, inputIds.length - 1) };
}

/**
 * The text a document is embedded from: `title + " " + text`, trimmed so a missing title adds no
 * leading space (as FlagEmbedding's evaluator strips it). Documents get no thought, no prefix.
 *
 * @example
 * documentText({ id: 'd1', title: 'Cats', text: 'They purr.' }) // 'Cats They purr.'
 */
export function documentText(document: Pick<Document, 'title' | 'text'>): string {
  return `${document.title ?? ''} ${document.text ?? ''}`.trim();
}

/**
 * A document's ids: BOS? `{title} {text}` cut to `maxLength` tokens (default 512, inference;
 * training uses {@link O1_LIMITS}.trainingDocumentTokens = 192), then `<emb>`.
 *
 * @example
 * documentIds(tokenizer, { id: 'd1', title: 'Cats', text: 'They purr.' }) // [..., 387]
 */
export function documentIds(tokenizer: Tokenizer, document: Pick<Document, 'title' | 'text'>, options: { maxLength?: number } = {}): number[] {
  const maxLength = options.maxLength ?? O1_LIMITS.documentTokens;
  checkLimit(maxLength, 'maxLength', 1);
  const ids = o1TokenIds(tokenizer);
  const tokens = encode(tokenizer, documentText(document)).slice(0, maxLength);
  tokens.push(ids.embedding);
  return tokens;
}

/** A training passage's ids: {@link documentIds} at 192 tokens. */
export function trainingDocumentIds(tokenizer: Tokenizer, document: Pick<Document, 'title' | 'text'>): number[] {
  return documentIds(tokenizer, document, { maxLength: O1_LIMITS.trainingDocumentTokens });
}

/**
 * Thought dropout's coin (o1-method.md §4): true with probability `probability` (default 0.1),
 * decided by (seed, ...keys) alone — e.g. keys = [epoch, record index] — so a run is reproducible
 * and independent of batching.
 *
 * @example
 * if (thoughtDropped({ seed: 42, keys: [epoch, index] })) thought = '';
 */
export function thoughtDropped(options: { probability?: number; seed?: number; keys?: readonly number[] } = {}): boolean {
  const probability = options.probability ?? 0.1;
  if (!(probability >= 0 && probability <= 1)) throw new O1Error('BAD_ARGUMENT', `dropout probability must be in [0, 1], got ${probability}`, { field: 'probability' });
  if (probability === 0) return false;
  if (probability === 1) return true;
  return seededRandom(deriveSeed(options.seed ?? 0, ...(options.keys ?? [])))() < probability;
}

/**
 * The thought after dropout: '' when {@link thoughtDropped}, else `thought`.
 *
 * @example
 * const thought = applyThoughtDropout(record.thought, { probability: 0.1, seed: 42, keys: [index] });
 */
export function applyThoughtDropout(thought: string, options: { probability?: number; seed?: number; keys?: readonly number[] } = {}): string {
  return thoughtDropped(options) ? '' : thought;
}
