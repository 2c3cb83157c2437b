import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { O1Error } from '../src/errors.js';
import { loadModelFiles } from '../src/inference/load.js';
import { DecoderModel } from '../src/inference/model.js';
import { cosineSimilarity, l2NormalizeInPlace, meanVector, poolHiddenStates } from '../src/inference/pooling.js';
import { argmax, sampleToken, samplingDistribution, SeededRandom } from '../src/inference/sampling.js';
import { writeGguf } from '../src/model/formats/gguf.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';
import { randomDecoder, tinyBpeTokenizer, tinyLlamaConfig, tinyQwen2Config } from './helpers/tiny-models.js';

const tokenizer = tinyBpeTokenizer();
const qwenWeights = randomDecoder(tinyQwen2Config(tokenizer.vocabSize, { eosTokenId: tokenizer.eosTokenId }), 51, 0.3);
const llamaWeights = randomDecoder(tinyLlamaConfig(tokenizer.vocabSize, { ropeStyle: 'adjacent' }), 52, 0.3);

let directory: string;
before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1-inference-'));
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Greedy decoding by full recomputation at every step (no cache). */
async function greedyWithoutCache(model: DecoderModel, prompt: number[], count: number): Promise<number[]> {
  const sequence = [...prompt];
  const vocab = model.config.vocabSize;
  for (let step = 0; step < count; step++) {
    const [logits] = await model.logits([sequence]);
    sequence.push(argmax(logits, (sequence.length - 1) * vocab, vocab));
  }
  return sequence.slice(prompt.length);
}

