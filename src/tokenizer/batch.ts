/** Left padding and truncation shared by every tokenizer. */
import { O1Error } from '../errors.js';
import type { BatchEncoding, PackedBatch } from './types.js';

/**
 * Pads already-tokenised sequences on the LEFT to one length (the longest, rounded up to
 * `padToMultipleOf`, default 1), after truncating each to `maxLength` (default: none) from
 * `truncationSide` (default `right`, keeping the beginning).
 *
 * @example
 * padBatch([[5, 6, 7], [8]], { padTokenId: 0 }).inputIds // [[5, 6, 7], [0, 0, 8]]
 */
export function padBatch(
  sequences: readonly (readonly number[])[],
  options: { padTokenId: number; maxLength?: number; truncationSide?: 'left' | 'right'; padToMultipleOf?: number },
): BatchEncoding {
  const { padTokenId, maxLength, truncationSide = 'right', padToMultipleOf = 1 } = options;
  if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0)) {
    throw new O1Error('BAD_ARGUMENT', `maxLength must be a positive integer, got ${maxLength}`, { field: 'maxLength' });
  }
  if (!(Number.isInteger(padToMultipleOf) && padToMultipleOf > 0)) {
    throw new O1Error('BAD_ARGUMENT', `padToMultipleOf must be a positive integer, got ${padToMultipleOf}`, { field: 'padToMultipleOf' });
  }
  const truncated = sequences.map((sequence) => {
    if (maxLength === undefined || sequence.length <= maxLength) return [...sequence];
    return truncationSide === 'left' ? sequence.slice(sequence.length - maxLength) : sequence.slice(0, maxLength);
  });
  let sequenceLength = Math.max(0, ...truncated.map((sequence) => sequence.length));
  sequenceLength = Math.ceil(sequenceLength / padToMultipleOf) * padToMultipleOf;
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  for (const sequence of truncated) {
    const padding = sequenceLength - sequence.length;
    inputIds.push([...new Array<number>(padding).fill(padTokenId), ...sequence]);
    attentionMask.push([...new Array<number>(padding).fill(0), ...new Array<number>(sequence.length).fill(1)]);
  }
  return { inputIds, attentionMask, sequenceLength };
}

/**
 * Flattens a batch row-major into typed arrays: `int32` (default) or `int64` (what ONNX models
 * usually take as `input_ids`).
 *
 * @example
 * const packed = packBatch(batch, 'int64') // packed.inputIds: BigInt64Array
 */
export function packBatch(batch: BatchEncoding, type?: 'int32'): PackedBatch<Int32Array>;
export function packBatch(batch: BatchEncoding, type: 'int64'): PackedBatch<BigInt64Array>;
export function packBatch(batch: BatchEncoding, type: 'int32' | 'int64' = 'int32'): PackedBatch<Int32Array> | PackedBatch<BigInt64Array> {
  const batchSize = batch.inputIds.length;
  const { sequenceLength } = batch;
  if (type === 'int64') {
    const inputIds = new BigInt64Array(batchSize * sequenceLength);
    const attentionMask = new BigInt64Array(batchSize * sequenceLength);
    batch.inputIds.forEach((row, index) => row.forEach((id, position) => (inputIds[index * sequenceLength + position] = BigInt(id))));
    batch.attentionMask.forEach((row, index) => row.forEach((bit, position) => (attentionMask[index * sequenceLength + position] = BigInt(bit))));
    return { inputIds, attentionMask, batchSize, sequenceLength };
  }
  const inputIds = new Int32Array(batchSize * sequenceLength);
  const attentionMask = new Int32Array(batchSize * sequenceLength);
  batch.inputIds.forEach((row, index) => inputIds.set(row, index * sequenceLength));
  batch.attentionMask.forEach((row, index) => attentionMask.set(row, index * sequenceLength));
  return { inputIds, attentionMask, batchSize, sequenceLength };
}
