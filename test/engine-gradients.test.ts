import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGradients } from '../src/engine/gradient-check.js';
import { Graph, type DType } from '../src/engine/graph.js';
import { SeededRandom } from '../src/util/random.js';
import { compileGraph } from '../src/engine/session.js';
import * as op from '../src/engine/ops.js';

// Every op's backward rule against central finite differences, in float64 (ORT CPU has double
// kernels for every op used here, FusedMatMul and ScatterND included), relative error <= 1e-4.

type Build = Parameters<typeof checkGradients>[0];
const positive = { initial: { x: (random: { uniform(): number }) => 0.5 + random.uniform() } };

async function check(build: Build, options: Parameters<typeof checkGradients>[1] = {}): Promise<void> {
  const result = await checkGradients(build, options);
  assert.ok(result.maxRelativeError <= 1e-4, JSON.stringify(result));
}

const p = (graph: Graph, name: string, shape: number[], dtype: DType) => graph.parameter(name, shape, dtype);

test('elementwise binary ops with broadcasting', async () => {
  for (const fn of [op.add, op.sub, op.mul]) {
    await check((g, d) => ({ output: fn(p(g, 'a', [2, 3, 4], d), p(g, 'b', [3, 1], d)) }));
  }
  await check((g, d) => ({ output: op.div(p(g, 'a', [2, 3], d), p(g, 'x', [1, 3], d)) }), positive);
  await check((g, d) => ({ output: op.mul(p(g, 'a', [2, 3], d), 2.5) }));
});

test('elementwise unary ops', async () => {
  await check((g, d) => ({ output: op.neg(p(g, 'x', [2, 3], d)) }));
  await check((g, d) => ({ output: op.exp(p(g, 'x', [2, 3], d)) }));
  await check((g, d) => ({ output: op.log(p(g, 'x', [2, 3], d)) }), positive);
  await check((g, d) => ({ output: op.sqrt(p(g, 'x', [2, 3], d)) }), positive);
  await check((g, d) => ({ output: op.rsqrt(p(g, 'x', [2, 3], d)) }), positive);
  await check((g, d) => ({ output: op.pow(p(g, 'x', [2, 3], d), 3) }));
  await check((g, d) => ({ output: op.pow(p(g, 'x', [2, 3], d), -1.5) }), positive);
  await check((g, d) => ({ output: op.sigmoid(p(g, 'x', [2, 3], d)) }));
  await check((g, d) => ({ output: op.silu(p(g, 'x', [2, 3], d)) }));
  await check((g, d) => ({ output: op.swiglu(p(g, 'a', [2, 3], d), p(g, 'b', [2, 3], d)) }));
});

test('where and cast', async () => {
  await check((g, d) => {
    const condition = g.input('condition', 'bool', [2, 3]);
    return { output: op.where(condition, p(g, 'a', [2, 3], d), p(g, 'b', [3], d)), feeds: { condition: Uint8Array.from([1, 0, 1, 0, 0, 1]) } };
  });
  // float64 -> float32 -> float64 loses precision, so this one runs in float32 with a looser bound.
  const result = await checkGradients((g) => ({ output: op.cast(op.mul(op.cast(p(g, 'x', [4], 'float32'), 'float64'), 3), 'float32') }), { dtype: 'float32', tolerance: 1e-3 });
  assert.ok(result.maxRelativeError <= 1e-3);
});

test('shape ops: reshape, transpose, concat, split, slice, expand', async () => {
  await check((g, d) => ({ output: op.exp(op.reshape(p(g, 'x', [2, 6], d), [3, -1])) }));
  await check((g, d) => ({ output: op.transpose(p(g, 'x', [2, 3, 4], d), [2, 0, 1]) }));
  await check((g, d) => ({ output: op.concat([p(g, 'a', [2, 3], d), p(g, 'b', [2, 1], d), p(g, 'c', [2, 2], d)], 1) }));
  await check((g, d) => {
    const [first, second] = op.split(p(g, 'x', [5, 2], d), [2, 3], 0);
    return { output: op.add(op.reduceSum(op.exp(first), [0]), op.reduceSum(second, [0])) };
  });
  await check((g, d) => ({ output: op.slice(p(g, 'x', [3, 5], d), [1, -4], [3, 4], [0, 1]) }));
  await check((g, d) => ({ output: op.expand(p(g, 'x', [3, 1], d), [2, 3, 4]) }));
});

