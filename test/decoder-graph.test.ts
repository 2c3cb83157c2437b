import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGraph, type CompiledGraph } from '../src/engine/session.js';
import { SeededRandom } from '../src/util/random.js';
import { buildDecoderGraph, buildTrainingGraph, decoderParameterCount, decoderParameterShapes, decoderTuning } from '../src/model/decoder-graph.js';
import { initializeDecoderWeights, tinyDecoderConfig } from '../src/model/decoder-init.js';
import { createTrainingStep } from '../src/model/decoder-training.js';
import type { DecoderConfig, WeightMap } from '../src/model/types.js';
import { buildGenerationStepGraph, MASKED_BIAS } from '../src/inference/graphs.js';

const llama = tinyDecoderConfig({ architecture: 'llama' });
const qwen2 = tinyDecoderConfig({ architecture: 'qwen2', ropeStyle: 'adjacent', numKeyValueHeads: 1 });

function weightFeeds(weights: WeightMap): Record<string, Float32Array> {
  return Object.fromEntries([...weights].map(([name, tensor]) => [name, tensor.data]));
}

function ids(values: number[]): BigInt64Array {
  return BigInt64Array.from(values, (value) => BigInt(value));
}

/** Rows left-padded to `length` with token 0 and mask 0. */
function leftPad(rows: number[][], length: number): { inputIds: BigInt64Array; attentionMask: BigInt64Array } {
  const inputIds = new BigInt64Array(rows.length * length);
  const attentionMask = new BigInt64Array(rows.length * length);
  rows.forEach((row, rowIndex) => {
    const offset = rowIndex * length + length - row.length;
    row.forEach((token, index) => {
      inputIds[offset + index] = BigInt(token);
      attentionMask[offset + index] = 1n;
    });
  });
  return { inputIds, attentionMask };
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let index = 0; index < a.length; index++) max = Math.max(max, Math.abs(a[index] - b[index]));
  return max;
}

async function lastLogits(config: DecoderConfig, weights: WeightMap, rows: number[][], length: number): Promise<Float32Array[]> {
  const compiled = await compileGraph(buildDecoderGraph(config, { batch: rows.length, length, logits: 'last' }), { threads: 1 });
  const batch = leftPad(rows, length);
  const output = await compiled.run({ input_ids: batch.inputIds, attention_mask: batch.attentionMask, ...weightFeeds(weights) });
  const data = output['logits'].data as Float32Array;
  return rows.map((_, row) => data.slice(row * config.vocabSize, (row + 1) * config.vocabSize));
}

test('parameter names follow Hugging Face, with biases for Qwen2 and lm_head only when untied', () => {
  const llamaNames = [...decoderParameterShapes(llama).keys()];
  assert.ok(llamaNames.includes('model.layers.1.self_attn.q_proj.weight'));
  assert.ok(llamaNames.includes('lm_head.weight'));
  assert.ok(!llamaNames.some((name) => name.endsWith('.bias')));
  const qwenShapes = decoderParameterShapes(qwen2);
  assert.deepEqual(qwenShapes.get('model.layers.0.self_attn.k_proj.bias'), [8]);
  assert.deepEqual(qwenShapes.get('model.layers.0.self_attn.k_proj.weight'), [8, 32]);
  assert.ok(!qwenShapes.has('lm_head.weight'));
  assert.equal(decoderParameterCount(qwen2), [...qwenShapes.values()].reduce((total, shape) => total + shape.reduce((a, b) => a * b, 1), 0));
});

test('forward runs for Llama and Qwen2 shapes: logits [B, T, V], hidden states and embeddings', async () => {
  for (const config of [llama, qwen2]) {
    const weights = initializeDecoderWeights(config, { seed: 1 });
    const compiled = await compileGraph(buildDecoderGraph(config, { batch: 2, length: 6, hiddenStates: true, embedding: true }), { threads: 1 });
    const batch = leftPad([[1, 2, 3, 4, 5, 6], [7, 8, 9]], 6);
    const output = await compiled.run({ input_ids: batch.inputIds, attention_mask: batch.attentionMask, ...weightFeeds(weights) });
    assert.deepEqual(output['logits'].dims, [2, 6, config.vocabSize]);
    assert.deepEqual(output['last_hidden_state'].dims, [2, 6, config.hiddenSize]);
    const embedding = output['embedding'].data as Float32Array;
    let norm = 0;
    for (let index = 0; index < config.hiddenSize; index++) norm += embedding[index] ** 2;
    assert.ok(Math.abs(norm - 1) < 1e-5);
    assert.ok([...(output['logits'].data as Float32Array)].every(Number.isFinite));
  }
});

test('left padding gives the same last-token logits as the unpadded sequence', async () => {
  for (const config of [llama, qwen2]) {
    const weights = initializeDecoderWeights(config, { seed: 2, standardDeviation: 0.2 });
    const sequence = [3, 14, 15, 9, 26];
    const [alone] = await lastLogits(config, weights, [sequence], 5);
    const [padded, full] = await lastLogits(config, weights, [sequence, [1, 2, 3, 4, 5, 6, 7, 8]], 8);
    assert.ok(maxAbsDifference(alone, padded) < 1e-4, `${config.architecture}: ${maxAbsDifference(alone, padded)}`);
    assert.ok(maxAbsDifference(alone, full) > 1e-3);
  }
});

