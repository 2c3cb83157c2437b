/**
 * Adding O1 Embedder's special tokens to a tokenizer and growing the model's embedding (and
 * untied LM head) to match.
 */
import { O1Error } from '../errors.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { EMBEDDING_NAME, LM_HEAD_NAME } from './formats/tensor-names.js';
import type { DecoderWeights, HostTensor, WeightMap } from './types.js';

/** The four tokens O1 Embedder adds (see reference/o1-method.md section 2). */
export const O1_SPECIAL_TOKENS = ['<query>', '</query>', '<thought>', '<emb>'] as const;

/**
 * A copy of `tensor` ([rows, width]) with `rows` rows: old rows kept, and every row listed in
 * `initialise` (plus every appended row) set to the mean of the first `meanOverRows` rows.
 */
function resizeRows(tensor: HostTensor, rows: number, meanOverRows: number, initialise: Iterable<number>): HostTensor {
  const [oldRows, width] = tensor.shape;
  const data = new Float32Array(rows * width);
  data.set(tensor.data.subarray(0, Math.min(oldRows, rows) * width));
  const mean = new Float64Array(width);
  for (let row = 0; row < meanOverRows; row++) for (let column = 0; column < width; column++) mean[column] += tensor.data[row * width + column];
  for (let column = 0; column < width; column++) mean[column] /= Math.max(1, meanOverRows);
  const targets = new Set(initialise);
  for (let row = oldRows; row < rows; row++) targets.add(row);
  for (const row of targets) if (row < rows) data.set(mean, row * width);
  return { shape: [rows, width], data };
}

/**
 * Resizes the embedding (and untied `lm_head`) to `vocabSize` rows and updates
 * `config.vocabSize`. Rows past the old size, and the rows in `initialiseRows` (default none),
 * become the mean of the first `meanOverRows` rows (default: all old rows) — deterministic, as
 * transformers' mean initialisation without its random noise. Shrinking is refused.
 *
 * @example
 * const bigger = resizeTokenEmbeddings(model, model.config.vocabSize + 4)
 */
export function resizeTokenEmbeddings(
  model: DecoderWeights,
  vocabSize: number,
  options: { initialiseRows?: Iterable<number>; meanOverRows?: number } = {},
): DecoderWeights {
  const oldSize = model.config.vocabSize;
  if (!(Number.isInteger(vocabSize) && vocabSize >= oldSize)) {
    throw new O1Error('BAD_ARGUMENT', `cannot resize the vocabulary from ${oldSize} to ${vocabSize}`, { field: 'vocabSize' });
  }
  const meanOverRows = Math.min(options.meanOverRows ?? oldSize, oldSize);
  const initialise = [...(options.initialiseRows ?? [])];
  const weights: WeightMap = new Map(model.weights);
  for (const name of [EMBEDDING_NAME, ...(model.config.tieWordEmbeddings ? [] : [LM_HEAD_NAME])]) {
    const tensor = model.weights.get(name);
    if (tensor === undefined) throw new O1Error('MISSING_TENSOR', `tensor ${name} is missing`, { field: name });
    if (tensor.shape[0] !== oldSize) {
      throw new O1Error('SHAPE_MISMATCH', `tensor ${name} has ${tensor.shape[0]} rows but the vocabulary is ${oldSize}`, { field: name });
    }
    weights.set(name, resizeRows(tensor, vocabSize, meanOverRows, initialise));
  }
  return { config: { ...model.config, vocabSize }, weights };
}

/**
 * Adds special tokens (default O1's four) to the tokenizer — in place, atomic when encoding — and
 * returns their ids with a model whose embedding covers them. Each newly created token's row (in
 * the embedding and an untied LM head) is the mean of the rows of the tokens that existed before,
 * also when the id falls inside spare rows the matrix already had (as Qwen2's padded vocabulary
 * has). Idempotent: tokens already present keep their ids and rows.
 *
 * @example
 * const { model: withTokens, ids } = addSpecialTokens(tokenizer, model)
 * const embId = ids[3] // <emb>
 */
export function addSpecialTokens(
  tokenizer: Tokenizer,
  model: DecoderWeights,
  tokens: readonly string[] = O1_SPECIAL_TOKENS,
): { model: DecoderWeights; ids: number[] } {
  const previousSize = tokenizer.vocabSize;
  const ids = tokenizer.addSpecialTokens(tokens);
  const created = ids.filter((id) => id >= previousSize);
  if (created.length === 0 && tokenizer.vocabSize <= model.config.vocabSize) return { model, ids };
  const vocabSize = Math.max(model.config.vocabSize, tokenizer.vocabSize);
  const resized = resizeTokenEmbeddings(model, vocabSize, {
    initialiseRows: created,
    meanOverRows: Math.min(previousSize, model.config.vocabSize),
  });
  return { model: resized, ids };
}
