/**
 * Renders a report as ONE self-contained HTML page: Vega, Vega-Lite and vega-embed are inlined
 * from their installed browser bundles, the data and the chart specifications travel as JSON
 * inside the page, and a Content-Security-Policy forbids every request, so the page works
 * offline from a file:// URL and cannot reach the network even by accident.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { O1Error } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { comparisonKey, reportCharts } from './charts.js';
import { CLIENT_SCRIPT } from './client.js';
import { buildReportData, type ReportData, type ReportInput } from './model.js';

/** The browser bundles inlined, in load order (vega-lite needs vega; vega-embed needs both). */
const BUNDLES = [
  { name: 'vega', file: 'build/vega.min.js' },
  { name: 'vega-lite', file: 'build/vega-lite.min.js' },
  { name: 'vega-embed', file: 'build/vega-embed.min.js' },
] as const;

/**
 * No request of any kind: scripts and styles are inline; Vega compiles its expressions with
 * `Function`, hence 'unsafe-eval'; images only as data: or blob: URLs (none are used today).
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'";

let loadedBundles: { name: string; version: string; source: string }[] | undefined;

/** The folder of an installed package: resolve its entry point, then walk up to its package.json. */
function packageFolder(name: string): { folder: string; version: string } {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch (error) {
    throw new O1Error('MISSING_FILE', `the ${name} package is not installed (it is a dependency of o1-embedder)`, { file: name }, { cause: error });
  }
  for (let folder = dirname(entry); ; folder = dirname(folder)) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === name) return { folder, version: parsed.version ?? '?' };
    }
    if (dirname(folder) === folder) throw new O1Error('MISSING_FILE', `no package.json of ${name} above ${entry}`, { file: entry });
  }
}

/**
 * The inlined chart libraries, read once. A bundle's `</script` (none in the pinned versions)
 * would end the script element early: it can only occur inside a string or a regular expression,
 * where `<\/script` means the same, so it is rewritten. `<!--` would switch the HTML parser into
 * its "escaped script" state and cannot be rewritten safely everywhere, so it is refused.
 */
function chartBundles(): { name: string; version: string; source: string }[] {
  if (loadedBundles !== undefined) return loadedBundles;
  loadedBundles = BUNDLES.map(({ name, file }) => {
    const { folder, version } = packageFolder(name);
    const path = join(folder, file);
    if (!existsSync(path)) throw new O1Error('MISSING_FILE', `the ${name} browser bundle is missing`, { file: path });
    const source = readFileSync(path, 'utf8')
      .replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n')
      .replace(/<\/(script)/gi, '<\\/$1');
    if (source.includes('<!--')) throw new O1Error('BAD_ARGUMENT', `the ${name} bundle contains '<!--' and cannot be inlined in a <script>`, { file: path });
    return { name, version, source };
  });
  return loadedBundles;
}

/**
 * JSON safe inside a `<script type="application/json">`: `<`, `>` and `&` are written as
 * \u escapes, so no `</script>` or `<!--` can appear, and U+2028/U+2029 as well. JSON.parse
 * reads the escapes back to the same characters.
 *
 * @example
 * scriptJson({ text: '</script>' }) // '{"text":"\\u003c/script\\u003e"}'
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Escapes text for HTML element content and attribute values.
 *
 * @example
 * escapeHtml('<b> & "q"') // '&lt;b&gt; &amp; &quot;q&quot;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ENTITIES[character]);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Builds the report page for `input` (see {@link ReportInput}: `systems` are `{ name, run,
 * thoughts? }`, the first one the baseline). The page holds a metrics table, bar charts per
 * metric, per-query differences against the first system (sorted wins and losses), the
 * distribution of per-query nDCG@10, and every judged query with its text, thoughts and top hits
 * marked with their judgements. Deterministic: the same input gives the same bytes.
 *
 * @example
 * const html = buildReport({ systems: [{ name: 'bm25', run }, { name: 'o1', run: o1Run, thoughts }], qrels, queries, corpus })
 */
export function buildReport(input: ReportInput): string {
  return renderReport(buildReportData(input));
}

/**
 * Writes the report page atomically to `path` and returns its size in bytes.
 *
 * @example
 * await writeReport('report.html', { systems: [{ name: 'bm25', run }], qrels, queries, corpus })
 */
export async function writeReport(path: string, input: ReportInput): Promise<number> {
  const html = buildReport(input);
  await writeFileAtomic(path, html);
  return Buffer.byteLength(html, 'utf8');
}

/**
 * The page for already computed report data (what {@link buildReport} renders), for callers
 * that also use the data, e.g. to print its metrics.
 *
 * @example
 * const data = buildReportData(input)
 * await writeFile('report.html', renderReport(data))
 */
