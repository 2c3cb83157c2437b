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
import { O1Error } from '../../errors.js';
import { checkSamplingOptions, DEFAULT_SAMPLING, sampleToken } from '../../inference/sampling.js';
import { modelIdentity } from '../../util/model-identity.js';
import { deriveSeed, SeededRandom } from '../../util/random.js';
import { throwIfCancelled } from '../inputs.js';
import { cutAtStop } from '../completion-text.js';
import { Settings } from '../settings.js';
import type { ChatMessage, GenerateOptions, Thinker, ThinkerConfig, ThinkerPrompt, ThinkerQuery } from '../thinker.js';
import { hasLlamaCppO1Tokens, LlamaCppO1Layout } from './o1-layout.js';
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
  /**
   * `o1`: the model is an O1 Embedder and thinks natively ({@link LlamaCppThinker.think}: thoughts
   * from `<query>q</query><thought>`). `plain`: completion only. `auto` (default): `o1` when the
   * vocabulary has the four O1 tokens.
   */
  layout?: 'auto' | 'o1' | 'plain';
  /** Defaults for requests that leave them unset: O1 models 0.1 / 0.9 / 128 (o1-method.md §3), others 0.8 / 0.95 / 256. */
  temperature?: number;
  topP?: number;
  maxTokens?: number;
}

type SamplingDefaults = Required<Pick<LlamaCppThinkerConfig, 'temperature' | 'topP' | 'maxTokens'>>;

/**
 * O1 Embedder's thought sampling (o1-method.md §3), as the engine's sampler defaults it (src/thinking's
 * table sits above the backends, which it imports).
 */
const O1_SAMPLING: SamplingDefaults = { ...DEFAULT_SAMPLING, maxTokens: 128 };
/** Completion defaults of plain models. */
const PLAIN_SAMPLING: SamplingDefaults = { temperature: 0.8, topP: 0.95, maxTokens: 256 };

