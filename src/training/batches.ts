/**
 * Turning training data into micro-batches, deterministically: the micro-batch of global index i
 * depends only on (seed, i), never on what ran before, so a resumed run sees exactly the batches
 * an uninterrupted one would. Rows are left-padded to a length bucket so few ONNX Runtime
 * sessions are ever compiled.
 */
import { O1Error } from '../errors.js';
import { IGNORE_INDEX, documentIds, trainingQueryExample, thoughtDropped } from '../o1/layout.js';
import type { TrainingBatch } from '../model/decoder-training.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { softmax } from '../synth/voting.js';
import { deriveSeed, permutation, seededRandom } from '../util/random.js';

/** A micro-batch plus what it costs. */
export interface MicroBatch {
  batch: TrainingBatch;
  /** Real (non-padding) tokens. */
  tokens: number;
  /** Rows × padded length. */
  paddedTokens: number;
}

/** Something that yields micro-batch number i (0-based, across epochs). */
export interface Batcher {
  /** Micro-batches in one pass over the data. */
  readonly batchesPerEpoch: number;
  batch(index: number): MicroBatch;
}

// Salts keep the random streams of different purposes independent under one seed.
const ORDER_SALT = 1;
const GROUP_SALT = 2;
const DROPOUT_SALT = 3;

/**
 * The padded length for rows of at most `length` tokens: the smallest bucket that holds them,
 * else `length` rounded up to a multiple of 32.
 *
 * @example
 * bucketLength(70, [32, 64, 128]) // 128
 */
export function bucketLength(length: number, buckets: readonly number[]): number {
  for (const bucket of buckets) if (bucket >= length) return bucket;
  return Math.ceil(length / 32) * 32;
}

/**
 * Left-pads rows into int64 [rows, length] ids, mask and labels (labels -100 on padding; rows
 * without labels are all -100).
 *
 * @example
 * packRows([[5, 6]], [[-100, 6]], 4, 0).labels // [-100, -100, -100, 6]
 */
export function packRows(rows: readonly (readonly number[])[], labels: readonly ((readonly number[]) | undefined)[], length: number, padTokenId: number): MicroBatch {
  const inputIds = new BigInt64Array(rows.length * length).fill(BigInt(padTokenId));
  const attentionMask = new BigInt64Array(rows.length * length);
  const labelArray = new BigInt64Array(rows.length * length).fill(BigInt(IGNORE_INDEX));
  let tokens = 0;
  rows.forEach((row, index) => {
    if (row.length > length) throw new O1Error('SHAPE_MISMATCH', `a row of ${row.length} tokens does not fit length ${length}`);
    const offset = index * length + length - row.length;
    const rowLabels = labels[index];
    for (let position = 0; position < row.length; position++) {
      inputIds[offset + position] = BigInt(row[position]);
      attentionMask[offset + position] = 1n;
      if (rowLabels !== undefined) labelArray[offset + position] = BigInt(rowLabels[position]);
    }
    tokens += row.length;
  });
  return { batch: { inputIds, attentionMask, labels: labelArray, length }, tokens, paddedTokens: rows.length * length };
}

// -------------------------------------------------------------------------------------------------
// Joint (O1) batches

/** One validated joint training record. */
export interface JointRecord {
  query: string;
  pos: string[];
  neg: string[];
  thought: string;
  /** Teacher scores, one per `pos` and `neg` passage (both or neither). */
  posScores?: number[];
  negScores?: number[];
  /** Where it came from, for messages. */
  file: string;
  line: number;
}

/** Options for {@link JointBatcher}. */
export interface JointBatchOptions {
  /** Queries per micro-batch. */
  batchSize: number;
  /** Passages per query: 1 positive + groupSize − 1 hard negatives. Default 16. */
  groupSize?: number;
  /** Probability of replacing the thought by ''. Default 0.1. */
  thoughtDropout?: number;
  /**
   * Supervise the EOS of a dropped thought (the method's layout: the query-only sequence then
   * teaches "EOS right after `<thought>`"). With false, a dropped thought still trains the
   * query-only embedding but carries no generation label: at temperature 0.1 the EOS that 10 %
   * dropout concentrates on one token outranks every single first token of real thoughts, so the
   * model learns to think nothing. Default true (o1-method.md §4).
   */
  droppedThoughtEos?: boolean;
  /** Query text cut to this many tokens first. Default 32. */
  queryMaxTokens?: number;
  /** Query sequence (thought and EOS included) cut to this many tokens, then `<emb>`. Default 256. */
  queryMaxLength?: number;
  /** Passages cut to this many tokens, then `<emb>`. Default 192. */
  passageMaxLength?: number;
  /** Default 0. */
  seed?: number;
  /** Padded lengths. */
  lengthBuckets: readonly number[];
  /**
   * Emit teacher targets (softmax of the group's teacher scores) and weights for the distillation
   * term. A group whose record has no scores, or that was padded from the pool, gets weight 0.
   * Default false.
   */
  distillation?: boolean;
}