test('fused q/k/v and gate/up projections give the same logits', async () => {
  const weights = initializeDecoderWeights(qwen2, { seed: 6, standardDeviation: 0.2 });
  const plain = await lastLogits(qwen2, weights, [[1, 2, 3], [4, 5, 6, 7]], 5);
  decoderTuning.fuseProjections = true;
  try {
    const fused = await lastLogits(qwen2, weights, [[1, 2, 3], [4, 5, 6, 7]], 5);
    for (let row = 0; row < 2; row++) assert.ok(maxAbsDifference(plain[row], fused[row]) < 1e-5);
  } finally {
    decoderTuning.fuseProjections = false;
  }
});

test('slot KV cache: prefill, then a decode step over scrambled, garbage-padded slots, gives the full pass\'s last logits', async () => {
  for (const config of [llama, qwen2]) {
    const weights = initializeDecoderWeights(config, { seed: 4, standardDeviation: 0.2 });
    const rows = [[5, 6, 7, 8, 9, 10], [11, 12, 13, 14]];
    const expected = await lastLogits(config, weights, rows, 6);
    const promptLength = 5;
    const prefill = await compileGraph(buildGenerationStepGraph(config, { batch: 2, length: promptLength }), { threads: 1 });
    const prompt = leftPad(rows.map((row) => row.slice(0, -1)), promptLength);
    const cache = await prefill.run({ input_ids: prompt.inputIds, attention_mask: prompt.attentionMask, ...weightFeeds(weights) });
    const { numKeyValueHeads: kvHeads, headDim } = config;
    assert.deepEqual(cache['new.0.key'].dims, [2, kvHeads, promptLength, headDim]);
    // A capacity-8 slot cache: prompt position p goes to slot 7 - p (reversed order); slots 0-2
    // hold garbage. Live slots: the real prompt tokens' and the new token's (index 8).
    const capacity = 8;
    const slotOf = (position: number) => capacity - 1 - position;
    const random = new SeededRandom(8);
    const past: Record<string, Float32Array> = {};
    for (let layer = 0; layer < config.numHiddenLayers; layer++) {
      for (const part of ['key', 'value']) {
        const from = cache[`new.${layer}.${part}`].data as Float32Array;
        const to = Float32Array.from({ length: 2 * kvHeads * capacity * headDim }, () => 100 * random.normal());
        for (let block = 0; block < 2 * kvHeads; block++) {
          for (let position = 0; position < promptLength; position++) {
            to.set(from.subarray((block * promptLength + position) * headDim, (block * promptLength + position + 1) * headDim), (block * capacity + slotOf(position)) * headDim);
          }
        }
        past[`past.${layer}.${part}`] = to;
      }
    }
    const bias = new Float32Array(2 * (capacity + 1)).fill(MASKED_BIAS);
    rows.forEach((row, index) => {
      for (let position = promptLength - (row.length - 1); position < promptLength; position++) bias[index * (capacity + 1) + slotOf(position)] = 0;
      bias[index * (capacity + 1) + capacity] = 0;
    });
    const decode = await compileGraph(buildGenerationStepGraph(config, { batch: 2, length: 1, pastLength: capacity }), { threads: 1 });
    const output = await decode.run({
      input_ids: ids(rows.map((row) => row[row.length - 1])),
      position_ids: ids(rows.map((row) => row.length - 1)),
      attention_bias: bias,
      ...past,
      ...weightFeeds(weights),
    });
    assert.deepEqual(output['new.0.value'].dims, [2, kvHeads, 1, headDim]);
    const logits = output['logits'].data as Float32Array;
    for (let row = 0; row < 2; row++) {
      const difference = maxAbsDifference(expected[row], logits.subarray(row * config.vocabSize, (row + 1) * config.vocabSize));
      assert.ok(difference < 1e-4, `${config.architecture} row ${row}: ${difference}`);
    }
  }
});

