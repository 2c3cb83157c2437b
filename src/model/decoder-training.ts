/**
 * Training a decoder: one compiled forward+backward graph per (batch, length) bucket, fed the
 * WeightMap's Float32Arrays directly, and AdamW updating them in place.
 */
import ort from 'onnxruntime-node';
import { O1Error } from '../errors.js';
import { arenaSupported, ParameterArena } from '../engine/arena.js';
import { AdamW, clipScale, GradientAccumulator, learningRateAt, type AdamWOptions, type ScheduleOptions } from '../engine/optimizer.js';
import { SessionCache, type CompiledGraph } from '../engine/session.js';
import { buildTrainingGraph, type TrainingGraphOptions } from './decoder-graph.js';
import type { DecoderConfig, WeightMap } from './types.js';

/** Options for {@link createTrainingStep}. */
export interface TrainingStepOptions extends Omit<TrainingGraphOptions, 'dtype'> {
  /** ONNX Runtime intra-op threads. Default: 1 under CI, else 2. */
  threads?: number;
  /** AdamW settings. Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 on rank >= 2 tensors. */
  optimizer?: AdamWOptions;
  /** Learning-rate schedule; without one the optimizer's learning rate is used throughout. */
  schedule?: ScheduleOptions;
  /** Global gradient-norm clip. Default 1.0 (Hugging Face Trainer's); 0 or Infinity disables. */
  maxGradientNorm?: number;
  /**
   * Keep trainable weights, moments and gradients in a WebAssembly arena and run AdamW as a SIMD
   * kernel. Default true where WebAssembly SIMD exists. The WeightMap's tensors are re-pointed
   * at the arena (same values, updated in place by every step).
   */
  fusedOptimizer?: boolean;
}

/** One (micro-)batch: row-major int64 [B, T] arrays, left-padded. */
export interface TrainingBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  /** Aligned with inputIds (-100 where not supervised); needed by 'generation' and 'joint'. */
  labels?: BigInt64Array;
  /** Tokens per row. Default: the step's `length`. */
  length?: number;
  /** With `distillation`: the teacher's probabilities, float [Q × groupSize], row-major. */
  teacherTargets?: Float32Array;
  /** With `distillation`: per query 1/(queries with teacher scores in the batch), else 0. */
  teacherWeights?: Float32Array;
}

/** Losses of one (micro-)batch. */
export interface BatchLosses {
  loss: number;
  generationLoss?: number;
  contrastiveLoss?: number;
  /** The distillation part of contrastiveLoss (when the graph has one). */
  distillationLoss?: number;
}

/** What one optimisation step reports. */
export interface StepResult extends BatchLosses {
  /** Global norm of the (averaged) gradient before clipping. */
  gradientNorm: number;
  learningRate: number;
  /** Updates done so far, this one included. */
  step: number;
}

interface Bucket {
  compiled: CompiledGraph;
  /** Trainable parameter names and shapes (the graph's `grad.*` outputs). */
  trainable: [string, readonly number[]][];
}

/**
 * A decoder training step: forward, backward, clipping and AdamW, with micro-batch gradient
 * accumulation. Create with {@link createTrainingStep}.
 */
export class TrainingStep {
  readonly optimizer: AdamW;
  private readonly sessions: SessionCache;
  private readonly buckets = new Map<string, Promise<Bucket>>();
  private readonly parameterTensors = new WeakMap<Float32Array, ort.Tensor>();
  private readonly accumulator = new GradientAccumulator();
  /** The fused optimizer's memory, created on the first step (undefined when not fused). */
  arena: ParameterArena | undefined;
  /** The HostTensors currently pointing into the arena, by name. */
  private readonly adopted = new Map<string, { data: Float32Array }>();

  constructor(
    readonly config: DecoderConfig,
    readonly options: TrainingStepOptions,
  ) {
    this.optimizer = new AdamW(options.optimizer);
    this.sessions = new SessionCache((key) => buildTrainingGraph(config, { ...options, batch: key.batch, length: key.length }), { threads: options.threads });
  }

