/**
 * The Vercel AI SDK provider (src/adapters/ai-sdk) with the real `ai` package: embed,
 * embedMany and cosineSimilarity against our model, query/document through providerOptions,
 * cancellation, and one run on the committed o1-small.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cosineSimilarity, embed, embedMany } from 'ai';
import { createO1Embedder } from '../src/adapters/ai-sdk/index.js';
import { createEmbedder } from '../src/backends/registry.js';
import { O1Error } from '../src/errors.js';
import { aggregateThoughtVectors } from '../src/retrieval/dense/dense-retriever.js';
import { assertVectorsClose, HashingEmbedder, writeThoughtsFile } from './helpers/adapter-fixtures.js';

const QUESTION = 'what causes tides';
const THOUGHTS = ['the moon gravity pulls ocean water', 'ocean water rises as the moon pulls'];
const DOCUMENTS = ['FAQ what causes tides is a common question', 'Moon the moon gravity pulls ocean water into bulges', 'Cats cats sleep most of the day'];
const QUERY = { o1: { inputType: 'query' } } as const;

let directory: string;
let thoughtsPath: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1e-ai-sdk-'));
  thoughtsPath = await writeThoughtsFile(directory, { [QUESTION]: THOUGHTS });
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

function isCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof O1Error && error.code === code;
}

describe('createO1Embedder with a deterministic embedder', () => {
  test('the provider: an embedding model of specification v3 under every accessor', () => {
    const o1 = createO1Embedder({ embedder: new HashingEmbedder() });
    const model = o1.embedding();
    assert.equal(model.specificationVersion, 'v3');
    assert.equal(model.provider, 'o1');
    assert.equal(model.modelId, 'hashing-32', "the embedder's model name");
    assert.equal(model.maxEmbeddingsPerCall, 256);
    assert.equal(model.supportsParallelCalls, false);
    for (const other of [o1(), o1.embeddingModel(), o1.textEmbedding(), o1.textEmbeddingModel()]) assert.equal(other.specificationVersion, 'v3');
    assert.equal(o1.textEmbeddingModel('label').modelId, 'label');
    assert.equal(createO1Embedder({ embedder: { backend: 'engine', model: 'models/o1-small' } }).embedding().modelId, 'models/o1-small');
    assert.throws(() => createO1Embedder({ embedder: new HashingEmbedder(), maxEmbeddingsPerCall: 0 }), /maxEmbeddingsPerCall/);
  });

  test('embedMany: documents by default, in order, split by maxEmbeddingsPerCall, usage summed; no thinking', async () => {
    const embedder = new HashingEmbedder();
    const o1 = createO1Embedder({ embedder, thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 }, maxEmbeddingsPerCall: 2 });
    const { embeddings, usage } = await embedMany({ model: o1.embedding(), values: DOCUMENTS });
    assert.equal(embeddings.length, 3);
    embeddings.forEach((vector, index) => assertVectorsClose(vector, embedder.vectorOf(DOCUMENTS[index]), 0));
    assert.deepEqual(embedder.calls.map((call) => [call.kind, call.texts.length]), [['documents', 2], ['documents', 1]]);
    assert.equal(usage.tokens, 8 + 9 + 7);
    await o1.close();
  });

  test('embed a query: thinks, equals the O1 aggregation of the query + thought vectors, differs from the document vector; thoughts in providerMetadata', async () => {
    const embedder = new HashingEmbedder();
    const o1 = createO1Embedder({ embedder, thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 } });
    const model = o1.embedding();
    const query = await embed({ model, value: QUESTION, providerOptions: QUERY });
    const expected = aggregateThoughtVectors(THOUGHTS.map((thought) => embedder.vectorOf(`${QUESTION} ${thought}`)));
    assertVectorsClose(query.embedding, expected);
    assert.deepEqual(query.providerMetadata?.o1?.thoughts, [THOUGHTS]);
    assert.equal(query.usage.tokens, 2 * 3 + 6 + 7, 'the two query + thought texts');
    const asDocument = await embed({ model, value: QUESTION });
    assertVectorsClose(asDocument.embedding, embedder.vectorOf(QUESTION), 0);
    assert.ok(cosineSimilarity(query.embedding, asDocument.embedding) < 0.9, 'the thought moved the query vector');
    assert.equal(asDocument.providerMetadata, undefined);
    // Per call: one thought, or none.
    const one = await embed({ model, value: QUESTION, providerOptions: { o1: { inputType: 'query', thoughts: 1 } } });
    assertVectorsClose(one.embedding, embedder.vectorOf(`${QUESTION} ${THOUGHTS[0]}`));
    assert.deepEqual(one.providerMetadata?.o1?.thoughts, [[THOUGHTS[0]]]);
    const none = await embed({ model, value: QUESTION, providerOptions: { o1: { inputType: 'query', thoughts: 0 } } });
    assertVectorsClose(none.embedding, embedder.vectorOf(QUESTION), 0);
    // Without a thinker a query is its plain query embedding.
    const plain = await embed({ model: createO1Embedder({ embedder }).embedding(), value: QUESTION, providerOptions: QUERY });
    assertVectorsClose(plain.embedding, embedder.vectorOf(QUESTION), 0);
    await o1.close();
  });

  test('cosineSimilarity ranks the document the thought describes first; without thinking the lexical decoy wins', async () => {
    const embedder = new HashingEmbedder();
    const o1 = createO1Embedder({ embedder, thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 } });
    const { embeddings } = await embedMany({ model: o1.embedding(), values: DOCUMENTS });
    const rank = (query: number[]) => embeddings.map((vector, index) => ({ index, score: cosineSimilarity(query, vector) })).sort((a, b) => b.score - a.score).map((entry) => entry.index);
    const thinking = await embed({ model: o1.embedding(), value: QUESTION, providerOptions: QUERY });
    assert.deepEqual(rank(thinking.embedding), [1, 0, 2]);
    const plain = await embed({ model: o1.embedding(), value: QUESTION, providerOptions: { o1: { inputType: 'query', thoughts: 0 } } });
    assert.equal(rank(plain.embedding)[0], 0);
  });

  test('bad providerOptions are rejected naming the field, before any work', async () => {
    const embedder = new HashingEmbedder();
    const model = createO1Embedder({ embedder, thinker: { backend: 'file', path: thoughtsPath } }).embedding();
    await assert.rejects(embed({ model, value: 'x', providerOptions: { o1: { inputType: 'passage' } } }), /providerOptions\.o1\.inputType' must be one of query, document/);
    await assert.rejects(embed({ model, value: 'x', providerOptions: { o1: { inputtype: 'query' } } }), /unknown setting\(s\): providerOptions\.o1\.inputtype/);
    await assert.rejects(embed({ model, value: 'x', providerOptions: { o1: { thoughts: 2 } } }), /thoughts apply to queries/);
    await assert.rejects(embed({ model, value: QUESTION, providerOptions: { o1: { inputType: 'query', thoughts: 1.5 } } }), /thoughts' must be an integer/);
    await assert.rejects(embed({ model: createO1Embedder({ embedder }).embedding(), value: QUESTION, providerOptions: { o1: { inputType: 'query', thoughts: 2 } } }), /no thinker was configured/);
    await assert.rejects(embed({ model, value: ' ', providerOptions: QUERY }), isCode('BAD_ARGUMENT'));
    assert.equal(embedder.calls.length, 0);
  });

  test('abortSignal cancels: a call in flight rejects at once with CANCELLED; an aborted signal does no work', async () => {
    const embedder = new HashingEmbedder(32, 10_000);
    const model = createO1Embedder({ embedder }).embedding();
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('user left')), 50);
    await assert.rejects(embedMany({ model, values: DOCUMENTS, abortSignal: controller.signal, maxRetries: 0 }), isCode('CANCELLED'));
    assert.ok(performance.now() - started < 5_000, 'did not wait for the 10 s embedding');
    assert.equal(embedder.calls.length, 1);
    await assert.rejects(embed({ model, value: 'x', abortSignal: AbortSignal.abort() }), isCode('CANCELLED'));
    assert.equal(embedder.calls.length, 1, 'an aborted call never reached the embedder');
  });
});

const O1_SMALL = resolve(import.meta.dirname, '..', 'models', 'o1-small');

// temperature 1 with the fixed seed: at its default 0.1 o1-small writes empty thoughts (EOS first).
test('the AI SDK on the committed o1-small: embedMany documents, a thinking query (1 thought, 16 tokens), cosineSimilarity', {
  skip: existsSync(join(O1_SMALL, 'config.json')) ? undefined : `${O1_SMALL} is missing`,
  timeout: 120_000,
}, async () => {
  const config = { backend: 'engine', model: O1_SMALL, threads: 1 };
  const o1 = createO1Embedder({ embedder: config, thinker: { ...config, thoughts: 1, maxTokens: 16, temperature: 1, seed: 0 } });
  const reference = await createEmbedder(config);
  try {
    const documents = ['Vitamin D supplementation reduces fracture risk in older adults.', 'Cats sleep most of the day.'];
    const { embeddings, usage } = await embedMany({ model: o1.embedding(), values: documents });
    const { vectors: referenceDocuments, usage: referenceUsage } = await reference.embedDocuments(documents);
    embeddings.forEach((vector, index) => assertVectorsClose(vector, referenceDocuments[index], 1e-5));
    assert.equal(usage.tokens, referenceUsage.tokens);
    const query = 'vitamin D deficiency and bone fractures';
    const result = await embed({ model: o1.embedding(), value: query, providerOptions: QUERY });
    const [thoughts] = result.providerMetadata?.o1?.thoughts as string[][];
    assert.equal(thoughts.length, 1);
    assert.ok(thoughts[0].trim().length > 0, `the model wrote a thought: ${JSON.stringify(thoughts[0])}`);
    const { vectors: [expected] } = await reference.embedQueries([{ text: query, thought: thoughts[0] }]);
    assertVectorsClose(result.embedding, expected, 1e-5);
    const similarities = embeddings.map((vector) => cosineSimilarity(result.embedding, vector));
    assert.ok(similarities.every((value) => Number.isFinite(value) && Math.abs(value) <= 1 + 1e-6));
  } finally {
    await o1.close();
    await reference.close();
  }
});
