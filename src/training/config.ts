/**
 * The `o1e train` JSON config: parsing, defaults and validation. Every field and default is
 * documented in docs/training.md; unknown keys are refused so a typo never silently falls back
 * to a default. Relative paths are resolved against the config file's folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Settings, type NumberRange } from '../backends/settings.js';
import { O1Error } from '../errors.js';
import type { Architecture } from '../model/types.js';
import { DEFAULT_LORA, LORA_TARGETS, type LoraOptions, type LoraTarget } from './lora.js';

/**
 * What a run trains: `joint` (O1: InfoNCE + thought next-token loss), `contrastive` (InfoNCE on
 * the query-only layout, no thoughts: e.g. a self-supervised stage on corpus pairs before joint
 * training), or `pretrain` (next-token loss on text).
 */
export type TrainingMode = 'joint' | 'contrastive' | 'pretrain';

/** Settings of a fresh random decoder (`model.init`). */
export interface InitSettings {
  architecture: Architecture;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  intermediateSize: number;
  tieWordEmbeddings: boolean;
  ropeTheta: number;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
  /** Normal init standard deviation. */
  standardDeviation: number;
}

/** The model to start from: a Hugging Face folder, or a fresh decoder with a tokenizer. */
export type ModelSettings = { path: string; init?: undefined; tokenizer?: string } | { init: InitSettings; tokenizer: string; path?: undefined };

/** A fully resolved training config (every default filled in). */
export interface TrainingConfig {
  /** Absolute path of the config file ('' when built in code). */
  file: string;
  mode: TrainingMode;
  seed: number;
  /** Output folder: model/, checkpoints/, train.log. */
  output: string;
  model: ModelSettings;
  data: {
    /** joint: JSONL files of training records. */
    records: string[];
    /** joint: BEIR corpus.jsonl files whose passages pad groups with too few negatives. */
    corpus: string[];
    /** pretrain: BEIR corpus.jsonl files and plain text files. */
    texts: string[];
  };
  joint: {
    groupSize: number;
    temperature: number;
    contrastiveWeight: number;
    generationWeight: number;
    thoughtDropout: number;
    droppedThoughtEos: boolean;
    queryMaxTokens: number;
    queryMaxLength: number;
    passageMaxLength: number;
  };
  pretrain: {
    sequenceLength: number;
    packing: 'packed' | 'bucketed';
  };
  /** LoRA settings, or null for full fine-tuning. */
  lora: (LoraOptions & { dropout: number }) | null;
  /** Keep the embedding (and LM head) frozen. */
  freezeEmbeddings: boolean;
  optimizer: {
    learningRate: number;
    beta1: number;
    beta2: number;
    epsilon: number;
    weightDecay: number;
    maxGradientNorm: number;
  };
  schedule: {
    warmupRatio: number;
    /** Overrides warmupRatio when set. */
    warmupSteps: number | null;
    decay: 'linear' | 'cosine' | 'constant';
    minimumLearningRate: number;
  };
  /** Queries (joint) or sequences (pretrain) per micro-batch. */
  batchSize: number;
  gradientAccumulation: number;
  epochs: number;
  maxSteps: number | null;
  lengthBuckets: number[];
  checkpointEvery: number;
  keepCheckpoints: number;
  logEvery: number;
  saveDtype: 'f32' | 'f16';
  threads: number | null;
}

/** The default length buckets (padded lengths ORT sessions are compiled for). */
export const DEFAULT_LENGTH_BUCKETS: readonly number[] = [16, 32, 48, 64, 96, 128, 192, 256, 320];

/** The ranges most fields use: positive, a count (an integer >= 1), a fraction in [0, 1]. */
const POSITIVE: NumberRange = { minimum: 0, exclusiveMinimum: true };
const COUNT: NumberRange = { integer: true, minimum: 1 };
const FRACTION: NumberRange = { minimum: 0, maximum: 1 };

