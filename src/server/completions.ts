/**
 * The thinker proxy: OpenAI's `/v1/chat/completions` and `/v1/completions` (non-streaming)
 * over any {@link Thinker}, as `o1e serve` answered them before the server moved to Fastify.
 * Request bodies are read into {@link GenerateOptions}; problems are HttpProblems naming the field.
 */
import { randomUUID } from 'node:crypto';
import type { ChatMessage, GenerateOptions, Thinker } from '../backends/thinker.js';
import { HttpProblem } from './problems.js';

/** Counts of completions served (kept for callers that check work was not redone). */
export interface CompletionCounts {
  completions: number;
  emptyCompletions: number;
}

/**
 * Answers a chat (`kind` 'chat') or text completion request.
 *
 * @example
 * await completions(thinker, { messages: [{ role: 'user', content: 'Hi' }], n: 2 }, 'chat', { maxN: 16, counts, signal })
 */
export async function completions(thinker: Thinker, body: Record<string, unknown>, kind: 'chat' | 'text', options: { maxN: number; counts: CompletionCounts; signal?: AbortSignal }): Promise<unknown> {
  if (body.stream === true) throw new HttpProblem(400, 'streaming is not supported', { param: 'stream' });
  const generateOptions: GenerateOptions = { ...samplingOptions(body, options.maxN), signal: options.signal };
  const n = generateOptions.n ?? 1;
  const created = Math.floor(Date.now() / 1000);
  const count = (texts: string[]): void => {
    options.counts.completions += texts.length;
    options.counts.emptyCompletions += texts.filter((text) => text.trim() === '').length;
  };
  if (kind === 'chat') {
    const messages = chatMessages(body.messages);
    const [texts] = await thinker.generate([messages], generateOptions);
    count(texts);
    return {
      id: `chatcmpl-${randomUUID()}`, object: 'chat.completion', created, model: thinker.model,
      choices: texts.map((content, index) => ({ index, message: { role: 'assistant', content }, logprobs: null, finish_reason: 'stop' })),
    };
  }
  const prompts = textPrompts(body.prompt);
  const results = await thinker.generate(prompts, generateOptions);
  results.forEach(count);
  return {
    id: `cmpl-${randomUUID()}`, object: 'text_completion', created, model: thinker.model,
    // OpenAI's layout: the n choices of prompt p are at indices p * n .. p * n + n - 1.
    choices: results.flatMap((texts, prompt) => texts.map((text, index) => ({ index: prompt * n + index, text, logprobs: null, finish_reason: 'stop' }))),
  };
}

function samplingOptions(body: Record<string, unknown>, maxN: number): GenerateOptions {
  const options: GenerateOptions = {};
  const n = optionalNumber(body, 'n');
  if (n !== undefined) {
    if (!Number.isInteger(n) || n < 1 || n > maxN) throw new HttpProblem(400, `'n' must be an integer from 1 to ${maxN}`, { param: 'n' });
    options.n = n;
  }
  const temperature = optionalNumber(body, 'temperature');
  if (temperature !== undefined) {
    if (temperature < 0) throw new HttpProblem(400, "'temperature' must be >= 0", { param: 'temperature' });
    options.temperature = temperature;
  }
  const topP = optionalNumber(body, 'top_p');
  if (topP !== undefined) {
    if (topP <= 0 || topP > 1) throw new HttpProblem(400, "'top_p' must be in (0, 1]", { param: 'top_p' });
    options.topP = topP;
  }
  const maxTokens = optionalNumber(body, 'max_completion_tokens') ?? optionalNumber(body, 'max_tokens');
  if (maxTokens !== undefined) {
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new HttpProblem(400, "'max_tokens' must be a positive integer", { param: 'max_tokens' });
    options.maxTokens = maxTokens;
  }
  const seed = optionalNumber(body, 'seed');
  if (seed !== undefined) {
    if (!Number.isInteger(seed)) throw new HttpProblem(400, "'seed' must be an integer", { param: 'seed' });
    options.seed = seed;
  }
  const stop = body.stop;
  if (stop !== undefined && stop !== null) {
    const stops = typeof stop === 'string' ? [stop] : stop;
    if (!Array.isArray(stops) || !stops.every((item) => typeof item === 'string')) throw new HttpProblem(400, "'stop' must be a string or an array of strings", { param: 'stop' });
    options.stop = stops.filter((item) => item !== '');
  }
  return options;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new HttpProblem(400, `'${key}' must be a number`, { param: key });
  return value;
}

/** OpenAI messages (string content or text parts; `developer` counts as `system`) to ours. */
function chatMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpProblem(400, "'messages' must be a non-empty array", { param: 'messages' });
  return value.map((message: unknown, index) => {
    const { role, content } = (message ?? {}) as { role?: unknown; content?: unknown };
    const mapped = role === 'developer' ? 'system' : role;
    if (mapped !== 'system' && mapped !== 'user' && mapped !== 'assistant') throw new HttpProblem(400, `messages[${index}].role must be system, user or assistant`, { param: `messages[${index}].role` });
    let text: string;
    if (typeof content === 'string') text = content;
    else if (Array.isArray(content) && content.every((part) => part?.type === 'text' && typeof part.text === 'string')) text = content.map((part) => part.text as string).join('');
    else throw new HttpProblem(400, `messages[${index}].content must be a string or text parts`, { param: `messages[${index}].content` });
    return { role: mapped, content: text };
  });
}

function textPrompts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')) return value as string[];
  throw new HttpProblem(400, "'prompt' must be a string or a non-empty array of strings (token arrays are not supported)", { param: 'prompt' });
}
