import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { reportCommand } from '../src/cli/commands/report.js';
import { loadBeir, writeBeirQrels, writeCorpus, writeQueries } from '../src/data/beir.js';
import { writeRun } from '../src/data/trec.js';
import type { Document, Qrels, Query, Run } from '../src/data/types.js';
import { O1Error } from '../src/errors.js';
import { evaluate } from '../src/evaluation/index.js';
import {
  HISTOGRAM_BINS,
  REPORT_MEASURES,
  REPORT_MEASURE_REQUESTS,
  buildReport,
  buildReportData,
  histogramBin,
  readThoughts,
  writeReport,
  type ReportInput,
} from '../src/report/index.js';
import { createRetriever } from '../src/retrieval/registry.js';
import { searchAll } from '../src/retrieval/retriever.js';
import { SeededRandom } from '../src/util/random.js';
import { sharedPath } from './helpers/shared.js';
import { browserTestOptions, launchChromium } from './helpers/browser.js';

const isO1Error = (code: string) => (error: unknown): boolean => error instanceof O1Error && error.code === code;

/** A synthetic collection: 40 judged queries, 200 documents, three seeded runs of 100 hits. */
function synthetic(): { qrels: Qrels; queries: Query[]; corpus: Document[]; runs: Run[] } {
  const random = new SeededRandom(7);
  const corpus: Document[] = Array.from({ length: 200 }, (_, index) => ({ id: `d${index}`, title: `Document ${index}`, text: `Text of document ${index}. `.repeat(20) }));
  const queries: Query[] = Array.from({ length: 45 }, (_, index) => ({ id: String(index + 1), text: `query number ${index + 1}` }));
  const qrels: Qrels = new Map();
  for (const query of queries.slice(0, 40)) {
    const judged = new Map<string, number>();
    for (let count = 0; count < 1 + random.integer(4); count++) judged.set(`d${random.integer(200)}`, random.integer(3));
    qrels.set(query.id, judged);
  }
  const runs = [0, 1, 2].map(() => {
    const run: Run = new Map();
    // Query 40 is missing from every run (counts 0 under -c); queries 41-45 have no judgements.
    for (const query of queries.filter((entry) => entry.id !== '40')) {
      const scores = new Map<string, number>();
      for (let count = 0; count < 100; count++) scores.set(`d${random.integer(200)}`, Math.round(random.uniform() * 1000) / 100);
      // Make some documents of the qrels likely near the top so values differ between runs.
      for (const id of qrels.get(query.id)?.keys() ?? []) if (random.uniform() < 0.5) scores.set(id, 10 + random.uniform());
      // A document whose id is the query id: removed under anserini-beir.
      scores.set(query.id, 100);
      run.set(query.id, scores);
    }
    return run;
  });
  return { qrels, queries, corpus, runs };
}

function inputOf(data: ReturnType<typeof synthetic>, overrides: Partial<ReportInput> = {}): ReportInput {
  return {
    systems: [
      { name: 'baseline', run: data.runs[0] },
      { name: 'second', run: data.runs[1], thoughts: new Map([['1', ['a first thought', 'a second thought']]]) },
      { name: 'third', run: data.runs[2] },
    ],
    qrels: data.qrels,
    queries: data.queries,
    corpus: data.corpus,
    ...overrides,
  };
}

/** The JSON of `<script type="application/json" id="...">` in a page, parsed. */
function embeddedJson(html: string, id: string): unknown {
  const match = new RegExp(`<script type="application/json" id="${id}">([^<]*)</script>`).exec(html);
  assert.ok(match, `no #${id} script`);
  return JSON.parse(match[1]);
}