test('reductions', async () => {
  await check((g, d) => ({ output: op.reduceSum(p(g, 'x', [2, 3, 4], d), [0, 2]) }));
  await check((g, d) => ({ output: op.reduceSum(p(g, 'x', [2, 3, 4], d), [1], true) }));
  await check((g, d) => ({ output: op.reduceMean(p(g, 'x', [2, 3, 4], d), [-1]) }));
  await check((g, d) => ({ output: op.reduceMean(p(g, 'x', [2, 3, 4], d), [0, 1], true) }));
});

test('matmul: Gemm, FusedMatMul and plain MatMul paths, every transpose, batch broadcast', async () => {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const shapeA = transposeA ? [4, 3] : [3, 4];
      const shapeB = transposeB ? [2, 4] : [4, 2];
      await check((g, d) => ({ output: op.matmul(p(g, 'a', shapeA, d), p(g, 'b', shapeB, d), { transposeA, transposeB, alpha: 0.7 }) }));
      for (const contribOps of [true, false]) {
        await check((g, d) => ({ output: op.matmul(p(g, 'a', [2, ...shapeA], d), p(g, 'b', [1, 2, ...shapeB], d), { transposeA, transposeB, alpha: 1.3 }) }), { contribOps });
      }
    }
  }
  await check((g, d) => ({ output: op.matmul(p(g, 'a', [2, 3, 4], d), p(g, 'b', [4, 2], d)) }));
  await check((g, d) => ({ output: op.linear(p(g, 'x', [2, 3, 4], d), p(g, 'w', [5, 4], d), p(g, 'b', [5], d)) }));
});

test('gather (embedding lookup) with repeated indices', async () => {
  await check((g, d) => {
    const ids = g.input('ids', 'int64', [2, 3]);
    return { output: op.gather(p(g, 'table', [5, 4], d), ids), feeds: { ids: BigInt64Array.from([0n, 3n, 3n, 4n, 0n, 0n]) } };
  });
});

test('softmax, log-softmax, RMSNorm, L2 normalisation', async () => {
  await check((g, d) => ({ output: op.softmax(p(g, 'x', [2, 3, 5], d), -1) }));
  await check((g, d) => ({ output: op.softmax(p(g, 'x', [2, 3, 5], d), 1) }));
  await check((g, d) => ({ output: op.logSoftmax(p(g, 'x', [3, 5], d)) }));
  await check((g, d) => ({ output: op.rmsNorm(p(g, 'x', [2, 3, 6], d), p(g, 'w', [6], d), 1e-5) }));
  await check((g, d) => ({ output: op.l2Normalize(p(g, 'x', [3, 5], d)) }));
});

test('RoPE in both pairings, with position-dependent tables (composite, and the rotaryEmbedding wrapper)', async () => {
  for (const style of ['half', 'adjacent'] as const) {
    const tables = op.ropeTables(4, 4, style, 100);
    await check((g, d) => {
      const positions = g.input('positions', 'int64', [2, 3]);
      return { output: op.rotaryEmbedding(p(g, 'x', [2, 3, 8], d), positions, tables, 2, style), feeds: { positions: BigInt64Array.from([0n, 1n, 2n, 0n, 0n, 3n]) } };
    });
  }
  for (const style of ['half', 'adjacent'] as const) {
    await check((g, d) => {
      const tables = op.ropeTables(4, 6, style, 100);
      const data = (values: Float64Array) => (d === 'float64' ? values : Float32Array.from(values));
      const cos = op.reshape(g.constant(data(tables.cos), [1, 4, 1, 6], d), [1, 4, 1, 6]);
      const sin = g.constant(data(tables.sin), [1, 4, 1, 6], d);
      return { output: op.rope(p(g, 'x', [2, 4, 3, 6], d), cos, sin, style) };
    });
  }
});

test('attention with causal + padding bias and repeated KV heads', async () => {
  await check((g, d) => {
    const bias = new Float64Array(2 * 3 * 3);
    for (let b = 0; b < 2; b++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) bias[b * 9 + i * 3 + j] = j > i || (b === 1 && j === 1 && i === 2) ? -1e9 : 0;
    const biasTensor = g.constant(d === 'float64' ? bias : Float32Array.from(bias), [2, 1, 3, 3], d);
    const keys = op.repeatKv(p(g, 'k', [2, 1, 3, 4], d), 2);
    const values = op.repeatKv(p(g, 'v', [2, 1, 3, 4], d), 2);
    return { output: op.attention(p(g, 'q', [2, 2, 3, 4], d), keys, values, biasTensor) };
  });
});

