/**
 * Differentiable ops. Each op checks shapes, emits ONNX nodes through {@link Graph.emit} and
 * records a backward rule on the tape. Composite ops (RMSNorm, RoPE, SwiGLU, cross-entropy...)
 * emit their inner nodes untaped and carry one hand-written rule, which is both faster and
 * smaller than differentiating their parts.
 */
import { O1Error } from '../errors.js';
import { hostArray, Tensor, type DType, type Graph } from './graph.js';

/** A tensor or a plain number (turned into a scalar constant of the other operand's dtype). */
export type Operand = Tensor | number;

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dimension, index) => dimension === b[index]);
}

function requireFloat(tensor: Tensor, op: string): void {
  if (!tensor.isFloat) throw new O1Error('UNSUPPORTED_OP', `${op} needs a float tensor, got ${tensor.dtype}`, { field: tensor.name });
}

function normaliseAxis(axis: number, rank: number): number {
  const normalised = axis < 0 ? axis + rank : axis;
  if (normalised < 0 || normalised >= rank) throw new O1Error('SHAPE_MISMATCH', `axis ${axis} is out of range for rank ${rank}`);
  return normalised;
}

/**
 * Numpy-style broadcast of two shapes.
 *
 * @example
 * broadcastShapes([2, 1, 4], [3, 1]) // [2, 3, 4]
 */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const result: number[] = [];
  for (let index = 0; index < rank; index++) {
    const left = a[a.length - rank + index] ?? 1;
    const right = b[b.length - rank + index] ?? 1;
    if (left !== right && left !== 1 && right !== 1) throw new O1Error('SHAPE_MISMATCH', `cannot broadcast ${shapeText(a)} with ${shapeText(b)}`);
    result.push(left === 1 ? right : left);
  }
  return result;
}

function toTensor(value: Operand, like: Tensor): Tensor {
  return typeof value === 'number' ? like.graph.scalar(value, like.dtype) : value;
}

function graphOf(...values: Operand[]): Graph {
  for (const value of values) if (value instanceof Tensor) return value.graph;
  throw new O1Error('UNSUPPORTED_OP', 'an op needs at least one tensor operand');
}

/**
 * Sums `gradient` over broadcast axes so it has `shape` (the backward of broadcasting).
 *
 * @example
 * const gradBias = sumToShape(gradOutput, bias.shape);
 */
export function sumToShape(gradient: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(gradient.shape, shape)) return gradient;
  const offset = gradient.rank - shape.length;
  const axes: number[] = [];
  for (let index = 0; index < gradient.rank; index++) {
    if (index < offset || (shape[index - offset] === 1 && gradient.shape[index] !== 1)) axes.push(index);
  }
  const summed = axes.length > 0 ? reduceSum(gradient, axes, true) : gradient;
  return reshape(summed, shape);
}

// ---------------------------------------------------------------------------------------------
// Elementwise

function binary(opType: 'Add' | 'Sub' | 'Mul' | 'Div', left: Operand, right: Operand, backward: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | undefined, Tensor | undefined]): Tensor {
  const graph = graphOf(left, right);
  const a = left instanceof Tensor ? left : toTensor(left, right as Tensor);
  const b = right instanceof Tensor ? right : toTensor(right, a);
  if (a.dtype !== b.dtype) throw new O1Error('SHAPE_MISMATCH', `${opType} of ${a.dtype} and ${b.dtype}`);
  const [y] = graph.emit(opType, [a, b], [{ dtype: a.dtype, shape: broadcastShapes(a.shape, b.shape) }]);
  graph.record(opType, [a, b], [y], ([g], needs) => {
    if (g === undefined) return [undefined, undefined];
    const [ga, gb] = backward(g, a, b, y);
    return [needs[0] && ga ? sumToShape(ga, a.shape) : undefined, needs[1] && gb ? sumToShape(gb, b.shape) : undefined];
  });
  return y;
}

/**
 * Elementwise a + b with broadcasting.
 *
 * @example
 * const y = add(x, bias); // bias [D] broadcasts over x [N, D]
 */
export function add(a: Operand, b: Operand): Tensor {
  return binary('Add', a, b, (g) => [g, g]);
}

/**
 * Elementwise a - b with broadcasting.
 *
 * @example
 * const centred = sub(x, reduceMean(x, [-1], true));
 */
export function sub(a: Operand, b: Operand): Tensor {
  return binary('Sub', a, b, (g) => [g, neg(g)]);
}

/**
 * Elementwise a * b with broadcasting.
 *
 * @example
 * const scaled = mul(x, 0.5);
 */
export function mul(a: Operand, b: Operand): Tensor {
  return binary('Mul', a, b, (g, x, w) => [mul(g, w), mul(g, x)]);
}

/**
 * Elementwise a / b with broadcasting.
 *
 * @example
 * const ratio = div(a, b);
 */
export function div(a: Operand, b: Operand): Tensor {
  return binary('Div', a, b, (g, _x, w, y) => [div(g, w), neg(div(mul(g, y), w))]);
}

function unary(opType: string, x: Tensor, backward: (g: Tensor, y: Tensor) => Tensor, attributes = {}): Tensor {
  requireFloat(x, opType);
  const [y] = x.graph.emit(opType, [x], [{ dtype: x.dtype, shape: x.shape }], attributes);
  x.graph.record(opType, [x], [y], ([g]) => [g === undefined ? undefined : backward(g, y)]);
  return y;
}

/**
 * Elementwise -x.
 *
 * @example
 * const minusX = neg(x);
 */
export function neg(x: Tensor): Tensor {
  return unary('Neg', x, (g) => neg(g));
}

/**
 * Elementwise e^x.
 *
 * @example
 * const e = exp(x);
 */
export function exp(x: Tensor): Tensor {
  return unary('Exp', x, (g, y) => mul(g, y));
}

/**
 * Elementwise natural logarithm.
 *
 * @example
 * const l = log(probabilities);
 */
export function log(x: Tensor): Tensor {
  return unary('Log', x, (g) => div(g, x));
}

/**
 * Elementwise square root.
 *
 * @example
 * const root = sqrt(variance);
 */
export function sqrt(x: Tensor): Tensor {
  return unary('Sqrt', x, (g, y) => div(mul(g, 0.5), y));
}

/**
 * Elementwise 1 / sqrt(x).
 *
 * @example
 * const inverseRoot = rsqrt(add(variance, 1e-6));
 */
export function rsqrt(x: Tensor): Tensor {
  requireFloat(x, 'Rsqrt');
  const graph = x.graph;
  const y = graph.untaped(() => reciprocalRaw(sqrtRaw(x)));
  // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
  graph.record('Rsqrt', [x], [y], ([g]) => [g === undefined ? undefined : mul(g, mul(mul(y, mul(y, y)), -0.5))]);
  return y;
}

function sqrtRaw(x: Tensor): Tensor {
  return x.graph.emit('Sqrt', [x], [{ dtype: x.dtype, shape: x.shape }])[0];
}

function reciprocalRaw(x: Tensor): Tensor {
  return x.graph.emit('Reciprocal', [x], [{ dtype: x.dtype, shape: x.shape }])[0];
}

/**
 * Elementwise x^exponent for a constant exponent.
 *
 * @example
 * const cube = pow(x, 3);
 */
export function pow(x: Tensor, exponent: number): Tensor {
  requireFloat(x, 'Pow');
  const graph = x.graph;
  const [y] = graph.emit('Pow', [x, graph.scalar(exponent, x.dtype)], [{ dtype: x.dtype, shape: x.shape }]);
  graph.record('Pow', [x], [y], ([g]) => [g === undefined ? undefined : mul(g, mul(pow(x, exponent - 1), exponent))]);
  return y;
}

/**
 * Elementwise logistic sigmoid.
 *
 * @example
 * const gate = sigmoid(x);
 */
export function sigmoid(x: Tensor): Tensor {
  return unary('Sigmoid', x, (g, y) => mul(g, mul(y, sub(1, y))));
}