describe('generation with the bucketed KV cache', () => {
  const prompts = [tokenizer.encode('Once upon a time'), tokenizer.encode('Tom and his dog went to the river. The dog'), tokenizer.encode('The')];

  test('greedy with the cache equals full recomputation, across bucket growths, for Qwen2 and Llama (adjacent RoPE) shapes', async () => {
    for (const weights of [qwenWeights, llamaWeights]) {
      // Buckets 4, 8, 16, then doubling: a 5-token prompt plus 30 tokens grows three times.
      const model = new DecoderModel(weights, tokenizer, { threads: 1, cacheBuckets: [4, 8, 16], promptLengthMultiple: 4 });
      try {
        const results = await model.generateTokens(prompts, { greedy: true, maxNewTokens: 30, stopAtEos: false });
        for (const [index, prompt] of prompts.entries()) {
          assert.deepEqual(results[index][0].tokens, await greedyWithoutCache(model, prompt, 30), `prompt ${index}`);
          assert.equal(results[index][0].finishReason, 'length');
        }
      } finally {
        await model.dispose();
      }
    }
  });

  test('a left-padded batch gives each prompt what it gets alone (greedy and seeded sampling)', async () => {
    const model = new DecoderModel(qwenWeights, tokenizer, { threads: 1 });
    try {
      for (const options of [{ greedy: true }, { temperature: 1, topP: 0.95, seed: 3, samples: 2 }]) {
        const batched = await model.generateTokens(prompts, { maxNewTokens: 20, stopAtEos: false, ...options });
        for (const [index, prompt] of prompts.entries()) {
          const alone = await model.generateTokens([prompt], { maxNewTokens: 20, stopAtEos: false, ...options });
          assert.deepEqual(batched[index].map((sample) => sample.tokens), alone[0].map((sample) => sample.tokens));
        }
      }
    } finally {
      await model.dispose();
    }
  });

  test('row buckets: 5 prompts run padded to 6 rows and give what they give unpadded (generation and embedding)', async () => {
    const five = [...prompts, tokenizer.encode('One day'), tokenizer.encode('She saw a big, red ball and')];
    const padded = new DecoderModel(qwenWeights, tokenizer, { threads: 1 });
    const unpadded = new DecoderModel(qwenWeights, tokenizer, { threads: 1, rowBuckets: false });
    try {
      for (const options of [{ greedy: true }, { temperature: 1, topP: 0.95, seed: 5, samples: 2 }]) {
        const fromPadded = await padded.generateTokens(five, { maxNewTokens: 12, stopAtEos: false, ...options });
        const fromUnpadded = await unpadded.generateTokens(five, { maxNewTokens: 12, stopAtEos: false, ...options });
        assert.equal(fromPadded.length, 5);
        assert.deepEqual(fromPadded.map((samples) => samples.map((sample) => sample.tokens)), fromUnpadded.map((samples) => samples.map((sample) => sample.tokens)));
      }
      const vectors = await padded.embedTokens(five);
      (await unpadded.embedTokens(five)).forEach((vector, index) => assert.ok(cosineSimilarity(vector, vectors[index]) > 0.99999, `text ${index}`));
      // Six prompts reuse the padded model's 6-row sessions; the unpadded one compiles new ones.
      const six = [...five, tokenizer.encode('The dog')];
      const [paddedBefore, unpaddedBefore] = [padded.sessionCount, unpadded.sessionCount];
      await padded.generateTokens(six, { greedy: true, maxNewTokens: 12, stopAtEos: false });
      await unpadded.generateTokens(six, { greedy: true, maxNewTokens: 12, stopAtEos: false });
      assert.equal(padded.sessionCount, paddedBefore);
      assert.ok(unpadded.sessionCount > unpaddedBefore);
    } finally {
      await padded.dispose();
      await unpadded.dispose();
    }
  });

  test('seeds make sampling reproducible; samples of one prompt differ; stop tokens and limits end samples', async () => {
    const model = new DecoderModel(qwenWeights, tokenizer, { threads: 1 });
    try {
      const options = { temperature: 1.5, topP: 1, samples: 3, maxNewTokens: 16, stopAtEos: false };
      const first = await model.generateTokens([prompts[0]], { ...options, seed: 7 });
      const again = await model.generateTokens([prompts[0]], { ...options, seed: 7 });
      const other = await model.generateTokens([prompts[0]], { ...options, seed: 8 });
      assert.deepEqual(again, first);
      assert.notDeepEqual(other[0].map((sample) => sample.tokens), first[0].map((sample) => sample.tokens));
      assert.equal(first[0].length, 3);
      assert.ok(new Set(first[0].map((sample) => sample.tokens.join(','))).size > 1);
      // A stop token ends the sample and is not part of it.
      const [[greedy]] = await model.generateTokens([prompts[1]], { greedy: true, maxNewTokens: 10, stopAtEos: false });
      const stop = greedy.tokens[4];
      const [[stopped]] = await model.generateTokens([prompts[1]], { greedy: true, maxNewTokens: 10, stopAtEos: false, stopTokens: [stop] });
      assert.deepEqual(stopped.tokens, greedy.tokens.slice(0, greedy.tokens.indexOf(stop)));
      assert.equal(stopped.finishReason, 'stop');
      assert.equal(stopped.stopToken, stop);
      const [[none]] = await model.generateTokens([prompts[1]], { maxNewTokens: 0 });
      assert.deepEqual(none.tokens, []);
      // Text API decodes.
      const [[text]] = await model.generate(['Once upon a time'], { greedy: true, maxNewTokens: 5, stopAtEos: false });
      assert.equal(text.text, tokenizer.decode(text.tokens));
      await assert.rejects(() => model.generateTokens([[tokenizer.vocabSize + 5]]), O1Error);
      await assert.rejects(() => model.generateTokens([[1]], { topP: 0 }), O1Error);
    } finally {
      await model.dispose();
    }
  });

  test('loads llama2.c, GGUF and Hugging Face layouts; the GGUF copy computes the same logits', sharedTestOptions('models', 'tinystories-260k', 'stories260K.bin'), async () => {
    const fromFolder = await DecoderModel.load(sharedPath('models', 'tinystories-260k'), { threads: 1 });
    const fromFile = await DecoderModel.load(sharedPath('models', 'tinystories-260k', 'stories260K.bin'), { threads: 1 });
    const ggufPath = join(directory, 'stories.gguf');
    try {
      assert.equal(fromFolder.source, 'llama2c');
      assert.equal(fromFile.source, 'llama2c');
      const loaded = await loadModelFiles(sharedPath('models', 'tinystories-260k'));
      await writeGguf(ggufPath, loaded.model, loaded.tokenizer.ggufMetadata(), { dtype: 'f32' });
      const fromGguf = await DecoderModel.load(ggufPath, { threads: 1 });
      try {
        assert.equal(fromGguf.source, 'gguf');
        const sequence = fromFolder.tokenizer.encode('Once upon a time, there was a dog.');
        assert.deepEqual(fromGguf.tokenizer.encode('Once upon a time, there was a dog.'), sequence);
        const [a] = await fromFolder.logits([sequence]);
        const [b] = await fromGguf.logits([sequence]);
        assert.deepEqual(a, b);
      } finally {
        await fromGguf.dispose();
      }
    } finally {
      await fromFolder.dispose();
      await fromFile.dispose();
    }
    await assert.rejects(() => DecoderModel.load(join(directory, 'absent')), (error: unknown) => error instanceof O1Error && error.code === 'MISSING_FILE');
  });
});