/**
 * A thinker running a GGUF model in-process through node-llama-cpp. Text prompts are completed as
 * they are (with BOS); chat prompts are rendered by the model's chat template. Each completion
 * starts from an empty sequence, so results do not depend on earlier requests. An O1 model also
 * thinks natively ({@link think}), exactly as the engine's O1 model does.
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
    readonly identity: string,
    private readonly lease: ModelLease,
    private readonly context: LlamaContext,
    private readonly chatWrapper: ChatWrapper,
    private readonly o1: LlamaCppO1Layout | undefined,
    private readonly defaults: SamplingDefaults,
    private readonly settings: ThinkerConfig,
  ) {
    this.free = Array.from({ length: context.totalSequences }, () => context.getSequence());
  }

  /**
   * Loads the model (shared with any embedder on the same file) and creates its context. Rejects
   * with O1Error BAD_ARGUMENT for bad settings, MISSING_FILE, and MISSING_SPECIAL_TOKENS for
   * `layout: "o1"` on a model without the O1 tokens.
   */
  static async create(config: LlamaCppThinkerConfig | ThinkerConfig): Promise<LlamaCppThinker> {
    const settings = new Settings(config, 'llama-cpp thinker');
    const path = settings.string('model');
    const name = settings.string('name', basename(path).replace(/\.gguf$/i, ''));
    const threads = settings.integer('threads', 1, 1);
    const requestedContext = settings.optionalInteger('contextSize', 16);
    const sequences = settings.integer('sequences', 1, 1);
    const chatWrapperName = settings.oneOf('chatWrapper', ['auto', ...specializedChatWrapperTypeNames] as const, 'auto');
    const layoutSetting = settings.oneOf('layout', ['auto', 'o1', 'plain'] as const, 'auto');
    // Unset sampling defaults depend on whether the model turns out to be an O1 model.
    const given = config as Record<string, unknown>;
    const configured = {
      temperature: given.temperature === undefined ? undefined : settings.number('temperature', 0, 0),
      topP: given.topP === undefined ? undefined : settings.number('topP', 1, 0),
      maxTokens: given.maxTokens === undefined ? undefined : settings.integer('maxTokens', 1, 1),
    };
    settings.rejectUnknown();
    const lease = await acquireModel(path);
    try {
      const model = lease.model;
      const o1 = layoutSetting === 'o1' || (layoutSetting === 'auto' && hasLlamaCppO1Tokens(model)) ? new LlamaCppO1Layout(model, path) : undefined;
      const fallback = o1 === undefined ? PLAIN_SAMPLING : O1_SAMPLING;
      const defaults: SamplingDefaults = {
        temperature: configured.temperature ?? fallback.temperature,
        topP: configured.topP ?? fallback.topP,
        maxTokens: configured.maxTokens ?? fallback.maxTokens,
      };
      const contextSize = requestedContext ?? Math.min(2048, model.trainContextSize);
      const context = await model.createContext({ threads, contextSize, sequences });
      const chatWrapper = resolveChatWrapper(model, chatWrapperName === 'auto' ? {} : { type: chatWrapperName });
      const identity = `llama-cpp:${await modelIdentity(path)}:${o1 === undefined ? 'plain' : 'o1'}:${chatWrapperName}`;
      const publicSettings: ThinkerConfig = { backend: 'llama-cpp', model: path, name, threads, contextSize, sequences, chatWrapper: chatWrapperName, layout: layoutSetting, ...defaults };
      return new LlamaCppThinker(name, identity, lease, context, chatWrapper, o1, defaults, publicSettings);
    } catch (error) {
      await lease.release();
      throw error;
    }
  }

  /** Whether the model thinks as an O1 Embedder (see {@link think}). */
  get thinksAsO1(): boolean {
    return this.o1 !== undefined;
  }

  /**
   * O1 thinking, for O1 models only (undefined otherwise, so callers prompt through
   * {@link generate}): `n` (default 1) thoughts per query, each generated from the token ids of
   * BOS? `<query>q</query><thought>` (special tokens fed as ids), stopping at EOS or after
   * `maxTokens` (default 128) new tokens, decoded with special tokens kept and cleaned as
   * src/o1/layout.ts cleanThought does. Greedy at temperature 0 (then equal to the engine's
   * thoughts); otherwise Hugging Face's order, temperature (default 0.1) then top-p (default 0.9),
   * drawn from llama.cpp's full next-token distribution with thought i seeded by (seed, i).
   *
   * @example
   * const [[thought]] = await thinker.think!([{ text: 'what causes tides' }], { temperature: 0 });
   */
  get think(): ((queries: readonly ThinkerQuery[], options?: GenerateOptions) => Promise<string[][]>) | undefined {
    const o1 = this.o1;
    if (o1 === undefined) return undefined;
    return (queries, options = {}) => this.thinkAsO1(o1, queries, options);
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

  private async thinkAsO1(o1: LlamaCppO1Layout, queries: readonly ThinkerQuery[], options: GenerateOptions): Promise<string[][]> {
    const n = options.n ?? 1;
    if (!(Number.isInteger(n) && n >= 1)) throw new O1Error('BAD_ARGUMENT', `n must be a positive integer, got ${n}`, { field: 'n' });
    const sampling = {
      temperature: options.temperature ?? this.defaults.temperature,
      topP: options.topP ?? this.defaults.topP,
      maxTokens: options.maxTokens ?? this.defaults.maxTokens,
    };
    checkSamplingOptions(sampling);
    if (!(Number.isInteger(sampling.maxTokens) && sampling.maxTokens >= 0)) throw new O1Error('BAD_ARGUMENT', `maxTokens must be a non-negative integer, got ${sampling.maxTokens}`, { field: 'maxTokens' });
    const seed = options.seed ?? randomInt(0, 2 ** 31 - 1);
    const prompts = queries.map((query, index) => {
      if (typeof query?.text !== 'string' || query.text.trim() === '') throw new O1Error('BAD_ARGUMENT', `query ${index} is empty: there is nothing to think about`, { field: 'text' });
      const prompt = o1.queryPromptIds(query.text);
      // node-llama-cpp would silently shift the context (drop the prompt's start) past its end.
      if (prompt.length + sampling.maxTokens > this.context.contextSize) {
        throw new O1Error('BAD_ARGUMENT', `llama-cpp thinker: a prompt of ${prompt.length} tokens plus ${sampling.maxTokens} new ones exceeds the context of ${this.context.contextSize}; raise contextSize`, { field: 'contextSize' });
      }
      return prompt;
    });
    throwIfCancelled(options.signal, 'llama-cpp thinker');
    return Promise.all(prompts.map((prompt) => Promise.all(Array.from({ length: n }, async (_, index) => {
      const tokens = await this.generateThought(o1, prompt, sampling, sampling.temperature === 0 ? undefined : new SeededRandom(deriveSeed(seed, index)), options.signal);
      return cutAtStop(o1.cleanThought(o1.decode(tokens)), options.stop);
    }))));
  }

  /**
   * New tokens after `prompt` until EOS (not included) or `maxTokens`. llama.cpp's own sampler
   * is greedy (so its token is the argmax); when sampling, the token is drawn here from the full
   * distribution it reports, and fed back in its place.
   */
  private async generateThought(o1: LlamaCppO1Layout, prompt: Token[], sampling: { temperature: number; topP: number; maxTokens: number }, random: SeededRandom | undefined, signal: AbortSignal | undefined): Promise<Token[]> {
    const generated: Token[] = [];
    if (sampling.maxTokens === 0) return generated;
    const sequence = await this.takeSequence();
    try {
      await sequence.clearHistory();
      const steps = sequence.evaluateWithMetadata(prompt, { probabilities: random !== undefined }, { temperature: 0, yieldEogToken: true });
      try {
        let step = await steps.next();
        while (step.done !== true) {
          throwIfCancelled(signal, 'llama-cpp thinker');
          // The metadata type cannot say "probabilities only when sampling"; they are read only then.
          const probabilities = (step.value as { probabilities?: Map<Token, number> }).probabilities;
          if (random !== undefined && probabilities === undefined) throw new O1Error('GENERATION_FAILED', 'llama.cpp returned no next-token probabilities to sample from');
          const token = random === undefined || probabilities === undefined ? step.value.token : drawToken(probabilities, sampling, random);
          if (token === o1.ids.eos) break;
          generated.push(token);
          if (generated.length >= sampling.maxTokens) break;
          step = await steps.next(token);
        }
      } finally {
        await steps.return();
      }
      return generated;
    } finally {
      this.giveBack(sequence);
    }
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

/**
 * One token drawn with temperature then top-p (src/inference/sampling.ts, the engine's sampler)
 * from llama.cpp's next-token probabilities, which are softmax(logits) over the whole vocabulary
 * when its own sampler is greedy: log-probabilities are logits up to a constant.
 */
function drawToken(probabilities: Map<Token, number>, sampling: { temperature: number; topP: number }, random: SeededRandom): Token {
  const logits = new Float64Array(probabilities.size).fill(Number.NEGATIVE_INFINITY);
  for (const [token, probability] of probabilities) {
    if (token >= logits.length) throw new O1Error('GENERATION_FAILED', `llama.cpp reported token ${token} outside its ${logits.length} probabilities`);
    logits[token] = Math.log(probability);
  }
  return sampleToken(logits, sampling, random) as Token;
}


function toHistoryItem(message: ChatMessage): ChatHistoryItem {
  if (message.role === 'system') return { type: 'system', text: message.content };
  if (message.role === 'user') return { type: 'user', text: message.content };
  return { type: 'model', response: [message.content] };
}
