/**
 * Vector search benchmark: our stores (flat, hnsw on usearch, pgvector on PGlite and on
 * PostgreSQL 15) against peers measured in the same run at the same thread count (usearch's
 * exact search for flat; hnswlib-node's HNSW for hnsw), on two datasets:
 * - `clustered`: N x 384 seeded clustered unit vectors (default N = 100,000), 1,000 queries
 *   drawn from the same clusters;
 * - `scifact`: SciFact's 5,183 documents and 300 test queries embedded by o1-small (documents
 *   with embedDocuments, queries with embedQueriesWithoutThinking), cached under
 *   .cache/bench-search/ so reruns skip the embedding.
 * For each: build seconds, queries/s (top 10) and recall@10 against exact search (the flat
 * store, cross-checked with usearch's exact search). The two HNSW libraries are swept over
 * their search-time candidate list (ef) and compared at equal recall: the fastest setting of
 * each that reaches the target. Prints one JSON line on stdout; progress goes to stderr.
 *
 *   npm run bench:search                           # full size (several minutes)
 *   npm run bench:search -- --vectors 10000        # a quick run (also BENCH_SEARCH_VECTORS)
 *   options: --queries N (1000), --threads N (2), --no-scifact, --no-pglite, --no-postgres
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import hnswlib from 'hnswlib-node';
import { exactSearch, MetricKind, type BatchMatches } from 'usearch';
import { createVectorStore, openVectorStore } from '../src/stores/registry.js';
import type { VectorItem, VectorMatch, VectorStore, VectorStoreConfig } from '../src/stores/vector-store.js';
import { scifactO1Vectors } from '../test/helpers/scifact-vectors.js';
import { PostgresServer, postgresMissing, startPgliteServer, type DatabaseServer } from '../test/helpers/vector-servers.js';
import { clusteredUnitVectors, itemsOf, recallAt } from '../test/helpers/vectors.js';

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const K = 10;
/** Query passes per measurement; the fastest is reported, to smooth out a shared machine. */
const PASSES = 2;
/** HNSW search-time candidate lists swept for both libraries. */
const EF_SWEEP = [10, 16, 24, 32, 48, 64, 96, 128];
/** HNSW build settings shared by usearch and hnswlib-node (and m for pgvector). */
const CONNECTIVITY = 16;
const EXPANSION_ADD = 128;
/** The recall at which the two HNSW libraries are compared. */
const TARGET_RECALL = 0.99;

interface Options {
  vectors: number;
  queries: number;
  threads: number;
  scifact: boolean;
  pglite: boolean;
  postgres: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { vectors: Number(process.env.BENCH_SEARCH_VECTORS ?? 100_000), queries: 1000, threads: 2, scifact: true, pglite: true, postgres: true };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const value = (): number => {
      const parsed = Number(argv[++index]);
      if (!(Number.isInteger(parsed) && parsed > 0)) throw new Error(`${flag} needs a positive integer`);
      return parsed;
    };
    if (flag === '--vectors') options.vectors = value();
    else if (flag === '--queries') options.queries = value();
    else if (flag === '--threads') options.threads = value();
    else if (flag === '--no-scifact') options.scifact = false;
    else if (flag === '--no-pglite') options.pglite = false;
    else if (flag === '--no-postgres') options.postgres = false;
    else throw new Error(`unknown option ${flag}`);
  }
  return options;
}

const round = (value: number, digits = 4): number => Number(value.toFixed(digits));
const log = (message: string): void => void process.stderr.write(`bench:search ${message}\n`);

/** Seconds `task` takes. */
async function timed<T>(task: () => Promise<T> | T): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await task();
  return { seconds: (performance.now() - started) / 1000, value };
}

