/** Tokenizers: the {@link Tokenizer} contract, implementations, and `loadTokenizer`. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { O1Error } from '../errors.js';
import { readGgufHeader } from '../util/gguf-container.js';
import { tokenizerFromGgufMetadata, tokenizerMetadataFromGguf } from './gguf-tokenizer.js';
import { HuggingFaceTokenizer } from './huggingface.js';
import { SentencePieceBpeTokenizer } from './sentencepiece-bpe.js';
import type { Tokenizer } from './types.js';

export * from './types.js';
export { padBatch, packBatch } from './batch.js';
export { HuggingFaceTokenizer } from './huggingface.js';
export type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from './huggingface.js';
export { SentencePieceBpeTokenizer } from './sentencepiece-bpe.js';
export type { SentencePieceVocabulary } from './sentencepiece-bpe.js';
export { trainByteLevelBpe, trainByteLevelBpeJson } from './bpe-trainer.js';
export type { BpeTrainingOptions } from './bpe-trainer.js';
export { tokenizerFromGgufMetadata, tokenizerMetadataFromGguf, ggufToTokenizerJson } from './gguf-tokenizer.js';
export { bytesToUnicode, toByteLevel, fromByteLevel } from './byte-level.js';

/**
 * Loads a tokenizer, choosing the implementation from the path: a folder with `tokenizer.json`
 * or a `.json` file -> {@link HuggingFaceTokenizer}; a `.bin` file (or a folder holding only
 * `tokenizer.bin`) -> llama2.c ({@link SentencePieceBpeTokenizer}); a `.gguf` file -> the
 * vocabulary in its metadata ({@link tokenizerFromGgufMetadata}).
 *
 * @example
 * const tokenizer = await loadTokenizer('../shared/models/tinystories-260k/tok512.bin')
 */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  if (!existsSync(path)) throw new O1Error('MISSING_FILE', 'the tokenizer path does not exist', { file: path });
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'tokenizer.json'))) return HuggingFaceTokenizer.load(path);
    if (existsSync(join(path, 'tokenizer.bin'))) return SentencePieceBpeTokenizer.loadLlama2c(join(path, 'tokenizer.bin'));
    throw new O1Error('MISSING_FILE', 'the folder has neither tokenizer.json nor tokenizer.bin', { file: path });
  }
  if (path.endsWith('.json')) return HuggingFaceTokenizer.load(path);
  if (path.endsWith('.bin')) return SentencePieceBpeTokenizer.loadLlama2c(path);
  if (path.endsWith('.gguf')) {
    const metadata = tokenizerMetadataFromGguf((await readGgufHeader(path)).metadata, path);
    if (metadata === undefined) throw new O1Error('CORRUPT_TOKENIZER', 'the GGUF file has no tokenizer.ggml metadata', { file: path });
    return tokenizerFromGgufMetadata(metadata);
  }
  if (path.endsWith('.model')) {
    throw new O1Error('CORRUPT_TOKENIZER', 'SentencePiece .model files are not read; use the tokenizer.json beside it', { file: path });
  }
  throw new O1Error('CORRUPT_TOKENIZER', 'unknown tokenizer file kind (expected tokenizer.json or a llama2.c .bin)', { file: path });
}
