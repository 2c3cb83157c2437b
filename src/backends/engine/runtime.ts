/**
 * One loaded copy per model file for the `engine` backend, shared by every thinker and embedder
 * that names it (so an O1 model serving as both loads once) and reference-counted: the last
 * release disposes it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { O1Error } from '../../errors.js';
import { DecoderModel } from '../../inference/model.js';
import { hasO1Tokens } from '../../o1/layout.js';
import { modelIdentity, O1Model } from '../../o1/model.js';

/** A shared model: the decoder, and the O1 view of it when its tokenizer has the O1 tokens. */
export interface EngineModel {
  decoder: DecoderModel;
  o1?: O1Model;
}

interface Shared {
  value: Promise<EngineModel>;
  users: number;
}

const models = new Map<string, Shared>();

/** A loaded model and the function that gives it back (idempotent). */
export interface EngineModelLease {
  model: EngineModel;
  release(): Promise<void>;
}

async function load(path: string, threads: number | undefined): Promise<EngineModel> {
  const decoder = await DecoderModel.load(path, { threads });
  if (!hasO1Tokens(decoder.tokenizer)) return { decoder };
  return { decoder, o1: new O1Model(decoder, await modelIdentity(path), path) };
}

/**
 * Loads `path` (any layout DecoderModel reads) or shares the copy already loaded with the same
 * thread count.
 *
 * @example
 * const { model, release } = await acquireEngineModel('models/o1', 1);
 * try { console.log(model.o1 !== undefined) } finally { await release() }
 */
export async function acquireEngineModel(path: string, threads?: number): Promise<EngineModelLease> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new O1Error('MISSING_FILE', 'the model path does not exist', { file: path });
  const key = `${absolute}\n${threads ?? ''}`;
  let entry = models.get(key);
  if (entry === undefined) {
    entry = { value: load(absolute, threads), users: 0 };
    models.set(key, entry);
    entry.value.catch(() => { /* reported to the caller below */ });
  }
  entry.users++;
  const shared = entry;
  let model: EngineModel;
  try {
    model = await shared.value;
  } catch (error) {
    await releaseEntry(key, shared);
    throw error;
  }
  let released = false;
  return {
    model,
    release: async () => {
      if (released) return;
      released = true;
      await releaseEntry(key, shared);
    },
  };
}

async function releaseEntry(key: string, entry: Shared): Promise<void> {
  entry.users--;
  if (entry.users > 0) return;
  if (models.get(key) === entry) models.delete(key);
  await entry.value.then((model) => model.decoder.dispose(), () => undefined);
}
