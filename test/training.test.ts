import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileGraph } from '../src/engine/session.js';
import { O1Error } from '../src/errors.js';
import { DecoderModel } from '../src/inference/model.js';
import { buildDecoderGraph, weightFeeds } from '../src/model/decoder-graph.js';
import { initializeDecoderWeights, tinyDecoderConfig } from '../src/model/decoder-init.js';
import { createTrainingStep } from '../src/model/decoder-training.js';
import { O1_SPECIAL_TOKENS } from '../src/model/special-tokens.js';
import { IGNORE_INDEX, o1TokenIds } from '../src/o1/layout.js';
import { JointBatcher, PretrainBatcher, type JointRecord } from '../src/training/batches.js';
import { resolveTrainingConfig } from '../src/training/config.js';
import { readJointRecords } from '../src/training/data.js';
import { runTraining, type TrainingLogRecord } from '../src/training/trainer.js';
import { main } from '../src/cli/main.js';
import { tinyBpeTokenizer, TINY_CORPUS } from './helpers/tiny-models.js';

const BUCKETS = [16, 32, 48, 64, 96, 128];

function o1Tokenizer() {
  const tokenizer = tinyBpeTokenizer(384);
  tokenizer.addSpecialTokens(O1_SPECIAL_TOKENS);
  return tokenizer;
}

function record(index: number, overrides: Partial<JointRecord> = {}): JointRecord {
  const passage = TINY_CORPUS[index % TINY_CORPUS.length];
  return {
    query: `what about ${passage.split(' ').slice(2, 5).join(' ')}`,
    pos: [passage],
    neg: [TINY_CORPUS[(index + 1) % TINY_CORPUS.length], TINY_CORPUS[(index + 2) % TINY_CORPUS.length]],
    thought: passage.slice(0, 30),
    file: 'memory',
    line: index + 1,
    ...overrides,
  };
}

/** A scratch folder with a tokenizer, training records and a text file. */
function workspace(recordCount = 8): string {
  const directory = mkdtempSync(join(tmpdir(), 'o1e-train-'));
  const records = Array.from({ length: recordCount }, (_, index) => {
    const { file: _file, line: _line, ...json } = record(index);
    return JSON.stringify(json);
  });
  writeFileSync(join(directory, 'train.jsonl'), `${records.join('\n')}\n`);
  writeFileSync(join(directory, 'texts.txt'), Array.from({ length: 24 }, (_, index) => TINY_CORPUS[index % TINY_CORPUS.length]).join('\n\n'));
  return directory;
}

async function withTokenizer(directory: string): Promise<void> {
  await tinyBpeTokenizer(384).save(join(directory, 'tokenizer'));
}

const TINY_INIT = { hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, intermediateSize: 64 };

