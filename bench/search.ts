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
 * their search-time candidate list (ef), one search thread each, and compared at equal recall
 * (queries/s interpolated at recall@10 0.95 and 0.99). Contenders are measured interleaved,
 * best of 3 passes, in wall-clock time and in this process's CPU time (steadier when other
 * work shares the machine). Prints one JSON line on stdout; progress goes to stderr.
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
/** Interleaved passes per measurement; the fastest is reported, to smooth out a shared machine. */
const PASSES = 3;
/** Each measured run repeats its queries for at least this long. */
const MIN_SECONDS = 0.5;
/** HNSW search-time candidate lists swept for both libraries. */
const EF_SWEEP = [10, 16, 24, 32, 40, 48, 64, 80, 96, 128, 160];
/** HNSW build settings shared by usearch and hnswlib-node (and m for pgvector). */
const CONNECTIVITY = 16;
const EXPANSION_ADD = 128;
/** The recalls at which the two HNSW libraries are compared. */
const TARGET_RECALLS = [0.95, 0.99];

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

/** Seconds of CPU this process has used (all its threads). */
function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** What {@link race} measures for one contender. */
interface Measured {
  /** Best wall-clock rate over the passes. */
  queriesPerSecond: number;
  /** Best rate per second of this process's CPU time (all threads): steadier on a shared machine; meaningless for servers. */
  queriesPerCpuSecond: number;
  results: VectorMatch[][];
}

/**
 * Measures several contenders on the same `count` queries, interleaved (one run of each per
 * pass, PASSES passes), so that a busy neighbour slows all of them alike; a run repeats its
 * task until MIN_SECONDS have passed. Reports each one's best pass.
 */
async function race(count: number, contenders: Record<string, () => Promise<VectorMatch[][]> | VectorMatch[][]>): Promise<Record<string, Measured>> {
  const best: Record<string, Measured> = {};
  for (let pass = 0; pass < PASSES; pass++) {
    for (const [name, task] of Object.entries(contenders)) {
      let runs = 0;
      let results: VectorMatch[][] = [];
      const wallStarted = performance.now();
      const cpuStarted = cpuSeconds();
      do {
        results = await task();
        runs++;
      } while ((performance.now() - wallStarted) / 1000 < MIN_SECONDS);
      const wall = (performance.now() - wallStarted) / 1000;
      const cpu = cpuSeconds() - cpuStarted;
      const previous = best[name];
      best[name] = {
        queriesPerSecond: Math.max(previous?.queriesPerSecond ?? 0, Math.round((runs * count) / wall)),
        queriesPerCpuSecond: Math.max(previous?.queriesPerCpuSecond ?? 0, Math.round((runs * count) / Math.max(cpu, 1e-6))),
        results,
      };
    }
  }
  return best;
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
  queriesPerCpuSecond: number;
}

/** One of our hnsw stores in the bench. */
interface OurHnsw {
  buildSeconds: number;
  saveSeconds: number;
  buildThreads: number;
  sweep: SweepPoint[];
  bytes?: number;
}

/** A system's speed at one recall, read off its ef sweep. */
interface AtRecall {
  recallAt10: number;
  queriesPerSecond: number;
  queriesPerCpuSecond: number;
  /** The sweep points it was interpolated between (one when the smallest ef already reaches it). */
  ef: number[];
  dtype?: string;
}

/**
 * Queries/s at `target` recall@10, interpolated linearly in recall between the last sweep point
 * below it and the first at or above it (sweeps are ordered by ef); undefined when no point
 * reaches it. Comparing two libraries this way puts them at equal recall although their ef
 * values mean different things.
 */
function atRecall(sweep: readonly SweepPoint[], target: number, dtype?: string): AtRecall | undefined {
  const above = sweep.findIndex((point) => point.recallAt10 >= target);
  if (above < 0) return undefined;
  const high = sweep[above];
  if (above === 0) return { recallAt10: target, queriesPerSecond: high.queriesPerSecond, queriesPerCpuSecond: high.queriesPerCpuSecond, ef: [high.ef], ...(dtype === undefined ? {} : { dtype }) };
  const low = sweep[above - 1];
  const fraction = (target - low.recallAt10) / (high.recallAt10 - low.recallAt10);
  const between = (left: number, right: number): number => Math.round(left + fraction * (right - left));
  return {
    recallAt10: target,
    queriesPerSecond: between(low.queriesPerSecond, high.queriesPerSecond),
    queriesPerCpuSecond: between(low.queriesPerCpuSecond, high.queriesPerCpuSecond),
    ef: [low.ef, high.ef],
    ...(dtype === undefined ? {} : { dtype }),
  };
}

