/**
 * Gradient checking: compares the autodiff gradients of a graph with central finite
 * differences, both computed by ONNX Runtime on the same graph.
 */
import { O1Error } from '../errors.js';
import { gradients } from './autodiff.js';
import { Graph, type DType, type Tensor } from './graph.js';
import { mul, reduceSum } from './ops.js';
import { SeededRandom } from '../util/random.js';
import { compileGraph, type HostData } from './session.js';

/** What a gradient-check build function returns. */
export interface GradientCheckBuild {
  /** The tensor whose (randomly weighted) sum is differentiated. */
  output: Tensor;
  /** Values for the graph's data inputs (ids, labels, masks). */
  feeds?: Record<string, HostData>;
}

/** Options for {@link checkGradients}. */
export interface GradientCheckOptions {
  /** Float type the check runs in. Default 'float64'. */
  dtype?: 'float32' | 'float64';
  /** Finite-difference step. Default 1e-6 for float64, 1e-2 for float32. */
  epsilon?: number;
  /** Largest allowed relative error ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖). Default 1e-4. */
  tolerance?: number;
  /** Seed for parameter values and the output weighting. Default 1. */
  seed?: number;
  /** Initial values by parameter name (default: standard normal). */
  initial?: Record<string, (random: SeededRandom, index: number) => number>;
  /** Allow contrib ops. Default true. */
  contribOps?: boolean;
}

/** Per-parameter result of {@link checkGradients}. */
export interface GradientCheckResult {
  maxRelativeError: number;
  relativeErrors: Record<string, number>;
}

/**
 * Builds `build(graph, dtype)` in the given float type, weights its output by fixed random
 * numbers, sums it, and checks d(sum)/d(parameter) of every parameter against central finite
 * differences. Throws GRADIENT_CHECK_FAILED when a relative error exceeds the tolerance.
 *
 * @example
 * await checkGradients((graph, dtype) => ({ output: exp(graph.parameter('x', [3], dtype)) }));
 */
export async function checkGradients(build: (graph: Graph, dtype: DType) => GradientCheckBuild, options: GradientCheckOptions = {}): Promise<GradientCheckResult> {
  const dtype = options.dtype ?? 'float64';
  const epsilon = options.epsilon ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const tolerance = options.tolerance ?? 1e-4;
  const random = new SeededRandom(options.seed ?? 1);
  const graph = new Graph({ name: 'gradient-check', contribOps: options.contribOps ?? true });
  const { output, feeds = {} } = build(graph, dtype);
  const weightValues = Array.from({ length: output.size }, () => random.normal());
  const weights = graph.constant(dtype === 'float64' ? Float64Array.from(weightValues) : Float32Array.from(weightValues), output.shape, dtype);
  const loss = reduceSum(mul(output, weights), output.shape.map((_, index) => index));
  const parameters = graph.parameters;
  const grads = gradients(loss, parameters);
  graph.output(loss, 'loss');
  grads.forEach((grad, index) => graph.output(grad, `grad.${parameters[index].name}`));
  const compiled = await compileGraph(graph, { threads: 1 });

  const values = new Map<string, Float64Array | Float32Array>();
  for (const parameter of parameters) {
    const init = options.initial?.[parameter.name];
    const data = dtype === 'float64' ? new Float64Array(parameter.size) : new Float32Array(parameter.size);
    for (let index = 0; index < data.length; index++) data[index] = init ? init(random, index) : random.normal();
    values.set(parameter.name, data);
  }
  const allFeeds = (): Record<string, HostData> => ({ ...feeds, ...Object.fromEntries(values) });
  const evaluate = async (): Promise<number> => Number((await compiled.run(allFeeds()))['loss'].data[0]);

  const base = await compiled.run(allFeeds());
  const relativeErrors: Record<string, number> = {};
  for (const parameter of parameters) {
    const analytic = base[`grad.${parameter.name}`].data as Float64Array | Float32Array;
    const data = values.get(parameter.name)!;
    let differenceSquares = 0;
    let analyticSquares = 0;
    let numericSquares = 0;
    for (let index = 0; index < data.length; index++) {
      const original = data[index];
      data[index] = original + epsilon;
      const plus = await evaluate();
      data[index] = original - epsilon;
      const minus = await evaluate();
      data[index] = original;
      const numeric = (plus - minus) / (2 * epsilon);
      differenceSquares += (analytic[index] - numeric) ** 2;
      analyticSquares += analytic[index] ** 2;
      numericSquares += numeric ** 2;
    }
    const scale = Math.sqrt(Math.max(analyticSquares, numericSquares));
    relativeErrors[parameter.name] = scale === 0 ? 0 : Math.sqrt(differenceSquares) / scale;
  }
  await compiled.session.release();
  const maxRelativeError = Math.max(0, ...Object.values(relativeErrors));
  if (!(maxRelativeError <= tolerance)) {
    throw new O1Error('GRADIENT_CHECK_FAILED', `relative error ${maxRelativeError.toExponential(2)} > ${tolerance} (${JSON.stringify(relativeErrors)})`);
  }
  return { maxRelativeError, relativeErrors };
}
