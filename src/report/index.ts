/**
 * Evaluation reports: one self-contained HTML page (metrics, charts, per-query differences and
 * each query's thoughts and hits) for one or more systems' runs. `o1e report` and
 * `o1e eval --report` write it.
 */
export { buildReport, writeReport, renderReport, escapeHtml, scriptJson } from './html.js';
export {
  buildReportData,
  histogramBin,
  HISTOGRAM_BINS,
  REPORT_MEASURES,
  REPORT_MEASURE_REQUESTS,
  type Comparison,
  type HistogramBin,
  type QueryDifference,
  type ReportData,
  type ReportHit,
  type ReportInput,
  type ReportMeasure,
  type ReportQuery,
  type ReportSystem,
  type SystemSummary,
} from './model.js';
export { chartName, comparisonChart, comparisonKey, distributionChart, metricsChart, reportCharts, type VegaLiteSpec } from './charts.js';
export { readThoughts } from './thoughts.js';
