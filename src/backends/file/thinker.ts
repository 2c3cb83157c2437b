/**
 * The `file` thinker: thoughts written earlier (by an LLM, a script, another run), read from a
 * JSONL file of `{"query_id"?, "query", "thoughts": [...]}` lines, the layout of
 * `../shared/thoughts` and of `o1e synth` outputs. A query is matched by id when the line has
 * one (and the query has an id), else by its text.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readThoughtsLines } from '../../data/thoughts.js';
import { O1Error } from '../../errors.js';
import { Settings } from '../settings.js';
import type { GenerateOptions, Thinker, ThinkerConfig, ThinkerPrompt, ThinkerQuery } from '../thinker.js';

/** Settings of the `file` thinker (JSON config keys). */
export interface FileThinkerConfig {
  backend: 'file';
  /** The JSONL file. Required. */
  path: string;
  /**
   * What a query the file lacks gets: `error` (default: O1Error MISSING_THOUGHT naming the file)
   * or `query-only` (no thoughts: the retriever searches with the query alone).
   */
  missing?: 'error' | 'query-only';
}

/**
 * Thoughts from a JSONL file.
 *
 * @example
 * const thinker = await FileThinker.create({ backend: 'file', path: '../shared/thoughts/scifact.test.gemini-2.0-flash-250.jsonl' });
 * const [[thought]] = await thinker.think([{ id: '1', text: '0-dimensional biomaterials show inductive properties.' }]);
 */
export class FileThinker implements Thinker {
  readonly backend = 'file';
  readonly model: string;
  readonly identity: string;
  readonly keyedById = true;

  private constructor(
    private readonly settings: Required<FileThinkerConfig>,
    private readonly byId: Map<string, string[]>,
    private readonly byText: Map<string, string[]>,
    fingerprint: string,
  ) {
    this.model = settings.path;
    this.identity = `file:${resolve(settings.path)}#${fingerprint}`;
  }

  /** Reads and validates the whole file (an error names its line). */
  static async create(config: FileThinkerConfig | ThinkerConfig): Promise<FileThinker> {
    const settings = new Settings(config, 'file thinker');
    const values: Required<FileThinkerConfig> = {
      backend: 'file',
      path: settings.string('path'),
      missing: settings.oneOf('missing', ['error', 'query-only'] as const, 'error'),
    };
    settings.rejectUnknown();
    const info = await stat(values.path).catch(() => undefined);
    if (info === undefined || !info.isFile()) throw new O1Error('MISSING_FILE', 'the thoughts file does not exist', { file: values.path });
    const byId = new Map<string, string[]>();
    const byText = new Map<string, string[]>();
    const hash = createHash('sha256');
    for await (const entry of readThoughtsLines(values.path, { onText: (text) => hash.update(text).update('\n') })) {
      if (entry.query === undefined) throw new O1Error('MISSING_FIELD', '"query" must be a string', { file: values.path, line: entry.line, field: 'query' });
      if (entry.queryId !== undefined) byId.set(entry.queryId, entry.thoughts);
      byText.set(entry.query, entry.thoughts);
    }
    return new FileThinker(values, byId, byText, hash.digest('hex').slice(0, 16));
  }

  /** Queries in the file. */
  get size(): number {
    return this.byText.size;
  }

  /** The file's thoughts for each query (the first `n` when `n` is given); [] for a missing query with `missing: "query-only"`. */
  async think(queries: readonly ThinkerQuery[], options: GenerateOptions = {}): Promise<string[][]> {
    return queries.map((query) => {
      const thoughts = (query.id !== undefined && query.id !== '' ? this.byId.get(query.id) : undefined) ?? this.byText.get(query.text);
      if (thoughts === undefined) {
        if (this.settings.missing === 'query-only') return [];
        const which = query.id !== undefined && query.id !== '' ? `query ${query.id} (${JSON.stringify(query.text)})` : `query ${JSON.stringify(query.text)}`;
        throw new O1Error('MISSING_THOUGHT', `no thoughts for ${which}; set "missing": "query-only" to search such queries without thoughts`, { file: this.settings.path });
      }
      return options.n === undefined ? [...thoughts] : thoughts.slice(0, options.n);
    });
  }

  /** A file cannot write new text. */
  async generate(_prompts: readonly ThinkerPrompt[]): Promise<string[][]> {
    throw new O1Error('UNSUPPORTED_OP', 'the file thinker only looks thoughts up (think); it cannot generate text', { file: this.settings.path });
  }

  config(): ThinkerConfig {
    return { ...this.settings };
  }

  async close(): Promise<void> {}
}