/**
 * Joint micro-batches in buildTrainingGraph's 'joint' layout: Q query rows (the training query
 * sequence with labels on the thought and EOS only) then Q groups of G passage rows (positive
 * first), every row ending in `<emb>`, all left-padded to one bucket length.
 *
 * Per record and epoch (seeded by (seed, epoch, record index), so independent of batching):
 * - the thought is dropped (replaced by '') with probability `thoughtDropout`;
 * - the positive is one of `pos` at random;
 * - the G − 1 negatives are a random sample of `neg` without replacement when it has enough;
 *   otherwise all of `neg` (shuffled), then passages drawn at random from the padding pool (the
 *   configured corpus, else every other record's `pos` and `neg`), skipping the record's own
 *   positives and passages already in the group; only when the pool runs out do passages repeat.
 *
 * Epochs visit the records in a fresh seeded order; an incomplete last micro-batch is dropped.
 *
 * @example
 * const batcher = new JointBatcher(tokenizer, records, pool, { batchSize: 4, groupSize: 4, lengthBuckets: [64, 128, 256] });
 * const { batch } = batcher.batch(0);
 */
export class JointBatcher implements Batcher {
  readonly batchesPerEpoch: number;
  private readonly groupSize: number;
  private readonly seed: number;
  private readonly passageCache = new Map<string, number[]>();
  private readonly orders = new Map<number, number[]>();

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly records: readonly JointRecord[],
    private readonly pool: readonly string[],
    private readonly options: JointBatchOptions,
  ) {
    this.groupSize = options.groupSize ?? 16;
    this.seed = options.seed ?? 0;
    this.batchesPerEpoch = Math.floor(records.length / options.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new O1Error('BAD_ARGUMENT', `${records.length} training records do not fill one batch of ${options.batchSize} queries`, { field: 'batchSize' });
    }
    const lonely = records.find((record) => record.neg.length === 0 && this.groupSize > 1 && pool.length === 0);
    if (lonely !== undefined) throw new O1Error('MISSING_FIELD', 'the record has no negatives and there is no passage pool to draw them from', { file: lonely.file, line: lonely.line, field: 'neg' });
  }

  private order(epoch: number): number[] {
    let order = this.orders.get(epoch);
    if (order === undefined) {
      order = permutation(this.records.length, deriveSeed(this.seed, ORDER_SALT, epoch));
      this.orders.clear();
      this.orders.set(epoch, order);
    }
    return order;
  }

  private passageIds(passage: string): number[] {
    let ids = this.passageCache.get(passage);
    if (ids === undefined) {
      ids = documentIds(this.tokenizer, { title: '', text: passage }, { maxLength: this.options.passageMaxLength ?? 192 });
      this.passageCache.set(passage, ids);
    }
    return ids;
  }

  /**
   * The passages of one record's group in one epoch, positive first, with their teacher scores
   * when the record has them and no passage came from the pool.
   */
  group(recordIndex: number, epoch: number): string[] {
    return this.scoredGroup(recordIndex, epoch).passages;
  }

  private scoredGroup(recordIndex: number, epoch: number): { passages: string[]; teacherScores?: number[] } {
    const record = this.records[recordIndex];
    const random = seededRandom(deriveSeed(this.seed, GROUP_SALT, epoch, recordIndex));
    const pick = (count: number) => Math.floor(random() * count);
    const positiveIndex = pick(record.pos.length);
    const positive = record.pos[positiveIndex];
    const wanted = this.groupSize - 1;
    const negatives = record.neg.map((_, index) => index);
    // Partial Fisher-Yates: the first `wanted` entries become a uniform sample without replacement.
    for (let index = 0; index < Math.min(wanted, negatives.length); index++) {
      const other = index + pick(negatives.length - index);
      [negatives[index], negatives[other]] = [negatives[other], negatives[index]];
    }
    const chosenIndices = negatives.slice(0, wanted);
    const chosen = chosenIndices.map((index) => record.neg[index]);
    const teacherScores = record.posScores === undefined || record.negScores === undefined || chosen.length < wanted
      ? undefined
      : [record.posScores[positiveIndex], ...chosenIndices.map((index) => record.negScores![index])];
    if (chosen.length < wanted) {
      const excluded = new Set([...record.pos, ...chosen]);
      let attempts = 0;
      while (chosen.length < wanted && attempts < wanted * 20 && this.pool.length > 0) {
        attempts++;
        const candidate = this.pool[pick(this.pool.length)];
        if (excluded.has(candidate)) continue;
        excluded.add(candidate);
        chosen.push(candidate);
      }
      // A tiny pool: repeat what there is rather than fail.
      const fallback = chosen.length > 0 ? [...chosen] : this.pool.length > 0 ? [...this.pool] : [...record.neg];
      while (chosen.length < wanted) chosen.push(fallback[pick(fallback.length)]);
    }
    return { passages: [positive, ...chosen], teacherScores };
  }

  batch(index: number): MicroBatch {
    const epoch = Math.floor(index / this.batchesPerEpoch);
    const start = (index % this.batchesPerEpoch) * this.options.batchSize;
    const indices = this.order(epoch).slice(start, start + this.options.batchSize);
    const queryRows: number[][] = [];
    const queryLabels: number[][] = [];
    const passageRows: number[][] = [];
    const teacher: (number[] | undefined)[] = [];
    for (const recordIndex of indices) {
      const record = this.records[recordIndex];
      const dropped = thoughtDropped({ probability: this.options.thoughtDropout ?? 0.1, seed: deriveSeed(this.seed, DROPOUT_SALT), keys: [epoch, recordIndex] });
      let example;
      try {
        example = trainingQueryExample(this.tokenizer, record.query, dropped ? '' : record.thought, {
          queryMaxTokens: this.options.queryMaxTokens,
          maxLength: this.options.queryMaxLength,
        });
      } catch (error) {
        if (error instanceof O1Error) throw new O1Error(error.code, error.message, { file: record.file, line: record.line, field: error.location.field }, { cause: error });
        throw error;
      }
      queryRows.push(example.inputIds);
      queryLabels.push(dropped && this.options.droppedThoughtEos === false ? example.labels.map(() => IGNORE_INDEX) : example.labels);
      const group = this.scoredGroup(recordIndex, epoch);
      for (const passage of group.passages) passageRows.push(this.passageIds(passage));
      teacher.push(group.teacherScores);
    }
    const rows = [...queryRows, ...passageRows];
    const length = bucketLength(Math.max(...rows.map((row) => row.length)), this.options.lengthBuckets);
    const packed = packRows(rows, [...queryLabels, ...passageRows.map(() => undefined)], length, this.tokenizer.padTokenId);
    if (this.options.distillation === true) Object.assign(packed.batch, teacherInputs(teacher, this.groupSize));
    return packed;
  }
}