test('joint batches: only the thought tokens and EOS are supervised; every row ends in <emb>, left-padded', () => {
  const tokenizer = o1Tokenizer();
  const ids = o1TokenIds(tokenizer);
  const records = [record(0, { thought: 'The dog swam.' })];
  const batcher = new JointBatcher(tokenizer, records, [], { batchSize: 1, groupSize: 3, thoughtDropout: 0, lengthBuckets: BUCKETS });
  const { batch, tokens, paddedTokens } = batcher.batch(0);
  const length = batch.length!;
  assert.equal(batch.inputIds.length, 4 * length, '1 query + 3 passages');
  assert.ok(BUCKETS.includes(length));
  const row = (array: BigInt64Array, index: number) => Array.from(array.subarray(index * length, (index + 1) * length), Number);
  const queryIds = row(batch.inputIds, 0);
  const queryLabels = row(batch.labels!, 0);
  const queryMask = row(batch.attentionMask, 0);
  const firstReal = queryMask.indexOf(1);
  assert.ok(queryMask.slice(0, firstReal).every((bit) => bit === 0) && queryMask.slice(firstReal).every((bit) => bit === 1), 'left padding');
  assert.equal(queryIds[length - 1], ids.embedding);
  const thoughtAt = queryIds.indexOf(ids.thought);
  const supervised = queryLabels.flatMap((label, position) => (label === IGNORE_INDEX ? [] : [position]));
  // Supervised: exactly the positions after <thought> up to the EOS, not <emb>.
  assert.deepEqual(supervised, Array.from({ length: length - 2 - thoughtAt }, (_, offset) => thoughtAt + 1 + offset));
  assert.equal(queryIds[supervised[supervised.length - 1]], ids.eos);
  assert.equal(tokenizer.decode(supervised.slice(0, -1).map((position) => queryIds[position])), 'The dog swam.');
  for (const position of supervised) assert.equal(queryLabels[position], queryIds[position], 'labels are the ids (the graph shifts)');
  for (let passage = 1; passage <= 3; passage++) {
    assert.ok(row(batch.labels!, passage).every((label) => label === IGNORE_INDEX), 'passages carry no labels');
    assert.equal(row(batch.inputIds, passage)[length - 1], ids.embedding);
  }
  assert.equal(paddedTokens, 4 * length);
  assert.equal(tokens, Array.from(batch.attentionMask).filter((bit) => bit === 1n).length);

  // Thought dropout 1: the query-only sequence supervises the EOS alone.
  const dropped = new JointBatcher(tokenizer, records, [], { batchSize: 1, groupSize: 3, thoughtDropout: 1, lengthBuckets: BUCKETS }).batch(0).batch;
  const droppedLength = dropped.length!;
  const droppedLabels = Array.from(dropped.labels!.subarray(0, droppedLength), Number).filter((label) => label !== IGNORE_INDEX);
  assert.deepEqual(droppedLabels, [ids.eos]);
  // droppedThoughtEos false: the same query-only sequence, no generation label at all.
  const unlabelled = new JointBatcher(tokenizer, records, [], { batchSize: 1, groupSize: 3, thoughtDropout: 1, droppedThoughtEos: false, lengthBuckets: BUCKETS }).batch(0).batch;
  assert.deepEqual(Array.from(unlabelled.inputIds.subarray(0, unlabelled.length!)), Array.from(dropped.inputIds.subarray(0, droppedLength)));
  assert.ok(Array.from(unlabelled.labels!, Number).every((label) => label === IGNORE_INDEX));
  // A kept thought is still supervised with the option off.
  const kept = new JointBatcher(tokenizer, records, [], { batchSize: 1, groupSize: 3, thoughtDropout: 0, droppedThoughtEos: false, lengthBuckets: BUCKETS }).batch(0).batch;
  assert.ok(Array.from(kept.labels!.subarray(0, kept.length!), Number).filter((label) => label !== IGNORE_INDEX).length > 1);
});

test('joint groups: positive first, negatives from neg, padded from the pool without the positives; deterministic', () => {
  const tokenizer = o1Tokenizer();
  const records = [record(0), record(1, { neg: [] })];
  const pool = ['pool passage one', 'pool passage two', 'pool passage three', TINY_CORPUS[1]];
  const batcher = new JointBatcher(tokenizer, records, pool, { batchSize: 2, groupSize: 4, thoughtDropout: 0, seed: 3, lengthBuckets: BUCKETS });
  const first = batcher.group(0, 0);
  assert.equal(first[0], TINY_CORPUS[0]);
  assert.ok(first.includes(TINY_CORPUS[1]) && first.includes(TINY_CORPUS[2]), 'all of a short neg list is used');
  assert.equal(new Set(first).size, 4);
  const second = batcher.group(1, 0);
  assert.equal(second[0], TINY_CORPUS[1]);
  assert.ok(second.slice(1).every((passage) => pool.includes(passage) && passage !== TINY_CORPUS[1]), 'pool padding skips the own positive');
  assert.deepEqual(batcher.group(1, 0), second);
  assert.deepEqual(Array.from(batcher.batch(5).batch.inputIds), Array.from(batcher.batch(5).batch.inputIds));
});

