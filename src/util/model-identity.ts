/**
 * Cheap, stable identities of model files on disk, for keying thought caches, document-vector
 * caches and persistent indexes. Only file names, sizes and modification times are read (no
 * weights), and nothing heavy is imported, so every backend (engine, llama-cpp) can use it.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * Whether a file in a model folder decides the model's outputs (weights, config, tokenizer), as
 * opposed to a model card or a results table written beside it.
 *
 * @example
 * isModelFile('model.safetensors') // true
 * isModelFile('README.md') // false
 */
export function isModelFile(name: string): boolean {
  return /\.(safetensors|gguf|bin)$/.test(name) || name === 'config.json' || name === 'generation_config.json' ||
    name === 'special_tokens_map.json' || name === 'added_tokens.json' || name.startsWith('tokenizer');
}

/**
 * A stable identity of a model on disk: the resolved path with the size and modification time of
 * the file, or of every model file directly inside the folder (hashed; see {@link isModelFile}:
 * a README or results.json written later does not change it). Cheap: no weights are read.
 *
 * @example
 * await modelIdentity('models/o1-qwen') // '/abs/models/o1-qwen#3f9a...'
 */
export async function modelIdentity(path: string): Promise<string> {
  const absolute = resolve(path);
  const info = await stat(absolute);
  const parts: string[] = [];
  if (info.isDirectory()) {
    for (const name of (await readdir(absolute)).sort()) {
      if (!isModelFile(name)) continue;
      const file = await stat(join(absolute, name));
      if (file.isFile()) parts.push(`${name}:${file.size}:${Math.round(file.mtimeMs)}`);
    }
  } else {
    parts.push(`${info.size}:${Math.round(info.mtimeMs)}`);
  }
  return `${absolute}#${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16)}`;
}
