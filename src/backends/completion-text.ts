/**
 * Text rules shared by the thinkers that generate in-process (engine, llama-cpp) and the recipe:
 * how a chat prompt reads to a model without a chat template, and where stop strings cut.
 */
import type { ChatMessage, ThinkerPrompt } from './thinker.js';

/**
 * The text of a prompt for a plain model: chat messages joined by blank lines (no chat template).
 *
 * @example
 * plainPromptText([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]) // 'Be brief.\n\nHi'
 */
export function plainPromptText(prompt: ThinkerPrompt): string {
  return typeof prompt === 'string' ? prompt : prompt.map((message: ChatMessage) => message.content).join('\n\n');
}

/**
 * Cuts a completion at the first of the stop strings (the stop itself left out; empty stops ignored).
 *
 * @example
 * cutAtStop('The moon.\nQuery: next', ['\nQuery:']) // 'The moon.'
 */
export function cutAtStop(text: string, stops: readonly string[] | undefined): string {
  let end = text.length;
  for (const stop of stops ?? []) {
    const at = stop.length === 0 ? -1 : text.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  return text.slice(0, end);
}
