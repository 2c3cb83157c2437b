/**
 * The `o1e train` JSON config: parsing, defaults and validation. Every field and default is
 * documented in docs/training.md; unknown keys are refused so a typo never silently falls back
 * to a default. Relative paths are resolved against the config file's folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
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

type Json = Record<string, unknown>;

class Reader {
  constructor(
    private readonly file: string,
    private readonly object: Json,
    private readonly prefix: string,
  ) {}

  private fail(key: string, message: string): never {
    throw new O1Error('BAD_ARGUMENT', message, { file: this.file, field: `${this.prefix}${key}` });
  }

  checkKeys(allowed: readonly string[]): void {
    for (const key of Object.keys(this.object)) if (!allowed.includes(key)) this.fail(key, `unknown key (allowed: ${allowed.join(', ')})`);
  }

  has(key: string): boolean {
    return this.object[key] !== undefined && this.object[key] !== null;
  }

  number(key: string, fallback: number, check: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
    const value = this.object[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(key, `must be a number, got ${JSON.stringify(value)}`);
    if (check.integer && !Number.isInteger(value)) this.fail(key, `must be an integer, got ${value}`);
    if (check.min !== undefined && (check.exclusiveMin ? value <= check.min : value < check.min)) this.fail(key, `must be ${check.exclusiveMin ? '>' : '>='} ${check.min}, got ${value}`);
    if (check.max !== undefined && value > check.max) this.fail(key, `must be <= ${check.max}, got ${value}`);
    return value;
  }

  optionalNumber(key: string, check: { min?: number; integer?: boolean } = {}): number | null {
    return this.has(key) ? this.number(key, 0, check) : null;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.object[key] ?? fallback;
    if (typeof value !== 'boolean') this.fail(key, `must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const value = this.object[key] ?? fallback;
    if (typeof value !== 'string' || !choices.includes(value as T)) this.fail(key, `must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
    return value as T;
  }

  path(key: string, base: string): string | undefined {
    const value = this.object[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value === '') this.fail(key, 'must be a non-empty path string');
    return isAbsolute(value) ? value : resolve(base, value);
  }

  paths(key: string, base: string): string[] {
    let value = this.object[key] ?? [];
    if (typeof value === 'string') value = [value];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) this.fail(key, 'must be a path or an array of paths');
    return (value as string[]).map((item) => (isAbsolute(item) ? item : resolve(base, item)));
  }

  section(key: string): Reader {
    const value = this.object[key] ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(key, 'must be an object');
    return new Reader(this.file, value as Json, `${this.prefix}${key}.`);
  }

  raw(key: string): unknown {
    return this.object[key];
  }
}

/**
 * Resolves a parsed config object: defaults filled in, values checked, paths made absolute
 * against `baseDirectory` (default the current folder). Errors are O1Error BAD_ARGUMENT naming
 * the file and the field.
 *
 * @example
 * const config = resolveTrainingConfig({ mode: 'pretrain', output: 'runs/pre', model: { init: {}, tokenizer: 'tok.json' }, data: { texts: ['corpus.jsonl'] } });
 */
