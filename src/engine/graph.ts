/**
 * The typed graph builder: symbolic tensors with a static shape and dtype, ONNX node emission,
 * and the tape that reverse-mode autodiff walks. Ops live in ops.ts; each one emits ONNX nodes
 * and records, on the tape, how to emit its gradient.
 */
import { O1Error } from '../errors.js';
import { encodeOnnxModel, type AttributeValue, type DType, type OnnxNode, type OnnxTensor, type OnnxValueInfo, type TensorData } from './onnx.js';

export type { DType } from './onnx.js';

/**
 * A symbolic tensor: a named value of a {@link Graph} with a static shape.
 *
 * @example
 * const x = graph.input('x', 'float32', [2, 3]); x.shape // [2, 3]
 */
export class Tensor {
  /** Whether a gradient can flow to this tensor from a loss (set by parameters and propagated by ops). */
  requiresGrad = false;

  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: readonly number[],
  ) {}

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((product, dimension) => product * dimension, 1);
  }

  /** True for float32 and float64. */
  get isFloat(): boolean {
    return this.dtype === 'float32' || this.dtype === 'float64';
  }
}

/**
 * Emits the gradients of an op's inputs given its outputs' gradients. `outputGrads[i]` is
 * undefined when nothing depends on output i; `needs[j]` says whether input j wants a gradient.
 */
export type BackwardRule = (outputGrads: readonly (Tensor | undefined)[], needs: readonly boolean[]) => readonly (Tensor | undefined)[];

/** One tape entry: an op application that a gradient can flow through. */
export interface TapeEntry {
  opType: string;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[];
  backward: BackwardRule;
}

/** Options for {@link Graph}. */
export interface GraphOptions {
  /** Model name written into the ONNX file. Default 'o1-engine'. */
  name?: string;
  /**
   * Allow ONNX Runtime contrib ops (com.microsoft FusedMatMul), which avoid materialised
   * transposes. Default true; set false to emit standard ONNX only.
   */
  contribOps?: boolean;
}

/** Where a graph input comes from. */
export type InputKind = 'data' | 'parameter';

/**
 * A graph under construction.
 *
 * @example
 * const graph = new Graph();
 * const x = graph.parameter('x', [2, 3]);
 * const y = reduceSum(mul(x, x), [0, 1]);   // from ops.ts
 * graph.output(y, 'loss');
 * const [gradient] = gradients(y, [x]);     // from autodiff.ts
 * graph.output(gradient, 'grad.x');
 * const bytes = graph.toOnnx();
 */
export class Graph {
  readonly name: string;
  readonly contribOps: boolean;
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly inputs: { tensor: Tensor; kind: InputKind }[] = [];
  readonly outputs: { tensor: Tensor; name: string }[] = [];
  readonly tape: TapeEntry[] = [];
  /** False while composite ops emit their inner nodes and while gradients are emitted. */
  taping = true;
  private counter = 0;
  private readonly names = new Set<string>();
  private readonly constantCache = new Map<string, Tensor>();
  private usesContribDomain = false;

  constructor(options: GraphOptions = {}) {
    this.name = options.name ?? 'o1-engine';
    this.contribOps = options.contribOps ?? true;
  }

