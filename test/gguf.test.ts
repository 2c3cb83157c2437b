import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getLlama, type Llama, type Token } from 'node-llama-cpp';
import { O1Error } from '../src/errors.js';
import { dequantizeQ8_0, quantizeQ8_0, readGguf, readGgufHeader, writeGguf } from '../src/model/formats/gguf.js';
import { loadLlama2cCheckpoint } from '../src/model/formats/llama2c.js';
import { withRopeStyle } from '../src/model/formats/rope-permutation.js';
import type { DecoderWeights, HostTensor } from '../src/model/types.js';
import { addSpecialTokens } from '../src/model/special-tokens.js';
import { loadTokenizer, tokenizerFromGgufMetadata } from '../src/tokenizer/index.js';
import { SentencePieceBpeTokenizer } from '../src/tokenizer/sentencepiece-bpe.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';
import { randomDecoder, tinyBpeTokenizer, tinyLlamaConfig, tinyQwen2Config } from './helpers/tiny-models.js';

const STORIES = sharedPath('models', 'tinystories-260k', 'stories260K.bin');
const TOKENIZER = sharedPath('models', 'tinystories-260k', 'tok512.bin');
const STORY_START = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.';

let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-gguf-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function rejectsWith(action: () => Promise<unknown>, code: string, file?: string, field?: string): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof O1Error, String(error));
    assert.equal(error.code, code, error.message);
    if (file !== undefined) assert.equal(error.location.file, file, error.message);
    if (field !== undefined) assert.equal(error.location.field, field, error.message);
    return true;
  });
}

/** Every weight of `actual` within `tolerance(expectedValue, tensorMaxAbs)` of `expected`. */
function assertClose(actual: DecoderWeights, expected: DecoderWeights, tolerance: (value: number, maximum: number) => number): void {
  assert.deepEqual(actual.config, expected.config);
  assert.deepEqual([...actual.weights.keys()].sort(), [...expected.weights.keys()].sort());
  for (const [name, tensor] of expected.weights) {
    const read = actual.weights.get(name) as HostTensor;
    assert.deepEqual(read.shape, tensor.shape, name);
    const maximum = tensor.data.reduce((worst, value) => Math.max(worst, Math.abs(value)), 0);
    for (let index = 0; index < tensor.data.length; index++) {
      const error = Math.abs(read.data[index] - tensor.data[index]);
      if (error > tolerance(tensor.data[index], maximum)) assert.fail(`${name}[${index}]: ${read.data[index]} vs ${tensor.data[index]}`);
    }
  }
}

