/**
 * The LangChain.js adapters (src/adapters/langchain) with the real @langchain/core:
 * O1Embeddings (embedQuery thinks, embedDocuments does not) under LangChain's in-memory vector
 * store, O1LangChainRetriever, O1VectorStore over our stores, a small retrieval chain, and one
 * run on the committed o1-small.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnableLambda, RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { FakeChatModel, FakeVectorStore } from '@langchain/core/utils/testing';
import { MemoryInnerProductStore, O1Embeddings, O1LangChainRetriever, O1VectorStore } from '../src/adapters/langchain/index.js';
import { createEmbedder } from '../src/backends/registry.js';
import type { Document as O1Document } from '../src/data/types.js';
import { O1Error } from '../src/errors.js';
import { aggregateThoughtVectors, DenseRetriever } from '../src/retrieval/dense/dense-retriever.js';
import { openFlatStore } from '../src/stores/flat/flat-store.js';
import { QueryThinker } from '../src/thinking/query-thinker.js';
import { assertVectorsClose, dot, HashingEmbedder, writeThoughtsFile } from './helpers/adapter-fixtures.js';

const QUESTION = 'what causes tides';
// The thought names the mechanism; the query's own words match the decoy.
const THOUGHTS = ['the moon gravity pulls ocean water', 'ocean water rises as the moon pulls'];
const CORPUS: O1Document[] = [
  { id: 'decoy', title: 'FAQ', text: 'what causes tides is a common question', metadata: { source: 'faq' } },
  { id: 'moon', title: 'Moon', text: 'the moon gravity pulls ocean water into bulges', metadata: { source: 'physics' } },
  { id: 'cats', title: 'Cats', text: 'cats sleep most of the day', metadata: { source: 'pets' } },
];
const texts = CORPUS.map((document) => document.text);

let directory: string;
let thoughtsPath: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'o1e-langchain-'));
  thoughtsPath = await writeThoughtsFile(directory, { [QUESTION]: THOUGHTS, 'do cats sleep': ['cats nap all day'] });
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** O1 aggregation computed straight from the embedder: mean of the query + thought vectors. */
async function expectedQueryVector(embedder: HashingEmbedder, query: string, thoughts: readonly string[]): Promise<Float32Array> {
  const { vectors } = await embedder.embedQueries(thoughts.map((thought) => ({ text: query, thought })));
  return aggregateThoughtVectors(vectors);
}

describe('O1Embeddings', () => {
  test('embedQuery thinks: the vector is the O1 aggregation of the query + thought vectors; lastThoughts are the thoughts', async () => {
    const embedder = new HashingEmbedder();
    const embeddings = new O1Embeddings({ embedder, thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 } });
    const vector = await embeddings.embedQuery(QUESTION);
    assert.ok(Array.isArray(vector) && typeof vector[0] === 'number');
    assertVectorsClose(vector, await expectedQueryVector(embedder, QUESTION, THOUGHTS));
    assert.deepEqual(embeddings.lastThoughts, THOUGHTS);
    assert.deepEqual(embedder.calls[0], { kind: 'queries', texts: THOUGHTS.map((thought) => `${QUESTION} ${thought}`) });
    // The mean of two different unit vectors is shorter than 1: an inner-product store sees that.
    assert.ok(Math.sqrt(dot(vector, vector)) < 0.999);
    const { vector: again, thoughts } = await embeddings.embedQueryWithThoughts(QUESTION);
    assert.deepEqual(again, vector);
    assert.deepEqual(thoughts, THOUGHTS);
    await embeddings.close();
    assert.equal(embedder.closed, false, 'an embedder handed in stays open');
  });

  test('embedDocuments does not think; without a thinker embedQuery is the plain query vector', async () => {
    const embedder = new HashingEmbedder();
    const thinker = await QueryThinker.create({ backend: 'file', path: thoughtsPath });
    const embeddings = new O1Embeddings({ embedder, thinker });
    const documents = await embeddings.embedDocuments(texts);
    assert.equal(documents.length, texts.length);
    documents.forEach((vector, index) => assertVectorsClose(vector, embedder.vectorOf(texts[index]), 0));
    assert.deepEqual(embedder.calls, [{ kind: 'documents', texts }]);
    assert.deepEqual(thinker.statistics, { generatedQueries: 0, cachedQueries: 0 }, 'documents were not thought about');
    const plain = new O1Embeddings({ embedder });
    assertVectorsClose(await plain.embedQuery(QUESTION), embedder.vectorOf(QUESTION), 0);
    assert.deepEqual(plain.lastThoughts, []);
    await thinker.close();
  });

  test('errors are O1Errors, not retried: a query the thoughts file lacks, an empty query, a bad embedder', async () => {
    const embedder = new HashingEmbedder();
    const embeddings = new O1Embeddings({ embedder, thinker: { backend: 'file', path: thoughtsPath } });
    await assert.rejects(embeddings.embedQuery('unknown question'), (error: unknown) => error instanceof O1Error && error.code === 'MISSING_THOUGHT');
    await assert.rejects(embeddings.embedQuery('  '), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT');
    assert.equal(embedder.calls.length, 0);
    assert.throws(() => new O1Embeddings({ embedder: 'bge' as never }), /embedder must be/);
    await assert.rejects(new O1Embeddings({ embedder: { backend: 'no-such-backend' } }).embedDocuments(['x']), (error: unknown) => error instanceof O1Error && error.code === 'UNKNOWN_BACKEND');
  });

  test("LangChain's in-memory vector store (FakeVectorStore, MemoryVectorStore's code in @langchain/core) searches with thinking queries", async () => {
    const embedder = new HashingEmbedder();
    const thinking = new O1Embeddings({ embedder, thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 } });
    const store = await FakeVectorStore.fromTexts(texts, CORPUS.map((document) => ({ id: document.id })), thinking);
    assert.equal(store.memoryVectors.length, 3);
    // Stored vectors are the documents' own (no thinking).
    store.memoryVectors.forEach((entry, index) => assertVectorsClose(entry.embedding, embedder.vectorOf(texts[index]), 0));
    const [best] = await store.similaritySearch(QUESTION, 1);
    assert.equal(best.metadata.id, 'moon', 'the thought finds the document the query words alone miss');
    assert.deepEqual(thinking.lastThoughts, THOUGHTS);
    const plainStore = await FakeVectorStore.fromTexts(texts, CORPUS.map((document) => ({ id: document.id })), new O1Embeddings({ embedder }));
    const [plainBest] = await plainStore.similaritySearch(QUESTION, 1);
    assert.equal(plainBest.metadata.id, 'decoy', 'without thinking the lexical decoy wins');
  });
});

