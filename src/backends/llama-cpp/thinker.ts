import { basename } from 'node:path';
import {
  LlamaCompletion,
  resolveChatWrapper,
  specializedChatWrapperTypeNames,
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaText,
  type Token,
} from 'node-llama-cpp';
import { randomInt } from 'node:crypto';
import { Settings } from '../settings.js';
import type { ChatMessage, GenerateOptions, Thinker, ThinkerConfig, ThinkerPrompt } from '../thinker.js';
import { acquireModel, type ModelLease } from './runtime.js';

/** Settings of the `llama-cpp` thinker (JSON config keys). */
export interface LlamaCppThinkerConfig {
  backend: 'llama-cpp';
  /** Path of the GGUF file. Required. */
  model: string;
  /** Name reported by servers. Default the file name without `.gguf`. */
  name?: string;
  /** CPU threads. Default 1 (llama.cpp's own default oversubscribes small machines badly). */
  threads?: number;
  /** Context window in tokens, per sequence. Default min(2048, the model's training context). */
  contextSize?: number;
  /** Generations run in parallel (context sequences). Default 1. */
  sequences?: number;
  /** Chat template: `auto` (from the GGUF) or one of node-llama-cpp's wrappers (`chatML`, `llama3.1`, ...). Default `auto`. */
  chatWrapper?: string;
  /** Defaults for requests that leave them unset. */
  temperature?: number;
  topP?: number;
  maxTokens?: number;
}

/**
 * A thinker running a GGUF model in-process through node-llama-cpp. Text prompts are completed as
 * they are (with BOS); chat prompts are rendered by the model's chat template. Each completion
 * starts from an empty sequence, so results do not depend on earlier requests.
 *
 * @example
 * const thinker = await LlamaCppThinker.create({ backend: 'llama-cpp', model: 'stories260K.gguf' });
 * const [[story]] = await thinker.generate(['Once upon a time'], { maxTokens: 32, seed: 1 });
 * await thinker.close();
 */
export class LlamaCppThinker implements Thinker {
  readonly backend = 'llama-cpp';
  private readonly free: LlamaContextSequence[];
  private readonly waiting: ((sequence: LlamaContextSequence) => void)[] = [];
  private closed = false;

  private constructor(
    readonly model: string,
    private readonly lease: ModelLease,
    private readonly context: LlamaContext,
    private readonly chatWrapper: ChatWrapper,
    private readonly defaults: Required<Pick<LlamaCppThinkerConfig, 'temperature' | 'topP' | 'maxTokens'>>,
    private readonly settings: ThinkerConfig,
  ) {
    this.free = Array.from({ length: context.totalSequences }, () => context.getSequence());
  }

  /** Loads the model and creates its context. */
  static async create(config: LlamaCppThinkerConfig | ThinkerConfig): Promise<LlamaCppThinker> {
    const settings = new Settings(config, 'llama-cpp thinker');
    const path = settings.string('model');
    const name = settings.string('name', basename(path).replace(/\.gguf$/i, ''));
    const threads = settings.integer('threads', 1, 1);
    const requestedContext = settings.optionalInteger('contextSize', 16);
    const sequences = settings.integer('sequences', 1, 1);
    const chatWrapperName = settings.oneOf('chatWrapper', ['auto', ...specializedChatWrapperTypeNames] as const, 'auto');
    const defaults = {
      temperature: settings.number('temperature', 0.8, 0),
      topP: settings.number('topP', 0.95, 0),
      maxTokens: settings.integer('maxTokens', 256, 1),
    };
    settings.rejectUnknown();
    const lease = await acquireModel(path);
    try {
      const contextSize = requestedContext ?? Math.min(2048, lease.model.trainContextSize);
      const context = await lease.model.createContext({ threads, contextSize, sequences });
      const chatWrapper = resolveChatWrapper(lease.model, chatWrapperName === 'auto' ? {} : { type: chatWrapperName });
      const publicSettings: ThinkerConfig = { backend: 'llama-cpp', model: path, name, threads, contextSize, sequences, chatWrapper: chatWrapperName, ...defaults };
      return new LlamaCppThinker(name, lease, context, chatWrapper, defaults, publicSettings);
    } catch (error) {
      await lease.release();
      throw error;
    }
  }

  async generate(prompts: readonly ThinkerPrompt[], options: GenerateOptions = {}): Promise<string[][]> {
    const n = options.n ?? 1;
    return Promise.all(prompts.map((prompt) => {
      const input = this.render(prompt);
      const baseSeed = options.seed ?? randomInt(0, 2 ** 31 - 1);
      return Promise.all(Array.from({ length: n }, (_, index) => this.complete(input.tokens, input.stop, baseSeed + index, options)));
    }));
  }

  config(): ThinkerConfig {
    return { ...this.settings };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.context.dispose();
    await this.lease.release();
  }

  /** Tokens of the prompt without BOS (the completion adds it) and the template's stop strings. */
  private render(prompt: ThinkerPrompt): { tokens: Token[]; stop: readonly LlamaText[] } {
    const model = this.lease.model;
    if (typeof prompt === 'string') return { tokens: model.tokenize(prompt, false), stop: [] };
    const history: ChatHistoryItem[] = prompt.map(toHistoryItem);
    history.push({ type: 'model', response: [] });
    const state = this.chatWrapper.generateContextState({ chatHistory: history });
    const tokens = state.contextText.tokenize(model.tokenizer);
    // The template writes BOS itself, and LlamaCompletion prepends one too: keep one (o1-method §7).
    if (model.tokens.bos !== null && tokens[0] === model.tokens.bos) tokens.shift();
    return { tokens, stop: state.stopGenerationTriggers };
  }

  private async complete(tokens: Token[], templateStops: readonly LlamaText[], seed: number, options: GenerateOptions): Promise<string> {
    const sequence = await this.takeSequence();
    try {
      await sequence.clearHistory();
      const completion = new LlamaCompletion({ contextSequence: sequence });
      try {
        return await completion.generateCompletion(tokens, {
          maxTokens: options.maxTokens ?? this.defaults.maxTokens,
          temperature: options.temperature ?? this.defaults.temperature,
          topP: options.topP ?? this.defaults.topP,
          seed,
          signal: options.signal,
          customStopTriggers: [...templateStops, ...(options.stop ?? [])],
        });
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    } finally {
      this.giveBack(sequence);
    }
  }

  private takeSequence(): Promise<LlamaContextSequence> {
    const sequence = this.free.pop();
    if (sequence !== undefined) return Promise.resolve(sequence);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private giveBack(sequence: LlamaContextSequence): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(sequence);
    else this.free.push(sequence);
  }
}

function toHistoryItem(message: ChatMessage): ChatHistoryItem {
  if (message.role === 'system') return { type: 'system', text: message.content };
  if (message.role === 'user') return { type: 'user', text: message.content };
  return { type: 'model', response: [message.content] };
}
