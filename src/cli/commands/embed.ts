import { O1Error } from '../../errors.js';
import { DecoderModel } from '../../inference/model.js';
import type { Command } from '../command.js';
import { parseInteger, parseCommandLine } from '../arguments.js';

const USAGE = `usage: o1e embed --model PATH [--pooling last|mean] [--max-length N] [--no-normalize]
              [--threads N] TEXT...

Embeds each TEXT with a decoder on this project's engine and prints one JSON object:
{"model": PATH, "pooling": ..., "dimensions": D, "vectors": [[...], ...]} (vectors in TEXT order,
L2-normalised unless --no-normalize). O1 Embedder pools the last token: end the text with <emb>
when the tokenizer has it.

  --pooling KIND    last (default) or mean over the attention mask
  --max-length N    keep at most the first N tokens of each text
  --no-normalize    print raw pooled hidden states
  --threads N       ONNX Runtime threads (default 1 under CI, else 2)
`;

/** `o1e embed`: embeddings as JSON. */
export const embedCommand: Command = {
  name: 'embed',
  summary: 'embed texts with a model (last-token or mean pooling), printing JSON vectors',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    if (values.model === undefined) throw new O1Error('BAD_ARGUMENT', '--model PATH is required', { field: 'model' });
    if (positionals.length === 0) throw new O1Error('BAD_ARGUMENT', `at least one TEXT is required\n${USAGE}`);
    const pooling = values.pooling ?? 'last';
    if (pooling !== 'last' && pooling !== 'mean') throw new O1Error('BAD_ARGUMENT', `--pooling must be last or mean, got '${pooling}'`, { field: 'pooling' });
    const model = await DecoderModel.load(values.model, { threads: values.threads === undefined ? undefined : parseInteger(values.threads, 'threads', 1) });
    try {
      const vectors = await model.embed(positionals, {
        pooling,
        normalize: values['no-normalize'] !== true,
        maxLength: values['max-length'] === undefined ? undefined : parseInteger(values['max-length'], 'max-length', 1),
      });
      const output = { model: values.model, pooling, dimensions: model.config.hiddenSize, vectors: vectors.map((vector) => Array.from(vector)) };
      process.stdout.write(`${JSON.stringify(output)}\n`);
      return 0;
    } finally {
      await model.dispose();
    }
  },
};

const OPTIONS = {
    model: { type: 'string' },
    pooling: { type: 'string' },
    'max-length': { type: 'string' },
    'no-normalize': { type: 'boolean' },
    threads: { type: 'string' },
  } as const;
