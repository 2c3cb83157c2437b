import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { O1Error } from '../src/errors.js';
import {
  applyThoughtDropout, cleanThought, documentIds, documentText, hasO1Tokens, IGNORE_INDEX, O1_SPECIAL_TOKENS, o1TokenIds, queryPromptIds,
  querySequenceIds, querySequenceText, thoughtDropped, trainingDocumentIds, trainingQueryExample, truncateQueryText,
} from '../src/o1/layout.js';
import { trainByteLevelBpe } from '../src/tokenizer/bpe-trainer.js';
import { TINY_CORPUS, tinyBpeTokenizer } from './helpers/tiny-models.js';

// The tiny trained BPE (no BOS, like Qwen2; EOS <|endoftext|> = 0) with the O1 tokens appended.
const tokenizer = tinyBpeTokenizer();
tokenizer.addSpecialTokens(O1_SPECIAL_TOKENS);
const [QUERY, END_QUERY, THOUGHT, EMB, EOS] = [384, 385, 386, 387, 0];
// Hand-checked pieces: 'the dog' = t he Ġdog; 'The dog swam.' = The Ġdog Ġs wam . (ids from the trained vocabulary).
const THE_DOG = [117, 257, 283];
const THE_DOG_SWAM = [269, 283, 263, 363, 47];

/** A Llama-convention tokenizer: the post-processor prepends BOS `<s>` (id 1). */
function bosTokenizer() {
  const withBos = trainByteLevelBpe(Array.from({ length: 4 }, () => TINY_CORPUS).flat(), { vocabSize: 384, specialTokens: ['<|endoftext|>', '<s>'], bosToken: '<s>', minFrequency: 2 });
  withBos.addSpecialTokens(O1_SPECIAL_TOKENS);
  return withBos;
}

