/**
 * `o1-embedder/report`: self-contained HTML evaluation reports (metrics, Vega-Lite charts inlined,
 * per-query differences, thoughts and hits), as `o1e report` and `o1e eval --report` write them.
 *
 * @example
 * import { writeReport } from 'o1-embedder/report';
 * await writeReport('report.html', { systems: [{ name: 'bm25', run }], qrels, queries, corpus });
 *
 * @module
 */
export * from '../report/index.js';
