/**
 * What every thinking retriever shares: an optional thinker (built lazily from its config, so
 * configs validate cheaply), and the rule that thoughts handed in through
 * `SearchOptions.thoughts` (by a fused retriever that thought once for its members) win over
 * the retriever's own thinker.
 */
import type { Thinker, ThinkerConfig } from '../backends/thinker.js';
import type { Query } from '../data/types.js';
import { O1Error } from '../errors.js';
import { QueryThinker, type ThoughtStatistics } from '../thinking/query-thinker.js';
import { Progress } from '../util/progress.js';
import type { SearchOptions } from './retriever.js';

/** Reads a `thinker` setting: undefined or a config object with a backend. */
export function readThinkerConfig(value: unknown, field = 'thinker'): ThinkerConfig | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as ThinkerConfig).backend !== 'string') {
    throw new O1Error('BAD_ARGUMENT', `${field} must be a thinker config such as {"backend":"file","path":"thoughts.jsonl"}`, { field });
  }
  return value as ThinkerConfig;
}

/**
 * A retriever's thinking.
 *
 * @example
 * const thinking = new RetrieverThinking({ backend: 'file', path: 'thoughts.jsonl' });
 * const thoughts = await thinking.thoughtsFor(queries, {}); // thoughts[q]: string[] or undefined (no thinking)
 */
export class RetrieverThinking {
  thinkMs = 0;
  private thinker?: Promise<QueryThinker>;
  private built?: QueryThinker;

  /** @param thinkerInstance an already built backend to think with (its owner closes it). */
  constructor(readonly thinkerConfig: ThinkerConfig | undefined, private readonly thinkerInstance?: Thinker) {}

  /** Whether this retriever thinks by itself. */
  get enabled(): boolean {
    return this.thinkerConfig !== undefined;
  }

  /** The thinker, built on first use. */
  queryThinker(): Promise<QueryThinker> {
    if (this.thinkerConfig === undefined) throw new O1Error('BAD_ARGUMENT', 'this retriever has no thinker');
    if (this.thinker === undefined) {
      this.thinker = QueryThinker.create(this.thinkerConfig, { thinker: this.thinkerInstance });
      this.thinker.then((built) => { this.built = built; }, () => { this.thinker = undefined; });
    }
    return this.thinker;
  }

  /**
   * Builds the thinker now, when there is one, so a bad thinker config (a missing thoughts file,
   * an unknown backend) fails before the corpus is indexed rather than at the first search.
   */
  async prepare(): Promise<void> {
    if (this.enabled) await this.queryThinker();
  }

  /**
   * The thoughts of each query: from `options.thoughts` when given (a query missing there has
   * none), else from the thinker, else undefined for all (the retriever does not think).
   */
  async thoughtsFor(queries: readonly Query[], options: SearchOptions, label = 'think'): Promise<(readonly string[] | undefined)[]> {
    const given = options.thoughts;
    if (given !== undefined) return queries.map((query) => given.get(query.id) ?? []);
    if (!this.enabled) return queries.map(() => undefined);
    const thinker = await this.queryThinker();
    const started = performance.now();
    const progress = new Progress({ label, total: queries.length, unit: 'queries', quiet: options.quiet ?? queries.length === 1 });
    let reported = 0;
    try {
      return await thinker.think(queries.map((query) => ({ id: query.id, text: query.text })), {
        signal: options.signal,
        onProgress: (done) => {
          progress.tick(done - reported);
          reported = done;
        },
      });
    } finally {
      progress.finish();
      this.thinkMs += Math.round(performance.now() - started);
    }
  }

  /** Thought counts, once this retriever has thought. */
  statistics(): ThoughtStatistics | undefined {
    return this.built === undefined ? undefined : { ...this.built.statistics };
  }

  async dispose(): Promise<void> {
    const thinker = this.thinker;
    this.thinker = undefined;
    this.built = undefined;
    if (thinker !== undefined) await (await thinker.catch(() => undefined))?.close();
  }
}
