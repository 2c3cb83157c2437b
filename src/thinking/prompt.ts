/**
 * Prompts for thinkers that have no native thinking (LLMs behind `openai` or `llama-cpp`): the
 * official O1 exploration prompt (src/synth/prompts.ts, character for character) with few-shot
 * examples drawn from training records, or a template of the user's with `{query}`, `{examples}`
 * and `{task}` placeholders.
 */
import { createHash } from 'node:crypto';
import { O1Error } from '../errors.js';
import type { ChatMessage, ThinkerPrompt } from '../backends/thinker.js';
import { EXPLORATION_SYSTEM_MESSAGE, EXPLORATION_TASK, exampleBlock } from '../synth/prompts.js';
import type { TrainingRecord } from '../synth/records.js';
import { seededRandom } from '../util/random.js';

/** A prompt template: chat messages, or one text for completion models (`format: "text"`). */
export interface PromptTemplate {
  /** System message. Default: the official O1 one. */
  system?: string;
  /** The user message; `{query}`, `{examples}` and `{task}` are replaced. Required. */
  user: string;
}

/** How prompts are built. */
export interface PromptSettings {
  /** `o1` (the official exploration prompt) or a template. */
  prompt: 'o1' | PromptTemplate;
  /** `chat` (messages; default) or `text` (system and user joined by a blank line, for base models). */
  format: 'chat' | 'text';
  /** Few-shot records (query + first positive); none gives a zero-shot prompt. */
  examples: readonly TrainingRecord[];
  /** Records drawn per prompt. */
  exampleCount: number;
  /** Draws are seeded by (seed, query), so a query's prompt never depends on its batch. */
  seed: number;
}

const O1_TEMPLATE_WITH_EXAMPLES = 'Task: \n{task}\n\nExamples: \n{examples}\n\nQuery: \n{query}\nResponse: ';
const O1_TEMPLATE_ZERO_SHOT = 'Task: \n{task}\n\nQuery: \n{query}\nResponse: ';

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(query|examples|task)\}/g, (_, name: string) => values[name]);
}

/** A 32-bit seed from the settings' seed and the query text. */
function querySeed(seed: number, query: string): number {
  return createHash('sha256').update(`${seed}\n${query}`).digest().readUInt32LE(0);
}

/**
 * The prompt for one query.
 *
 * @example
 * buildThinkingPrompt('what causes tides', { prompt: 'o1', format: 'chat', examples: [], exampleCount: 3, seed: 0 })
 * // [{ role: 'system', content: 'You are a helpful assistant. ...' }, { role: 'user', content: 'Task: \nThink about ...\n\nQuery: \nwhat causes tides\nResponse: ' }]
 */
export function buildThinkingPrompt(query: string, settings: PromptSettings): ThinkerPrompt {
  const examples = settings.examples.length === 0 ? '' : exampleBlock(settings.examples, seededRandom(querySeed(settings.seed, query)), settings.exampleCount);
  const template = settings.prompt === 'o1'
    ? { system: EXPLORATION_SYSTEM_MESSAGE, user: examples === '' ? O1_TEMPLATE_ZERO_SHOT : O1_TEMPLATE_WITH_EXAMPLES }
    : settings.prompt;
  const system = template.system ?? EXPLORATION_SYSTEM_MESSAGE;
  const user = fill(template.user, { query, examples, task: EXPLORATION_TASK });
  if (settings.format === 'text') return system === '' ? user : `${system}\n\n${user}`;
  const messages: ChatMessage[] = system === '' ? [] : [{ role: 'system', content: system }];
  messages.push({ role: 'user', content: user });
  return messages;
}

/** A short hash of everything that decides a prompt, for the thought cache key. */
export function promptIdentity(settings: PromptSettings): string {
  const hash = createHash('sha256').update(JSON.stringify([settings.prompt, settings.format, settings.exampleCount, settings.seed]));
  for (const record of settings.examples) hash.update(`\n${record.query}\t${record.pos[0] ?? ''}`);
  return hash.digest('hex').slice(0, 16);
}

/** Validates a `prompt` config value. */
export function readPromptTemplate(value: unknown): 'o1' | PromptTemplate {
  if (value === undefined || value === 'o1') return 'o1';
  const template = value as PromptTemplate;
  if (typeof template !== 'object' || template === null || typeof template.user !== 'string' || !template.user.includes('{query}') ||
    (template.system !== undefined && typeof template.system !== 'string')) {
    throw new O1Error('BAD_ARGUMENT', 'prompt must be "o1" or { "system"?: string, "user": string with {query} (and optionally {examples}, {task}) }', { field: 'prompt' });
  }
  return { system: template.system, user: template.user };
}
