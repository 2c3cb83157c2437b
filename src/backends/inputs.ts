/**
 * How backends without a layout of their own turn {@link QueryInput}s and {@link DocumentInput}s
 * into texts: optional prefixes (`query: ` / `passage: ` for E5, `search_query: ` for Nomic),
 * the document's title and text joined by a separator, and a query's thought appended after the
 * query. One definition, read from the same config keys by every backend.
 */
import { O1Error } from '../errors.js';
import type { DocumentInput, EmbedOptions, QueryInput } from './embedder.js';
import type { Settings } from './settings.js';

/** The text settings shared by plain embedders (config keys of the same names). */
export interface TextSettings {
  /** Put before every query. Default ''. */
  queryPrefix: string;
  /** Put before every document. Default ''. */
  documentPrefix: string;
  /** Between a document's title and text (an empty title adds nothing). Default ' '. */
  titleSeparator: string;
  /** Between a query and its thought. Default ' '. */
  thoughtSeparator: string;
}

/** The defaults of {@link TextSettings}. */
export const DEFAULT_TEXT_SETTINGS: TextSettings = { queryPrefix: '', documentPrefix: '', titleSeparator: ' ', thoughtSeparator: ' ' };

/**
 * Reads `queryPrefix`, `documentPrefix`, `titleSeparator` and `thoughtSeparator` from a config.
 *
 * @example
 * readTextSettings(new Settings({ backend: 'openai', queryPrefix: 'query: ' }, 'openai embedder'))
 * // { queryPrefix: 'query: ', documentPrefix: '', titleSeparator: ' ', thoughtSeparator: ' ' }
 */
export function readTextSettings(settings: Settings): TextSettings {
  return {
    queryPrefix: settings.optionalString('queryPrefix') ?? DEFAULT_TEXT_SETTINGS.queryPrefix,
    documentPrefix: settings.optionalString('documentPrefix') ?? DEFAULT_TEXT_SETTINGS.documentPrefix,
    titleSeparator: settings.optionalString('titleSeparator') ?? DEFAULT_TEXT_SETTINGS.titleSeparator,
    thoughtSeparator: settings.optionalString('thoughtSeparator') ?? DEFAULT_TEXT_SETTINGS.thoughtSeparator,
  };
}

/** The non-default text settings, for a backend's `config()`. */
export function textSettingsConfig(text: TextSettings): Partial<TextSettings> {
  const config: Partial<TextSettings> = {};
  for (const key of Object.keys(DEFAULT_TEXT_SETTINGS) as (keyof TextSettings)[]) {
    if (text[key] !== DEFAULT_TEXT_SETTINGS[key]) config[key] = text[key];
  }
  return config;
}

/** A query's text and thought (`thought` '' when it has none). */
export function splitQuery(query: QueryInput): { text: string; thought: string } {
  if (typeof query === 'string') return { text: query, thought: '' };
  if (typeof query !== 'object' || query === null || typeof query.text !== 'string') throw new O1Error('BAD_ARGUMENT', 'a query is a string or { text, thought? }', { field: 'text' });
  if (query.thought !== undefined && typeof query.thought !== 'string') throw new O1Error('BAD_ARGUMENT', 'a query\'s thought must be a string', { field: 'thought' });
  return { text: query.text, thought: query.thought ?? '' };
}

/** A document's title and text (`title` '' when it has none). */
export function splitDocument(document: DocumentInput): { title: string; text: string } {
  if (typeof document === 'string') return { title: '', text: document };
  if (typeof document !== 'object' || document === null || typeof document.text !== 'string') throw new O1Error('BAD_ARGUMENT', 'a document is a string or { title?, text }', { field: 'text' });
  if (document.title !== undefined && typeof document.title !== 'string') throw new O1Error('BAD_ARGUMENT', 'a document\'s title must be a string', { field: 'title' });
  return { title: document.title ?? '', text: document.text };
}

/**
 * The text a plain embedder embeds for a query: prefix + query, then separator + thought when
 * there is one.
 *
 * @example
 * queryText({ text: 'what causes tides', thought: 'The moon.' }, { ...DEFAULT_TEXT_SETTINGS, queryPrefix: 'query: ' })
 * // 'query: what causes tides The moon.'
 */
export function queryText(query: QueryInput, text: TextSettings = DEFAULT_TEXT_SETTINGS): string {
  const parts = splitQuery(query);
  return parts.thought === '' ? `${text.queryPrefix}${parts.text}` : `${text.queryPrefix}${parts.text}${text.thoughtSeparator}${parts.thought}`;
}

/**
 * The text a plain embedder embeds for a document: prefix + title + separator + text (no
 * separator for an empty title).
 *
 * @example
 * documentText({ title: 'Tides', text: 'The moon pulls.' }) // 'Tides The moon pulls.'
 */
export function documentText(document: DocumentInput, text: TextSettings = DEFAULT_TEXT_SETTINGS): string {
  const parts = splitDocument(document);
  return parts.title === '' ? `${text.documentPrefix}${parts.text}` : `${text.documentPrefix}${parts.title}${text.titleSeparator}${parts.text}`;
}

export { throwIfCancelled } from '../util/cancel.js';
import { throwIfCancelled } from '../util/cancel.js';

/**
 * Runs `embed` over `texts` in batches of `batchSize`, checking the signal between batches and
 * reporting progress; concatenates vectors and sums tokens.
 *
 * @example
 * await embedInBatches(texts, 32, options, 'engine embedder', async (batch) => ({ vectors: await run(batch), usage: { tokens: 0 } }));
 */
export async function embedInBatches<T>(
  items: readonly T[],
  batchSize: number,
  options: EmbedOptions | undefined,
  what: string,
  embed: (batch: readonly T[]) => Promise<{ vectors: Float32Array[]; usage: { tokens: number } }>,
): Promise<{ vectors: Float32Array[]; usage: { tokens: number } }> {
  const vectors: Float32Array[] = [];
  let tokens = 0;
  for (let start = 0; start < items.length; start += batchSize) {
    throwIfCancelled(options?.signal, what);
    const result = await embed(items.slice(start, start + batchSize));
    vectors.push(...result.vectors);
    tokens += result.usage.tokens;
    options?.onProgress?.(vectors.length, items.length);
  }
  return { vectors, usage: { tokens } };
}
