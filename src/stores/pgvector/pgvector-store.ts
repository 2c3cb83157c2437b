/**
 * The `pgvector` vector store: PostgreSQL + pgvector through `pg`, in plain SQL.
 *
 * One table `(id text PRIMARY KEY, embedding vector(d) NOT NULL)`; an HNSW index
 * `USING hnsw (embedding vector_ip_ops) WITH (m, ef_construction)` that flush() builds once
 * (pgvector builds faster over loaded rows than row by row) and PostgreSQL then keeps up to
 * date; `hnsw.ef_search` set on every connection. `exact: true` turns index scans off, so a
 * search is a sequential scan that ranks every row (the equality reference). Vectors travel in
 * bound parameters, never spliced into SQL: by default as text literals `'[v1,v2,...]'`, each
 * float32 printed with enough digits to parse back to the same float32; `vectorFormat:
 * 'binary'` sends pgvector's binary format instead (about 10x faster upserts on PGlite, where
 * parsing floats dominates).
 *
 * Scores: `<#>` is the NEGATIVE inner product (computed by pgvector in float32), so a score is
 * `-(embedding <#> query)`. Every upsert() and delete() is one transaction (multi-row
 * `INSERT ... ON CONFLICT (id) DO UPDATE` statements of `batchSize` rows), so it is durable
 * once it returns and all or nothing when the server dies under it; re-running it is
 * idempotent by id.
 */
import pg from 'pg';
import { O1Error } from '../../errors.js';
import { throwIfCancelled } from '../../util/cancel.js';
import { Settings } from '../../backends/settings.js';
import { checkDimension, checkSearch, compareMatches, uniqueItems } from '../contract.js';
import type { PgvectorStoreConfig, VectorItem, VectorMatch, VectorSearchOptions, VectorStore, VectorStoreConfig, VectorStoreContext, VectorStoreStatistics, VectorUpsertOptions } from '../vector-store.js';

/** Resolved settings of a pgvector store. */
interface PgvectorSettings {
  connectionString?: string;
  table: string;
  exact: boolean;
  m: number;
  efConstruction: number;
  efSearch: number;
  batchSize: number;
  connections: number;
  vectorFormat: 'text' | 'binary';
  maintenanceWorkMemory?: string;
}

const TABLE_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/;

function readSettings(config: VectorStoreConfig): PgvectorSettings {
  const settings = new Settings(config, 'pgvector store');
  settings.oneOf('store', ['pgvector'], 'pgvector');
  const result: PgvectorSettings = {
    connectionString: settings.optionalString('connectionString'),
    table: settings.string('table', 'o1_vectors'),
    exact: settings.boolean('exact', false),
    m: settings.integer('m', 16, 2),
    efConstruction: settings.integer('efConstruction', 64, 4),
    efSearch: settings.integer('efSearch', 100, 1),
    // 65,535 bound parameters per statement at most, two per row.
    batchSize: settings.integer('batchSize', 250, 1),
    connections: settings.integer('connections', 1, 1),
    vectorFormat: settings.oneOf('vectorFormat', ['text', 'binary'], 'text'),
    maintenanceWorkMemory: settings.optionalString('maintenanceWorkMemory'),
  };
  settings.rejectUnknown();
  if (!TABLE_PATTERN.test(result.table)) throw new O1Error('BAD_ARGUMENT', `pgvector store: 'table' must match ${TABLE_PATTERN}, got ${JSON.stringify(result.table)}`, { field: 'table' });
  if (result.batchSize > 32767) throw new O1Error('BAD_ARGUMENT', `pgvector store: 'batchSize' must be at most 32767, got ${result.batchSize}`, { field: 'batchSize' });
  if (result.maintenanceWorkMemory !== undefined && !/^\d+\s*(kB|MB|GB)$/.test(result.maintenanceWorkMemory)) {
    throw new O1Error('BAD_ARGUMENT', `pgvector store: 'maintenanceWorkMemory' must look like 512MB, got ${JSON.stringify(result.maintenanceWorkMemory)}`, { field: 'maintenanceWorkMemory' });
  }
  return result;
}

/**
 * A connection string without its password (URL user info, `?password=` or `password=` pairs).
 *
 * @example
 * redactConnectionString('postgres://me:secret@db:5432/x') // 'postgres://me@db:5432/x'
 */
export function redactConnectionString(connectionString: string): string {
  if (/^postgres(ql)?:\/\//i.test(connectionString)) {
    try {
      const url = new URL(connectionString);
      url.password = '';
      url.searchParams.delete('password');
      return url.toString();
    } catch {
      // Not a parseable URL: fall through to the key=value form.
    }
  }
  return connectionString.replace(/\bpassword\s*=\s*('([^'\\]|\\.)*'|\S+)\s*/gi, '').trim();
}