describe('GGUF writer and reader', () => {
  const tokenizer = tinyBpeTokenizer();
  // Token ids in the config are what the reader takes from the GGUF tokenizer metadata.
  const ids = { eosTokenId: tokenizer.eosTokenId, padTokenId: tokenizer.padTokenId };
  const qwen = randomDecoder(tinyQwen2Config(tokenizer.vocabSize, ids), 21);

  test('f32 round trip is exact, with RoPE order tagged by architecture', async () => {
    const path = join(directory, 'qwen-f32.gguf');
    await writeGguf(path, qwen, tokenizer.ggufMetadata(), { dtype: 'f32' });
    const back = await readGguf(path);
    assert.equal(back.model.config.ropeStyle, 'half');
    assertClose(back.model, qwen, () => 0);
    // The same model as arch llama is stored adjacent; permuting back gives the original.
    const llamaPath = join(directory, 'qwen-as-llama.gguf');
    await writeGguf(llamaPath, qwen, tokenizer.ggufMetadata(), { architecture: 'llama' });
    const asLlama = await readGguf(llamaPath);
    assert.equal(asLlama.model.config.ropeStyle, 'adjacent');
    assert.equal(asLlama.model.config.architecture, 'llama');
    assertClose(withRopeStyle(asLlama.model, 'half'), { ...qwen, config: { ...qwen.config, architecture: 'llama' } }, () => 0);
  });

  test('f16 and q8_0 round trips are within their precision', async () => {
    const llama = randomDecoder(tinyLlamaConfig(tokenizer.vocabSize, ids), 22);
    const f16Path = join(directory, 'llama-f16.gguf');
    await writeGguf(f16Path, llama, tokenizer.ggufMetadata(), { dtype: 'f16' });
    const f16 = await readGguf(f16Path);
    assertClose(withRopeStyle(f16.model, 'half'), llama, (value) => Math.abs(value) * 1e-3 + 1e-7);
    const q8Path = join(directory, 'llama-q8.gguf');
    await writeGguf(q8Path, llama, tokenizer.ggufMetadata(), { dtype: 'q8_0' });
    const header = await readGgufHeader(q8Path);
    assert.equal(header.tensors.find((tensor) => tensor.name === 'blk.0.attn_q.weight')?.type, 8);
    assert.equal(header.tensors.find((tensor) => tensor.name === 'blk.0.attn_norm.weight')?.type, 0);
    assert.equal(header.metadata.get('general.file_type'), 7);
    const q8 = await readGguf(q8Path);
    // Per block error <= half a step (max/127/2) plus the f16 rounding of the scale.
    assertClose(withRopeStyle(q8.model, 'half'), llama, (_, maximum) => maximum * (0.5 / 127 + 1e-3) + 1e-7);
    assert.ok((await readFile(q8Path)).length < (await readFile(f16Path)).length);
  });

  test('Q8_0 blocks match ggml: scale max/127, values rounded half away from zero', () => {
    const values = Float32Array.from({ length: 64 }, (_, index) => (index - 31.5) / 8);
    const bytes = quantizeQ8_0(values);
    assert.equal(bytes.length, 68);
    const view = new DataView(bytes.buffer);
    assert.equal(view.getInt8(2), -127);
    assert.equal(view.getInt8(2 + 31), -2); // -0.0625 / (3.9375 / 127) = -2.016
    const back = dequantizeQ8_0(bytes, 64);
    for (let index = 0; index < 64; index++) assert.ok(Math.abs(back[index] - values[index]) <= 3.9375 / 127 / 2 + 4e-3);
  });

  test('tokenizer metadata survives the round trip and rebuilds the same tokenizer', async () => {
    const path = join(directory, 'qwen-f32.gguf');
    const back = await readGguf(path);
    const metadata = tokenizer.ggufMetadata();
    assert.deepEqual(back.tokenizer?.tokens, metadata.tokens);
    assert.deepEqual(back.tokenizer?.merges, metadata.merges);
    assert.equal(back.tokenizer?.pre, 'gpt-2');
    const rebuilt = tokenizerFromGgufMetadata(back.tokenizer!);
    const text = 'Tom and his dog saw 42 red balls, "wow"!\n';
    assert.deepEqual(rebuilt.encode(text), tokenizer.encode(text));
    assert.equal(rebuilt.decode(rebuilt.encode(text)), text);
    const loaded = await loadTokenizer(path);
    assert.deepEqual(loaded.encode(text), tokenizer.encode(text));
  });

  test('corrupt and truncated files are CORRUPT_MODEL_FILE naming file and tensor', async () => {
    const path = join(directory, 'qwen-f32.gguf');
    const bytes = await readFile(path);
    const header = await readGgufHeader(path);
    const last = header.tensors.reduce((latest, tensor) => (tensor.offset > latest.offset ? tensor : latest));
    const cut = join(directory, 'cut.gguf');
    await writeFile(cut, bytes.subarray(0, bytes.length - 100));
    await rejectsWith(() => readGguf(cut), 'CORRUPT_MODEL_FILE', cut, last.name);
    await writeFile(cut, bytes.subarray(0, 2000));
    await rejectsWith(() => readGguf(cut), 'CORRUPT_MODEL_FILE', cut);
    const badMagic = Buffer.from(bytes);
    badMagic.write('GGML', 0);
    await writeFile(cut, badMagic);
    await rejectsWith(() => readGguf(cut), 'CORRUPT_MODEL_FILE', cut);
    await rejectsWith(() => readGguf(join(directory, 'absent.gguf')), 'MISSING_FILE');
  });

  test('a tokenizer larger than the embedding is refused; a smaller one is padded', async () => {
    const small = randomDecoder(tinyQwen2Config(tokenizer.vocabSize - 1), 23);
    await assert.rejects(() => writeGguf(join(directory, 'x.gguf'), small, tokenizer.ggufMetadata()), O1Error);
    const big = randomDecoder(tinyQwen2Config(tokenizer.vocabSize + 3), 23);
    await writeGguf(join(directory, 'padded.gguf'), big, tokenizer.ggufMetadata());
    const back = await readGguf(join(directory, 'padded.gguf'));
    assert.equal(back.tokenizer?.tokens.length, tokenizer.vocabSize + 3);
    assert.equal(back.tokenizer?.tokens.at(-1), `[PAD${tokenizer.vocabSize + 2}]`);
  });
});