/**
 * Elementwise SiLU (x * sigmoid(x)), fused with one backward rule.
 *
 * @example
 * const activated = silu(x);
 */
export function silu(x: Tensor): Tensor {
  requireFloat(x, 'SiLU');
  const graph = x.graph;
  const [s, y] = graph.untaped(() => {
    const sig = graph.emit('Sigmoid', [x], [{ dtype: x.dtype, shape: x.shape }])[0];
    return [sig, graph.emit('Mul', [x, sig], [{ dtype: x.dtype, shape: x.shape }])[0]];
  });
  graph.record('SiLU', [x], [y], ([g]) => [g === undefined ? undefined : mul(g, siluDerivative(x, s))]);
  return y;
}

/** d silu(x)/dx = s (1 + x (1 - s)) with s = sigmoid(x). */
function siluDerivative(x: Tensor, s: Tensor): Tensor {
  return mul(s, add(mul(x, sub(1, s)), 1));
}

/**
 * SwiGLU: silu(gate) * up, the Llama MLP's activation, fused with one backward rule.
 *
 * @example
 * const hidden = swiglu(linear(x, gateWeight), linear(x, upWeight));
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  requireFloat(gate, 'SwiGLU');
  if (!sameShape(gate.shape, up.shape)) throw new O1Error('SHAPE_MISMATCH', `SwiGLU gate ${shapeText(gate.shape)} and up ${shapeText(up.shape)} differ`);
  const graph = gate.graph;
  const spec = [{ dtype: gate.dtype, shape: gate.shape }];
  const [s, activated, y] = graph.untaped(() => {
    const sig = graph.emit('Sigmoid', [gate], spec)[0];
    const act = graph.emit('Mul', [gate, sig], spec)[0];
    return [sig, act, graph.emit('Mul', [act, up], spec)[0]];
  });
  graph.record('SwiGLU', [gate, up], [y], ([g], needs) => {
    if (g === undefined) return [undefined, undefined];
    return [needs[0] ? mul(mul(g, up), siluDerivative(gate, s)) : undefined, needs[1] ? mul(g, activated) : undefined];
  });
  return y;
}

/**
 * Casts to another dtype; float-to-float casts pass gradients back (cast again).
 *
 * @example
 * const maskFloat = cast(attentionMask, 'float32');
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const graph = x.graph;
  const onnxCode = { float32: 1, int64: 7, bool: 9, float64: 11 }[dtype];
  const [y] = graph.emit('Cast', [x], [{ dtype, shape: x.shape }], { to: onnxCode });
  if (x.isFloat && y.isFloat) graph.record('Cast', [x], [y], ([g]) => [g === undefined ? undefined : cast(g, x.dtype)]);
  return y;
}

/**
 * Elementwise select: condition ? a : b (broadcasting). Gradients flow to a and b.
 *
 * @example
 * const y = where(mask, x, 0);
 */
export function where(condition: Tensor, a: Operand, b: Operand): Tensor {
  const graph = condition.graph;
  const left = a instanceof Tensor ? a : toTensor(a, b as Tensor);
  const right = b instanceof Tensor ? b : toTensor(b, left);
  const shape = broadcastShapes(condition.shape, broadcastShapes(left.shape, right.shape));
  const [y] = graph.emit('Where', [condition, left, right], [{ dtype: left.dtype, shape }]);
  graph.record('Where', [left, right], [y], ([g], needs) => {
    if (g === undefined) return [undefined, undefined];
    const zero = graph.scalar(0, g.dtype);
    return [needs[0] ? sumToShape(where(condition, g, zero), left.shape) : undefined, needs[1] ? sumToShape(where(condition, zero, g), right.shape) : undefined];
  });
  return y;
}

/**
 * Elementwise comparison (no gradient).
 *
 * @example
 * const isPad = compare('Equal', ids, graph.scalar(0, 'int64'));
 */
export function compare(op: 'Equal' | 'Less' | 'Greater' | 'LessOrEqual' | 'GreaterOrEqual', a: Operand, b: Operand): Tensor {
  const graph = graphOf(a, b);
  const left = a instanceof Tensor ? a : toTensor(a, b as Tensor);
  const right = b instanceof Tensor ? b : toTensor(b, left);
  return graph.emit(op, [left, right], [{ dtype: 'bool', shape: broadcastShapes(left.shape, right.shape) }])[0];
}

/**
 * Elementwise logical not (no gradient).
 *
 * @example
 * const keep = logicalNot(isPad);
 */
export function logicalNot(x: Tensor): Tensor {
  return x.graph.emit('Not', [x], [{ dtype: 'bool', shape: x.shape }])[0];
}

/**
 * Elementwise max of two tensors (no gradient: used on masks, counts and position ids).
 *
 * @example
 * const count = maximum(total, 1);
 */
export function maximum(a: Operand, b: Operand): Tensor {
  const graph = graphOf(a, b);
  const left = a instanceof Tensor ? a : toTensor(a, b as Tensor);
  const right = b instanceof Tensor ? b : toTensor(b, left);
  return graph.emit('Max', [left, right], [{ dtype: left.dtype, shape: broadcastShapes(left.shape, right.shape) }])[0];
}

/**
 * Cumulative sum along an axis (no gradient: used for position ids).
 *
 * @example
 * const positions = cumSum(attentionMask, 1);
 */
export function cumSum(x: Tensor, axis: number): Tensor {
  const graph = x.graph;
  return graph.emit('CumSum', [x, graph.constant(new BigInt64Array([BigInt(axis)]), [], 'int64')], [{ dtype: x.dtype, shape: x.shape }])[0];
}

// ---------------------------------------------------------------------------------------------
// Shapes

/**
 * Reshape; one dimension may be -1.
 *
 * @example
 * const flat = reshape(x, [-1, hidden]);
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const graph = x.graph;
  const known = shape.reduce((product, dimension) => (dimension === -1 ? product : product * dimension), 1);
  const resolved = shape.map((dimension) => (dimension === -1 ? x.size / known : dimension));
  if (resolved.reduce((product, dimension) => product * dimension, 1) !== x.size || !resolved.every(Number.isInteger)) {
    throw new O1Error('SHAPE_MISMATCH', `cannot reshape ${shapeText(x.shape)} to ${shapeText(shape)}`, { field: x.name });
  }
  if (sameShape(resolved, x.shape)) return x;
  const [y] = graph.emit('Reshape', [x, graph.int64s(resolved)], [{ dtype: x.dtype, shape: resolved }]);
  graph.record('Reshape', [x], [y], ([g]) => [g === undefined ? undefined : reshape(g, x.shape)]);
  return y;
}

/**
 * Permutes dimensions.
 *
 * @example
 * const headsFirst = transpose(x, [0, 2, 1, 3]);
 */
export function transpose(x: Tensor, permutation: readonly number[]): Tensor {
  if (permutation.length !== x.rank || [...permutation].sort().some((axis, index) => axis !== index)) {
    throw new O1Error('SHAPE_MISMATCH', `bad permutation ${shapeText(permutation)} for rank ${x.rank}`);
  }
  if (permutation.every((axis, index) => axis === index)) return x;
  const graph = x.graph;
  const [y] = graph.emit('Transpose', [x], [{ dtype: x.dtype, shape: permutation.map((axis) => x.shape[axis]) }], { perm: [...permutation] });
  const inverse = permutation.map((_, index) => permutation.indexOf(index));
  graph.record('Transpose', [x], [y], ([g]) => [g === undefined ? undefined : transpose(g, inverse)]);
  return y;
}

