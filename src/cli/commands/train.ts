import { O1Error } from '../../errors.js';
import { readTrainingConfig } from '../../training/config.js';
import { runTraining } from '../../training/trainer.js';
import type { Command } from '../command.js';
import { parseCommandLine, rejectPositionals } from '../arguments.js';

const USAGE = `usage: o1e train --config FILE [--resume] [--json] [--quiet]

Trains a decoder as a JSON config says (every field and default: docs/training.md):
  mode "joint"     O1 Embedder: 0.8 x InfoNCE (temperature 0.02, in-batch + hard negatives)
                   + 0.2 x next-token loss on the thought and EOS, one forward pass, thought
                   dropout 0.1; full fine-tuning or LoRA (merged into the weights when saved)
  mode "pretrain"  next-token loss on plain text (BEIR corpus.jsonl or text files)
Writes <output>/train.log (JSON lines), <output>/checkpoints/step-N/ every checkpointEvery
steps, and the final model to <output>/model (config.json, model.safetensors, tokenizer.json
with the O1 tokens).

  --config FILE   the JSON config (relative paths in it are relative to its folder)
  --resume        continue from the newest checkpoint in the output folder (bit-for-bit the
                  run an uninterrupted one would have been)
  --json          print every log record as one JSON line on stdout (no progress bar)
  --quiet         no progress bar or log lines on stderr
`;

/** `o1e train`: joint O1 training or pre-training from a JSON config. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model: O1 joint (InfoNCE + thought next-token loss, full or LoRA) or pre-training',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, USAGE);
    rejectPositionals(positionals);
    if (values.config === undefined) throw new O1Error('BAD_ARGUMENT', '--config FILE is required', { field: 'config' });
    const config = await readTrainingConfig(values.config);
    const json = values.json === true;
    const summary = await runTraining(config, {
      resume: values.resume === true,
      progress: !json && values.quiet !== true,
      onLog: json ? (record) => process.stdout.write(`${JSON.stringify(record)}\n`) : undefined,
    });
    if (!json && values.quiet !== true) {
      process.stderr.write(`trained ${summary.steps} steps, ${summary.tokens} tokens at ${Math.round(summary.tokensPerSecond)} tokens/s: ${summary.modelPath ?? '(not finished)'}\n`);
    }
    return 0;
  },
};

const OPTIONS = {
    config: { type: 'string' },
    resume: { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  } as const;