/**
 * Resolves a parsed config object: defaults filled in, values checked, paths made absolute
 * against `baseDirectory` (default the config file's folder, else the current folder). Errors
 * are O1Error BAD_ARGUMENT naming the file and the dotted field (`optimizer.learningRate`);
 * unknown keys are refused at every level.
 *
 * @example
 * const config = resolveTrainingConfig({ mode: 'pretrain', output: 'runs/pre', model: { init: {}, tokenizer: 'tok.json' }, data: { texts: ['corpus.jsonl'] } });
 */
export function resolveTrainingConfig(json: unknown, options: { file?: string; baseDirectory?: string } = {}): TrainingConfig {
  const file = options.file ?? '';
  const base = options.baseDirectory ?? (file === '' ? process.cwd() : dirname(file));
  const location = file === '' ? {} : { file };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new O1Error('BAD_ARGUMENT', 'a training config must be a JSON object', location);
  const root = new Settings(json, 'training config', { ...location, known: [] });
  // Keys are declared up front so a typo is reported before the "missing field" it causes.
  root.allowOnly([
    'mode', 'seed', 'output', 'model', 'data', 'joint', 'pretrain', 'lora', 'freezeEmbeddings', 'optimizer', 'schedule', 'batchSize',
    'gradientAccumulation', 'epochs', 'maxSteps', 'lengthBuckets', 'checkpointEvery', 'keepCheckpoints', 'logEvery', 'saveDtype', 'threads',
  ]);
  const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(base, path));
  const optionalPath = (settings: Settings, key: string): string | undefined => (settings.has(key) ? absolute(settings.string(key)) : undefined);
  const paths = (settings: Settings, key: string): string[] => settings.strings(key, [], { single: true }).map(absolute);

  const mode = root.oneOf('mode', ['joint', 'contrastive', 'pretrain'] as const, 'joint');
  const output = optionalPath(root, 'output');
  if (output === undefined) throw new O1Error('BAD_ARGUMENT', 'output (the run folder) is required', { ...location, field: 'output' });

  const modelSettings = root.section('model');
  modelSettings.allowOnly(['path', 'init', 'tokenizer']);
  let model: ModelSettings;
  const modelPath = optionalPath(modelSettings, 'path');
  const tokenizer = optionalPath(modelSettings, 'tokenizer');
  if (modelPath !== undefined) {
    if (modelSettings.has('init')) throw new O1Error('BAD_ARGUMENT', 'give either model.path or model.init, not both', { ...location, field: 'model' });
    model = { path: modelPath, tokenizer };
  } else if (modelSettings.has('init')) {
    if (tokenizer === undefined) throw new O1Error('BAD_ARGUMENT', 'model.init needs model.tokenizer (a tokenizer.json or its folder)', { ...location, field: 'model.tokenizer' });
    const init = modelSettings.section('init');
    init.allowOnly(['architecture', 'hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'intermediateSize', 'tieWordEmbeddings', 'ropeTheta', 'rmsNormEps', 'maxPositionEmbeddings', 'standardDeviation']);
    const hiddenSize = init.numberInRange('hiddenSize', 256, COUNT);
    const numAttentionHeads = init.numberInRange('numAttentionHeads', 4, COUNT);
    if (hiddenSize % numAttentionHeads !== 0) init.reject('numAttentionHeads', `a divisor of hiddenSize (${hiddenSize})`);
    const numKeyValueHeads = init.numberInRange('numKeyValueHeads', numAttentionHeads, COUNT);
    if (numAttentionHeads % numKeyValueHeads !== 0) init.reject('numKeyValueHeads', `a divisor of numAttentionHeads (${numAttentionHeads})`);
    model = {
      tokenizer,
      init: {
        architecture: init.oneOf('architecture', ['llama', 'qwen2'] as const, 'llama'),
        hiddenSize,
        numHiddenLayers: init.numberInRange('numHiddenLayers', 4, COUNT),
        numAttentionHeads,
        numKeyValueHeads,
        intermediateSize: init.numberInRange('intermediateSize', Math.round((hiddenSize * 8) / 3 / 32) * 32, COUNT),
        tieWordEmbeddings: init.boolean('tieWordEmbeddings', true),
        ropeTheta: init.numberInRange('ropeTheta', 10000, { minimum: 1 }),
        rmsNormEps: init.numberInRange('rmsNormEps', 1e-5, POSITIVE),
        maxPositionEmbeddings: init.numberInRange('maxPositionEmbeddings', 2048, COUNT),
        standardDeviation: init.numberInRange('standardDeviation', 0.02, POSITIVE),
      },
    };
  } else {
    throw new O1Error('BAD_ARGUMENT', 'model needs path (a Hugging Face folder) or init (+ tokenizer)', { ...location, field: 'model' });
  }

  const dataSettings = root.section('data');
  dataSettings.allowOnly(['records', 'corpus', 'texts']);
  const data = { records: paths(dataSettings, 'records'), corpus: paths(dataSettings, 'corpus'), texts: paths(dataSettings, 'texts') };
  if (mode !== 'pretrain' && data.records.length === 0) throw new O1Error('BAD_ARGUMENT', `${mode} mode needs data.records (JSONL training records)`, { ...location, field: 'data.records' });
  if (mode === 'pretrain' && data.texts.length === 0) throw new O1Error('BAD_ARGUMENT', 'pretrain mode needs data.texts (corpus.jsonl or text files)', { ...location, field: 'data.texts' });

  const jointSettings = root.section('joint');
  jointSettings.allowOnly(['groupSize', 'temperature', 'contrastiveWeight', 'generationWeight', 'thoughtDropout', 'droppedThoughtEos', 'queryMaxTokens', 'queryMaxLength', 'passageMaxLength']);
  const joint = {
    groupSize: jointSettings.numberInRange('groupSize', 16, COUNT),
    temperature: jointSettings.numberInRange('temperature', 0.02, POSITIVE),
    contrastiveWeight: jointSettings.numberInRange('contrastiveWeight', 0.8, { minimum: 0 }),
    generationWeight: jointSettings.numberInRange('generationWeight', 0.2, { minimum: 0 }),
    thoughtDropout: jointSettings.numberInRange('thoughtDropout', 0.1, FRACTION),
    droppedThoughtEos: jointSettings.boolean('droppedThoughtEos', true),
    queryMaxTokens: jointSettings.numberInRange('queryMaxTokens', 32, COUNT),
    queryMaxLength: jointSettings.numberInRange('queryMaxLength', 256, { integer: true, minimum: 4 }),
    passageMaxLength: jointSettings.numberInRange('passageMaxLength', 192, COUNT),
  };

  const pretrainSettings = root.section('pretrain');
  pretrainSettings.allowOnly(['sequenceLength', 'packing']);
  const pretrain = {
    sequenceLength: pretrainSettings.numberInRange('sequenceLength', 128, { integer: true, minimum: 2 }),
    packing: pretrainSettings.oneOf('packing', ['packed', 'bucketed'] as const, 'packed'),
  };

  let lora: TrainingConfig['lora'] = null;
  const loraValue = root.take('lora');
  if (loraValue !== undefined && loraValue !== null && loraValue !== false) {
    // `"lora": true` means every default.
    const loraSettings = loraValue === true ? new Settings({}, 'training config', { ...location, path: 'lora.', known: [] }) : root.section('lora');
    loraSettings.allowOnly(['rank', 'alpha', 'dropout', 'targets']);
    const targets = loraSettings.strings('targets', DEFAULT_LORA.targets);
    if (targets.length === 0 || !targets.every((target) => target in LORA_TARGETS)) loraSettings.reject('targets', `a non-empty list of ${Object.keys(LORA_TARGETS).join(', ')}`);
    const dropout = loraSettings.numberInRange('dropout', 0, FRACTION);
    if (dropout !== 0) {
      throw new O1Error('UNSUPPORTED_OP', 'lora.dropout > 0 is not supported: the adapter is folded into the weight (W0 + s·B·A), so there is no separate input to drop; use 0', { ...location, field: 'lora.dropout' });
    }
    lora = {
      rank: loraSettings.numberInRange('rank', DEFAULT_LORA.rank, COUNT),
      alpha: loraSettings.numberInRange('alpha', DEFAULT_LORA.alpha, POSITIVE),
      dropout,
      targets: [...new Set(targets as LoraTarget[])],
    };
  }
  const freezeEmbeddings = root.boolean('freezeEmbeddings', lora !== null);
  if (lora !== null && !freezeEmbeddings) throw new O1Error('BAD_ARGUMENT', 'with LoRA the embedding and LM head are always frozen', { ...location, field: 'freezeEmbeddings' });

  const optimizerSettings = root.section('optimizer');
  optimizerSettings.allowOnly(['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'maxGradientNorm']);
  const optimizer = {
    learningRate: optimizerSettings.numberInRange('learningRate', mode === 'pretrain' ? 1e-3 : 1e-4, POSITIVE),
    beta1: optimizerSettings.numberInRange('beta1', 0.9, FRACTION),
    beta2: optimizerSettings.numberInRange('beta2', 0.999, FRACTION),
    epsilon: optimizerSettings.numberInRange('epsilon', 1e-8, POSITIVE),
    weightDecay: optimizerSettings.numberInRange('weightDecay', 0.01, { minimum: 0 }),
    maxGradientNorm: optimizerSettings.numberInRange('maxGradientNorm', 1.0, { minimum: 0 }),
  };

  const scheduleSettings = root.section('schedule');
  scheduleSettings.allowOnly(['warmupRatio', 'warmupSteps', 'decay', 'minimumLearningRate']);
  const schedule = {
    warmupRatio: scheduleSettings.numberInRange('warmupRatio', 0.1, FRACTION),
    warmupSteps: scheduleSettings.optionalNumber('warmupSteps', { integer: true, minimum: 0 }) ?? null,
    decay: scheduleSettings.oneOf('decay', ['linear', 'cosine', 'constant'] as const, 'linear'),
    minimumLearningRate: scheduleSettings.numberInRange('minimumLearningRate', 0, { minimum: 0 }),
  };

  const lengthBuckets = root.numbers('lengthBuckets', DEFAULT_LENGTH_BUCKETS, COUNT);
  if (lengthBuckets.length === 0) root.reject('lengthBuckets', 'a non-empty list of positive integers');

  return {
    file,
    mode,
    seed: root.numberInRange('seed', 0, { integer: true, minimum: 0 }),
    output,
    model,
    data,
    joint,
    pretrain,
    lora,
    freezeEmbeddings,
    optimizer,
    schedule,
    batchSize: root.numberInRange('batchSize', mode === 'pretrain' ? 16 : 8, COUNT),
    gradientAccumulation: root.numberInRange('gradientAccumulation', 1, COUNT),
    epochs: root.numberInRange('epochs', 1, POSITIVE),
    maxSteps: root.optionalNumber('maxSteps', COUNT) ?? null,
    lengthBuckets: [...new Set(lengthBuckets)].sort((a, b) => a - b),
    checkpointEvery: root.numberInRange('checkpointEvery', 0, { integer: true, minimum: 0 }),
    keepCheckpoints: root.numberInRange('keepCheckpoints', 2, COUNT),
    logEvery: root.numberInRange('logEvery', 10, COUNT),
    saveDtype: root.oneOf('saveDtype', ['f32', 'f16'] as const, 'f32'),
    threads: root.optionalNumber('threads', COUNT) ?? null,
  };
}

/**
 * Reads and resolves a config file (see {@link resolveTrainingConfig}).
 *
 * @example
 * const config = await readTrainingConfig('recipes/joint.json');
 */
export async function readTrainingConfig(path: string): Promise<TrainingConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new O1Error('MISSING_FILE', 'cannot read the training config', { file }, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new O1Error('MALFORMED_JSON', `the training config is not valid JSON: ${(error as Error).message}`, { file }, { cause: error });
  }
  return resolveTrainingConfig(json, { file });
}
