/**
 * Serving under load: `o1e serve` (a child process, so the load generator's memory and heap stay
 * out of the server's numbers) with o1-small over SciFact, driven by autocannon.
 *
 * Scenarios, each `BENCH_SERVE_CONNECTIONS` connections (default 100) for `BENCH_SERVE_SECONDS`
 * (default 30):
 * - `embeddings`: POST /v1/embeddings, one SciFact document per request (base64, the official
 *   client's default), documents cycling through the corpus;
 * - `search_bm25`: POST /v1/search, BM25 without thinking (`"thinker": false`);
 * - `search_thinking_cold`: BM25 with o1-small thinking (3 thoughts x 128 tokens), every request
 *   a SciFact test query not thought about before (a query's thoughts come from the cache only
 *   if the run gets through all of them);
 * - `search_thinking_warm`: the same over `BENCH_SERVE_WARM_QUERIES` (default 16) queries whose
 *   thoughts were generated before the run (every request a thought-cache hit).
 * For each: 2xx responses, errors, timeouts and non-2xx answers (goal zero), requests/s, p50 and
 * p99 latency, and the server's resident memory before and after (from its /metrics), after a
 * warm-up that compiles the model's sessions for every length bucket and then
 * `BENCH_SERVE_WARMUP_SECONDS` (default 10) of embeddings load and as long of thinking searches
 * for SciFact train queries; `rss_mib.after_start` is the
 * memory before that load and `growth_from_start_pct` the growth counted from it.
 *
 * Also: the same embedder in this process embedding the same documents in batches of
 * `--max-batch` (64), and the ratio of the server's texts/s to it (`overhead_ratio`: texts
 * answered; `overhead_ratio_embedded`: texts the model embedded over the run and its drain, as
 * the batch running when the clients stop is finished but answered to nobody); and a
 * second server with a dense retriever (o1-small over all of SciFact; document vectors cached in
 * the temporary folder across runs, as embedding the corpus takes minutes) timing one thinking query
 * alone (think 3 x 128 tokens, embed query + thoughts, search), `BENCH_SERVE_REPEATS` times
 * (default 5): fresh SciFact test queries (o1-small often writes empty thoughts for these
 * claims), and a query it thinks about at full length (the first of FULL_LENGTH_CANDIDATES whose
 * thoughts reach 128 tokens) with a new seed each time; p50 and
 * p99 (nearest rank) client-side, the server's own latency, and the thought tokens written.
 *
 * Prints ONE JSON line. A quick run: BENCH_SERVE_SECONDS=5 BENCH_SERVE_CONNECTIONS=20 BENCH_SERVE_REPEATS=2 npm run bench:serve
 */
import { createRequire } from 'node:module';
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createEmbedder } from '../src/backends/registry.js';
import { loadBeir } from '../src/data/beir.js';
import { HuggingFaceTokenizer } from '../src/tokenizer/huggingface.js';
import { ROOT, startServeProcess } from '../test/helpers/cli.js';
import { sharedPath } from '../test/helpers/shared.js';

/** What this bench reads of autocannon's result (the package ships no types). */
interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  latency: { p50: number; p99: number; max: number };
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const SECONDS = Number(process.env.BENCH_SERVE_SECONDS ?? 30);
const CONNECTIONS = Number(process.env.BENCH_SERVE_CONNECTIONS ?? 100);
const REPEATS = Number(process.env.BENCH_SERVE_REPEATS ?? 5);
const WARM_QUERIES = Number(process.env.BENCH_SERVE_WARM_QUERIES ?? 16);
const MAX_BATCH = 64;
/** Seconds of embeddings load, then of thinking-search load, before memory is measured (BENCH_SERVE_WARMUP_SECONDS). */
const WARMUP_SECONDS = Number(process.env.BENCH_SERVE_WARMUP_SECONDS ?? 10);
/** Client-side timeout (s): thinking requests queue behind batches of generation. */
const CLIENT_TIMEOUT_S = 300;
const MODEL = join(ROOT, 'models', 'o1-small');
/**
 * Queries o1-small may think about at full length (3 x 128 tokens); the bench probes them in this
 * order and times the first whose thoughts reach the limit (which one does depends on the
 * committed model: v1 ran long on the question, v2 on the claim), reporting which it took.
 */