/**
 * A vector as pgvector's text literal. Each float32 is written with JavaScript's shortest
 * digits for it when those are short, else with 9 significant digits: both parse (strtof) back
 * to the same float32 (9 digits always suffice), and the literal stays about half the length of
 * the shortest double digits, which matters for bulk upserts.
 *
 * @example
 * vectorLiteral(new Float32Array([0.5, -1, 0.1])) // '[0.5,-1,0.100000001]'
 */
export function vectorLiteral(vector: Float32Array): string {
  const parts = new Array<string>(vector.length);
  for (let index = 0; index < vector.length; index++) {
    const value = vector[index];
    const shortest = String(value);
    parts[index] = shortest.length <= 10 ? shortest : value.toPrecision(9);
  }
  return `[${parts.join(',')}]`;
}

/**
 * A vector in pgvector's binary wire format (vector_recv: int16 dimension, int16 unused, then
 * big-endian float32s). `pg` sends a Buffer parameter in binary format, so the server skips
 * text parsing (strtof), which dominates bulk upserts on PGlite.
 *
 * @example
 * vectorBinary(new Float32Array([1])) // <Buffer 00 01 00 00 3f 80 00 00>
 */
export function vectorBinary(vector: Float32Array): Buffer {
  const bytes = Buffer.allocUnsafe(4 + 4 * vector.length);
  bytes.writeInt16BE(vector.length, 0);
  bytes.writeInt16BE(0, 2);
  for (let index = 0; index < vector.length; index++) bytes.writeFloatBE(vector[index], 4 + 4 * index);
  return bytes;
}

/**
 * Parses pgvector's text output `[v1,v2,...]` into a Float32Array.
 *
 * @example
 * parseVectorLiteral('[0.5,-1]') // Float32Array [0.5, -1]
 */
export function parseVectorLiteral(text: string): Float32Array {
  const inner = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  return inner.length === 0 ? new Float32Array(0) : Float32Array.from(inner.split(','), Number);
}

function storeError(message: string, table: string, error: unknown): O1Error {
  if (error instanceof O1Error) return error;
  return new O1Error('STORE_ERROR', `pgvector (table ${table}): ${message}: ${(error as Error)?.message ?? String(error)}`, { field: 'table' }, { cause: error });
}

/**
 * Opens a pgvector store (the `pgvector` registry entry): connects, and in `create` or
 * `openOrCreate` mode runs `CREATE EXTENSION IF NOT EXISTS vector` and creates the table.
 *
 * @example
 * const store = await openPgvectorStore({ store: 'pgvector', connectionString: 'postgres://postgres@127.0.0.1:5432/postgres', table: 'docs' }, { dimension: 384, mode: 'openOrCreate' });
 */
export async function openPgvectorStore(config: VectorStoreConfig, context: VectorStoreContext): Promise<PgvectorStore> {
  const settings = readSettings(config);
  const store = new PgvectorStore(settings);
  try {
    await store.prepare(context);
  } catch (error) {
    await store.end();
    throw error;
  }
  return store;
}

/**
 * The pgvector store; create it through the registry or {@link openPgvectorStore}.
 *
 * @example
 * const store = await openPgvectorStore({ store: 'pgvector', exact: true, table: 'check' }, { dimension: 3, mode: 'create' });
 * await store.upsert([{ id: 'a', vector: new Float32Array([1, 0, 0]) }]);
 * const [matches] = await store.search([new Float32Array([2, 0, 0])], 1); // [{ id: 'a', score: 2 }]
 */
export class PgvectorStore implements VectorStore {
  readonly name = 'pgvector';
  private dimensionValue = 0;
  private readonly pool: pg.Pool;
  private readonly quoted: string;
  private readonly indexName: string;
  private lastIdleError: Error | undefined;
  private closed = false;
  /** Run once on every new connection before its first statement. */
  private readonly sessionSettings: string;
  private readonly prepared = new WeakSet<pg.PoolClient>();

  constructor(private readonly settings: PgvectorSettings) {
    this.quoted = `"${settings.table}"`;
    this.indexName = `${settings.table}_embedding_ip_hnsw`;
    this.pool = new pg.Pool({ connectionString: settings.connectionString, max: settings.connections });
    // An idle connection dies with its server; pg reports it here and drops it from the pool.
    this.pool.on('error', (error) => (this.lastIdleError = error));
    // Both settings every time: PGlite multiplexes its connections onto one session, so a
    // connection may find what an earlier store set there.
    this.sessionSettings = `SET hnsw.ef_search = ${settings.efSearch}; SET enable_indexscan = ${settings.exact ? 'off' : 'on'}`;
  }

