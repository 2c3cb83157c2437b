/**
 * The pgvector store against two real servers that these tests start and stop: PGlite with
 * pgvector behind pglite-socket (from npm) and PostgreSQL 15 with pgvector 0.8.6 (installed by
 * .ci/run; skipped when absent, except under CI=true). The exact scan must rank exactly as the
 * flat store does (seeded vectors and o1-small's SciFact vectors), the HNSW index must reach
 * recall@10 >= 0.99, and a PostgreSQL server SIGKILLed in the middle of a batched upsert must
 * lose and duplicate nothing once restarted and resumed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { O1Error } from '../src/errors.js';
import { compareIds } from '../src/stores/contract.js';
import pg from 'pg';
import { redactConnectionString, vectorLiteral } from '../src/stores/pgvector/pgvector-store.js';
import { createVectorStore, openVectorStore } from '../src/stores/registry.js';
import type { VectorItem, VectorMatch, VectorStore } from '../src/stores/vector-store.js';
import { scifactO1Vectors, type EmbeddedSet } from './helpers/scifact-vectors.js';
import { sharedTestOptions } from './helpers/shared.js';
import { PostgresServer, postgresTestOptions, startPgliteServer, type DatabaseServer } from './helpers/vector-servers.js';
import { bruteForce, clusteredUnitVectors, itemsOf, recallAt } from './helpers/vectors.js';

/** Same ids in the same order; scores equal to float32 rounding (pgvector sums in float32, the flat store in a Gemm). */
/**
 * The same rankings: scores equal position by position (to `tolerance`), and the same ids in the
 * same order, except that two documents whose scores are within `tolerance` of each other (a tie
 * to float32 rounding: PostgreSQL sums the inner product in another order) may trade places, or
 * trade the last place with one just outside the list.
 */
function assertSameRankings(actual: VectorMatch[][], expected: VectorMatch[][], tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((list, query) => {
    assert.equal(actual[query].length, list.length, `query ${query}: length`);
    list.forEach((match, position) => assert.ok(Math.abs(actual[query][position].score - match.score) <= tolerance, `query ${query} #${position}: ${actual[query][position].score} vs ${match.score}`));
    const expectedScore = new Map(list.map((match) => [match.id, match.score]));
    actual[query].forEach((match, position) => {
      if (match.id === list[position].id) return;
      const reference = expectedScore.get(match.id) ?? list.at(-1)!.score;
      assert.ok(Math.abs(reference - list[position].score) <= tolerance, `query ${query} #${position}: ${match.id} in place of ${list[position].id}, which is no tie (${reference} vs ${list[position].score})`);
    });
    assert.equal(new Set(actual[query].map((match) => match.id)).size, list.length, `query ${query}: an id twice`);
  });
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof O1Error && error.code === code);
}

/** Flat-store results for the same items: the reference the exact scan must equal. */
async function flatResults(items: readonly VectorItem[], queries: readonly Float32Array[], k: number, exclude?: (string | undefined)[]): Promise<VectorMatch[][]> {
  const flat = await createVectorStore({ store: 'flat', threads: 1 }, { dimension: queries[0].length });
  try {
    await flat.upsert(items);
    return await flat.search(queries, k, { exclude });
  } finally {
    await flat.close();
  }
}

// Embedded once for both servers (o1-small on 300 SciFact documents and 20 test queries).
let scifact: Promise<EmbeddedSet> | undefined;
const scifactVectors = (): Promise<EmbeddedSet> => (scifact ??= scifactO1Vectors({ documents: 300, queries: 20, threads: 2 }));

const dimension = 32;
const clustered = itemsOf(clusteredUnitVectors(2100, dimension, 31, 30), dimension);
const documents = clustered.slice(0, 2000);
const queries = clustered.slice(2000, 2040).map((item) => item.vector.map((value) => value * 1.2));

const servers: { kind: string; start: () => Promise<DatabaseServer>; options: { skip?: string } }[] = [
  { kind: 'PGlite (pglite-socket)', start: () => startPgliteServer(), options: {} },
  { kind: 'PostgreSQL 15', start: () => PostgresServer.create(), options: postgresTestOptions() },
];