test('the joint graph loss equals InfoNCE and next-token CE computed directly from its logits and embeddings', async () => {
  const tokenizer = o1Tokenizer();
  const config = tinyDecoderConfig({ vocabSize: tokenizer.vocabSize });
  const weights = initializeDecoderWeights(config, { seed: 5, standardDeviation: 0.2 });
  const groupSize = 2;
  const batcher = new JointBatcher(tokenizer, [record(0), record(3)], [], { batchSize: 2, groupSize, thoughtDropout: 0, lengthBuckets: BUCKETS });
  const { batch } = batcher.batch(0);
  const length = batch.length!;
  const rows = batch.inputIds.length / length;
  const trainer = createTrainingStep(config, { batch: rows, length, loss: 'joint', groupSize, threads: 1 });
  const { losses } = await trainer.computeGradients(batch, weights);
  await trainer.dispose();

  const compiled = await compileGraph(buildDecoderGraph(config, { batch: rows, length, logits: 'all', hiddenStates: true }), { threads: 1 });
  const outputs = await compiled.run({ input_ids: batch.inputIds, attention_mask: batch.attentionMask, ...weightFeeds(weights) });
  await compiled.session.release();
  const logits = outputs.logits.data as Float32Array;
  const hidden = outputs.last_hidden_state.data as Float32Array;
  const vocabulary = config.vocabSize;
  const width = config.hiddenSize;

  // Next-token CE: position t predicts label t + 1, over supervised labels only.
  let sum = 0;
  let count = 0;
  for (let row = 0; row < rows; row++) {
    for (let position = 0; position + 1 < length; position++) {
      const label = Number(batch.labels![row * length + position + 1]);
      if (label === IGNORE_INDEX || batch.attentionMask[row * length + position] === 0n) continue;
      const offset = (row * length + position) * vocabulary;
      let max = -Infinity;
      for (let index = 0; index < vocabulary; index++) max = Math.max(max, logits[offset + index]);
      let total = 0;
      for (let index = 0; index < vocabulary; index++) total += Math.exp(logits[offset + index] - max);
      sum += max + Math.log(total) - logits[offset + label];
      count++;
    }
  }
  const generation = sum / count;

  // InfoNCE over L2-normalised last-position states, temperature 0.02, target i * G.
  const embedding = (row: number) => {
    const vector = Array.from(hidden.subarray((row * length + length - 1) * width, (row * length + length) * width));
    const norm = Math.sqrt(vector.reduce((total, value) => total + value * value, 0));
    return vector.map((value) => value / norm);
  };
  const queries = rows / (1 + groupSize);
  let contrastiveSum = 0;
  for (let query = 0; query < queries; query++) {
    const q = embedding(query);
    const scores = Array.from({ length: queries * groupSize }, (_, document) => q.reduce((total, value, index) => total + value * embedding(queries + document)[index], 0) / 0.02);
    const max = Math.max(...scores);
    const logSum = max + Math.log(scores.reduce((total, score) => total + Math.exp(score - max), 0));
    contrastiveSum += logSum - scores[query * groupSize];
  }
  const contrastive = contrastiveSum / queries;

  assert.ok(Math.abs(losses.generationLoss! - generation) < 1e-4 * Math.max(1, generation), `CE ${losses.generationLoss} vs ${generation}`);
  assert.ok(Math.abs(losses.contrastiveLoss! - contrastive) < 1e-3 * Math.max(1, contrastive), `InfoNCE ${losses.contrastiveLoss} vs ${contrastive}`);
  assert.ok(Math.abs(losses.loss - (0.8 * contrastive + 0.2 * generation)) < 1e-3 * Math.max(1, losses.loss));
});

