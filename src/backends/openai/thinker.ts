import { O1Error } from '../../errors.js';
import { Settings } from '../settings.js';
import type { ChatMessage, GenerateOptions, Thinker, ThinkerConfig, ThinkerPrompt } from '../thinker.js';
import { OpenAiClient, type OpenAiClientOptions } from './client.js';
import { clientSettings, type OpenAiConnectionConfig } from './connection.js';

/** Settings of the `openai` thinker (JSON config keys). */
export interface OpenAiThinkerConfig extends OpenAiConnectionConfig {
  backend: 'openai';
  /** Model name sent with every request. Required. */
  model: string;
  /** `chat` (`/chat/completions`, default) or `completions` (`/completions`, text prompts only). */
  endpoint?: 'chat' | 'completions';
}

interface Choice {
  index?: number;
  text?: string;
  message?: { content?: string | null };
}

/** Tries per prompt to top up choices from servers that ignore `n` (llama.cpp's server does). */
const TOP_UP_TRIES = 4;

/**
 * A thinker behind an OpenAI-compatible endpoint. One request per prompt, asking for all `n`
 * completions at once; a server that returns fewer choices is asked again for the rest.
 *
 * @example
 * const thinker = new OpenAiThinker({ backend: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'llama-3.1-70b' });
 * const [[thought]] = await thinker.generate([[{ role: 'user', content: 'Hi' }]], { maxTokens: 64 });
 */
export class OpenAiThinker implements Thinker {
  readonly backend = 'openai';
  readonly model: string;
  readonly identity: string;
  readonly client: OpenAiClient;
  private readonly settings: Omit<OpenAiThinkerConfig, 'apiKey'>;

  constructor(config: OpenAiThinkerConfig | ThinkerConfig) {
    const settings = new Settings(config, 'openai thinker');
    const connection = clientSettings(settings);
    this.model = settings.string('model');
    const endpoint = settings.oneOf('endpoint', ['chat', 'completions'] as const, 'chat');
    settings.rejectUnknown();
    this.client = new OpenAiClient(connection.client);
    this.settings = { backend: 'openai', model: this.model, endpoint, ...connection.public };
    this.identity = `openai:${connection.public.baseUrl}:${this.model}:${endpoint}`;
  }

  async generate(prompts: readonly ThinkerPrompt[], options: GenerateOptions = {}): Promise<string[][]> {
    const n = options.n ?? 1;
    return Promise.all(prompts.map((prompt) => this.generateOne(prompt, n, options)));
  }

  config(): ThinkerConfig {
    return { ...this.settings };
  }

  async close(): Promise<void> {
    // fetch keeps no state we own.
  }

  private async generateOne(prompt: ThinkerPrompt, n: number, options: GenerateOptions): Promise<string[]> {
    const texts: string[] = [];
    for (let round = 0; texts.length < n && round < TOP_UP_TRIES; round++) {
      const wanted = n - texts.length;
      // A top-up round gets its own seed, else a seeded server would repeat the same text.
      const seed = options.seed === undefined ? undefined : options.seed + texts.length;
      texts.push(...(await this.request(prompt, wanted, seed, options)).slice(0, wanted));
    }
    if (texts.length < n) throw new O1Error('GENERATION_FAILED', `${this.client.baseUrl}: asked for ${n} completions, got ${texts.length}`);
    return texts;
  }

  private async request(prompt: ThinkerPrompt, n: number, seed: number | undefined, options: GenerateOptions): Promise<string[]> {
    const endpoint = this.settings.endpoint ?? 'chat';
    const body: Record<string, unknown> = { model: this.model, n };
    if (options.temperature !== undefined) body.temperature = options.temperature;
    if (options.topP !== undefined) body.top_p = options.topP;
    if (options.maxTokens !== undefined) body.max_tokens = options.maxTokens;
    if (seed !== undefined) body.seed = seed;
    if (options.stop !== undefined && options.stop.length > 0) body.stop = [...options.stop];
    let path: string;
    if (endpoint === 'chat') {
      path = '/chat/completions';
      body.messages = typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt.map(({ role, content }: ChatMessage) => ({ role, content }));
    } else {
      if (typeof prompt !== 'string') throw new O1Error('BAD_ARGUMENT', 'the completions endpoint takes text prompts; use "endpoint": "chat" for chat messages', { field: 'endpoint' });
      path = '/completions';
      body.prompt = prompt;
    }
    const answer = await this.client.post<{ choices?: Choice[] }>(path, body, options.signal);
    if (!Array.isArray(answer.choices)) throw new O1Error('HTTP_ERROR', `${this.client.baseUrl}${path}: answer has no choices`, { field: 'choices' });
    const choices = [...answer.choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return choices.map((choice) => (endpoint === 'chat' ? choice.message?.content ?? '' : choice.text ?? ''));
  }
}

export type { OpenAiClientOptions };
