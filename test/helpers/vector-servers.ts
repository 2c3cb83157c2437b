/**
 * Real database servers for the pgvector tests and bench:search, started on 127.0.0.1 on a
 * free port and stopped by the caller (in `after`/`finally`):
 * - PGlite with pgvector behind @electric-sql/pglite-socket's `pglite-server` (a child process);
 * - PostgreSQL 15 from Debian with pgvector built from ../shared/vendor (see .ci/run), in a
 *   fresh cluster that `initdb` makes as the `postgres` user (PostgreSQL refuses to run as root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, chownSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where Debian installs PostgreSQL 15's programs. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** A server the tests talk to with `pg`. */
export interface DatabaseServer {
  kind: 'pglite' | 'postgres';
  port: number;
  connectionString: string;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

/**
 * A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed before returning).
 *
 * @example
 * const port = await freePort();
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** Retries `SELECT 1` until the server answers (or `timeoutMs` passes). */
async function waitForServer(connectionString: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the server exited before accepting connections: ${String(lastError)}`);
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      lastError = error;
      await client.end().catch(() => undefined);
      await new Promise((done) => setTimeout(done, 200));
    }
  }
  throw new Error(`the server did not accept connections within ${timeoutMs} ms: ${String(lastError)}`);
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts `pglite-server -e @electric-sql/pglite-pgvector:vector -m MAX` (an in-memory database)
 * as a child process and waits until `pg` can connect.
 *
 * @example
 * const server = await startPgliteServer();
 * try { ... server.connectionString ... } finally { await server.stop(); }
 */
export async function startPgliteServer(options: { maxConnections?: number } = {}): Promise<DatabaseServer> {
  const port = await freePort();
  const script = join(REPOSITORY_ROOT, 'node_modules', '@electric-sql', 'pglite-socket', 'dist', 'scripts', 'server.js');
  const child = spawn(process.execPath, [script, '-p', String(port), '-h', '127.0.0.1', '-e', '@electric-sql/pglite-pgvector:vector', '-m', String(options.maxConnections ?? 4)], {
    cwd: REPOSITORY_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const connectionString = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitForServer(connectionString, 60_000, () => child.exitCode === null);
  } catch (error) {
    await stopChild(child);
    throw new Error(`pglite-server did not start: ${(error as Error).message}\n${errors}`);
  }
  return { kind: 'pglite', port, connectionString, stop: () => stopChild(child) };
}

/** The folder pgvector's control file must be in for `CREATE EXTENSION vector`. */
function extensionFolder(): string | undefined {
  try {
    return join(execFileSync(join(POSTGRES_BIN, 'pg_config'), ['--sharedir'], { encoding: 'utf8' }).trim(), 'extension');
  } catch {
    return undefined;
  }
}

/**
 * Why PostgreSQL 15 + pgvector cannot run here, or undefined when it can.
 *
 * @example
 * postgresMissing() // undefined once .ci/run has installed PostgreSQL and pgvector
 */
export function postgresMissing(): string | undefined {
  if (!existsSync(join(POSTGRES_BIN, 'initdb'))) return `${POSTGRES_BIN}/initdb is missing (apt-get install postgresql-15)`;
  const folder = extensionFolder();
  if (folder === undefined || !existsSync(join(folder, 'vector.control'))) return 'pgvector is not installed into PostgreSQL 15 (see .ci/run)';
  return undefined;
}

/**
 * Options for a `test()`/`describe()` that needs PostgreSQL 15 + pgvector: skipped when it is
 * not installed, except under CI=true, where the suite runs and fails.
 *
 * @example
 * describe('pgvector on PostgreSQL', postgresTestOptions(), () => { ... })
 */
export function postgresTestOptions(): { skip?: string } {
  const missing = postgresMissing();
  return missing === undefined || process.env.CI === 'true' ? {} : { skip: missing };
}

/** Runs a PostgreSQL program, as the `postgres` user when we are root. */
function runAsPostgres(program: string, parameters: string[]): string {
  const root = process.getuid?.() === 0;
  const [command, argumentsList] = root ? ['runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, program), ...parameters]] : [join(POSTGRES_BIN, program), parameters];
  return execFileSync(command, argumentsList, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Process ids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

function processAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/**
 * A PostgreSQL 15 cluster in a temporary folder owned by `postgres`: `initdb` (trust auth, C
 * locale), then `pg_ctl start` on a free port with `listen_addresses=127.0.0.1`. `kill()`
 * SIGKILLs the postmaster and its children (a crash), `start()` brings it back (crash recovery
 * replays the WAL), `stop()` shuts it down and removes the folder.
 *
 * @example
 * const server = await PostgresServer.create();
 * try { ... server.connectionString ... } finally { await server.stop(); }
 */
export class PostgresServer implements DatabaseServer {
  readonly kind = 'postgres';
  readonly connectionString: string;

  private constructor(
    readonly port: number,
    private readonly base: string,
  ) {
    this.connectionString = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  private get data(): string {
    return join(this.base, 'data');
  }

  /** Makes and starts a fresh cluster. */
  static async create(): Promise<PostgresServer> {
    const missing = postgresMissing();
    if (missing !== undefined) throw new Error(missing);
    const base = mkdtempSync(join(tmpdir(), 'o1e-postgres-'));
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(base, uid, gid);
    }
    const server = new PostgresServer(await freePort(), base);
    try {
      runAsPostgres('initdb', ['-D', server.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
      await server.start();
    } catch (error) {
      rmSync(base, { recursive: true, force: true });
      throw error;
    }
    return server;
  }

  /** Starts (or restarts after kill()) the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = `-c listen_addresses=127.0.0.1 -c port=${this.port} -c unix_socket_directories=${this.base}`;
    runAsPostgres('pg_ctl', ['-D', this.data, '-l', join(this.base, 'server.log'), '-w', '-t', '60', '-o', options, 'start']);
    await waitForServer(this.connectionString, 30_000, () => true);
  }

  /** The postmaster's process id (from postmaster.pid), when it runs. */
  postmasterPid(): number | undefined {
    const file = join(this.data, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && processAlive(pid) ? pid : undefined;
  }

  /** SIGKILLs the postmaster and every child it has (no shutdown, no checkpoint), and waits until they are gone. */
  async kill(): Promise<void> {
    const pid = this.postmasterPid();
    if (pid === undefined) return;
    const processes = [pid, ...childrenOf(pid)];
    for (const target of processes) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    const deadline = Date.now() + 10_000;
    while (processes.some(processAlive) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
  }

  /** The server log (for failure messages). */
  log(): string {
    const file = join(this.base, 'server.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  async stop(): Promise<void> {
    try {
      if (this.postmasterPid() !== undefined) runAsPostgres('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', 'stop']);
    } catch {
      await this.kill();
    } finally {
      rmSync(this.base, { recursive: true, force: true });
    }
  }
}
