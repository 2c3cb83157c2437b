/** stories260K (../shared) written as a GGUF by our writer: a real, tiny model for backend tests. */
import { join } from 'node:path';
import { writeGguf } from '../../src/model/formats/gguf.js';
import { loadLlama2cCheckpoint } from '../../src/model/formats/llama2c.js';
import { SentencePieceBpeTokenizer } from '../../src/tokenizer/sentencepiece-bpe.js';
import { sharedPath } from './shared.js';

/** Options for tests that need the stories260K checkpoint (skipped without ../shared, outside CI). */
export const STORIES_PARTS = ['models', 'tinystories-260k', 'stories260K.bin'] as const;

/** Writes `stories260K.gguf` (f32, mean pooling for embedding contexts) into `directory`; returns its path. */
export async function writeStoriesGguf(directory: string): Promise<string> {
  const tokenizer = await SentencePieceBpeTokenizer.loadLlama2c(sharedPath('models', 'tinystories-260k', 'tok512.bin'));
  const model = await loadLlama2cCheckpoint(sharedPath(...STORIES_PARTS));
  const path = join(directory, 'stories260K.gguf');
  await writeGguf(path, model, tokenizer.ggufMetadata(), { dtype: 'f32', name: 'stories260K', poolingType: 'mean' });
  return path;
}
