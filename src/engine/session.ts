/**
 * Running graphs on ONNX Runtime: one InferenceSession per serialised graph, a cache of them
 * keyed by bucket (batch, length, ...), and the thread-count default.
 */
import ort from 'onnxruntime-node';
import { O1Error } from '../errors.js';
import type { DType, Graph } from './graph.js';
import type { TensorData } from './onnx.js';

/**
 * Default intra-op thread count: 1 under CI (shared runners, where 2 threads were measured to be
 * slower than 1 when the machine is busy), else 2 (this project's machines have 2 cores).
 *
 * @example
 * const compiled = await compileGraph(graph, { threads: defaultThreadCount() });
 */
export function defaultThreadCount(): number {
  return process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' ? 1 : 2;
}

/** Options for {@link compileGraph}. */
export interface CompileOptions {
  /** intraOpNumThreads. Default {@link defaultThreadCount}(). */
  threads?: number;
  /** ONNX Runtime graph optimisation level. Default 'all'. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Write ORT's per-node profile (a JSON file with this prefix). Default off. */
  profilePrefix?: string;
  /**
   * ONNX Runtime's CPU memory arena (enableCpuMemArena). Each session keeps its own arena, which
   * grows to the session's peak and is not returned, so many sessions (one per bucket) add up;
   * false allocates per run instead. Default true.
   */
  enableCpuMemArena?: boolean;
}

/** Host arrays accepted as feeds. */
export type HostData = TensorData | Int32Array;

/** A graph compiled to an ONNX Runtime session, with its declared inputs and outputs. */
export class CompiledGraph {
  constructor(
    readonly session: ort.InferenceSession,
    readonly inputs: ReadonlyMap<string, { dtype: DType; shape: readonly number[] }>,
    readonly outputs: ReadonlyMap<string, { dtype: DType; shape: readonly number[] }>,
  ) {}

  /**
   * Wraps a host array as a feed for input `name` (no copy for matching typed arrays).
   * Throws SHAPE_MISMATCH when the length does not match the declared shape.
   */
  tensor(name: string, data: HostData): ort.Tensor {
    const info = this.inputs.get(name) ?? this.outputs.get(name);
    if (info === undefined) throw new O1Error('SHAPE_MISMATCH', `graph has no input or output named ${name}`, { field: name });
    const size = info.shape.reduce((product, dimension) => product * dimension, 1);
    if (data.length !== size) throw new O1Error('SHAPE_MISMATCH', `${name} needs ${size} values for shape [${info.shape.join(', ')}], got ${data.length}`, { field: name });
    return new ort.Tensor(info.dtype === 'float64' ? 'float64' : info.dtype === 'float32' ? 'float32' : info.dtype === 'int64' ? 'int64' : 'bool', data as never, [...info.shape]);
  }

  /**
   * Runs the session. `feeds` maps input names to ort tensors or host arrays; `preallocated`
   * optionally maps output names to tensors ORT writes into (avoids per-step allocations).
   */
  async run(feeds: Record<string, ort.Tensor | HostData>, preallocated?: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, value] of Object.entries(feeds)) ortFeeds[name] = ArrayBuffer.isView(value) ? this.tensor(name, value as HostData) : (value as ort.Tensor);
    for (const name of this.inputs.keys()) if (ortFeeds[name] === undefined) throw new O1Error('SHAPE_MISMATCH', `missing feed ${name}`, { field: name });
    if (preallocated === undefined) return (await this.session.run(ortFeeds)) as Record<string, ort.Tensor>;
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const name of this.outputs.keys()) fetches[name] = preallocated[name] ?? null;
    return (await this.session.run(ortFeeds, fetches as never)) as Record<string, ort.Tensor>;
  }
}

/**
 * Serialises a graph and creates an ONNX Runtime session for it (sequential execution,
 * `threads` intra-op threads, 1 inter-op thread).
 *
 * @example
 * const compiled = await compileGraph(graph, { threads: 1 });
 * const outputs = await compiled.run({ x: new Float32Array([1, 2, 3]) });
 */
export async function compileGraph(graph: Graph, options: CompileOptions = {}): Promise<CompiledGraph> {
  const bytes = graph.toOnnx();
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.threads ?? defaultThreadCount(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: options.optimization ?? 'all',
    enableCpuMemArena: options.enableCpuMemArena ?? true,
  };
  if (options.profilePrefix !== undefined) {
    sessionOptions.enableProfiling = true;
    sessionOptions.profileFilePrefix = options.profilePrefix;
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (error) {
    throw new O1Error('UNSUPPORTED_OP', `ONNX Runtime rejected graph ${graph.name}: ${String(error)}`, {}, { cause: error });
  }
  const inputs = new Map(graph.inputs.map(({ tensor }) => [tensor.name, { dtype: tensor.dtype, shape: tensor.shape }]));
  const outputs = new Map(graph.outputs.map(({ tensor, name }) => [name, { dtype: tensor.dtype, shape: tensor.shape }]));
  return new CompiledGraph(session, inputs, outputs);
}

/** A bucket: the static dimensions one compiled graph serves. */
export interface BucketKey {
  batch: number;
  length: number;
  /** Anything else the graph's shapes depend on (e.g. a past length for a KV cache). */
  extra?: string;
}

/**
 * Compiled graphs by bucket, built on first use. Session creation costs 40-120 ms, so a
 * training or inference loop keeps one per (batch, sequence-length) bucket.
 *
 * @example
 * const cache = new SessionCache((key) => buildMyGraph(key.batch, key.length), { threads: 2 });
 * const compiled = await cache.get({ batch: 8, length: 128 });
 */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<CompiledGraph>>();

  constructor(
    private readonly build: (key: BucketKey) => Graph,
    private readonly options: CompileOptions = {},
  ) {}

  /** The compiled graph for a bucket (built and compiled once). */
  get(key: BucketKey): Promise<CompiledGraph> {
    const text = `${key.batch}x${key.length}${key.extra === undefined ? '' : `|${key.extra}`}`;
    let compiled = this.sessions.get(text);
    if (compiled === undefined) {
      compiled = compileGraph(this.build(key), this.options);
      this.sessions.set(text, compiled);
      compiled.catch(() => this.sessions.delete(text));
    }
    return compiled;
  }

  /** Number of buckets compiled or compiling. */
  get size(): number {
    return this.sessions.size;
  }

  /** Releases every session. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map(async (compiled) => (await compiled).session.release()));
  }
}