describe('node-llama-cpp runs our GGUF files', () => {
  let llama: Llama;
  before(async () => {
    llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  });
  after(async () => {
    await llama?.dispose();
  });

  /**
   * Greedy tokens after `prompt`, with one explicit thread (engine.md: the default
   * oversubscribes), plus llama.cpp's tokenisation of `texts` (special tokens parsed) and its
   * detokenisation of the generated tokens.
   */
  async function greedy(path: string, prompt: number[], count: number, texts: string[] = []) {
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ threads: 1, contextSize: 256 });
    try {
      const tokens: number[] = [];
      for await (const token of context.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
        tokens.push(token);
        if (tokens.length >= count) break;
      }
      return {
        tokens,
        tokenized: texts.map((text) => model.tokenize(text, true).map(Number)),
        detokenized: model.detokenize(tokens as Token[], true),
      };
    } finally {
      await context.dispose();
      await model.dispose();
    }
  }

  test('stories260K (f32, arch llama, SPM vocabulary) greedy-decodes the known story', sharedTestOptions('models', 'tinystories-260k', 'stories260K.bin'), async () => {
    const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER);
    const model = await loadLlama2cCheckpoint(STORIES);
    const path = join(directory, 'stories260K.gguf');
    await writeGguf(path, model, tokenizer.ggufMetadata(), { dtype: 'f32', name: 'stories260K' });
    const samples = [STORY_START, ' Tom said "hi!"\nThe end. ü 日本'];
    const result = await greedy(path, [1], 40, samples);
    const text = tokenizer.decode([1, ...result.tokens], { skipSpecialTokens: true });
    assert.ok(text.startsWith(STORY_START), text);
    assert.equal(result.detokenized, text);
    // llama.cpp's SPM tokenizer and ours agree.
    samples.forEach((sample, index) => assert.deepEqual(result.tokenized[index], tokenizer.encode(sample, { addBos: false }), sample));
  });

  test('stories260K written as arch qwen2 (half rotation, zero biases) generates the same story', sharedTestOptions('models', 'tinystories-260k', 'stories260K.bin'), async () => {
    const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c(TOKENIZER);
    const model = await loadLlama2cCheckpoint(STORIES);
    const path = join(directory, 'stories260K-qwen2.gguf');
    await writeGguf(path, model, tokenizer.ggufMetadata(), { architecture: 'qwen2', dtype: 'f16' });
    const result = await greedy(path, [1], 25);
    assert.ok(tokenizer.decode([1, ...result.tokens], { skipSpecialTokens: true }).startsWith(STORY_START.slice(0, 60)));
  });

  test('a tiny random Qwen2 model with our BPE tokenizer and O1 tokens loads and generates; llama arch agrees', async () => {
    const tokenizer = tinyBpeTokenizer();
    const base = randomDecoder(tinyQwen2Config(tokenizer.vocabSize), 31, 0.3);
    const { model, ids } = addSpecialTokens(tokenizer, base);
    assert.equal(model.config.vocabSize, tokenizer.vocabSize);
    const qwenPath = join(directory, 'tiny-qwen2.gguf');
    await writeGguf(qwenPath, model, tokenizer.ggufMetadata(), { dtype: 'f32' });
    const prompt = tokenizer.encode('<query>Once upon a time</query><thought>');
    assert.equal(prompt[0], ids[0]);
    const samples = ['Tom and his dog went to the river, 123 times!', '<query>dog</query><emb>'];
    const qwen = await greedy(qwenPath, prompt, 12, samples);
    assert.equal(qwen.tokens.length, 12);
    assert.ok(qwen.tokens.every((token) => token >= 0 && token < tokenizer.vocabSize));
    samples.forEach((sample, index) => assert.deepEqual(qwen.tokenized[index], tokenizer.encode(sample), sample));
    assert.equal(qwen.detokenized, tokenizer.decode(qwen.tokens));
    // The same weights through llama.cpp's llama graph (adjacent rotation, permuted Q/K rows and biases).
    const llamaPath = join(directory, 'tiny-qwen2-as-llama.gguf');
    await writeGguf(llamaPath, model, tokenizer.ggufMetadata(), { architecture: 'llama' });
    const asLlama = await greedy(llamaPath, prompt, 12);
    assert.deepEqual(asLlama.tokens, qwen.tokens);
    // And quantised to Q8_0 it still loads and generates.
    const q8Path = join(directory, 'tiny-qwen2-q8.gguf');
    await writeGguf(q8Path, model, tokenizer.ggufMetadata(), { dtype: 'q8_0' });
    assert.equal((await greedy(q8Path, prompt, 4)).tokens.length, 4);
  });

  test('an embedding context with last-token pooling (O1 pools at <emb>) returns hidden-size vectors', async () => {
    const tokenizer = tinyBpeTokenizer();
    const model = randomDecoder(tinyQwen2Config(tokenizer.vocabSize), 32, 0.3);
    const path = join(directory, 'tiny-embedder.gguf');
    await writeGguf(path, model, tokenizer.ggufMetadata(), { poolingType: 'last' });
    assert.equal((await readGgufHeader(path)).metadata.get('qwen2.pooling_type'), 3);
    const loaded = await llama.loadModel({ modelPath: path });
    const context = await loaded.createEmbeddingContext({ threads: 1, contextSize: 128 });
    try {
      const embedding = await context.getEmbeddingFor('Tom and his dog');
      assert.equal(embedding.vector.length, 64);
      assert.ok(embedding.vector.every(Number.isFinite));
    } finally {
      await context.dispose();
      await loaded.dispose();
    }
  });
});