for (const spec of servers) {
  describe(`pgvector store on ${spec.kind}`, spec.options, () => {
    let server: DatabaseServer | undefined;
    let tables = 0;
    before(async () => {
      server = await spec.start();
    });
    after(async () => {
      await server?.stop();
    });
    const config = (settings: Record<string, unknown> = {}) => ({ store: 'pgvector', connectionString: (server as DatabaseServer).connectionString, table: `vectors_${tables++}`, ...settings });

    for (const vectorFormat of ['text', 'binary']) test(`upsert, get, ids, size, replace and delete, in transactions of many-row statements (${vectorFormat} vectors)`, async () => {
      const store = await createVectorStore(config({ exact: true, batchSize: 7, vectorFormat }), { dimension });
      try {
        const items = documents.slice(0, 50);
        await store.upsert(items);
        assert.equal(await store.size(), 50);
        // float32 values survive the text literals exactly.
        assert.deepEqual(await store.get(['d3', 'absent', 'd49']), [items[3].vector, undefined, items[49].vector]);
        const replacement = documents[60].vector;
        await store.upsert([{ id: 'd3', vector: documents[59].vector }, { id: 'd3', vector: replacement }, { id: 'x', vector: replacement }]);
        assert.equal(await store.size(), 51);
        assert.deepEqual(await store.get(['d3']), [replacement]);
        assert.equal(await store.delete(['d4', 'd5', 'absent', 'd4']), 2);
        assert.equal(await store.size(), 49);
        const expected = items.filter((item) => item.id !== 'd4' && item.id !== 'd5').map((item) => (item.id === 'd3' ? { id: 'd3', vector: replacement } : item)).concat([{ id: 'x', vector: replacement }]);
        assert.deepEqual(await store.ids(), expected.map((item) => item.id).sort(compareIds));
        assertSameRankings(await store.search(queries, 5), bruteForce(expected, queries, 5));
        await rejectsWith(store.upsert([{ id: 'y', vector: new Float32Array(dimension + 1) }]), 'INDEX_MISMATCH');
        // A failed upsert writes nothing.
        await rejectsWith(store.upsert([{ id: 'z', vector: replacement }, { id: 'w', vector: new Float32Array(dimension).fill(Number.NaN) }]), 'BAD_ARGUMENT');
        assert.equal(await store.size(), 49);
        const statistics = await store.statistics();
        assert.equal(statistics.count, 49);
        assert.ok((statistics.bytes ?? 0) > 0);
      } finally {
        await store.close();
      }
    });

    test('the exact scan ranks exactly as the flat store: ids, scores, ties by id, exclude', async () => {
      const store = await createVectorStore(config({ exact: true, connections: 2, vectorFormat: 'binary' }), { dimension });
      try {
        // Three copies of one vector under other ids: exact ties, broken by id in both stores.
        const items = documents.concat(['dup-b', 'dup-a', 'dup-c'].map((id) => ({ id, vector: documents[7].vector })));
        await store.upsert(items);
        const probes = [...queries, documents[7].vector];
        assertSameRankings(await store.search(probes, 10), await flatResults(items, probes, 10));
        const exclude = probes.map((_, index) => (index % 3 === 0 ? `d${index}` : undefined));
        assertSameRankings(await store.search(probes, 10, { exclude }), await flatResults(items, probes, 10, exclude));
        assert.deepEqual((await store.search([documents[7].vector], 4))[0].map((match) => match.id), ['d7', 'dup-a', 'dup-b', 'dup-c']);
      } finally {
        await store.close();
      }
    });

    test('the HNSW index (m 16, ef_construction 64, ef_search 100) reaches recall@10 >= 0.99', async () => {
      const settings = config({ m: 16, efConstruction: 64, efSearch: 100 });
      const store = await createVectorStore(settings, { dimension });
      try {
        await store.upsert(documents);
        await store.flush();
        assert.equal((await store.statistics()).details.indexed, true);
        const results = await store.search(queries, 10);
        const recall = recallAt(results, bruteForce(documents, queries, 10));
        assert.ok(recall >= 0.99, `recall ${recall}`);
        // The index serves these searches: on PGlite, whose connections share one session, the
        // plan reflects what the store set there (an earlier exact store's settings must not linger).
        const client = new pg.Client({ connectionString: (server as DatabaseServer).connectionString });
        await client.connect();
        try {
          const plan = await client.query(`EXPLAIN SELECT id FROM "${settings.table}" ORDER BY embedding <#> $1::vector LIMIT 10`, [vectorLiteral(queries[0])]);
          assert.match(plan.rows.map((row) => row['QUERY PLAN']).join('\n'), /Index Scan using \w+_embedding_ip_hnsw/);
        } finally {
          await client.end();
        }
        // Upserts after the build go through the index.
        await store.upsert([{ id: 'late', vector: queries[0] }]);
        assert.equal((await store.search([queries[0]], 1))[0][0].id, 'late');
      } finally {
        await store.close();
      }
      const reopened = await openVectorStore({ ...settings, connectionString: (server as DatabaseServer).connectionString }, { dimension });
      assert.equal(await reopened.size(), documents.length + 1);
      await reopened.close();
    });

    test('another dimension is INDEX_MISMATCH, an existing table is not overwritten, a missing one is STORE_ERROR, config() hides the password', async () => {
      const settings = config();
      const store = await createVectorStore(settings, { dimension });
      await store.upsert(documents.slice(0, 3));
      await store.close();
      await rejectsWith(openVectorStore(settings, { dimension: dimension + 1 }), 'INDEX_MISMATCH');
      await rejectsWith(createVectorStore(settings, { dimension }), 'STORE_ERROR');
      await rejectsWith(openVectorStore({ ...settings, table: 'never_created' }), 'STORE_ERROR');
      const reopened = await createVectorStore(settings, { dimension, ifExists: 'open' });
      assert.equal(await reopened.size(), 3);
      assert.equal(reopened.config().connectionString, (server as DatabaseServer).connectionString);
      await reopened.close();
      assert.equal(redactConnectionString('postgres://me:secret@db.example:5432/x?sslmode=require'), 'postgres://me@db.example:5432/x?sslmode=require');
      assert.equal(redactConnectionString('host=db user=me password=secret dbname=x'), 'host=db user=me dbname=x');
    });

    test('o1-small SciFact vectors (300 documents, 20 test queries): the exact scan and the flat store return identical rankings', sharedTestOptions('datasets', 'scifact'), async () => {
      const set = await scifactVectors();
      const items = set.documentIds.map((id, index) => ({ id, vector: set.documents[index] }));
      const store = await createVectorStore(config({ exact: true }), { dimension: set.documents[0].length });
      try {
        await store.upsert(items);
        const expected = await flatResults(items, set.queries, 100);
        assertSameRankings(await store.search(set.queries, 100), expected);
        assert.deepEqual(await store.get([items[0].id]), [items[0].vector]);
      } finally {
        await store.close();
      }
    });
  });
}

