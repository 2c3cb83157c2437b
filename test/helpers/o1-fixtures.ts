/** Tiny O1 models (random Qwen2-shaped decoders with the O1 tokens) and a tiny BEIR folder, for the O1 tests. */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBeirQrels, writeCorpus, writeQueries } from '../../src/data/beir.js';
import type { Document, Query } from '../../src/data/types.js';
import { prepareO1Model, type PreparedO1Model } from '../../src/o1/model.js';
import { randomDecoder, tinyBpeTokenizer, tinyQwen2Config } from './tiny-models.js';

/** A random tiny decoder (seeded) prepared with the four O1 tokens; saved when `output` is given. */
export async function tinyO1Model(options: { seed?: number; output?: string } = {}): Promise<PreparedO1Model> {
  const tokenizer = tinyBpeTokenizer();
  const base = randomDecoder(tinyQwen2Config(tokenizer.vocabSize, { eosTokenId: tokenizer.eosTokenId }), options.seed ?? 61, 0.3);
  return prepareO1Model({ weights: base, tokenizer }, { output: options.output });
}

export const TINY_DOCUMENTS: Document[] = [
  { id: 'd1', title: 'Cats', text: 'Cats are small furry animals that purr.' },
  { id: 'd2', title: 'Dogs', text: 'Dogs bark and fetch sticks in the park.' },
  { id: 'd3', title: 'Stocks', text: 'The stock market fell sharply on Monday.' },
  { id: 'd4', title: '', text: 'Tom and his dog went to the river.' },
  { id: 'q2', title: 'Echo', text: 'A document whose id equals a query id.' },
];

export const TINY_QUERIES: Query[] = [
  { id: 'q1', text: 'Do cats purr?' },
  { id: 'q2', text: 'why do dogs bark' },
  { id: 'q3', text: 'the stock market' },
];

/** Writes a tiny BEIR folder (corpus, queries, qrels/test.tsv) into a new temporary folder. */
export async function writeTinyBeir(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'o1-beir-'));
  await mkdir(join(directory, 'qrels'));
  await writeCorpus(join(directory, 'corpus.jsonl'), TINY_DOCUMENTS);
  await writeQueries(join(directory, 'queries.jsonl'), TINY_QUERIES);
  await writeBeirQrels(join(directory, 'qrels', 'test.tsv'), new Map([
    ['q1', new Map([['d1', 1]])],
    ['q2', new Map([['d2', 1]])],
    ['q3', new Map([['d3', 1]])],
  ]));
  return directory;
}
