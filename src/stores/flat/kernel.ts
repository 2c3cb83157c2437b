/**
 * The flat store's scoring kernel: inner products of a block of queries against a block of
 * stored rows as one ONNX Runtime Gemm (queries · rowsᵀ, MLAS's SIMD sgemm on `threads`
 * threads). Shapes are static per session, so the store pads queries to a few block sizes and
 * keeps its rows in blocks of a fixed size; one session per (query block, row block) pair.
 */
import ort from 'onnxruntime-node';
import { Graph } from '../../engine/graph.js';
import { matmul } from '../../engine/ops.js';
import { SessionCache, defaultThreadCount, type CompiledGraph } from '../../engine/session.js';

/** Query block sizes a search is padded to (a lone query runs as a matrix-vector product). */
export const QUERY_BLOCKS = [1, 8, 32, 128] as const;

/**
 * The query block for `remaining` queries: the smallest that holds them, else the largest.
 *
 * @example
 * queryBlockFor(20) // 32
 */
export function queryBlockFor(remaining: number): number {
  return QUERY_BLOCKS.find((size) => size >= remaining) ?? QUERY_BLOCKS[QUERY_BLOCKS.length - 1];
}

/**
 * Scores query blocks against row blocks with ONNX Runtime.
 *
 * @example
 * const kernel = new InnerProductKernel(384, 2);
 * const scores = await kernel.scores(queries, 8, rows, 8192); // 8 x 8192 inner products, row-major
 * await kernel.dispose();
 */
export class InnerProductKernel {
  private readonly sessions: SessionCache;
  /** One output buffer per bucket, reused across runs (ORT writes into it). */
  private readonly outputs = new Map<string, ort.Tensor>();

  /** @param threads intra-op threads; default the engine's defaultThreadCount(). */
  constructor(readonly dimension: number, readonly threads = defaultThreadCount()) {
    this.sessions = new SessionCache(
      ({ batch, length }) => {
        const graph = new Graph({ name: `inner-product-${batch}x${length}x${dimension}` });
        const queries = graph.input('queries', 'float32', [batch, dimension]);
        const rows = graph.input('rows', 'float32', [length, dimension]);
        graph.output(matmul(queries, rows, { transposeB: true }), 'scores');
        return graph;
      },
      // The row block is a graph input (not a constant): the store's rows change between runs.
      { threads },
    );
  }

  /**
   * Inner products of `batch` queries (row-major, `batch x dimension`) with `length` rows
   * (row-major, `length x dimension`): a `batch x length` row-major view that stays valid until
   * the next call with the same shape. No copies: ORT reads the inputs in place.
   */
  async scores(queries: Float32Array, batch: number, rows: Float32Array, length: number): Promise<Float32Array> {
    const compiled: CompiledGraph = await this.sessions.get({ batch, length });
    const key = `${batch}x${length}`;
    let output = this.outputs.get(key);
    if (output === undefined) {
      output = new ort.Tensor('float32', new Float32Array(batch * length), [batch, length]);
      this.outputs.set(key, output);
    }
    await compiled.run(
      {
        queries: new ort.Tensor('float32', queries, [batch, this.dimension]),
        rows: new ort.Tensor('float32', rows, [length, this.dimension]),
      },
      { scores: output },
    );
    return output.data as Float32Array;
  }

  /** Number of compiled sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Releases every session. */
  async dispose(): Promise<void> {
    this.outputs.clear();
    await this.sessions.dispose();
  }
}