export function renderReport(data: ReportData): string {
  const bundles = chartBundles();
  const charts = reportCharts(data);
  const systemCount = data.systems.length;
  const subtitle = [data.description, `${data.queries.length} judged queries`, `${systemCount} system${systemCount === 1 ? '' : 's'}`, `preset ${data.preset.name}: ${data.preset.description}`]
    .filter((part) => part !== '').join(' · ');

  const comparisons = systemCount < 2
    ? '<p class="muted">One system only: give a second one to compare per query.</p>'
    : `<label class="control">measure <select id="comparison-measure">${data.measures.map((measure) => `<option value="${escapeHtml(measure.name)}">${escapeHtml(measure.label)}</option>`).join('')}</select></label>
${data.systems.slice(1).map((system, offset) => `<div class="comparison" data-system="${offset + 1}">
  <h3>${swatch(system.color)}${escapeHtml(system.name)} <span class="muted">against</span> ${swatch(data.systems[0].color)}${escapeHtml(data.systems[0].name)}</h3>
  <p class="muted" id="comparison-counts-${offset + 1}"></p>
  <div class="chart" id="comparison-chart-${offset + 1}" data-chart="${escapeHtml(comparisonKey(offset + 1, data.measures[0].name))}"></div>
  <div class="comparison-lists" id="comparison-lists-${offset + 1}"></div>
</div>`).join('\n')}`;

  const sortOptions = [
    '<option value="id">query id</option>',
    ...data.systems.map((system, index) => `<option value="value:${index}">${escapeHtml(data.measures[0].label)} of ${escapeHtml(system.name)}, lowest first</option>`),
    ...data.systems.slice(1).flatMap((system, offset) => [
      `<option value="loss:${offset + 1}">${escapeHtml(system.name)} − ${escapeHtml(data.systems[0].name)}, biggest loss first</option>`,
      `<option value="win:${offset + 1}">${escapeHtml(system.name)} − ${escapeHtml(data.systems[0].name)}, biggest win first</option>`,
    ]),
  ].join('');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONTENT_SECURITY_POLICY)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="o1-embedder report (${bundles.map((bundle) => `${bundle.name} ${bundle.version}`).join(', ')})">
<title>${escapeHtml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(data.title)}</h1>
<p class="subtitle">${escapeHtml(subtitle)}</p>
</header>
<main>
<section id="metrics">
<h2>Metrics</h2>
${metricsTable(data)}
<div class="chart" id="metrics-chart" data-chart="metrics"></div>
</section>
<section id="comparisons">
<h2>Per query, against ${escapeHtml(data.systems[0].name)}</h2>
${comparisons}
</section>
<section id="distribution">
<h2>Distribution of per-query ${escapeHtml(data.measures[0].label)}</h2>
<div class="chart" id="distribution-chart" data-chart="distribution"></div>
</section>
<section id="queries">
<h2>Queries</h2>
<div class="controls">
<label class="control">filter <input id="query-filter" type="search" placeholder="query id or words" autocomplete="off"></label>
<label class="control">order <select id="query-sort">${sortOptions}</select></label>
<span class="muted" id="query-count"></span>
</div>
<div id="query-list"></div>
<button id="query-more" type="button" hidden>show more</button>
</section>
</main>
<footer class="muted">Written by o1e report. Charts: ${bundles.map((bundle) => `${escapeHtml(bundle.name)} ${escapeHtml(bundle.version)}`).join(', ')}, inlined; this page makes no network request.</footer>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script type="application/json" id="report-charts">${scriptJson(charts)}</script>
${bundles.map((bundle) => `<script data-library="${escapeHtml(bundle.name)}">${bundle.source}</script>`).join('\n')}
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}

function swatch(color: string): string {
  return `<span class="swatch" style="background:${escapeHtml(color)}"></span>`;
}

