/**
 * Retriever registry: a name -> factory table, so a retriever can be built from a serialisable
 * JSON config (`{ "retriever": "bm25", "k1": 0.9, "b": 0.4 }`) by the CLI and experiment files.
 * Built-in retrievers register here; others may call {@link registerRetriever}.
 */
import { O1Error } from '../errors.js';
import { Bm25Retriever } from './bm25/bm25-retriever.js';
import { DenseRetriever } from './dense/dense-retriever.js';
import { FusedRetriever } from './fusion/fused-retriever.js';
import { O1Retriever } from './o1/o1-retriever.js';
import type { Retriever, RetrieverConfig } from './retriever.js';

/** Builds a retriever from its config; throws O1Error BAD_ARGUMENT on bad settings. */
export type RetrieverFactory = (config: RetrieverConfig) => Retriever;

const factories = new Map<string, RetrieverFactory>();

/**
 * Registers (or replaces) a retriever factory under `name`.
 *
 * @example
 * registerRetriever('bm25', (config) => new Bm25Retriever(config));
 */
export function registerRetriever(name: string, factory: RetrieverFactory): void {
  factories.set(name, factory);
}

/**
 * Creates a retriever from a config. Throws O1Error UNKNOWN_RETRIEVER for an unregistered name.
 *
 * @example
 * const bm25 = createRetriever({ retriever: 'bm25', k1: 0.9, b: 0.4 });
 */
export function createRetriever(config: RetrieverConfig): Retriever {
  const factory = factories.get(config.retriever);
  if (factory === undefined) {
    throw new O1Error('UNKNOWN_RETRIEVER', `unknown retriever "${config.retriever}"; known: ${retrieverNames().join(', ')}`, { field: 'retriever' });
  }
  return factory(config);
}

/** Registered names, sorted. */
export function retrieverNames(): string[] {
  return [...factories.keys()].sort();
}

registerRetriever('bm25', (config) => {
  const { retriever: _name, k1, b, analyzer, ...unknown } = config;
  const extra = Object.keys(unknown);
  if (extra.length > 0) throw new O1Error('BAD_ARGUMENT', `unknown bm25 setting(s): ${extra.join(', ')}`, { field: extra[0] });
  if (analyzer !== undefined && typeof analyzer !== 'string') throw new O1Error('BAD_ARGUMENT', 'analyzer must be a string', { field: 'analyzer' });
  return new Bm25Retriever({ k1: k1 as number | undefined, b: b as number | undefined, analyzer });
});

// Dense retrievers load their model (and ONNX Runtime) lazily, on index(); registering them is cheap.
registerRetriever('dense', (config) => DenseRetriever.fromConfig(config));
registerRetriever('o1', (config) => O1Retriever.fromConfig(config));
registerRetriever('fused', (config) => {
  const { retriever: _name, retrievers, fusion, k, weights, depth, ...unknown } = config;
  const extra = Object.keys(unknown);
  if (extra.length > 0) throw new O1Error('BAD_ARGUMENT', `unknown fused setting(s): ${extra.join(', ')}`, { field: extra[0] });
  if (!Array.isArray(retrievers) || !retrievers.every((member) => typeof member === 'object' && member !== null && typeof member.retriever === 'string')) {
    throw new O1Error('BAD_ARGUMENT', 'fused needs "retrievers": a list of retriever configs, e.g. [{"retriever":"bm25"},{"retriever":"o1","model":"PATH"}]', { field: 'retrievers' });
  }
  if (fusion !== undefined && fusion !== 'rrf' && fusion !== 'score') throw new O1Error('BAD_ARGUMENT', `fusion must be rrf or score, got ${JSON.stringify(fusion)}`, { field: 'fusion' });
  if (k !== undefined && typeof k !== 'number') throw new O1Error('BAD_ARGUMENT', 'k must be a number', { field: 'k' });
  if (weights !== undefined && !(Array.isArray(weights) && weights.every((weight) => typeof weight === 'number'))) throw new O1Error('BAD_ARGUMENT', 'weights must be a list of numbers', { field: 'weights' });
  if (depth !== undefined && typeof depth !== 'number') throw new O1Error('BAD_ARGUMENT', 'depth must be a number', { field: 'depth' });
  return new FusedRetriever((retrievers as RetrieverConfig[]).map((member) => createRetriever(member)), { fusion, k, weights, depth });
});
