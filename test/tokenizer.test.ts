import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { O1Error } from '../src/errors.js';
import {
  GGUF_TOKEN_TYPE,
  HuggingFaceTokenizer,
  loadTokenizer,
  packBatch,
  padBatch,
  SentencePieceBpeTokenizer,
  trainByteLevelBpeJson,
  type Tokenizer,
} from '../src/tokenizer/index.js';
import { O1_SPECIAL_TOKENS } from '../src/model/special-tokens.js';
import { GPT2_SPLIT_PATTERN, toByteLevel } from '../src/tokenizer/byte-level.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';
import { llama2StyleTokenizerJson, TINY_CORPUS, tinyBpeTokenizer } from './helpers/tiny-models.js';

const TOKENIZER = sharedPath('models', 'tinystories-260k', 'tok512.bin');
const withTok512 = sharedTestOptions('models', 'tinystories-260k', 'tok512.bin');
/** What node-llama-cpp greedy-decoded from BOS with stories260K (see gguf.test.ts). */
const GREEDY_TOKENS = [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292];
const SAMPLES = [
  'Once upon a time, there was a little girl named Lily.',
  '  leading spaces, trailing spaces  ',
  'tabs\tand\nnew lines\n\n',
  'Unicode: café, naïve, 日本語, emoji 🙂, Ω≈ç√',
  "don't stop: 3.14159 + 2,000 = ???",
];

let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-tokenizer-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

function assertRoundTrips(tokenizer: Tokenizer, texts: readonly string[]): void {
  for (const text of texts) {
    assert.equal(tokenizer.decode(tokenizer.encode(text), { skipSpecialTokens: true }), text, JSON.stringify(text));
  }
}

describe('llama2.c tok512', () => {
  test('encodes known text to known ids and decodes greedy tokens', withTok512, async () => {
    const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER);
    assert.equal(tokenizer.vocabSize, 512);
    assert.equal(tokenizer.bosTokenId, 1);
    assert.equal(tokenizer.eosTokenId, 2);
    assert.deepEqual(tokenizer.encode('Once upon a time, there was a little girl named Lily.'), [1, ...GREEDY_TOKENS.slice(0, 15)]);
    assert.deepEqual(tokenizer.encode('Once upon a time', { addBos: false }), [403, 407, 261, 378]);
    assert.equal(tokenizer.decode([1, ...GREEDY_TOKENS], { skipSpecialTokens: true }), 'Once upon a time, there was a little girl named Lily. She loved to play outsid');
    assert.equal(tokenizer.decode([1, 403, 2]), '<s>Once</s>');
    assert.equal(tokenizer.idToToken(403), ' Once');
    assert.equal(tokenizer.tokenToId(' Once'), 403);
    assert.deepEqual(tokenizer.encode(''), [1]);
  });

  test('falls back to <0xXX> byte tokens and round-trips any text', withTok512, async () => {
    const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER);
    const ids = tokenizer.encode('日', { addBos: false });
    // ' ' then the three UTF-8 bytes of 日 (0xE6 0x97 0xA5) as byte tokens (byte + 3).
    assert.deepEqual(ids.slice(-3), [0xe6 + 3, 0x97 + 3, 0xa5 + 3]);
    assertRoundTrips(tokenizer, SAMPLES.map((text) => text.trimStart()));
  });

  test('a truncated tokenizer file is CORRUPT_TOKENIZER naming the file', withTok512, async () => {
    const bytes = await readFile(TOKENIZER);
    const path = join(directory, 'cut.bin');
    await writeFile(path, bytes.subarray(0, 3001));
    await assert.rejects(() => SentencePieceBpeTokenizer.loadLlama2c(path), (error: unknown) => {
      assert.ok(error instanceof O1Error && error.code === 'CORRUPT_TOKENIZER' && error.location.file === path, String(error));
      return true;
    });
  });

  test('saves in llama2.c format and loads back identically', withTok512, async () => {
    const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER);
    const path = join(directory, 'tok-copy.bin');
    await tokenizer.saveLlama2c(path);
    const loaded = await loadTokenizer(path);
    for (const text of SAMPLES) assert.deepEqual(loaded.encode(text), tokenizer.encode(text));
  });
});

