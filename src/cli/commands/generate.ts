import { O1Error } from '../../errors.js';
import { DecoderModel } from '../../inference/model.js';
import { DEFAULT_SAMPLING } from '../../inference/sampling.js';
import type { Command } from '../command.js';
import { parseCommandLine, parseInteger, parseNumber, rejectPositionals } from '../arguments.js';

const USAGE = `usage: o1e generate --model PATH [--prompt TEXT] [--max-tokens N]
                 [--greedy | --temperature T --top-p P] [--seed S] [-n N] [--threads N] [--json]

Generates text with a decoder on this project's engine (ONNX Runtime, bucketed KV cache).
PATH: a llama2.c checkpoint folder or file, a Hugging Face folder, or a GGUF file.

  --prompt TEXT      prompt (default: empty, i.e. BOS only); the tokenizer's BOS is added
  --max-tokens N     most new tokens per sample (default 128)
  --greedy           always take the most likely token
  --temperature T    sampling temperature (default ${DEFAULT_SAMPLING.temperature}; 0 = greedy)
  --top-p P          nucleus mass (default ${DEFAULT_SAMPLING.topP})
  --seed S           seed of the sampler (default 0)
  -n N               samples for the prompt, generated as one batch (default 1)
  --threads N        ONNX Runtime threads (default 1 under CI, else 2)
  --json             print one JSON object {prompt, samples: [{text, tokens, finishReason}]}
`;

/** `o1e generate`: text generation on the engine. */
export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate text with a model (greedy or temperature / top-p sampling)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    rejectPositionals(positionals, ' (the prompt goes in --prompt)');
    if (values.model === undefined) throw new O1Error('BAD_ARGUMENT', '--model PATH is required', { field: 'model' });
    const temperature = parseNumber(values.temperature, 'temperature');
    const topP = parseNumber(values['top-p'], 'top-p');
    if (values.greedy === true && (temperature !== undefined || topP !== undefined)) {
      throw new O1Error('BAD_ARGUMENT', '--greedy excludes --temperature and --top-p', { field: 'greedy' });
    }
    const model = await DecoderModel.load(values.model, { threads: values.threads === undefined ? undefined : parseInteger(values.threads, 'threads', 1) });
    try {
      const prompt = values.prompt ?? '';
      const [samples] = await model.generate([prompt], {
        greedy: values.greedy === true,
        temperature,
        topP,
        seed: values.seed === undefined ? undefined : parseInteger(values.seed, 'seed', 0),
        samples: values.n === undefined ? undefined : parseInteger(values.n, 'n', 1),
        maxNewTokens: values['max-tokens'] === undefined ? undefined : parseInteger(values['max-tokens'], 'max-tokens', 0),
      });
      if (values.json === true) {
        const output = { prompt, samples: samples.map((sample) => ({ text: sample.text, tokens: sample.tokens, finishReason: sample.finishReason })) };
        process.stdout.write(`${JSON.stringify(output)}\n`);
      } else {
        const separator = samples.length > 1 ? '\n---\n' : '';
        process.stdout.write(`${samples.map((sample) => `${prompt}${sample.text ?? ''}`).join(separator)}\n`);
      }
      return 0;
    } finally {
      await model.dispose();
    }
  },
};

const OPTIONS = {
    model: { type: 'string' },
    prompt: { type: 'string' },
    'max-tokens': { type: 'string' },
    greedy: { type: 'boolean' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    n: { type: 'string', short: 'n' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
  } as const;
