import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGradients } from '../src/engine/gradient-check.js';
import { Graph, type DType, type Tensor } from '../src/engine/graph.js';
import { compileGraph } from '../src/engine/session.js';
import * as op from '../src/engine/ops.js';
import { SeededRandom } from '../src/util/random.js';

// The ops the USE-Lite encoder added (ReLU, tanh, LayerNorm), checked as test/engine-gradients
// checks every op: backward rules against central finite differences in float64, relative error
// <= 1e-4, and the float32 kernels against the float64 formula.

type Build = Parameters<typeof checkGradients>[0];
const p = (graph: Graph, name: string, shape: number[], dtype: DType) => graph.parameter(name, shape, dtype);

async function check(build: Build, options: Parameters<typeof checkGradients>[1] = {}): Promise<void> {
  const result = await checkGradients(build, options);
  assert.ok(result.maxRelativeError <= 1e-4, JSON.stringify(result));
}

test('affine (one Gemm with the bias as C) gradients', async () => {
  await check((g, d) => ({ output: op.affine(p(g, 'x', [3, 4], d), p(g, 'w', [4, 5], d), p(g, 'b', [5], d)) }));
});

test('relu and tanh gradients', async () => {
  // Values kept away from ReLU's kink, where finite differences are meaningless.
  const awayFromZero = { initial: { x: (random: SeededRandom) => (random.uniform() < 0.5 ? -1 : 1) * (0.2 + random.uniform()) } };
  await check((g, d) => ({ output: op.relu(p(g, 'x', [3, 4], d)) }), awayFromZero);
  await check((g, d) => ({ output: op.tanh(p(g, 'x', [3, 4], d)) }));
});

test('layer norm gradients (input, weight and bias), over the last axis of a rank-3 input', async () => {
  await check((g, d) => ({ output: op.layerNorm(p(g, 'x', [2, 3, 6], d), p(g, 'w', [6], d), p(g, 'b', [6], d), 1e-6) }));
  const result = await checkGradients((g, d) => ({ output: op.layerNorm(p(g, 'x', [3, 6], d), p(g, 'w', [6], d), p(g, 'b', [6], d), 1e-5) }), { dtype: 'float32', tolerance: 1e-3 });
  assert.ok(result.maxRelativeError <= 1e-3, JSON.stringify(result));
});

test('the float32 LayerNormalization kernel gives the float64 formula\'s values', async () => {
  const random = new SeededRandom(7);
  const x = random.normalArray(4 * 10);
  const w = random.normalArray(10);
  const b = random.normalArray(10);
  const outputs: number[][] = [];
  for (const dtype of ['float32', 'float64'] as const) {
    const graph = new Graph();
    graph.output(op.layerNorm(graph.input('x', dtype, [4, 10]), graph.input('w', dtype, [10]), graph.input('b', dtype, [10]), 1e-6), 'y');
    const compiled = await compileGraph(graph, { threads: 1 });
    const cast = (values: Float32Array) => (dtype === 'float64' ? Float64Array.from(values) : values);
    outputs.push(Array.from((await compiled.run({ x: cast(x), w: cast(w), b: cast(b) }))['y'].data as Float32Array));
    await compiled.session.release();
  }
  for (let row = 0; row < 4; row++) {
    // Both against the definition, computed here in double precision.
    const values = Array.from(x.subarray(row * 10, row * 10 + 10));
    const mean = values.reduce((sum, value) => sum + value, 0) / 10;
    const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / 10;
    for (let column = 0; column < 10; column++) {
      const expected = ((values[column] - mean) / Math.sqrt(variance + 1e-6)) * w[column] + b[column];
      assert.ok(Math.abs(outputs[1][row * 10 + column] - expected) < 1e-9);
      assert.ok(Math.abs(outputs[0][row * 10 + column] - expected) < 1e-5);
    }
  }
});

test('selfAttention (forward-only fused kernel) equals projection + split + attention in plain ops, padding masked; it refuses inputs that need gradients', async () => {
  const [batch, length, width, heads] = [2, 5, 8, 2];
  const random = new SeededRandom(11);
  const x = random.normalArray(batch * length * width);
  const weight = random.normalArray(width * 3 * width, 0.3);
  const bias = random.normalArray(3 * width, 0.1);
  // Row 1 has 3 valid positions: its last two keys are masked.
  const maskBias = new Float32Array(batch * length * length);
  for (let query = 0; query < length; query++) for (let key = 3; key < length; key++) maskBias[(length + query) * length + key] = -1e9;
  const outputs: Float32Array[] = [];
  for (const fused of [true, false]) {
    const graph = new Graph();
    const input = graph.input('x', 'float32', [batch, length, width]);
    const w = graph.input('w', 'float32', [width, 3 * width]);
    const b = graph.input('b', 'float32', [3 * width]);
    const attentionBias = graph.input('bias', 'float32', [batch, 1, length, length]);
    let context: Tensor;
    if (fused) {
      context = op.selfAttention(input, w, b, attentionBias, heads, 0.3);
    } else {
      const headsFirst = (part: Tensor) => op.transpose(op.reshape(part, [batch, length, heads, width / heads]), [0, 2, 1, 3]);
      const [q, k, v] = op.split(op.affine(op.reshape(input, [batch * length, width]), w, b), [width, width, width], 1).map(headsFirst);
      context = op.reshape(op.transpose(op.attention(q, k, v, attentionBias, 0.3), [0, 2, 1, 3]), [batch, length, width]);
    }
    graph.output(context, 'y');
    const compiled = await compileGraph(graph, { threads: 1 });
    outputs.push((await compiled.run({ x, w: weight, b: bias, bias: maskBias }))['y'].data as Float32Array);
    await compiled.session.release();
  }
  for (let index = 0; index < outputs[0].length; index++) assert.ok(Math.abs(outputs[0][index] - outputs[1][index]) < 1e-4, `value ${index}`);
  const graph = new Graph();
  assert.throws(
    () => op.selfAttention(graph.parameter('x', [1, 2, 4]), graph.input('w', 'float32', [4, 12]), graph.input('b', 'float32', [12]), graph.input('bias', 'float32', [1, 1, 2, 2]), 2, 0.5),
    (error: unknown) => error instanceof Error && 'code' in error && error.code === 'UNSUPPORTED_OP',
  );
});
