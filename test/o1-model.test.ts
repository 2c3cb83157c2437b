import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { O1Error } from '../src/errors.js';
import { saveHuggingFaceModel } from '../src/model/formats/safetensors.js';
import { queryPromptIds, querySequenceIds, trainingQueryExample } from '../src/o1/layout.js';
import { aggregateThoughtEmbeddings, modelIdentity, O1Model } from '../src/o1/model.js';
import { ThoughtCache } from '../src/util/thought-cache.js';
import { tinyO1Model } from './helpers/o1-fixtures.js';
import { randomDecoder, tinyBpeTokenizer, tinyQwen2Config } from './helpers/tiny-models.js';

const THINKING = { thoughts: 3, maxNewTokens: 6, temperature: 1, topP: 0.95, seed: 5 };

function norm(vector: Float32Array): number {
  return Math.hypot(...vector);
}

describe('O1Model: one decoder that thinks and embeds', () => {
  let directory: string;
  let model: O1Model;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1-model-'));
    await tinyO1Model({ output: join(directory, 'o1') });
    model = await O1Model.load(join(directory, 'o1'), { threads: 1 });
  });
  after(async () => {
    await model?.dispose();
    await rm(directory, { recursive: true, force: true });
  });

  test('embedQueries: the plain mean of normalised per-thought vectors (norm <= 1), options re-normalise or add the query-only vector', async () => {
    const [result] = await model.thinkAndEmbed(['Do cats purr?'], THINKING);
    assert.equal(result.thoughts.length, 3);
    assert.equal(result.thoughtEmbeddings.length, 3);
    for (const vector of result.thoughtEmbeddings) assert.ok(Math.abs(norm(vector) - 1) < 1e-5);
    const mean = aggregateThoughtEmbeddings(result.thoughtEmbeddings);
    assert.deepEqual(result.embedding, mean);
    assert.ok(norm(result.embedding) <= 1 + 1e-6);
    assert.ok(norm(result.embedding) < 0.99999, 'different thoughts: the mean is shorter than 1 and is not re-normalised');
    const [plain] = await model.embedQueries(['Do cats purr?'], THINKING);
    assert.deepEqual(plain, result.embedding);
    const [renormalised] = await model.embedQueries(['Do cats purr?'], { ...THINKING, renormalize: true });
    assert.ok(Math.abs(norm(renormalised) - 1) < 1e-5);
    const [withQuery] = await model.embedQueries(['Do cats purr?'], { ...THINKING, includeQueryOnly: true });
    const [queryOnly] = await model.embedQueriesWithoutThinking(['Do cats purr?']);
    const expected = aggregateThoughtEmbeddings(result.thoughtEmbeddings, { queryOnly });
    withQuery.forEach((value, index) => assert.ok(Math.abs(value - expected[index]) < 1e-6));
    // Each per-thought vector is the embedding of its own query + thought sequence.
    const [first] = await model.decoder.embedTokens([querySequenceIds(model.tokenizer, 'Do cats purr?', result.thoughts[0])]);
    first.forEach((value, index) => assert.ok(Math.abs(value - result.thoughtEmbeddings[0][index]) < 1e-5));
  });

  test('thoughts are generated for the right query, independent of the batch, and reproducible under a seed', async () => {
    const queries = ['Do cats purr?', 'why do dogs bark', 'the stock market'];
    const together = await model.generateThoughts(queries, { ...THINKING, queryBatchSize: 2 });
    for (const [index, query] of queries.entries()) {
      assert.deepEqual((await model.generateThoughts([query], THINKING))[0], together[index], query);
      const [samples] = await model.decoder.generateTokens([queryPromptIds(model.tokenizer, query)], { samples: 3, maxNewTokens: 6, temperature: 1, topP: 0.95, seed: 5 });
      assert.deepEqual(samples.map((sample) => model.tokenizer.decode(sample.tokens)), together[index]);
    }
    assert.deepEqual(await model.generateThoughts(queries, THINKING), together);
    const other = await model.generateThoughts(queries, { ...THINKING, seed: 6 });
    assert.notDeepEqual(other, together);
    assert.ok(new Set(together[0]).size > 1, 'the samples of one query differ');
  });

  test('no thinking: the training layout with an empty thought, <query>q</query><thought>{EOS}<emb>', async () => {
    const ids = model.tokenIds;
    const expected = trainingQueryExample(model.tokenizer, 'why do dogs bark', '').inputIds;
    assert.deepEqual(expected.slice(-3), [ids.thought, ids.eos, ids.embedding]);
    const [vector] = await model.embedQueriesWithoutThinking(['why do dogs bark']);
    const [direct] = await model.decoder.embedTokens([expected]);
    assert.deepEqual(vector, direct);
    assert.ok(Math.abs(norm(vector) - 1) < 1e-5);
  });

  test('documents: title + text + <emb>, normalised, in input order', async () => {
    const documents = [{ title: 'Cats', text: 'They purr.' }, { title: '', text: 'Dogs bark and fetch sticks in the park.' }];
    const vectors = await model.embedDocuments(documents);
    const reversed = await model.embedDocuments([...documents].reverse());
    assert.deepEqual(vectors, reversed.reverse());
    assert.ok(vectors.every((vector) => Math.abs(norm(vector) - 1) < 1e-5 && vector.length === model.dimension));
    assert.notDeepEqual(vectors[0], vectors[1]);
  });

  test('model identity: changes with a model file, not with a card or results written beside it', async () => {
    const folder = join(directory, 'o1');
    const before = await modelIdentity(folder);
    await writeFile(join(folder, 'README.md'), '# card\n');
    await writeFile(join(folder, 'results.json'), '{}\n');
    assert.equal(await modelIdentity(folder), before);
    const config = await readFile(join(folder, 'config.json'), 'utf8');
    await writeFile(join(folder, 'config.json'), `${config}\n`);
    assert.notEqual(await modelIdentity(folder), before);
  });

  test('thought cache: hits skip generation, survive a reload, and a torn last line is repaired', async () => {
    const path = join(directory, 'thoughts.jsonl');
    const cache = await ThoughtCache.open(path);
    const calls = model.stats.generateCalls;
    const first = await model.thinkAndEmbed(['Do cats purr?', 'why do dogs bark'], { ...THINKING, cache });
    assert.equal(model.stats.generateCalls, calls + 1);
    assert.ok(first.every((result) => !result.cached));
    const again = await model.thinkAndEmbed(['why do dogs bark', 'Do cats purr?'], { ...THINKING, cache });
    assert.equal(model.stats.generateCalls, calls + 1, 'no generation on a cache hit');
    assert.ok(again.every((result) => result.cached));
    assert.deepEqual(again[0].embedding, first[1].embedding);
    // Another process (a re-run) reads the file.
    await appendFile(path, '{"key": {"model": "x", "query');
    const reloaded = await ThoughtCache.open(path);
    assert.equal(reloaded.size, 2);
    assert.ok((await readFile(path, 'utf8')).endsWith('\n'), 'the torn line was dropped');
    const fromFile = await model.generateThoughts(['Do cats purr?'], { ...THINKING, cache: reloaded });
    assert.equal(model.stats.generateCalls, calls + 1);
    assert.deepEqual(fromFile[0], first[0].thoughts);
    // A different seed (or model) is a different key.
    await model.generateThoughts(['Do cats purr?'], { ...THINKING, seed: 99, cache: reloaded });
    assert.equal(model.stats.generateCalls, calls + 2);
    await writeFile(join(directory, 'bad.jsonl'), 'not json\n{}\n');
    await assert.rejects(ThoughtCache.open(join(directory, 'bad.jsonl')), /MALFORMED_JSON|not JSON/);
  });

  test('bad input: an empty query, a model without the O1 tokens', async () => {
    await assert.rejects(model.embedQueries(['Do cats purr?', '   ']), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT' && /query 1 is empty/.test(error.message));
    await assert.rejects(model.embedQueriesWithoutThinking(['']), /empty/);
    const plain = join(directory, 'plain');
    const tokenizer = tinyBpeTokenizer();
    await saveHuggingFaceModel(plain, randomDecoder(tinyQwen2Config(tokenizer.vocabSize, { eosTokenId: 0 }), 3));
    await tokenizer.save(plain);
    await assert.rejects(O1Model.load(plain), (error: unknown) => error instanceof O1Error && error.code === 'MISSING_SPECIAL_TOKENS' && error.message.includes('prepareO1Model'));
    await assert.rejects(O1Model.load(join(directory, 'nothing')), /MISSING_FILE|does not exist/);
  });

  test('GGUF: a prepared model saved as GGUF loads and embeds like the folder', async () => {
    const path = join(directory, 'o1.gguf');
    await tinyO1Model({ output: path });
    const fromGguf = await O1Model.load(path, { threads: 1 });
    try {
      assert.deepEqual(fromGguf.tokenIds, model.tokenIds);
      const [a] = await fromGguf.embedDocuments(['Cats are small furry animals that purr.']);
      const [b] = await model.embedDocuments(['Cats are small furry animals that purr.']);
      a.forEach((value, index) => assert.ok(Math.abs(value - b[index]) < 1e-4));
    } finally {
      await fromGguf.dispose();
    }
  });
});