/**
 * Concatenates along an axis.
 *
 * @example
 * const both = concat([a, b], 1);
 */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  const first = tensors[0];
  if (first === undefined) throw new O1Error('SHAPE_MISMATCH', 'concat of no tensors');
  const graph = first.graph;
  const normalised = normaliseAxis(axis, first.rank);
  for (const tensor of tensors) {
    if (tensor.rank !== first.rank || tensor.shape.some((dimension, index) => index !== normalised && dimension !== first.shape[index])) {
      throw new O1Error('SHAPE_MISMATCH', `concat of ${shapeText(first.shape)} and ${shapeText(tensor.shape)} on axis ${axis}`);
    }
  }
  if (tensors.length === 1) return first;
  const shape = [...first.shape];
  shape[normalised] = tensors.reduce((total, tensor) => total + tensor.shape[normalised], 0);
  const [y] = graph.emit('Concat', tensors, [{ dtype: first.dtype, shape }], { axis: normalised });
  graph.record('Concat', tensors, [y], ([g]) => (g === undefined ? tensors.map(() => undefined) : split(g, tensors.map((tensor) => tensor.shape[normalised]), normalised)));
  return y;
}

/**
 * Splits along an axis into pieces of the given sizes.
 *
 * @example
 * const [gate, up] = split(fused, [intermediate, intermediate], 1);
 */
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const graph = x.graph;
  const normalised = normaliseAxis(axis, x.rank);
  if (sizes.reduce((total, size) => total + size, 0) !== x.shape[normalised]) throw new O1Error('SHAPE_MISMATCH', `split sizes ${shapeText(sizes)} do not add up to ${x.shape[normalised]}`);
  const outputs = graph.emit(
    'Split',
    [x, graph.int64s(sizes)],
    sizes.map((size) => ({ dtype: x.dtype, shape: x.shape.map((dimension, index) => (index === normalised ? size : dimension)) })),
    { axis: normalised },
  );
  graph.record('Split', [x], outputs, (grads) => {
    const pieces = grads.map((g, index) => g ?? zeros(graph, outputs[index].shape, x.dtype));
    return [concat(pieces, normalised)];
  });
  return outputs;
}

/**
 * Slices [start, end) along the given axes (step 1; negative indices count from the end).
 *
 * @example
 * const last = slice(x, [-1], [x.shape[1]], [1]); // x[:, -1:]
 */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Tensor {
  const graph = x.graph;
  const begin = x.shape.map(() => 0);
  const finish = [...x.shape];
  axes.forEach((axis, index) => {
    const normalised = normaliseAxis(axis, x.rank);
    const size = x.shape[normalised];
    const clamp = (value: number): number => Math.min(Math.max(value < 0 ? value + size : value, 0), size);
    begin[normalised] = clamp(starts[index]);
    finish[normalised] = clamp(ends[index]);
  });
  const shape = begin.map((start, index) => Math.max(finish[index] - start, 0));
  const allAxes = x.shape.map((_, index) => index);
  const [y] = graph.emit('Slice', [x, graph.int64s(begin), graph.int64s(finish), graph.int64s(allAxes)], [{ dtype: x.dtype, shape }]);
  graph.record('Slice', [x], [y], ([g]) => {
    if (g === undefined) return [undefined];
    const pads = [...begin, ...finish.map((end, index) => x.shape[index] - end)];
    return [graph.emit('Pad', [g, graph.int64s(pads)], [{ dtype: x.dtype, shape: x.shape }])[0]];
  });
  return y;
}

/**
 * Broadcasts to a larger shape.
 *
 * @example
 * const tiled = expand(x, [batch, heads, length, width]);
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const graph = x.graph;
  const target = broadcastShapes(x.shape, shape);
  if (sameShape(target, x.shape)) return x;
  const [y] = graph.emit('Expand', [x, graph.int64s(target)], [{ dtype: x.dtype, shape: target }]);
  graph.record('Expand', [x], [y], ([g]) => [g === undefined ? undefined : sumToShape(g, x.shape)]);
  return y;
}

/**
 * A zero tensor (ConstantOfShape; no gradient).
 *
 * @example
 * const z = zeros(graph, [4, 4], 'float32');
 */
export function zeros(graph: Graph, shape: readonly number[], dtype: DType): Tensor {
  const value = { tensor: { name: 'value', dtype, shape: [1], data: hostArray(dtype, [0]) } };
  return graph.emit('ConstantOfShape', [graph.int64s(shape)], [{ dtype, shape }], { value })[0];
}

// ---------------------------------------------------------------------------------------------
// Reductions

function reducedShape(x: Tensor, axes: readonly number[], keepDims: boolean): { axes: number[]; shape: number[] } {
  const normalised = axes.map((axis) => normaliseAxis(axis, x.rank));
  const shape: number[] = [];
  x.shape.forEach((dimension, index) => {
    if (!normalised.includes(index)) shape.push(dimension);
    else if (keepDims) shape.push(1);
  });
  return { axes: normalised, shape };
}

/**
 * Sum over axes. Default keepDims false.
 *
 * @example
 * const total = reduceSum(x, [0, 1]);
 */
export function reduceSum(x: Tensor, axes: readonly number[], keepDims = false): Tensor {
  const graph = x.graph;
  const reduced = reducedShape(x, axes, keepDims);
  const [y] = graph.emit('ReduceSum', [x, graph.int64s(reduced.axes)], [{ dtype: x.dtype, shape: reduced.shape }], { keepdims: keepDims ? 1 : 0 });
  graph.record('ReduceSum', [x], [y], ([g]) => [g === undefined ? undefined : expand(reshape(g, reducedShape(x, axes, true).shape), x.shape)]);
  return y;
}

/**
 * Mean over axes. Default keepDims false.
 *
 * @example
 * const meanSquare = reduceMean(mul(x, x), [-1], true);
 */
export function reduceMean(x: Tensor, axes: readonly number[], keepDims = false): Tensor {
  const graph = x.graph;
  const reduced = reducedShape(x, axes, keepDims);
  const count = reduced.axes.reduce((product, axis) => product * x.shape[axis], 1);
  const [y] = graph.emit('ReduceMean', [x], [{ dtype: x.dtype, shape: reduced.shape }], { axes: reduced.axes, keepdims: keepDims ? 1 : 0 });
  graph.record('ReduceMean', [x], [y], ([g]) => [g === undefined ? undefined : expand(reshape(mul(g, 1 / count), reducedShape(x, axes, true).shape), x.shape)]);
  return y;
}

// ---------------------------------------------------------------------------------------------
// Matrix products

/** Options for {@link matmul}. */
export interface MatmulOptions {
  /** Use a's last two dimensions transposed. Default false. */
  transposeA?: boolean;
  /** Use b's last two dimensions transposed. Default false. */
  transposeB?: boolean;
  /** Scale of the product. Default 1. */
  alpha?: number;
}

/**
 * Emission choices measured on the training step (exported so benchmarks can compare them):
 * `leftTransposed` is how a 2-D aᵀ·b (every weight gradient) is emitted; `rightTransposed` how a
 * 2-D a·bᵀ (every {@link linear} forward) is: Gemm with transB, or com.microsoft FusedMatMul
 * with transB. With the weight fed as a graph input, both (and MatMul on an explicit Transpose,
 * which ORT fuses) measured equal within noise on ONNX Runtime 1.30 at every training and
 * inference shape of the 5 M model, 1 and 2 threads (bench/matmul-forms.ts), so Gemm stays.
 */
export const matmulTuning: { leftTransposed: 'gemm' | 'transpose' | 'fused'; rightTransposed: 'gemm' | 'fused'; headGradient: 'direct' | 'transposed' } = {
  leftTransposed: 'gemm',
  rightTransposed: 'gemm',
  headGradient: 'direct',
};