test('teacher scores: batches carry softmax targets and weights; the graph adds the distillation term, checked by hand', async () => {
  const tokenizer = o1Tokenizer();
  // Targets: softmax of a group's teacher scores; a record without scores gets weight 0.
  const { teacherInputs } = await import('../src/training/batches.js');
  const inputs = teacherInputs([[2, 0], undefined, [1, 1]], 2);
  const e2 = Math.exp(2);
  assert.deepEqual(Array.from(inputs.teacherTargets), Array.from(Float32Array.from([e2 / (e2 + 1), 1 / (e2 + 1), 0, 0, 0.5, 0.5])));
  assert.deepEqual(Array.from(inputs.teacherWeights), [0.5, 0, 0.5]);

  const config = tinyDecoderConfig({ vocabSize: tokenizer.vocabSize });
  const weights = initializeDecoderWeights(config, { seed: 5, standardDeviation: 0.2 });
  const groupSize = 3;
  const scored = (index: number, scores: number[]) => record(index, { posScores: [scores[0]], negScores: scores.slice(1) });
  const records = [scored(0, [3, 1, -1]), record(3), scored(5, [0.5, 2, 0])];
  const batcher = new JointBatcher(tokenizer, records, [], { batchSize: 3, groupSize, thoughtDropout: 0, lengthBuckets: BUCKETS, distillation: true });
  const { batch } = batcher.batch(0);
  assert.ok(batch.teacherTargets !== undefined && batch.teacherWeights !== undefined);
  const length = batch.length!;
  const rows = batch.inputIds.length / length;
  const plain = createTrainingStep(config, { batch: rows, length, loss: 'joint', groupSize, threads: 1 });
  const withTeacher = createTrainingStep(config, { batch: rows, length, loss: 'joint', groupSize, threads: 1, distillation: true });
  const without = (await plain.computeGradients(batch, weights)).losses;
  const losses = (await withTeacher.computeGradients(batch, weights)).losses;
  await plain.dispose();
  await withTeacher.dispose();
  assert.equal(without.distillationLoss, undefined);
  assert.ok(Math.abs(losses.contrastiveLoss! - (without.contrastiveLoss! + losses.distillationLoss!)) < 1e-4, 'contrastive = InfoNCE + distillation');
  assert.ok(Math.abs(losses.loss - (0.8 * losses.contrastiveLoss! + 0.2 * losses.generationLoss!)) < 1e-4);

  // By hand: group scores q·d / 0.02 of each query's own passages, teacher softmax in the order
  // the batcher placed them (positive, then sampled negatives), mean over the scored queries.
  const compiled = await compileGraph(buildDecoderGraph(config, { batch: rows, length, logits: 'none', hiddenStates: true }), { threads: 1 });
  const outputs = await compiled.run({ input_ids: batch.inputIds, attention_mask: batch.attentionMask, ...weightFeeds(weights) });
  await compiled.session.release();
  const hidden = outputs.last_hidden_state.data as Float32Array;
  const width = config.hiddenSize;
  const embedding = (row: number) => {
    const vector = Array.from(hidden.subarray((row * length + length - 1) * width, (row * length + length) * width));
    const norm = Math.sqrt(vector.reduce((total, value) => total + value * value, 0));
    return vector.map((value) => value / norm);
  };
  let expected = 0;
  for (let query = 0; query < 3; query++) {
    const weight = batch.teacherWeights![query];
    if (weight === 0) continue;
    const q = embedding(query);
    const scores = Array.from({ length: groupSize }, (_, member) => q.reduce((total, value, index) => total + value * embedding(3 + query * groupSize + member)[index], 0) / 0.02);
    const max = Math.max(...scores);
    const logSum = max + Math.log(scores.reduce((total, score) => total + Math.exp(score - max), 0));
    const targets = Array.from(batch.teacherTargets!.subarray(query * groupSize, (query + 1) * groupSize));
    expected += weight * -targets.reduce((total, target, member) => total + target * (scores[member] - logSum), 0);
  }
  assert.equal(Array.from(batch.teacherWeights!).filter((value) => value > 0).length, 2);
  assert.ok(Math.abs(losses.distillationLoss! - expected) < 1e-3 * Math.max(1, expected), `distillation ${losses.distillationLoss} vs ${expected}`);
});

