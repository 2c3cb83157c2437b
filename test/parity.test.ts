/**
 * Parity with llama.cpp (through node-llama-cpp) on the same weights: our engine's logits, greedy
 * tokens and last-token embeddings against llama.cpp's, for stories260K (llama2.c loader) and a
 * tiny random Qwen2 model (safetensors round trip), both exported by our GGUF writer in f32.
 *
 * llama.cpp is run with an f32 KV cache and without flash attention (its CPU flash-attention path
 * rounds K/V to f16, which alone moves logits by ~2e-2 on stories260K). node-llama-cpp exposes no
 * raw logits, only the full softmax at every position (`controlledEvaluate` with
 * `generateNext.probabilities`, greedy sampler so nothing is filtered); logits are compared as
 * log-probabilities centred per position (logits are defined up to a per-position constant).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { getLlama, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';
import { DecoderModel } from '../src/inference/model.js';
import { cosineSimilarity } from '../src/inference/pooling.js';
import { loadModelFiles } from '../src/inference/load.js';
import { writeGguf } from '../src/model/formats/gguf.js';
import { saveHuggingFaceModel } from '../src/model/formats/safetensors.js';
import type { Tokenizer } from '../src/tokenizer/index.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';
import { randomDecoder, tinyBpeTokenizer, tinyQwen2Config } from './helpers/tiny-models.js';

const STORIES_FOLDER = sharedPath('models', 'tinystories-260k');
const STORY_START = 'Once upon a time, there was a little girl named Lily';
const TEXTS = ['Once upon a time, there was a dog.', 'Tom and his dog went to the river. The dog jumped into the water!', 'The end.', 'She loved to play outside in the park with her big red ball.'];

let directory: string;
let llama: Llama;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-parity-'));
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
});
after(async () => {
  await llama?.dispose();
  await rm(directory, { recursive: true, force: true });
});

async function loadLlamaCpp(path: string): Promise<LlamaModel> {
  return llama.loadModel({ modelPath: path, defaultContextFlashAttention: false });
}

/** Context options for exact f32 attention (see the file comment). */
const EXACT = { threads: 1, contextSize: 256, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } as const;

