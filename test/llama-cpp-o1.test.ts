/**
 * O1 in llama.cpp: the committed o1-small converted to GGUF (`o1e convert`, f32) thinks and
 * embeds through node-llama-cpp exactly as our engine does on the Hugging Face folder: the same
 * token ids (src/o1/layout.ts's rules on llama.cpp's tokenizer), greedy thoughts equal, query and
 * document vectors at cosine >= 0.9999. Both sides run with one thread (engine.md: a comparison
 * with llama.cpp is fair only with the same explicit thread count).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Embedder } from '../src/backends/embedder.js';
import { LlamaCppEmbedder } from '../src/backends/llama-cpp/embedder.js';
import { LlamaCppO1Layout } from '../src/backends/llama-cpp/o1-layout.js';
import { acquireModel, type ModelLease } from '../src/backends/llama-cpp/runtime.js';
import { LlamaCppThinker } from '../src/backends/llama-cpp/thinker.js';
import { createEmbedder, createThinker } from '../src/backends/registry.js';
import type { Thinker } from '../src/backends/thinker.js';
import { convertCommand } from '../src/cli/commands/convert.js';
import { readCorpus, readQueries } from '../src/data/beir.js';
import type { Document } from '../src/data/types.js';
import { O1Error } from '../src/errors.js';
import { GGUF_POOLING_TYPE, readGgufHeader, writeGguf } from '../src/model/formats/gguf.js';
import { documentIds, queryPromptIds, querySequenceIds } from '../src/o1/layout.js';
import { O1Model } from '../src/o1/model.js';
import { O1Retriever } from '../src/retrieval/o1/o1-retriever.js';
import { GGUF_TOKEN_TYPE } from '../src/tokenizer/types.js';
import { cosineSimilarity } from '../src/util/vectors.js';
import { tinyO1Model } from './helpers/o1-fixtures.js';
import { sharedPath, sharedTestOptions } from './helpers/shared.js';
import { randomDecoder, tinyBpeTokenizer, tinyLlamaConfig } from './helpers/tiny-models.js';

/**
 * Ten SciFact test queries. o1-small greedily thinks nothing (EOS first) or little for most
 * queries; all of these but the first get a thought of over 100 characters from the committed
 * model (v2; chosen by generating greedy thoughts for the first 120 judged test queries), so
 * thought equality compares long generations.
 */
const QUERY_IDS = ['1', '42', '51', '146', '163', '171', '274', '312', '421', '443'];
const DOCUMENTS = 8;
const COSINE_TOLERANCE = 1e-4;

function isO1Error(code: string) {
  return (error: unknown) => error instanceof O1Error && error.code === code;
}

/** The largest |cos - 1| over pairs of vectors. */
function worstCosine(left: readonly Float32Array[], right: readonly Float32Array[]): number {
  assert.equal(left.length, right.length);
  return Math.max(...left.map((vector, index) => Math.abs(cosineSimilarity(vector, right[index]) - 1)));
}