describe('O1 token layout', () => {
  test('token ids and the pieces used below', () => {
    assert.deepEqual(o1TokenIds(tokenizer), { queryStart: QUERY, queryEnd: END_QUERY, thought: THOUGHT, embedding: EMB, eos: EOS, bos: undefined });
    assert.deepEqual(tokenizer.encode('the dog', { addBos: false }), THE_DOG);
    assert.deepEqual(tokenizer.encode('The dog swam.', { addBos: false }), THE_DOG_SWAM);
    assert.equal(hasO1Tokens(tokenizer), true);
    assert.equal(hasO1Tokens(tinyBpeTokenizer()), false);
  });

  test('inference prompt, full query sequence with <emb> after the EOS, and the query-only sequence', () => {
    assert.deepEqual(queryPromptIds(tokenizer, 'the dog'), [QUERY, ...THE_DOG, END_QUERY, THOUGHT]);
    assert.equal(querySequenceText(tokenizer, 'the dog', 'The dog swam.'), '<query>the dog</query><thought>The dog swam.<|endoftext|>');
    assert.deepEqual(querySequenceIds(tokenizer, 'the dog', 'The dog swam.'), [QUERY, ...THE_DOG, END_QUERY, THOUGHT, ...THE_DOG_SWAM, EOS, EMB]);
    // A decoded generation that kept its EOS (or <emb>) gets exactly one EOS back.
    assert.deepEqual(querySequenceIds(tokenizer, 'the dog', 'The dog swam.<|endoftext|><emb>'), querySequenceIds(tokenizer, 'the dog', 'The dog swam.'));
    assert.equal(cleanThought(tokenizer, 'x<|endoftext|><|endoftext|>'), 'x');
    assert.deepEqual(querySequenceIds(tokenizer, 'the dog', ''), [QUERY, ...THE_DOG, END_QUERY, THOUGHT, EOS, EMB]);
  });

  test('truncation: the prompt keeps </query><thought>; the full sequence is cut at 256 and then gets <emb>', () => {
    const longQuery = Array.from({ length: 200 }, () => 'the dog').join(' ');
    const prompt = queryPromptIds(tokenizer, longQuery);
    assert.equal(prompt.length, 256);
    assert.deepEqual(prompt.slice(0, 4), [QUERY, ...THE_DOG]);
    assert.deepEqual(prompt.slice(-2), [END_QUERY, THOUGHT]);
    const sequence = querySequenceIds(tokenizer, longQuery, 'The dog swam.');
    assert.equal(sequence.length, 257);
    assert.equal(sequence[256], EMB, '<emb> is never cut off');
    assert.deepEqual(sequence.slice(0, 255), tokenizer.encode(querySequenceText(tokenizer, longQuery, 'The dog swam.')).slice(0, 255));
    const short = querySequenceIds(tokenizer, 'the dog', 'The dog swam.', { maxLength: 6 });
    assert.deepEqual(short, [QUERY, ...THE_DOG, END_QUERY, THOUGHT, EMB]);
    const document = documentIds(tokenizer, { title: 'Dogs', text: `${longQuery} ${longQuery}` });
    assert.equal(document.length, 513);
    assert.equal(document[512], EMB);
    assert.equal(trainingDocumentIds(tokenizer, { title: '', text: longQuery }).length, 193);
  });

  test('documents: title + " " + text, no thought or prefix, then <emb>', () => {
    assert.equal(documentText({ title: 'Dogs', text: 'the dog' }), 'Dogs the dog');
    assert.equal(documentText({ title: '', text: 'the dog' }), 'the dog');
    assert.deepEqual(documentIds(tokenizer, { title: '', text: 'the dog' }), [...THE_DOG, EMB]);
    assert.deepEqual(documentIds(tokenizer, { title: 'The', text: 'dog swam.' }), [...THE_DOG_SWAM, EMB]);
  });

  test('training example: query cut to 32 tokens first; labels only on the thought and EOS', () => {
    const example = trainingQueryExample(tokenizer, 'the dog', 'The dog swam.');
    assert.deepEqual(example.inputIds, [QUERY, ...THE_DOG, END_QUERY, THOUGHT, ...THE_DOG_SWAM, EOS, EMB]);
    const masked = Array(6).fill(IGNORE_INDEX);
    assert.deepEqual(example.labels, [...masked, ...THE_DOG_SWAM, EOS, IGNORE_INDEX]);
    assert.equal(example.promptLength, 6);
    // Thought dropout: an empty thought supervises the EOS alone; the sequence is the no-thinking one.
    const dropped = trainingQueryExample(tokenizer, 'the dog', '');
    assert.deepEqual(dropped.inputIds, querySequenceIds(tokenizer, 'the dog', ''));
    assert.deepEqual(dropped.labels, [...masked, EOS, IGNORE_INDEX]);
    // The query alone is cut to 32 tokens before the thought is added.
    const longQuery = Array.from({ length: 40 }, () => 'the dog').join(' ');
    const cut = truncateQueryText(tokenizer, longQuery);
    assert.equal(tokenizer.encode(cut, { addBos: false }).length, 32);
    const long = trainingQueryExample(tokenizer, longQuery, 'The dog swam.');
    assert.equal(long.promptLength, 32 + 3);
    assert.deepEqual(long.inputIds.slice(32 + 1, 32 + 3), [END_QUERY, THOUGHT]);
    assert.deepEqual(long.labels.slice(35), [...THE_DOG_SWAM, EOS, IGNORE_INDEX]);
    assert.equal(long.labels.length, long.inputIds.length);
    // A long thought is cut at 256 tokens in total, then <emb>; labels stay aligned.
    const longThought = trainingQueryExample(tokenizer, 'the dog', Array.from({ length: 300 }, () => 'The dog swam.').join(' '));
    assert.equal(longThought.inputIds.length, 257);
    assert.equal(longThought.inputIds[256], EMB);
    assert.equal(longThought.labels[256], IGNORE_INDEX);
    assert.equal(longThought.labels[255], longThought.inputIds[255]);
  });

  test('BOS exactly once, by the tokenizer convention, also when a decoded generation carries one', () => {
    const withBos = bosTokenizer();
    const bos = withBos.bosTokenId as number;
    assert.equal(bos, 1);
    const ids = o1TokenIds(withBos);
    const sequence = querySequenceIds(withBos, 'the dog', 'The dog swam.');
    assert.equal(sequence[0], bos);
    assert.equal(sequence[1], ids.queryStart);
    assert.equal(sequence.filter((id) => id === bos).length, 1);
    assert.deepEqual(querySequenceIds(withBos, 'the dog', '<s>The dog swam.<|endoftext|>'), sequence);
    assert.deepEqual(queryPromptIds(withBos, 'the dog'), sequence.slice(0, queryPromptIds(withBos, 'the dog').length));
    const example = trainingQueryExample(withBos, 'the dog', 'The dog swam.');
    assert.deepEqual(example.inputIds, sequence);
    assert.equal(example.labels[0], IGNORE_INDEX);
    assert.equal(example.promptLength, 1 + 1 + 3 + 2);
    assert.deepEqual(documentIds(withBos, { title: '', text: 'the dog' }).slice(0, 1), [bos]);
  });

  test('thought dropout is seeded and close to its probability', () => {
    const draws = Array.from({ length: 2000 }, (_, index) => thoughtDropped({ probability: 0.1, seed: 7, keys: [0, index] }));
    const again = Array.from({ length: 2000 }, (_, index) => thoughtDropped({ probability: 0.1, seed: 7, keys: [0, index] }));
    assert.deepEqual(draws, again);
    const rate = draws.filter(Boolean).length / draws.length;
    assert.ok(rate > 0.07 && rate < 0.13, `rate ${rate}`);
    const other = Array.from({ length: 2000 }, (_, index) => thoughtDropped({ probability: 0.1, seed: 8, keys: [0, index] }));
    assert.notDeepEqual(draws, other);
    assert.equal(applyThoughtDropout('t', { probability: 1 }), '');
    assert.equal(applyThoughtDropout('t', { probability: 0 }), 't');
  });

  test('bad input: empty query, a tokenizer without the O1 tokens', () => {
    assert.throws(() => queryPromptIds(tokenizer, '  '), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT' && /query is empty/.test(error.message));
    assert.throws(() => querySequenceIds(tinyBpeTokenizer(), 'the dog', ''), (error: unknown) => error instanceof O1Error && error.code === 'MISSING_SPECIAL_TOKENS' && /<query> <\/query> <thought> <emb>/.test(error.message));
  });
});