  private bucket(batch: number, length: number): Promise<Bucket> {
    const key = `${batch}x${length}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = this.sessions.get({ batch, length }).then((compiled) => {
        const trainable: [string, readonly number[]][] = [];
        for (const [name, info] of compiled.outputs) if (name.startsWith('grad.')) trainable.push([name.slice(5), info.shape]);
        return { compiled, trainable };
      });
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private parameterTensor(name: string, weights: WeightMap): ort.Tensor {
    const weight = weights.get(name);
    if (weight === undefined) throw new O1Error('MISSING_TENSOR', `weights lack ${name}`, { field: name });
    let tensor = this.parameterTensors.get(weight.data);
    if (tensor === undefined) {
      // Wraps the Float32Array without copying: AdamW's in-place updates are seen by the next run.
      tensor = new ort.Tensor('float32', weight.data, [...weight.shape]);
      this.parameterTensors.set(weight.data, tensor);
    }
    return tensor;
  }

  /**
   * Forward and backward on one batch without updating anything. Gradients are ONNX Runtime's
   * output arrays (fresh each call).
   */
  async computeGradients(batch: TrainingBatch, weights: WeightMap): Promise<{ losses: BatchLosses; gradients: Map<string, Float32Array> }> {
    const length = batch.length ?? this.options.length;
    const rows = batch.inputIds.length / length;
    if (!Number.isInteger(rows) || batch.attentionMask.length !== batch.inputIds.length) {
      throw new O1Error('SHAPE_MISMATCH', `batch of ${batch.inputIds.length} ids and ${batch.attentionMask.length} mask values does not fit length ${length}`);
    }
    const bucket = await this.bucket(rows, length);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.inputIds, [rows, length]),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, [rows, length]),
    };
    if (bucket.compiled.inputs.has('labels')) {
      if (batch.labels === undefined || batch.labels.length !== batch.inputIds.length) throw new O1Error('SHAPE_MISMATCH', 'this loss needs labels shaped like input_ids', { field: 'labels' });
      feeds['labels'] = new ort.Tensor('int64', batch.labels, [rows, length]);
    }
    if (bucket.compiled.inputs.has('teacher_targets')) {
      const queries = bucket.compiled.inputs.get('teacher_weights')!.shape[0];
      const groupSize = bucket.compiled.inputs.get('teacher_targets')!.shape[1];
      if (batch.teacherTargets?.length !== queries * groupSize || batch.teacherWeights?.length !== queries) {
        throw new O1Error('SHAPE_MISMATCH', `distillation needs teacherTargets [${queries} x ${groupSize}] and teacherWeights [${queries}]`, { field: 'teacherTargets' });
      }
      feeds['teacher_targets'] = new ort.Tensor('float32', batch.teacherTargets, [queries, groupSize]);
      feeds['teacher_weights'] = new ort.Tensor('float32', batch.teacherWeights, [queries]);
    }
    for (const [name, info] of bucket.compiled.inputs) if (info.dtype === 'float32' && feeds[name] === undefined) feeds[name] = this.parameterTensor(name, weights);
    const outputs = await bucket.compiled.run(feeds);
    const scalar = (name: string) => (outputs[name] === undefined ? undefined : Number(outputs[name].data[0]));
    const gradients = new Map<string, Float32Array>();
    for (const [name] of bucket.trainable) gradients.set(name, outputs[`grad.${name}`].data as Float32Array);
    return {
      losses: { loss: scalar('loss')!, generationLoss: scalar('loss.generation'), contrastiveLoss: scalar('loss.contrastive'), distillationLoss: scalar('loss.distillation') },
      gradients,
    };
  }

  /** Moves the trainable weights into the arena (copying values in when `weights` is not the map adopted last). */
  private adopt(trainable: readonly [string, readonly number[]][], weights: WeightMap): ParameterArena {
    this.arena ??= new ParameterArena(trainable);
    const arena = this.arena;
    for (const [name] of trainable) {
      const weight = weights.get(name);
      if (weight === undefined) throw new O1Error('MISSING_TENSOR', `weights lack ${name}`, { field: name });
      const view = arena.parameter(name);
      if (weight.data === view) continue;
      if (weight.data.length !== view.length) throw new O1Error('SHAPE_MISMATCH', `${name} has ${weight.data.length} values, expected ${view.length}`, { field: name });
      // A tensor adopted before keeps its values in its own array from now on.
      const previous = this.adopted.get(name);
      if (previous !== undefined && previous.data === view) previous.data = Float32Array.from(view);
      view.set(weight.data);
      weight.data = view;
      this.adopted.set(name, weight);
    }
    return arena;
  }

  /**
   * One optimisation step over one batch or several micro-batches (gradients averaged, losses
   * averaged), then clipping and AdamW on `weights` in place.
   *
   * @example
   * const result = await step.step([firstHalf, secondHalf], weights);
   */
  async step(batches: TrainingBatch | readonly TrainingBatch[], weights: WeightMap): Promise<StepResult> {
    const micro = Array.isArray(batches) ? (batches as readonly TrainingBatch[]) : [batches as TrainingBatch];
    if (micro.length === 0) throw new O1Error('BAD_ARGUMENT', 'a step needs at least one batch');
    const fused = (this.options.fusedOptimizer ?? true) && arenaSupported();
    const first = micro[0];
    const firstBucket = await this.bucket(first.inputIds.length / (first.length ?? this.options.length), first.length ?? this.options.length);
    const arena = fused ? this.adopt(firstBucket.trainable, weights) : undefined;
    const totals = { loss: 0, generationLoss: 0, contrastiveLoss: 0, distillationLoss: 0 };
    let last: BatchLosses = { loss: 0 };
    this.accumulator.reset();
    for (const [index, batch] of micro.entries()) {
      const result = await this.computeGradients(batch, weights);
      if (arena !== undefined) {
        for (const [name, gradient] of result.gradients) {
          const target = arena.gradient(name);
          if (index === 0) target.set(gradient);
          else for (let offset = 0; offset < target.length; offset++) target[offset] += gradient[offset];
        }
      } else if (micro.length > 1) {
        this.accumulator.add(result.gradients);
      } else {
        this.accumulator.sums.clear();
        for (const [name, gradient] of result.gradients) this.accumulator.sums.set(name, gradient);
      }
      totals.loss += result.losses.loss;
      totals.generationLoss += result.losses.generationLoss ?? 0;
      totals.contrastiveLoss += result.losses.contrastiveLoss ?? 0;
      totals.distillationLoss += result.losses.distillationLoss ?? 0;
      last = result.losses;
    }
    const average = 1 / micro.length;
    const maxNorm = this.options.maxGradientNorm ?? 1.0;
    const learningRate = this.options.schedule ? learningRateAt(this.optimizer.stepCount + 1, this.options.schedule) : this.optimizer.options.learningRate;
    let gradientNorm: number;
    if (arena !== undefined) {
      gradientNorm = Math.sqrt(arena.gradientSumOfSquares()) * average;
      const clip = maxNorm > 0 && Number.isFinite(maxNorm) && gradientNorm > maxNorm ? maxNorm / (gradientNorm + 1e-6) : 1;
      this.optimizer.stepCount++;
      arena.adamw({ ...this.optimizer.options, learningRate, step: this.optimizer.stepCount, gradientScale: clip * average });
    } else {
      const clip = clipScale(this.accumulator.sums.values(), maxNorm / average);
      gradientNorm = clip.norm * average;
      this.optimizer.step(weights, this.accumulator.sums, { learningRate, gradientScale: clip.scale * average });
    }
    const losses: BatchLosses = {
      loss: totals.loss * average,
      generationLoss: last.generationLoss === undefined ? undefined : totals.generationLoss * average,
      contrastiveLoss: last.contrastiveLoss === undefined ? undefined : totals.contrastiveLoss * average,
      distillationLoss: last.distillationLoss === undefined ? undefined : totals.distillationLoss * average,
    };
    return { ...losses, gradientNorm, learningRate, step: this.optimizer.stepCount };
  }

  /**
   * The AdamW state for a checkpoint: updates done and each trainable tensor's moments, in the
   * arena's order (views, not copies: serialise before the next step). Fused optimizer only;
   * empty before the first step.
   */
  optimizerState(): { step: number; moments: Map<string, { first: Float32Array; second: Float32Array }> } {
    const moments = new Map<string, { first: Float32Array; second: Float32Array }>();
    if (this.arena !== undefined) for (const name of this.arena.slots.keys()) moments.set(name, this.arena.moments(name));
    return { step: this.optimizer.stepCount, moments };
  }

  /**
   * Restores {@link optimizerState} before the first step (fused optimizer only): the arena is
   * rebuilt in the saved order, so later steps are bit-for-bit those of an uninterrupted run.
   *
   * @example
   * trainer.loadOptimizerState({ step: 300, moments }, weights);
   */
  loadOptimizerState(state: { step: number; moments: ReadonlyMap<string, { first: Float32Array; second: Float32Array }> }, weights: WeightMap): void {
    if (this.arena !== undefined) throw new O1Error('BAD_ARGUMENT', 'optimizer state can only be loaded before the first step');
    if (!((this.options.fusedOptimizer ?? true) && arenaSupported())) throw new O1Error('UNSUPPORTED_OP', 'loading optimizer state needs the fused (WebAssembly) optimizer');
    const trainable: [string, readonly number[]][] = [];
    for (const name of state.moments.keys()) {
      const weight = weights.get(name);
      if (weight === undefined) throw new O1Error('MISSING_TENSOR', `weights lack ${name}`, { field: name });
      trainable.push([name, weight.shape]);
    }
    const arena = this.adopt(trainable, weights);
    for (const [name, { first, second }] of state.moments) {
      const target = arena.moments(name);
      if (first.length !== target.first.length || second.length !== target.second.length) throw new O1Error('SHAPE_MISMATCH', `saved moments of ${name} do not fit the tensor`, { field: name });
      target.first.set(first);
      target.second.set(second);
    }
    this.optimizer.stepCount = state.step;
  }

  /** Releases the ONNX Runtime sessions. */
  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }
}

/**
 * Creates a training step for a decoder config. Sessions are compiled per (batch, length) on
 * first use.
 *
 * @example
 * const config = tinyDecoderConfig();
 * const weights = initializeDecoderWeights(config, { seed: 1 });
 * const trainer = createTrainingStep(config, { batch: 8, length: 32, loss: 'generation', optimizer: { learningRate: 3e-3 } });
 * const { loss } = await trainer.step({ inputIds, attentionMask, labels: inputIds }, weights);
 */
export function createTrainingStep(config: DecoderConfig, options: TrainingStepOptions): TrainingStep {
  return new TrainingStep(config, options);
}