function emitMatmul(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean, alpha: number, shape: number[]): Tensor {
  const graph = a.graph;
  const spec = [{ dtype: a.dtype, shape }];
  if (a.rank === 2 && b.rank === 2 && transposeA && !transposeB && matmulTuning.leftTransposed !== 'gemm') {
    if (matmulTuning.leftTransposed === 'fused' && graph.contribOps) {
      return graph.emit('FusedMatMul', [a, b], spec, { transA: 1, alpha: { float: alpha } }, 'com.microsoft')[0];
    }
    const transposed = graph.emit('Transpose', [a], [{ dtype: a.dtype, shape: [a.shape[1], a.shape[0]] }], { perm: [1, 0] })[0];
    return graph.emit('Gemm', [transposed, b], spec, { alpha: { float: alpha } })[0];
  }
  if (a.rank === 2 && b.rank === 2 && !transposeA && transposeB && matmulTuning.rightTransposed === 'fused' && graph.contribOps) {
    return graph.emit('FusedMatMul', [a, b], spec, { transB: 1, alpha: { float: alpha } }, 'com.microsoft')[0];
  }
  if (a.rank === 2 && b.rank === 2) {
    return graph.emit('Gemm', [a, b], spec, { transA: transposeA ? 1 : 0, transB: transposeB ? 1 : 0, alpha: { float: alpha } })[0];
  }
  if (graph.contribOps) {
    return graph.emit('FusedMatMul', [a, b], spec, { transA: transposeA ? 1 : 0, transB: transposeB ? 1 : 0, alpha: { float: alpha } }, 'com.microsoft')[0];
  }
  const swapLast = (x: Tensor): Tensor => {
    const permutation = x.shape.map((_, index) => index);
    [permutation[x.rank - 2], permutation[x.rank - 1]] = [permutation[x.rank - 1], permutation[x.rank - 2]];
    return graph.emit('Transpose', [x], [{ dtype: x.dtype, shape: permutation.map((axis) => x.shape[axis]) }], { perm: permutation })[0];
  };
  const product = graph.emit('MatMul', [transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b], spec)[0];
  return alpha === 1 ? product : graph.emit('Mul', [product, graph.scalar(alpha, a.dtype)], spec)[0];
}

/**
 * Batched matrix product over the last two dimensions, batch dimensions broadcast. Emits Gemm
 * for 2-D operands, FusedMatMul (no materialised transpose) otherwise when contrib ops are on.
 *
 * @example
 * const scores = matmul(queries, keys, { transposeB: true, alpha: 1 / Math.sqrt(headDim) });
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  requireFloat(a, 'MatMul');
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  const alpha = options.alpha ?? 1;
  if (a.rank < 2 || b.rank < 2 || a.dtype !== b.dtype) throw new O1Error('SHAPE_MISMATCH', `matmul of ${a.dtype}${shapeText(a.shape)} and ${b.dtype}${shapeText(b.shape)}`);
  const [m, k] = transposeA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [k2, n] = transposeB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  if (k !== k2) throw new O1Error('SHAPE_MISMATCH', `matmul inner dimensions differ: ${shapeText(a.shape)}${transposeA ? 'ᵀ' : ''} x ${shapeText(b.shape)}${transposeB ? 'ᵀ' : ''}`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const y = emitMatmul(a, b, transposeA, transposeB, alpha, [...batch, m, n]);
  a.graph.record('MatMul', [a, b], [y], ([g], needs) => {
    if (g === undefined) return [undefined, undefined];
    let gradA: Tensor | undefined;
    let gradB: Tensor | undefined;
    if (needs[0]) {
      gradA = transposeA ? matmul(b, g, { transposeA: transposeB, transposeB: true, alpha }) : matmul(g, b, { transposeB: !transposeB, alpha });
      gradA = sumToShape(gradA, a.shape);
    }
    if (needs[1]) {
      gradB = transposeB ? matmul(g, a, { transposeA: true, transposeB: transposeA, alpha }) : matmul(a, g, { transposeA: !transposeA, alpha });
      gradB = sumToShape(gradB, b.shape);
    }
    return [gradA, gradB];
  });
  return y;
}

/**
 * A linear layer with PyTorch's weight layout: x [..., in] times weight [out, in]ᵀ plus an
 * optional bias [out]. Rank-2 inputs run as one Gemm.
 *
 * @example
 * const q = linear(hidden, qWeight, qBias); // [N, in] x [out, in]ᵀ + [out]
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const inFeatures = x.shape[x.rank - 1];
  if (weight.rank !== 2 || weight.shape[1] !== inFeatures) throw new O1Error('SHAPE_MISMATCH', `linear of ${shapeText(x.shape)} with weight ${shapeText(weight.shape)}`, { field: weight.name });
  const flat = x.rank === 2 ? x : reshape(x, [-1, inFeatures]);
  let y = matmul(flat, weight, { transposeB: true });
  if (bias !== undefined) y = add(y, bias);
  return x.rank === 2 ? y : reshape(y, [...x.shape.slice(0, -1), weight.shape[0]]);
}

/**
 * An affine map with TensorFlow's weight layout: x [N, in] times weight [in, out] plus bias
 * [out], emitted as ONE Gemm with the bias as its C input (a separate Add over the [N, out]
 * product cost about a tenth of an encoder's forward pass).
 *
 * @example
 * const hidden = affine(x, kernel, bias); // [N, in] x [in, out] + [out]
 */
export function affine(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  requireFloat(x, 'Affine');
  const graph = x.graph;
  const [rows, inFeatures] = x.shape;
  const outFeatures = weight.shape[1];
  if (x.rank !== 2 || weight.rank !== 2 || weight.shape[0] !== inFeatures || bias.rank !== 1 || bias.shape[0] !== outFeatures || x.dtype !== weight.dtype || x.dtype !== bias.dtype) {
    throw new O1Error('SHAPE_MISMATCH', `affine of ${x.dtype}${shapeText(x.shape)} with weight ${weight.dtype}${shapeText(weight.shape)} and bias ${bias.dtype}${shapeText(bias.shape)}`, { field: weight.name });
  }
  const [y] = graph.emit('Gemm', [x, weight, bias], [{ dtype: x.dtype, shape: [rows, outFeatures] }]);
  graph.record('Affine', [x, weight, bias], [y], ([g], needs) => {
    if (g === undefined) return [undefined, undefined, undefined];
    return [
      needs[0] ? matmul(g, weight, { transposeB: true }) : undefined,
      needs[1] ? matmul(x, g, { transposeA: true }) : undefined,
      needs[2] ? reduceSum(g, [0]) : undefined,
    ];
  });
  return y;
}

// ---------------------------------------------------------------------------------------------
// Indexing

/**
 * Row lookup: table [V, ...] at int64 indices [...] gives [..., ...]. The gradient is a ScatterND add.
 *
 * @example
 * const embedded = gather(embeddingTable, inputIds); // [B, T] ids -> [B, T, D]
 */
export function gather(table: Tensor, indices: Tensor): Tensor {
  const graph = table.graph;
  if (indices.dtype !== 'int64') throw new O1Error('UNSUPPORTED_OP', `gather indices must be int64, got ${indices.dtype}`);
  const [y] = graph.emit('Gather', [table, indices], [{ dtype: table.dtype, shape: [...indices.shape, ...table.shape.slice(1)] }], { axis: 0 });
  graph.record('Gather', [table], [y], ([g]) => [g === undefined ? undefined : scatterAddRows(zeros(graph, table.shape, table.dtype), indices, g)]);
  return y;
}

/**
 * data with rows `indices` incremented by `updates` (ScatterND, reduction add; duplicates add up). No gradient.
 *
 * @example
 * const grad = scatterAddRows(zeros(graph, [vocab, width], 'float32'), ids, rowGradients);
 */
export function scatterAddRows(data: Tensor, indices: Tensor, updates: Tensor): Tensor {
  const graph = data.graph;
  const indexTensor = graph.emit('Reshape', [indices, graph.int64s([...indices.shape, 1])], [{ dtype: 'int64', shape: [...indices.shape, 1] }])[0];
  return graph.emit('ScatterND', [data, indexTensor, updates], [{ dtype: data.dtype, shape: data.shape }], { reduction: 'add' })[0];
}

// ---------------------------------------------------------------------------------------------
// Normalisation, activations over an axis

