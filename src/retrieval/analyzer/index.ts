export { EnglishAnalyzer, ENGLISH_STOP_WORDS, lowerCase, removePossessive } from './english.js';
export type { Analyzer, EnglishAnalyzerOptions } from './english.js';
export { porterStem } from './porter-stemmer.js';
export { MAX_TOKEN_LENGTH, scanTokens, tokenize } from './standard-tokenizer.js';

import { O1Error } from '../../errors.js';
import { EnglishAnalyzer as English, type Analyzer as AnalyzerType } from './english.js';

/** Analyzer names accepted in configs and index files. */
export const ANALYZER_NAMES = ['english'] as const;

/**
 * Creates an analyzer by name (the name stored in configs and index files).
 *
 * @example
 * createAnalyzer('english').analyze('Running dogs') // ['run', 'dog']
 */
export function createAnalyzer(name: string): AnalyzerType {
  if (name === 'english') return new English();
  throw new O1Error('BAD_ARGUMENT', `unknown analyzer "${name}"; known: ${ANALYZER_NAMES.join(', ')}`, { field: 'analyzer' });
}
