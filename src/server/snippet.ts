/**
 * Search-result snippets for `/v1/search`: the persistent index's marked snippets
 * (src/indexes/snippet.ts: the window with the most distinct query terms, words matched as BM25
 * matches them), as plain text plus the marked ranges.
 */
import { markedSnippet, type Snippet, type SnippetOptions } from '../indexes/snippet.js';

export type { Snippet, SnippetOptions };

/** Default snippet length of the server, in characters. */
export const DEFAULT_SNIPPET_CHARS = 200;

/**
 * The snippet text of `text` for `query` (`…` where the text was cut).
 *
 * @example
 * snippet('Tides are caused by the moon. The moon pulls the oceans, which bulge toward it.', 'what pulls oceans', { maxChars: 40 })
 * // '…The moon pulls the oceans, which bulge…'
 */
export function snippet(text: string, query: string, options: SnippetOptions = {}): string {
  return markedSnippet(text, query, { maxChars: DEFAULT_SNIPPET_CHARS, ...options }).text;
}

/** The snippet with the character ranges of the words matching a query term. */
export function highlightedSnippet(text: string, query: string, options: SnippetOptions = {}): Snippet {
  return markedSnippet(text, query, { maxChars: DEFAULT_SNIPPET_CHARS, ...options });
}
