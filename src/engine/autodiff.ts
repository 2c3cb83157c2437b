/**
 * Reverse-mode autodiff over the graph's tape: walks the recorded ops from last to first,
 * calls each op's backward rule and sums gradients where a tensor fans out.
 */
import { O1Error } from '../errors.js';
import type { Tensor } from './graph.js';
import { add, zeros } from './ops.js';

/**
 * Emits the gradient of `loss` with respect to each tensor of `wrt` into loss's graph and
 * returns them (a zero tensor for one the loss does not depend on). `loss` must be a scalar
 * unless `seed` (the gradient of some scalar with respect to loss) is given. Call it once per
 * graph, after the forward pass is built.
 *
 * @example
 * const x = graph.parameter('x', [3]);
 * const loss = reduceSum(mul(x, x), [0]);
 * const [gradX] = gradients(loss, [x]);   // 2x
 * graph.output(gradX, 'grad.x');
 */
export function gradients(loss: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  const graph = loss.graph;
  if (seed === undefined && loss.size !== 1) throw new O1Error('SHAPE_MISMATCH', `gradients needs a scalar loss or a seed, got shape [${loss.shape.join(', ')}]`);
  const wanted = new Set<Tensor>(wrt);
  // A tensor is relevant when a wanted tensor lies upstream of it: only those need gradients.
  const relevant = new Set<Tensor>(wrt);
  for (const entry of graph.tape) {
    if (entry.inputs.some((input) => relevant.has(input))) for (const output of entry.outputs) relevant.add(output);
  }
  const grads = new Map<Tensor, Tensor>();
  const previousTaping = graph.taping;
  graph.taping = false;
  try {
    grads.set(loss, seed ?? graph.scalar(1, loss.dtype));
    for (let index = graph.tape.length - 1; index >= 0; index--) {
      const entry = graph.tape[index];
      const outputGrads = entry.outputs.map((output) => grads.get(output));
      if (outputGrads.every((grad) => grad === undefined)) continue;
      const needs = entry.inputs.map((input) => input.requiresGrad && relevant.has(input));
      if (!needs.some(Boolean)) continue;
      const inputGrads = entry.backward(outputGrads, needs);
      entry.inputs.forEach((input, inputIndex) => {
        const grad = inputGrads[inputIndex];
        if (!needs[inputIndex] || grad === undefined) return;
        if (grad.shape.length !== input.shape.length || grad.shape.some((dimension, axis) => dimension !== input.shape[axis])) {
          throw new O1Error('SHAPE_MISMATCH', `${entry.opType} backward gave [${grad.shape.join(', ')}] for input [${input.shape.join(', ')}]`, { field: input.name });
        }
        const existing = grads.get(input);
        grads.set(input, existing === undefined ? grad : add(existing, grad));
      });
      // Free the map entries no one reads any more (keeps the graph walk linear).
      for (const output of entry.outputs) if (!wanted.has(output)) grads.delete(output);
    }
    return wrt.map((tensor) => grads.get(tensor) ?? zeros(graph, tensor.shape, tensor.dtype));
  } finally {
    graph.taping = previousTaping;
  }
}