describe('O1LangChainRetriever', () => {
  test('wraps a thinking dense retriever: Documents with title + text, metadata id, title, score, thoughts and their own metadata', async () => {
    const embedder = new HashingEmbedder();
    const dense = new DenseRetriever({ embedder: embedder.config(), thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 } }, { embedder });
    const retriever = new O1LangChainRetriever({ retriever: dense, documents: CORPUS, hits: 2 });
    try {
      const documents = await retriever.invoke(QUESTION);
      assert.equal(documents.length, 2);
      const [top] = documents;
      assert.ok(top instanceof Document);
      assert.equal(top.id, 'moon');
      assert.equal(top.pageContent, 'Moon\n\nthe moon gravity pulls ocean water into bulges');
      assert.deepEqual(top.metadata.thoughts, THOUGHTS);
      assert.equal(top.metadata.source, 'physics');
      assert.equal(top.metadata.title, 'Moon');
      const hits = await dense.search(QUESTION, { hits: 2 });
      assert.deepEqual(documents.map((document) => [document.metadata.id, document.metadata.score]), hits.map((hit) => [hit.id, hit.score]));
      assert.ok(Math.abs(top.metadata.score - dot(await expectedQueryVector(embedder, QUESTION, THOUGHTS), embedder.vectorOf('Moon the moon gravity pulls ocean water into bulges'))) < 1e-6);
    } finally {
      await retriever.dispose();
      await dense.dispose();
    }
  });

  test('from a retriever config and documents (bm25, no thinking): indexed on first use, thoughts []', async () => {
    const retriever = new O1LangChainRetriever({ retriever: { retriever: 'bm25' }, documents: CORPUS, hits: 1 });
    const [top] = await retriever.invoke('cats sleeping');
    assert.equal(top.metadata.id, 'cats');
    assert.deepEqual(top.metadata.thoughts, []);
    assert.ok(top.metadata.score > 0);
    assert.deepEqual(await retriever.invoke('zebra'), []);
    await retriever.dispose();
    assert.throws(() => new O1LangChainRetriever({ retriever: { retriever: 'bm25' }, documents: CORPUS, hits: -1 }), /hits must be/);
    assert.throws(() => new O1LangChainRetriever({ retriever: { retriever: 'nope' }, documents: CORPUS }), /unknown retriever/);
  });

  test('a chain: question -> our retriever -> ChatPromptTemplate -> a chat model (echo) -> string', async () => {
    const embedder = new HashingEmbedder();
    const dense = new DenseRetriever({ embedder: embedder.config(), thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 } }, { embedder });
    const retriever = new O1LangChainRetriever({ retriever: dense, documents: CORPUS, hits: 1 });
    const formatDocuments = RunnableLambda.from((documents: DocumentInterface[]) => documents.map((document) => `[${document.metadata.id}] ${document.pageContent}`).join('\n'));
    const prompt = ChatPromptTemplate.fromMessages([['human', 'Answer from the context.\nContext:\n{context}\nQuestion: {question}']]);
    const chain = RunnableSequence.from([
      { context: retriever.pipe(formatDocuments), question: new RunnablePassthrough() },
      prompt,
      new FakeChatModel({}),
      new StringOutputParser(),
    ]);
    try {
      const answer = await chain.invoke(QUESTION);
      assert.match(answer, /\[moon\] Moon\n\nthe moon gravity pulls ocean water into bulges/);
      assert.match(answer, /Question: what causes tides/);
      assert.doesNotMatch(answer, /cats sleep|common question/, 'only the retrieved document is in the prompt');
    } finally {
      await dense.dispose();
    }
  });
});

