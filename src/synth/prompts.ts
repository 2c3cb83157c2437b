/**
 * The exploration prompt of the official data-synthesis script, character for character
 * (o1-method.md §5.1: typos and whitespace included; do not "fix" them, the released thoughts
 * were generated with these exact strings).
 */
import type { ChatMessage } from '../backends/thinker.js';
import type { TrainingRecord } from './records.js';

/** The expert's system message (sic: "anwer", "should be follow"). */
export const EXPLORATION_SYSTEM_MESSAGE =
  "You are a helpful assistant. Your anwer should be follow the task description. Do not ask the user for further clarification. Don't repeat the query, just give the response.";

/** The task line. */
export const EXPLORATION_TASK = 'Think about a plausible response to address the query.';

/** Training records drawn as few-shot examples per candidate. */
export const EXAMPLES_PER_PROMPT = 3;

/** Longest example block, in characters (Python: code points). */
export const MAX_EXAMPLE_CHARACTERS = 20_480;

/**
 * The user message: `'Task: \n{task}\n\nExamples: \n{example}\n\nQuery: \n{query}\nResponse: '`.
 *
 * @example
 * explorationUserMessage('what is rba', 'Query: q\nResponse: p')
 * // 'Task: \nThink about a plausible response to address the query.\n\nExamples: \nQuery: q\nResponse: p\n\nQuery: \nwhat is rba\nResponse: '
 */
export function explorationUserMessage(query: string, example: string, task = EXPLORATION_TASK): string {
  return `Task: \n${task}\n\nExamples: \n${example}\n\nQuery: \n${query}\nResponse: `;
}

/**
 * The few-shot block: `count` records drawn uniformly with replacement (Python's
 * `random.choices`), each `Query: {query}\nResponse: {pos[0]}`, joined by `\n`, cut to
 * `maxCharacters` code points.
 *
 * @example
 * exampleBlock(records, seededRandom(1)) // 'Query: ...\nResponse: ...\nQuery: ...'
 */
export function exampleBlock(records: readonly TrainingRecord[], random: () => number, count = EXAMPLES_PER_PROMPT, maxCharacters = MAX_EXAMPLE_CHARACTERS): string {
  const examples: string[] = [];
  for (let index = 0; index < count; index++) {
    const record = records[Math.floor(random() * records.length)];
    examples.push(`Query: ${record.query}\nResponse: ${record.pos[0]}`);
  }
  return truncateCodePoints(examples.join('\n'), maxCharacters);
}

/**
 * The chat messages for one candidate thought of `query`.
 *
 * @example
 * explorationMessages('what is rba', exampleBlock(records, random))
 * // [{ role: 'system', content: EXPLORATION_SYSTEM_MESSAGE }, { role: 'user', content: 'Task: \n...' }]
 */
export function explorationMessages(query: string, example: string): ChatMessage[] {
  return [
    { role: 'system', content: EXPLORATION_SYSTEM_MESSAGE },
    { role: 'user', content: explorationUserMessage(query, example) },
  ];
}

/** `text[:limit]` as Python slices a str: by code points, never splitting a surrogate pair. */
export function truncateCodePoints(text: string, limit: number): string {
  if (text.length <= limit) return text; // UTF-16 length >= code points
  let points = 0;
  let index = 0;
  while (index < text.length && points < limit) {
    const code = text.charCodeAt(index);
    index += code >= 0xd800 && code <= 0xdbff && index + 1 < text.length ? 2 : 1;
    points += 1;
  }
  return text.slice(0, index);
}