export function resolveTrainingConfig(json: unknown, options: { file?: string; baseDirectory?: string } = {}): TrainingConfig {
  const file = options.file ?? '';
  const base = options.baseDirectory ?? (file === '' ? process.cwd() : dirname(file));
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new O1Error('BAD_ARGUMENT', 'a training config must be a JSON object', { file });
  const root = new Reader(file, json as Json, '');
  root.checkKeys([
    'mode', 'seed', 'output', 'model', 'data', 'joint', 'pretrain', 'lora', 'freezeEmbeddings', 'optimizer', 'schedule', 'batchSize',
    'gradientAccumulation', 'epochs', 'maxSteps', 'lengthBuckets', 'checkpointEvery', 'keepCheckpoints', 'logEvery', 'saveDtype', 'threads',
  ]);
  const mode = root.choice('mode', ['joint', 'contrastive', 'pretrain'] as const, 'joint');
  const output = root.path('output', base);
  if (output === undefined) throw new O1Error('BAD_ARGUMENT', 'output (the run folder) is required', { file, field: 'output' });

  const modelReader = root.section('model');
  modelReader.checkKeys(['path', 'init', 'tokenizer']);
  let model: ModelSettings;
  const modelPath = modelReader.path('path', base);
  const tokenizer = modelReader.path('tokenizer', base);
  if (modelPath !== undefined) {
    if (modelReader.has('init')) throw new O1Error('BAD_ARGUMENT', 'give either model.path or model.init, not both', { file, field: 'model' });
    model = { path: modelPath, tokenizer };
  } else if (modelReader.has('init')) {
    if (tokenizer === undefined) throw new O1Error('BAD_ARGUMENT', 'model.init needs model.tokenizer (a tokenizer.json or its folder)', { file, field: 'model.tokenizer' });
    const init = modelReader.section('init');
    init.checkKeys(['architecture', 'hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'numKeyValueHeads', 'intermediateSize', 'tieWordEmbeddings', 'ropeTheta', 'rmsNormEps', 'maxPositionEmbeddings', 'standardDeviation']);
    const hiddenSize = init.number('hiddenSize', 256, { integer: true, min: 1 });
    const numAttentionHeads = init.number('numAttentionHeads', 4, { integer: true, min: 1 });
    if (hiddenSize % numAttentionHeads !== 0) throw new O1Error('BAD_ARGUMENT', 'hiddenSize must be a multiple of numAttentionHeads', { file, field: 'model.init.numAttentionHeads' });
    const numKeyValueHeads = init.number('numKeyValueHeads', numAttentionHeads, { integer: true, min: 1 });
    if (numAttentionHeads % numKeyValueHeads !== 0) throw new O1Error('BAD_ARGUMENT', 'numAttentionHeads must be a multiple of numKeyValueHeads', { file, field: 'model.init.numKeyValueHeads' });
    model = {
      tokenizer,
      init: {
        architecture: init.choice('architecture', ['llama', 'qwen2'] as const, 'llama'),
        hiddenSize,
        numHiddenLayers: init.number('numHiddenLayers', 4, { integer: true, min: 1 }),
        numAttentionHeads,
        numKeyValueHeads,
        intermediateSize: init.number('intermediateSize', Math.round((hiddenSize * 8) / 3 / 32) * 32, { integer: true, min: 1 }),
        tieWordEmbeddings: init.boolean('tieWordEmbeddings', true),
        ropeTheta: init.number('ropeTheta', 10000, { min: 1 }),
        rmsNormEps: init.number('rmsNormEps', 1e-5, { min: 0, exclusiveMin: true }),
        maxPositionEmbeddings: init.number('maxPositionEmbeddings', 2048, { integer: true, min: 1 }),
        standardDeviation: init.number('standardDeviation', 0.02, { min: 0, exclusiveMin: true }),
      },
    };
  } else {
    throw new O1Error('BAD_ARGUMENT', 'model needs path (a Hugging Face folder) or init (+ tokenizer)', { file, field: 'model' });
  }

  const dataReader = root.section('data');
  dataReader.checkKeys(['records', 'corpus', 'texts']);
  const data = { records: dataReader.paths('records', base), corpus: dataReader.paths('corpus', base), texts: dataReader.paths('texts', base) };
  if (mode !== 'pretrain' && data.records.length === 0) throw new O1Error('BAD_ARGUMENT', `${mode} mode needs data.records (JSONL training records)`, { file, field: 'data.records' });
  if (mode === 'pretrain' && data.texts.length === 0) throw new O1Error('BAD_ARGUMENT', 'pretrain mode needs data.texts (corpus.jsonl or text files)', { file, field: 'data.texts' });

  const jointReader = root.section('joint');
  jointReader.checkKeys(['groupSize', 'temperature', 'contrastiveWeight', 'generationWeight', 'thoughtDropout', 'queryMaxTokens', 'queryMaxLength', 'passageMaxLength']);
  const joint = {
    groupSize: jointReader.number('groupSize', 16, { integer: true, min: 1 }),
    temperature: jointReader.number('temperature', 0.02, { min: 0, exclusiveMin: true }),
    contrastiveWeight: jointReader.number('contrastiveWeight', 0.8, { min: 0 }),
    generationWeight: jointReader.number('generationWeight', 0.2, { min: 0 }),
    thoughtDropout: jointReader.number('thoughtDropout', 0.1, { min: 0, max: 1 }),
    queryMaxTokens: jointReader.number('queryMaxTokens', 32, { integer: true, min: 1 }),
    queryMaxLength: jointReader.number('queryMaxLength', 256, { integer: true, min: 4 }),
    passageMaxLength: jointReader.number('passageMaxLength', 192, { integer: true, min: 1 }),
  };

  const pretrainReader = root.section('pretrain');
  pretrainReader.checkKeys(['sequenceLength', 'packing']);
  const pretrain = {
    sequenceLength: pretrainReader.number('sequenceLength', 128, { integer: true, min: 2 }),
    packing: pretrainReader.choice('packing', ['packed', 'bucketed'] as const, 'packed'),
  };

  let lora: TrainingConfig['lora'] = null;
  const loraValue = root.raw('lora');
  if (loraValue !== undefined && loraValue !== null && loraValue !== false) {
    const loraReader = loraValue === true ? new Reader(file, {}, 'lora.') : root.section('lora');
    loraReader.checkKeys(['rank', 'alpha', 'dropout', 'targets']);
    const targetsValue = loraReader.raw('targets') ?? DEFAULT_LORA.targets;
    if (!Array.isArray(targetsValue) || targetsValue.length === 0 || !targetsValue.every((target) => typeof target === 'string' && target in LORA_TARGETS)) {
      throw new O1Error('BAD_ARGUMENT', `lora.targets must be a non-empty array of ${Object.keys(LORA_TARGETS).join(', ')}`, { file, field: 'lora.targets' });
    }
    const dropout = loraReader.number('dropout', 0, { min: 0, max: 1 });
    if (dropout !== 0) {
      throw new O1Error('UNSUPPORTED_OP', 'lora.dropout > 0 is not supported: the adapter is folded into the weight (W0 + s·B·A), so there is no separate input to drop; use 0', { file, field: 'lora.dropout' });
    }
    lora = {
      rank: loraReader.number('rank', DEFAULT_LORA.rank, { integer: true, min: 1 }),
      alpha: loraReader.number('alpha', DEFAULT_LORA.alpha, { min: 0, exclusiveMin: true }),
      dropout,
      targets: [...new Set(targetsValue as LoraTarget[])],
    };
  }
  const freezeEmbeddings = root.boolean('freezeEmbeddings', lora !== null);
  if (lora !== null && !freezeEmbeddings) throw new O1Error('BAD_ARGUMENT', 'with LoRA the embedding and LM head are always frozen', { file, field: 'freezeEmbeddings' });

  const optimizerReader = root.section('optimizer');
  optimizerReader.checkKeys(['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'maxGradientNorm']);
  const optimizer = {
    learningRate: optimizerReader.number('learningRate', mode === 'pretrain' ? 1e-3 : 1e-4, { min: 0, exclusiveMin: true }),
    beta1: optimizerReader.number('beta1', 0.9, { min: 0, max: 1 }),
    beta2: optimizerReader.number('beta2', 0.999, { min: 0, max: 1 }),
    epsilon: optimizerReader.number('epsilon', 1e-8, { min: 0, exclusiveMin: true }),
    weightDecay: optimizerReader.number('weightDecay', 0.01, { min: 0 }),
    maxGradientNorm: optimizerReader.number('maxGradientNorm', 1.0, { min: 0 }),
  };

  const scheduleReader = root.section('schedule');
  scheduleReader.checkKeys(['warmupRatio', 'warmupSteps', 'decay', 'minimumLearningRate']);
  const schedule = {
    warmupRatio: scheduleReader.number('warmupRatio', 0.1, { min: 0, max: 1 }),
    warmupSteps: scheduleReader.optionalNumber('warmupSteps', { integer: true, min: 0 }),
    decay: scheduleReader.choice('decay', ['linear', 'cosine', 'constant'] as const, 'linear'),
    minimumLearningRate: scheduleReader.number('minimumLearningRate', 0, { min: 0 }),
  };

  const bucketsValue = root.raw('lengthBuckets') ?? DEFAULT_LENGTH_BUCKETS;
  if (!Array.isArray(bucketsValue) || bucketsValue.length === 0 || !bucketsValue.every((length) => Number.isInteger(length) && length > 0)) {
    throw new O1Error('BAD_ARGUMENT', 'lengthBuckets must be a non-empty array of positive integers', { file, field: 'lengthBuckets' });
  }

  return {
    file,
    mode,
    seed: root.number('seed', 0, { integer: true, min: 0 }),
    output,
    model,
    data,
    joint,
    pretrain,
    lora,
    freezeEmbeddings,
    optimizer,
    schedule,
    batchSize: root.number('batchSize', mode === 'pretrain' ? 16 : 8, { integer: true, min: 1 }),
    gradientAccumulation: root.number('gradientAccumulation', 1, { integer: true, min: 1 }),
    epochs: root.number('epochs', 1, { min: 0, exclusiveMin: true }),
    maxSteps: root.optionalNumber('maxSteps', { integer: true, min: 1 }),
    lengthBuckets: [...new Set(bucketsValue as number[])].sort((a, b) => a - b),
    checkpointEvery: root.number('checkpointEvery', 0, { integer: true, min: 0 }),
    keepCheckpoints: root.number('keepCheckpoints', 2, { integer: true, min: 1 }),
    logEvery: root.number('logEvery', 10, { integer: true, min: 1 }),
    saveDtype: root.choice('saveDtype', ['f32', 'f16'] as const, 'f32'),
    threads: root.optionalNumber('threads', { integer: true, min: 1 }),
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
