/**
 * How ONNX Runtime runs the 2-D products a decoder needs, with both operands fed as graph inputs
 * (as weights are: no pre-packing). For each shape and transpose case it times every emission
 * the engine could choose: Gemm (transA/transB attributes), com.microsoft FusedMatMul (same
 * attributes, 2-D, and on a [1, M, K] view of the left operand), and MatMul on an explicitly transposed operand; median (and min) ms of `--runs`
 * interleaved rounds after warm-up, at 1 and 2 threads. Prints one JSON line per (shape, case, threads).
 *
 * usage: npx tsx bench/matmul-forms.ts [--runs N] [--threads 1,2]
 */
import { parseArgs } from 'node:util';
import { Graph, type Tensor } from '../src/engine/graph.js';
import { compileGraph } from '../src/engine/session.js';
import { SeededRandom } from '../src/util/random.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, threads: { type: 'string', default: '1,2' } } });
const runs = Number(values.runs);
const threadCounts = values.threads.split(',').map(Number);

type Case = 'AB^T' | 'AB' | 'A^TB';
type Form = 'gemm' | 'fused' | 'fused3d' | 'matmul';
/** [label, case, M, K, N]: the product is [M, N] with inner dimension K. */
const SHAPES: [string, Case, number, number, number][] = [
  // Inference decode (3 rows) on the 5 M model: lm head, q/k/v/o, gate/up, down.
  ['decode head', 'AB^T', 3, 256, 8000],
  ['decode qkvo', 'AB^T', 3, 256, 256],
  ['decode gate/up', 'AB^T', 3, 256, 688],
  ['decode down', 'AB^T', 3, 688, 256],
  ['prefill head 64 rows', 'AB^T', 64, 256, 8000],
  // Embedding / prefill and training forward (1,024 rows = 8 x 128).
  ['fwd qkvo', 'AB^T', 1024, 256, 256],
  ['fwd gate/up', 'AB^T', 1024, 256, 704],
  ['fwd down', 'AB^T', 1024, 704, 256],
  ['fwd head', 'AB^T', 1024, 256, 8000],
  // Training backward: input gradients g·W, weight gradients gᵀ·x.
  ['bwd dX qkvo', 'AB', 1024, 256, 256],
  ['bwd dX gate/up', 'AB', 1024, 704, 256],
  ['bwd dX head', 'AB', 1024, 8000, 256],
  ['bwd dW qkvo', 'A^TB', 256, 1024, 256],
  ['bwd dW gate/up', 'A^TB', 704, 1024, 256],
  ['bwd dW down', 'A^TB', 256, 1024, 704],
  ['bwd dW head', 'A^TB', 8000, 1024, 256],
];

function build(kind: Case, form: Form, m: number, k: number, n: number): Graph {
  const graph = new Graph({ name: `${kind}-${form}` });
  const aShape = kind === 'A^TB' ? [k, m] : [m, k];
  const bShape = kind === 'AB^T' ? [n, k] : [k, n];
  const a = graph.input('a', 'float32', aShape);
  const b = graph.input('b', 'float32', bShape);
  const transA = kind === 'A^TB' ? 1 : 0;
  const transB = kind === 'AB^T' ? 1 : 0;
  const spec = [{ dtype: 'float32' as const, shape: [m, n] }];
  let y: Tensor;
  if (form === 'gemm') y = graph.emit('Gemm', [a, b], spec, { transA, transB })[0];
  else if (form === 'fused') y = graph.emit('FusedMatMul', [a, b], spec, { transA, transB }, 'com.microsoft')[0];
  else if (form === 'fused3d') {
    // FusedMatMul on a [1, ...] view of the left operand (a batched product).
    const left = graph.emit('Reshape', [a, graph.int64s([1, ...aShape])], [{ dtype: 'float32', shape: [1, ...aShape] }])[0];
    const product = graph.emit('FusedMatMul', [left, b], [{ dtype: 'float32', shape: [1, m, n] }], { transA, transB }, 'com.microsoft')[0];
    y = graph.emit('Reshape', [product, graph.int64s([m, n])], spec)[0];
  }
  else {
    const left = transA ? graph.emit('Transpose', [a], [{ dtype: 'float32', shape: [m, k] }], { perm: [1, 0] })[0] : a;
    const right = transB ? graph.emit('Transpose', [b], [{ dtype: 'float32', shape: [k, n] }], { perm: [1, 0] })[0] : b;
    y = graph.emit('MatMul', [left, right], spec)[0];
  }
  graph.output(y, 'y');
  return graph;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
}

const random = new SeededRandom(1);
for (const threads of threadCounts) {
  for (const [label, kind, m, k, n] of SHAPES) {
    const a = random.normalArray(m * k, 1);
    const b = random.normalArray(k * n, 1);
    const result: Record<string, number | string> = { label, case: kind, m, k, n, threads };
    const forms: Form[] = kind === 'A^TB' ? ['gemm', 'fused', 'matmul'] : ['gemm', 'fused', 'fused3d', 'matmul'];
    const sessions = await Promise.all(forms.map((form) => compileGraph(build(kind, form, m, k, n), { threads })));
    const feeds = sessions.map((compiled) => ({ a: compiled.tensor('a', a), b: compiled.tensor('b', b) }));
    const repeat = Math.max(1, Math.round(2e7 / (m * k * n)));
    for (let warm = 0; warm < 5; warm++) for (const [index, compiled] of sessions.entries()) await compiled.run(feeds[index]);
    // Interleaved rounds, so load from other processes hits every form alike.
    const times: number[][] = forms.map(() => []);
    for (let run = 0; run < runs; run++) {
      for (const [index, compiled] of sessions.entries()) {
        const started = performance.now();
        for (let inner = 0; inner < repeat; inner++) await compiled.run(feeds[index]);
        times[index].push((performance.now() - started) / repeat);
      }
    }
    forms.forEach((form, index) => {
      result[`${form}_ms`] = Number(median(times[index]).toFixed(4));
      result[`${form}_min_ms`] = Number(Math.min(...times[index]).toFixed(4));
    });
    await Promise.all(sessions.map((compiled) => compiled.session.release()));
    console.log(JSON.stringify(result));
  }
}
