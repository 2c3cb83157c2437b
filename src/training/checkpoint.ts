/**
 * Training checkpoints: `checkpoints/step-NNNNNNNN/` holding the trainable tensors
 * (`weights.safetensors`, f32), the AdamW moments (`optimizer.safetensors`) and `state.json`
 * (step, micro-batches consumed, tokens, the config fingerprint, tensor order). A checkpoint is
 * written into a temporary folder that is renamed into place when complete, so a crash never
 * leaves a half checkpoint that `--resume` could pick up. Frozen tensors are not saved: they are
 * rebuilt from the model source, which is deterministic.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { O1Error } from '../errors.js';
import { readSafetensors, writeSafetensors } from '../model/formats/safetensors.js';
import type { WeightMap } from '../model/types.js';

/** What state.json records. */
export interface CheckpointState {
  format: 'o1e-train-checkpoint/1';
  /** Optimizer updates done. */
  step: number;
  /** Micro-batches consumed (the data position: batch i is a pure function of (seed, i)). */
  microBatches: number;
  /** Real tokens trained on so far. */
  tokens: number;
  /** Hash of the settings that must not change across a resume. */
  fingerprint: string;
  /** Trainable tensor names in optimizer (arena) order. */
  order: string[];
}

/** A loaded checkpoint. */
export interface Checkpoint {
  state: CheckpointState;
  weights: WeightMap;
  moments: Map<string, { first: Float32Array; second: Float32Array }>;
  path: string;
}

const PREFIX = 'step-';

function checkpointFolder(output: string, step: number): string {
  return join(output, 'checkpoints', `${PREFIX}${String(step).padStart(8, '0')}`);
}

/**
 * A stable hash of the JSON value (keys sorted), for refusing to resume under other settings.
 *
 * @example
 * fingerprint({ seed: 1, batchSize: 8 }) === fingerprint({ batchSize: 8, seed: 1 }) // true
 */
export function fingerprint(value: unknown): string {
  const canonical = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(canonical);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.keys(item).sort().map((key) => [key, canonical((item as Record<string, unknown>)[key])]));
    }
    return item;
  };
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex').slice(0, 16);
}

/**
 * Writes a checkpoint atomically (temporary folder, then rename) and keeps only the newest `keep`
 * (default 2). `weights` are the trainable tensors; `moments` come in optimizer order.
 *
 * @example
 * await writeCheckpoint('runs/joint', state, trainableWeights, trainer.optimizerState().moments);
 */
export async function writeCheckpoint(
  output: string,
  state: Omit<CheckpointState, 'format' | 'order'>,
  weights: WeightMap,
  moments: ReadonlyMap<string, { first: Float32Array; second: Float32Array }>,
  keep = 2,
): Promise<string> {
  const folder = checkpointFolder(output, state.step);
  const temporary = `${folder}.tmp-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  const optimizerTensors: WeightMap = new Map();
  for (const [name, { first, second }] of moments) {
    const shape = weights.get(name)?.shape ?? [first.length];
    // Copies: the arena keeps changing after this call returns.
    optimizerTensors.set(`${name}.exp_avg`, { shape: [...shape], data: Float32Array.from(first) });
    optimizerTensors.set(`${name}.exp_avg_sq`, { shape: [...shape], data: Float32Array.from(second) });
  }
  await writeSafetensors(join(temporary, 'weights.safetensors'), weights);
  await writeSafetensors(join(temporary, 'optimizer.safetensors'), optimizerTensors);
  const full: CheckpointState = { format: 'o1e-train-checkpoint/1', ...state, order: [...moments.keys()] };
  await writeFile(join(temporary, 'state.json'), `${JSON.stringify(full, null, 2)}\n`);
  await rm(folder, { recursive: true, force: true });
  await rename(temporary, folder);
  const steps = await checkpointSteps(output);
  for (const old of steps.slice(0, Math.max(0, steps.length - keep))) await rm(checkpointFolder(output, old), { recursive: true, force: true });
  return folder;
}

/**
 * Steps of the complete checkpoints under `output`, ascending (temporary folders of an
 * interrupted write are ignored).
 *
 * @example
 * await checkpointSteps('runs/joint') // [200, 300]
 */
export async function checkpointSteps(output: string): Promise<number[]> {
  const directory = join(output, 'checkpoints');
  if (!existsSync(directory)) return [];
  const steps: number[] = [];
  for (const name of await readdir(directory)) {
    const match = /^step-(\d+)$/.exec(name);
    if (match !== null && existsSync(join(directory, name, 'state.json'))) steps.push(Number(match[1]));
  }
  return steps.sort((a, b) => a - b);
}

/**
 * Loads the newest complete checkpoint under `output`, or undefined when there is none.
 *
 * @example
 * const checkpoint = await loadLatestCheckpoint('runs/joint');
 */
export async function loadLatestCheckpoint(output: string): Promise<Checkpoint | undefined> {
  const steps = await checkpointSteps(output);
  if (steps.length === 0) return undefined;
  const path = checkpointFolder(output, steps[steps.length - 1]);
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(join(path, 'state.json'), 'utf8')) as CheckpointState;
  } catch (error) {
    throw new O1Error('CORRUPT_MODEL_FILE', 'the checkpoint state is not valid JSON', { file: join(path, 'state.json') }, { cause: error });
  }
  if (state.format !== 'o1e-train-checkpoint/1') throw new O1Error('CORRUPT_MODEL_FILE', `unknown checkpoint format ${String(state.format)}`, { file: join(path, 'state.json') });
  const { tensors: weights } = await readSafetensors(join(path, 'weights.safetensors'));
  const { tensors: optimizer } = await readSafetensors(join(path, 'optimizer.safetensors'));
  const moments = new Map<string, { first: Float32Array; second: Float32Array }>();
  for (const name of state.order) {
    const first = optimizer.get(`${name}.exp_avg`);
    const second = optimizer.get(`${name}.exp_avg_sq`);
    if (first === undefined || second === undefined) throw new O1Error('MISSING_TENSOR', `the checkpoint lacks the moments of ${name}`, { file: join(path, 'optimizer.safetensors'), field: name });
    moments.set(name, { first: first.data, second: second.data });
  }
  return { state, weights, moments, path };
}