describe('special tokens are atomic', () => {
  async function check(tokenizer: Tokenizer): Promise<void> {
    const before = tokenizer.vocabSize;
    const ids = tokenizer.addSpecialTokens(O1_SPECIAL_TOKENS);
    assert.deepEqual(ids, [before, before + 1, before + 2, before + 3]);
    assert.equal(tokenizer.vocabSize, before + 4);
    assert.deepEqual(tokenizer.addSpecialTokens(['<emb>', '<query>']), [ids[3], ids[0]]);
    const [query, endQuery, thought, emb] = ids;
    const encoded = tokenizer.encode('<query>what is a dog?</query><thought>a pet<emb>', { addBos: false });
    assert.equal(encoded[0], query);
    assert.equal(encoded.at(-1), emb);
    assert.ok(encoded.includes(endQuery) && encoded.includes(thought));
    // `<emb>` written inside a word still splits out as one token.
    assert.deepEqual(tokenizer.encode('a<emb>b', { addBos: false }).filter((id) => id === emb), [emb]);
    assert.equal(tokenizer.decode(encoded), '<query>what is a dog?</query><thought>a pet<emb>');
    assert.equal(tokenizer.decode(encoded, { skipSpecialTokens: true }), 'what is a dog?a pet');
    assert.ok(tokenizer.isSpecialToken(emb));
    assert.ok(!tokenizer.isSpecialToken(encoded[1]));
    assert.equal(tokenizer.ggufMetadata().tokenTypes[emb], GGUF_TOKEN_TYPE.control);
  }

  test('in tok512', withTok512, async () => check(await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER)));
  test('in a trained byte-level BPE', async () => check(tinyBpeTokenizer()));
});

describe('byte-level BPE trainer', () => {
  test('round-trips text, including unseen characters', () => {
    const tokenizer = tinyBpeTokenizer();
    assertRoundTrips(tokenizer, [...TINY_CORPUS, ...SAMPLES]);
    assert.ok(tokenizer.encode(TINY_CORPUS[0]).length < new TextEncoder().encode(TINY_CORPUS[0]).length / 2);
  });

  test('is deterministic, honours vocabSize and merges the most frequent pair first', () => {
    const texts = Array.from({ length: 3 }, () => TINY_CORPUS).flat();
    const first = trainByteLevelBpeJson(texts, { vocabSize: 300 });
    const second = trainByteLevelBpeJson(texts, { vocabSize: 300 });
    assert.deepEqual(first, second);
    const vocab = first.tokenizer.model.vocab as Record<string, number>;
    assert.equal(Object.keys(vocab).length, 300);
    assert.equal(first.tokenizer.model.merges?.length, 300 - 257);
    // The first merge is the most frequent adjacent byte pair over the pre-tokenised words.
    const pairCounts = new Map<string, number>();
    for (const text of texts) {
      for (const [word] of text.matchAll(GPT2_SPLIT_PATTERN)) {
        const characters = Array.from(toByteLevel(word));
        for (let index = 0; index + 1 < characters.length; index++) {
          const pair = `${characters[index]} ${characters[index + 1]}`;
          pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + 1);
        }
      }
    }
    const mostFrequent = Math.max(...pairCounts.values());
    assert.equal(pairCounts.get((first.tokenizer.model.merges?.[0] as string[]).join(' ')), mostFrequent);
    assert.throws(() => trainByteLevelBpeJson(texts, { vocabSize: 100 }), O1Error);
  });

  test('saves tokenizer.json that @huggingface/tokenizers loads back (through loadTokenizer)', async () => {
    const tokenizer = tinyBpeTokenizer();
    tokenizer.addSpecialTokens(O1_SPECIAL_TOKENS);
    const folder = join(directory, 'trained');
    await tokenizer.save(folder);
    const loaded = await loadTokenizer(folder);
    assert.ok(loaded instanceof HuggingFaceTokenizer);
    assert.equal(loaded.vocabSize, tokenizer.vocabSize);
    assert.equal(loaded.eosTokenId, 0);
    for (const text of [...SAMPLES, '<query>q</query><thought>t<emb>']) assert.deepEqual(loaded.encode(text), tokenizer.encode(text));
    const config = JSON.parse(await readFile(join(folder, 'tokenizer_config.json'), 'utf8'));
    assert.equal(config.added_tokens_decoder[String(tokenizer.tokenToId('<emb>'))].content, '<emb>');
    assert.ok((await loadTokenizer(join(folder, 'tokenizer.json'))) instanceof HuggingFaceTokenizer);
  });
});

