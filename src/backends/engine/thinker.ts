import { basename, extname } from 'node:path';
import { O1Error } from '../../errors.js';
import { cutAtStop, plainPromptText } from '../completion-text.js';
import { Settings } from '../settings.js';
import type { ChatMessage, GenerateOptions, Thinker, ThinkerConfig, ThinkerPrompt, ThinkerQuery } from '../thinker.js';
import { modelIdentity } from '../../o1/model.js';
import { acquireEngineModel, type EngineModelLease } from './runtime.js';

/** Settings of the `engine` thinker (JSON config keys). */
export interface EngineThinkerConfig {
  backend: 'engine';
  /** Model path: a Hugging Face folder, a GGUF file or a llama2.c checkpoint. Required. */
  model: string;
  /** ONNX Runtime threads. Default the engine's default. */
  threads?: number;
  /** `auto` (default): `o1` when the tokenizer has the O1 tokens, else `plain`. */
  layout?: 'auto' | 'o1' | 'plain';
}

/** The query of a prompt for an O1 model: the text, or the last user message. */
function queryText(prompt: ThinkerPrompt): string {
  if (typeof prompt === 'string') return prompt;
  const user = [...prompt].reverse().find((message) => message.role === 'user');
  if (user === undefined) throw new O1Error('BAD_ARGUMENT', 'an O1 model thinks about a query: give a user message', { field: 'messages' });
  return user.content;
}


/**
 * A thinker on this project's engine. An O1 model thinks as O1 Embedder does: the prompt (or
 * the last user message) is the query, the completion a thought from `<query>q</query><thought>`.
 * A plain model continues the prompt text (chat messages joined by blank lines; no chat
 * template). Defaults: temperature 0.1, top-p 0.9, 128 new tokens (o1-method.md §3); without a
 * seed, a random one.
 *
 * @example
 * const thinker = await EngineThinker.create({ backend: 'engine', model: 'models/o1', threads: 1 });
 * const [[thought]] = await thinker.generate(['what causes tides'], { n: 1, seed: 0 });
 */
export class EngineThinker implements Thinker {
  readonly backend = 'engine';
  readonly model: string;
  readonly identity: string;

  private constructor(private readonly settings: EngineThinkerConfig, private readonly lease: EngineModelLease, modelIdentity: string) {
    this.model = basename(settings.model, extname(settings.model));
    this.identity = `engine:${modelIdentity}:${this.thinksAsO1 ? 'o1' : 'plain'}`;
  }

  /** Loads (or shares) the model. */
  static async create(config: EngineThinkerConfig | ThinkerConfig): Promise<EngineThinker> {
    const settings = new Settings(config, 'engine thinker');
    const values: EngineThinkerConfig = {
      backend: 'engine',
      model: settings.string('model'),
      threads: settings.optionalInteger('threads', 1),
      layout: settings.oneOf('layout', ['auto', 'o1', 'plain'] as const, 'auto'),
    };
    settings.rejectUnknown();
    const lease = await acquireEngineModel(values.model, values.threads);
    if (values.layout === 'o1' && lease.model.o1 === undefined) {
      await lease.release();
      throw new O1Error('MISSING_SPECIAL_TOKENS', 'layout "o1" needs a model whose tokenizer has <query>, </query>, <thought> and <emb>', { file: values.model });
    }
    return new EngineThinker(values, lease, lease.model.o1?.identity ?? (await modelIdentity(values.model)));
  }

  /** Whether prompts are thought about as O1 queries. */
  get thinksAsO1(): boolean {
    return this.settings.layout !== 'plain' && this.lease.model.o1 !== undefined;
  }

  /**
   * O1 thinking (o1-method.md §3): thoughts sampled from `<query>q</query><thought>`. Only for
   * O1 models; a plain model has no native thinking and is prompted through {@link generate}.
   */
  get think(): ((queries: readonly ThinkerQuery[], options?: GenerateOptions) => Promise<string[][]>) | undefined {
    if (!this.thinksAsO1) return undefined;
    return (queries, options = {}) => this.generate(queries.map((query) => query.text), options);
  }

  async generate(prompts: readonly ThinkerPrompt[], options: GenerateOptions = {}): Promise<string[][]> {
    if (options.signal?.aborted) throw new O1Error('GENERATION_FAILED', 'the generation was cancelled');
    const sampling = {
      temperature: options.temperature ?? 0.1,
      topP: options.topP ?? 0.9,
      maxNewTokens: options.maxTokens ?? 128,
      seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    };
    const n = options.n ?? 1;
    let texts: string[][];
    const o1 = this.lease.model.o1;
    if (this.thinksAsO1 && o1 !== undefined) {
      texts = await o1.generateThoughts(prompts.map(queryText), { ...sampling, thoughts: n });
    } else {
      const results = await this.lease.model.decoder.generate(prompts.map(plainPromptText), { ...sampling, greedy: sampling.temperature === 0, samples: n });
      texts = results.map((samples) => samples.map((sample) => sample.text ?? ''));
    }
    return texts.map((group) => group.map((text) => cutAtStop(text, options.stop)));
  }

  config(): ThinkerConfig {
    const config: ThinkerConfig = { backend: 'engine', model: this.settings.model, layout: this.settings.layout };
    if (this.settings.threads !== undefined) config.threads = this.settings.threads;
    return config;
  }

  async close(): Promise<void> {
    await this.lease.release();
  }
}
