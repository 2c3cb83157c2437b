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
import { O1Error } from '../src/errors.js';
import { O1Model } from '../src/o1/model.js';
import { startServer as startOpenAiServer, type RunningServer } from '../src/server/server.js';
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
      // input_type "query": the O1 query layout with the empty thought; usage counts the tokens.
      const queryAnswer = await (await fetch(`${server.url}/embeddings`, { method: 'POST', headers, body: JSON.stringify({ model: 'o1-tiny', input: ['Do cats purr?'], input_type: 'query' }) })).json() as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
      const [queryVector] = await local.embedQueriesWithoutThinking(['Do cats purr?']);
      queryAnswer.data[0].embedding.forEach((value, index) => assert.ok(Math.abs(value - queryVector[index]) < 1e-5));
      assert.ok(queryAnswer.usage.prompt_tokens > 0);
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
    assert.deepEqual(embedder.config(), { backend: 'engine', model: modelPath, layout: 'auto', threads: 1 });
    assert.equal(await embedder.dimension(), 64);
  });

  test('embedQueries / embedDocuments: the O1 layouts (query alone, query + thought, document); a plain model with last or mean pooling and prefixes', async () => {
    const local = await O1Model.load(modelPath, { threads: 1 });
    const plainPath = join(directory, 'plain');
    const tokenizer = tinyBpeTokenizer();
    await saveHuggingFaceModel(plainPath, randomDecoder(tinyQwen2Config(tokenizer.vocabSize, { eosTokenId: 0 }), 9));
    await tokenizer.save(plainPath);
    const plain = await createEmbedder({ backend: 'engine', model: plainPath, threads: 1 });
    const prefixed = await createEmbedder({ backend: 'engine', model: plainPath, threads: 1, pooling: 'mean', queryPrefix: 'query: ', documentPrefix: 'passage: ' });
    const plainModel = await DecoderModel.load(plainPath, { threads: 1 });
    try {
      // What the removed `input: "query"` setting did is now embedQueries without a thought.
      const alone = await embedder.embedQueries(['Do cats purr?']);
      assert.deepEqual(alone.vectors, await local.embedQueriesWithoutThinking(['Do cats purr?']));
      assert.ok(alone.usage.tokens > 0);
      // A query with a thought: <query>q</query><thought>t{EOS}<emb>, the vector O1Model embeds for that thought.
      const thought = 'They purr when they are happy.';
      const [withThought] = (await embedder.embedQueries([{ text: 'Do cats purr?', thought }])).vectors;
      const [{ thoughtEmbeddings }] = await local.embedThoughts(['Do cats purr?'], [[thought]]);
      assert.deepEqual(withThought, thoughtEmbeddings[0]);
      assert.notDeepEqual(withThought, alone.vectors[0]);
      // Documents: {title} {text}<emb>.
      const document = { title: 'Cats', text: 'Cats are small furry animals that purr.' };
      assert.deepEqual((await embedder.embedDocuments([document])).vectors, await local.embedDocuments([document]));
      assert.notDeepEqual((await embedder.embedDocuments(['Do cats purr?'])).vectors[0], alone.vectors[0], 'queries and documents are embedded differently');

      // A plain model: last-token pooling of BOS + text; a thought is appended after a space.
      assert.deepEqual((await plain.embedDocuments(['the dog'])).vectors, await plainModel.embed(['the dog'], { pooling: 'last' }));
      assert.deepEqual((await plain.embedQueries(['the dog'])).vectors, await plainModel.embed(['the dog'], { pooling: 'last' }));
      assert.deepEqual((await plain.embedQueries([{ text: 'the dog', thought: 'barks' }])).vectors, await plainModel.embed(['the dog barks'], { pooling: 'last' }));
      assert.deepEqual((await plain.embedDocuments([{ title: 'Dogs', text: 'the dog' }])).vectors, await plainModel.embed(['Dogs the dog'], { pooling: 'last' }));
      // Mean pooling and prefixes.
      assert.deepEqual((await prefixed.embedQueries(['the dog'])).vectors, await plainModel.embed(['query: the dog'], { pooling: 'mean' }));
      assert.deepEqual((await prefixed.embedDocuments(['the dog'])).vectors, await plainModel.embed(['passage: the dog'], { pooling: 'mean' }));
      assert.notEqual(prefixed.identity, plain.identity, 'pooling and prefixes are part of the identity');
      assert.deepEqual(prefixed.config(), { backend: 'engine', model: plainPath, layout: 'auto', queryPrefix: 'query: ', documentPrefix: 'passage: ', pooling: 'mean', threads: 1 });
      // An O1 model embeds in its own layout only.
      await assert.rejects(createEmbedder({ backend: 'engine', model: modelPath, threads: 1, queryPrefix: 'query: ' }), (error: unknown) => error instanceof O1Error && error.location.field === 'layout');
      await assert.rejects(createEmbedder({ backend: 'engine', model: modelPath, threads: 1, input: 'query' }), /unknown setting\(s\): input/);
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
      await plain.close();
      await prefixed.close();
      await plainModel.dispose();
      await local.dispose();
    }
  });
});
