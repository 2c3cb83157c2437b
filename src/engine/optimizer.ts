/**
 * Optimisation on host Float32Arrays: AdamW (decoupled weight decay, PyTorch semantics) as one
 * fused loop per tensor, learning-rate schedules, global-norm clipping and gradient
 * accumulation over micro-batches.
 */
import { O1Error } from '../errors.js';
import { sumOfSquares } from '../util/vectors.js';

/** Options for {@link AdamW}. */
export interface AdamWOptions {
  /** Default learning rate when a step does not pass one. Default 1e-3. */
  learningRate?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  epsilon?: number;
  /** Decoupled weight decay. Default 0.01 (PyTorch's AdamW default). */
  weightDecay?: number;
  /**
   * Which tensors decay. Default: tensors of rank >= 2 (so norms and biases do not decay,
   * the usual Hugging Face recipe).
   */
  decays?: (name: string, shape: readonly number[]) => boolean;
}

/** One trainable tensor as the optimizer sees it. */
export interface OptimizerParameter {
  data: Float32Array;
  shape: readonly number[];
}

interface Moments {
  first: Float32Array;
  second: Float32Array;
}

/**
 * AdamW exactly as torch.optim.AdamW (amsgrad off): p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g;
 * v ← β2·v + (1−β2)·g²; p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε). Updates in place; moments
 * are allocated on the first step of each tensor.
 *
 * @example
 * const optimizer = new AdamW({ learningRate: 3e-4, weightDecay: 0.1 });
 * optimizer.step(parameters, gradients, { learningRate: learningRateAt(step, schedule), gradientScale: clip.scale });
 */
export class AdamW {
  readonly options: Required<Omit<AdamWOptions, 'decays'>> & { decays: (name: string, shape: readonly number[]) => boolean };
  private readonly moments = new Map<string, Moments>();
  /** Updates done so far (t in the bias corrections). */
  stepCount = 0;

  constructor(options: AdamWOptions = {}) {
    this.options = {
      learningRate: options.learningRate ?? 1e-3,
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.999,
      epsilon: options.epsilon ?? 1e-8,
      weightDecay: options.weightDecay ?? 0.01,
      decays: options.decays ?? ((_name, shape) => shape.length >= 2),
    };
  }

  /**
   * One update of every parameter that has a gradient. `gradientScale` multiplies gradients
   * on the fly (clipping, averaging) so no extra pass over them is needed. Default learning
   * rate: the constructor's; default scale 1.
   */
  step(parameters: ReadonlyMap<string, OptimizerParameter>, gradients: ReadonlyMap<string, Float32Array>, options: { learningRate?: number; gradientScale?: number } = {}): void {
    const learningRate = options.learningRate ?? this.options.learningRate;
    const scale = options.gradientScale ?? 1;
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    this.stepCount++;
    const stepSize = learningRate / (1 - Math.pow(beta1, this.stepCount));
    const inverseCorrection = 1 / Math.sqrt(1 - Math.pow(beta2, this.stepCount));
    for (const [name, parameter] of parameters) {
      const gradient = gradients.get(name);
      if (gradient === undefined) continue;
      if (gradient.length !== parameter.data.length) throw new O1Error('SHAPE_MISMATCH', `gradient of ${name} has ${gradient.length} values, parameter ${parameter.data.length}`, { field: name });
      let moments = this.moments.get(name);
      if (moments === undefined) {
        moments = { first: new Float32Array(gradient.length), second: new Float32Array(gradient.length) };
        this.moments.set(name, moments);
      }
      const decay = this.options.decays(name, parameter.shape) ? 1 - learningRate * weightDecay : 1;
      adamwKernel(parameter.data, gradient, moments.first, moments.second, scale, beta1, beta2, stepSize, inverseCorrection, epsilon, decay);
    }
  }

  /** The moment buffers of a tensor (for checkpoints and tests). */
  momentsOf(name: string): Readonly<Moments> | undefined {
    return this.moments.get(name);
  }
}