  /** A fresh unique value name with a readable prefix. */
  freshName(prefix = 't'): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.names.has(name)) name = `${prefix}_${this.counter++}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new O1Error('SHAPE_MISMATCH', `graph value name ${name} is used twice`, { field: name });
    this.names.add(name);
  }

  /** Declares a data input (ids, masks, labels). Never requires a gradient. */
  input(name: string, dtype: DType, shape: readonly number[]): Tensor {
    this.claim(name);
    const tensor = new Tensor(this, name, dtype, [...shape]);
    this.inputs.push({ tensor, kind: 'data' });
    return tensor;
  }

  /** Declares a trainable parameter: a float graph input that gradients flow to. Default dtype float32. */
  parameter(name: string, shape: readonly number[], dtype: DType = 'float32'): Tensor {
    this.claim(name);
    const tensor = new Tensor(this, name, dtype, [...shape]);
    tensor.requiresGrad = true;
    this.inputs.push({ tensor, kind: 'parameter' });
    return tensor;
  }

  /** The declared parameters, in declaration order. */
  get parameters(): Tensor[] {
    return this.inputs.filter((input) => input.kind === 'parameter').map((input) => input.tensor);
  }

  /** A constant (initializer). Equal small constants are shared. */
  constant(data: TensorData, shape: readonly number[], dtype: DType, name?: string): Tensor {
    const cacheKey = name === undefined && data.length <= 64 ? `${dtype}|${shape.join(',')}|${Array.from(data as ArrayLike<number | bigint>, String).join(',')}` : undefined;
    if (cacheKey !== undefined) {
      const cached = this.constantCache.get(cacheKey);
      if (cached !== undefined) return cached;
    }
    const expected = shape.reduce((product, dimension) => product * dimension, 1);
    if (data.length !== expected) throw new O1Error('SHAPE_MISMATCH', `constant has ${data.length} values for shape [${shape.join(', ')}]`);
    const tensorName = name ?? this.freshName('const');
    if (name !== undefined) this.claim(name);
    this.initializers.push({ name: tensorName, dtype, shape: [...shape], data });
    const tensor = new Tensor(this, tensorName, dtype, [...shape]);
    if (cacheKey !== undefined) this.constantCache.set(cacheKey, tensor);
    return tensor;
  }

  /** A scalar (shape []) constant of the given dtype. */
  scalar(value: number, dtype: DType): Tensor {
    return this.constant(hostArray(dtype, [value]), [], dtype);
  }

  /** An int64 vector constant (shapes, axes, indices). */
  int64s(values: readonly number[]): Tensor {
    return this.constant(BigInt64Array.from(values, (value) => BigInt(value)), [values.length], 'int64');
  }

  /**
   * Emits one ONNX node (no tape entry) and returns its output tensors. Low level: ops.ts wraps
   * this with shape checks and backward rules.
   */
  emit(
    opType: string,
    inputs: readonly (Tensor | undefined)[],
    outputSpecs: readonly { dtype: DType; shape: readonly number[] }[],
    attributes: Record<string, AttributeValue> = {},
    domain?: string,
  ): Tensor[] {
    const outputs = outputSpecs.map((spec) => new Tensor(this, this.freshName(opType.toLowerCase()), spec.dtype, [...spec.shape]));
    if (domain === 'com.microsoft') this.usesContribDomain = true;
    this.nodes.push({
      opType,
      domain,
      name: this.freshName(`node_${opType}`),
      inputs: inputs.map((input) => input?.name ?? ''),
      outputs: outputs.map((output) => output.name),
      attributes,
    });
    return outputs;
  }

  /** Records an op on the tape when taping and some input requires a gradient; marks float outputs. */
  record(opType: string, inputs: readonly Tensor[], outputs: readonly Tensor[], backward: BackwardRule): void {
    if (!this.taping || !inputs.some((input) => input.requiresGrad)) return;
    for (const output of outputs) if (output.isFloat) output.requiresGrad = true;
    this.tape.push({ opType, inputs, outputs, backward });
  }

  /** Runs `build` with taping off: for a composite op's inner nodes, whose gradient is one rule. */
  untaped<T>(build: () => T): T {
    const previous = this.taping;
    this.taping = false;
    try {
      return build();
    } finally {
      this.taping = previous;
    }
  }

  /** Marks a tensor as a graph output under `name` (an Identity node renames it). */
  output(tensor: Tensor, name: string): void {
    this.claim(name);
    const isInput = this.inputs.some((input) => input.tensor === tensor);
    const isInitializer = this.initializers.some((initializer) => initializer.name === tensor.name);
    const alreadyOutput = this.outputs.some((output) => output.tensor === tensor);
    if (isInput || isInitializer || alreadyOutput || tensor.name !== name) {
      this.nodes.push({ opType: 'Identity', name: this.freshName('node_Identity'), inputs: [tensor.name], outputs: [name], attributes: {} });
    }
    this.outputs.push({ tensor: new Tensor(this, name, tensor.dtype, tensor.shape), name });
  }

  /** Graph input declarations. */
  get inputInfos(): OnnxValueInfo[] {
    return this.inputs.map(({ tensor }) => ({ name: tensor.name, dtype: tensor.dtype, shape: tensor.shape }));
  }

  /** Serialises the graph (forward and any emitted backward nodes) to ONNX bytes. */
  toOnnx(): Uint8Array {
    return encodeOnnxModel({
      name: this.name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputInfos,
      outputs: this.outputs.map(({ tensor, name }) => ({ name, dtype: tensor.dtype, shape: tensor.shape })),
      extraDomains: this.usesContribDomain ? [{ domain: 'com.microsoft', version: 1 }] : [],
    });
  }
}

/**
 * A host array of the dtype's element type holding `values`.
 *
 * @example
 * hostArray('int64', [1, 2]) // BigInt64Array [1n, 2n]
 */
export function hostArray(dtype: DType, values: readonly number[]): TensorData {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(values, (value) => BigInt(value));
    case 'bool':
      return Uint8Array.from(values, (value) => (value !== 0 ? 1 : 0));
  }
}
