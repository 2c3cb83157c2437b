/**
 * The `o1e train` loop: load (or initialise) the model and tokenizer with the O1 tokens, read and
 * validate all data, then step, log, checkpoint and finally save a Hugging Face model folder.
 * Every random choice derives from the config's seed and the step / record index, so a run is
 * deterministic and `resume` continues bit-for-bit where a checkpoint left off.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { O1Error } from '../errors.js';
import { defaultThreadCount } from '../engine/session.js';
import { loadModelFiles } from '../inference/load.js';
import { decoderParameterCount } from '../model/decoder-graph.js';
import { initializeDecoderWeights } from '../model/decoder-init.js';
import { createTrainingStep, type StepResult, type TrainingStep } from '../model/decoder-training.js';
import { saveHuggingFaceModel } from '../model/formats/safetensors.js';
import { addSpecialTokens, O1_SPECIAL_TOKENS } from '../model/special-tokens.js';
import type { DecoderConfig, DecoderWeights, WeightMap } from '../model/types.js';
import { o1TokenIds } from '../o1/layout.js';
import { ggufToTokenizerJson, HuggingFaceTokenizer, loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { Progress } from '../util/progress.js';
import { deriveSeed } from '../util/random.js';
import { JointBatcher, PretrainBatcher, type Batcher, type MicroBatch } from './batches.js';
import { fingerprint, loadLatestCheckpoint, writeCheckpoint, checkpointSteps } from './checkpoint.js';
import type { TrainingConfig } from './config.js';
import { passagePool, readJointRecords, readPretrainTexts } from './data.js';
import { initializeLoraWeights, loraParameters, mergeLora } from './lora.js';

/** One line of the training log (train.log, and stdout with --json). */
export interface TrainingLogRecord {
  type: 'start' | 'resume' | 'step' | 'checkpoint' | 'done';
  step: number;
  totalSteps: number;
  /** Fractional epochs done. */
  epoch?: number;
  loss?: number;
  /** Next-token loss (joint: the thought part; pretrain: the whole loss). */
  generationLoss?: number;
  /** Joint: 0.8 x this + 0.2 x generationLoss; InfoNCE, plus distillationLoss when records have teacher scores. */
  contrastiveLoss?: number;
  /** Joint with teacher scores: the distillation term (already inside contrastiveLoss). */
  distillationLoss?: number;
  learningRate?: number;
  gradientNorm?: number;
  /** Real tokens per second over the steps since the previous log line. */
  tokensPerSecond?: number;
  /** Padded tokens (what the engine computes on) per second over the same steps. */
  paddedTokensPerSecond?: number;
  /** Real tokens trained on so far. */
  tokens?: number;
  elapsedSeconds?: number;
  /** checkpoint / done: the folder written. */
  path?: string;
  /** start: sizes of the run. */
  parameters?: number;
  trainableParameters?: number;
  message?: string;
}

/** Options for {@link runTraining}. */
export interface RunTrainingOptions {
  /** Continue from the newest checkpoint in the output folder. Default false. */
  resume?: boolean;
  /** Receives every log record (the CLI prints them as JSON lines with --json). */
  onLog?: (record: TrainingLogRecord) => void;
  /** Draw a progress bar and human-readable log lines on stderr. Default false. */
  progress?: boolean;
  /** Stop after this many optimizer steps in this call (for tests of interrupted runs). Default: run to the end. */
  stopAfterSteps?: number;
}

/** What {@link runTraining} returns. */
export interface TrainingSummary {
  /** Optimizer steps done in total (resumed ones included). */
  steps: number;
  totalSteps: number;
  /** Real tokens trained on in this call. */
  tokens: number;
  seconds: number;
  /** Real tokens per second in this call (step time only). */
  tokensPerSecond: number;
  paddedTokensPerSecond: number;
  /** The final model folder (undefined when stopped early). */
  modelPath?: string;
  /** The last step's losses. */
  last?: StepResult;
  /** The trained weights (LoRA merged) and tokenizer, for callers that keep going in-process. */
  model: DecoderWeights;
  tokenizer: Tokenizer;
}

// Salts for the seed-derived streams of this module.
const INIT_SALT = 11;
const LORA_SALT = 12;

/** Settings that change the numbers a run produces: a resume refuses a checkpoint made under others. */
function mathFingerprint(config: TrainingConfig): string {
  const { file: _file, output: _output, logEvery: _logEvery, checkpointEvery: _every, keepCheckpoints: _keep, saveDtype: _dtype, threads: _threads, ...rest } = config;
  return fingerprint(rest);
}

/**
 * Loads the model named by the config (or initialises one) with the O1 tokens added to its
 * tokenizer, and the special-token ids recorded in its config.
 *
 * @example
 * const { model, tokenizer } = await loadTrainingModel(config);
 */
