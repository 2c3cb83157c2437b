/**
 * Search-result snippets: a short window of a document's text around the query's terms.
 * Words are matched as BM25 matches them (Lucene's EnglishAnalyzer: "running" finds "runs"),
 * and the window is the stretch of at most `maxChars` characters that holds the most distinct
 * query terms, started a few words before its first match and cut at word boundaries.
 */
import { EnglishAnalyzer } from '../retrieval/analyzer/english.js';
import { scanTokens } from '../retrieval/analyzer/standard-tokenizer.js';

/** Options of {@link snippet}. */
export interface SnippetOptions {
  /** Longest snippet, in characters, before the ellipses. Default 200. */
  maxChars?: number;
  /** The analyzer matching words. Default a shared EnglishAnalyzer. */
  analyzer?: EnglishAnalyzer;
}

const ELLIPSIS = '…';
/** Characters of context kept before the first matched word (at most a quarter of the snippet). */
const LEAD = 40;
let sharedAnalyzer: EnglishAnalyzer | undefined;

/**
 * The snippet of `text` for `query`: the best window, with `…` where text was cut; the start
 * of the text when no query term occurs in it.
 *
 * @example
 * snippet('Tides are caused by the moon. The moon pulls the oceans, which bulge toward it.', 'what pulls oceans', { maxChars: 40 })
 * // '…The moon pulls the oceans, which bulge…'
 */
export function snippet(text: string, query: string, options: SnippetOptions = {}): string {
  const maxChars = options.maxChars ?? 200;
  const analyzer = options.analyzer ?? (sharedAnalyzer ??= new EnglishAnalyzer());
  const queryTerms = new Set(analyzer.analyze(query));
  const words: { start: number; end: number; term: string | null }[] = [];
  scanTokens(text, (start, end) => words.push({ start, end, term: null }));
  const matches: number[] = [];
  words.forEach((word, index) => {
    const term = analyzer.analyzeToken(text.slice(word.start, word.end));
    word.term = term;
    if (term !== null && queryTerms.has(term)) matches.push(index);
  });
  if (matches.length === 0 || text.length <= maxChars) return cut(text, 0, maxChars, words);
  const lead = Math.min(LEAD, Math.floor(maxChars / 4));
  // Two pointers over the matched words: the window starting at each match, scored by distinct terms, then matches.
  let best = { first: matches[0], distinct: 0, count: 0 };
  let last = 0;
  const counts = new Map<string, number>();
  for (let first = 0; first < matches.length; first++) {
    const startAt = words[matches[first]].start;
    while (last < matches.length && words[matches[last]].end - startAt <= maxChars - lead) {
      const term = words[matches[last]].term as string;
      counts.set(term, (counts.get(term) ?? 0) + 1);
      last += 1;
    }
    const distinct = counts.size;
    const count = last - first;
    if (distinct > best.distinct || (distinct === best.distinct && count > best.count)) best = { first: matches[first], distinct, count };
    const leaving = words[matches[first]].term as string;
    const left = (counts.get(leaving) ?? 1) - 1;
    if (left === 0) counts.delete(leaving);
    else counts.set(leaving, left);
  }
  // Back off to the start of a word at most LEAD characters before the first match.
  const anchor = words[best.first].start;
  let start = anchor;
  for (let index = best.first; index >= 0 && anchor - words[index].start <= lead; index--) start = words[index].start;
  // Prefer the start of the sentence when it is that close.
  const sentence = Math.max(text.lastIndexOf('. ', anchor - 1) + 2, 0);
  if (sentence > 1 && anchor - sentence <= lead && sentence <= anchor) start = Math.min(start, sentence);
  return cut(text, start, maxChars, words);
}

/** `maxChars` characters of `text` from `start`, ended at a word boundary, with ellipses where cut. */
function cut(text: string, start: number, maxChars: number, words: readonly { start: number; end: number }[]): string {
  let end = Math.min(text.length, start + maxChars);
  if (end < text.length) {
    // End after the last whole word that fits.
    let wordEnd = start;
    for (const word of words) {
      if (word.start < start) continue;
      if (word.end > end) break;
      wordEnd = word.end;
    }
    if (wordEnd > start) end = wordEnd;
  }
  const body = text.slice(start, end).replace(/\s+/g, ' ').trim();
  return `${start > 0 ? ELLIPSIS : ''}${body}${end < text.length ? ELLIPSIS : ''}`;
}