/** The best queries/s over PASSES runs of `search`, and its last results. */
async function throughput(count: number, search: () => Promise<VectorMatch[][]> | VectorMatch[][]): Promise<{ queriesPerSecond: number; results: VectorMatch[][] }> {
  let best = Infinity;
  let results: VectorMatch[][] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    const run = await timed(search);
    best = Math.min(best, run.seconds);
    results = run.value;
  }
  return { queriesPerSecond: Math.round(count / best), results };
}

interface Dataset {
  name: string;
  dimension: number;
  items: VectorItem[];
  queries: Float32Array[];
}

interface SweepPoint {
  ef: number;
  recallAt10: number;
  queriesPerSecond: number;
}

/** The fastest sweep point reaching `target` recall (else the most accurate one). */
function atRecall(sweep: SweepPoint[], target: number): SweepPoint {
  const reaching = sweep.filter((point) => point.recallAt10 >= target);
  if (reaching.length > 0) return reaching.reduce((best, point) => (point.queriesPerSecond > best.queriesPerSecond ? point : best));
  return sweep.reduce((best, point) => (point.recallAt10 > best.recallAt10 ? point : best));
}

function packed(items: readonly VectorItem[], dimension: number): Float32Array {
  const matrix = new Float32Array(items.length * dimension);
  items.forEach((item, row) => matrix.set(item.vector, row * dimension));
  return matrix;
}

async function benchFlat(dataset: Dataset, threads: number) {
  const store = await createVectorStore({ store: 'flat', threads }, { dimension: dataset.dimension });
  const build = await timed(() => store.upsert(dataset.items));
  // The first search compiles the kernel's sessions: not part of the steady state measured.
  await store.search(dataset.queries.slice(0, 1), K);
  await store.search(dataset.queries, K);
  const { queriesPerSecond, results } = await throughput(dataset.queries.length, () => store.search(dataset.queries, K));
  await store.close();
  return { buildSeconds: round(build.seconds, 3), queriesPerSecond, results };
}