test('report data: metrics and per-query values are exactly evaluate()\'s, under the preset', () => {
  const data = synthetic();
  for (const preset of ['anserini-beir', 'trec_eval'] as const) {
    const report = buildReportData(inputOf(data, { preset }));
    assert.equal(report.queries.length, 40, 'every judged query, unjudged ones ignored');
    report.systems.forEach((system, index) => {
      const expected = evaluate(data.qrels, data.runs[index], { preset, measures: REPORT_MEASURE_REQUESTS });
      for (const measure of REPORT_MEASURES) assert.equal(system.metrics[measure.name], expected.all[measure.name], `${preset} ${system.name} ${measure.name}`);
      assert.equal(system.queryCount, expected.queryCount);
      assert.equal(system.evaluatedQueries, 39);
      for (const query of report.queries) {
        const values = query.values[index];
        if (query.id === '40') {
          // Missing from the run: 0 under -c (as in the average), not evaluated otherwise.
          assert.deepEqual(values, preset === 'anserini-beir' ? Object.fromEntries(REPORT_MEASURES.map((measure) => [measure.name, 0])) : null);
          continue;
        }
        for (const measure of REPORT_MEASURES) assert.equal(values?.[measure.name], expected.perQuery.get(measure.name)?.get(query.id));
      }
    });
    assert.equal(report.systems[0].queryCount, preset === 'anserini-beir' ? 40 : 39);
  }
  // MRR@10 is recip_rank under -M 10, as o1e eval computes it, not the full-ranking recip_rank.
  const report = buildReportData(inputOf(data));
  const cut = evaluate(data.qrels, data.runs[0], { preset: 'anserini-beir', measures: [{ measure: 'recip_rank', maxDocuments: 10 }] }).all.recip_rank;
  const full = evaluate(data.qrels, data.runs[0], { preset: 'anserini-beir', measures: ['recip_rank'] }).all.recip_rank;
  assert.notEqual(cut, full, 'the synthetic data must tell the two apart');
  assert.equal(report.systems[0].metrics.recip_rank, cut);
});

test('report data: differences against the first system are sorted, wins first and losses last, with correct counts', () => {
  const report = buildReportData(inputOf(synthetic()));
  assert.equal(report.comparisons.length, 2 * REPORT_MEASURES.length, 'one per (non-first system, measure)');
  for (const comparison of report.comparisons) {
    assert.equal(comparison.baseline, 'baseline');
    const systemIndex = report.systems.findIndex((system) => system.name === comparison.system);
    assert.ok(systemIndex >= 1);
    assert.equal(comparison.differences.length, 40);
    for (const difference of comparison.differences) {
      const query = report.queries.find((entry) => entry.id === difference.query);
      assert.equal(difference.baseline, query?.values[0]?.[comparison.measure]);
      assert.equal(difference.value, query?.values[systemIndex]?.[comparison.measure]);
      assert.equal(difference.delta, difference.value - difference.baseline);
    }
    for (let index = 1; index < comparison.differences.length; index++) {
      assert.ok(comparison.differences[index - 1].delta >= comparison.differences[index].delta, 'sorted by delta, descending');
    }
    assert.equal(comparison.wins, comparison.differences.filter((difference) => difference.delta > 0).length);
    assert.equal(comparison.losses, comparison.differences.filter((difference) => difference.delta < 0).length);
    assert.equal(comparison.wins + comparison.ties + comparison.losses, 40);
  }
  const ndcg = report.comparisons.find((comparison) => comparison.system === 'second' && comparison.measure === 'ndcg_cut_10');
  assert.ok(ndcg !== undefined && ndcg.wins > 0 && ndcg.losses > 0, 'the synthetic runs must have wins and losses');
});

test('report data: the nDCG@10 histogram counts every query of every system in ten bins', () => {
  assert.deepEqual([0, 0.05, 0.1, 0.3, 0.6 - 1e-12, 0.7, 0.99, 1].map(histogramBin), [0, 0, 1, 3, 6, 7, 9, 9]);
  const report = buildReportData(inputOf(synthetic()));
  assert.equal(report.histogram.length, report.systems.length * HISTOGRAM_BINS);
  report.systems.forEach((system, index) => {
    const bins = report.histogram.filter((bin) => bin.system === system.name);
    assert.equal(bins.reduce((sum, bin) => sum + bin.count, 0), 40);
    for (const bin of bins) {
      const expected = report.queries.filter((query) => histogramBin(query.values[index]?.ndcg_cut_10 ?? -1) === bin.bin && query.values[index] !== null).length;
      assert.equal(bin.count, expected);
    }
  });
});

