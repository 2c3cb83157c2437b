import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, clipScale, globalNorm, GradientAccumulator, learningRateAt } from '../src/engine/optimizer.js';
import { createTrainingStep } from '../src/model/decoder-training.js';
import { initializeDecoderWeights, tinyDecoderConfig } from '../src/model/decoder-init.js';
import type { WeightMap } from '../src/model/types.js';

test('AdamW matches a hand-computed step (decay on matrices, none on vectors)', () => {
  const optimizer = new AdamW({ learningRate: 0.1, weightDecay: 0.1 });
  const parameters = new Map([
    ['matrix', { data: Float32Array.from([1, -2]), shape: [1, 2] }],
    ['norm.weight', { data: Float32Array.from([1]), shape: [1] }],
  ]);
  optimizer.step(parameters, new Map([['matrix', Float32Array.from([0.5, 0.25])], ['norm.weight', Float32Array.from([0.5])]]));
  // m = 0.1 g, v = 0.001 g², step size 0.1 / (1 − 0.9) = 1, denominator √v / √0.001 = |g|: update = sign(g) · 0.1.
  assert.ok(Math.abs(parameters.get('matrix')!.data[0] - (1 * (1 - 0.01) - 0.1)) < 1e-6);
  assert.ok(Math.abs(parameters.get('matrix')!.data[1] - (-2 * (1 - 0.01) - 0.1)) < 1e-6);
  assert.ok(Math.abs(parameters.get('norm.weight')!.data[0] - (1 - 0.1)) < 1e-6);
  // Second step with gradient 0: m = 0.9·0.05 = 0.045, v = 0.999·0.00025; bias corrections 0.19 and 0.001999.
  optimizer.step(parameters, new Map([['norm.weight', Float32Array.from([0])]]));
  const m = 0.045;
  const v = 0.999 * 0.00025;
  const expected = 0.9 - ((0.1 / (1 - 0.81)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
  assert.ok(Math.abs(parameters.get('norm.weight')!.data[0] - expected) < 1e-6, `${parameters.get('norm.weight')!.data[0]} vs ${expected}`);
  assert.equal(optimizer.stepCount, 2);
});

test('learning-rate schedules: warm-up, linear and cosine decay', () => {
  const schedule = { peakLearningRate: 1e-3, warmupSteps: 10, totalSteps: 110 };
  assert.equal(learningRateAt(1, schedule), 1e-4);
  assert.equal(learningRateAt(10, schedule), 1e-3);
  assert.ok(Math.abs(learningRateAt(60, schedule) - 5e-4) < 1e-12);
  assert.equal(learningRateAt(110, schedule), 0);
  assert.equal(learningRateAt(200, schedule), 0);
  const cosine = { ...schedule, decay: 'cosine' as const, minimumLearningRate: 1e-4 };
  assert.ok(Math.abs(learningRateAt(60, cosine) - 5.5e-4) < 1e-12);
  assert.ok(Math.abs(learningRateAt(110, cosine) - 1e-4) < 1e-12);
  assert.equal(learningRateAt(50, { ...schedule, decay: 'constant' }), 1e-3);
});

test('global-norm clipping', () => {
  const gradients = [Float32Array.from([3, 0]), Float32Array.from([4])];
  assert.equal(globalNorm(gradients), 5);
  const clipped = clipScale(gradients, 1);
  assert.equal(clipped.norm, 5);
  assert.ok(Math.abs(clipped.scale - 1 / (5 + 1e-6)) < 1e-12);
  assert.equal(clipScale(gradients, 10).scale, 1);
  assert.equal(clipScale(gradients, 0).scale, 1);
});

test('gradient accumulator sums and resets', () => {
  const accumulator = new GradientAccumulator();
  accumulator.add(new Map([['a', Float32Array.from([1, 2])]]));
  accumulator.add(new Map([['a', Float32Array.from([3, 4])]]));
  assert.deepEqual([...accumulator.sums.get('a')!], [4, 6]);
  accumulator.reset();
  accumulator.add(new Map([['a', Float32Array.from([1, 1])]]));
  assert.deepEqual([...accumulator.sums.get('a')!], [1, 1]);
});

function copyWeights(weights: WeightMap): WeightMap {
  return new Map([...weights].map(([name, tensor]) => [name, { shape: [...tensor.shape], data: Float32Array.from(tensor.data) }]));
}

test('accumulation: 2 micro-batches of 4 give the same step as 1 batch of 8', async () => {
  const config = tinyDecoderConfig();
  const length = 8;
  const ids = BigInt64Array.from({ length: 8 * length }, (_, index) => BigInt((index * 13 + 5) % config.vocabSize));
  const mask = new BigInt64Array(8 * length).fill(1n);
  const options = { batch: 8, length, threads: 1, optimizer: { learningRate: 1e-2, epsilon: 1e-3 }, maxGradientNorm: 0.5 };
  // A large epsilon: Adam's first step is lr·sign(g), which float32 noise flips where g ≈ 0.
  const whole = copyWeights(initializeDecoderWeights(config, { seed: 3 }));
  const split = copyWeights(whole);
  const one = createTrainingStep(config, options);
  const two = createTrainingStep(config, options);
  // The averaged micro-batch gradient equals the full-batch gradient.
  const fullGradients = new Map([...(await one.computeGradients({ inputIds: ids, attentionMask: mask, labels: ids }, whole)).gradients].map(([name, data]) => [name, Float32Array.from(data)]));
  const accumulator = new GradientAccumulator();
  for (const range of [[0, 4 * length], [4 * length, 8 * length]]) {
    const slice = (values: BigInt64Array) => values.slice(range[0], range[1]);
    accumulator.add((await two.computeGradients({ inputIds: slice(ids), attentionMask: slice(mask), labels: slice(ids) }, whole)).gradients);
  }
  let squaredDifference = 0;
  let squaredNorm = 0;
  for (const [name, full] of fullGradients) {
    const sum = accumulator.sums.get(name)!;
    for (let index = 0; index < full.length; index++) {
      squaredDifference += (full[index] - sum[index] / 2) ** 2;
      squaredNorm += full[index] ** 2;
    }
  }
  assert.ok(Math.sqrt(squaredDifference / squaredNorm) < 1e-5);
  const big = await one.step({ inputIds: ids, attentionMask: mask, labels: ids }, whole);
  const half = 4 * length;
  const micro = await two.step(
    [
      { inputIds: ids.slice(0, half), attentionMask: mask.slice(0, half), labels: ids.slice(0, half) },
      { inputIds: ids.slice(half), attentionMask: mask.slice(half), labels: ids.slice(half) },
    ],
    split,
  );
  assert.ok(Math.abs(big.loss - micro.loss) < 1e-5, `${big.loss} vs ${micro.loss}`);
  assert.ok(Math.abs(big.gradientNorm - micro.gradientNorm) < 1e-5 * big.gradientNorm);
  let maxDifference = 0;
  for (const [name, tensor] of whole) {
    const other = split.get(name)!.data;
    for (let index = 0; index < tensor.data.length; index++) maxDifference = Math.max(maxDifference, Math.abs(tensor.data[index] - other[index]));
  }
  assert.ok(maxDifference < 1e-5, `weights differ by ${maxDifference}`);
  await one.dispose();
  await two.dispose();
});