/** The metrics table: one row per system, the best value of each measure in bold. */
function metricsTable(data: ReportData): string {
  const baseline = data.systems[0];
  const primary = data.measures[0];
  const best = Object.fromEntries(data.measures.map((measure) => [measure.name, Math.max(...data.systems.map((system) => system.metrics[measure.name]))]));
  const rows = data.systems.map((system, index) => {
    const cells = data.measures.map((measure) => {
      const value = system.metrics[measure.name];
      const delta = index === 0 ? '' : ` <span class="delta ${value > baseline.metrics[measure.name] ? 'wins' : value < baseline.metrics[measure.name] ? 'losses' : ''}">${signedDelta(value - baseline.metrics[measure.name])}</span>`;
      const bold = data.systems.length > 1 && value === best[measure.name];
      return `<td class="number${bold ? ' best' : ''}" data-system="${index}" data-measure="${escapeHtml(measure.name)}"><span class="value">${value.toFixed(4)}</span>${delta}</td>`;
    }).join('');
    const comparison = data.comparisons.find((entry) => entry.system === system.name && entry.measure === primary.name);
    const record = comparison === undefined ? '<td class="muted">baseline</td>' : `<td class="number">${comparison.wins} / ${comparison.ties} / ${comparison.losses}</td>`;
    return `<tr><th scope="row">${swatch(system.color)}${escapeHtml(system.name)}${system.hasThoughts ? ' <span class="tag">thoughts</span>' : ''}</th>${cells}<td class="number">${system.evaluatedQueries} / ${system.queryCount}</td>${record}</tr>`;
  }).join('\n');
  return `<table class="metrics">
<thead><tr><th scope="col">system</th>${data.measures.map((measure) => `<th scope="col" class="number">${escapeHtml(measure.label)}</th>`).join('')}<th scope="col" class="number" title="queries with hits / queries averaged over">queries</th><th scope="col" class="number" title="per-query ${escapeHtml(primary.label)} against ${escapeHtml(baseline.name)}">${escapeHtml(primary.label)} wins / ties / losses</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function signedDelta(value: number): string {
  return `${value > 0 ? '+' : value < 0 ? '−' : '±'}${Math.abs(value).toFixed(4)}`;
}

const STYLE = `
:root { color-scheme: light; --border: #ddd; --muted: #666; --win: #2e7d32; --loss: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1d1d1f; background: #fafafa; }
header, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--border); }
h3 { font-size: 15px; margin: 18px 0 4px; }
h4 { font-size: 14px; margin: 8px 0 4px; }
h5 { font-size: 12px; margin: 6px 0 2px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.subtitle, .muted { color: var(--muted); }
footer { padding: 24px 20px 40px; font-size: 12px; }
table.metrics { border-collapse: collapse; background: #fff; border: 1px solid var(--border); }
table.metrics th, table.metrics td { padding: 6px 12px; border-bottom: 1px solid var(--border); text-align: left; }
table.metrics thead th { background: #f1f1f3; font-weight: 600; }
.number { text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.best .value { font-weight: 700; }
.delta { font-size: 12px; margin-left: 4px; font-variant-numeric: tabular-nums; }
.delta.wins { color: var(--win); }
.delta.losses { color: var(--loss); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.tag { font-size: 11px; background: #eef; color: #335; border-radius: 3px; padding: 0 4px; font-weight: 400; }
.chart { margin: 12px 0; min-height: 40px; overflow-x: auto; }
.comparison-lists { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
.difference-list ol { margin: 0; padding-left: 22px; }
.difference-list li { margin: 2px 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.difference-list li > * { margin-right: 8px; }
.query-link { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.list-text { color: #333; }
.controls { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; margin-bottom: 10px; }
.control input, .control select { font: inherit; padding: 3px 6px; margin-left: 4px; }
.control input { width: 240px; }
details.query { background: #fff; border: 1px solid var(--border); border-radius: 4px; margin: 4px 0; }
details.query > summary { cursor: pointer; padding: 6px 10px; display: flex; min-width: 0; gap: 10px; align-items: baseline; }
details.query[open] > summary { border-bottom: 1px solid var(--border); background: #f6f6f8; }
.query-id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--muted); min-width: 56px; }
.query-text { flex: 1; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.chips { display: flex; gap: 8px; font-variant-numeric: tabular-nums; font-size: 12px; }
.chip { white-space: nowrap; }
.query-body { padding: 8px 12px 12px; }
.full-text { font-size: 15px; margin: 4px 0; }
.systems-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(320px, 100%), 1fr)); gap: 16px; }
.system-column { min-width: 0; }
.values { font-size: 12px; font-variant-numeric: tabular-nums; color: #333; margin: 2px 0; }
.thoughts { background: #f7f5ff; border-left: 3px solid #9c8cd9; padding: 4px 10px; margin: 6px 0; }
.thoughts ol { margin: 0; padding-left: 20px; }
.thought { white-space: pre-wrap; margin: 2px 0; }
.relevant-ranks { font-size: 12px; color: #333; margin: 4px 0; }
ol.hits { margin: 0; padding-left: 26px; }
.hit { margin: 3px 0; padding: 2px 6px; border-left: 3px solid transparent; }
.hit.relevant { border-left-color: var(--win); background: #eef7ee; }
.hit.non-relevant { border-left-color: #bbb; }
.hit-line { display: flex; gap: 8px; align-items: baseline; }
.hit-title { flex: 1; min-width: 0; }
.hit-meta { font-size: 11px; color: var(--muted); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.badge { font-size: 11px; border-radius: 3px; padding: 0 5px; white-space: nowrap; background: #eee; color: #555; }
.hit.relevant .badge { background: var(--win); color: #fff; }
.hit.non-relevant .badge { background: #ccc; color: #333; }
.snippet { font-size: 12px; color: #555; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
#query-more { margin: 8px 0; font: inherit; padding: 4px 12px; }
`;