test('report data: hits follow trec_eval order without the query\'s own id, marked with their judgements', () => {
  const data = synthetic();
  const report = buildReportData(inputOf(data, { hitsShown: 5 }));
  for (const query of report.queries.filter((entry) => entry.id !== '40')) {
    const hits = query.hits[0];
    assert.equal(hits.length, 5);
    assert.ok(!hits.some(([id]) => id === query.id), 'the document whose id is the query id is removed');
    for (let rank = 1; rank < hits.length; rank++) assert.ok(Math.fround(hits[rank - 1][1]) >= Math.fround(hits[rank][1]));
    for (const [id, score, relevance] of hits) {
      assert.equal(score, data.runs[0].get(query.id)?.get(id));
      assert.equal(relevance, data.qrels.get(query.id)?.get(id) ?? null);
      assert.equal(report.documents[id]?.title, data.corpus.find((document) => document.id === id)?.title);
    }
  }
  assert.deepEqual(report.queries.find((query) => query.id === '1')?.thoughts, [null, ['a first thought', 'a second thought'], null]);
  assert.deepEqual(report.systems.map((system) => system.hasThoughts), [false, true, false]);
  assert.ok(Object.values(report.documents).every((document) => document.snippet.length <= 200));
});

test('report data: bad inputs are BAD_ARGUMENT errors naming the field', () => {
  const data = synthetic();
  assert.throws(() => buildReportData(inputOf(data, { systems: [] })), isO1Error('BAD_ARGUMENT'));
  assert.throws(() => buildReportData(inputOf(data, { systems: [{ name: 'a', run: data.runs[0] }, { name: 'a', run: data.runs[1] }] })), /appears twice/);
  assert.throws(() => buildReportData(inputOf(data, { hitsShown: 0 })), /hitsShown/);
  assert.throws(() => buildReportData(inputOf(data, { preset: 'nope' as 'mteb' })), isO1Error('BAD_ARGUMENT'));
});