/**
 * Softmax over an axis (default last).
 *
 * @example
 * const probabilities = softmax(scores, -1);
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  requireFloat(x, 'Softmax');
  const graph = x.graph;
  const normalised = normaliseAxis(axis, x.rank);
  const [y] = graph.emit('Softmax', [x], [{ dtype: x.dtype, shape: x.shape }], { axis: normalised });
  graph.record('Softmax', [x], [y], ([g]) => {
    if (g === undefined) return [undefined];
    const gy = mul(g, y);
    return [sub(gy, mul(y, reduceSum(gy, [normalised], true)))];
  });
  return y;
}

/**
 * Log-softmax over an axis (default last).
 *
 * @example
 * const logProbabilities = logSoftmax(logits);
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireFloat(x, 'LogSoftmax');
  const graph = x.graph;
  const normalised = normaliseAxis(axis, x.rank);
  const [y] = graph.emit('LogSoftmax', [x], [{ dtype: x.dtype, shape: x.shape }], { axis: normalised });
  graph.record('LogSoftmax', [x], [y], ([g]) => [g === undefined ? undefined : sub(g, mul(exp(y), reduceSum(g, [normalised], true)))]);
  return y;
}

/**
 * RMSNorm over the last axis: x / sqrt(mean(x²) + eps) * weight, fused with one backward rule.
 * Default eps 1e-6.
 *
 * @example
 * const normed = rmsNorm(hidden, normWeight, 1e-5);
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  requireFloat(x, 'RMSNorm');
  const graph = x.graph;
  const width = x.shape[x.rank - 1];
  if (weight.rank !== 1 || weight.shape[0] !== width) throw new O1Error('SHAPE_MISMATCH', `RMSNorm weight ${shapeText(weight.shape)} for input ${shapeText(x.shape)}`, { field: weight.name });
  const last = x.rank - 1;
  const rowShape = [...x.shape.slice(0, -1), 1];
  if (graph.contribOps && x.dtype === 'float32') {
    // ONNX Runtime's SimplifiedLayerNormalization (float32: its double variant stashes 1/rms as float): one kernel instead of seven, and it also
    // returns 1/rms for the backward.
    const [y, inverse] = graph.emit('SimplifiedLayerNormalization', [x, weight], [{ dtype: x.dtype, shape: x.shape }, { dtype: x.dtype, shape: rowShape }], {
      axis: -1,
      epsilon: { float: eps },
      stash_type: 1,
    });
    graph.record('RMSNorm', [x, weight], [y], ([g], needs) => {
      if (g === undefined) return [undefined, undefined];
      const normalised = mul(x, inverse);
      return rmsNormBackward(g, x, weight, normalised, inverse, needs);
    });
    return y;
  }
  const [inverseRms, normalised, y] = graph.untaped(() => {
    const squared = graph.emit('Mul', [x, x], [{ dtype: x.dtype, shape: x.shape }])[0];
    const meanSquare = graph.emit('ReduceMean', [squared], [{ dtype: x.dtype, shape: rowShape }], { axes: [last], keepdims: 1 })[0];
    const shifted = graph.emit('Add', [meanSquare, graph.scalar(eps, x.dtype)], [{ dtype: x.dtype, shape: rowShape }])[0];
    const inverse = reciprocalRaw(sqrtRaw(shifted));
    const xHat = graph.emit('Mul', [x, inverse], [{ dtype: x.dtype, shape: x.shape }])[0];
    return [inverse, xHat, graph.emit('Mul', [xHat, weight], [{ dtype: x.dtype, shape: x.shape }])[0]];
  });
  graph.record('RMSNorm', [x, weight], [y], ([g], needs) => (g === undefined ? [undefined, undefined] : rmsNormBackward(g, x, weight, normalised, inverseRms, needs)));
  return y;
}

function rmsNormBackward(g: Tensor, x: Tensor, weight: Tensor, normalised: Tensor, inverseRms: Tensor, needs: readonly boolean[]): [Tensor | undefined, Tensor | undefined] {
  const gradWeight = needs[1] ? sumToShape(mul(g, normalised), weight.shape) : undefined;
  let gradX: Tensor | undefined;
  if (needs[0]) {
    const gradNormalised = mul(g, weight);
    const projection = reduceMean(mul(gradNormalised, normalised), [x.rank - 1], true);
    gradX = mul(inverseRms, sub(gradNormalised, mul(normalised, projection)));
  }
  return [gradX, gradWeight];
}

/**
 * L2-normalises along the last axis: x / max(‖x‖, eps), as torch.nn.functional.normalize.
 * Default eps 1e-12. (The gradient assumes ‖x‖ > eps, the only case that matters in practice.)
 *
 * @example
 * const unit = l2Normalize(embeddings);
 */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  requireFloat(x, 'L2Normalize');
  const graph = x.graph;
  const last = x.rank - 1;
  const rowShape = [...x.shape.slice(0, -1), 1];
  const [inverseNorm, y] = graph.untaped(() => {
    const squared = graph.emit('Mul', [x, x], [{ dtype: x.dtype, shape: x.shape }])[0];
    const sumSquare = graph.emit('ReduceSum', [squared, graph.int64s([last])], [{ dtype: x.dtype, shape: rowShape }], { keepdims: 1 })[0];
    const norm = graph.emit('Max', [sqrtRaw(sumSquare), graph.scalar(eps, x.dtype)], [{ dtype: x.dtype, shape: rowShape }])[0];
    const inverse = reciprocalRaw(norm);
    return [inverse, graph.emit('Mul', [x, inverse], [{ dtype: x.dtype, shape: x.shape }])[0]];
  });
  graph.record('L2Normalize', [x], [y], ([g]) => {
    if (g === undefined) return [undefined];
    return [mul(inverseNorm, sub(g, mul(y, reduceSum(mul(g, y), [last], true))))];
  });
  return y;
}

/**
 * Elementwise max(x, 0). The gradient passes where x > 0.
 *
 * @example
 * const hidden = relu(linear(x, w1, b1));
 */
export function relu(x: Tensor): Tensor {
  requireFloat(x, 'Relu');
  const graph = x.graph;
  const [y] = graph.emit('Relu', [x], [{ dtype: x.dtype, shape: x.shape }]);
  graph.record('Relu', [x], [y], ([g]) => [g === undefined ? undefined : where(compare('Greater', x, graph.scalar(0, x.dtype)), g, 0)]);
  return y;
}

/**
 * Elementwise hyperbolic tangent; d tanh(x)/dx = 1 - tanh(x)².
 *
 * @example
 * const squashed = tanh(linear(pooled, w, b));
 */
export function tanh(x: Tensor): Tensor {
  return unary('Tanh', x, (g, y) => mul(g, sub(1, mul(y, y))));
}

