/** Seeded, deterministic tiny models and tokenizers for format and tokenizer tests. */
import type { DecoderConfig, DecoderWeights, WeightMap } from '../../src/model/types.js';
import { expectedTensorShapes } from '../../src/model/formats/tensor-names.js';
import { trainByteLevelBpe } from '../../src/tokenizer/bpe-trainer.js';
import type { HuggingFaceTokenizer } from '../../src/tokenizer/huggingface.js';
import { seededRandom } from '../../src/util/random.js';

export { seededRandom };

/** A Qwen2-shaped configuration: q/k/v biases, grouped KV heads (4 query heads, 2 KV heads), tied embeddings. */
export function tinyQwen2Config(vocabSize: number, overrides: Partial<DecoderConfig> = {}): DecoderConfig {
  return {
    architecture: 'qwen2',
    hiddenSize: 64,
    intermediateSize: 96,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 16,
    ropeTheta: 1000000,
    rmsNormEps: 1e-6,
    vocabSize,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 256,
    attentionBias: true,
    ropeStyle: 'half',
    ...overrides,
  };
}

/** A Llama-shaped configuration with an untied LM head (and no biases). */
export function tinyLlamaConfig(vocabSize: number, overrides: Partial<DecoderConfig> = {}): DecoderConfig {
  return tinyQwen2Config(vocabSize, { architecture: 'llama', attentionBias: false, tieWordEmbeddings: false, ropeTheta: 10000, rmsNormEps: 1e-5, ...overrides });
}

/**
 * Random weights for `config` (uniform in [-scale, scale], default 0.1; norm weights near 1), the
 * same for the same seed.
 */
export function randomDecoder(config: DecoderConfig, seed = 1, scale = 0.1): DecoderWeights {
  const random = seededRandom(seed);
  const weights: WeightMap = new Map();
  for (const [name, shape] of expectedTensorShapes(config)) {
    const count = shape.reduce((product, size) => product * size, 1);
    const data = new Float32Array(count);
    const isNorm = name.endsWith('norm.weight');
    for (let index = 0; index < count; index++) data[index] = isNorm ? 1 + (random() - 0.5) * 0.2 : (random() * 2 - 1) * scale;
    weights.set(name, { shape, data });
  }
  return { config, weights };
}

/** A small English corpus (TinyStories-like) for training test tokenizers. */
export const TINY_CORPUS: readonly string[] = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park.',
  'One day, she saw a big, red ball. She wanted to play with it, but it was too high.',
  'Tom and his dog went to the river. The dog jumped into the water and swam after a stick.',
  "The sun was warm and the birds were singing. \"Let's go home,\" said Mom.",
  'They ate 3 apples and 12 cookies before bedtime; it was 2024 and everyone was happy!',
  'The quick brown fox jumps over the lazy dog.\nThe end.',
];

/** A byte-level BPE tokenizer trained by our trainer on {@link TINY_CORPUS} (deterministic). */
export function tinyBpeTokenizer(vocabSize = 384): HuggingFaceTokenizer {
  return trainByteLevelBpe(
    Array.from({ length: 4 }, () => TINY_CORPUS).flat(),
    { vocabSize, specialTokens: ['<|endoftext|>'], minFrequency: 2 },
  );
}

/**
 * A Llama-2-style `tokenizer.json` (SentencePiece BPE: Metaspace-like normalizer, byte fallback,
 * `<s>` template) built from a score-ordered vocabulary such as tok512's, the way transformers'
 * LlamaConverter does: merges are every split of a vocabulary piece into two vocabulary pieces,
 * ordered by the piece's score.
 */
export function llama2StyleTokenizerJson(pieces: string[], scores: number[]): { tokenizer: Record<string, unknown>; config: Record<string, unknown> } {
  const vocab: Record<string, number> = {};
  pieces.forEach((piece, id) => {
    if (vocab[piece] === undefined) vocab[piece] = id;
  });
  const merges: { left: string; right: string; score: number; id: number }[] = [];
  pieces.forEach((piece, id) => {
    if (id < 3 || /^<0x[0-9A-F]{2}>$/.test(piece)) return;
    const characters = Array.from(piece);
    for (let split = 1; split < characters.length; split++) {
      const left = characters.slice(0, split).join('');
      const right = characters.slice(split).join('');
      if (vocab[left] !== undefined && vocab[right] !== undefined) merges.push({ left, right, score: scores[id], id });
    }
  });
  merges.sort((a, b) => b.score - a.score || a.id - b.id || vocab[a.left] - vocab[b.left]);
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map(({ left, right }) => [left, right]),
    },
  };
  const config = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: null, add_bos_token: true, add_eos_token: false, clean_up_tokenization_spaces: false, legacy: false };
  return { tokenizer, config };
}