/** Our speed over hnswlib-node's at `target` recall (wall clock and CPU time), for one of our dtypes. */
function equalRecall(ours: readonly SweepPoint[], theirs: readonly SweepPoint[], target: number, dtype: string) {
  const mine = atRecall(ours, target, dtype);
  const peer = atRecall(theirs, target);
  if (mine === undefined || peer === undefined) return { targetRecallAt10: target, unreached: mine === undefined ? 'ours' : 'hnswlib' };
  return {
    targetRecallAt10: target,
    ours: mine,
    hnswlib: peer,
    ratio: { wall: round(mine.queriesPerSecond / peer.queriesPerSecond, 2), cpu: round(mine.queriesPerCpuSecond / peer.queriesPerCpuSecond, 2) },
  };
}

function packed(items: readonly VectorItem[], dimension: number): Float32Array {
  const matrix = new Float32Array(items.length * dimension);
  items.forEach((item, row) => matrix.set(item.vector, row * dimension));
  return matrix;
}

async function benchExact(dataset: Dataset, threads: number) {
  const store = await createVectorStore({ store: 'flat', threads }, { dimension: dataset.dimension });
  const build = await timed(() => store.upsert(dataset.items));
  // The first searches compile the kernel's sessions: not part of the steady state measured.
  await store.search(dataset.queries, K);
  const base = packed(dataset.items, dataset.dimension);
  const queries = packed(dataset.queries.map((vector, index) => ({ id: String(index), vector })), dataset.dimension);
  const usearchExact = (): VectorMatch[][] => {
    const matches = exactSearch(base, queries, dataset.dimension, K, MetricKind.IP, threads) as BatchMatches;
    return dataset.queries.map((_, index) => Array.from(matches.get(index).keys, (key) => ({ id: dataset.items[Number(key)].id, score: 0 })));
  };
  const measured = await race(dataset.queries.length, { flat: () => store.search(dataset.queries, K), usearchExact });
  await store.close();
  const exact = measured.flat.results;
  return {
    exact,
    flat: { buildSeconds: round(build.seconds, 3), queriesPerSecond: measured.flat.queriesPerSecond, queriesPerCpuSecond: measured.flat.queriesPerCpuSecond, recallAt10: 1, threads },
    usearchExact: {
      queriesPerSecond: measured.usearchExact.queriesPerSecond,
      queriesPerCpuSecond: measured.usearchExact.queriesPerCpuSecond,
      // Against the flat store: 1 unless exact ties fall differently.
      recallAt10: round(recallAt(measured.usearchExact.results, exact)),
      threads,
    },
  };
}