const FULL_LENGTH_CANDIDATES = ['Smoking causes lung cancer', 'Do cats purr?', 'The risk of breast cancer in women'];
const MAX_THOUGHT_TOKENS = 128;
const SCIFACT = sharedPath('datasets', 'scifact');

type Served = Awaited<ReturnType<typeof startServeProcess>> & { base: string };

/** Starts `o1e serve` (o1-small over SciFact, limits opened for the load) and resolves once it listens. */
async function serve(extra: string[]): Promise<Served> {
  const served = await startServeProcess(['--model', MODEL, '--data', SCIFACT, '--port', '0', '--quiet', '--timeout-ms', '600000', '--max-queue', '1000000', '--max-batch', String(MAX_BATCH), ...extra]);
  return { ...served, base: served.url.replace(/\/v1$/, '') };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() as Record<string, unknown> };
}

async function rssMiB(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return round(Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1] ?? Number.NaN) / 2 ** 20, 1);
}

/** Texts embedded so far (documents), from /metrics. */
async function textsEmbedded(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^o1e_texts_embedded_total\{input_type="document"\} (\S+)$/m.exec(text)?.[1] ?? 0);
}

/** Mean batch size of one queue so far, from /metrics. */
async function batchStatistics(base: string, queue: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const read = (suffix: string): number => Number(new RegExp(`^o1e_batch_size_${suffix}\\{queue="${queue}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: read('count'), sum: read('sum') };
}

/** Waits until the server has nothing queued (after autocannon drops its connections). */
async function drained(base: string): Promise<void> {
  for (;;) {
    const health = await (await fetch(`${base}/health`)).json() as { queue: Record<string, number>; running: Record<string, number>; in_flight: number };
    const idle = (counts: Record<string, number>): boolean => Object.values(counts).every((count) => count === 0);
    // Batches whose callers autocannon dropped still run to the end; wait for them too.
    if (idle(health.queue) && idle(health.running) && health.in_flight <= 1) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Progress on stderr (stdout carries only the JSON line). */
function note(message: string): void {
  process.stderr.write(`bench:serve ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

/** Nearest-rank percentile of `values`. */
function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

/** One autocannon run: POST `path` with bodies from `next()`. */
async function load(served: Served, path: string, next: () => unknown, seconds = SECONDS): Promise<Record<string, unknown>> {
  note(`load ${path} for ${seconds} s`);
  const before = await rssMiB(served.base);
  const result = await autocannon({
    url: served.base,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: CLIENT_TIMEOUT_S,
    requests: [{
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request: Record<string, unknown>) => ({ ...request, body: JSON.stringify(next()) }),
    }],
  });
  note('waiting for the server to drain');
  await drained(served.base);
  const after = await rssMiB(served.base);
  return {
    ok: result['2xx'],
    errors: result.errors,
    timeouts: result.timeouts,
    non_2xx: result.non2xx,
    requests_per_s: round(result['2xx'] / result.duration, 2),
    latency_ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    rss_mib_before: before,
    rss_mib_after: after,
  };
}

const loadStart = loadavg().map((value) => round(value, 2));
const split = await loadBeir(SCIFACT, 'test');
const trainQueries = (await loadBeir(SCIFACT, 'train')).queries.map((query) => query.text);
const documents = split.corpus.map((document) => `${document.title} ${document.text}`.trim());
const queries = split.queries.map((query) => query.text);
const warmQueries = queries.slice(0, WARM_QUERIES);
const coldQueries = queries.slice(WARM_QUERIES, queries.length - REPEATS);
const aloneQueries = queries.slice(queries.length - REPEATS);

// The BM25 server: all four load scenarios and the memory check.
note('starting the BM25 server');
const bm25 = await serve([]);
let memory: { afterStart: number; before: number; after: number };
const scenarios: Record<string, Record<string, unknown>> = {};
try {
  // Warm-up: every document length bucket (128 documents from short to long), a plain search,
  // and the warm queries' thoughts (generated here, so the warm run hits the cache).
  note('warm-up');
  const byLength = [...documents].sort((a, b) => a.length - b.length);
  const spread = Array.from({ length: 128 }, (_, index) => byLength[Math.floor((index * (byLength.length - 1)) / 127)]);
  for (let start = 0; start < spread.length; start += MAX_BATCH) await postJson(`${bm25.base}/v1/embeddings`, { input: spread.slice(start, start + MAX_BATCH), encoding_format: 'base64' });
  await postJson(`${bm25.base}/v1/search`, { query: queries[0], thinker: false });
  const warmed = await Promise.all(warmQueries.map((query) => postJson(`${bm25.base}/v1/search`, { query, hits: 10 })));
  if (warmed.some((answer) => answer.status !== 200)) throw new Error(`warm-up failed: ${JSON.stringify(warmed.find((answer) => answer.status !== 200))}`);
  const afterStart = await rssMiB(bm25.base);
  // A short load of the same kind, so the sessions of the (rows, length) buckets that concurrent
  // requests produce are compiled before memory is measured: growth below is what serving adds
  // at steady state, and `after_start` shows what those sessions cost.
  let warmupIndex = documents.length - 1;
  if (WARMUP_SECONDS > 0) await load(bm25, '/v1/embeddings', () => ({ input: documents[warmupIndex-- % documents.length], encoding_format: 'base64' }), WARMUP_SECONDS);
  // The same for thinking, on SciFact's train queries (never asked below, so the cold run stays cold).
  let trainIndex = 0;
  if (WARMUP_SECONDS > 0) await load(bm25, '/v1/search', () => ({ query: trainQueries[trainIndex++ % trainQueries.length], hits: 10 }), WARMUP_SECONDS);
  memory = { afterStart, before: await rssMiB(bm25.base), after: 0 };

  let documentIndex = 0;
  const embedBefore = await batchStatistics(bm25.base, 'document');
  const embeddedBefore = await textsEmbedded(bm25.base);
  const embedStarted = performance.now();
  scenarios.embeddings = await load(bm25, '/v1/embeddings', () => ({ model: 'o1-small', input: documents[documentIndex++ % documents.length], encoding_format: 'base64' }));
  // Answered texts/s undercounts the server: the batch running when the clients stop is finished
  // but answered to nobody. Texts the model embedded over the whole time, drain included, do not.
  const embeddedSeconds = (performance.now() - embedStarted) / 1000;
  const embedAfter = await batchStatistics(bm25.base, 'document');
  scenarios.embeddings.texts_per_s = scenarios.embeddings.requests_per_s;
  scenarios.embeddings.embedded_texts_per_s = round(((await textsEmbedded(bm25.base)) - embeddedBefore) / embeddedSeconds, 2);
  scenarios.embeddings.mean_batch = round((embedAfter.sum - embedBefore.sum) / Math.max(1, embedAfter.count - embedBefore.count), 1);

  let plainIndex = 0;
  scenarios.search_bm25 = await load(bm25, '/v1/search', () => ({ query: queries[plainIndex++ % queries.length], hits: 10, thinker: false }));

  let coldIndex = 0;
  const thinkBefore = await batchStatistics(bm25.base, 'think');
  scenarios.search_thinking_cold = await load(bm25, '/v1/search', () => ({ query: coldQueries[coldIndex++ % coldQueries.length], hits: 10 }));
  const thinkAfter = await batchStatistics(bm25.base, 'think');
  scenarios.search_thinking_cold.queries_sent = coldIndex;
  scenarios.search_thinking_cold.queries_thought = thinkAfter.sum - thinkBefore.sum;
  scenarios.search_thinking_cold.mean_think_batch = round((thinkAfter.sum - thinkBefore.sum) / Math.max(1, thinkAfter.count - thinkBefore.count), 1);

  let warmIndex = 0;
  scenarios.search_thinking_warm = await load(bm25, '/v1/search', () => ({ query: warmQueries[warmIndex++ % warmQueries.length], hits: 10 }));
  memory.after = await rssMiB(bm25.base);
} finally {
  await bm25.stop();
}

// The same embedder in this process, on the same documents, in the server's batch size.
note('in-process embedding');
const embedder = await createEmbedder({ backend: 'engine', model: MODEL });
let inProcessRate: number;
try {
  const sample = documents.slice(0, Math.min(documents.length, Math.max(MAX_BATCH * 4, Number(scenarios.embeddings.ok))));
  await embedder.embedDocuments(sample.slice(0, MAX_BATCH)); // compile the sessions first, as the server's warm-up did
  const started = performance.now();
  for (let start = 0; start < sample.length; start += MAX_BATCH) await embedder.embedDocuments(sample.slice(start, start + MAX_BATCH));
  inProcessRate = sample.length / ((performance.now() - started) / 1000);
} finally {
  await embedder.close();
}

// One thinking query alone: dense retrieval over all of SciFact with the served model.
note('starting the dense server (embeds the corpus)');
// Document vectors cached across bench runs (keyed by the model's identity and each text): embedding SciFact takes minutes.
const documentCache = join(tmpdir(), 'o1e-bench-serve', 'scifact.o1-small.documents.jsonl');
await mkdir(dirname(documentCache), { recursive: true });
const dense = await serve(['--retriever', JSON.stringify({ retriever: 'dense', documentCache })]);
note('one thinking query at a time');
const tokenizer = await HuggingFaceTokenizer.load(MODEL);
/** One search at a time: client-side and server-reported latencies, and the thought tokens written. */
async function alone(bodies: readonly Record<string, unknown>[]): Promise<Record<string, number>> {
  const client: number[] = [];
  const server: number[] = [];
  let tokens = 0;
  for (const body of bodies) {
    const started = performance.now();
    const answer = await postJson(`${dense.base}/v1/search`, { hits: 10, ...body });
    client.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`thinking search failed: ${JSON.stringify(answer.json)}`);
    server.push(answer.json.latency_ms as number);
    const thoughts = answer.json.thoughts as string[];
    tokens += thoughts.reduce((sum, thought) => sum + tokenizer.encode(thought).length, 0) / Math.max(1, thoughts.length);
  }
  return {
    repeats: bodies.length,
    p50_ms: round(percentile(client, 0.5)), p99_ms: round(percentile(client, 0.99)),
    server_p50_ms: round(percentile(server, 0.5)), mean_thought_tokens: round(tokens / Math.max(1, bodies.length), 1),
  };
}
let single: Record<string, Record<string, number | string>>;
try {
  await postJson(`${dense.base}/v1/search`, { query: queries[0], thinker: false });
  // Probe (seed 999, not reused below) for the first candidate whose thoughts run to the limit.
  let fullLengthQuery = FULL_LENGTH_CANDIDATES[0];
  let longest = -1;
  for (const query of FULL_LENGTH_CANDIDATES) {
    const probe = await alone([{ query, thinker: { seed: 999 } }]);
    if (probe.mean_thought_tokens > longest) [fullLengthQuery, longest] = [query, probe.mean_thought_tokens];
    if (probe.mean_thought_tokens >= 0.9 * MAX_THOUGHT_TOKENS) break;
  }
  single = {
    // Fresh SciFact test queries: o1-small often ends its thoughts at once on these claims.
    scifact_queries: await alone(aloneQueries.map((query) => ({ query }))),
    // A query o1-small thinks about at full length (3 x 128 tokens); a new seed each time, so nothing is cached.
    full_length: { query: fullLengthQuery, ...await alone(Array.from({ length: REPEATS }, (_, index) => ({ query: fullLengthQuery, thinker: { seed: 1000 + index } }))) },
  };
} finally {
  await dense.stop();
}

const embeddingsRate = Number(scenarios.embeddings.texts_per_s);
console.log(JSON.stringify({
  bench: 'serve',
  model: 'o1-small',
  dataset: 'scifact',
  documents: documents.length,
  seconds: SECONDS,
  connections: CONNECTIONS,
  client_timeout_s: CLIENT_TIMEOUT_S,
  cpus: cpus().length,
  load_average_start: loadStart,
  load_average_end: loadavg().map((value) => round(value, 2)),
  ...scenarios,
  inprocess_texts_per_s: round(inProcessRate, 1),
  overhead_ratio: round(embeddingsRate / inProcessRate, 3),
  overhead_ratio_embedded: round(Number(scenarios.embeddings.embedded_texts_per_s) / inProcessRate, 3),
  rss_mib: { after_start: memory.afterStart, warmup_s: WARMUP_SECONDS, before: memory.before, after: memory.after, growth_pct: round(((memory.after - memory.before) / memory.before) * 100, 1), growth_from_start_pct: round(((memory.after - memory.afterStart) / memory.afterStart) * 100, 1) },
  single_thinking_query: { retriever: 'dense', thoughts: 3, max_tokens: 128, ...single },
}));
