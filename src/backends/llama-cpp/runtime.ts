/**
 * One llama.cpp runtime per process and one loaded copy per GGUF file, shared by every thinker
 * and embedder that names it (so a model serving as both loads once). Reference-counted: the
 * last release disposes the model, and the runtime when no model is left, so processes exit.
 */
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';
import { O1Error } from '../../errors.js';

interface Shared<T> {
  value: Promise<T>;
  users: number;
}

let runtime: Shared<Llama> | undefined;
const models = new Map<string, Shared<LlamaModel>>();

/** A loaded model and the function that gives it back (call once). */
export interface ModelLease {
  model: LlamaModel;
  release(): Promise<void>;
}

/**
 * Loads `path` (or shares the copy already loaded) on the CPU build of llama.cpp.
 *
 * @example
 * const { model, release } = await acquireModel('stories260K.gguf');
 * try { console.log(model.embeddingVectorSize) } finally { await release() }
 */
export async function acquireModel(path: string): Promise<ModelLease> {
  const key = resolve(path);
  if (!existsSync(key)) throw new O1Error('MISSING_FILE', 'GGUF model file does not exist', { file: path });
  let entry = models.get(key);
  if (entry === undefined) {
    runtime ??= { value: getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error }), users: 0 };
    runtime.users += 1;
    const llama = runtime.value;
    entry = { value: llama.then((instance) => instance.loadModel({ modelPath: key })), users: 0 };
    models.set(key, entry);
    entry.value.catch(() => { /* reported to the caller below; keeps the rejection handled */ });
  }
  entry.users += 1;
  let model: LlamaModel;
  try {
    model = await entry.value;
  } catch (error) {
    await releaseEntry(key, entry);
    throw new O1Error('CORRUPT_MODEL_FILE', `llama.cpp could not load the model: ${(error as Error).message}`, { file: path }, { cause: error });
  }
  let released = false;
  return {
    model,
    release: async () => {
      if (released) return;
      released = true;
      await releaseEntry(key, entry);
    },
  };
}

async function releaseEntry(key: string, entry: Shared<LlamaModel>): Promise<void> {
  entry.users -= 1;
  if (entry.users > 0) return;
  models.delete(key);
  await entry.value.then((model) => model.dispose(), () => undefined);
  if (runtime === undefined) return;
  runtime.users -= 1;
  if (runtime.users === 0) {
    const llama = runtime.value;
    runtime = undefined;
    await llama.then((instance) => instance.dispose(), () => undefined);
  }
}
