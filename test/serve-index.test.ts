/** `o1e serve --index`: /v1/search over a prebuilt index, as a real process stopped by SIGTERM. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildIndex } from '../src/indexes/index.js';
import { demoCollection } from '../src/cli/demo-collection.js';
import { startServeProcess } from './helpers/cli.js';
import { sharedTestOptions } from './helpers/shared.js';

test('o1e serve --index INDEX answers /v1/search from the stored index, with a thinker file, and thinks with --thinker instead when given', sharedTestOptions('datasets', 'scifact'), async () => {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-serve-index-'));
  const index = join(directory, 'demo.index');
  const thoughts = join(directory, 'thoughts.jsonl');
  await writeFile(thoughts, `${JSON.stringify({ query: 'what do nanoparticles do to stem cells', thoughts: ['nanotechnology tracks and manipulates stem cells'] })}\n`);
  await buildIndex({ out: index, data: await demoCollection(), retriever: { retriever: 'bm25', thinker: { backend: 'file', path: thoughts } }, quiet: true });
  const served = await startServeProcess(['--index', index, '--port', '0', '--quiet']);
  try {
    const url = served.url;
    const answer = await fetch(`${url.replace(/\/v1$/, '')}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'what do nanoparticles do to stem cells', hits: 3 }) });
    assert.equal(answer.status, 200, await answer.clone().text());
    const body = (await answer.json()) as { hits: { id: string; title: string; snippet: string; score: number; thoughts?: string[] }[] };
    assert.equal(body.hits.length, 3);
    assert.equal(body.hits[0].id, '31715818');
    assert.match(body.hits[0].title, /nanotechnolog/i);
    assert.deepEqual(body.hits[0].thoughts, ['nanotechnology tracks and manipulates stem cells']);
    assert.ok(body.hits[0].snippet.length > 0);
  } finally {
    await served.stop();
  }
  // --thinker replaces the index's thinker for /v1/search (here another thoughts file).
  const other = join(directory, 'other-thoughts.jsonl');
  await writeFile(other, `${JSON.stringify({ query: 'what do nanoparticles do to stem cells', thoughts: ['magnetic nanoparticles label stem cells for tracking'] })}\n`);
  const overridden = await startServeProcess(['--index', index, '--thinker', JSON.stringify({ backend: 'file', path: other }), '--port', '0', '--quiet']);
  try {
    const answer = await fetch(`${overridden.url.replace(/\/v1$/, '')}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'what do nanoparticles do to stem cells', hits: 3 }) });
    assert.equal(answer.status, 200, await answer.clone().text());
    const body = (await answer.json()) as { thoughts: string[]; hits: { id: string; thoughts?: string[] }[] };
    assert.deepEqual(body.thoughts, ['magnetic nanoparticles label stem cells for tracking']);
    assert.deepEqual(body.hits[0].thoughts, ['magnetic nanoparticles label stem cells for tracking']);
  } finally {
    await overridden.stop();
    await rm(directory, { recursive: true, force: true });
  }
});
