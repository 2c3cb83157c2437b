import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Embedder } from '../src/backends/embedder.js';
import { createEmbedder, createThinker } from '../src/backends/registry.js';
import type { Thinker } from '../src/backends/thinker.js';
import { DecoderModel } from '../src/inference/model.js';
import { saveHuggingFaceModel } from '../src/model/formats/safetensors.js';
import { O1Model } from '../src/o1/model.js';
import { startOpenAiServer, type RunningServer } from '../src/server/openai-server.js';
import { tinyO1Model } from './helpers/o1-fixtures.js';
import { randomDecoder, tinyBpeTokenizer, tinyQwen2Config } from './helpers/tiny-models.js';

describe('the engine backend: our decoder as Thinker and Embedder, behind the OpenAI-compatible server', () => {
  let directory: string;
  let modelPath: string;
  let thinker: Thinker;
  let embedder: Embedder;
  let server: RunningServer;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1-backend-'));
    modelPath = join(directory, 'o1-tiny');
    await tinyO1Model({ output: modelPath });
    thinker = await createThinker({ backend: 'engine', model: modelPath, threads: 1 });
    embedder = await createEmbedder({ backend: 'engine', model: modelPath, threads: 1 });
    server = await startOpenAiServer({ thinker, embedder, port: 0 });
  });
  after(async () => {
    await server?.close();
    await thinker?.close();
    await embedder?.close();
    await rm(directory, { recursive: true, force: true });
  });

  test('HTTP embeddings are the O1 document vectors; chat completions are O1 thoughts for the user message', async () => {
    const headers = { 'content-type': 'application/json' };
    const texts = ['Cats are small furry animals that purr.', 'Dogs bark.'];
    const embeddings = await (await fetch(`${server.url}/embeddings`, { method: 'POST', headers, body: JSON.stringify({ model: 'o1-tiny', input: texts }) })).json() as { data: { index: number; embedding: number[] }[] };
    const local = await O1Model.load(modelPath, { threads: 1 });
    try {
      const expected = await local.embedDocuments(texts);
      assert.equal(embeddings.data.length, 2);
      embeddings.data.forEach((item) => item.embedding.forEach((value, index) => assert.ok(Math.abs(value - expected[item.index][index]) < 1e-5)));
      const chat = await (await fetch(`${server.url}/chat/completions`, {
        method: 'POST', headers,
        body: JSON.stringify({ model: 'o1-tiny', messages: [{ role: 'system', content: 'ignored' }, { role: 'user', content: 'Do cats purr?' }], n: 2, seed: 4, temperature: 1, max_tokens: 5 }),
      })).json() as { choices: { index: number; message: { content: string } }[] };
      const thoughts = await local.generateThoughts(['Do cats purr?'], { thoughts: 2, seed: 4, temperature: 1, maxNewTokens: 5 });
      assert.deepEqual(chat.choices.map((choice) => choice.message.content), thoughts[0]);
      const models = await (await fetch(`${server.url}/models`)).json() as { data: { id: string }[] };
      assert.deepEqual(models.data.map((model) => model.id), ['o1-tiny']);
    } finally {
      await local.dispose();
    }
    assert.deepEqual(embedder.config(), { backend: 'engine', model: modelPath, layout: 'auto', input: 'document', threads: 1 });
    assert.equal(await embedder.dimension(), 64);
  });

  test('embedder inputs: query (no thinking) and thinking-query; a plain model embeds its text by the last token', async () => {
    const local = await O1Model.load(modelPath, { threads: 1 });
    const queries = await createEmbedder({ backend: 'engine', model: modelPath, threads: 1, input: 'query' });
    const plainPath = join(directory, 'plain');
    const tokenizer = tinyBpeTokenizer();
    await saveHuggingFaceModel(plainPath, randomDecoder(tinyQwen2Config(tokenizer.vocabSize, { eosTokenId: 0 }), 9));
    await tokenizer.save(plainPath);
    const plain = await createEmbedder({ backend: 'engine', model: plainPath, threads: 1 });
    const plainModel = await DecoderModel.load(plainPath, { threads: 1 });
    try {
      assert.deepEqual(await queries.embed(['Do cats purr?']), await local.embedQueriesWithoutThinking(['Do cats purr?']));
      assert.deepEqual(await plain.embed(['the dog']), await plainModel.embed(['the dog'], { pooling: 'last' }));
      const plainThinker = await createThinker({ backend: 'engine', model: plainPath, threads: 1 });
      try {
        const [[text]] = await plainThinker.generate(['Once upon a time'], { maxTokens: 4, temperature: 0 });
        const [[sample]] = await plainModel.generate(['Once upon a time'], { maxNewTokens: 4, greedy: true });
        assert.equal(text, sample.text);
      } finally {
        await plainThinker.close();
      }
      await assert.rejects(createEmbedder({ backend: 'engine', model: plainPath, layout: 'o1' }), /MISSING_SPECIAL_TOKENS|needs a model whose tokenizer/);
      await assert.rejects(createThinker({ backend: 'engine', model: modelPath, temperature: 1 }), /unknown setting\(s\): temperature/);
    } finally {
      await queries.close();
      await plain.close();
      await plainModel.dispose();
      await local.dispose();
    }
  });
});
