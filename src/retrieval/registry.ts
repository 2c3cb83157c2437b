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
import { Settings } from '../backends/settings.js';
import { THINKING_DEFAULTS } from '../thinking/defaults.js';
import { readThinkerConfig } from './thinking.js';

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
  if (typeof config !== 'object' || config === null || typeof config.retriever !== 'string') {
    throw new O1Error('BAD_ARGUMENT', 'a retriever config needs a "retriever" name, e.g. {"retriever":"bm25"}', { field: 'retriever' });
  }
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
  const settings = new Settings(config, 'bm25 retriever');
  settings.string('retriever');
  const options = {
    k1: settings.number('k1', 0.9, 0),
    b: settings.number('b', 0.4, 0),
    analyzer: settings.string('analyzer', 'english'),
    thinker: readThinkerConfig(settings.take('thinker')),
    queryWeight: settings.integer('queryWeight', THINKING_DEFAULTS.queryWeight, 1),
    queryOnlyWeight: settings.number('queryOnlyWeight', THINKING_DEFAULTS.queryOnlyWeight, 0),
  };
  settings.rejectUnknown();
  return new Bm25Retriever(options);
});

// Dense retrievers load their model (and ONNX Runtime) lazily, on index(); registering them is cheap.
registerRetriever('dense', (config) => DenseRetriever.fromConfig(config));
registerRetriever('o1', (config) => O1Retriever.fromConfig(config));
registerRetriever('fused', (config) => {
  const settings = new Settings(config, 'fused retriever');
  settings.string('retriever');
  const retrievers = settings.take('retrievers');
  if (!Array.isArray(retrievers) || !retrievers.every((member) => typeof member === 'object' && member !== null && typeof member.retriever === 'string')) {
    throw new O1Error('BAD_ARGUMENT', 'fused needs "retrievers": a list of retriever configs, e.g. [{"retriever":"bm25"},{"retriever":"o1","model":"PATH"}]', { field: 'retrievers' });
  }
  const options = {
    fusion: settings.oneOf('fusion', ['rrf', 'score'] as const, 'rrf'),
    k: settings.number('k', 60, 0),
    weights: settings.optionalNumbers('weights'),
    depth: settings.optionalInteger('depth', 1),
    thinker: readThinkerConfig(settings.take('thinker')),
  };
  settings.rejectUnknown();
  return new FusedRetriever((retrievers as RetrieverConfig[]).map((member) => createRetriever(member)), options);
});