/** Max over positions and tokens of |centred log-softmax ours − centred log p llama.cpp|. */
async function logitDifference(ours: DecoderModel, path: string, sequence: number[]): Promise<number> {
  const [logits] = await ours.logits([sequence]);
  const model = await loadLlamaCpp(path);
  const context = await model.createContext(EXACT);
  try {
    const output = await context.getSequence().controlledEvaluate(sequence.map((token) => [token as Token, { generateNext: { probabilities: true } }]));
    const vocab = ours.config.vocabSize;
    let worst = 0;
    for (let position = 0; position < sequence.length; position++) {
      const probabilities = output[position]?.next.probabilities;
      assert.ok(probabilities !== undefined, `no probabilities at position ${position}`);
      assert.equal(probabilities.size, vocab, 'llama.cpp returned the whole vocabulary');
      const theirs = new Float64Array(vocab);
      for (const [token, probability] of probabilities) theirs[token] = Math.log(probability);
      let theirMean = 0;
      let ourMean = 0;
      for (let token = 0; token < vocab; token++) {
        theirMean += theirs[token] / vocab;
        ourMean += logits[position * vocab + token] / vocab;
      }
      for (let token = 0; token < vocab; token++) worst = Math.max(worst, Math.abs(theirs[token] - theirMean - (logits[position * vocab + token] - ourMean)));
    }
    return worst;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

async function llamaCppGreedy(path: string, prompt: number[], count: number): Promise<number[]> {
  const model = await loadLlamaCpp(path);
  const context = await model.createContext(EXACT);
  try {
    const tokens: number[] = [];
    for await (const token of context.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
      tokens.push(token);
      if (tokens.length >= count) break;
    }
    return tokens;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

/** llama.cpp's embeddings for token inputs, with the tokens it actually evaluated (BOS/EOS as its vocabulary says). */
async function llamaCppEmbeddings(path: string, inputs: number[][]): Promise<{ vectors: number[][]; evaluated: number[][] }> {
  const model = await loadLlamaCpp(path);
  const context = await model.createEmbeddingContext({ threads: 1, contextSize: 256 });
  try {
    const vectors: number[][] = [];
    const evaluated: number[][] = [];
    for (const input of inputs) {
      const tokens = [...input];
      const { bos, eos, shouldPrependBosToken, shouldAppendEosToken } = model.tokens;
      if (shouldPrependBosToken && bos !== null && tokens[0] !== bos) tokens.unshift(bos);
      if (shouldAppendEosToken && eos !== null && tokens.at(-1) !== eos) tokens.push(eos);
      evaluated.push(tokens);
      vectors.push([...(await context.getEmbeddingFor(input as Token[])).vector]);
    }
    return { vectors, evaluated };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

interface ParityCase {
  ours: DecoderModel;
  tokenizer: Tokenizer;
  /** GGUF with last-token pooling in its metadata. */
  path: string;
  /** Greedy prompt. */
  prompt: number[];
}

async function checkParity(t: TestContext, name: string, parity: ParityCase): Promise<number[]> {
  const { ours, path, prompt } = parity;
  // (b) greedy: 100 tokens, identical.
  const [[sample]] = await ours.generateTokens([prompt], { greedy: true, maxNewTokens: 100, stopAtEos: false });
  const reference = await llamaCppGreedy(path, prompt, 100);
  assert.equal(sample.tokens.length, 100);
  assert.deepEqual(sample.tokens, reference.slice(0, sample.tokens.length), `${name}: greedy tokens differ`);
  // (a) logits on a 64-token sequence (the prompt and what greedy decoding made of it).
  const sequence = [...prompt, ...sample.tokens].slice(0, 64);
  const difference = await logitDifference(ours, path, sequence);
  assert.ok(difference <= 1e-3, `${name}: max abs logit difference ${difference}`);
  // (c) last-token embeddings.
  const inputs = TEXTS.map((text) => parity.tokenizer.encode(text));
  const { vectors, evaluated } = await llamaCppEmbeddings(path, inputs);
  const ourVectors = await ours.embedTokens(evaluated, { pooling: 'last' });
  const cosines = vectors.map((vector, index) => cosineSimilarity(vector, ourVectors[index]));
  for (const cosine of cosines) assert.ok(cosine >= 0.9999, `${name}: cosine ${cosine}`);
  t.diagnostic(`${name}: max abs logit diff ${difference.toExponential(3)} over ${sequence.length} positions; greedy 100/100 identical; min cosine ${Math.min(...cosines).toFixed(7)}`);
  return sample.tokens;
}

describe('parity with llama.cpp on the same weights', () => {
  test('stories260K: llama2.c loader, our GGUF writer (f32), llama.cpp', sharedTestOptions('models', 'tinystories-260k', 'stories260K.bin'), async (t) => {
    const loaded = await loadModelFiles(STORIES_FOLDER);
    const path = join(directory, 'stories260K.gguf');
    await writeGguf(path, loaded.model, loaded.tokenizer.ggufMetadata(), { dtype: 'f32', poolingType: 'last' });
    const ours = new DecoderModel(loaded.model, loaded.tokenizer, { threads: 1 });
    try {
      const tokens = await checkParity(t, 'stories260K', { ours, tokenizer: loaded.tokenizer, path, prompt: [1] });
      const text = loaded.tokenizer.decode(tokens);
      assert.ok(text.startsWith(STORY_START), text);
      // Mean pooling agrees too (a second file whose metadata asks for it).
      const meanPath = join(directory, 'stories260K-mean.gguf');
      await writeGguf(meanPath, loaded.model, loaded.tokenizer.ggufMetadata(), { dtype: 'f32', poolingType: 'mean' });
      const { vectors, evaluated } = await llamaCppEmbeddings(meanPath, TEXTS.map((text) => loaded.tokenizer.encode(text)));
      const ourVectors = await ours.embedTokens(evaluated, { pooling: 'mean' });
      vectors.forEach((vector, index) => assert.ok(cosineSimilarity(vector, ourVectors[index]) >= 0.9999));
    } finally {
      await ours.dispose();
    }
  });

  test('tiny random Qwen2 (biases, grouped KV heads, tied embeddings): safetensors round trip, GGUF arch qwen2', async (t) => {
    const tokenizer = tinyBpeTokenizer();
    const folder = join(directory, 'tiny-qwen2');
    await saveHuggingFaceModel(folder, randomDecoder(tinyQwen2Config(tokenizer.vocabSize, { eosTokenId: tokenizer.eosTokenId }), 41, 0.3));
    await tokenizer.save(folder);
    const ours = await DecoderModel.load(folder, { threads: 1 });
    try {
      assert.equal(ours.source, 'huggingface');
      assert.equal(ours.config.architecture, 'qwen2');
      const path = join(directory, 'tiny-qwen2.gguf');
      const loaded = await loadModelFiles(folder);
      await writeGguf(path, loaded.model, loaded.tokenizer.ggufMetadata(), { dtype: 'f32', poolingType: 'last' });
      await checkParity(t, 'tiny Qwen2', { ours, tokenizer: ours.tokenizer, path, prompt: ours.tokenizer.encode('Once upon a time') });
    } finally {
      await ours.dispose();
    }
  });
});
