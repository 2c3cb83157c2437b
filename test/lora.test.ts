import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph } from '../src/engine/graph.js';
import { SeededRandom } from '../src/util/random.js';
import { compileGraph } from '../src/engine/session.js';
import { buildDecoderGraph, decoderForward, decoderLogits, weightFeeds } from '../src/model/decoder-graph.js';
import { initializeDecoderWeights, tinyDecoderConfig } from '../src/model/decoder-init.js';
import { createTrainingStep } from '../src/model/decoder-training.js';
import { loadHuggingFaceModel } from '../src/model/formats/safetensors.js';
import type { WeightMap } from '../src/model/types.js';
import { DEFAULT_LORA, initializeLoraWeights, loraParameters, loraSites, mergeLora } from '../src/training/lora.js';
import { resolveTrainingConfig } from '../src/training/config.js';
import { runTraining } from '../src/training/trainer.js';
import { tinyBpeTokenizer, TINY_CORPUS } from './helpers/tiny-models.js';

const LORA = { rank: 4, alpha: 8, targets: DEFAULT_LORA.targets };

function randomBatch(vocabSize: number, rows: number, length: number, seed: number) {
  const random = new SeededRandom(seed);
  const inputIds = BigInt64Array.from({ length: rows * length }, () => BigInt(random.integer(vocabSize)));
  const attentionMask = BigInt64Array.from({ length: rows * length }, (_, index) => (index % length < 2 && Math.floor(index / length) === 1 ? 0n : 1n));
  return { inputIds, attentionMask, labels: inputIds, length };
}

function copy(weights: WeightMap): Map<string, Float32Array> {
  return new Map([...weights].map(([name, tensor]) => [name, Float32Array.from(tensor.data)]));
}

test('LoRA training changes only the adapters; base weights stay bit-identical', async () => {
  const config = tinyDecoderConfig({ architecture: 'qwen2', vocabSize: 96 });
  const weights: WeightMap = initializeDecoderWeights(config, { seed: 1 });
  for (const [name, tensor] of initializeLoraWeights(config, LORA, 2)) weights.set(name, tensor);
  const before = copy(weights);
  const trainer = createTrainingStep(config, { batch: 6, length: 12, loss: 'joint', groupSize: 2, threads: 1, optimizer: { learningRate: 1e-2 }, declareParameters: loraParameters(config, LORA) });
  for (let step = 0; step < 3; step++) await trainer.step(randomBatch(config.vocabSize, 6, 12, step), weights);
  const trainedNames = [...trainer.optimizerState().moments.keys()];
  await trainer.dispose();
  const sites = loraSites(config, LORA);
  assert.equal(sites.length, 7 * config.numHiddenLayers);
  assert.deepEqual(new Set(trainedNames), new Set(sites.flatMap((site) => [site.a, site.b])));
  for (const [name, original] of before) {
    const now = weights.get(name)!.data;
    if (name.includes('.lora_')) assert.notDeepEqual(now, original, `${name} should train`);
    else assert.deepEqual(now, original, `${name} must stay frozen`);
  }
});

test('merged weights give the same logits as base + adapter in the graph', async () => {
  const config = tinyDecoderConfig({ vocabSize: 80 });
  const weights: WeightMap = initializeDecoderWeights(config, { seed: 3 });
  const random = new SeededRandom(4);
  for (const [name, tensor] of initializeLoraWeights(config, LORA, 5)) {
    // Non-zero B so the adapter matters.
    weights.set(name, name.includes('lora_B') ? { shape: tensor.shape, data: random.normalArray(tensor.data.length, 0.05) } : tensor);
  }
  const batch = randomBatch(config.vocabSize, 2, 10, 6);

  const graph = new Graph({ name: 'lora-forward' });
  const { decoder } = loraParameters(config, LORA)(graph, 'float32');
  const ids = graph.input('input_ids', 'int64', [2, 10]);
  const mask = graph.input('attention_mask', 'int64', [2, 10]);
  graph.output(decoderLogits(config, decoder, decoderForward(config, decoder, ids, mask).hidden), 'logits');
  const adapted = await compileGraph(graph, { threads: 1 });
  const inGraph = (await adapted.run({ input_ids: batch.inputIds, attention_mask: batch.attentionMask, ...weightFeeds(weights) })).logits.data as Float32Array;
  await adapted.session.release();

  const merged = mergeLora(config, weights, LORA);
  assert.ok([...merged.keys()].every((name) => !name.includes('lora_')));
  const plain = await compileGraph(buildDecoderGraph(config, { batch: 2, length: 10, logits: 'all' }), { threads: 1 });
  const direct = (await plain.run({ input_ids: batch.inputIds, attention_mask: batch.attentionMask, ...weightFeeds(merged) })).logits.data as Float32Array;
  await plain.session.release();

  const base = await compileGraph(buildDecoderGraph(config, { batch: 2, length: 10, logits: 'all' }), { threads: 1 });
  const unadapted = (await base.run({ input_ids: batch.inputIds, attention_mask: batch.attentionMask, ...weightFeeds(new Map([...weights].filter(([name]) => !name.includes('lora_')))) })).logits.data as Float32Array;
  await base.session.release();

  let worst = 0;
  let adapterEffect = 0;
  for (let index = 0; index < direct.length; index++) {
    worst = Math.max(worst, Math.abs(direct[index] - inGraph[index]));
    adapterEffect = Math.max(adapterEffect, Math.abs(unadapted[index] - inGraph[index]));
  }
  assert.ok(worst < 1e-5, `merged vs in-graph: ${worst}`);
  assert.ok(adapterEffect > 1e-3, `the adapter changes the logits (${adapterEffect})`);
});

test('o1e train with LoRA saves a merged model; embedding and norms untouched', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'o1e-lora-'));
  try {
    await tinyBpeTokenizer(384).save(join(directory, 'tokenizer'));
    const records = Array.from({ length: 4 }, (_, index) =>
      JSON.stringify({ query: `query ${index}`, pos: [TINY_CORPUS[index]], neg: [TINY_CORPUS[index + 1]], thought: TINY_CORPUS[index].slice(0, 25) }),
    );
    writeFileSync(join(directory, 'train.jsonl'), records.join('\n'));
    const settings = (steps: number) =>
      resolveTrainingConfig(
        {
          mode: 'joint', seed: 4, output: `run-${steps}`, threads: 1,
          model: { init: { hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 4, intermediateSize: 48 }, tokenizer: 'tokenizer' },
          data: { records: ['train.jsonl'] }, joint: { groupSize: 2 }, batchSize: 2, maxSteps: steps,
          lora: { rank: 2, alpha: 4, targets: ['q', 'v', 'down'] }, optimizer: { learningRate: 1e-2 },
        },
        { baseDirectory: directory },
      );
    const summary = await runTraining(settings(3));
    const saved = await loadHuggingFaceModel(summary.modelPath!);
    const initial = (await runTraining(settings(1), { stopAfterSteps: 0 })).model;
    for (const [name, tensor] of saved.weights) {
      assert.deepEqual(tensor.data, summary.model.weights.get(name)!.data, `${name} saved as trained`);
      const adapted = /\.(q_proj|v_proj|down_proj)\.weight$/.test(name);
      if (adapted) assert.notDeepEqual(tensor.data, initial.weights.get(name)!.data, `${name} carries the merged adapter`);
      else assert.deepEqual(tensor.data, initial.weights.get(name)!.data, `${name} is frozen`);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