/**
 * The distillation inputs of a batch: per query the softmax of its group's teacher scores
 * (FlagEmbedding's teacher_targets), and the weight 1/(queries with scores), or 0 for a query
 * without scores (its targets are left 0).
 *
 * @example
 * teacherInputs([[2, 0], undefined], 2) // { teacherTargets: [0.88, 0.12, 0, 0], teacherWeights: [1, 0] }
 */
export function teacherInputs(scores: readonly (readonly number[] | undefined)[], groupSize: number): { teacherTargets: Float32Array; teacherWeights: Float32Array } {
  const teacherTargets = new Float32Array(scores.length * groupSize);
  const teacherWeights = new Float32Array(scores.length);
  const scored = scores.filter((row) => row !== undefined).length;
  scores.forEach((row, query) => {
    if (row === undefined) return;
    teacherTargets.set(softmax(row), query * groupSize);
    teacherWeights[query] = 1 / scored;
  });
  return { teacherTargets, teacherWeights };
}

// -------------------------------------------------------------------------------------------------
// Pre-training batches

/** Options for {@link PretrainBatcher}. */
export interface PretrainBatchOptions {
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Tokens per sequence (packed) or the most per row (bucketed). */
  sequenceLength: number;
  /** Default 'packed'. */
  packing?: 'packed' | 'bucketed';
  /** Default 0. */
  seed?: number;
  /** Padded lengths (bucketed only). */
  lengthBuckets: readonly number[];
}

/**
 * Next-token (language-model) micro-batches over plain texts. Each text is tokenised with the
 * tokenizer's own BOS convention and followed by EOS.
 * - `packed`: all texts form one token stream cut into rows of exactly `sequenceLength` (the
 *   remainder is dropped); no padding, every position is supervised.
 * - `bucketed`: each text is split into pieces of at most `sequenceLength` tokens; pieces are
 *   grouped by bucket length, so padding stays small and nothing attends across texts.
 * Each epoch visits rows (packed) or batches (bucketed) in a fresh seeded order; incomplete
 * batches are dropped.
 *
 * @example
 * const batcher = new PretrainBatcher(tokenizer, texts, { batchSize: 16, sequenceLength: 128, lengthBuckets: [] });
 */