test('the whole joint training graph: gradients match finite differences in float64', async () => {
  const config = { ...qwen2, numHiddenLayers: 1, tieWordEmbeddings: false };
  const graph = buildTrainingGraph(config, { batch: 4, length: 5, loss: 'joint', groupSize: 1, temperature: 0.5, dtype: 'float64' });
  const compiled: CompiledGraph = await compileGraph(graph, { threads: 1 });
  const random = new SeededRandom(5);
  const weights = new Map<string, Float64Array>();
  for (const [name, shape] of decoderParameterShapes(config)) {
    const values = new Float64Array(shape.reduce((a, b) => a * b, 1));
    for (let index = 0; index < values.length; index++) values[index] = name.includes('norm') ? 1 + 0.1 * random.normal() : 0.3 * random.normal();
    weights.set(name, values);
  }
  const batch = leftPad([[1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 11, 12], [13, 14]], 5);
  const labels = BigInt64Array.from(batch.inputIds, (token, index) => (batch.attentionMask[index] === 0n || index >= 10 ? -100n : token));
  const feeds = () => ({ input_ids: batch.inputIds, attention_mask: batch.attentionMask, labels, ...Object.fromEntries(weights) });
  const base = await compiled.run(feeds());
  // Directional derivatives along random directions over all parameters at once.
  for (let trial = 0; trial < 3; trial++) {
    const directions = new Map([...weights].map(([name, values]) => [name, Float64Array.from(values, () => random.normal())]));
    let analytic = 0;
    for (const [name, direction] of directions) {
      const grad = base[`grad.${name}`].data as Float64Array;
      for (let index = 0; index < direction.length; index++) analytic += grad[index] * direction[index];
    }
    const epsilon = 1e-6;
    const shifted = async (sign: number): Promise<number> => {
      for (const [name, direction] of directions) {
        const values = weights.get(name)!;
        for (let index = 0; index < values.length; index++) values[index] += sign * epsilon * direction[index];
      }
      const loss = Number((await compiled.run(feeds()))['loss'].data[0]);
      for (const [name, direction] of directions) {
        const values = weights.get(name)!;
        for (let index = 0; index < values.length; index++) values[index] -= sign * epsilon * direction[index];
      }
      return loss;
    };
    const numeric = ((await shifted(1)) - (await shifted(-1))) / (2 * epsilon);
    assert.ok(Math.abs(analytic - numeric) <= 1e-4 * Math.max(Math.abs(analytic), Math.abs(numeric)), `${analytic} vs ${numeric}`);
  }
  const generation = Number(base['loss.generation'].data[0]);
  const contrastive = Number(base['loss.contrastive'].data[0]);
  assert.ok(Math.abs(Number(base['loss'].data[0]) - (0.8 * contrastive + 0.2 * generation)) < 1e-12);
});

/** A toy task: each row counts up from a random start (mod vocab), so the next token is predictable. */
function countingBatch(random: SeededRandom, rows: number, length: number, vocab: number) {
  const inputIds = new BigInt64Array(rows * length);
  for (let row = 0; row < rows; row++) {
    const start = random.integer(vocab);
    for (let position = 0; position < length; position++) inputIds[row * length + position] = BigInt((start + position) % vocab);
  }
  return { inputIds, attentionMask: new BigInt64Array(rows * length).fill(1n), labels: inputIds };
}

async function train(config: DecoderConfig, seed: number, steps: number): Promise<number[]> {
  const weights = initializeDecoderWeights(config, { seed });
  const trainer = createTrainingStep(config, { batch: 8, length: 12, threads: 1, optimizer: { learningRate: 1e-2 } });
  const random = new SeededRandom(seed);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) losses.push((await trainer.step(countingBatch(random, 8, 12, config.vocabSize), weights)).loss);
  await trainer.dispose();
  return losses;
}

test('loss decreases over 20 steps on a toy task, and training is deterministic under a seed', async () => {
  for (const config of [llama, qwen2]) {
    const losses = await train(config, 11, 20);
    const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
    assert.ok(last < first * 0.8, `${config.architecture}: ${first} -> ${last}`);
  }
  assert.deepEqual(await train(llama, 12, 3), await train(llama, 12, 3));
  const a = initializeDecoderWeights(llama, { seed: 9 });
  const b = initializeDecoderWeights(llama, { seed: 9 });
  assert.deepEqual(a.get('model.embed_tokens.weight')!.data, b.get('model.embed_tokens.weight')!.data);
  assert.notDeepEqual(initializeDecoderWeights(llama, { seed: 10 }).get('model.embed_tokens.weight')!.data, a.get('model.embed_tokens.weight')!.data);
});

test('joint O1 loss (0.8 InfoNCE + 0.2 CE) from one forward pass decreases', async () => {
  const config = qwen2;
  const weights = initializeDecoderWeights(config, { seed: 21 });
  const queries = 2;
  const groupSize = 2;
  const rows = queries * (1 + groupSize);
  const length = 8;
  const trainer = createTrainingStep(config, { batch: rows, length, loss: 'joint', groupSize, temperature: 0.1, threads: 1, optimizer: { learningRate: 5e-3 } });
  // Queries [q, q+1, ...] and their positives share the start token; negatives are unrelated.
  const batch = leftPad(
    [[10, 11, 12, 13], [30, 31, 32], [10, 40, 41, 42, 43], [50, 51], [30, 60, 61], [5, 6, 7, 8, 9, 2]],
    length,
  );
  const labels = BigInt64Array.from(batch.inputIds, (token, index) => (index < queries * length && batch.attentionMask[index] === 1n ? token : -100n));
  const results = [];
  for (let step = 0; step < 15; step++) results.push(await trainer.step({ ...batch, labels }, weights));
  assert.ok(results[0].generationLoss !== undefined && results[0].contrastiveLoss !== undefined);
  assert.ok(Math.abs(results[0].loss - (0.8 * results[0].contrastiveLoss! + 0.2 * results[0].generationLoss!)) < 1e-4);
  assert.ok(results[14].loss < results[0].loss * 0.7, `${results[0].loss} -> ${results[14].loss}`);
  await trainer.dispose();
});