test('joint training lowers the loss on a toy dataset', async () => {
  const directory = workspace(8);
  try {
    await withTokenizer(directory);
    const logs: TrainingLogRecord[] = [];
    const config = resolveTrainingConfig(
      {
        mode: 'joint', seed: 1, output: 'run', threads: 1,
        model: { init: TINY_INIT, tokenizer: 'tokenizer' },
        data: { records: ['train.jsonl'] },
        joint: { groupSize: 3, thoughtDropout: 0 },
        batchSize: 4, epochs: 12, logEvery: 1, lengthBuckets: BUCKETS,
        optimizer: { learningRate: 3e-3 }, schedule: { warmupRatio: 0 },
      },
      { baseDirectory: directory },
    );
    const summary = await runTraining(config, { onLog: (entry) => logs.push(entry) });
    const steps = logs.filter((entry) => entry.type === 'step');
    assert.equal(steps.length, 24);
    const mean = (entries: TrainingLogRecord[], key: 'loss' | 'generationLoss' | 'contrastiveLoss') => entries.reduce((total, entry) => total + entry[key]!, 0) / entries.length;
    for (const key of ['loss', 'generationLoss', 'contrastiveLoss'] as const) {
      assert.ok(mean(steps.slice(-4), key) < mean(steps.slice(0, 4), key), `${key} fell: ${mean(steps.slice(0, 4), key)} -> ${mean(steps.slice(-4), key)}`);
    }
    for (const entry of steps) {
      assert.ok(entry.learningRate! > 0 || entry.step === 24);
      assert.ok(Number.isFinite(entry.gradientNorm) && entry.tokensPerSecond! > 0);
    }
    assert.ok(summary.modelPath !== undefined && existsSync(join(summary.modelPath, 'model.safetensors')));
    const logLines = readFileSync(join(directory, 'run', 'train.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TrainingLogRecord);
    assert.deepEqual(logLines.map((entry) => entry.type), ['start', ...steps.map(() => 'step'), 'done']);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('contrastive mode: records need no thought, queries use the query-only layout, InfoNCE falls, no generation loss', async () => {
  const directory = workspace(8);
  try {
    await withTokenizer(directory);
    // Thoughtless records (e.g. title -> abstract pairs from a corpus).
    const lines = readFileSync(join(directory, 'train.jsonl'), 'utf8').trim().split('\n').map((line) => {
      const { thought: _thought, ...rest } = JSON.parse(line);
      return JSON.stringify(rest);
    });
    writeFileSync(join(directory, 'pairs.jsonl'), `${lines.join('\n')}\n`);
    const logs: TrainingLogRecord[] = [];
    const config = resolveTrainingConfig(
      {
        mode: 'contrastive', seed: 1, output: 'run', threads: 1,
        model: { init: TINY_INIT, tokenizer: 'tokenizer' },
        data: { records: ['pairs.jsonl'] },
        joint: { groupSize: 2 },
        batchSize: 4, epochs: 10, logEvery: 1, lengthBuckets: BUCKETS,
        optimizer: { learningRate: 3e-3 }, schedule: { warmupRatio: 0 },
      },
      { baseDirectory: directory },
    );
    await runTraining(config, { onLog: (entry) => logs.push(entry) });
    const steps = logs.filter((entry) => entry.type === 'step');
    assert.equal(steps.length, 20);
    assert.ok(steps.every((entry) => entry.generationLoss === undefined && entry.contrastiveLoss === entry.loss));
    const mean = (entries: TrainingLogRecord[]) => entries.reduce((total, entry) => total + entry.loss!, 0) / entries.length;
    assert.ok(mean(steps.slice(-4)) < mean(steps.slice(0, 4)), `InfoNCE fell: ${mean(steps.slice(0, 4))} -> ${mean(steps.slice(-4))}`);
    // The query rows are the query-only layout: <query>q</query><thought>{EOS}<emb>.
    const tokenizer = o1Tokenizer();
    const records = await readJointRecords([join(directory, 'pairs.jsonl')], { requireThought: false });
    assert.ok(records.every((item) => item.thought === ''));
    await assert.rejects(readJointRecords([join(directory, 'pairs.jsonl')]), /thought/);
    const batch = new JointBatcher(tokenizer, records, [], { batchSize: 4, groupSize: 2, thoughtDropout: 1, lengthBuckets: BUCKETS }).batch(0).batch;
    const ids = o1TokenIds(tokenizer);
    const row = Array.from(batch.inputIds.subarray(0, batch.length!), Number);
    assert.deepEqual(row.slice(-3), [ids.thought, ids.eos, ids.embedding]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('resume: 3 steps + checkpoint + 3 resumed steps give exactly the weights of 6 straight steps', async () => {
  const directory = workspace(8);
  try {
    await withTokenizer(directory);
    const settings = (output: string) =>
      resolveTrainingConfig(
        {
          mode: 'joint', seed: 9, output, threads: 1,
          model: { init: TINY_INIT, tokenizer: 'tokenizer' },
          data: { records: ['train.jsonl'] },
          joint: { groupSize: 2 },
          batchSize: 2, gradientAccumulation: 2, maxSteps: 6, checkpointEvery: 3, lengthBuckets: BUCKETS,
          optimizer: { learningRate: 2e-3 },
        },
        { baseDirectory: directory },
      );
    const straight = await runTraining(settings('straight'));
    const first = await runTraining(settings('split'), { stopAfterSteps: 3 });
    assert.equal(first.steps, 3);
    assert.equal(first.modelPath, undefined);
    assert.ok(existsSync(join(directory, 'split', 'checkpoints', 'step-00000003', 'state.json')));
    await assert.rejects(runTraining(settings('split')), (error: unknown) => error instanceof O1Error && /--resume/.test(error.message));
    const resumed = await runTraining(settings('split'), { resume: true });
    assert.equal(resumed.steps, 6);
    for (const [name, tensor] of straight.model.weights) {
      assert.deepEqual(resumed.model.weights.get(name)!.data, tensor.data, `${name} differs after resume`);
    }
    const name = 'model.layers.0.mlp.up_proj.weight';
    assert.notDeepEqual(resumed.model.weights.get(name)!.data, first.model.weights.get(name)!.data, 'the resumed steps trained');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('bad records fail before anything is written, naming the file and line', async () => {
  const directory = workspace(4);
  try {
    await withTokenizer(directory);
    const cases: [string, RegExp][] = [
      [JSON.stringify({ query: 'q', neg: [], thought: 't' }), /pos/],
      [JSON.stringify({ query: '  ', pos: ['p'], thought: 't' }), /query/],
      [JSON.stringify({ query: 'q', pos: ['p'], thought: '' }), /thought/],
      [JSON.stringify({ query: 'q', pos: ['p'] }), /thought/],
      [JSON.stringify({ query: 'q', pos: ['p'], neg: ['n'], thought: 't', pos_scores: [1] }), /neg_scores/],
      [JSON.stringify({ query: 'q', pos: ['p'], neg: ['n'], thought: 't', pos_scores: [1, 2], neg_scores: [0] }), /pos_scores/],
    ];
    for (const [line, pattern] of cases) {
      const file = join(directory, 'bad.jsonl');
      writeFileSync(file, `${readFileSync(join(directory, 'train.jsonl'), 'utf8')}\n${line}\n`);
      const config = resolveTrainingConfig(
        { mode: 'joint', output: 'bad-run', model: { init: TINY_INIT, tokenizer: 'tokenizer' }, data: { records: ['bad.jsonl'] }, batchSize: 2 },
        { baseDirectory: directory },
      );
      await assert.rejects(runTraining(config), (error: unknown) => {
        assert.ok(error instanceof O1Error, String(error));
        assert.equal(error.code, 'MISSING_FIELD');
        assert.equal(error.location.file, file);
        assert.equal(error.location.line, 6);
        assert.match(error.message, pattern);
        return true;
      });
      assert.equal(existsSync(join(directory, 'bad-run')), false, 'nothing written');
    }
    await assert.rejects(readJointRecords([join(directory, 'missing.jsonl')]), (error: unknown) => error instanceof O1Error);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('config validation names the field; LoRA dropout is refused', () => {
  const base = { mode: 'pretrain', output: 'x', model: { init: {}, tokenizer: 't' }, data: { texts: ['a.txt'] } };
  assert.throws(() => resolveTrainingConfig({ ...base, batchsize: 4 }), /batchsize: unknown key|field batchsize/);
  assert.throws(() => resolveTrainingConfig({ ...base, optimizer: { learningRate: -1 } }), /optimizer\.learningRate/);
  assert.throws(() => resolveTrainingConfig({ ...base, lora: { dropout: 0.1 } }), /lora\.dropout/);
  assert.throws(() => resolveTrainingConfig({ ...base, mode: 'joint' }), /data\.records/);
  const config = resolveTrainingConfig({ ...base, mode: 'joint', data: { records: ['r.jsonl'] }, lora: true }, { baseDirectory: '/base' });
  assert.deepEqual(config.joint, { groupSize: 16, temperature: 0.02, contrastiveWeight: 0.8, generationWeight: 0.2, thoughtDropout: 0.1, droppedThoughtEos: true, queryMaxTokens: 32, queryMaxLength: 256, passageMaxLength: 192 });
  assert.deepEqual(config.lora, { rank: 32, alpha: 64, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] });
  assert.equal(config.freezeEmbeddings, true);
  assert.equal(config.optimizer.learningRate, 1e-4);
  assert.equal(config.data.records[0], '/base/r.jsonl');
});

test('pretrain: packed and bucketed batches; training lowers the loss and writes a model DecoderModel loads', async () => {
  const tokenizer = o1Tokenizer();
  const texts = TINY_CORPUS.slice();
  const packed = new PretrainBatcher(tokenizer, texts, { batchSize: 2, sequenceLength: 16, lengthBuckets: BUCKETS });
  const first = packed.batch(0).batch;
  assert.ok(first.attentionMask.every((bit) => bit === 1n));
  assert.deepEqual(first.labels, first.inputIds);
  const bucketed = new PretrainBatcher(tokenizer, texts, { batchSize: 2, sequenceLength: 24, packing: 'bucketed', lengthBuckets: BUCKETS });
  for (let index = 0; index < bucketed.batchesPerEpoch; index++) {
    const { batch } = bucketed.batch(index);
    assert.ok([16, 24].includes(batch.length!), `bucket ${batch.length}`);
    batch.attentionMask.forEach((bit, position) => assert.equal(bit === 0n, batch.labels![position] === BigInt(IGNORE_INDEX)));
  }

  const directory = workspace(2);
  try {
    await withTokenizer(directory);
    const logs: TrainingLogRecord[] = [];
    const config = resolveTrainingConfig(
      {
        mode: 'pretrain', seed: 2, output: 'pre', threads: 1, saveDtype: 'f16',
        model: { init: TINY_INIT, tokenizer: 'tokenizer' },
        data: { texts: ['texts.txt'] },
        pretrain: { sequenceLength: 32 }, batchSize: 4, epochs: 6, logEvery: 1,
        optimizer: { learningRate: 5e-3 },
      },
      { baseDirectory: directory },
    );
    const summary = await runTraining(config, { onLog: (entry) => logs.push(entry) });
    const losses = logs.filter((entry) => entry.type === 'step').map((entry) => entry.loss!);
    assert.ok(losses.slice(-3).reduce((a, b) => a + b) < losses.slice(0, 3).reduce((a, b) => a + b) - 0.3, `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
    const model = await DecoderModel.load(summary.modelPath!, { threads: 1 });
    try {
      assert.ok(o1TokenIds(model.tokenizer).embedding >= 0);
      assert.equal(model.config.vocabSize, model.tokenizer.vocabSize);
      const [vector] = await model.embed(['Once upon a time<emb>']);
      assert.equal(vector.length, TINY_INIT.hiddenSize);
      assert.ok(vector.every(Number.isFinite));
    } finally {
      await model.dispose();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('o1e train --json prints one JSON record per log line', async () => {
  const directory = workspace(2);
  try {
    await withTokenizer(directory);
    writeFileSync(
      join(directory, 'config.json'),
      JSON.stringify({ mode: 'pretrain', output: 'cli', threads: 1, model: { init: TINY_INIT, tokenizer: 'tokenizer' }, data: { texts: ['texts.txt'] }, pretrain: { sequenceLength: 32 }, batchSize: 4, maxSteps: 2, logEvery: 1 }),
    );
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['train', '--config', join(directory, 'config.json'), '--json']);
    } finally {
      process.stdout.write = original;
    }
    assert.equal(code, 0);
    const records = written.join('').trim().split('\n').map((line) => JSON.parse(line) as TrainingLogRecord);
    assert.deepEqual(records.map((entry) => entry.type), ['start', 'step', 'step', 'done']);
    assert.ok(existsSync(join(directory, 'cli', 'model', 'tokenizer.json')));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
