/**
 * Models shared by the inference benchmarks, written as f32 GGUF files that both our engine and
 * node-llama-cpp load: stories260K (the real llama2.c checkpoint in ../shared) and a random
 * ~5 M-parameter Llama (d 256, 4 layers, 4 heads, vocab 8000) with a byte-level BPE tokenizer
 * trained on SciFact text.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readCorpus } from '../../src/data/beir.js';
import { loadModelFiles } from '../../src/inference/load.js';
import { decoderParameterCount } from '../../src/model/decoder-graph.js';
import { initializeDecoderWeights } from '../../src/model/decoder-init.js';
import { writeGguf } from '../../src/model/formats/gguf.js';
import type { DecoderConfig } from '../../src/model/types.js';
import { trainByteLevelBpe } from '../../src/tokenizer/bpe-trainer.js';

export const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared');
export const SCIFACT_CORPUS = join(SHARED, 'datasets', 'scifact', 'corpus.jsonl');
export const STORIES = join(SHARED, 'models', 'tinystories-260k');

/** A benchmark model file. */
export interface BenchModel {
  name: string;
  path: string;
  parameters: number;
}

/** The first `count` SciFact documents as `title + " " + text` (O1 Embedder's document text). */
export async function scifactDocuments(count: number): Promise<string[]> {
  const documents: string[] = [];
  for await (const document of readCorpus(SCIFACT_CORPUS)) {
    documents.push(`${document.title} ${document.text}`.trim());
    if (documents.length >= count) break;
  }
  return documents;
}

/** stories260K as an f32 GGUF (last-token pooling) in `directory`. */
export async function storiesGguf(directory: string): Promise<BenchModel> {
  const loaded = await loadModelFiles(STORIES);
  const path = join(directory, 'stories260K.gguf');
  await writeGguf(path, loaded.model, loaded.tokenizer.ggufMetadata(), { dtype: 'f32', poolingType: 'last' });
  return { name: 'stories260K', path, parameters: decoderParameterCount(loaded.model.config) };
}

/** The random ~5 M-parameter Llama with a SciFact BPE tokenizer, as an f32 GGUF (last-token pooling). */
export async function randomLlamaGguf(directory: string): Promise<BenchModel> {
  const path = join(directory, 'llama-5m.gguf');
  const config: DecoderConfig = {
    architecture: 'llama',
    hiddenSize: 256,
    intermediateSize: 688,
    numHiddenLayers: 4,
    numAttentionHeads: 4,
    numKeyValueHeads: 4,
    headDim: 64,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    vocabSize: 8000,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 1024,
    attentionBias: false,
    ropeStyle: 'half',
  };
  let vocabSize = config.vocabSize;
  if (!existsSync(path)) {
    const tokenizer = trainByteLevelBpe(await scifactDocuments(1500), { vocabSize: config.vocabSize, specialTokens: ['<|endoftext|>'] });
    const weights = initializeDecoderWeights({ ...config, vocabSize: tokenizer.vocabSize }, { seed: 1, standardDeviation: 0.05 });
    const model = { config: { ...config, vocabSize: tokenizer.vocabSize, eosTokenId: tokenizer.eosTokenId }, weights };
    await writeGguf(path, model, tokenizer.ggufMetadata(), { dtype: 'f32', poolingType: 'last', architecture: 'llama' });
    vocabSize = tokenizer.vocabSize;
  }
  return { name: 'llama-5m-random', path, parameters: decoderParameterCount({ ...config, vocabSize }) };
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