export async function loadTrainingModel(config: TrainingConfig): Promise<{ model: DecoderWeights; tokenizer: Tokenizer }> {
  let model: DecoderWeights;
  let tokenizer: Tokenizer;
  if (config.model.path !== undefined) {
    const loaded = await loadModelFiles(config.model.path, { tokenizerPath: config.model.tokenizer });
    model = loaded.model;
    tokenizer = loaded.tokenizer;
  } else {
    const init = config.model.init;
    tokenizer = await loadTokenizer(config.model.tokenizer);
    // The O1 tokens first, so the fresh embedding covers them with random rows like every other token.
    tokenizer.addSpecialTokens(O1_SPECIAL_TOKENS);
    const decoderConfig: DecoderConfig = {
      architecture: init.architecture,
      hiddenSize: init.hiddenSize,
      intermediateSize: init.intermediateSize,
      numHiddenLayers: init.numHiddenLayers,
      numAttentionHeads: init.numAttentionHeads,
      numKeyValueHeads: init.numKeyValueHeads,
      headDim: init.hiddenSize / init.numAttentionHeads,
      ropeTheta: init.ropeTheta,
      rmsNormEps: init.rmsNormEps,
      vocabSize: tokenizer.vocabSize,
      tieWordEmbeddings: init.tieWordEmbeddings,
      maxPositionEmbeddings: init.maxPositionEmbeddings,
      attentionBias: init.architecture === 'qwen2',
      ropeStyle: 'half',
    };
    model = { config: decoderConfig, weights: initializeDecoderWeights(decoderConfig, { seed: deriveSeed(config.seed, INIT_SALT), standardDeviation: init.standardDeviation }) };
  }
  // A GGUF byte-level vocabulary becomes a tokenizer.json, so the output folder can carry it.
  if (!(tokenizer instanceof HuggingFaceTokenizer) && tokenizer.ggufMetadata().model === 'gpt2') tokenizer = HuggingFaceTokenizer.fromJsonFiles(ggufToTokenizerJson(tokenizer.ggufMetadata()));
  if (!(tokenizer instanceof HuggingFaceTokenizer)) {
    throw new O1Error('CORRUPT_TOKENIZER', 'training needs a Hugging Face tokenizer.json tokenizer (the output model is saved with one); convert the model first', {
      file: config.model.tokenizer ?? config.model.path,
    });
  }
  model = addSpecialTokens(tokenizer, model, O1_SPECIAL_TOKENS).model;
  o1TokenIds(tokenizer);
  model = {
    config: { ...model.config, bosTokenId: tokenizer.bosTokenId, eosTokenId: tokenizer.eosTokenId, padTokenId: tokenizer.padTokenId },
    weights: model.weights,
  };
  return { model, tokenizer };
}

/** The batcher, and whether the loss gets the distillation term (some record has teacher scores). */
async function buildBatcher(config: TrainingConfig, tokenizer: Tokenizer): Promise<{ batcher: Batcher; distillation: boolean }> {
  if (config.mode !== 'pretrain') {
    // contrastive: thoughts are ignored (query-only rows), and the graph has no generation loss.
    const records = await readJointRecords(config.data.records, { requireThought: config.mode === 'joint' });
    const pool = await passagePool(records, config.data.corpus);
    const distillation = records.some((record) => record.posScores !== undefined);
    const batcher = new JointBatcher(tokenizer, records, pool, { ...config.joint, batchSize: config.batchSize, seed: config.seed, lengthBuckets: config.lengthBuckets, distillation });
    return { batcher, distillation };
  }
  const texts = await readPretrainTexts(config.data.texts);
  return { batcher: new PretrainBatcher(tokenizer, texts, { ...config.pretrain, batchSize: config.batchSize, seed: config.seed, lengthBuckets: config.lengthBuckets }), distillation: false };
}

function formatLog(record: TrainingLogRecord): string {
  const parts = [`step ${record.step}/${record.totalSteps}`];
  if (record.loss !== undefined) parts.push(`loss ${record.loss.toFixed(4)}`);
  if (record.contrastiveLoss !== undefined) parts.push(`${record.distillationLoss === undefined ? 'infonce' : 'infonce+kd'} ${record.contrastiveLoss.toFixed(4)}`);
  if (record.distillationLoss !== undefined) parts.push(`kd ${record.distillationLoss.toFixed(4)}`);
  if (record.generationLoss !== undefined) parts.push(`ce ${record.generationLoss.toFixed(4)}`);
  if (record.learningRate !== undefined) parts.push(`lr ${record.learningRate.toExponential(2)}`);
  if (record.gradientNorm !== undefined) parts.push(`|g| ${record.gradientNorm.toFixed(3)}`);
  if (record.tokensPerSecond !== undefined) parts.push(`${Math.round(record.tokensPerSecond)} tok/s`);
  if (record.path !== undefined) parts.push(record.path);
  if (record.message !== undefined) parts.push(record.message);
  return record.type === 'step' ? parts.join('  ') : `${record.type} ${parts.join('  ')}`;
}