export class PretrainBatcher implements Batcher {
  readonly batchesPerEpoch: number;
  /** Tokens the data holds after tokenisation. */
  readonly totalTokens: number;
  private readonly stream: Int32Array | undefined;
  private readonly pieces: number[][] = [];
  private readonly buckets = new Map<number, number[]>();
  private readonly seed: number;
  private readonly orders = new Map<number, number[][]>();

  constructor(
    private readonly tokenizer: Tokenizer,
    texts: readonly string[],
    private readonly options: PretrainBatchOptions,
  ) {
    this.seed = options.seed ?? 0;
    const eos = tokenizer.eosTokenId;
    const length = options.sequenceLength;
    const encoded = texts.map((text) => {
      const ids = tokenizer.encode(text);
      if (eos !== undefined) ids.push(eos);
      return ids;
    });
    this.totalTokens = encoded.reduce((sum, ids) => sum + ids.length, 0);
    if ((options.packing ?? 'packed') === 'packed') {
      const rows = Math.floor(this.totalTokens / length);
      const stream = new Int32Array(rows * length);
      let offset = 0;
      for (const ids of encoded) {
        if (offset >= stream.length) break;
        const take = ids.slice(0, stream.length - offset);
        stream.set(take, offset);
        offset += take.length;
      }
      this.stream = stream;
      this.batchesPerEpoch = Math.floor(rows / options.batchSize);
    } else {
      for (const ids of encoded) for (let start = 0; start < ids.length; start += length) if (ids.length - start >= 2) this.pieces.push(ids.slice(start, start + length));
      this.pieces.forEach((piece, index) => {
        const bucket = this.pieceBucket(piece.length);
        const members = this.buckets.get(bucket) ?? [];
        members.push(index);
        this.buckets.set(bucket, members);
      });
      let batches = 0;
      for (const members of this.buckets.values()) batches += Math.floor(members.length / options.batchSize);
      this.batchesPerEpoch = batches;
    }
    if (this.batchesPerEpoch === 0) {
      throw new O1Error('BAD_ARGUMENT', `${this.totalTokens} tokens of text do not fill one batch of ${options.batchSize} × ${length}`, { field: 'batchSize' });
    }
  }

  /** Bucketed: the padded length of rows of at most `length` tokens (never past sequenceLength unless a row is longer). */
  private pieceBucket(length: number): number {
    return Math.min(bucketLength(length, this.options.lengthBuckets), Math.max(this.options.sequenceLength, length));
  }

  /** Bucketed: the epoch's batches as lists of piece indices. */
  private bucketedOrder(epoch: number): number[][] {
    let batches = this.orders.get(epoch);
    if (batches === undefined) {
      batches = [];
      const keys = [...this.buckets.keys()].sort((a, b) => a - b);
      for (const key of keys) {
        const members = this.buckets.get(key)!;
        const order = permutation(members.length, deriveSeed(this.seed, ORDER_SALT, epoch, key));
        for (let start = 0; start + this.options.batchSize <= members.length; start += this.options.batchSize) {
          batches.push(order.slice(start, start + this.options.batchSize).map((position) => members[position]));
        }
      }
      const shuffled = permutation(batches.length, deriveSeed(this.seed, ORDER_SALT, epoch)).map((position) => batches![position]);
      this.orders.clear();
      this.orders.set(epoch, shuffled);
      batches = shuffled;
    }
    return batches;
  }

  batch(index: number): MicroBatch {
    const epoch = Math.floor(index / this.batchesPerEpoch);
    const position = index % this.batchesPerEpoch;
    const { batchSize, sequenceLength } = this.options;
    if (this.stream !== undefined) {
      const rowCount = this.stream.length / sequenceLength;
      let order = this.orders.get(epoch)?.[0];
      if (order === undefined) {
        order = permutation(rowCount, deriveSeed(this.seed, ORDER_SALT, epoch));
        this.orders.clear();
        this.orders.set(epoch, [order]);
      }
      const rows: number[][] = [];
      for (let row = position * batchSize; row < (position + 1) * batchSize; row++) {
        const start = order[row] * sequenceLength;
        rows.push(Array.from(this.stream.subarray(start, start + sequenceLength)));
      }
      return packRows(rows, rows, sequenceLength, this.tokenizer.padTokenId);
    }
    const rows = this.bucketedOrder(epoch)[position].map((piece) => this.pieces[piece]);
    const length = Math.max(...rows.map((row) => row.length));
    return packRows(rows, rows, this.pieceBucket(length), this.tokenizer.padTokenId);
  }
}