/** Our hnsw store (f32 and f16 graphs) and hnswlib-node, built with the same M and efConstruction, raced per ef. */
async function benchHnsw(dataset: Dataset, threads: number, exact: VectorMatch[][]) {
  const root = await mkdtemp(join(tmpdir(), 'o1e-bench-hnsw-'));
  try {
    const dtypes = ['f32', 'f16'] as const;
    const ours = {} as Record<(typeof dtypes)[number], OurHnsw>;
    for (const dtype of dtypes) {
      const store = await createVectorStore({ store: 'hnsw', dtype, connectivity: CONNECTIVITY, expansionAdd: EXPANSION_ADD, threads }, { dimension: dataset.dimension, directory: join(root, dtype) });
      const build = await timed(() => store.upsert(dataset.items));
      const save = await timed(() => store.close());
      ours[dtype] = { buildSeconds: round(build.seconds, 3), saveSeconds: round(save.seconds, 3), buildThreads: threads, sweep: [] };
    }
    const index = new hnswlib.HierarchicalNSW('ip', dataset.dimension);
    const started = performance.now();
    index.initIndex({ maxElements: dataset.items.length, m: CONNECTIVITY, efConstruction: EXPANSION_ADD, randomSeed: 100 });
    dataset.items.forEach((item, row) => index.addPoint(Array.from(item.vector), row));
    const hnswlibBuild = (performance.now() - started) / 1000;
    const plainQueries = dataset.queries.map((vector) => Array.from(vector));
    const hnswlibSweep: SweepPoint[] = [];
    for (const ef of EF_SWEEP) {
      // One search thread each: hnswlib-node's searchKnn is single-threaded.
      const opened = Object.fromEntries(await Promise.all(dtypes.map(async (dtype) => [dtype, await openVectorStore({ store: 'hnsw', expansionSearch: ef, threads: 1 }, { directory: join(root, dtype) })] as const)));
      index.setEf(ef);
      const measured = await race(dataset.queries.length, {
        ...Object.fromEntries(dtypes.map((dtype) => [dtype, () => opened[dtype].search(dataset.queries, K)])),
        hnswlib: () => plainQueries.map((query) => {
          const found = index.searchKnn(query, K);
          return found.neighbors.map((row, position) => ({ id: dataset.items[row].id, score: 1 - found.distances[position] }));
        }),
      });
      for (const dtype of dtypes) {
        ours[dtype].sweep.push({ ef, recallAt10: round(recallAt(measured[dtype].results, exact)), queriesPerSecond: measured[dtype].queriesPerSecond, queriesPerCpuSecond: measured[dtype].queriesPerCpuSecond });
        await opened[dtype].close();
      }
      hnswlibSweep.push({ ef, recallAt10: round(recallAt(measured.hnswlib.results, exact)), queriesPerSecond: measured.hnswlib.queriesPerSecond, queriesPerCpuSecond: measured.hnswlib.queriesPerCpuSecond });
    }
    const statistics = await Promise.all(dtypes.map(async (dtype) => {
      const opened = await openVectorStore({ store: 'hnsw', threads }, { directory: join(root, dtype) });
      const result = await opened.statistics();
      await opened.close();
      return result.bytes;
    }));
    dtypes.forEach((dtype, position) => (ours[dtype].bytes = statistics[position]));
    return {
      hnsw: { settings: { connectivity: CONNECTIVITY, expansionAdd: EXPANSION_ADD, searchThreads: 1, rescore: true }, f32: ours.f32, f16: ours.f16 },
      hnswlib: { buildSeconds: round(hnswlibBuild, 3), settings: { m: CONNECTIVITY, efConstruction: EXPANSION_ADD, threads: 1 }, sweep: hnswlibSweep },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function benchPgvector(server: DatabaseServer, dataset: Dataset, exact: VectorMatch[][], connections: number, withExactScan: boolean) {
  const table = `bench_${dataset.name}`;
  const config: VectorStoreConfig = { store: 'pgvector', connectionString: server.connectionString, table, m: CONNECTIVITY, efConstruction: 64, efSearch: 100, batchSize: 500, connections, vectorFormat: 'binary', maintenanceWorkMemory: '1GB' };
  const store = await createVectorStore(config, { dimension: dataset.dimension });
  const insert = await timed(() => store.upsert(dataset.items));
  const index = await timed(() => store.flush());
  const statistics = await store.statistics();
  const { hnsw } = await race(dataset.queries.length, { hnsw: () => store.search(dataset.queries, K) });
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
    const { exactScan } = await race(dataset.queries.length, { exactScan: () => scan.search(dataset.queries, K) });
    await scan.close();
    const identical = exactScan.results.filter((list, query) => list.map((match) => match.id).join('\n') === exact[query].map((match) => match.id).join('\n')).length;
    result.exactScan = { queriesPerSecond: exactScan.queriesPerSecond, identicalRankingsWithFlat: `${identical}/${exact.length}` };
  }
  return result;
}

async function benchDataset(dataset: Dataset, options: Options, servers: { pglite?: DatabaseServer; postgres?: DatabaseServer; postgresSkipped?: string }) {
  log(`${dataset.name}: ${dataset.items.length} x ${dataset.dimension}, ${dataset.queries.length} queries`);
  log(`${dataset.name}: flat and usearch exact`);
  const { exact, flat, usearchExact } = await benchExact(dataset, options.threads);
  log(`${dataset.name}: hnsw (usearch) and hnswlib-node`);
  const { hnsw, hnswlib: hnswlibResult } = await benchHnsw(dataset, options.threads, exact);
  const result: Record<string, unknown> = {
    vectors: dataset.items.length,
    dimension: dataset.dimension,
    queries: dataset.queries.length,
    flat,
    usearchExact,
    flatOverUsearchExact: { wall: round(flat.queriesPerSecond / usearchExact.queriesPerSecond, 2), cpu: round(flat.queriesPerCpuSecond / usearchExact.queriesPerCpuSecond, 2) },
    hnsw,
    hnswlib: hnswlibResult,
    // The default (f16) store and the f32 one, each against hnswlib-node at equal recall.
    hnswAtEqualRecall: TARGET_RECALLS.map((target) => ({ f16: equalRecall(hnsw.f16.sweep, hnswlibResult.sweep, target, 'f16'), f32: equalRecall(hnsw.f32.sweep, hnswlibResult.sweep, target, 'f32') })),
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