  get dimension(): number {
    return this.dimensionValue;
  }

  /** Checks or creates the table (called once by {@link openPgvectorStore}). */
  async prepare(context: VectorStoreContext): Promise<void> {
    const table = this.settings.table;
    const existing = await this.query<{ dimension: number | null }>(
      "SELECT (SELECT atttypmod FROM pg_attribute WHERE attrelid = c.oid AND attname = 'embedding') AS dimension FROM pg_class c WHERE c.oid = to_regclass($1)",
      [this.quoted],
      'looking up the table',
    );
    if (existing.rows.length === 0) {
      if (context.mode === 'open') throw new O1Error('STORE_ERROR', `pgvector: table ${table} does not exist`, { field: 'table' });
      const dimension = checkDimension(context.dimension);
      if (dimension > 16000) throw new O1Error('BAD_ARGUMENT', `pgvector stores at most 16,000 dimensions, got ${dimension}`, { field: 'dimension' });
      await this.query('CREATE EXTENSION IF NOT EXISTS vector', [], 'creating the vector extension');
      await this.query(`CREATE TABLE IF NOT EXISTS ${this.quoted} (id text PRIMARY KEY, embedding vector(${dimension}) NOT NULL)`, [], 'creating the table');
      this.dimensionValue = dimension;
      return;
    }
    if (context.mode === 'create') throw new O1Error('STORE_ERROR', `pgvector: table ${table} already exists; open it instead of overwriting it`, { field: 'table' });
    const dimension = existing.rows[0].dimension;
    if (dimension === null || dimension <= 0) throw new O1Error('INDEX_MISMATCH', `pgvector: table ${table} has no vector(d) column named embedding`, { field: 'table' });
    if (context.dimension !== undefined && context.dimension !== dimension) {
      throw new O1Error('INDEX_MISMATCH', `pgvector: table ${table} holds vector(${dimension}), expected ${context.dimension}`, { field: 'dimension' });
    }
    this.dimensionValue = dimension;
  }

  async size(): Promise<number> {
    const result = await this.query<{ count: string }>(`SELECT count(*) AS count FROM ${this.quoted}`, [], 'counting');
    return Number(result.rows[0].count);
  }

  /** One transaction: `batchSize` rows per INSERT ... ON CONFLICT (id) DO UPDATE; a cancel or failure rolls the whole call back. */
  async upsert(items: readonly VectorItem[], options: VectorUpsertOptions = {}): Promise<void> {
    const unique = uniqueItems(items, this.dimension);
    if (unique.length === 0) return;
    await this.transaction('upserting', async (client) => {
      for (let start = 0; start < unique.length; start += this.settings.batchSize) {
        throwIfCancelled(options.signal, 'pgvector upsert');
        const batch = unique.slice(start, start + this.settings.batchSize);
        const values: string[] = [];
        const parameters: (string | Buffer)[] = [];
        batch.forEach(({ id, vector }, index) => {
          values.push(`($${2 * index + 1}, $${2 * index + 2}::vector)`);
          parameters.push(id, this.vectorParameter(vector));
        });
        await client.query(`INSERT INTO ${this.quoted} (id, embedding) VALUES ${values.join(', ')} ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding`, parameters);
      }
    });
  }