/**
 * Runs a training config to the end (or `stopAfterSteps`): see docs/training.md. Writes
 * `train.log` (JSON lines), checkpoints every `checkpointEvery` steps, and the final model to
 * `<output>/model` (config.json, model.safetensors in `saveDtype`, tokenizer.json with the O1
 * tokens; LoRA adapters merged into the weights). All data is read and validated before
 * anything is written.
 *
 * @example
 * const summary = await runTraining(await readTrainingConfig('joint.json'), { progress: true });
 * summary.modelPath // 'runs/joint/model'
 */
export async function runTraining(config: TrainingConfig, options: RunTrainingOptions = {}): Promise<TrainingSummary> {
  const { model: loaded, tokenizer } = await loadTrainingModel(config);
  const { batcher, distillation } = await buildBatcher(config, tokenizer);
  const modelConfig = loaded.config;
  const weights: WeightMap = new Map(loaded.weights);

  const existing = await checkpointSteps(config.output);
  if (existing.length > 0 && !options.resume) {
    throw new O1Error('BAD_ARGUMENT', 'the output folder already holds checkpoints: pass --resume to continue, or choose another output', { file: config.output });
  }
  const checkpoint = options.resume ? await loadLatestCheckpoint(config.output) : undefined;
  const runFingerprint = mathFingerprint(config);
  if (checkpoint !== undefined && checkpoint.state.fingerprint !== runFingerprint) {
    throw new O1Error('BAD_ARGUMENT', 'the checkpoint was made with other training settings (model, data, optimizer, batching or seed differ)', { file: checkpoint.path });
  }

  if (config.lora !== null) for (const [name, tensor] of initializeLoraWeights(modelConfig, config.lora, deriveSeed(config.seed, LORA_SALT))) weights.set(name, tensor);
  const frozen = (name: string) => config.freezeEmbeddings && (name === 'model.embed_tokens.weight' || name === 'lm_head.weight');

  const microPerStep = config.gradientAccumulation;
  const totalSteps = config.maxSteps ?? Math.max(1, Math.floor((config.epochs * batcher.batchesPerEpoch) / microPerStep));
  const warmupSteps = config.schedule.warmupSteps ?? Math.ceil(config.schedule.warmupRatio * totalSteps);
  const trainer: TrainingStep = createTrainingStep(modelConfig, {
    batch: 1,
    length: 1,
    loss: config.mode === 'pretrain' ? 'generation' : config.mode,
    groupSize: config.joint.groupSize,
    temperature: config.joint.temperature,
    contrastiveWeight: config.joint.contrastiveWeight,
    generationWeight: config.joint.generationWeight,
    pooling: 'last',
    distillation,
    threads: config.threads ?? defaultThreadCount(),
    optimizer: { learningRate: config.optimizer.learningRate, beta1: config.optimizer.beta1, beta2: config.optimizer.beta2, epsilon: config.optimizer.epsilon, weightDecay: config.optimizer.weightDecay },
    schedule: { peakLearningRate: config.optimizer.learningRate, totalSteps, warmupSteps, decay: config.schedule.decay, minimumLearningRate: config.schedule.minimumLearningRate },
    maxGradientNorm: config.optimizer.maxGradientNorm,
    trainable: (name) => !frozen(name),
    declareParameters: config.lora === null ? undefined : loraParameters(modelConfig, config.lora),
    fusedOptimizer: true,
  });

  let step = 0;
  let microBatches = 0;
  let totalTokens = 0;
  if (checkpoint !== undefined) {
    for (const [name, tensor] of checkpoint.weights) {
      const target = weights.get(name);
      if (target === undefined || target.data.length !== tensor.data.length) throw new O1Error('SHAPE_MISMATCH', `checkpoint tensor ${name} does not fit the model`, { file: checkpoint.path, field: name });
      weights.set(name, { shape: [...target.shape], data: tensor.data });
    }
    trainer.loadOptimizerState({ step: checkpoint.state.step, moments: checkpoint.moments }, weights);
    step = checkpoint.state.step;
    microBatches = checkpoint.state.microBatches;
    totalTokens = checkpoint.state.tokens;
  }

  await mkdir(config.output, { recursive: true });
  const logPath = join(config.output, 'train.log');
  if (checkpoint === undefined && existsSync(logPath)) await rm(logPath);
  const progress = options.progress ? new Progress({ label: 'train', total: totalSteps - step, unit: 'steps' }) : undefined;
  const log = async (record: TrainingLogRecord) => {
    await appendFile(logPath, `${JSON.stringify(record)}\n`);
    options.onLog?.(record);
    // On a terminal, clear the progress bar's line first; the bar redraws on the next step.
    if (options.progress) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${formatLog(record)}\n`);
  };
  const parameters = decoderParameterCount(modelConfig);
  const trainableParameters = [...weights].filter(([name]) => (config.lora === null ? !frozen(name) : name.includes('.lora_'))).reduce((sum, [, tensor]) => sum + tensor.data.length, 0);
  await log({
    type: checkpoint === undefined ? 'start' : 'resume',
    step,
    totalSteps,
    parameters,
    trainableParameters,
    message: `${config.mode} ${config.lora === null ? 'full' : `LoRA r${config.lora.rank}`} · ${batcher.batchesPerEpoch} micro-batches per epoch`,
  });

  const started = performance.now();
  let stepSeconds = 0;
  let callTokens = 0;
  let callPadded = 0;
  let windowTokens = 0;
  let windowPadded = 0;
  let windowSeconds = 0;
  let last: StepResult | undefined;
  const stopAt = options.stopAfterSteps === undefined ? totalSteps : Math.min(totalSteps, step + options.stopAfterSteps);
  try {
    while (step < stopAt) {
      const micro: MicroBatch[] = [];
      for (let index = 0; index < microPerStep; index++) micro.push(batcher.batch(microBatches++));
      const stepStart = performance.now();
      last = await trainer.step(micro.map((item) => item.batch), weights);
      const seconds = (performance.now() - stepStart) / 1000;
      step = last.step;
      const tokens = micro.reduce((sum, item) => sum + item.tokens, 0);
      const padded = micro.reduce((sum, item) => sum + item.paddedTokens, 0);
      totalTokens += tokens;
      callTokens += tokens;
      callPadded += padded;
      stepSeconds += seconds;
      windowTokens += tokens;
      windowPadded += padded;
      windowSeconds += seconds;
      if (!Number.isFinite(last.loss)) throw new O1Error('BAD_SCORE', `the loss became ${last.loss} at step ${step}: lower the learning rate`);
      progress?.tick();
      if (step % config.logEvery === 0 || step === stopAt) {
        await log({
          type: 'step',
          step,
          totalSteps,
          epoch: microBatches / batcher.batchesPerEpoch,
          loss: last.loss,
          generationLoss: config.mode === 'pretrain' ? last.loss : last.generationLoss,
          contrastiveLoss: config.mode === 'contrastive' ? last.loss : last.contrastiveLoss,
          distillationLoss: last.distillationLoss,
          learningRate: last.learningRate,
          gradientNorm: last.gradientNorm,
          tokensPerSecond: windowTokens / windowSeconds,
          paddedTokensPerSecond: windowPadded / windowSeconds,
          tokens: totalTokens,
          elapsedSeconds: (performance.now() - started) / 1000,
        });
        windowTokens = 0;
        windowPadded = 0;
        windowSeconds = 0;
      }
      if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0 && step < totalSteps) {
        const trainable = new Map([...weights].filter(([name]) => trainer.optimizerState().moments.has(name)));
        const path = await writeCheckpoint(config.output, { step, microBatches, tokens: totalTokens, fingerprint: runFingerprint }, trainable, trainer.optimizerState().moments, config.keepCheckpoints);
        await log({ type: 'checkpoint', step, totalSteps, path });
      }
    }
  } finally {
    progress?.finish();
    await trainer.dispose();
  }

  const finalWeights = config.lora === null ? weights : mergeLora(modelConfig, weights, config.lora);
  const model: DecoderWeights = { config: modelConfig, weights: finalWeights };
  let modelPath: string | undefined;
  if (step >= totalSteps) {
    modelPath = join(config.output, 'model');
    await saveHuggingFaceModel(modelPath, model, { dtype: config.saveDtype });
    await (tokenizer as HuggingFaceTokenizer).save(modelPath);
    await log({
      type: 'done',
      step,
      totalSteps,
      tokens: totalTokens,
      elapsedSeconds: (performance.now() - started) / 1000,
      path: modelPath,
      message: config.lora === null ? `saved ${config.saveDtype}` : `saved ${config.saveDtype} with the LoRA adapters merged into the weights`,
    });
  }
  return {
    steps: step,
    totalSteps,
    tokens: callTokens,
    seconds: (performance.now() - started) / 1000,
    tokensPerSecond: stepSeconds > 0 ? callTokens / stepSeconds : 0,
    paddedTokensPerSecond: stepSeconds > 0 ? callPadded / stepSeconds : 0,
    modelPath,
    last,
    model,
    tokenizer,
  };
}