describe('sampling', () => {
  const logits = new Float32Array([1, 3, 2, 3, -1, 0.5]);

  test('greedy takes the first maximum', () => {
    assert.equal(argmax(logits), 1);
    assert.equal(sampleToken(logits, { greedy: true, temperature: 5 }, new SeededRandom(1)), 1);
    assert.equal(sampleToken(logits, { temperature: 0 }, new SeededRandom(1)), 1);
    assert.equal(argmax(new Float32Array([9, 0, 4, 7]), 1, 3), 2);
  });

  test('temperature scales the softmax; top-p keeps the smallest most likely set reaching p', () => {
    const plain = samplingDistribution(logits, { temperature: 1, topP: 1 });
    const sum = [...logits].reduce((total, value) => total + Math.exp(value), 0);
    plain.forEach((probability, index) => assert.ok(Math.abs(probability - Math.exp(logits[index]) / sum) < 1e-12));
    const hot = samplingDistribution(logits, { temperature: 2, topP: 1 });
    const hotSum = [...logits].reduce((total, value) => total + Math.exp(value / 2), 0);
    hot.forEach((probability, index) => assert.ok(Math.abs(probability - Math.exp(logits[index] / 2) / hotSum) < 1e-12));
    // p(1) = p(3) ≈ 0.378, p(2) ≈ 0.139: 0.7 needs tokens 1 and 3 (ties: lower id first) ...
    const nucleus = samplingDistribution(logits, { temperature: 1, topP: 0.7 });
    assert.deepEqual([...nucleus].map((value) => Number(value.toFixed(6))), [0, 0.5, 0, 0.5, 0, 0]);
    // ... 0.3 needs only token 1; 0.8 adds token 2.
    assert.deepEqual([...samplingDistribution(logits, { temperature: 1, topP: 0.3 })], [0, 1, 0, 0, 0, 0]);
    const wider = samplingDistribution(logits, { temperature: 1, topP: 0.8 });
    assert.deepEqual([...wider].map((value) => value > 0), [false, true, true, true, false, false]);
    // O1 defaults (temperature 0.1, top-p 0.9) on these logits: only the two tied maxima survive.
    assert.deepEqual([...samplingDistribution(logits)].map((value) => Number(value.toFixed(6))), [0, 0.5, 0, 0.5, 0, 0]);
  });

  test('top-p matches a brute-force sort on a large random vocabulary', () => {
    const random = new SeededRandom(5);
    const large = Float32Array.from({ length: 5000 }, () => random.normal() * 3);
    for (const topP of [0.5, 0.9, 0.99]) {
      const fast = samplingDistribution(large, { temperature: 0.7, topP });
      const probabilities = samplingDistribution(large, { temperature: 0.7, topP: 1 });
      const order = [...probabilities.keys()].sort((a, b) => probabilities[b] - probabilities[a] || a - b);
      let mass = 0;
      const kept = new Set<number>();
      for (const index of order) {
        if (mass >= topP) break;
        kept.add(index);
        mass += probabilities[index];
      }
      fast.forEach((probability, index) => {
        if (kept.has(index)) assert.ok(Math.abs(probability - probabilities[index] / mass) < 1e-9);
        else assert.equal(probability, 0);
      });
    }
  });

  test('draws follow the distribution and repeat with the seed', () => {
    const draw = (seed: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 4000 }, () => sampleToken(logits, { temperature: 1, topP: 0.8 }, random));
    };
    const tokens = draw(11);
    assert.deepEqual(draw(11), tokens);
    const expected = samplingDistribution(logits, { temperature: 1, topP: 0.8 });
    for (let token = 0; token < logits.length; token++) {
      const frequency = tokens.filter((value) => value === token).length / tokens.length;
      assert.ok(Math.abs(frequency - expected[token]) < 0.03, `token ${token}: ${frequency} vs ${expected[token]}`);
    }
  });
});

