/**
 * `o1e serve --index INDEX --ui`: the search page in headless Chromium, against the real CLI
 * process over a fused (BM25 + o1-small thinking) index of a SciFact slice. Types a query, sees
 * hits with titles, snippets and scores, the model's thoughts and the latency, then switches to
 * each member retriever.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { writeBeirSlice } from '../recipe/lib.js';
import { buildIndex } from '../src/indexes/index.js';
import { browserTestOptions, launchChromium } from './helpers/browser.js';
import { startServeProcess } from './helpers/cli.js';
import { sharedPath } from './helpers/shared.js';

const MODEL = resolve(import.meta.dirname, '..', 'models', 'o1-small');
const QUERY = 'nanoparticles and stem cells';

test('search page (o1e serve --index --ui) in headless Chromium: type a query, see hits, thoughts and latency, switch retrievers', { ...browserTestOptions(), timeout: 300_000 }, async () => {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-search-page-'));
  const data = join(directory, 'scifact-slice');
  await writeBeirSlice(sharedPath('datasets', 'scifact'), 'test', data, { queries: 5, documents: 120 });
  const index = join(directory, 'slice.index');
  const o1 = { retriever: 'o1', model: MODEL, thoughts: 2, maxNewTokens: 24, seed: 0 };
  await buildIndex({ out: index, data, retriever: { retriever: 'fused', retrievers: [{ retriever: 'bm25' }, o1], weights: [1, 0.5] }, quiet: true });
  const served = await startServeProcess(['--index', index, '--ui', '--port', '0', '--quiet']);
  let context: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    const base = served.url.replace(/\/v1$/, '');
    const origin = new URL(base).origin;

    context = await launchChromium(directory);
    const problems: string[] = [];
    const foreign: string[] = [];
    const page = await context.newPage();
    page.on('console', (message) => { if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`); });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => { if (new URL(request.url()).origin !== origin) foreign.push(request.url()); });
    const answer = await page.goto(`${base}/`);
    assert.equal(answer?.status(), 200);
    assert.match(answer?.headers()['content-security-policy'] ?? '', /script-src 'sha256-/);

    // The switch lists the fusion and its members, the fusion first and chosen.
    await page.waitForSelector('input[name=retriever]');
    assert.deepEqual(await page.locator('input[name=retriever]').evaluateAll((inputs) => inputs.map((input) => (input as HTMLInputElement).value)), ['fused', 'bm25', 'o1']);
    assert.equal(await page.locator('input[name=retriever]:checked').getAttribute('value'), 'fused');
    assert.match(await page.locator('#about').textContent() ?? '', /\d+ documents/);

    await page.fill('#query', QUERY);
    await page.press('#query', 'Enter');
    await page.waitForSelector('#hits li.hit', { timeout: 120_000 });
    const hits = page.locator('#hits li.hit');
    assert.equal(await hits.count(), 10);
    const first = hits.first();
    assert.match(await first.locator('.title').textContent() ?? '', /nano/i); // nanoparticles or nanotechnologies, by model
    assert.match(await first.locator('.meta').textContent() ?? '', /^score \d+\.\d{4} · id \d+$/);
    assert.ok((await first.locator('.snippet').textContent() ?? '').length > 20);
    assert.ok(await first.locator('.snippet mark').count() > 0, 'matched words are marked');
    // o1-small thought (two thoughts per query), shown as what the model thought.
    assert.equal(await page.locator('#thoughts').isVisible(), true);
    assert.equal(await page.locator('#thoughts h2').textContent(), 'What the model thought');
    assert.equal(await page.locator('#thought-list li').count(), 2);
    const status = await page.locator('#status').textContent() ?? '';
    assert.match(status, /^10 hits from fused · [\d.]+ ms on the server, \d+ ms round trip$/);
    assert.ok(Number(await page.locator('#latency').textContent()) > 0);
    assert.match(page.url(), /\?q=nanoparticles\+and\+stem\+cells&retriever=fused$/);

    // Switching searches again with the member alone.
    for (const name of ['bm25', 'o1']) {
      await page.check(`input[name=retriever][value=${name}]`);
      await page.waitForFunction((wanted) => document.getElementById('status')?.textContent?.includes(`from ${wanted} `), name, { timeout: 120_000 });
      assert.equal(await hits.count(), 10, name);
    }
    // BM25 alone with "think" off: no thoughts shown.
    await page.check('input[name=retriever][value=bm25]');
    await page.uncheck('#think');
    await page.press('#query', 'Enter');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('from bm25 ') && document.getElementById('thoughts')?.hidden === true, null, { timeout: 60_000 });
    // The page shows what the API answers, in order.
    const api = await (await fetch(`${base}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY, hits: 10, retriever: 'bm25', thinker: false }) })).json() as { hits: { id: string; title: string; score: number }[] };
    assert.deepEqual(await hits.locator('.title').allTextContents(), api.hits.map((hit) => hit.title || hit.id));
    assert.deepEqual(await hits.locator('.meta').allTextContents(), api.hits.map((hit) => `score ${hit.score.toFixed(4)} · id ${hit.id}`));

    // A shared link opens with its query and retriever and searches at once.
    const second = await context.newPage();
    second.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await second.goto(`${base}/?q=${encodeURIComponent(QUERY)}&retriever=bm25`);
    await second.waitForSelector('#hits li.hit', { timeout: 60_000 });
    assert.equal(await second.locator('input[name=retriever]:checked').getAttribute('value'), 'bm25');

    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, [], 'the page loads nothing from elsewhere');
  } finally {
    await context?.close();
    await served.stop();
    await rm(directory, { recursive: true, force: true });
  }
});