describe('batches: left padding and truncation', () => {
  test('pads on the left with the pad id and masks padding', () => {
    const tokenizer = tinyBpeTokenizer();
    const batch = tokenizer.encodeBatch(['Tom', 'Tom and his dog went to the river.']);
    const long = tokenizer.encode('Tom and his dog went to the river.');
    const short = tokenizer.encode('Tom');
    assert.equal(batch.sequenceLength, long.length);
    assert.deepEqual(batch.inputIds[1], long);
    assert.deepEqual(batch.inputIds[0], [...new Array(long.length - short.length).fill(tokenizer.padTokenId), ...short]);
    assert.deepEqual(batch.attentionMask[0], [...new Array(long.length - short.length).fill(0), ...short.map(() => 1)]);
    assert.equal(batch.inputIds[0].at(-1), short.at(-1));
  });

  test('truncates from either side and rounds lengths up', () => {
    const batch = padBatch([[1, 2, 3, 4, 5], [6]], { padTokenId: 9, maxLength: 3 });
    assert.deepEqual(batch.inputIds, [[1, 2, 3], [9, 9, 6]]);
    assert.deepEqual(padBatch([[1, 2, 3, 4, 5]], { padTokenId: 9, maxLength: 3, truncationSide: 'left' }).inputIds, [[3, 4, 5]]);
    const rounded = padBatch([[1, 2, 3]], { padTokenId: 0, padToMultipleOf: 4 });
    assert.deepEqual(rounded.inputIds, [[0, 1, 2, 3]]);
    assert.deepEqual(rounded.attentionMask, [[0, 1, 1, 1]]);
    assert.throws(() => padBatch([[1]], { padTokenId: 0, maxLength: 0 }), O1Error);
  });

  test('packs into flat Int32Array or BigInt64Array', withTok512, async () => {
    const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER);
    const batch = tokenizer.encodeBatch(['Once upon a time', 'Lily'], { maxLength: 4 });
    assert.deepEqual(batch.inputIds, [[1, 403, 407, 261], [2, 2, 1, 317]]);
    const int32 = packBatch(batch);
    assert.deepEqual([...int32.inputIds], [1, 403, 407, 261, 2, 2, 1, 317]);
    assert.deepEqual([...int32.attentionMask], [1, 1, 1, 1, 0, 0, 1, 1]);
    const int64 = packBatch(batch, 'int64');
    assert.ok(int64.inputIds instanceof BigInt64Array);
    assert.equal(int64.inputIds[7], 317n);
    assert.equal(int64.batchSize * int64.sequenceLength, 8);
  });
});

describe('Hugging Face SentencePiece-style (Llama 2) tokenizer.json', () => {
  test('agrees with the score-merging tokenizer on tok512 and exports GGUF llama metadata', withTok512, async () => {
    const reference = await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER);
    const pieces = Array.from({ length: reference.vocabSize }, (_, id) => (reference.idToToken(id) as string).replaceAll(' ', '\u2581'));
    const scores = pieces.map((_, id) => reference.scoreOf(id) as number);
    const tokenizer = HuggingFaceTokenizer.fromJsonFiles(llama2StyleTokenizerJson(pieces, scores));
    for (const text of ['Once upon a time, there was a little girl named Lily.', 'She loved to play outside in the park.', 'Tom said "hi!"\nThe end.', 'café 日本']) {
      assert.deepEqual(tokenizer.encode(text), reference.encode(text), text);
      assert.equal(tokenizer.decode(tokenizer.encode(text), { skipSpecialTokens: true }), text);
    }
    const metadata = tokenizer.ggufMetadata();
    assert.equal(metadata.model, 'llama');
    assert.equal(metadata.tokenTypes[3], GGUF_TOKEN_TYPE.byte);
    assert.equal(metadata.tokenTypes[1], GGUF_TOKEN_TYPE.control);
    assert.equal(metadata.tokenTypes[0], GGUF_TOKEN_TYPE.unknown);
    assert.equal(metadata.addBosToken, true);
    // Its scores reproduce the BPE priorities in the score-merging algorithm.
    const fromScores = SentencePieceBpeTokenizer.fromGgufMetadata(metadata);
    for (const text of SAMPLES.slice(0, 3)) assert.deepEqual(fromScores.encode(text), tokenizer.encode(text), text);
  });
});

describe('loadTokenizer', () => {
  test('rejects unknown kinds and missing paths', async () => {
    await assert.rejects(() => loadTokenizer(join(directory, 'none.json')), O1Error);
    const path = join(directory, 'tokenizer.txt');
    await writeFile(path, 'x');
    await assert.rejects(() => loadTokenizer(path), (error: unknown) => error instanceof O1Error && error.code === 'CORRUPT_TOKENIZER');
  });
});