/**
 * Layer normalisation over the last axis: (x - mean) / sqrt(variance + eps) * weight + bias
 * (biased variance, as PyTorch and TensorFlow). Default eps 1e-5. In float32 it is ONNX's
 * LayerNormalization kernel, whose mean and 1/σ outputs the backward reuses; in float64 (gradient
 * checks) the same formula in plain ops, since ORT's kernel keeps those statistics in float32.
 * One backward rule either way.
 *
 * @example
 * const normed = layerNorm(hidden, scale, shift, 1e-6);
 */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  requireFloat(x, 'LayerNorm');
  const graph = x.graph;
  const width = x.shape[x.rank - 1];
  for (const parameter of [weight, bias]) {
    if (parameter.rank !== 1 || parameter.shape[0] !== width || parameter.dtype !== x.dtype) {
      throw new O1Error('SHAPE_MISMATCH', `LayerNorm ${parameter === weight ? 'weight' : 'bias'} ${parameter.dtype}${shapeText(parameter.shape)} for input ${x.dtype}${shapeText(x.shape)}`, { field: parameter.name });
    }
  }
  const last = x.rank - 1;
  const rowShape = [...x.shape.slice(0, -1), 1];
  const spec = { dtype: x.dtype, shape: x.shape };
  const rowSpec = { dtype: x.dtype, shape: rowShape };
  const [y, mean, inverse] = graph.untaped(() => {
    if (x.dtype === 'float32') {
      return graph.emit('LayerNormalization', [x, weight, bias], [spec, rowSpec, rowSpec], { axis: -1, epsilon: { float: eps }, stash_type: 1 });
    }
    const rowMean = graph.emit('ReduceMean', [x], [rowSpec], { axes: [last], keepdims: 1 })[0];
    const centred = graph.emit('Sub', [x, rowMean], [spec])[0];
    const variance = graph.emit('ReduceMean', [graph.emit('Mul', [centred, centred], [spec])[0]], [rowSpec], { axes: [last], keepdims: 1 })[0];
    const inverseStd = reciprocalRaw(sqrtRaw(graph.emit('Add', [variance, graph.scalar(eps, x.dtype)], [rowSpec])[0]));
    const scaled = graph.emit('Mul', [graph.emit('Mul', [centred, inverseStd], [spec])[0], weight], [spec])[0];
    return [graph.emit('Add', [scaled, bias], [spec])[0], rowMean, inverseStd];
  });
  graph.record('LayerNorm', [x, weight, bias], [y], ([g], needs) => {
    if (g === undefined) return [undefined, undefined, undefined];
    const normalised = mul(sub(x, mean), inverse);
    let gradX: Tensor | undefined;
    if (needs[0]) {
      const gradNormalised = mul(g, weight);
      const centredGrad = sub(gradNormalised, reduceMean(gradNormalised, [last], true));
      gradX = mul(inverse, sub(centredGrad, mul(normalised, reduceMean(mul(gradNormalised, normalised), [last], true))));
    }
    return [gradX, needs[1] ? sumToShape(mul(g, normalised), weight.shape) : undefined, needs[2] ? sumToShape(g, bias.shape) : undefined];
  });
  return y;
}

// ---------------------------------------------------------------------------------------------
// RoPE and attention

/**
 * How RoPE pairs dimensions. `half`: Hugging Face (dims i and i + d/2). `adjacent`: llama2.c and
 * llama.cpp's Llama graph (dims 2i and 2i+1). Hugging Face checkpoints are `half`; converting to
 * GGUF permutes Q/K rows so llama.cpp's `adjacent` rotation gives the same result.
 */
export type RopeStyle = 'half' | 'adjacent';

function rotate(x: Tensor, style: RopeStyle): Tensor {
  const graph = x.graph;
  const half = x.shape[x.rank - 1] / 2;
  const spec = (shape: readonly number[]) => [{ dtype: x.dtype, shape }];
  const last = x.rank - 1;
  const sliceLast = (input: Tensor, start: number, end: number, shape: number[]) =>
    graph.emit('Slice', [input, graph.int64s([start]), graph.int64s([end]), graph.int64s([input.rank - 1])], spec(shape))[0];
  if (style === 'half') {
    const halfShape = [...x.shape.slice(0, -1), half];
    const first = sliceLast(x, 0, half, halfShape);
    const second = sliceLast(x, half, 2 * half, halfShape);
    const negated = graph.emit('Neg', [second], spec(halfShape))[0];
    return graph.emit('Concat', [negated, first], spec(x.shape), { axis: last })[0];
  }
  const pairShape = [...x.shape.slice(0, -1), half, 2];
  const pairs = graph.emit('Reshape', [x, graph.int64s(pairShape)], spec(pairShape))[0];
  const oneShape = [...x.shape.slice(0, -1), half, 1];
  const even = sliceLast(pairs, 0, 1, oneShape);
  const odd = sliceLast(pairs, 1, 2, oneShape);
  const negated = graph.emit('Neg', [odd], spec(oneShape))[0];
  const rotated = graph.emit('Concat', [negated, even], spec(pairShape), { axis: pairShape.length - 1 })[0];
  return graph.emit('Reshape', [rotated, graph.int64s(x.shape)], spec(x.shape))[0];
}

/**
 * Rotary position embedding: x * cos + rotate(x) * sin, where `rotate` pairs dimensions as
 * `style` says ('half': i with i + d/2, Hugging Face; 'adjacent': 2i with 2i+1, llama.cpp).
 * `cos` and `sin` broadcast against x and hold each pair's angle in both of its slots (see
 * {@link ropeTables}). Backward: a rotation's transpose is the rotation by minus the angle.
 *
 * @example
 * const rotated = rope(q, cos, sin, 'half'); // q [B, T, H, d], cos/sin [B, T, 1, d]
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, style: RopeStyle): Tensor {
  requireFloat(x, 'RoPE');
  const graph = x.graph;
  if (x.shape[x.rank - 1] % 2 !== 0) throw new O1Error('SHAPE_MISMATCH', `RoPE needs an even last dimension, got ${shapeText(x.shape)}`);
  const apply = (input: Tensor, sign: 1 | -1): Tensor =>
    graph.untaped(() => {
      const spec = [{ dtype: input.dtype, shape: input.shape }];
      const direct = graph.emit('Mul', [input, cos], spec)[0];
      const rotated = graph.emit('Mul', [rotate(input, style), sin], spec)[0];
      return graph.emit(sign === 1 ? 'Add' : 'Sub', [direct, rotated], spec)[0];
    });
  const y = apply(x, 1);
  graph.record('RoPE', [x], [y], ([g]) => [g === undefined ? undefined : apply(g, -1)]);
  return y;
}

/**
 * Host tables of cos and sin for positions [0, positions) and a head size, laid out for
 * `style` (each pair's angle repeated in both of its slots). Default theta 10000.
 *
 * @example
 * const tables = ropeTables(128, 64, 'half', 10000);
 */
export function ropeTables(positions: number, headDim: number, style: RopeStyle, theta = 10000): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2;
  const cos = new Float64Array(positions * headDim);
  const sin = new Float64Array(positions * headDim);
  for (let position = 0; position < positions; position++) {
    for (let pair = 0; pair < half; pair++) {
      const angle = position * Math.pow(theta, (-2 * pair) / headDim);
      const slots = style === 'half' ? [pair, pair + half] : [2 * pair, 2 * pair + 1];
      for (const slot of slots) {
        cos[position * headDim + slot] = Math.cos(angle);
        sin[position * headDim + slot] = Math.sin(angle);
      }
    }
  }
  return { cos, sin };
}

/** Constants made from one RoPE table object, so layers share them. */
const tableConstants = new WeakMap<object, Map<string, Tensor>>();

/**
 * RoPE on a [B, T, heads · headDim] projection at int64 positions [B, T], from host tables
 * {@link ropeTables}. In float32 with contrib ops it is ONNX Runtime's RotaryEmbedding kernel
 * (one node; the backward is the same kernel with −sin); otherwise the composite {@link rope}.
 *
 * @example
 * const q = rotaryEmbedding(projected, positionIds, ropeTables(512, 64, 'half'), 8, 'half');
 */