describe('o1-small in llama.cpp agrees with our engine', sharedTestOptions('datasets', 'scifact'), () => {
  let directory: string;
  let ggufPath: string;
  let engine: O1Model;
  let thinker: Thinker;
  let embedder: Embedder;
  let lease: ModelLease;
  let layout: LlamaCppO1Layout;
  let queries: string[];
  let documents: Document[];
  let greedy: string[][];

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1-llama-cpp-'));
    ggufPath = join(directory, 'o1-small.gguf');
    // The command a user runs, with no --pooling: an O1 vocabulary gets last-token pooling.
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      assert.equal(await convertCommand.run(['models/o1-small', '--to', 'gguf', '--out', ggufPath]), 0);
    } finally {
      process.stderr.write = stderr;
    }
    const wanted = new Set(QUERY_IDS);
    queries = [];
    for await (const query of readQueries(sharedPath('datasets', 'scifact', 'queries.jsonl'))) if (wanted.has(query.id)) queries.push(query.text);
    documents = [];
    for await (const document of readCorpus(sharedPath('datasets', 'scifact', 'corpus.jsonl'))) {
      documents.push(document);
      if (documents.length === DOCUMENTS) break;
    }
    // Longer than 512 tokens: the document is cut before <emb> on both sides.
    documents.push({ id: 'long', title: documents[0].title, text: Array.from({ length: 6 }, () => documents[0].text).join(' ') });
    engine = await O1Model.load('models/o1-small', { threads: 1 });
    thinker = await createThinker({ backend: 'llama-cpp', model: ggufPath, threads: 1, layout: 'o1' });
    embedder = await createEmbedder({ backend: 'llama-cpp', model: ggufPath, threads: 1 });
    lease = await acquireModel(ggufPath);
    layout = new LlamaCppO1Layout(lease.model, ggufPath);
    greedy = await engine.generateThoughts(queries, { temperature: 0, thoughts: 1 });
  });

  after(async () => {
    await thinker?.close();
    await embedder?.close();
    await lease?.release();
    await engine?.dispose();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  test('o1e convert writes the four O1 tokens as control tokens and last-token pooling', async () => {
    const { metadata } = await readGgufHeader(ggufPath);
    assert.equal(metadata.get('llama.pooling_type'), GGUF_POOLING_TYPE.last);
    const tokens = metadata.get('tokenizer.ggml.tokens') as string[];
    const types = metadata.get('tokenizer.ggml.token_type') as number[];
    for (const token of ['<query>', '</query>', '<thought>', '<emb>']) assert.equal(types[tokens.indexOf(token)], GGUF_TOKEN_TYPE.control, token);
    assert.ok(embedder instanceof LlamaCppEmbedder && embedder.embedsAsO1, 'layout auto detects the O1 vocabulary');
    assert.ok(thinker instanceof LlamaCppThinker && thinker.thinksAsO1);
    assert.match(embedder.identity, /^llama-cpp:.*o1-small\.gguf#[0-9a-f]{16}:o1:/);
  });

  test('token ids are the engine\'s: prompts, queries with and without thoughts, documents, truncation', () => {
    const tokenizer = engine.tokenizer;
    const longQuery = Array.from({ length: 60 }, () => queries[1]).join(' ');
    for (const query of [...queries, longQuery]) {
      assert.deepEqual(layout.queryPromptIds(query), queryPromptIds(tokenizer, query), query.slice(0, 40));
      assert.deepEqual(layout.querySequenceIds(query, ''), querySequenceIds(tokenizer, query, ''));
    }
    assert.equal(layout.queryPromptIds(longQuery).length, 256);
    queries.forEach((query, index) => {
      const thought = greedy[index][0];
      assert.deepEqual(layout.querySequenceIds(query, thought), querySequenceIds(tokenizer, query, thought));
      // A thought handed back with the EOS text still on it is cleaned the same way.
      assert.deepEqual(layout.querySequenceIds(query, `${thought}<|endoftext|>`), querySequenceIds(tokenizer, query, `${thought}<|endoftext|>`));
    });
    for (const document of documents) assert.deepEqual(layout.documentIds(document), documentIds(tokenizer, document), document.id);
    assert.equal(layout.documentIds(documents.at(-1) as Document).length, 513);
    // Decoding keeps spaces before punctuation (llama.cpp's own detokenizer cleans them up).
    const spaced = '<thought>Rates (P = .001) fell , didn\'t they ?<|endoftext|>';
    assert.equal(layout.decode(layout.encode(spaced)), spaced);
    assert.equal(layout.decode(layout.encode(spaced)), engine.tokenizer.decode(engine.tokenizer.encode(spaced)));
  });

  test('greedy thoughts equal the engine\'s', async () => {
    const thoughts = await thinker.think?.(queries.map((text) => ({ text })), { temperature: 0, n: 1 });
    assert.deepEqual(thoughts, greedy);
    assert.ok(greedy.filter(([thought]) => thought.length > 100).length >= 8, 'the comparison covers long thoughts');
  });

  test('query vectors (without and with a thought) and document vectors agree to cosine 0.9999', async (context) => {
    const withoutThinking = await embedder.embedQueries(queries);
    const expectedWithout = await engine.embedQueriesWithoutThinking(queries);
    const withThoughts = await embedder.embedQueries(queries.map((text, index) => ({ text, thought: greedy[index][0] })));
    const expectedWith = (await engine.embedThoughts(queries, greedy)).map((result) => result.thoughtEmbeddings[0]);
    const documentVectors = await embedder.embedDocuments(documents.map(({ title, text }) => ({ title, text })));
    const expectedDocuments = await engine.embedDocuments(documents);
    const worst = {
      queries: worstCosine(withoutThinking.vectors, expectedWithout),
      thoughts: worstCosine(withThoughts.vectors, expectedWith),
      documents: worstCosine(documentVectors.vectors, expectedDocuments),
    };
    context.diagnostic(`max |cos - 1|: ${JSON.stringify(worst)}`);
    for (const [kind, value] of Object.entries(worst)) assert.ok(value <= COSINE_TOLERANCE, `${kind}: max |cos - 1| = ${value}`);
    for (const vector of documentVectors.vectors) assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5, 'L2-normalised');
    assert.equal(documentVectors.usage.tokens, documents.reduce((sum, document) => sum + documentIds(engine.tokenizer, document).length, 0));
    assert.equal(await embedder.dimension(), engine.dimension);
  });

  test('sampling: a vanishing nucleus is greedy, seeds reproduce and differ; cancelling rejects', async () => {
    const some = [{ text: queries[2] }, { text: queries[4] }];
    // Top-p 1e-6 keeps only the most likely token: the draw maps llama.cpp's probabilities to the right ids.
    const nucleus = await thinker.think?.(some, { temperature: 1, topP: 1e-6, seed: 3, maxTokens: 12 });
    assert.deepEqual(nucleus, await thinker.think?.(some, { temperature: 0, maxTokens: 12 }));
    assert.ok(nucleus?.every(([thought]) => thought.length > 0));
    const hot = { temperature: 1, topP: 1, maxTokens: 16, n: 2 };
    const first = await thinker.think?.(some, { ...hot, seed: 7 });
    assert.deepEqual(await thinker.think?.(some, { ...hot, seed: 7 }), first);
    assert.notDeepEqual(await thinker.think?.(some, { ...hot, seed: 8 }), first);
    assert.ok(first?.every((thoughts) => thoughts.length === 2));
    const cancelled = new AbortController();
    cancelled.abort();
    await assert.rejects(thinker.think?.(some, { signal: cancelled.signal }) as Promise<unknown>, isO1Error('CANCELLED'));
    await assert.rejects(embedder.embedDocuments(['a', 'b'], { signal: cancelled.signal }), isO1Error('CANCELLED'));
  });

  test('the o1 retriever runs on llama.cpp (runtime llama-cpp) and ranks as on the engine', async () => {
    const settings = { model: ggufPath, threads: 1, thoughts: 1, temperature: 0 };
    const onLlama = new O1Retriever({ ...settings, runtime: 'llama-cpp' });
    const onEngine = new O1Retriever(settings);
    try {
      const asked = queries.slice(0, 3).map((text, index) => ({ id: `q${index}`, text }));
      await onLlama.index(documents, { quiet: true });
      await onEngine.index(documents, { quiet: true });
      const fromLlama = await onLlama.searchMany(asked, { hits: 10, quiet: true });
      const fromEngine = await onEngine.searchMany(asked, { hits: 10, quiet: true });
      assert.deepEqual(onLlama.config().runtime, 'llama-cpp');
      for (const query of asked) {
        const llamaHits = fromLlama.get(query.id) ?? [];
        const engineHits = fromEngine.get(query.id) ?? [];
        assert.deepEqual(llamaHits.map((hit) => hit.thoughts), engineHits.map((hit) => hit.thoughts), 'greedy thoughts agree');
        assert.deepEqual(llamaHits.map((hit) => hit.id), engineHits.map((hit) => hit.id));
        // Vectors agree to |cos - 1| < 1e-7 here (the test above), which bounds a score's difference
        // by |a - b| = sqrt(2 (1 - cos)), about 5e-4; measured differences reach 1.2e-4.
        llamaHits.forEach((hit, index) => assert.ok(Math.abs(hit.score - engineHits[index].score) < 5e-4, `${hit.score} vs ${engineHits[index].score}`));
      }
    } finally {
      await onLlama.dispose();
      await onEngine.dispose();
    }
  });
});

