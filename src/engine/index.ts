/**
 * The training/inference engine: a typed graph builder with reverse-mode autodiff, serialised to
 * ONNX and run by ONNX Runtime, plus AdamW and friends.
 *
 * @example
 * import { Graph, gradients, compileGraph, matmul, reduceMean, mul } from './engine/index.js';
 * const graph = new Graph();
 * const w = graph.parameter('w', [4, 2]);
 * const x = graph.input('x', 'float32', [3, 4]);
 * const y = matmul(x, w);
 * const loss = reduceMean(mul(y, y), [0, 1]);
 * const [gradW] = gradients(loss, [w]);
 * graph.output(loss, 'loss');
 * graph.output(gradW, 'grad.w');
 * const compiled = await compileGraph(graph);
 * const out = await compiled.run({ x: new Float32Array(12).fill(1), w: new Float32Array(8).fill(0.5) });
 */
export * from './graph.js';
export * from './ops.js';
export * from './autodiff.js';
export * from './session.js';
export * from './optimizer.js';
export * from './arena.js';
export * from '../util/random.js';
export * from './gradient-check.js';
export { encodeOnnxModel, ONNX_OPSET, ONNX_IR_VERSION, type OnnxModel, type OnnxNode, type OnnxTensor, type AttributeValue, type TensorData } from './onnx.js';
