/**
 * Retriever registry: a name -> factory table, so a retriever can be built from a serialisable
 * JSON config (`{ "retriever": "bm25", "k1": 0.9, "b": 0.4 }`) by the CLI and experiment files.
 * Built-in retrievers register here; others may call {@link registerRetriever}.
 */
import { O1Error } from '../errors.js';
import { Bm25Retriever } from './bm25/bm25-retriever.js';
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
