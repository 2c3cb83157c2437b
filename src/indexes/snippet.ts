/**
 * Search-result snippets with the query's terms marked: a window of a document's text that
 * holds the most distinct query terms, and the character ranges of the words that match a
 * query term. Words match as BM25 matches them (the index's analyzer: Lucene's
 * EnglishAnalyzer, so "running" marks "runs"), not by spelling.
 */
import { EnglishAnalyzer } from '../retrieval/analyzer/english.js';
import { scanTokens } from '../retrieval/analyzer/standard-tokenizer.js';

/** A snippet: plain text (`…` where the document was cut) and the marked words' ranges in it. */
export interface Snippet {
  text: string;
  /** [start, end) character offsets into `text`, in order. */
  highlights: [number, number][];
}

/** Options of {@link markedSnippet}. */
export interface SnippetOptions {
  /** Longest window of the document, in characters. Default 220. */
  maxChars?: number;
  /** Matches words to terms. Default a shared EnglishAnalyzer. */
  analyzer?: EnglishAnalyzer;
}

const ELLIPSIS = '…';
let sharedAnalyzer: EnglishAnalyzer | undefined;

/**
 * The snippet of `text` for `query`: the window of at most `maxChars` characters (cut at word
 * boundaries, starting up to a few words before its first match) holding the most distinct
 * query terms, whitespace collapsed, with every word that analyzes to a query term marked.
 * Without any match it is the start of the text.
 *
 * @example
 * markedSnippet('Dogs run when they are happy.', 'running dog')
 * // { text: 'Dogs run when they are happy.', highlights: [[0, 4], [5, 8]] }
 */
export function markedSnippet(text: string, query: string, options: SnippetOptions = {}): Snippet {
  const maxChars = options.maxChars ?? 220;
  const analyzer = options.analyzer ?? (sharedAnalyzer ??= new EnglishAnalyzer());
  const queryTerms = new Set(analyzer.analyze(query));
  const words: { start: number; end: number; term: string | null }[] = [];
  scanTokens(text, (start, end) => words.push({ start, end, term: analyzer.analyzeToken(text.slice(start, end)) }));
  const matched = words.map((word) => word.term !== null && queryTerms.has(word.term));
  // The best window starts at a matched word: the most distinct terms, then the most matches, then the earliest.
  let first = 0;
  if (text.length > maxChars) {
    let best = { distinct: 0, count: 0 };
    const lead = Math.floor(maxChars / 5);
    words.forEach((word, index) => {
      if (!matched[index]) return;
      const terms = new Set<string>();
      let count = 0;
      for (let next = index; next < words.length && words[next].end - word.start <= maxChars - lead; next++) {
        if (!matched[next]) continue;
        terms.add(words[next].term as string);
        count++;
      }
      if (terms.size > best.distinct || (terms.size === best.distinct && count > best.count)) {
        best = { distinct: terms.size, count };
        first = index;
      }
    });
    // A little context before the first match.
    const anchor = words[first]?.start ?? 0;
    while (first > 0 && anchor - words[first - 1].start <= lead) first--;
  }
  const start = first === 0 ? 0 : words[first].start;
  let last = first;
  while (last < words.length && words[last].end - start <= maxChars) last++;
  // A single word longer than the window is kept whole.
  if (last === first && first < words.length) last = first + 1;
  const end = last >= words.length ? text.length : words[last - 1].end;
  let output = start > 0 ? ELLIPSIS : '';
  const highlights: [number, number][] = [];
  let copied = start;
  for (let index = first; index < last; index++) {
    const word = words[index];
    const gap = text.slice(copied, word.start).replace(/\s+/g, ' ');
    output += output.length === 0 ? gap.trimStart() : gap;
    if (matched[index]) highlights.push([output.length, output.length + (word.end - word.start)]);
    output += text.slice(word.start, word.end);
    copied = word.end;
  }
  output += text.slice(copied, end).replace(/\s+/g, ' ').trimEnd();
  if (end < text.length) output += ELLIPSIS;
  return { text: output, highlights };
}

/**
 * A snippet's text with each highlight wrapped by `mark` (e.g. «term», or ANSI bold).
 *
 * @example
 * formatSnippet({ text: 'Cats purr.', highlights: [[5, 9]] }, (word) => `«${word}»`) // 'Cats «purr».'
 */
export function formatSnippet(snippet: Snippet, mark: (word: string) => string): string {
  let output = '';
  let copied = 0;
  for (const [start, end] of snippet.highlights) {
    output += snippet.text.slice(copied, start) + mark(snippet.text.slice(start, end));
    copied = end;
  }
  return output + snippet.text.slice(copied);
}
