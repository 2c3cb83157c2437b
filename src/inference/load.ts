/**
 * Finding and loading a decoder plus its tokenizer from any of the supported layouts: a Hugging
 * Face folder, a llama2.c checkpoint (folder or file) with its tok*.bin, or a GGUF file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { O1Error } from '../errors.js';
import { readGguf } from '../model/formats/gguf.js';
import { loadLlama2cCheckpoint } from '../model/formats/llama2c.js';
import { loadHuggingFaceModel } from '../model/formats/safetensors.js';
import type { DecoderWeights } from '../model/types.js';
import { loadTokenizer, tokenizerFromGgufMetadata, type Tokenizer } from '../tokenizer/index.js';

/** Which layout a model came from. */
export type ModelSource = 'huggingface' | 'llama2c' | 'gguf';

/** A model's weights, tokenizer and where they came from. */
export interface LoadedModel {
  model: DecoderWeights;
  tokenizer: Tokenizer;
  source: ModelSource;
  /** The weights file (or folder) that was read. */
  path: string;
}

/** Options for {@link loadModelFiles}. */
export interface LoadModelFilesOptions {
  /** Tokenizer to use instead of the one found beside the weights (a tokenizer.json, tok*.bin or .gguf). */
  tokenizerPath?: string;
}

function isLlama2cTokenizerName(name: string): boolean {
  return /^tok.*\.bin$/.test(name) || name === 'tokenizer.bin';
}

/** The llama2.c tokenizer beside a checkpoint: tokenizer.bin, else the only tok*.bin. */
function llama2cTokenizerBeside(directory: string, checkpoint: string): string {
  const names = readdirSync(directory).filter((name) => isLlama2cTokenizerName(name) && join(directory, name) !== checkpoint).sort();
  if (names.includes('tokenizer.bin')) return join(directory, 'tokenizer.bin');
  if (names.length === 0) throw new O1Error('MISSING_FILE', 'no llama2.c tokenizer (tokenizer.bin or tok*.bin) beside the checkpoint', { file: directory });
  return join(directory, names[0]);
}

/**
 * Loads weights and tokenizer from `path`:
 * - a `.gguf` file: weights and the tokenizer in its `tokenizer.ggml.*` metadata;
 * - a folder with `config.json`: Hugging Face (safetensors + tokenizer.json);
 * - a folder with a llama2.c checkpoint `*.bin` and a `tok*.bin` / `tokenizer.bin`, or the
 *   checkpoint file itself (tokenizer found beside it).
 *
 * @example
 * const { model, tokenizer, source } = await loadModelFiles('../shared/models/tinystories-260k');
 * source // 'llama2c'
 */
export async function loadModelFiles(path: string, options: LoadModelFilesOptions = {}): Promise<LoadedModel> {
  if (!existsSync(path)) throw new O1Error('MISSING_FILE', 'the model path does not exist', { file: path });
  const explicitTokenizer = options.tokenizerPath === undefined ? undefined : await loadTokenizer(options.tokenizerPath);
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'config.json'))) {
      const model = await loadHuggingFaceModel(path);
      return { model, tokenizer: explicitTokenizer ?? (await loadTokenizer(path)), source: 'huggingface', path };
    }
    const ggufs = readdirSync(path).filter((name) => name.endsWith('.gguf')).sort();
    const checkpoints = readdirSync(path).filter((name) => name.endsWith('.bin') && !isLlama2cTokenizerName(name)).sort();
    if (checkpoints.length === 1) return loadModelFiles(join(path, checkpoints[0]), options);
    if (checkpoints.length === 0 && ggufs.length === 1) return loadModelFiles(join(path, ggufs[0]), options);
    throw new O1Error('MISSING_FILE', 'the folder has no config.json, and not exactly one llama2.c checkpoint (*.bin) or GGUF file', { file: path });
  }
  if (path.endsWith('.gguf')) {
    const { model, tokenizer } = await readGguf(path);
    if (explicitTokenizer !== undefined) return { model, tokenizer: explicitTokenizer, source: 'gguf', path };
    if (tokenizer === undefined) throw new O1Error('CORRUPT_TOKENIZER', 'the GGUF file has no tokenizer.ggml metadata; pass a tokenizer path', { file: path });
    return { model, tokenizer: tokenizerFromGgufMetadata(tokenizer), source: 'gguf', path };
  }
  if (path.endsWith('.bin') && !isLlama2cTokenizerName(basename(path))) {
    const model = await loadLlama2cCheckpoint(path);
    const tokenizer = explicitTokenizer ?? (await loadTokenizer(llama2cTokenizerBeside(dirname(path), path)));
    return { model, tokenizer, source: 'llama2c', path };
  }
  throw new O1Error('BAD_ARGUMENT', 'unknown model path kind (expected a Hugging Face folder, a llama2.c checkpoint or a .gguf file)', { file: path });
}