test('report page: self-contained (libraries inlined, no http(s) script, link or image, a CSP forbidding requests), deterministic', () => {
  const input = inputOf(synthetic());
  const html = buildReport(input);
  assert.equal(html, buildReport(input), 'the same input gives the same page');
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.doesNotMatch(html, /<script[^>]+\bsrc\s*=/i, 'no external script');
  assert.doesNotMatch(html, /<link\b/i, 'no stylesheet or preload link');
  assert.doesNotMatch(html, /<(img|iframe|source|video|audio|embed|object)\b[^>]*\b(src|data)\s*=\s*["']?https?:/i);
  assert.doesNotMatch(html, /url\(\s*["']?https?:/i, 'no remote CSS resource');
  assert.doesNotMatch(html, /sourceMappingURL/, 'source map comments are stripped');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;[^"]*connect-src &#39;none&#39;/);
  for (const library of ['vega', 'vega-lite', 'vega-embed']) assert.match(html, new RegExp(`<script data-library="${library}">!function`));
  // The page's data parses back to the report data, and its charts have one datum per mark.
  assert.deepEqual(embeddedJson(html, 'report-data'), JSON.parse(JSON.stringify(buildReportData(input))));
  const charts = embeddedJson(html, 'report-charts') as Record<string, { data: { values: unknown[] } }>;
  assert.equal(charts.metrics.data.values.length, 3 * REPORT_MEASURES.length);
  assert.equal(charts.distribution.data.values.length, 3 * HISTOGRAM_BINS);
  assert.equal(charts['comparison:1:ndcg_cut_10'].data.values.length, 40);
  assert.deepEqual(Object.keys(charts).filter((key) => key.startsWith('comparison:')).length, 2 * REPORT_MEASURES.length);
  // The metrics table shows evaluate()'s values.
  const table = /<table class="metrics">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
  const ndcg = evaluate(input.qrels, input.systems[1].run, { preset: 'anserini-beir', measures: ['ndcg_cut.10'] }).all.ndcg_cut_10;
  assert.match(table, new RegExp(`data-system="1" data-measure="ndcg_cut_10"><span class="value">${ndcg.toFixed(4)}</span>`));
});

/** Text that would close the script, run code or open a comment if it reached the page unescaped. */
const HOSTILE = '</script><script>window.injected=1</script><!-- <b onmouseover="x">&amp;\u2028\\\' \u0007';

/** A report whose query 1, its thoughts, its top document, a system name and the title are {@link HOSTILE}. */
function hostileInput(): { input: ReportInput; topDocument: string } {
  const data = synthetic();
  data.queries[0] = { id: '1', text: HOSTILE };
  const topDocument = [...(data.runs[0].get('1')?.keys() ?? [])].find((id) => id !== '1') as string;
  data.corpus = data.corpus.map((document) => (document.id === topDocument ? { ...document, title: HOSTILE, text: HOSTILE } : document));
  data.runs[0].get('1')?.set(topDocument, 99);
  const input = inputOf(data, {
    title: HOSTILE,
    systems: [{ name: `sys ${HOSTILE}`, run: data.runs[0], thoughts: new Map([['1', [HOSTILE]]]) }, { name: 'other', run: data.runs[1] }],
  });
  return { input, topDocument };
}

test('report page: text from runs, queries, thoughts and the corpus cannot close a script or inject markup', () => {
  const { input, topDocument } = hostileInput();
  const hostile = HOSTILE;
  const html = buildReport(input);
  // Exactly the page's own script elements close: the two JSON ones, three libraries, the client.
  assert.equal(html.match(/<\/script/gi)?.length, 6);
  assert.equal(html.match(/<script/gi)?.length, 6);
  assert.doesNotMatch(html, /<b onmouseover/);
  assert.ok(!html.includes('<!-- <b'), 'no HTML comment opened by the data');
  assert.match(html, /<title>&lt;\/script&gt;&lt;script&gt;window\.injected=1/);
  assert.match(html, /sys &lt;\/script&gt;/);
  const parsed = embeddedJson(html, 'report-data') as { queries: { id: string; text: string; thoughts: (string[] | null)[] }[]; documents: Record<string, { title: string }> };
  const query = parsed.queries.find((entry) => entry.id === '1');
  assert.equal(query?.text, hostile, 'the escaped JSON reads back to the same text');
  assert.deepEqual(query?.thoughts[0], [hostile]);
  assert.equal(parsed.documents[topDocument].title, hostile);
});

test('readThoughts reads the ../shared thoughts format; errors name the file and line', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-thoughts-'));
  try {
    const path = join(directory, 'thoughts.jsonl');
    await writeFile(path, '{"query_id": "q1", "query": "x", "thoughts": ["one", "two"]}\n\n{"query_id": 7, "thoughts": []}\n');
    assert.deepEqual([...(await readThoughts(path))], [['q1', ['one', 'two']], ['7', []]]);
    const cases: [string, string, number, RegExp][] = [
      ['{"query_id": "q1", "thoughts": ["a"]}\n{"query_id": "q1", "thoughts": ["b"]}\n', 'DUPLICATE_ID', 2, /'q1' appears twice/],
      ['{"query_id": "q1", "thoughts": "a"}\n', 'MISSING_FIELD', 1, /'thoughts'/],
      ['{"thoughts": ["a"]}\n', 'MISSING_FIELD', 1, /'query_id'/],
      ['{"query_id": "q1", "thoughts": ["a"]}\nnot json\n', 'MALFORMED_JSON', 2, /malformed JSON/],
    ];
    for (const [text, code, line, message] of cases) {
      await writeFile(path, text);
      await assert.rejects(readThoughts(path), (error: unknown) => {
        assert.ok(isO1Error(code)(error), String(error));
        assert.match((error as Error).message, message);
        assert.deepEqual([(error as O1Error).location.file, (error as O1Error).location.line], [path, line]);
        return true;
      });
    }
    await assert.rejects(readThoughts(join(directory, 'missing.jsonl')), isO1Error('MISSING_FILE'));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('o1e report: reads runs, thoughts and a BEIR folder, writes the page atomically; bad arguments are errors', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-report-'));
  try {
    const data = synthetic();
    await mkdir(join(directory, 'beir', 'qrels'), { recursive: true });
    await writeCorpus(join(directory, 'beir', 'corpus.jsonl'), data.corpus);
    await writeQueries(join(directory, 'beir', 'queries.jsonl'), data.queries);
    await writeBeirQrels(join(directory, 'beir', 'qrels', 'test.tsv'), data.qrels);
    await writeRun(join(directory, 'first.run'), data.runs[0], { tag: 'first' });
    await writeRun(join(directory, 'second.trec'), data.runs[1], { tag: 'second' });
    await writeFile(join(directory, 'thoughts.jsonl'), '{"query_id": "2", "query": "q", "thoughts": ["thought for two"]}\n');
    const out = join(directory, 'report.html');
    const code = await reportCommand.run([join(directory, 'first.run'), join(directory, 'second.trec'), '--data', join(directory, 'beir'), '--thoughts', '-', '--thoughts', join(directory, 'thoughts.jsonl'), '--out', out, '--quiet', '--top', '3']);
    assert.equal(code, 0);
    const html = await readFile(out, 'utf8');
    const report = embeddedJson(html, 'report-data') as ReturnType<typeof buildReportData>;
    assert.deepEqual(report.systems.map((system) => [system.name, system.hasThoughts]), [['first', false], ['second', true]]);
    assert.equal(report.title, 'beir test: first vs second');
    assert.equal(report.hitsShown, 3);
    assert.deepEqual(report.queries.find((query) => query.id === '2')?.thoughts, [null, ['thought for two']]);
    const expected = evaluate(data.qrels, data.runs[1], { preset: 'anserini-beir', measures: REPORT_MEASURE_REQUESTS });
    // The run file stores scores as text: the same ranking, so the same values.
    assert.equal(report.systems[1].metrics.ndcg_cut_10, expected.all.ndcg_cut_10);
    assert.ok(!existsSync(`${out}.tmp-${process.pid}`));

    const base = [join(directory, 'first.run'), '--data', join(directory, 'beir'), '--out', out];
    await assert.rejects(reportCommand.run(['--data', join(directory, 'beir'), '--out', out]), /at least one RUN/);
    await assert.rejects(reportCommand.run([join(directory, 'first.run'), '--out', out]), /--data DIR is required/);
    await assert.rejects(reportCommand.run([...base, '--names', 'a,b']), /2 names for 1 runs/);
    await assert.rejects(reportCommand.run([...base, '--thoughts', '-', '--thoughts', '-']), /2 --thoughts files for 1 runs/);
    await assert.rejects(reportCommand.run([...base, '--preset', 'nope']), /unknown evaluation preset/);
    await assert.rejects(reportCommand.run([...base, '--top', '0']), /--top must be at least 1/);
    await assert.rejects(reportCommand.run([...base, '--bogus']), isO1Error('BAD_ARGUMENT'));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('report page in headless Chromium: no errors, no requests, every chart drawn with its data, queries open with thoughts and hits', browserTestOptions(), async (t) => {
  // A slice of SciFact test: 30 queries; BM25 on the query (the baseline) and on the query plus
  // a Gemini thought from ../shared/thoughts, over the judged documents and 1,500 others.
  const { corpus, queries: allQueries, qrels: allQrels } = await loadBeir(sharedPath('datasets', 'scifact'), 'test', { quiet: true });
  const queries = allQueries.slice(0, 30);
  const qrels: Qrels = new Map(queries.map((query) => [query.id, allQrels.get(query.id) as Map<string, number>]));
  const judged = new Set([...qrels.values()].flatMap((judgements) => [...judgements.keys()]));
  const documents = corpus.filter((document, index) => index < 1500 || judged.has(document.id));
  const allThoughts = await readThoughts(sharedPath('thoughts', 'scifact.test.gemini-2.0-flash-100.jsonl'));
  const thoughts = new Map(queries.map((query) => [query.id, allThoughts.get(query.id) ?? []]));
  const retriever = createRetriever({ retriever: 'bm25' });
  await retriever.index(documents, { quiet: true });
  const plain = await searchAll(retriever, queries, { hits: 1000, removeQuery: true });
  const thinking = await searchAll(retriever, queries.map((query) => ({ id: query.id, text: `${query.text} ${(thoughts.get(query.id) ?? []).join(' ')}` })), { hits: 1000, removeQuery: true });
  const input: ReportInput = { systems: [{ name: 'bm25', run: plain }, { name: 'bm25 + thought', run: thinking, thoughts }], qrels, queries, corpus: documents, description: 'scifact test, 30 queries' };
  const report = buildReportData(input);

  const directory = await mkdtemp(join(tmpdir(), 'o1e-report-browser-'));
  let context: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    const path = join(directory, 'report.html');
    await writeReport(path, input);
    const url = pathToFileURL(path).href;
    const hostilePath = join(directory, 'hostile.html');
    await writeReport(hostilePath, hostileInput().input);
    const hostileUrl = pathToFileURL(hostilePath).href;
    const pages = new Set([url, hostileUrl]);
    context = await launchChromium(directory);
    const problems: string[] = [];
    const requests: string[] = [];
    await context.route('**/*', async (route) => {
      if (pages.has(route.request().url())) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    page.on('console', (message) => { if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`); });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => { if (!pages.has(request.url())) requests.push(request.url()); });
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.chartsReady !== undefined, null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.chartsReady), 'true', problems.join('\n'));

    // Every chart: an SVG with one bar per datum.
    const bars = (id: string) => page.locator(`#${id} svg .mark-rect path`).count();
    assert.equal(await bars('metrics-chart'), 2 * REPORT_MEASURES.length, 'systems x metrics');
    assert.equal(await bars('distribution-chart'), 2 * HISTOGRAM_BINS, 'systems x bins');
    assert.equal(await bars('comparison-chart-1'), 30, 'one bar per query');
    assert.equal(await page.locator('#metrics-chart svg .mark-text.role-mark text').count(), 2 * REPORT_MEASURES.length, 'a value label per bar');
    // The table shows evaluate()'s values.
    for (const [index, system] of input.systems.entries()) {
      const expected = evaluate(qrels, system.run, { preset: 'anserini-beir', measures: REPORT_MEASURE_REQUESTS });
      for (const measure of REPORT_MEASURES) {
        assert.equal(await page.locator(`td[data-system="${index}"][data-measure="${measure.name}"] .value`).textContent(), expected.all[measure.name].toFixed(4));
      }
    }
    const comparison = report.comparisons.find((entry) => entry.measure === 'ndcg_cut_10') as (typeof report.comparisons)[number];
    assert.equal(await page.locator('#comparison-counts-1').textContent(), `${comparison.wins} wins, ${comparison.ties} ties, ${comparison.losses} losses over 30 queries`);
    assert.equal(await page.locator('#comparison-lists-1 .wins li').count(), Math.min(10, comparison.wins));
    assert.equal(await page.locator('#comparison-lists-1 .losses li').count(), Math.min(10, comparison.losses));

    // Another measure redraws the comparison from its own data.
    await page.selectOption('#comparison-measure', 'recall_100');
    await page.waitForFunction(() => document.getElementById('comparison-chart-1')?.dataset.chart === 'comparison:1:recall_100' && document.getElementById('comparison-chart-1')?.dataset.rendered === 'true');
    assert.equal(await bars('comparison-chart-1'), 30);
    await page.selectOption('#comparison-measure', 'ndcg_cut_10');
    await page.waitForFunction(() => document.getElementById('comparison-chart-1')?.dataset.chart === 'comparison:1:ndcg_cut_10' && document.getElementById('comparison-chart-1')?.dataset.rendered === 'true');

    // A query opens with its text, its thoughts and both systems' hits, relevance marked.
    const target = report.queries.find((query) => (query.thoughts[1]?.length ?? 0) > 0 && query.hits[0].some((hit) => (hit[2] ?? 0) > 0)) as (typeof report.queries)[number];
    assert.ok(target, 'a query with a thought and a relevant hit');
    const details = page.locator(`details[data-query="${target.id}"]`);
    assert.equal(await details.locator('.thought').count(), 0, 'built only when opened');
    await details.locator('summary').click();
    assert.equal(await details.locator('.full-text').textContent(), target.text);
    const thought = details.locator('[data-system="1"] .thought').first();
    assert.ok(await thought.isVisible());
    assert.equal(await thought.textContent(), target.thoughts[1]?.[0]);
    assert.equal(await details.locator('[data-system="0"] .thought').count(), 0, 'the baseline has no thoughts');
    for (const system of [0, 1]) {
      const hits = details.locator(`[data-system="${system}"] .hit`);
      assert.equal(await hits.count(), target.hits[system].length);
      assert.equal(target.hits[system].length, 10);
      for (const [rank, [id, , relevance]] of target.hits[system].entries()) {
        assert.equal(await hits.nth(rank).getAttribute('data-relevance'), relevance === null ? '' : String(relevance));
        assert.match((await hits.nth(rank).locator('.hit-meta').textContent()) ?? '', new RegExp(`^${id} · `));
      }
    }
    assert.ok(await details.locator('.hit.relevant').first().isVisible());
    // Screenshots to look at (kept in the temporary folder): the whole page and the open query.
    const screenshots = [join(tmpdir(), `o1e-report-${process.pid}-page.png`), join(tmpdir(), `o1e-report-${process.pid}-query.png`)];
    await page.screenshot({ path: screenshots[0], fullPage: true });
    await details.screenshot({ path: screenshots[1] });
    t.diagnostic(`screenshots: ${screenshots.join(' ')}`);

    // Clicking the biggest difference's bar opens that query; the filter narrows the list.
    const biggest = comparison.differences[0].delta > 0 ? comparison.differences[0] : comparison.differences[comparison.differences.length - 1];
    assert.notEqual(biggest.delta, 0, 'the slice has a query where the thought changes nDCG@10');
    const position = comparison.differences.indexOf(biggest);
    await page.locator('#comparison-chart-1 svg .mark-rect path').nth(position).click();
    await page.waitForFunction((id) => (document.querySelector(`details[data-query="${id}"]`) as HTMLDetailsElement | null)?.open === true, biggest.query);
    await page.fill('#query-filter', target.text.slice(0, 30));
    assert.ok((await page.locator('#query-list details').count()) >= 1);
    assert.ok(await page.locator(`details[data-query="${target.id}"]`).isVisible());
    assert.match((await page.locator('#query-count').textContent()) ?? '', /filtered from 30/);

    // Hostile text stays text: nothing runs, the page renders, the thought reads back verbatim.
    await page.goto(hostileUrl);
    await page.waitForFunction(() => document.body.dataset.chartsReady !== undefined, null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.chartsReady), 'true', problems.join('\n'));
    assert.equal(await page.evaluate(() => (window as { injected?: number }).injected), undefined);
    assert.equal(await page.locator('title').textContent(), HOSTILE);
    assert.equal(await page.locator('b[onmouseover]').count(), 0);
    const hostileDetails = page.locator('details[data-query="1"]');
    await hostileDetails.locator('summary').click();
    assert.equal(await hostileDetails.locator('.query-text').textContent(), HOSTILE);
    assert.equal(await hostileDetails.locator('[data-system="0"] .thought').textContent(), HOSTILE);
    assert.equal(await hostileDetails.locator('[data-system="0"] .hit-title').first().textContent(), HOSTILE);

    assert.deepEqual(problems, [], 'no console errors or warnings, no page errors');
    assert.deepEqual(requests, [], 'no request leaves the page');
  } finally {
    await context?.close();
    await rm(directory, { recursive: true, force: true });
  }
});