test('cross-entropy with ignore index, linear cross-entropy, InfoNCE', async () => {
  const labels = BigInt64Array.from([2n, -100n, 0n, 4n]);
  await check((g, d) => ({ output: op.crossEntropy(p(g, 'x', [4, 5], d), g.input('labels', 'int64', [4])), feeds: { labels } }));
  await check((g, d) => ({ output: op.linearCrossEntropy(p(g, 'h', [4, 3], d), p(g, 'w', [5, 3], d), g.input('labels', 'int64', [4])), feeds: { labels: BigInt64Array.from([2n, -100n, 2n, 4n]) } }));
  // All ignored: loss 0 and zero gradients, no NaN.
  await check((g, d) => ({ output: op.crossEntropy(p(g, 'x', [2, 3], d), g.input('labels', 'int64', [2])), feeds: { labels: BigInt64Array.from([-100n, -100n]) } }));
  await check((g, d) => ({ output: op.infoNce(op.l2Normalize(p(g, 'q', [2, 4], d)), op.l2Normalize(p(g, 'docs', [6, 4], d)), { groupSize: 3, temperature: 0.5 }) }));
  // Distillation: teacher targets and row weights are inputs (one query left out by weight 0).
  const targets = [0.7, 0.2, 0.1, 0.3, 0.3, 0.4];
  await check((g, d) => ({
    output: op.groupDistillation(op.l2Normalize(p(g, 'q', [2, 4], d)), op.l2Normalize(p(g, 'docs', [6, 4], d)), g.input('targets', d, [2, 3]), g.input('weights', d, [2]), { groupSize: 3, temperature: 0.5 }),
    feeds: { targets: d === 'float64' ? Float64Array.from(targets) : Float32Array.from(targets), weights: d === 'float64' ? Float64Array.from([1, 0]) : Float32Array.from([1, 0]) },
  }));
});

test('float32-only fused kernels (SimplifiedLayerNormalization, RotaryEmbedding): gradients, and the same values as the composite ops', async () => {
  const loose = { dtype: 'float32' as const, tolerance: 1e-3 };
  for (const contribOps of [true, false]) {
    const result = await checkGradients((g, d) => ({ output: op.rmsNorm(p(g, 'x', [3, 6], d), p(g, 'w', [6], d), 1e-5) }), { ...loose, contribOps });
    assert.ok(result.maxRelativeError <= 1e-3);
    for (const style of ['half', 'adjacent'] as const) {
      const tables = op.ropeTables(4, 4, style, 100);
      const rope = await checkGradients((g, d) => {
        const positions = g.input('positions', 'int64', [2, 3]);
        return { output: op.rotaryEmbedding(p(g, 'x', [2, 3, 8], d), positions, tables, 2, style), feeds: { positions: BigInt64Array.from([0n, 1n, 2n, 0n, 0n, 3n]) } };
      }, { ...loose, contribOps });
      assert.ok(rope.maxRelativeError <= 1e-3);
    }
  }
  // Same forward values both ways.
  const outputs: Float32Array[] = [];
  for (const contribOps of [true, false]) {
    const graph = new Graph({ contribOps });
    const x = graph.input('x', 'float32', [2, 3, 8]);
    const positions = graph.input('positions', 'int64', [2, 3]);
    const w = graph.input('w', 'float32', [8]);
    graph.output(op.rmsNorm(op.rotaryEmbedding(x, positions, op.ropeTables(4, 4, 'adjacent', 100), 2, 'adjacent'), w, 1e-5), 'y');
    const compiled = await compileGraph(graph, { threads: 1 });
    const random = new SeededRandom(3);
    const result = await compiled.run({ x: random.normalArray(48), positions: BigInt64Array.from([0n, 1n, 2n, 0n, 0n, 3n]), w: random.normalArray(8) });
    outputs.push(result['y'].data as Float32Array);
  }
  for (let index = 0; index < outputs[0].length; index++) assert.ok(Math.abs(outputs[0][index] - outputs[1][index]) < 1e-5);
});

test('float32 checks with a looser tolerance agree too', async () => {
  const result = await checkGradients((g, d) => ({ output: op.rmsNorm(op.matmul(p(g, 'a', [2, 3, 4], d), p(g, 'b', [2, 5, 4], d), { transposeB: true }), p(g, 'w', [5], d)) }), { dtype: 'float32', tolerance: 1e-3 });
  assert.ok(result.maxRelativeError <= 1e-3);
});