  async delete(ids: readonly string[]): Promise<number> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return 0;
    return this.transaction('deleting', async (client) => {
      let deleted = 0;
      for (let start = 0; start < unique.length; start += 10000) {
        const result = await client.query(`DELETE FROM ${this.quoted} WHERE id = ANY($1::text[])`, [unique.slice(start, start + 10000)]);
        deleted += result.rowCount ?? 0;
      }
      return deleted;
    });
  }

  async get(ids: readonly string[]): Promise<(Float32Array | undefined)[]> {
    if (ids.length === 0) return [];
    const result = await this.query<{ id: string; embedding: string }>(`SELECT id, embedding::text AS embedding FROM ${this.quoted} WHERE id = ANY($1::text[])`, [[...new Set(ids)]], 'reading vectors');
    const byId = new Map(result.rows.map((row) => [row.id, parseVectorLiteral(row.embedding)]));
    return ids.map((id) => byId.get(id));
  }

  async ids(): Promise<string[]> {
    const result = await this.query<{ id: string }>(`SELECT id FROM ${this.quoted} ORDER BY id COLLATE "C"`, [], 'listing ids');
    return result.rows.map((row) => row.id);
  }

  /**
   * One SELECT per query (spread over the pool's connections): `ORDER BY embedding <#> q`
   * (plus `id COLLATE "C"` in exact mode, where no index order has to be kept) `LIMIT k`, one
   * more row when the query excludes an id.
   */
  async search(queries: readonly Float32Array[], k: number, options: VectorSearchOptions = {}): Promise<VectorMatch[][]> {
    checkSearch(queries, k, this.dimension, options.exclude);
    if (k === 0) return queries.map(() => []);
    const order = this.settings.exact ? 'embedding <#> $1::vector, id COLLATE "C"' : 'embedding <#> $1::vector';
    const sql = `SELECT id, embedding <#> $1::vector AS distance FROM ${this.quoted} ORDER BY ${order} LIMIT $2`;
    return Promise.all(
      queries.map(async (query, index) => {
        throwIfCancelled(options.signal, 'pgvector search');
        const excluded = options.exclude?.[index];
        const result = await this.query<{ id: string; distance: number }>(sql, [this.vectorParameter(query), k + (excluded === undefined ? 0 : 1)], 'searching');
        return result.rows
          .filter((row) => row.id !== excluded)
          .map((row) => ({ id: row.id, score: -row.distance }))
          .sort(compareMatches)
          .slice(0, k);
      }),
    );
  }

  /** Builds the HNSW index if it is missing (not in exact mode); every write is already committed. */
  async flush(): Promise<void> {
    if (this.settings.exact) return;
    await this.transaction('building the HNSW index', async (client) => {
      if (this.settings.maintenanceWorkMemory !== undefined) await client.query(`SET LOCAL maintenance_work_mem = '${this.settings.maintenanceWorkMemory}'`);
      await client.query(`CREATE INDEX IF NOT EXISTS "${this.indexName}" ON ${this.quoted} USING hnsw (embedding vector_ip_ops) WITH (m = ${this.settings.m}, ef_construction = ${this.settings.efConstruction})`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      await this.end();
    }
  }

  /** Ends the pool without flushing. */
  async end(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  config(): PgvectorStoreConfig {
    const { connectionString, maintenanceWorkMemory, ...rest } = this.settings;
    return {
      store: 'pgvector',
      ...(connectionString === undefined ? {} : { connectionString: redactConnectionString(connectionString) }),
      ...rest,
      ...(maintenanceWorkMemory === undefined ? {} : { maintenanceWorkMemory }),
    };
  }

  async statistics(): Promise<VectorStoreStatistics> {
    const result = await this.query<{ count: string; bytes: string; indexed: boolean; version: string }>(
      `SELECT (SELECT count(*) FROM ${this.quoted}) AS count, pg_total_relation_size(to_regclass($1)) AS bytes, to_regclass($2) IS NOT NULL AS indexed, current_setting('server_version') AS version`,
      [this.quoted, `"${this.indexName}"`],
      'reading statistics',
    );
    const row = result.rows[0];
    const { connectionString: _connectionString, ...settings } = this.settings;
    return {
      store: 'pgvector',
      dimension: this.dimension,
      count: Number(row.count),
      bytes: Number(row.bytes),
      details: { ...settings, indexed: row.indexed, serverVersion: row.version, ...(this.lastIdleError === undefined ? {} : { lastIdleError: this.lastIdleError.message }) },
    };
  }

  /** A vector as a bound parameter, in the configured format. */
  private vectorParameter(vector: Float32Array): string | Buffer {
    return this.settings.vectorFormat === 'binary' ? vectorBinary(vector) : vectorLiteral(vector);
  }

  private async query<Row extends pg.QueryResultRow>(sql: string, parameters: unknown[], what: string): Promise<pg.QueryResult<Row>> {
    return this.withClient(what, (client) => client.query<Row>(sql, parameters));
  }

  private async transaction<T>(what: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(what, async (client, markBroken) => {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(markBroken);
        throw error;
      }
    });
  }

  /**
   * Runs `work` on a pooled connection (session settings applied on its first use). A
   * connection that failed under it (the server died, a rollback failed) is destroyed rather
   * than returned to the pool; every error comes out as STORE_ERROR.
   */
  private async withClient<T>(what: string, work: (client: pg.PoolClient, markBroken: (error: Error) => void) => Promise<T>): Promise<T> {
    if (this.closed) throw new O1Error('STORE_ERROR', `pgvector (table ${this.settings.table}): the store is closed`, { field: 'table' });
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storeError(`${what} (connecting)`, this.settings.table, error);
    }
    let broken: Error | undefined;
    const markBroken = (error: Error): void => {
      broken ??= error;
    };
    // A checked-out client reports a dying connection as an 'error' event too; unheard, it would crash the process.
    client.on('error', markBroken);
    try {
      if (!this.prepared.has(client)) {
        await client.query(this.sessionSettings);
        this.prepared.add(client);
      }
      return await work(client, markBroken);
    } catch (error) {
      throw storeError(what, this.settings.table, error);
    } finally {
      client.off('error', markBroken);
      client.release(broken);
    }
  }
}