describe('O1VectorStore', () => {
  test('fromDocuments, similaritySearchWithScore by inner product with thoughts in metadata, filter, upsert by id, delete', async () => {
    const embedder = new HashingEmbedder();
    const embeddings = new O1Embeddings({ embedder, thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 } });
    const documents = CORPUS.map((document) => new Document({ id: document.id, pageContent: document.text, metadata: document.metadata }));
    const store = await O1VectorStore.fromDocuments(documents, embeddings);
    assert.equal(store._vectorstoreType(), 'o1');
    assert.ok(store.store instanceof MemoryInnerProductStore);
    assert.equal(store.size, 3);
    const results = await store.similaritySearchWithScore(QUESTION, 3);
    const query = await expectedQueryVector(embedder, QUESTION, THOUGHTS);
    assert.deepEqual(results.map(([document]) => document.id), ['moon', 'decoy', 'cats']);
    for (const [document, score] of results) {
      // Inner product, not cosine: the aggregated query vector is not unit length.
      assert.ok(Math.abs(score - dot(query, embedder.vectorOf(document.pageContent))) < 1e-6);
      assert.deepEqual(document.metadata.thoughts, THOUGHTS);
    }
    assert.equal(results[0][0].metadata.source, 'physics');
    const filtered = await store.similaritySearch(QUESTION, 1, (document) => document.metadata.source === 'pets');
    assert.deepEqual(filtered.map((document) => document.id), ['cats']);
    // Same id again: replaced, not added.
    await store.addDocuments([new Document({ id: 'cats', pageContent: 'the moon gravity pulls ocean water', metadata: { source: 'moved' } })]);
    assert.equal(store.size, 3);
    const [[replaced]] = await store.similaritySearchWithScore('do cats sleep', 1, (document) => document.metadata.source === 'moved');
    assert.equal(replaced.pageContent, 'the moon gravity pulls ocean water');
    await store.delete({ ids: ['moon', 'missing'] });
    assert.equal(store.size, 2);
    assert.equal(await store.store?.size(), 2);
    assert.ok(!(await store.similaritySearch(QUESTION, 5)).some((document) => document.id === 'moon'));
    await assert.rejects(store.delete({}), /delete needs/);
    // LangChain's own retriever over our store.
    const [viaRetriever] = await store.asRetriever(1).invoke(QUESTION);
    assert.equal(viaRetriever.id, 'cats');
    await store.close();
  });

  test('addVectors with ids, fromTexts with shared metadata, an empty store, mismatched input', async () => {
    const embedder = new HashingEmbedder(8);
    const plain = new O1Embeddings({ embedder });
    const empty = new O1VectorStore(plain);
    assert.deepEqual(await empty.similaritySearchWithScore('anything', 3), []);
    const ids = await empty.addVectors([[1, 0, 0, 0, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0, 0, 0, 0]], [new Document({ pageContent: 'a' }), new Document({ pageContent: 'b' })], { ids: ['x', 'y'] });
    assert.deepEqual(ids, ['x', 'y']);
    const found = await empty.similaritySearchVectorWithScore([2, 2, 0, 0, 0, 0, 0, 0], 2);
    assert.deepEqual(found.map(([document, score]) => [document.id, document.pageContent, score]), [['x', 'a', 2], ['y', 'b', 2]], 'equal scores: by id');
    await assert.rejects(empty.addVectors([[1, 2]], [new Document({ pageContent: 'short' })]), (error: unknown) => error instanceof O1Error && error.code === 'INDEX_MISMATCH');
    await assert.rejects(empty.addVectors([[1]], []), /1 vectors for 0 documents/);
    const fromTexts = await O1VectorStore.fromTexts(['one text', 'two texts'], { source: 'notes' }, plain);
    const all = await fromTexts.similaritySearch('text', 5);
    assert.equal(all.length, 2);
    assert.ok(all.every((document) => document.metadata.source === 'notes' && typeof document.id === 'string' && document.metadata.thoughts?.length === 0));
  });

  test('over our flat vector store (src/stores, in memory): the same results as the memory store', async () => {
    const embedder = new HashingEmbedder();
    const embeddings = new O1Embeddings({ embedder, thinker: { backend: 'file', path: thoughtsPath, thoughts: 2 } });
    const flat = await openFlatStore({ store: 'flat', threads: 1 }, { dimension: 32, mode: 'create' });
    try {
      const documents = CORPUS.map((document) => new Document({ id: document.id, pageContent: document.text, metadata: document.metadata }));
      const overFlat = await O1VectorStore.fromDocuments(documents, embeddings, { store: flat });
      const overMemory = await O1VectorStore.fromDocuments(documents, embeddings);
      const left = await overFlat.similaritySearchWithScore(QUESTION, 3);
      const right = await overMemory.similaritySearchWithScore(QUESTION, 3);
      assert.deepEqual(left.map(([document]) => document.id), right.map(([document]) => document.id));
      left.forEach(([, score], index) => assert.ok(Math.abs(score - right[index][1]) < 1e-6));
      await overFlat.delete({ ids: ['moon'] });
      assert.equal(await flat.size(), 2);
      await overFlat.close();
      assert.equal(await flat.size(), 2, 'a store handed in stays open');
    } finally {
      await flat.close();
    }
  });
});