export function rotaryEmbedding(
  x: Tensor,
  positions: Tensor,
  tables: { cos: Float64Array; sin: Float64Array },
  heads: number,
  style: RopeStyle,
): Tensor {
  requireFloat(x, 'RotaryEmbedding');
  const graph = x.graph;
  const [batch, length, width] = x.shape;
  const headDim = width / heads;
  const tableRows = tables.cos.length / headDim;
  if (x.rank !== 3 || !Number.isInteger(headDim) || !Number.isInteger(tableRows)) {
    throw new O1Error('SHAPE_MISMATCH', `RoPE of ${shapeText(x.shape)} with ${heads} heads and tables of ${tables.cos.length} values`);
  }
  let constants = tableConstants.get(tables);
  if (constants === undefined) {
    constants = new Map();
    tableConstants.set(tables, constants);
  }
  const remember = (key: string, make: () => Tensor): Tensor => {
    const fullKey = `${x.graph.name}|${key}`;
    let tensor = constants!.get(fullKey);
    if (tensor === undefined || tensor.graph !== graph) {
      tensor = make();
      constants!.set(fullKey, tensor);
    }
    return tensor;
  };
  if (graph.contribOps && x.dtype === 'float32') {
    // The kernel wants [positions, headDim / 2] caches: one angle per pair.
    const half = headDim / 2;
    const pairCache = (table: Float64Array, sign: number) =>
      remember(`pairs|${style}|${sign}|${table === tables.cos ? 'cos' : 'sin'}`, () => {
        const cache = new Float32Array(tableRows * half);
        for (let row = 0; row < tableRows; row++) {
          for (let pair = 0; pair < half; pair++) cache[row * half + pair] = sign * table[row * headDim + (style === 'half' ? pair : 2 * pair)];
        }
        return graph.constant(cache, [tableRows, half], 'float32');
      });
    const cos = pairCache(tables.cos, 1);
    const sin = pairCache(tables.sin, 1);
    const attributes = { interleaved: style === 'adjacent' ? 1 : 0, num_heads: heads };
    const spec = [{ dtype: x.dtype, shape: x.shape }];
    const [y] = graph.emit('RotaryEmbedding', [x, positions, cos, sin], spec, attributes, 'com.microsoft');
    graph.record('RotaryEmbedding', [x], [y], ([g]) => [g === undefined ? undefined : graph.emit('RotaryEmbedding', [g, positions, cos, pairCache(tables.sin, -1)], spec, attributes, 'com.microsoft')[0]]);
    return y;
  }
  const toFloat = (values: Float64Array) => (x.dtype === 'float64' ? values : Float32Array.from(values));
  const gatherTable = (values: Float64Array) =>
    remember(`gathered|${x.dtype}|${values === tables.cos ? 'cos' : 'sin'}|${positions.name}`, () =>
      graph.untaped(() => reshape(gather(graph.constant(toFloat(values), [tableRows, headDim], x.dtype), positions), [batch, length, 1, headDim])),
    );
  const rotated = rope(reshape(x, [batch, length, heads, headDim]), gatherTable(tables.cos), gatherTable(tables.sin), style);
  return reshape(rotated, x.shape);
}

/**
 * Repeats KV heads for grouped-query attention: [B, Hkv, T, d] to [B, Hkv * repeats, T, d].
 *
 * @example
 * const keysForAllHeads = repeatKv(keys, heads / kvHeads);
 */
export function repeatKv(x: Tensor, repeats: number): Tensor {
  if (repeats === 1) return x;
  const [batch, heads, length, width] = x.shape;
  return reshape(expand(reshape(x, [batch, heads, 1, length, width]), [batch, heads, repeats, length, width]), [batch, heads * repeats, length, width]);
}

/**
 * Scaled dot-product attention over [B, H, T, d] queries and [B, H, S, d] keys/values, with an
 * additive bias broadcastable to [B, H, T, S] (0 where allowed, a large negative where masked).
 * Default scale 1/sqrt(d).
 *
 * @example
 * const context = attention(q, k, v, maskBias);
 */
export function attention(queries: Tensor, keys: Tensor, values: Tensor, bias?: Tensor, scale?: number): Tensor {
  const width = queries.shape[queries.rank - 1];
  let scores = matmul(queries, keys, { transposeB: true, alpha: scale ?? 1 / Math.sqrt(width) });
  if (bias !== undefined) scores = add(scores, bias);
  return matmul(softmax(scores, -1), values);
}

/**
 * FORWARD-ONLY (no gradient; throws if an input requires one): multi-head self-attention with
 * its packed q/k/v projection as ONNX Runtime's fused com.microsoft Attention kernel. x [B, T, D]
 * times weight [D, 3D] plus bias [3D] gives q | k | v; `heads` heads of D / heads; scores
 * scaled by `scale` plus `attentionBias` [B or 1, 1, T, T] (0 allowed, a large negative masked);
 * returns the heads' contexts concatenated, [B, T, D] (no output projection).
 *
 * @example
 * const context = selfAttention(normed, qkvWeight, qkvBias, paddingBias, 4, 0.125);
 */
export function selfAttention(x: Tensor, weight: Tensor, bias: Tensor, attentionBias: Tensor, heads: number, scale: number): Tensor {
  const graph = x.graph;
  const [batch, length, width] = x.shape;
  if (!graph.contribOps || x.dtype !== 'float32') throw new O1Error('UNSUPPORTED_OP', 'selfAttention needs contrib ops and float32');
  if (x.rank !== 3 || weight.shape.join() !== `${width},${3 * width}` || bias.shape.join() !== `${3 * width}` || width % heads !== 0 ||
    attentionBias.rank !== 4 || attentionBias.shape[1] !== 1 || attentionBias.shape[2] !== length || attentionBias.shape[3] !== length || (attentionBias.shape[0] !== 1 && attentionBias.shape[0] !== batch)) {
    throw new O1Error('SHAPE_MISMATCH', `self-attention of ${shapeText(x.shape)} with weight ${shapeText(weight.shape)}, bias ${shapeText(bias.shape)}, attention bias ${shapeText(attentionBias.shape)} and ${heads} heads`);
  }
  for (const input of [x, weight, bias, attentionBias]) {
    if (input.requiresGrad && graph.taping) throw new O1Error('UNSUPPORTED_OP', `selfAttention is forward-only, but ${input.name} requires a gradient (declare inference weights with graph.input)`, { field: input.name });
  }
  // Inputs: input, weights, bias, mask_index (none), past (none), attention_bias.
  return graph.emit('Attention', [x, weight, bias, undefined, undefined, attentionBias], [{ dtype: x.dtype, shape: x.shape }], { num_heads: heads, scale: { float: scale } }, 'com.microsoft')[0];
}

// ---------------------------------------------------------------------------------------------
// Losses

/** Default ignore index, as PyTorch's cross-entropy. */
export const IGNORE_INDEX = -100;

interface LabelInfo {
  /** Labels with ignored entries replaced by 0, [N, 1]. */
  safeLabels: Tensor;
  /** 1 where the label counts, else 0, [N, 1], float. */
  weights: Tensor;
  /** max(count of counted labels, 1), scalar float. */
  count: Tensor;
}

function labelInfo(labels: Tensor, dtype: DType, ignoreIndex: number): LabelInfo {
  const graph = labels.graph;
  if (labels.dtype !== 'int64' || labels.rank !== 1) throw new O1Error('SHAPE_MISMATCH', `labels must be int64 [N], got ${labels.dtype}${shapeText(labels.shape)}`);
  return graph.untaped(() => {
    const column = reshape(labels, [labels.shape[0], 1]);
    const valid = logicalNot(compare('Equal', column, graph.scalar(ignoreIndex, 'int64')));
    const weights = cast(valid, dtype);
    const count = maximum(reduceSum(weights, [0, 1]), graph.scalar(1, dtype));
    return { safeLabels: where(valid, column, graph.scalar(0, 'int64')), weights, count };
  });
}

/**
 * Mean cross-entropy of logits [N, C] against int64 labels [N], skipping labels equal to
 * `ignoreIndex` (default -100); 0 when every label is ignored. The gradient is
 * (softmax - onehot) * weight / count, with the one-hot part a ScatterElements add.
 *
 * @example
 * const loss = crossEntropy(logits, labels); // labels -100 are skipped
 */
export function crossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  requireFloat(logits, 'CrossEntropy');
  const graph = logits.graph;
  const [rows] = logits.shape;
  if (logits.rank !== 2 || labels.shape[0] !== rows) throw new O1Error('SHAPE_MISMATCH', `cross-entropy of logits ${shapeText(logits.shape)} and labels ${shapeText(labels.shape)}`);
  const info = labelInfo(labels, logits.dtype, ignoreIndex);
  const [logProbabilities, loss] = graph.untaped(() => {
    const logp = graph.emit('LogSoftmax', [logits], [{ dtype: logits.dtype, shape: logits.shape }], { axis: 1 })[0];
    const picked = graph.emit('GatherElements', [logp, info.safeLabels], [{ dtype: logits.dtype, shape: [rows, 1] }], { axis: 1 })[0];
    return [logp, neg(div(reduceSum(mul(picked, info.weights), [0, 1]), info.count))];
  });
  graph.record('CrossEntropy', [logits], [loss], ([g]) => {
    if (g === undefined) return [undefined];
    const scale = div(mul(info.weights, g), info.count);
    const probabilities = mul(exp(logProbabilities), scale);
    return [graph.emit('ScatterElements', [probabilities, info.safeLabels, neg(scale)], [{ dtype: logits.dtype, shape: logits.shape }], { axis: 1, reduction: 'add' })[0]];
  });
  return loss;
}