describe('pooling and embedding', () => {
  test('last and mean pooling on hand-made hidden states; L2 normalisation; mean of vectors not re-normalised', () => {
    // batch 2, length 3, width 2; row 1 is left padded by one.
    const hidden = new Float32Array([1, 2, 3, 4, 5, 6, 100, 100, 7, 8, 9, 10]);
    const mask = [
      [1, 1, 1],
      [0, 1, 1],
    ];
    assert.deepEqual(poolHiddenStates(hidden, mask, 'last', 2), [new Float32Array([5, 6]), new Float32Array([9, 10])]);
    assert.deepEqual(poolHiddenStates(hidden, mask, 'mean', 2), [new Float32Array([3, 4]), new Float32Array([8, 9])]);
    assert.deepEqual(l2NormalizeInPlace(new Float32Array([3, 4])), new Float32Array([0.6, 0.8]));
    assert.deepEqual(l2NormalizeInPlace(new Float32Array([0, 0])), new Float32Array([0, 0]));
    const mean = meanVector([new Float32Array([1, 0]), new Float32Array([0, 1])]);
    assert.deepEqual(mean, new Float32Array([0.5, 0.5]));
    assert.throws(() => poolHiddenStates(hidden, mask, 'last', 3), O1Error);
  });

  test('batched, length-bucketed embedding equals one-at-a-time, in input order, normalised, with progress', async () => {
    const model = new DecoderModel(qwenWeights, tokenizer, { threads: 1 });
    try {
      const texts = ['a', 'Tom and his dog went to the river and the dog jumped into the water and swam after a stick.', 'The sun was warm.', 'One day, she saw a big, red ball.', 'dog'];
      for (const pooling of ['last', 'mean'] as const) {
        const progress: number[] = [];
        const batched = await model.embed(texts, { pooling, maxBatchSize: 2, lengthMultiple: 8, onProgress: (done, total) => progress.push(done / total) });
        assert.equal(progress.at(-1), 1);
        assert.ok(progress.every((value, index) => index === 0 || value > progress[index - 1]));
        for (const [index, text] of texts.entries()) {
          const [alone] = await model.embed([text], { pooling });
          assert.ok(cosineSimilarity(batched[index], alone) > 0.99999, `${pooling} ${index}`);
          const norm = Math.hypot(...batched[index]);
          assert.ok(Math.abs(norm - 1) < 1e-5);
        }
      }
      // Last-token pooling is the final hidden state at the last token: its LM-head logits are the last logits.
      const sequence = tokenizer.encode('Tom and his dog');
      const [raw] = await model.embedTokens([sequence], { normalize: false });
      const [logits] = await model.logits([sequence]);
      const embedding = qwenWeights.weights.get('model.embed_tokens.weight')!.data;
      const width = model.config.hiddenSize;
      for (const token of [0, 7, 100]) {
        let dot = 0;
        for (let index = 0; index < width; index++) dot += raw[index] * embedding[token * width + index];
        assert.ok(Math.abs(dot - logits[(sequence.length - 1) * model.config.vocabSize + token]) < 1e-4);
      }
      // Truncation keeps the first tokens.
      const [truncated] = await model.embedTokens([sequence], { maxLength: 2 });
      const [prefix] = await model.embedTokens([sequence.slice(0, 2)]);
      assert.ok(cosineSimilarity(truncated, prefix) > 0.99999);
    } finally {
      await model.dispose();
    }
  });
});