const O1_SMALL = resolve(import.meta.dirname, '..', 'models', 'o1-small');

// At its default temperature (0.1) o1-small puts nearly all mass on EOS first, so its thoughts
// are empty (the layout of "no thought"); temperature 1 with the fixed seed makes it write one.
test('O1Embeddings on the committed o1-small: the model thinks (1 thought, 16 tokens), the query vector is its query + thought embedding', {
  skip: existsSync(join(O1_SMALL, 'config.json')) ? undefined : `${O1_SMALL} is missing`,
  timeout: 120_000,
}, async () => {
  const config = { backend: 'engine', model: O1_SMALL, threads: 1 };
  const embeddings = new O1Embeddings({ embedder: config, thinker: { ...config, thoughts: 1, maxTokens: 16, temperature: 1, seed: 0 } });
  const reference = await createEmbedder(config);
  try {
    const query = 'vitamin D deficiency and bone fractures';
    const { vector, thoughts } = await embeddings.embedQueryWithThoughts(query);
    assert.equal(thoughts.length, 1);
    assert.ok(thoughts[0].trim().length > 0, `the model wrote a thought: ${JSON.stringify(thoughts[0])}`);
    const dimension = await reference.dimension();
    assert.equal(vector.length, dimension);
    const { vectors: [expected] } = await reference.embedQueries([{ text: query, thought: thoughts[0] }]);
    assertVectorsClose(vector, expected, 1e-5);
    const { vectors: [plain] } = await reference.embedQueries([query]);
    assert.ok(dot(vector, plain) < 0.99999, 'thinking changed the query vector');
    const documentTexts = ['Vitamin D supplementation reduces fracture risk in older adults.', 'Cats sleep most of the day.'];
    const documents = await embeddings.embedDocuments(documentTexts);
    const { vectors: referenceDocuments } = await reference.embedDocuments(documentTexts);
    documents.forEach((documentVector, index) => assertVectorsClose(documentVector, referenceDocuments[index], 1e-5));
  } finally {
    await embeddings.close();
    await reference.close();
  }
});

/** Every module reachable from `entry` by relative imports (static and dynamic), and the bare specifiers they import. */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  const pattern = /\b(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\bfrom\s*)?['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    // Comments quote example imports (JSDoc @example): drop them first.
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
    for (const match of code.matchAll(pattern)) {
      const specifier = match[1] ?? match[2];
      if (match[0].startsWith('import type') || match[0].startsWith('export type')) continue;
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
      else packages.add(specifier);
    }
  }
  return { files, packages };
}

test('the root entry (src/index.ts) reaches neither the adapters nor their peers, so it loads without them', () => {
  const root = resolve(import.meta.dirname, '..', 'src');
  const { files, packages } = reachable(join(root, 'index.ts'));
  assert.ok(files.size > 20, 'the scanner follows imports');
  const adapters = [...files].filter((file) => relative(root, file).startsWith('adapters'));
  assert.deepEqual(adapters, []);
  const peers = [...packages].filter((name) => name.startsWith('@langchain/') || name === 'ai' || name.startsWith('@ai-sdk/'));
  assert.deepEqual(peers, []);
  // And the adapters do reach their peers (the scanner sees them).
  assert.ok(reachable(join(root, 'adapters', 'langchain', 'index.ts')).packages.has('@langchain/core/embeddings'));
});
