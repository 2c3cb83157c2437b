/**
 * The real committee of issue 11: BM25Okapi, USE-Lite (a real pretrained embedder) and the model
 * itself (o1-small, mean pooling as a plain decoder) vote on candidate thoughts for SciFact-like
 * records, through `o1e synth vote`'s library function.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCommittee } from '../src/synth/committee.js';
import { voteRecords } from '../src/synth/vote.js';

const RECORDS = [
  {
    query: 'Vitamin D deficiency raises the risk of bone fractures.',
    pos: ['Low serum 25-hydroxyvitamin D levels were associated with a higher incidence of hip and vertebral fractures in older adults.'],
    neg: ['The committee approved the new parking regulations for the city centre.'],
    all_thought: [
      'Quantum chromodynamics describes the strong interaction between quarks and gluons.',
      'Older adults with low vitamin D levels have more hip fractures, because vitamin D keeps bones strong.',
      'The recipe needs two cups of flour and a pinch of salt.',
    ],
  },
  {
    query: 'Aspirin lowers the risk of colorectal cancer.',
    pos: ['Regular aspirin use was associated with a reduced incidence of colorectal cancer in long-term follow-up of randomised trials.'],
    neg: ['Tides are caused by the gravitational pull of the moon.'],
    all_thought: [
      'Long-term aspirin use reduces colorectal cancer incidence in randomised trials.',
      'The football match ended in a draw after extra time.',
      'Bananas are rich in potassium.',
    ],
  },
];

test('a real committee (BM25Okapi, USE-Lite, the model itself) picks the on-topic thought', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-committee-'));
  const members = await createCommittee({
    members: [
      { type: 'bm25' },
      { name: 'use-lite', embedder: { backend: 'use-lite', threads: 1 } },
      { name: 'o1-small', embedder: { backend: 'engine', model: 'models/o1-small', layout: 'plain', pooling: 'mean', threads: 1 } },
    ],
  });
  try {
    const input = join(directory, 'explored.jsonl');
    await writeFile(input, RECORDS.map((record) => JSON.stringify(record)).join('\n') + '\n');
    const out = join(directory, 'voted.jsonl');
    const summary = await voteRecords({ records: input, out, members, quiet: true });
    assert.deepEqual(summary.members, ['bm25', 'use-lite', 'o1-small']);
    const voted = (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { thought: string; model2scores: Record<string, number[]> });
    assert.equal(voted[0].thought, RECORDS[0].all_thought[1]);
    assert.equal(voted[1].thought, RECORDS[1].all_thought[0]);
    for (const record of voted) {
      assert.deepEqual(Object.keys(record.model2scores).sort(), ['bm25', 'o1-small', 'use-lite']);
      for (const scores of Object.values(record.model2scores)) assert.equal(scores.length, 3);
    }
    // USE-Lite alone already ranks the on-topic thought first: it is a real embedder.
    assert.ok(voted[0].model2scores['use-lite'][1] > Math.max(voted[0].model2scores['use-lite'][0], voted[0].model2scores['use-lite'][2]));
    assert.ok(voted[1].model2scores['use-lite'][0] > Math.max(voted[1].model2scores['use-lite'][1], voted[1].model2scores['use-lite'][2]));
  } finally {
    await Promise.all(members.map((member) => member.close()));
    await rm(directory, { recursive: true, force: true });
  }
});