/**
 * The LM head and cross-entropy in one op: mean CE of (hidden [N, D] x weight [V, D]ᵀ) against
 * labels [N] (ignoring `ignoreIndex`, default -100). Faster than {@link linear} +
 * {@link crossEntropy} because the backward never touches the [N, V] matrix elementwise: the
 * per-row loss weights are folded into the [N, D] side of the two backward Gemms, and the
 * one-hot term becomes a row gather (for the hidden gradient) and a row scatter-add (for the
 * weight gradient).
 *
 * @example
 * const loss = linearCrossEntropy(hidden, lmHeadWeight, shiftedLabels);
 */
export function linearCrossEntropy(hidden: Tensor, weight: Tensor, labels: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  requireFloat(hidden, 'LinearCrossEntropy');
  const graph = hidden.graph;
  const [rows, width] = hidden.shape;
  const vocabulary = weight.shape[0];
  if (hidden.rank !== 2 || weight.rank !== 2 || weight.shape[1] !== width || labels.shape[0] !== rows) {
    throw new O1Error('SHAPE_MISMATCH', `linear cross-entropy of hidden ${shapeText(hidden.shape)}, weight ${shapeText(weight.shape)}, labels ${shapeText(labels.shape)}`);
  }
  const info = labelInfo(labels, hidden.dtype, ignoreIndex);
  const [probabilities, loss] = graph.untaped(() => {
    const logits = emitMatmul(hidden, weight, false, true, 1, [rows, vocabulary]);
    const softmaxed = graph.emit('Softmax', [logits], [{ dtype: hidden.dtype, shape: logits.shape }], { axis: 1 })[0];
    // log-sum-exp = max logit − log(max probability): exact (the largest probability is at least
    // 1/V, so its log never underflows) and two fast ReduceMax passes instead of ORT's slow
    // ReduceLogSumExp.
    const rowSpec = [{ dtype: hidden.dtype, shape: [rows, 1] }];
    const maxLogit = graph.emit('ReduceMax', [logits], rowSpec, { axes: [1], keepdims: 1 })[0];
    const maxProbability = graph.emit('ReduceMax', [softmaxed], rowSpec, { axes: [1], keepdims: 1 })[0];
    const logSumExp = graph.emit('Sub', [maxLogit, graph.emit('Log', [maxProbability], rowSpec)[0]], rowSpec)[0];
    const picked = graph.emit('GatherElements', [logits, info.safeLabels], [{ dtype: hidden.dtype, shape: [rows, 1] }], { axis: 1 })[0];
    return [softmaxed, div(reduceSum(mul(sub(logSumExp, picked), info.weights), [0, 1]), info.count)];
  });
  graph.record('LinearCrossEntropy', [hidden, weight], [loss], ([g], needs) => {
    if (g === undefined) return [undefined, undefined];
    const scale = div(mul(info.weights, g), info.count);
    const labelRows = reshape(info.safeLabels, [rows]);
    let gradHidden: Tensor | undefined;
    let gradWeight: Tensor | undefined;
    if (needs[0]) gradHidden = mul(scale, sub(matmul(probabilities, weight), gather(weight, labelRows)));
    if (needs[1]) {
      const scaledHidden = mul(hidden, scale);
      // Pᵀ·(sH) transposes the big [N, V] operand inside the Gemm; (sH)ᵀ·P transposes the small
      // one and the [D, V] result once.
      const product =
        matmulTuning.headGradient === 'transposed'
          ? transpose(matmul(scaledHidden, probabilities, { transposeA: true }), [1, 0])
          : matmul(probabilities, scaledHidden, { transposeA: true });
      gradWeight = scatterAddRows(product, labelRows, neg(scaledHidden));
    }
    return [gradHidden, gradWeight];
  });
  return loss;
}

/** Options for {@link infoNce}. */
export interface InfoNceOptions {
  /** Documents per query: the first is the positive, the rest hard negatives. */
  groupSize: number;
  /** Softmax temperature. Default 0.02 (the O1 Embedder recipe). */
  temperature?: number;
}

/**
 * InfoNCE as FlagEmbedding computes it: queries [Q, D] against documents [Q * G, D] (both
 * usually L2-normalised), scores = q·dᵀ / temperature over all Q * G documents (the query's own
 * positive and hard negatives and every other query's documents as in-batch negatives), and
 * cross-entropy with target index i * G for query i.
 *
 * @example
 * const loss = infoNce(l2Normalize(queryEmbeddings), l2Normalize(documentEmbeddings), { groupSize: 16 });
 */
export function infoNce(queries: Tensor, documents: Tensor, options: InfoNceOptions): Tensor {
  const [count, width] = queries.shape;
  const groupSize = options.groupSize;
  if (queries.rank !== 2 || documents.rank !== 2 || documents.shape[0] !== count * groupSize || documents.shape[1] !== width) {
    throw new O1Error('SHAPE_MISMATCH', `InfoNCE of queries ${shapeText(queries.shape)} and documents ${shapeText(documents.shape)} with group size ${groupSize}`);
  }
  const scores = matmul(queries, documents, { transposeB: true, alpha: 1 / (options.temperature ?? 0.02) });
  const targets = queries.graph.constant(BigInt64Array.from({ length: count }, (_, index) => BigInt(index * groupSize)), [count], 'int64');
  return crossEntropy(scores, targets);
}

/**
 * FlagEmbedding's knowledge-distillation term (kd_loss_type 'kl_div'): per query, the student's
 * scores over its own group only (q·d / temperature for its G documents, positive first), and
 * the cross-entropy of the teacher distribution against them:
 * -Σ_j target[i, j] · log_softmax(student[i])_j, which is KL(teacher ‖ student) up to the
 * teacher's entropy, a constant. Rows are combined as Σ_i rowWeights[i] · term_i, so weights
 * 1/Q give FlagEmbedding's mean, and weight 0 leaves out a query without teacher scores.
 * `targets` [Q, G] are the teacher's probabilities (softmax of its scores), `rowWeights` [Q].
 *
 * @example
 * const loss = groupDistillation(queries, documents, graph.input('teacher_targets', 'float32', [4, 16]), graph.input('teacher_weights', 'float32', [4]), { groupSize: 16 });
 */
export function groupDistillation(queries: Tensor, documents: Tensor, targets: Tensor, rowWeights: Tensor, options: InfoNceOptions): Tensor {
  const [count, width] = queries.shape;
  const groupSize = options.groupSize;
  if (queries.rank !== 2 || documents.rank !== 2 || documents.shape[0] !== count * groupSize || documents.shape[1] !== width ||
    targets.rank !== 2 || targets.shape[0] !== count || targets.shape[1] !== groupSize || rowWeights.rank !== 1 || rowWeights.shape[0] !== count) {
    throw new O1Error('SHAPE_MISMATCH', `distillation of queries ${shapeText(queries.shape)}, documents ${shapeText(documents.shape)}, targets ${shapeText(targets.shape)} and row weights ${shapeText(rowWeights.shape)} with group size ${groupSize}`);
  }
  const local = reduceSum(mul(reshape(queries, [count, 1, width]), reshape(documents, [count, groupSize, width])), [2]);
  const logProbabilities = logSoftmax(mul(local, 1 / (options.temperature ?? 0.02)), -1);
  const perQuery = neg(reduceSum(mul(logProbabilities, targets), [1]));
  return reduceSum(mul(perQuery, rowWeights), [0]);
}