function benchUsearchExact(dataset: Dataset, threads: number, exact: VectorMatch[][]) {
  const base = packed(dataset.items, dataset.dimension);
  const queries = packed(dataset.queries.map((vector, index) => ({ id: String(index), vector })), dataset.dimension);
  let best = Infinity;
  let matches: BatchMatches | undefined;
  for (let pass = 0; pass < PASSES; pass++) {
    const started = performance.now();
    matches = exactSearch(base, queries, dataset.dimension, K, MetricKind.IP, threads) as BatchMatches;
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  const results = dataset.queries.map((_, index) => Array.from((matches as BatchMatches).get(index).keys, (key) => ({ id: dataset.items[Number(key)].id, score: 0 })));
  return { queriesPerSecond: Math.round(dataset.queries.length / best), recallAt10: round(recallAt(results, exact)) };
}

async function benchOurHnsw(dataset: Dataset, threads: number, exact: VectorMatch[][]) {
  const directory = await mkdtemp(join(tmpdir(), 'o1e-bench-hnsw-'));
  try {
    const config: VectorStoreConfig = { store: 'hnsw', connectivity: CONNECTIVITY, expansionAdd: EXPANSION_ADD, threads };
    const store = await createVectorStore(config, { dimension: dataset.dimension, directory });
    const build = await timed(() => store.upsert(dataset.items));
    const save = await timed(() => store.close());
    const sweep: SweepPoint[] = [];
    // Same thread count as hnswlib-node (whose search is single-threaded): one thread per query batch.
    for (const ef of EF_SWEEP) {
      const opened = await openVectorStore({ store: 'hnsw', expansionSearch: ef, threads: 1 }, { directory });
      const { queriesPerSecond, results } = await throughput(dataset.queries.length, () => opened.search(dataset.queries, K));
      sweep.push({ ef, recallAt10: round(recallAt(results, exact)), queriesPerSecond });
      await opened.close();
    }
    const defaults = await openVectorStore({ store: 'hnsw', threads }, { directory });
    const atThreads = await throughput(dataset.queries.length, () => defaults.search(dataset.queries, K));
    const statistics = await defaults.statistics();
    await defaults.close();
    return {
      buildSeconds: round(build.seconds, 3),
      saveSeconds: round(save.seconds, 3),
      bytes: statistics.bytes,
      settings: { connectivity: CONNECTIVITY, expansionAdd: EXPANSION_ADD, dtype: 'f32', buildThreads: threads, searchThreads: 1 },
      sweep,
      defaultSettings: { expansionSearch: 64, threads, queriesPerSecond: atThreads.queriesPerSecond, recallAt10: round(recallAt(atThreads.results, exact)) },
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function benchHnswlib(dataset: Dataset, exact: VectorMatch[][]) {
  const index = new hnswlib.HierarchicalNSW('ip', dataset.dimension);
  const build = (() => {
    const started = performance.now();
    index.initIndex({ maxElements: dataset.items.length, m: CONNECTIVITY, efConstruction: EXPANSION_ADD, randomSeed: 100 });
    dataset.items.forEach((item, row) => index.addPoint(Array.from(item.vector), row));
    return (performance.now() - started) / 1000;
  })();
  const queries = dataset.queries.map((vector) => Array.from(vector));
  const sweep: SweepPoint[] = [];
  for (const ef of EF_SWEEP) {
    index.setEf(ef);
    let best = Infinity;
    let results: VectorMatch[][] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      const started = performance.now();
      results = queries.map((query) => {
        const found = index.searchKnn(query, K);
        return found.neighbors.map((row, position) => ({ id: dataset.items[row].id, score: 1 - found.distances[position] }));
      });
      best = Math.min(best, (performance.now() - started) / 1000);
    }
    sweep.push({ ef, recallAt10: round(recallAt(results, exact)), queriesPerSecond: Math.round(queries.length / best) });
  }
  return { buildSeconds: round(build, 3), settings: { m: CONNECTIVITY, efConstruction: EXPANSION_ADD, threads: 1 }, sweep };
}

async function benchPgvector(server: DatabaseServer, dataset: Dataset, exact: VectorMatch[][], connections: number, withExactScan: boolean) {
  const table = `bench_${dataset.name}`;
  const config: VectorStoreConfig = { store: 'pgvector', connectionString: server.connectionString, table, m: CONNECTIVITY, efConstruction: 64, efSearch: 100, batchSize: 500, connections, vectorFormat: 'binary', maintenanceWorkMemory: '1GB' };
  const store = await createVectorStore(config, { dimension: dataset.dimension });
  const insert = await timed(() => store.upsert(dataset.items));
  const index = await timed(() => store.flush());
  const statistics = await store.statistics();
  const hnsw = await throughput(dataset.queries.length, () => store.search(dataset.queries, K));
  await store.close();
  const result: Record<string, unknown> = {
    insertSeconds: round(insert.seconds, 3),
    indexSeconds: round(index.seconds, 3),
    buildSeconds: round(insert.seconds + index.seconds, 3),
    bytes: statistics.bytes,
    serverVersion: statistics.details.serverVersion,
    settings: { m: CONNECTIVITY, efConstruction: 64, efSearch: 100, connections, vectorFormat: 'binary' },
    queriesPerSecond: hnsw.queriesPerSecond,
    recallAt10: round(recallAt(hnsw.results, exact)),
  };
  if (withExactScan) {
    const scan = await openVectorStore({ ...config, exact: true }, { dimension: dataset.dimension });
    const exactScan = await throughput(dataset.queries.length, () => scan.search(dataset.queries, K));
    await scan.close();
    const identical = exactScan.results.filter((list, query) => list.map((match) => match.id).join('\n') === exact[query].map((match) => match.id).join('\n')).length;
    result.exactScan = { queriesPerSecond: exactScan.queriesPerSecond, identicalRankingsWithFlat: `${identical}/${exact.length}` };
  }
  return result;
}

async function benchDataset(dataset: Dataset, options: Options, servers: { pglite?: DatabaseServer; postgres?: DatabaseServer; postgresSkipped?: string }) {
  log(`${dataset.name}: ${dataset.items.length} x ${dataset.dimension}, ${dataset.queries.length} queries`);
  log(`${dataset.name}: flat`);
  const flat = await benchFlat(dataset, options.threads);
  const exact = flat.results;
  log(`${dataset.name}: usearch exact`);
  const usearchExact = benchUsearchExact(dataset, options.threads, exact);
  log(`${dataset.name}: hnsw (usearch)`);
  const hnsw = await benchOurHnsw(dataset, options.threads, exact);
  log(`${dataset.name}: hnswlib-node`);
  const hnswlibResult = benchHnswlib(dataset, exact);
  const ours = atRecall(hnsw.sweep, TARGET_RECALL);
  const theirs = atRecall(hnswlibResult.sweep, TARGET_RECALL);
  const result: Record<string, unknown> = {
    vectors: dataset.items.length,
    dimension: dataset.dimension,
    queries: dataset.queries.length,
    flat: { buildSeconds: flat.buildSeconds, queriesPerSecond: flat.queriesPerSecond, recallAt10: 1, threads: options.threads },
    usearchExact: { ...usearchExact, threads: options.threads },
    flatOverUsearchExact: round(flat.queriesPerSecond / usearchExact.queriesPerSecond, 2),
    hnsw,
    hnswlib: hnswlibResult,
    hnswAtEqualRecall: { targetRecallAt10: TARGET_RECALL, ours, hnswlib: theirs, ratio: round(ours.queriesPerSecond / theirs.queriesPerSecond, 2) },
  };
  if (servers.pglite !== undefined) {
    log(`${dataset.name}: pgvector on PGlite`);
    result.pgvectorPglite = await benchPgvector(servers.pglite, dataset, exact, 1, dataset.name === 'scifact');
  }
  if (servers.postgres !== undefined) {
    log(`${dataset.name}: pgvector on PostgreSQL`);
    result.pgvectorPostgres = await benchPgvector(servers.postgres, dataset, exact, options.threads, dataset.name === 'scifact');
  } else if (servers.postgresSkipped !== undefined) {
    result.pgvectorPostgres = { skipped: servers.postgresSkipped };
  }
  return result;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const datasets: Dataset[] = [];
  {
    const dimension = 384;
    const all = itemsOf(clusteredUnitVectors(options.vectors + options.queries, dimension, 1, 100), dimension);
    datasets.push({ name: 'clustered', dimension, items: all.slice(0, options.vectors), queries: all.slice(options.vectors).map((item) => item.vector) });
  }
  if (options.scifact) {
    log('scifact: o1-small vectors (cached after the first run)');
    const set = await scifactO1Vectors({ cache: join(REPOSITORY_ROOT, '.cache', 'bench-search', 'scifact-o1-small'), threads: options.threads });
    datasets.push({ name: 'scifact', dimension: set.documents[0].length, items: set.documentIds.map((id, index) => ({ id, vector: set.documents[index] })), queries: set.queries });
  }
  const servers: { pglite?: DatabaseServer; postgres?: DatabaseServer; postgresSkipped?: string } = {};
  const results: Record<string, unknown> = {};
  try {
    if (options.pglite) servers.pglite = await startPgliteServer();
    if (options.postgres) {
      servers.postgresSkipped = postgresMissing();
      if (servers.postgresSkipped === undefined) servers.postgres = await PostgresServer.create();
    }
    for (const dataset of datasets) results[dataset.name] = await benchDataset(dataset, options, servers);
  } finally {
    await servers.pglite?.stop();
    await servers.postgres?.stop();
  }
  process.stdout.write(`${JSON.stringify({ benchmark: 'search', k: K, threads: options.threads, node: process.version, datasets: results })}\n`);
}

await main();