// A separate monomorphic function so V8 optimises the hot loop once for all tensors.
function adamwKernel(
  parameter: Float32Array,
  gradient: Float32Array,
  first: Float32Array,
  second: Float32Array,
  scale: number,
  beta1: number,
  beta2: number,
  stepSize: number,
  inverseCorrection: number,
  epsilon: number,
  decay: number,
): void {
  const oneMinusBeta1 = 1 - beta1;
  const oneMinusBeta2 = 1 - beta2;
  const length = parameter.length;
  for (let index = 0; index < length; index++) {
    const g = gradient[index] * scale;
    const m = beta1 * first[index] + oneMinusBeta1 * g;
    const v = beta2 * second[index] + oneMinusBeta2 * g * g;
    first[index] = m;
    second[index] = v;
    parameter[index] = parameter[index] * decay - (stepSize * m) / (Math.sqrt(v) * inverseCorrection + epsilon);
  }
}

/** Options for {@link learningRateAt}. */
export interface ScheduleOptions {
  /** Learning rate at the end of warm-up. */
  peakLearningRate: number;
  /** Total number of updates. */
  totalSteps: number;
  /** Linear warm-up updates. Default 0. */
  warmupSteps?: number;
  /** Shape after warm-up. Default 'linear'. */
  decay?: 'linear' | 'cosine' | 'constant';
  /** Floor the decay ends at. Default 0. */
  minimumLearningRate?: number;
}

/**
 * The learning rate of update `step` (1-based: the first update is step 1): linear warm-up
 * peak·step/warmup, then linear or cosine decay from peak at the end of warm-up to the minimum
 * at `totalSteps` (and the minimum after it).
 *
 * @example
 * learningRateAt(1, { peakLearningRate: 1e-4, warmupSteps: 10, totalSteps: 100 }) // 1e-5
 */
export function learningRateAt(step: number, options: ScheduleOptions): number {
  const warmup = options.warmupSteps ?? 0;
  const minimum = options.minimumLearningRate ?? 0;
  const peak = options.peakLearningRate;
  if (step <= warmup) return (peak * step) / Math.max(1, warmup);
  const decay = options.decay ?? 'linear';
  if (decay === 'constant') return peak;
  const progress = Math.min(1, (step - warmup) / Math.max(1, options.totalSteps - warmup));
  const factor = decay === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
  return minimum + (peak - minimum) * factor;
}

/**
 * The global L2 norm of a set of gradients (accumulated in float64).
 *
 * @example
 * const norm = globalNorm(gradients.values());
 */
export function globalNorm(gradients: Iterable<Float32Array>): number {
  let sum = 0;
  for (const gradient of gradients) sum += sumOfSquares(gradient);
  return Math.sqrt(sum);
}

/**
 * Global-norm clipping as torch.nn.utils.clip_grad_norm_: the factor min(1, max / (norm + 1e-6))
 * to multiply every gradient by. Pass it to {@link AdamW.step} as `gradientScale` (no extra pass).
 * A non-positive or infinite `maxNorm` disables clipping (scale 1).
 *
 * @example
 * const { norm, scale } = clipScale(gradients.values(), 1.0);
 */
export function clipScale(gradients: Iterable<Float32Array>, maxNorm: number): { norm: number; scale: number } {
  const norm = globalNorm(gradients);
  const scale = maxNorm > 0 && Number.isFinite(maxNorm) && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  return { norm, scale };
}

/**
 * Sums gradients over micro-batches into buffers allocated once; `mean()` gives the average
 * (what one big batch gives when every micro-batch has the same number of counted tokens).
 *
 * @example
 * const accumulator = new GradientAccumulator();
 * for (const micro of microBatches) accumulator.add(await computeGradients(micro));
 * optimizer.step(parameters, accumulator.sums, { gradientScale: 1 / accumulator.count });
 */
export class GradientAccumulator {
  readonly sums = new Map<string, Float32Array>();
  count = 0;

  /** Adds one micro-batch's gradients. */
  add(gradients: ReadonlyMap<string, Float32Array>): void {
    for (const [name, gradient] of gradients) {
      let sum = this.sums.get(name);
      if (sum === undefined) {
        sum = new Float32Array(gradient.length);
        this.sums.set(name, sum);
      }
      if (this.count === 0) sum.set(gradient);
      else for (let index = 0; index < sum.length; index++) sum[index] += gradient[index];
    }
    this.count++;
  }

  /** Starts a new accumulation (keeps the buffers). */
  reset(): void {
    this.count = 0;
  }
}
