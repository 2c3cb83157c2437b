/**
 * Small, deterministic implementations of the Thinker and Embedder seams for the thinking tests:
 * a thinker that answers from a script and records every prompt and call, and an embedder of
 * hashed bags of words. They implement the real interfaces (src/backends/thinker.ts,
 * src/backends/embedder.ts), so the code under test cannot tell them from a backend.
 */
import type { DocumentInput, EmbedOptions, Embedder, EmbedderConfig, EmbeddingResult, QueryInput } from '../../src/backends/embedder.js';
import { documentText, queryText } from '../../src/backends/inputs.js';
import type { GenerateOptions, Thinker, ThinkerConfig, ThinkerPrompt, ThinkerQuery } from '../../src/backends/thinker.js';
import { l2NormalizeInPlace } from '../../src/util/vectors.js';

/** The query a prompt asks about: what follows the last `Query: \n`, or the whole text. */
export function promptQuery(prompt: ThinkerPrompt): string {
  const text = typeof prompt === 'string' ? prompt : [...prompt].reverse().find((message) => message.role === 'user')?.content ?? '';
  const match = /Query: \n([\s\S]*)\nResponse: $/.exec(text);
  return match === null ? text : match[1];
}

/**
 * A prompted thinker (no native `think`): completion i of a prompt is `answer(query, i)`, the
 * query read back from the prompt. Records each prompt and each call's options.
 *
 * @example
 * const thinker = new ScriptedThinker();
 * await thinker.generate(['what causes tides'], { n: 2 }); // [[' thought 0 about what causes tides ', ...]]
 */
export class ScriptedThinker implements Thinker {
  readonly backend = 'scripted';
  readonly model = 'scripted';
  readonly prompts: ThinkerPrompt[] = [];
  readonly calls: { prompts: number; options: GenerateOptions }[] = [];

  constructor(
    private readonly answer: (query: string, sample: number) => string = (query, sample) => ` thought ${sample} about ${query} `,
    readonly identity = 'scripted:1',
  ) {}

  async generate(prompts: readonly ThinkerPrompt[], options: GenerateOptions = {}): Promise<string[][]> {
    this.calls.push({ prompts: prompts.length, options: { ...options } });
    this.prompts.push(...prompts);
    return prompts.map((prompt) => Array.from({ length: options.n ?? 1 }, (_, sample) => this.answer(promptQuery(prompt), sample)));
  }

  config(): ThinkerConfig {
    return { backend: 'scripted' };
  }

  async close(): Promise<void> {}
}

/**
 * A natively thinking thinker with fixed thoughts per query text (queries it lacks get
 * `thought about {text}`); records the queries of each call. Register it to build it from a
 * config: `registerThinker('table-test', (config) => new TableThinker(config.thoughts))`.
 */
export class TableThinker implements Thinker {
  readonly backend = 'table-test';
  readonly model = 'table';
  readonly identity: string;
  readonly calls: ThinkerQuery[][] = [];
  closed = false;

  constructor(private readonly table: Readonly<Record<string, readonly string[]>> = {}) {
    this.identity = `table:${JSON.stringify(table)}`;
  }

  async think(queries: readonly ThinkerQuery[], options: GenerateOptions = {}): Promise<string[][]> {
    this.calls.push(queries.map((query) => ({ ...query })));
    return queries.map((query) => [...(this.table[query.text] ?? [`thought about ${query.text}`])].slice(0, options.n));
  }

  async generate(): Promise<string[][]> {
    throw new Error('TableThinker only thinks natively');
  }

  config(): ThinkerConfig {
    return { backend: 'table-test' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Lower-case words of a text. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

/** FNV-1a, 32 bits. */
function hash(word: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < word.length; index++) value = Math.imul(value ^ word.charCodeAt(index), 0x01000193) >>> 0;
  return value;
}

/** The hashed bag-of-words vector of a text: each word adds 1 at hash(word) mod `size`, then L2 normalisation. */
export function hashedVector(text: string, size: number): Float32Array {
  const vector = new Float32Array(size);
  for (const word of words(text)) vector[hash(word) % size] += 1;
  return l2NormalizeInPlace(vector);
}

/**
 * Hashed bag-of-words vectors (each word adds 1 at hash(word) mod dimension, then L2
 * normalisation): similar texts get similar vectors, deterministically, with no model. Queries
 * embed `text + " " + thought`, documents `title + " " + text` (src/backends/inputs.ts). Records
 * the texts of every call.
 */
export class HashedEmbedder implements Embedder {
  readonly backend = 'hashed-test';
  readonly model = 'hashed';
  readonly identity: string;
  readonly queryTexts: string[] = [];
  readonly documentTexts: string[] = [];

  constructor(private readonly size = 256) {
    this.identity = `hashed:${size}`;
  }

  /** The vector of one text (what the embedder returns for it). */
  vector(text: string): Float32Array {
    return hashedVector(text, this.size);
  }

  async dimension(): Promise<number> {
    return this.size;
  }

  async embedQueries(queries: readonly QueryInput[], options: EmbedOptions = {}): Promise<EmbeddingResult> {
    const texts = queries.map((query) => queryText(query));
    this.queryTexts.push(...texts);
    options.onProgress?.(texts.length, texts.length);
    return { vectors: texts.map((text) => this.vector(text)), usage: { tokens: texts.reduce((sum, text) => sum + words(text).length, 0) } };
  }

  async embedDocuments(documents: readonly DocumentInput[], options: EmbedOptions = {}): Promise<EmbeddingResult> {
    const texts = documents.map((document) => documentText(document));
    this.documentTexts.push(...texts);
    options.onProgress?.(texts.length, texts.length);
    return { vectors: texts.map((text) => this.vector(text)), usage: { tokens: texts.reduce((sum, text) => sum + words(text).length, 0) } };
  }

  config(): EmbedderConfig {
    return { backend: 'hashed-test', size: this.size };
  }

  async close(): Promise<void> {}
}
