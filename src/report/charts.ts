/**
 * The report's Vega-Lite specifications, built from its data with the data inline (the page
 * embeds them as they are, so nothing is fetched). Every chart colours systems alike.
 */
import type { Comparison, ReportData } from './model.js';

/** A Vega-Lite specification (plain JSON). */
export type VegaLiteSpec = Record<string, unknown>;

/** Width of the single-view charts, in pixels (the page's content is about 1,100 wide). */
const CHART_WIDTH = 960;

/**
 * A system name as the charts use it. Vega-Lite turns sort orders and titles into Vega
 * expressions, whose string literals may not hold a line or paragraph separator (U+2028, U+2029)
 * or a control character: a name with one would break the chart, so they become spaces.
 *
 * @example
 * chartName('a\u2028b') // 'a b'
 */
export function chartName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ');
}

/** The systems' chart names, in order. */
function systemNames(data: ReportData): string[] {
  return data.systems.map((system) => chartName(system.name));
}

/** The colour encoding shared by the charts: one fixed colour per system. */
function systemColor(data: ReportData): Record<string, unknown> {
  return {
    field: 'system',
    type: 'nominal',
    title: null,
    sort: systemNames(data),
    scale: { domain: systemNames(data), range: data.systems.map((system) => system.color) },
    legend: { orient: 'top', labelLimit: 320 },
  };
}

const CONFIG = { view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' }, legend: { labelFontSize: 12 } };

/**
 * Bars per metric, the systems side by side in each: one bar per (system, measure).
 *
 * @example
 * metricsChart(data).facet // { column: { field: 'measure', ... } }
 */
export function metricsChart(data: ReportData): VegaLiteSpec {
  const values = data.measures.flatMap((measure) => data.systems.map((system) => ({ system: chartName(system.name), measure: measure.label, value: system.metrics[measure.name] })));
  const barWidth = Math.max(70, Math.min(240, Math.floor(CHART_WIDTH / data.measures.length) - 40));
  return {
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null, sort: data.measures.map((measure) => measure.label), header: { labelFontSize: 13, labelFontWeight: 'bold' } } },
    spec: {
      width: barWidth,
      height: 200,
      encoding: {
        x: { field: 'system', type: 'nominal', sort: systemNames(data), axis: null },
        y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] }, axis: { format: '.1f', tickCount: 5 } },
      },
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            color: systemColor(data),
            tooltip: [{ field: 'system', title: 'system' }, { field: 'measure', title: 'measure' }, { field: 'value', title: 'value', format: '.4f' }],
          },
        },
        { mark: { type: 'text', dy: -6, fontSize: 11 }, encoding: { text: { field: 'value', format: '.3f' } } },
      ],
    },
    config: CONFIG,
  };
}

/**
 * Per-query differences of one system against the baseline on one measure: one bar per query,
 * sorted from the biggest win to the biggest loss, coloured by outcome.
 *
 * @example
 * comparisonChart(data, data.comparisons[0]).data.values.length // queries compared
 */
export function comparisonChart(data: ReportData, comparison: Comparison): VegaLiteSpec {
  const label = data.measures.find((measure) => measure.name === comparison.measure)?.label ?? comparison.measure;
  const texts = new Map(data.queries.map((query) => [query.id, query.text]));
  const system = chartName(comparison.system);
  const baseline = chartName(comparison.baseline);
  const outcomes = [`${system} better (${comparison.wins})`, `tie (${comparison.ties})`, `${baseline} better (${comparison.losses})`];
  const values = comparison.differences.map((difference, position) => ({
    position,
    query: difference.query,
    text: truncate(texts.get(difference.query) ?? '', 90),
    baseline: difference.baseline,
    value: difference.value,
    delta: difference.delta,
    outcome: outcomes[difference.delta > 0 ? 0 : difference.delta < 0 ? 2 : 1],
  }));
  return {
    width: CHART_WIDTH,
    height: 220,
    data: { values },
    mark: { type: 'bar', tooltip: true, cursor: 'pointer' },
    encoding: {
      x: { field: 'position', type: 'ordinal', title: `${values.length} queries, sorted by difference (click a bar to open the query)`, axis: { labels: false, ticks: false, grid: false } },
      y: { field: 'delta', type: 'quantitative', title: `${label}: ${system} − ${baseline}`, axis: { format: '+.1f' } },
      color: { field: 'outcome', type: 'nominal', title: null, scale: { domain: outcomes, range: ['#2e7d32', '#9e9e9e', '#c62828'] }, legend: { orient: 'top', labelLimit: 320 } },
      tooltip: [
        { field: 'query', title: 'query' },
        { field: 'text', title: 'text' },
        { field: 'baseline', title: baseline, format: '.4f' },
        { field: 'value', title: system, format: '.4f' },
        { field: 'delta', title: 'difference', format: '+.4f' },
      ],
    },
    config: CONFIG,
  };
}

/**
 * The distribution of per-query nDCG@10: ten bins, the systems side by side in each.
 *
 * @example
 * distributionChart(data).data.values.length // systems x 10
 */
export function distributionChart(data: ReportData): VegaLiteSpec {
  const label = data.measures[0].label;
  const labels = [...new Set(data.histogram.map((bin) => bin.label))];
  return {
    width: CHART_WIDTH,
    height: 220,
    data: { values: data.histogram.map((bin) => ({ system: chartName(bin.system), bin: bin.label, count: bin.count })) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'bin', type: 'ordinal', sort: labels, title: `per-query ${label}`, axis: { labelAngle: 0 } },
      xOffset: { field: 'system', type: 'nominal', sort: systemNames(data) },
      y: { field: 'count', type: 'quantitative', title: 'queries' },
      color: systemColor(data),
      tooltip: [{ field: 'system', title: 'system' }, { field: 'bin', title: label }, { field: 'count', title: 'queries' }],
    },
    config: CONFIG,
  };
}

/**
 * Every chart of the report by the key its container names: `metrics`, `distribution`, and
 * `comparison:<system index>:<measure>` for each non-first system and measure.
 *
 * @example
 * Object.keys(reportCharts(data)) // ['metrics', 'distribution', 'comparison:1:ndcg_cut_10', ...]
 */
export function reportCharts(data: ReportData): Record<string, VegaLiteSpec> {
  const charts: Record<string, VegaLiteSpec> = { metrics: metricsChart(data), distribution: distributionChart(data) };
  for (const comparison of data.comparisons) {
    const index = data.systems.findIndex((system) => system.name === comparison.system);
    charts[comparisonKey(index, comparison.measure)] = comparisonChart(data, comparison);
  }
  return charts;
}

/**
 * The chart key of system `index` against the baseline on `measure`.
 *
 * @example
 * comparisonKey(1, 'ndcg_cut_10') // 'comparison:1:ndcg_cut_10'
 */
export function comparisonKey(index: number, measure: string): string {
  return `comparison:${index}:${measure}`;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