describe('pgvector durability: PostgreSQL SIGKILLed in the middle of a batched upsert', postgresTestOptions(), () => {
  let server: PostgresServer | undefined;
  before(async () => {
    server = await PostgresServer.create();
  });
  after(async () => {
    await server?.stop();
  });

  test('after a restart and a resumed upsert, no vector is lost or duplicated and every vector is equal', async () => {
    const postgres = server as PostgresServer;
    const wide = 64;
    const items = itemsOf(clusteredUnitVectors(4000, wide, 41, 40), wide);
    const batches: VectorItem[][] = [];
    for (let start = 0; start < items.length; start += 200) batches.push(items.slice(start, start + 200));
    const store: VectorStore = await createVectorStore({ store: 'pgvector', connectionString: postgres.connectionString, table: 'durable', batchSize: 50 }, { dimension: wide });
    try {
      // The (empty) HNSW index first, so that the WAL replay after the crash covers it too.
      await store.flush();
      let committed = 0;
      let interrupted = -1;
      for (const [index, batch] of batches.entries()) {
        // The outcome is taken at once, so a rejection during the kill below is never unhandled.
        const outcome = store.upsert(batch).then(() => undefined, (error: unknown) => error);
        if (index === 8) {
          // Let the transaction get under way (BEGIN and a statement or two), then crash the server.
          await new Promise((done) => setTimeout(done, 15));
          await postgres.kill();
        }
        const error = await outcome;
        if (error === undefined) {
          committed++;
          continue;
        }
        assert.ok(error instanceof O1Error && error.code === 'STORE_ERROR', String(error));
        interrupted = index;
        break;
      }
      assert.ok(interrupted >= 8, "the kill interrupted an upsert");
      await postgres.start();
      // Every committed upsert survived; the interrupted one is all or nothing.
      const survived = await store.size();
      assert.ok(survived === committed * 200 || survived === (committed + 1) * 200, `${survived} rows after the crash, ${committed} batches committed`);
      // Resume from the interrupted batch (re-sending it is harmless: upserts are idempotent by id).
      for (const batch of batches.slice(interrupted)) await store.upsert(batch);
      assert.equal(await store.size(), items.length);
      const ids = await store.ids();
      assert.deepEqual(ids, items.map((item) => item.id).sort(compareIds));
      const stored = await store.get(items.map((item) => item.id));
      stored.forEach((vector, index) => assert.deepEqual(vector, items[index].vector, items[index].id));
      // The recovered HNSW index still finds neighbours.
      const probes = items.slice(0, 30).map((item) => item.vector);
      const recall = recallAt(await store.search(probes, 10), bruteForce(items, probes, 10));
      assert.ok(recall >= 0.95, `recall after recovery ${recall}`);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- server log ---\n${postgres.log().slice(-3000)}`, { cause: error });
    } finally {
      await store.close();
    }
  });
});