describe('llama-cpp embedder and thinker: layouts and settings on tiny GGUF files', () => {
  let directory: string;
  let plainPath: string;
  let meanO1Path: string;
  // Held for the whole suite so llama.cpp's runtime is not torn down and re-created per backend.
  let keepAlive: ModelLease;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'o1-llama-cpp-tiny-'));
    const tokenizer = tinyBpeTokenizer();
    plainPath = join(directory, 'plain.gguf');
    await writeGguf(plainPath, randomDecoder(tinyLlamaConfig(tokenizer.vocabSize, { eosTokenId: 0 }), 5), tokenizer.ggufMetadata());
    const o1 = await tinyO1Model();
    meanO1Path = join(directory, 'o1-mean.gguf');
    await writeGguf(meanO1Path, o1.weights, o1.tokenizer.ggufMetadata(), { poolingType: 'mean' });
    keepAlive = await acquireModel(plainPath);
  });

  after(async () => {
    await keepAlive?.release();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  test('plain layout: prefixes and the thought separator shape the text; identity follows them', async () => {
    const plain = await createEmbedder({ backend: 'llama-cpp', model: plainPath, threads: 1, contextSize: 64 });
    const prefixed = await createEmbedder({ backend: 'llama-cpp', model: plainPath, threads: 1, contextSize: 64, queryPrefix: 'the ', thoughtSeparator: ' and ' });
    try {
      assert.ok(plain instanceof LlamaCppEmbedder && !plain.embedsAsO1);
      const [query] = (await prefixed.embedQueries([{ text: 'dog', thought: 'a ball' }])).vectors;
      const { vectors: [text], usage } = await plain.embedDocuments(['the dog and a ball']);
      assert.deepEqual(query, text);
      assert.ok(usage.tokens > 0);
      const [titled] = (await plain.embedDocuments([{ title: 'Tom', text: 'had a dog' }])).vectors;
      assert.deepEqual(titled, (await plain.embedDocuments(['Tom had a dog'])).vectors[0]);
      assert.notEqual(plain.identity, prefixed.identity);
      assert.deepEqual(prefixed.config(), { backend: 'llama-cpp', model: plainPath, name: 'plain', threads: 1, contextSize: 64, normalize: true, layout: 'auto', queryPrefix: 'the ', thoughtSeparator: ' and ' });
    } finally {
      await plain.close();
      await prefixed.close();
    }
    const thinker = await createThinker({ backend: 'llama-cpp', model: plainPath, threads: 1, contextSize: 64 });
    try {
      assert.equal(thinker.think, undefined, 'a plain model has no native thinking');
      assert.equal(thinker.config().temperature, 0.8);
      assert.match(thinker.identity, /^llama-cpp:.*plain\.gguf#[0-9a-f]{16}:plain:auto$/);
    } finally {
      await thinker.close();
    }
  });

  test('errors: layout o1 without the O1 tokens, prefixes on an O1 model, an O1 file that pools by mean', async () => {
    await assert.rejects(createEmbedder({ backend: 'llama-cpp', model: plainPath, threads: 1, layout: 'o1' }), isO1Error('MISSING_SPECIAL_TOKENS'));
    await assert.rejects(createThinker({ backend: 'llama-cpp', model: plainPath, threads: 1, layout: 'o1' }), isO1Error('MISSING_SPECIAL_TOKENS'));
    await assert.rejects(createEmbedder({ backend: 'llama-cpp', model: meanO1Path, threads: 1, queryPrefix: 'query: ' }), (error: unknown) => error instanceof O1Error && error.code === 'BAD_ARGUMENT' && error.location.field === 'layout');
    await assert.rejects(createEmbedder({ backend: 'llama-cpp', model: meanO1Path, threads: 1 }), isO1Error('UNSUPPORTED_OP'));
    await assert.rejects(createEmbedder({ backend: 'llama-cpp', model: plainPath, layuot: 'o1' }), (error: unknown) => error instanceof O1Error && error.location.field === 'layuot');
    // The same file embeds as a plain decoder when asked to.
    const plain = await createEmbedder({ backend: 'llama-cpp', model: meanO1Path, threads: 1, layout: 'plain', contextSize: 64 });
    try {
      assert.equal((await plain.embedDocuments(['Cats purr.'])).vectors[0].length, await plain.dimension());
    } finally {
      await plain.close();
    }
  });
});
